# -*- test-case-name: tests.unit.test_node_transactions -*-
"""
The node's transaction policy: which announced transactions to fetch, what a
peer's C{tx} becomes, and what is relayed.

An C{inv} of transactions turns into a C{getdata} for the ones we have not
seen (each asked of one peer at a time, as blocks are), unless we are far
behind the tip, when transactions are ignored (we could not verify them). A
received C{tx} is verified in the background by the memory pool while its
hash waits in a pending set; once accepted it is announced to every peer but
its sender and those that announced it, at most once per 30 s. A peer that
keeps sending invalid transactions is dropped. C{getdata} for a transaction is
served from the pool, and C{mempool} is answered with C{inv}s of the pool.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from twisted.logger import Logger

from neo_twisted.core.transaction import Transaction
from neo_twisted.mempool.outcome import Outcome
from neo_twisted.mempool.service import MempoolService
from neo_twisted.network.payloads import InventoryType, inv_groups
from neo_twisted.node.fetcher import InventoryFetcher
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.wire.uint import UInt256

if TYPE_CHECKING:
    from neo_twisted.node.policy import Node

#: Transactions with bad signatures a peer may send within L{INVALID_WINDOW} before it
#: is dropped (L{Fault.INVALID_TX_FLOOD}); conflicts and the like never count.
MAX_INVALID = 10
INVALID_WINDOW = 60.0
#: Peer transactions waiting for verification, at most; more are dropped unverified.
MAX_PENDING = 10_000
#: Transaction C{inv}s are ignored while the chain is more than this far below the headers.
FAR_BEHIND = 1


class TransactionRelay:
    """
    Everything one node does with transactions that come and go over P2P.
    """

    _log = Logger()

    def __init__(self, node: Node, mempool: MempoolService) -> None:
        self._node = node
        self.mempool = mempool
        self.fetcher = InventoryFetcher(InventoryType.TX, node.clock,
                                        alive=lambda peer: peer in node.sessions)
        self.requests = self.fetcher.requests
        #: Peer transactions being verified (so neither asked for nor taken again).
        self.pending: set[UInt256] = set()
        #: When each peer last sent invalid transactions (the newest L{MAX_INVALID}).
        self._invalid: dict[IPeer, deque[float]] = {}
        #: Transactions accepted while no peer was established: announced to the first
        #: one, or they would live and die in our pool alone (a node restarting, say).
        self.unannounced: dict[UInt256, None] = {}
        mempool.add_listener(self._accepted)

    def _now(self) -> float:
        return self._node.clock.seconds()

    def far_behind(self) -> bool:
        node = self._node
        return node.header_height - node.block_height > FAR_BEHIND

    # -- messages ------------------------------------------------------------------------

    def inv_received(self, peer: IPeer, hashes: list[UInt256]) -> None:
        """
        C{hashes}: transactions C{peer} announced that it had not announced before.
        """
        if self.far_behind() or not hashes:
            return
        mempool = self.mempool
        wanted = [h for h in hashes
                  if h not in mempool and h not in self.pending and not mempool.is_verifying(h)]
        self.fetcher.announced(peer, wanted)

    def tx_received(self, peer: IPeer, tx: Transaction) -> None:
        txid = tx.hash
        self.fetcher.received(txid)
        if txid in self.pending or txid in self.mempool:
            return
        if len(self.pending) >= MAX_PENDING:
            self._log.debug("too many transactions waiting: {txid} from {peer} dropped",
                            txid=txid, peer=peer)
            return
        self.pending.add(txid)
        d = self.mempool.submit(tx, peer)
        d.addCallback(self._settled, peer, txid)

    def _settled(self, outcome: Outcome, peer: IPeer, txid: UInt256) -> None:
        self.pending.discard(txid)
        if outcome.accepted:
            self._node.note_useful(peer)
        elif outcome.forged:
            self._forged_from(peer, txid, outcome.reason)
        else:  # a conflict, a missing parent, policy: never the relayer's fault
            self._log.debug("transaction {txid} from {peer} refused: {reason}",
                            txid=txid, peer=peer, reason=outcome.reason)

    def _forged_from(self, peer: IPeer, txid: UInt256, reason: str) -> None:
        """
        A transaction whose signatures do not verify: no honest relayer sends one (it
        verified it first), but it is only a fault to count unless they keep coming.
        """
        now = self._now()
        times = self._invalid.setdefault(peer, deque(maxlen=MAX_INVALID))
        times.append(now)
        if len(times) == MAX_INVALID and now - times[0] <= INVALID_WINDOW:
            peer.fault(Fault.INVALID_TX_FLOOD, f"sent {MAX_INVALID} transactions with bad "
                                               f"signatures within {INVALID_WINDOW:.0f} s "
                                               f"(the last: {reason})")
        else:
            peer.fault(Fault.INVALID_TX, f"transaction {txid}: {reason}")

    def mempool_requested(self, peer: IPeer) -> None:
        """
        C{mempool}: announce the whole pool, in C{inv}s of at most 500.
        """
        txids = self.mempool.txids()
        for group in inv_groups(InventoryType.TX, txids):
            peer.send("inv", group)

    def fetch(self, txids: Sequence[UInt256]) -> None:
        """
        Ask every peer for transactions we lack (a proposal names them): whoever has
        one sends it, and it comes in as any C{tx} does.
        """
        mempool = self.mempool
        wanted = tuple(h for h in txids if h not in mempool and h not in self.pending)
        for peer in self._node.established_peers():
            for group in inv_groups(InventoryType.TX, wanted):
                peer.send("getdata", group)

    def lookup(self, txid: UInt256) -> Transaction | None:
        return self.mempool.get(txid)

    # -- relay ---------------------------------------------------------------------------

    def _accepted(self, txs: Sequence[Transaction], sender: IPeer | None) -> None:
        node, now = self._node, self._now()
        fresh = [tx.hash for tx in txs if node.relay_filter.should_relay(tx.hash, now)]
        if not fresh:
            return
        if not node.sessions:
            if len(self.unannounced) < MAX_PENDING:
                self.unannounced.update(dict.fromkeys(fresh))
            return
        node.relay_many(InventoryType.TX, fresh, sender)

    def peer_established(self, peer: IPeer) -> None:
        """
        Announce what we took while alone, if it is still in the pool.
        """
        if not self.unannounced:
            return
        waiting = [txid for txid in self.unannounced if txid in self.mempool]
        self.unannounced.clear()
        if waiting:
            self._node.relay_many(InventoryType.TX, waiting, None)

    # -- peers and time ------------------------------------------------------------------

    def peer_lost(self, peer: IPeer) -> None:
        self._invalid.pop(peer, None)
        self.fetcher.peer_lost(peer)

    def tick(self) -> None:
        self.fetcher.tick()
