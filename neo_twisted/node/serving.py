# -*- test-case-name: tests.unit.test_node_serving -*-
"""
Answers to what peers ask of us: C{getheaders}, C{getblocks} and C{getdata}.

The answers come from the store as stored bytes (a stored header or block is
already in its wire form), read on the ledger's read threads so that a peer
asking for 2000 headers or 500 blocks never holds up the reactor. The rules are
the reference node's (2.9+), but that of the start hashes (a locator) the first we
know counts, as in Bitcoin Core (a reference node sends one); nothing is sent
when there is nothing to send; a block goes no higher than our block height; an
item is served at most once per connection; unknown items are skipped.

What one peer can make us read is bounded (issue 20, attack 8): at most
L{READS_IN_FLIGHT} of its reads are handed to the ledger at a time and at most
L{READS_WAITING} more wait here. When that many wait, the peer is held
(L{IPeer.hold}): none of its further messages is handled, and its socket not read,
until one of its reads is done, as Bitcoin Core stops receiving from a peer it
has not caught up with. So nothing an honest peer asks is lost, and a peer asking
faster than we answer only waits: its share of our read threads stays at two
reads, taken in turn with every other peer's. A read whose peer has gone is
dropped before it runs, here or in the ledger's peer read queue, so a flood
followed by a disconnect costs at most the reads already running. (A request that
still finds the queue full, which a held peer cannot send, is ignored without
penalty, as the reference node drops a request of a kind already queued.)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import attrs
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from neo_twisted.core.serializable import Serializable
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.service import LedgerService, ReadDroppedError
from neo_twisted.network.payloads import (
    MAX_INV_HASHES,
    GetBlocksPayload,
    InventoryType,
    InvPayload,
    RawPayload,
)
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.wire.binary import encode_var_int
from neo_twisted.wire.uint import UInt256

#: The command that carries each inventory type.
INVENTORY_COMMANDS = {
    InventoryType.TX: "tx",
    InventoryType.Block: "block",
    InventoryType.Consensus: "consensus",
}

P = ParamSpec("P")
T = TypeVar("T")

#: Finds an item that lives in memory (the relay cache, later the mempool), or None.
Lookup = Callable[[InventoryType, UInt256], Serializable | None]


def _blocks(ledger: Ledger, hashes: list[UInt256]) -> list[bytes | None]:
    return [ledger.get_block_bytes(h) for h in hashes]


def _transactions(ledger: Ledger, hashes: list[UInt256]) -> list[bytes | None]:
    return [ledger.get_transaction_bytes(h) for h in hashes]


#: How items not in memory are read from the store, by type (consensus payloads live
#: in memory only).
_FROM_STORE = {InventoryType.Block: _blocks, InventoryType.TX: _transactions}

#: Store reads of one peer handed to the ledger at a time.
READS_IN_FLIGHT = 2
#: Requests of one peer that may wait for those; past this, a request is ignored.
READS_WAITING = 16


@attrs.frozen
class _Request:
    """
    A store read one peer asked for: C{start} hands it to the ledger, and fires once
    its result was sent to the peer.
    """

    start: Callable[[], defer.Deferred[None]]
    done: defer.Deferred[None] = attrs.field(factory=defer.Deferred)


@attrs.define
class _PeerReads:
    """
    One peer's reads: how many the ledger has, and which wait here.
    """

    running: int = 0
    waiting: deque[_Request] = attrs.field(factory=deque)
    #: Whether this holds the peer (L{IPeer.hold}) until its queue has room.
    holding: bool = False


@attrs.define
class ServingStats:
    """
    What peers' requests cost, since the start.
    """

    #: Reads handed to the ledger.
    started: int = 0
    #: Reads dropped before they ran because their peer had gone.
    dropped: int = 0
    #: Requests ignored because their peer had too many waiting.
    ignored: int = 0
    #: Times a peer was held until its reads caught up.
    held: int = 0


class Server:
    """
    Serves one node's chain to its peers.
    """

    _log = Logger()

    def __init__(self, ledger: LedgerService, lookup: Lookup) -> None:
        self._ledger = ledger
        self._lookup = lookup
        self._reads: dict[IPeer, _PeerReads] = {}
        self.stats = ServingStats()

    def reads_of(self, peer: IPeer) -> tuple[int, int]:
        """
        (reads running, requests waiting) of C{peer} now.
        """
        reads = self._reads.get(peer)
        return (0, 0) if reads is None else (reads.running, len(reads.waiting))

    def _has_room(self, peer: IPeer) -> bool:
        reads = self._reads.get(peer)
        return (reads is None or reads.running < READS_IN_FLIGHT
                or len(reads.waiting) < READS_WAITING)

    def _read(self, peer: IPeer, deliver: Callable[[T], None],
              function: Callable[Concatenate[Ledger, P], T], *args: P.args,
              **kwargs: P.kwargs) -> defer.Deferred[None]:
        """
        Read C{function(ledger, *args, **kwargs)} for C{peer} in its turn, then
        C{deliver} the result (while the peer is there); fires when done, dropped or
        ignored.
        """
        if not peer.established:
            return defer.succeed(None)
        if not self._has_room(peer):
            self.stats.ignored += 1
            self._log.debug("ignoring a request of {peer}: {waiting} wait already",
                            peer=peer, waiting=READS_WAITING)
            return defer.succeed(None)
        reads = self._reads.setdefault(peer, _PeerReads())
        def start() -> defer.Deferred[None]:
            return self._ledger.peer_read(lambda: peer.established, function, *args,
                                          **kwargs).addCallback(deliver)

        request = _Request(start)
        reads.waiting.append(request)
        self._next(peer, reads)
        if len(reads.waiting) >= READS_WAITING and not reads.holding and peer.established:
            reads.holding = True
            self.stats.held += 1
            peer.hold()
        return request.done

    def _next(self, peer: IPeer, reads: _PeerReads) -> None:
        """
        Hand C{peer}'s next reads to the ledger, or drop them all once it is gone.
        """
        while reads.running < READS_IN_FLIGHT and reads.waiting:
            request = reads.waiting.popleft()
            if not peer.established:
                self.stats.dropped += 1
                request.done.callback(None)
                continue
            reads.running += 1
            self.stats.started += 1
            read = request.start().addErrback(self._dropped)
            read.addBoth(self._read_done, peer, reads, request)
        if reads.holding and len(reads.waiting) < READS_WAITING:
            reads.holding = False
            peer.release()
        if not reads.running and not reads.waiting and self._reads.get(peer) is reads:
            del self._reads[peer]

    def _dropped(self, failure: Failure) -> None:
        failure.trap(ReadDroppedError)  # type: ignore[no-untyped-call]
        self.stats.dropped += 1

    def _read_done(self, result: Failure | None, peer: IPeer, reads: _PeerReads,
                   request: _Request) -> None:
        reads.running -= 1
        self._next(peer, reads)
        if isinstance(result, Failure):
            request.done.errback(result)
        else:
            request.done.callback(None)

    def getheaders(self, peer: IPeer, request: GetBlocksPayload) -> defer.Deferred[None]:
        """
        Up to 2000 headers after the first known start hash, stopping at the stop hash.
        """
        def send(headers: list[bytes]) -> None:
            if headers and peer.established:
                peer.send("headers", RawPayload(encode_var_int(len(headers)) + b"".join(headers)))

        return self._read(peer, send, Ledger.header_bytes_after, request.hash_start,
                          request.hash_stop)

    def getblocks(self, peer: IPeer, request: GetBlocksPayload) -> defer.Deferred[None]:
        """
        Up to 500 hashes of persisted blocks after the first known start hash, as an C{inv}.
        """
        def send(hashes: list[UInt256]) -> None:
            if hashes and peer.established:
                peer.send("inv", InvPayload(InventoryType.Block, tuple(hashes)))

        return self._read(peer, send, Ledger.block_hashes_after, request.hash_start,
                          request.hash_stop)

    def getdata(self, peer: IPeer, request: InvPayload,
                first_time: Callable[[UInt256], bool]) -> defer.Deferred[None]:
        """
        Each item asked for, from memory or (blocks, and transactions already in a
        block, as the reference node's C{GetTransaction} finds them) from the store;
        C{first_time(hash)} says whether this peer may still be sent that item (and
        records that it was). A transaction announced from the pool and confirmed before
        the peer asked for it is still sent, so the peer is not left waiting. When the
        peer has too many reads waiting, only what is in memory is sent (and only that
        is recorded as sent: the rest may be asked for again).
        """
        command = INVENTORY_COMMANDS.get(request.type)
        if command is None:  # state roots (2.11+): C# answers nothing either
            return defer.succeed(None)
        store = request.type in _FROM_STORE and self._has_room(peer)
        from_store: list[UInt256] = []
        skipped = False
        for hash_ in request.hashes:
            item = self._lookup(request.type, hash_)
            if item is not None:
                if first_time(hash_):
                    peer.send(command, item)
            elif store and len(from_store) < MAX_INV_HASHES:
                # 2.8 asks for more than 500 at once (its echo of a big inv): one read of
                # 65,536 blocks would be too big a bite, so at most 500 come from the store
                if first_time(hash_):
                    from_store.append(hash_)
            else:
                skipped = request.type in _FROM_STORE
        if skipped:
            self.stats.ignored += 1
        if not from_store:
            return defer.succeed(None)

        def send(items: list[bytes | None]) -> None:
            for data in items:
                if data is not None and peer.established:
                    peer.send(command, RawPayload(data))

        return self._read(peer, send, _FROM_STORE[request.type], from_store)
