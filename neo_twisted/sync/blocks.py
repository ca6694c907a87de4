# -*- test-case-name: tests.unit.test_sync_blocks,tests.unit.test_sync_early -*-
"""
Block sync: fetch the blocks of the known header chain from several peers at once.

The heights above our block height are cut into segments of 500, aligned on
multiples of 500 so that every peer is asked the same questions. Each segment is
asked of one peer with C{getblocks} (from the hash of the block before it); the
peer's C{inv} reply turns into C{getdata} through the node's inventory (which
makes sure a hash is asked of one peer at a time), and the C{block}s come back
here. Only segments within a window above our height are asked for, and only
blocks that can be placed are kept (L{neo_twisted.sync.early}): the next one, and
those of verified headers within the window, in a buffer bounded in bytes. A block
refused for a full buffer is asked for again once there is room.

Segments are asked for as soon as their headers are verified, while header sync
still fetches and checks later ones: the verifier processes check headers while the
ledger applies blocks, as the import overlaps them (waiting for the last header
left a core idle for the whole header phase: a sync took 12-18 % longer).

Received blocks are handed to the ledger in one batch per write: while a batch
is being written the next ones gather, up to the ledger's write budget
(L{neo_twisted.ledger.writebudget}), which holds a commit's dirty pages to a
fixed memory bound. A segment that brings nothing for a while is asked of someone
else, and the peer holding up the very next block is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from neo_twisted.core.block import Block
from neo_twisted.ledger.chain import BlockResult, Verdict
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.state import write_cost
from neo_twisted.network.payloads import GetBlocksPayload, InventoryType, inv_groups
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.sync.early import MAX_EARLY_BYTES, EarlyBlocks, Entry, Placement
from neo_twisted.wire.uint import ZERO_UINT256, UInt256

SEGMENT = 500
#: Blocks above our height that may be asked for (segments are aligned, so blocks up to
#: C{WINDOW + SEGMENT} above it may come, and the early-block buffer holds as many).
WINDOW = 1500
#: Segments one peer may hold at once.
SEGMENTS_PER_PEER = 3
#: Seconds a segment may go without a block before someone else is asked.
SEGMENT_TIMEOUT = 30.0
#: Seconds the next block may keep us waiting before its peer is dropped.
STALL_TIMEOUT = 20.0
#: Seconds a peer has to answer C{getblocks} with an C{inv} before the segment is asked of
#: another: a peer that has nothing to say (it lacks the block we start from) is replaced
#: in seconds, not after L{SEGMENT_TIMEOUT}.
ANSWER_TIMEOUT = 5.0
#: Seconds a peer whose answer stopped short of a segment is not asked for it again.
SHORT_PAUSE = 5.0


@attrs.define
class _Assignment:
    peer: IPeer
    #: When the peer last delivered a block (or when it was asked for the segment).
    active: float
    #: When it was asked, and whether its C{inv} answer came: a peer is asked one
    #: C{getblocks} at a time (2.9+ drops a second one while the first is queued).
    asked: float = 0.0
    answered: bool = False


class BlockSync:
    """
    Keeps the block chain up with the header chain; see the module docstring.
    """

    _log = Logger()

    def __init__(self, ledger: LedgerService, clock: IReactorTime,
                 peers: Callable[[], Iterable[IPeer]], *,
                 on_persisted: Callable[[list[Block], IPeer | None], None] | None = None,
                 window: int = WINDOW, segment_timeout: float = SEGMENT_TIMEOUT,
                 stall_timeout: float = STALL_TIMEOUT,
                 write_budget: int | None = None,
                 request: Callable[[IPeer, list[UInt256]], object] | None = None,
                 early_bytes: int = MAX_EARLY_BYTES) -> None:
        """
        @param peers: the established peers to choose from, called each time.
        @param on_persisted: called with the blocks of each write that the ledger accepted,
            and the peer that sent the last of them (for relaying them onwards).
        @param write_budget: the most one write may cost (L{write_cost}); a block that
            costs more on its own is written alone. By default the ledger's
            L{neo_twisted.ledger.writebudget.WriteBudget} says, from the pages its
            commits wrote.
        @param request: asks a peer for blocks by hash (a C{getdata} through the node's
            request table); by default the C{getdata} is sent as it is.
        @param early_bytes: the early-block buffer's bound in serialized bytes.
        """
        self._ledger = ledger
        self._clock = clock
        self._peers = peers
        self._on_persisted = on_persisted
        self._window = window
        self._segment_timeout = segment_timeout
        self._stall_timeout = stall_timeout
        self._write_budget = write_budget
        self._segments: dict[int, _Assignment] = {}
        #: The peer a segment last timed out with: asked again only if nobody else can be.
        self._timed_out: dict[int, IPeer] = {}
        #: The peer whose answer stopped short of a segment, and when: not asked for it
        #: again for L{SHORT_PAUSE} (it has no more).
        self._short: dict[int, tuple[IPeer, float]] = {}
        self._request = request if request is not None else _send_getdata
        self._early = EarlyBlocks(window + SEGMENT, window + SEGMENT, early_bytes)
        #: Hashes of verified headers above our height, read a segment at a time: every
        #: block received is checked against its header's, and a read transaction per
        #: block took 7 % of a sync's main-process time (py-spy).
        self._header_hashes: dict[int, UInt256] = {}
        self._adding = False
        self._progress_at = clock.seconds()
        self._progress_height = -1
        self._stopped = False

    @property
    def heights(self) -> tuple[int, int]:
        ledger = self._ledger.ledger
        return (-1, -1) if ledger is None else (ledger.block_height, ledger.header_height)

    def holds(self, hash_: bytes) -> bool:
        """
        Whether a block is here waiting for the ledger (so not to be asked for again).
        """
        return hash_ in self._early

    @property
    def buffered(self) -> int:
        """
        Blocks received and waiting for the ledger.
        """
        return len(self._early)

    @property
    def buffered_bytes(self) -> int:
        """
        The serialized size of the blocks waiting for the ledger.
        """
        return self._early.bytes

    @property
    def segments(self) -> dict[int, IPeer]:
        """
        Which peer each segment (by its first height) is asked of.
        """
        return {start: a.peer for start, a in self._segments.items()}

    # -- asking --------------------------------------------------------------------------

    def poke(self) -> None:
        """
        Ask idle peers for the next segments within the window.
        """
        ledger = self._ledger.ledger
        if self._stopped or ledger is None:
            return
        # the headers taken on trust below an assume-valid block wait for it
        height, header_height = ledger.block_height, ledger.verified_height
        self._note_progress(height)
        self._forget_done(height, header_height)
        if header_height <= height:
            return  # at the tip: new blocks come by relay, not by segments
        last = min(header_height, height + self._window)
        start = height - height % SEGMENT + 1
        load = self._load()
        while start <= last:
            if start not in self._segments:
                peer = self._idle_peer(start, load)
                if peer is None:
                    break
                previous = ledger.get_block_hash(start - 1)
                if previous is None:
                    break
                now = self._clock.seconds()
                self._segments[start] = _Assignment(peer, now, now)
                self._log.debug("asking {peer} for blocks {start} to {end}", peer=peer,
                                start=start, end=start + SEGMENT - 1)
                load[peer] = load.get(peer, 0) + 1
                peer.send("getblocks", GetBlocksPayload((previous,), ZERO_UINT256))
            start += SEGMENT

    def _load(self) -> dict[IPeer, int]:
        load: dict[IPeer, int] = {}
        for assignment in self._segments.values():
            load[assignment.peer] = load.get(assignment.peer, 0) + 1
        return load

    def _idle_peer(self, start: int, load: dict[IPeer, int]) -> IPeer | None:
        """
        The least busy peer that has the segment's first block, room for it, and no
        C{getblocks} unanswered; not the one whose answer just stopped short of it.
        """
        waiting = {a.peer for a in self._segments.values() if not a.answered}
        short = self._short.get(start)
        if short is not None and self._clock.seconds() - short[1] >= SHORT_PAUSE:
            del self._short[start]
            short = None
        candidates = [p for p in self._peers()
                      if p.established and p.last_block_index >= start
                      and load.get(p, 0) < SEGMENTS_PER_PEER and p not in waiting
                      and (short is None or p is not short[0])]
        if not candidates:
            return None
        slow = self._timed_out.get(start)
        return min(candidates, key=lambda p: (p is slow, load.get(p, 0), p.inbound))

    def _forget_done(self, height: int, header_height: int) -> None:
        """
        Drop the segments whose blocks are all stored (up to the header tip, for the last).
        """
        def done(start: int) -> bool:
            return min(start + SEGMENT - 1, header_height) <= height

        for start in [s for s in self._segments if done(s)]:
            del self._segments[start]
        for start in [s for s in self._timed_out if done(s)]:
            del self._timed_out[start]
        for start in [s for s in self._short if done(s)]:
            del self._short[start]

    # -- receiving -----------------------------------------------------------------------

    def inventory(self, peer: IPeer, indexes: list[int | None]) -> None:
        """
        A block C{inv} from C{peer}, with the height of each hash in our header chain
        (None: not there). The answer to our C{getblocks} for a segment says how much
        of it the peer has: when it stops short of the segment (the peer is syncing
        itself), the rest is asked of another peer at once rather than after the
        stall timeout.
        """
        known = [index for index in indexes if index is not None]
        ledger = self._ledger.ledger
        if not known or ledger is None:
            return
        first, last = min(known), max(known)
        for start, assignment in list(self._segments.items()):
            if assignment.peer is not peer or not start <= first < start + SEGMENT:
                continue
            assignment.answered = True
            end = min(start + SEGMENT - 1, ledger.verified_height)
            if last < end and len(indexes) < SEGMENT:
                del self._segments[start]
                self._short[start] = (peer, self._clock.seconds())
                self._timed_out[start] = peer
                self._log.info("{peer} has blocks up to {last} of segment {start}; asking "
                               "another peer for the rest", peer=peer, last=last, start=start)
        self.poke()

    def block_received(self, peer: IPeer | None, block: Block) -> Placement:
        """
        A block from C{peer} (None: from ourselves): keep it for the next ledger write
        if it can be placed, and say where it went (the caller judges the sender).
        """
        ledger = self._ledger.ledger
        if self._stopped or ledger is None:
            return Placement.OLD
        placement = self._early.place(peer, block, ledger.block_height,
                                      ledger.verified_height, self._header_hash)
        if not placement.taken and placement is not Placement.FULL:
            return placement
        # A peer works through its segments one after the other: while it delivers
        # any of them, none of them is quiet. Other blocks it sends (new ones it
        # relays) say nothing of them: a peer that had only part of a segment when
        # asked would otherwise keep the rest of it forever.
        now = self._clock.seconds()
        mine = [(start, a) for start, a in self._segments.items() if a.peer is peer]
        if any(start <= block.index < start + SEGMENT for start, _ in mine):
            for _, assignment in mine:
                assignment.active = now
        if placement.taken:
            self._flush()
        return placement

    def _header_hash(self, index: int) -> UInt256 | None:
        """
        The hash of our verified header at C{index}, read with the rest of its segment.
        """
        known = self._header_hashes.get(index)
        ledger = self._ledger.ledger
        if known is not None or ledger is None or index > ledger.verified_height:
            return known
        end = min(index - index % SEGMENT + SEGMENT, ledger.verified_height)
        hashes = ledger.get_block_hashes(index, end)
        self._header_hashes.update(enumerate(hashes, index))
        return self._header_hashes.get(index)

    def _flush(self) -> None:
        ledger = self._ledger.ledger
        if self._adding or not len(self._early) or self._stopped or ledger is None:
            return
        # the blocks after our height without a gap: the others wait for them
        budget = (ledger.write_budget.records if self._write_budget is None
                  else self._write_budget)
        batch = self._early.next_run(ledger.block_height, write_cost, budget)
        if not batch:
            return
        self._adding = True
        d = self._ledger.add_blocks([entry.block for entry in batch])
        d.addCallback(self._added, batch)
        d.addErrback(self._add_failed, batch)

    def _added(self, results: list[BlockResult], batch: list[Entry]) -> None:
        self._adding = False
        accepted = []
        sender: IPeer | None = None
        for entry, result in zip(batch, results, strict=True):
            block, peer = entry.block, entry.peer
            self._early.remove(block.hash)
            if result.verdict is Verdict.ACCEPTED:
                accepted.append(block)
                sender = peer
            elif result.verdict is Verdict.INVALID and peer is not None:
                self._log.warn("invalid block {index} from {peer}: {reason}",
                               index=block.index, peer=peer, reason=result.reason)
                peer.fault(Fault.BAD_BLOCK_WITNESS if result.forged else Fault.INVALID_BLOCK,
                           f"sent invalid block {block.index}: {result.reason}")
        height, _ = self.heights
        self._early.drop_through(height)
        for index in [i for i in self._header_hashes if i <= height]:
            del self._header_hashes[index]
        self._note_progress(height)
        if accepted and self._on_persisted is not None:
            self._on_persisted(accepted, sender)
        self._flush()
        self._fetch_refused()
        self.poke()

    def _add_failed(self, failure: Failure, batch: list[Entry]) -> None:
        self._adding = False
        for entry in batch:
            self._early.remove(entry.block.hash)
        self._log.failure("writing {count} blocks failed", failure, count=len(batch))

    def _note_progress(self, height: int) -> None:
        """
        The stall timer runs from the last time our height rose (or was first seen).
        """
        if height > self._progress_height:
            self._progress_height, self._progress_at = height, self._clock.seconds()

    def _fetch_refused(self) -> None:
        """
        Ask again for the blocks refused while the buffer was full, as far as they fit now.
        """
        if self._stopped:
            return
        height, _ = self.heights
        by_peer: dict[IPeer, list[UInt256]] = {}
        for refused in self._early.to_fetch_again(height):
            by_peer.setdefault(refused.peer, []).append(refused.hash)
        for peer, hashes in by_peer.items():
            if peer.established:
                self._request(peer, hashes)

    # -- time and peers ------------------------------------------------------------------

    def tick(self) -> None:
        """
        Called every few seconds: re-ask quiet segments, drop the peer stalling the next block.
        """
        ledger = self._ledger.ledger
        if self._stopped or ledger is None:
            return
        now = self._clock.seconds()
        height = ledger.block_height
        self._note_progress(height)
        next_start = height - height % SEGMENT + 1
        for start, assignment in list(self._segments.items()):
            stalled = start == next_start and now - self._progress_at >= self._stall_timeout
            if stalled and now - assignment.active >= self._stall_timeout:
                del self._segments[start]
                assignment.peer.disconnect(
                    f"stalled block sync at {height + 1} for {now - self._progress_at:.0f} s")
            elif stalled:
                # It sends blocks, but never the next one: it had only part of the
                # segment when asked (a live chain grows). Ask again from our tip.
                del self._segments[start]
                self._timed_out[start] = assignment.peer
                self._progress_at = now
                self._log.info("segment {start} from {peer} stopped short of {next}; "
                               "asking again", start=start, peer=assignment.peer,
                               next=height + 1)
            elif not assignment.answered and now - assignment.asked >= ANSWER_TIMEOUT:
                del self._segments[start]
                self._timed_out[start] = assignment.peer
                self._log.info("{peer} did not answer getblocks for segment {start} in "
                               "{seconds:g} s; asking another peer", peer=assignment.peer,
                               start=start, seconds=ANSWER_TIMEOUT)
            elif now - assignment.active >= self._segment_timeout:
                del self._segments[start]
                self._timed_out[start] = assignment.peer
                self._log.info("segment {start} from {peer} timed out; asking another peer",
                               start=start, peer=assignment.peer)
        self.poke()

    def peer_lost(self, peer: IPeer) -> None:
        self._early.peer_lost(peer)
        for start in [s for s, a in self._segments.items() if a.peer is peer]:
            del self._segments[start]
        self.poke()

    def stop(self) -> defer.Deferred[None]:
        self._stopped = True
        self._segments.clear()
        self._early.clear()
        self._header_hashes.clear()
        return defer.succeed(None)


def _send_getdata(peer: IPeer, hashes: list[UInt256]) -> None:
    for group in inv_groups(InventoryType.Block, hashes):
        peer.send("getdata", group)
