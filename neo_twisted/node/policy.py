# -*- test-case-name: tests.unit.test_node_requests,tests.unit.test_node_relay,tests.unit.test_node_policy -*-  # noqa: E501
"""
The node's policy: what it does with each message of an established peer.

Connections (L{neo_twisted.p2p.protocol}) only frame and handshake; they report
to the node's L{PeerController}, which publishes each established peer's life here
(L{IPeerObserver}) and keeps this object's per-peer session in its registry. This
object decides: whom to ask for headers and blocks (the sync services), which
announced items to fetch (the request tracker: one peer at a time per hash),
what to serve (L{Server}) and what to relay (new blocks near the tip, to every
peer that did not send or announce them, at most once per 30 s per hash).
Transactions and consensus payloads have policy objects of their own
(L{TransactionRelay}, L{ConsensusRelay}).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from neo_twisted.core.block import Block
from neo_twisted.core.consensus import ConsensusPayload
from neo_twisted.core.serializable import Serializable
from neo_twisted.core.transaction import Transaction
from neo_twisted.ledger.chain import BlockResult, Verdict
from neo_twisted.ledger.service import LedgerService
from neo_twisted.mempool.service import MempoolService
from neo_twisted.network.payloads import (
    MAX_INV_HASHES,
    GetBlocksPayload,
    HeadersPayload,
    InventoryType,
    InvPayload,
    Payload,
    RawPayload,
    inv_groups,
)
from neo_twisted.node.consensus import ConsensusRelay
from neo_twisted.node.fetcher import InventoryFetcher
from neo_twisted.node.serving import Server
from neo_twisted.node.transactions import TransactionRelay
from neo_twisted.p2p.connections import ConnectionService
from neo_twisted.p2p.controller import LossObserver, PeerController, PeerRecord, Sessions
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import ILocalNode, IPeer, IPeerObserver
from neo_twisted.p2p.inventory import FifoSet, RelayCache, RelayFilter, RequestTracker
from neo_twisted.sync import DEFAULT_SYNC_TIMEOUTS, SyncTimeouts
from neo_twisted.sync.backoff import Backoff
from neo_twisted.sync.blocks import SEGMENT, WINDOW, BlockSync
from neo_twisted.sync.early import AwaitingHeader, Placement
from neo_twisted.sync.gate import SyncGate
from neo_twisted.sync.headers import HeaderSync
from neo_twisted.sync.provisional import ProvisionalWatch
from neo_twisted.wire.uint import UInt256

#: Hashes remembered per peer (what it announced to us, what we sent it).
PEER_HASHES = 100_000
#: Block hashes remembered per peer as announced or sent by it. Blocks are relayed only
#: near the tip, so only recent ones matter, and the store already says which blocks we
#: hold: a syncing node would otherwise keep 100,000 old block hashes per peer (14 MB).
PEER_BLOCK_HASHES = 2 * (WINDOW + SEGMENT)
#: Blocks within this many of the header tip are relayed when they arrive.
RELAY_NEAR_TIP = 100
#: Of the blocks one ledger write accepted, the newest this many are relayed: a peer
#: that lacks older ones asks for them by header and block sync.
RELAY_NEWEST = 2

#: The inventory types we fetch and relay (not 2.11's state roots).
_RELAYED_TYPES = frozenset({InventoryType.TX, InventoryType.Block, InventoryType.Consensus})

#: Called on the reactor with the blocks one ledger write just persisted.
BlocksListener = Callable[[list[Block]], None]


@attrs.define
class _Session:
    """
    What the node remembers about one established peer.
    """

    #: What the peer announced or sent to us: never announced back to it.
    known: FifoSet[UInt256] = attrs.field(factory=lambda: FifoSet(PEER_HASHES))
    #: The same for blocks: the last few thousand.
    known_blocks: FifoSet[UInt256] = attrs.field(factory=lambda: FifoSet(PEER_BLOCK_HASHES))
    #: What we announced to it.
    announced: FifoSet[UInt256] = attrs.field(factory=lambda: FifoSet(PEER_HASHES))
    #: What we served it on C{getdata}: each item once per connection.
    served: FifoSet[UInt256] = attrs.field(factory=lambda: FifoSet(PEER_HASHES))


@implementer(IPeerObserver, ILocalNode)
class Node:
    """
    The policy of one node: what it does with its established peers' messages.
    """

    _log = Logger()

    def __init__(self, ledger: LedgerService, clock: IReactorTime,
                 controller: PeerController, connections: ConnectionService, *,
                 user_agent: str, nonce: int | None = None,
                 mempool: MempoolService | None = None,
                 timeouts: SyncTimeouts = DEFAULT_SYNC_TIMEOUTS) -> None:
        """
        @param controller: the registry of live peers; the node subscribes itself and
            its parts, and keeps its sessions in the registry's records.
        @param connections: the connection service (for RPC, metrics and the consensus
            startup hold; it subscribes to the controller itself).
        @param mempool: the memory pool; without one, transactions are ignored.
        @param timeouts: how long the syncs wait for a peer.
        """
        self.controller = controller
        self.connections = connections
        self.ledger = ledger
        self.mempool = mempool
        self.clock = clock
        self.user_agent = user_agent
        self.nonce = random.SystemRandom().randrange(1 << 31) if nonce is None else nonce
        #: The established peers' sessions: a view of the controller's registry.
        self.sessions: Sessions[_Session] = Sessions(controller.records)
        self._stopped = False
        #: Blocks announced to us, asked of one announcer at a time.
        self.blocks = InventoryFetcher(InventoryType.Block, clock, alive=self._may_ask)
        self.relay_filter: RelayFilter[UInt256] = RelayFilter()
        self.relay_cache: RelayCache[UInt256, Serializable] = RelayCache()
        self.server = Server(ledger, self._lookup)
        self.header_sync = HeaderSync(ledger, clock, self.established_peers,
                                      on_progress=self._headers_added,
                                      timeout=timeouts.headers,
                                      backoff=Backoff(clock, timeouts.backoff))
        self.gate = SyncGate(clock, timeouts.gate)
        self.provisional = ProvisionalWatch(
            ledger, clock, timeout=timeouts.provisional,
            busy=lambda: self.header_sync.adding,
            on_dropped=lambda _: self.header_sync.provisional_dropped())
        self.block_sync = BlockSync(ledger, clock, self.established_peers,
                                    on_persisted=self._blocks_accepted,
                                    segment_timeout=timeouts.segment,
                                    stall_timeout=timeouts.stall,
                                    request=self.blocks.claim)
        #: Blocks asked for that came before their verified header (placed once it is).
        self.awaiting_header = AwaitingHeader()
        self.transactions = None if mempool is None else TransactionRelay(self, mempool)
        self.consensus = ConsensusRelay(self, ledger.settings)
        self._block_listeners: list[BlocksListener] = []
        self._handlers: dict[str, Callable[[IPeer, Any], None]] = {
            "getheaders": self._on_getheaders,
            "getblocks": self._on_getblocks,
            "getdata": self._on_getdata,
            "inv": self._on_inv,
            "headers": self._on_headers,
            "block": self._on_block,
            "tx": self._on_tx,
            "mempool": self._on_mempool,
            "consensus": self._on_consensus,
        }
        controller.use_node(self)
        controller.subscribe(self)
        # the parts that only forget a lost peer, in the order they always did
        for forget in (self.header_sync.peer_lost, self.block_sync.peer_lost,
                       None if self.transactions is None else self.transactions.peer_lost,
                       self.consensus.peer_lost, self.blocks.peer_lost):
            if forget is not None:
                controller.subscribe(LossObserver(forget))

    # -- the chain as the policy sees it ---------------------------------------------------

    @property
    def block_height(self) -> int:
        ledger = self.ledger.ledger
        return 0 if ledger is None else ledger.block_height

    @property
    def header_height(self) -> int:
        ledger = self.ledger.ledger
        return 0 if ledger is None else ledger.header_height

    @property
    def syncing(self) -> bool:
        """
        Whether a chain is proven to run past our blocks, and is still coming in
        (L{SyncGate}): headers with checked witnesses, or the assume-valid block. A
        peer's claimed height alone (issue 20, attack 2) proves nothing.
        """
        ledger = self.ledger.ledger
        if ledger is None:
            return False
        assumed = ledger.settings.assume_valid
        return self.gate.syncing(ledger.block_height, ledger.verified_height,
                                 ledger.header_height, 0 if assumed is None else assumed.height)

    def established_peers(self) -> list[IPeer]:
        return [peer for peer in self.sessions if peer.established]

    # -- ILocalNode and IPeerObserver --------------------------------------------------------

    def current_height(self) -> int:
        return self.block_height

    def peer_established(self, peer: IPeer) -> None:
        record = self.controller.records.get(peer)
        if record is None:  # dropped by an observer before us
            return
        record.session = _Session()
        if self.transactions is not None:
            self.transactions.peer_established(peer)
        self.consensus.peer_established(peer)
        self.header_sync.poke()
        self.block_sync.poke()

    def message_received(self, peer: IPeer, command: str, payload: Payload) -> None:
        handler = self._handlers.get(command)
        if handler is not None and peer in self.sessions:
            handler(peer, payload)

    def accepts_block_frame(self, peer: IPeer, index: int, hash: UInt256) -> bool:
        """
        A block is decoded only if it was asked for or may be our next one, judged on
        the raw header before any decoding (issue 20, attack 3: a 32 MiB block took
        seconds of the reactor to decode, then to ignore): taking one nobody asked for
        that cannot be next would be memory, and checking it work, that a peer could
        make us spend at will (attack 5), so its sender is dropped.
        """
        session = self.sessions.get(peer)
        if session is None:
            return False
        session.known_blocks.add(hash)
        height = self.block_height
        if index <= height:
            return False  # stored already (perhaps a late answer): nothing to judge
        if self.requests.requested_from(hash) is None and index != height + 1:
            peer.fault(Fault.UNASKED_BLOCK, f"sent block {index} unasked, which cannot be next")
            return False
        return True

    def note_useful(self, peer: IPeer) -> None:
        """
        C{peer} sent us a block or transaction we did not have: it is kept from
        inbound eviction.
        """
        self.controller.note_useful(peer)

    def peer_lost(self, peer: IPeer, record: PeerRecord, reason: str,
                  fault: Fault | None) -> None:
        """
        Nothing to do: the session went with the record, and the parts that remember
        the peer were told (L{LossObserver}s subscribed after us).
        """

    # -- messages ----------------------------------------------------------------------------

    def _on_getheaders(self, peer: IPeer, payload: GetBlocksPayload) -> None:
        self.server.getheaders(peer, payload).addErrback(self._serve_failed, peer)

    def _on_getblocks(self, peer: IPeer, payload: GetBlocksPayload) -> None:
        self.server.getblocks(peer, payload).addErrback(self._serve_failed, peer)

    def _on_getdata(self, peer: IPeer, payload: InvPayload) -> None:
        served = self.sessions[peer].served
        (self.server.getdata(peer, payload, served.add)
         .addErrback(self._serve_failed, peer))

    def _serve_failed(self, failure: Failure, peer: IPeer) -> None:
        self._log.failure("serving {peer} failed", failure, peer=peer)

    def _on_headers(self, peer: IPeer, payload: HeadersPayload) -> None:
        self.header_sync.headers_received(peer, payload)

    def _on_block(self, peer: IPeer, block: Block) -> None:
        # the frame was judged so already; a block handed over otherwise is judged here
        index = block.index
        if not self.accepts_block_frame(peer, index, block.hash):
            return
        placement = self.block_sync.block_received(peer, block)
        # A block of our header chain is not remembered as done: block sync holds it
        # until it is stored, and then the store knows it; one refused for a full buffer
        # or not placed yet must be fetchable again.
        self.blocks.received(block.hash,
                               remember=placement.taken and index > self.header_height)
        known = placement.taken or placement is Placement.UNKNOWN
        if known and index > peer.last_block_index:
            # it holds the block (within the window): it has what leads there
            peer.last_block_index = index
            self.block_sync.poke()
        if placement is Placement.UNKNOWN:
            self.awaiting_header.keep(peer, block)
            self.header_sync.announced(peer)  # its header first, then the block
        elif placement is Placement.BEYOND:
            peer.fault(Fault.BLOCK_BEYOND, f"sent block {index}, beyond the window above our "
                                           f"height {self.block_height}")
        elif placement is Placement.FOREIGN:  # our verified header there is another's
            peer.fault(Fault.FOREIGN_BLOCK,
                       f"sent block {index}, which is not our verified header's")

    def _on_tx(self, peer: IPeer, tx: Transaction) -> None:
        self.sessions[peer].known.add(tx.hash)
        if self.transactions is not None and not self._stopped:
            self.transactions.tx_received(peer, tx)

    def _on_consensus(self, peer: IPeer, payload: ConsensusPayload) -> None:
        self.sessions[peer].known.add(payload.hash)
        if not self._stopped:
            self.consensus.payload_received(peer, payload)

    def _on_mempool(self, peer: IPeer, _: object) -> None:
        if self.transactions is not None:
            self.transactions.mempool_requested(peer)

    def _on_inv(self, peer: IPeer, payload: InvPayload) -> None:
        if payload.type not in _RELAYED_TYPES:
            return  # state roots (2.11+): nothing we fetch
        session = self.sessions[peer]
        known = session.known_blocks if payload.type is InventoryType.Block else session.known
        fresh = [h for h in payload.hashes if known.add(h) and h not in session.announced]
        if self._stopped:
            return
        if payload.type is InventoryType.TX:
            if self.transactions is not None:
                self.transactions.inv_received(peer, fresh)
            return
        if payload.type is InventoryType.Consensus:
            self.consensus.inv_received(peer, fresh)
            return
        if payload.type is not InventoryType.Block:
            return
        ledger = self.ledger.ledger
        if ledger is None:
            return
        # Every hash, not only those new from this peer: a block it announced while
        # we could not take it (its header unknown, we far behind) comes again in its
        # answer to our getblocks, and must be fetchable then. The request table
        # keeps one request per hash in flight. No honest node announces more than 500
        # blocks at once (2.8's big invs are of transactions).
        hashes = list(payload.hashes[:MAX_INV_HASHES])
        indexes = ledger.header_indexes(hashes)
        if fresh:
            self._learn_height(peer, indexes)
        self.block_sync.inventory(peer, indexes)
        wanted = [h for h, index in zip(hashes, indexes, strict=True)
                  if index is not None and self._wants_block(h, index)]
        if not wanted and self.requests.in_flight(peer) == 0:
            # At the tip an unknown hash may be the next block: the first is fetched at
            # once, as the reference does (relay latency); the others wait for their
            # headers, so a peer cannot have us fetch blocks of a chain it makes up.
            wanted = [h for h, index in zip(hashes, indexes, strict=True)
                      if index is None and self._wants_block(h, None)][:1]
        if not wanted:
            return
        self.blocks.announced(peer, wanted)

    def _learn_height(self, peer: IPeer, indexes: list[int | None]) -> None:
        """
        A peer announcing blocks has them: raise its known height to the highest of
        them in our header chain, and when one is not there, ask it for headers.
        """
        known = [index for index in indexes if index is not None]
        if known and max(known) > peer.last_block_index:
            peer.last_block_index = max(known)
        if len(known) < len(indexes):
            self.header_sync.announced(peer)
        self.block_sync.poke()

    def _wants_block(self, hash_: UInt256, index: int | None) -> bool:
        """
        A block announced to us is fetched when it is in our header chain within the sync
        window and not stored yet, or, when we are at the tip, when it is new (it may
        be the next block: one such at a time per peer, see L{_on_inv}). C{index} is its
        height in our header chain, if it is there.
        """
        ledger = self.ledger.ledger
        if ledger is None or self.block_sync.holds(hash_):
            return False
        if index is not None:  # stored exactly when at or below the block height
            return (ledger.block_height < index <= ledger.block_height + WINDOW + SEGMENT
                    and index <= ledger.verified_height)
        return ledger.header_height - ledger.block_height <= 1

    def _may_ask(self, peer: IPeer) -> bool:
        return not self._stopped and peer in self.sessions

    @property
    def requests(self) -> RequestTracker[IPeer, UInt256]:
        """
        The blocks asked of peers (see L{InventoryFetcher}).
        """
        return self.blocks.requests

    # -- sync and relay ----------------------------------------------------------------------

    def _headers_added(self) -> None:
        ledger = self.ledger.ledger
        if ledger is not None and len(self.awaiting_header):
            for peer, block in self.awaiting_header.ready(ledger.block_height,
                                                          ledger.verified_height):
                self.block_sync.block_received(peer if peer in self.sessions else None,
                                               block)
        self.block_sync.poke()

    def _blocks_accepted(self, blocks: list[Block], sender: IPeer | None) -> None:
        """
        Relay the newest of the blocks just accepted, if they are near the tip.
        """
        tip = self.header_height
        now = self.clock.seconds()
        if sender is not None and sender in self.sessions:
            self.note_useful(sender)
        for block in blocks[-RELAY_NEWEST:]:
            if block.index + RELAY_NEAR_TIP < tip:
                continue
            if not self.relay_filter.should_relay(block.hash, now):
                continue
            self.relay_cache.put(block.hash, RawPayload(block.to_bytes()))
            self.relay(InventoryType.Block, block.hash, sender)
        if self.mempool is not None:
            self.mempool.blocks_persisted(blocks)
        for listener in list(self._block_listeners):
            listener(blocks)
        self.header_sync.poke()

    def add_block_listener(self, listener: BlocksListener) -> None:
        """
        Call C{listener(blocks)} after each ledger write that persisted blocks.
        """
        self._block_listeners.append(listener)

    def submit_block(self, block: Block) -> defer.Deferred[BlockResult]:
        """
        A block from ourselves (RPC C{submitblock}): add it, and relay it when accepted.
        """
        def added(results: list[BlockResult]) -> BlockResult:
            if results[0].verdict is Verdict.ACCEPTED:
                self._blocks_accepted([block], None)
            return results[0]

        return self.ledger.add_blocks([block]).addCallback(added)

    def relay(self, kind: InventoryType, hash_: UInt256, sender: IPeer | None) -> None:
        """
        Announce an item to every established peer that wants relays and does not have it.
        """
        self.relay_many(kind, (hash_,), sender)

    def relay_many(self, kind: InventoryType, hashes: Sequence[UInt256],
                   sender: IPeer | None) -> None:
        """
        L{relay} for several items at once: one C{inv} per peer (of at most 500 hashes).
        """
        for peer, session in self.sessions.items():
            if peer is sender or not peer.established:
                continue
            if peer.version is not None and not peer.version.relay:
                continue
            known = session.known_blocks if kind is InventoryType.Block else session.known
            news = tuple(h for h in hashes if h not in known and session.announced.add(h))
            for group in inv_groups(kind, news):
                peer.send("inv", group)

    def _lookup(self, kind: InventoryType, hash_: UInt256) -> Serializable | None:
        if kind is InventoryType.TX:
            return None if self.transactions is None else self.transactions.lookup(hash_)
        item = self.relay_cache.get(hash_)
        # the cache holds blocks (raw) and consensus payloads: a getdata of one kind is
        # never answered with the other
        wanted = ConsensusPayload if kind is InventoryType.Consensus else RawPayload
        return item if isinstance(item, wanted) else None

    def stop(self) -> None:
        """
        The node is stopping: ask nobody for anything more.
        """
        self._stopped = True
        self.header_sync.stop()
        self.block_sync.stop()

    def tick(self) -> None:
        """
        Every few seconds: give up requests that timed out, keep both syncs moving.
        """
        if not self._stopped:
            self.blocks.tick()
        if self.transactions is not None:
            self.transactions.tick()
        self.consensus.tick()
        ledger = self.ledger.ledger
        if ledger is not None:  # progress is noted here too, not only when asked
            self.gate.observe(ledger.block_height, ledger.verified_height,
                              ledger.header_height)
            if not self._stopped:
                self.provisional.check()
        self.header_sync.poke()
        self.block_sync.tick()
