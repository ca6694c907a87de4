# -*- test-case-name: tests.unit.test_sync_blocks,tests.unit.test_sync_early -*-
"""
The early-block buffer: blocks that arrived before the ones they follow, and where a
received block may go at all.

A block is taken when it is the next one after our block height (as the reference
takes it: its witness is then checked against our tip), or when it is the block of a
verified header within the sync window above our height (its header was checked
already, so it cannot be made up). Anything else cannot be placed: a made-up block
far ahead costs its sender the connection instead of costing us memory.

The buffer is bounded in blocks and in bytes (L{MAX_EARLY_BYTES} of serialized blocks,
whatever their count). When a lower block arrives at a full buffer, the highest ones
make room for it (the chain needs the low ones first), so the next block always finds
room unless other candidates for its height fill the buffer. Refused and evicted blocks
of our verified chain are listed in L{EarlyBlocks.refused}, to be fetched again once
there is room.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator

import attrs

from neo_twisted.core.block import Block
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.wire.uint import UInt256

#: Serialized bytes the buffer holds at most. Decoded blocks take from about the same
#: (large attributes and scripts) to a few times more (many small transactions) in
#: memory. 32 MiB is sixteen blocks of the largest size policy lets a validator propose
#: (2 MiB), or a full window of 2,000 blocks of 16 KB; honest sync only needs the next
#: blocks to fit, and a refused one is fetched again.
MAX_EARLY_BYTES = 32 << 20


class Placement(enum.Enum):
    """
    Where a received block goes (L{EarlyBlocks.place}).
    """

    #: At or below our height, or held already: nothing to do.
    OLD = "old"
    #: The block after our height: taken, its witness checked by the ledger.
    NEXT = "next"
    #: The block of a verified header within the window: waits for the ones before it.
    EARLY = "early"
    #: Would wait, but the buffer is full: to be fetched again later.
    FULL = "full"
    #: Within the window, but no verified header says it is ours (yet).
    UNKNOWN = "unknown"
    #: Not the block of our verified header at its height: another chain's.
    FOREIGN = "foreign"
    #: Beyond the window above our height.
    BEYOND = "beyond"

    @property
    def taken(self) -> bool:
        return self is Placement.NEXT or self is Placement.EARLY


@attrs.frozen(eq=False)  # compared by identity: blocks are big
class Entry:
    block: Block
    peer: IPeer | None
    size: int
    #: Whether the block is that of a verified header (so its witness needs no check).
    vouched: bool


@attrs.frozen
class Refused:
    """
    A block of our verified header chain that did not fit: whom to ask for it again.
    """

    hash: UInt256
    index: int
    peer: IPeer
    size: int


class EarlyBlocks:
    """
    Received blocks waiting for the ledger, bounded in count and in bytes.

    @param reach: how far above our height a block may be taken.
    @param max_blocks: blocks held at most.
    @param max_bytes: serialized bytes held at most.
    """

    def __init__(self, reach: int, max_blocks: int, max_bytes: int = MAX_EARLY_BYTES) -> None:
        self.reach = reach
        self.max_blocks = max_blocks
        self.max_bytes = max_bytes
        self._entries: dict[UInt256, Entry] = {}
        #: The same entries by height (more than one only for rival next blocks).
        self._by_index: dict[int, list[Entry]] = {}
        self._bytes = 0
        #: Blocks refused or evicted for room, by hash: at most one per height of the window.
        self.refused: dict[UInt256, Refused] = {}

    def __contains__(self, hash_: object) -> bool:
        return hash_ in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def place(self, peer: IPeer | None, block: Block, height: int, verified_height: int,
              header_hash: Callable[[int], UInt256 | None]) -> Placement:
        """
        Take C{block} from C{peer} if it can be placed above C{height} (our block height),
        and say where it went. C{header_hash(index)} reads our header chain.
        """
        index = block.index
        if index <= height or block.hash in self._entries:
            return Placement.OLD
        if index > height + self.reach:
            return Placement.BEYOND
        known = header_hash(index) if index <= verified_height else None
        if index == height + 1:
            if known is not None and known != block.hash:
                return Placement.FOREIGN
            size = block.size
            self._make_room(index, size)
            if self._is_full(size):  # only other blocks of this height left
                return self._refuse(peer, block, size)
            self._add(Entry(block, peer, size, known is not None))
            return Placement.NEXT
        if known is None:
            return Placement.UNKNOWN
        if known != block.hash:
            return Placement.FOREIGN
        size = block.size
        self._make_room(index, size)
        if self._is_full(size):
            return self._refuse(peer, block, size)
        self._add(Entry(block, peer, size, True))
        return Placement.EARLY

    def next_run(self, height: int, budget: Callable[[Block], int], limit: int,
                 ) -> list[Entry]:
        """
        The blocks that follow C{height} without a gap, one per height (a vouched one
        first), as long as their C{budget} costs add up to at most C{limit} (one at least).
        A block no verified header vouches for goes alone: if its witness fails, it
        takes nothing else down with it.
        """
        run: list[Entry] = []
        cost = 0
        index = height + 1
        while index in self._by_index:
            rivals = self._by_index[index]
            entry = next((e for e in rivals if e.vouched), rivals[0])
            cost += budget(entry.block)
            if run and (cost > limit or not entry.vouched):
                break
            run.append(entry)
            if not entry.vouched:
                break
            index += 1
        return run

    def remove(self, hash_: UInt256) -> None:
        entry = self._entries.pop(hash_, None)
        if entry is not None:
            self._bytes -= entry.size
            rivals = self._by_index[entry.block.index]
            rivals.remove(entry)
            if not rivals:
                del self._by_index[entry.block.index]

    def drop_through(self, height: int) -> None:
        """
        Forget the blocks (held or refused) at or below C{height}: stored already, or
        beaten to it by another block of their height.
        """
        for index in [i for i in self._by_index if i <= height]:
            for entry in list(self._by_index[index]):
                self.remove(entry.block.hash)
        for hash_ in [h for h, r in self.refused.items() if r.index <= height]:
            del self.refused[hash_]

    def to_fetch_again(self, height: int) -> Iterator[Refused]:
        """
        The refused blocks within reach that fit now, lowest first; each is forgotten
        as it is handed out (if it does not fit when it comes, it is refused again).
        """
        free = self.max_bytes - self._bytes
        slots = self.max_blocks - len(self._entries)
        for refused in sorted(self.refused.values(), key=lambda r: r.index):
            if refused.index > height + self.reach:
                break
            if refused.size > free or slots <= 0:
                break
            free -= refused.size
            slots -= 1
            del self.refused[refused.hash]
            yield refused

    def peer_lost(self, peer: IPeer) -> None:
        """
        Its refused blocks cannot be asked of it again (block sync asks someone else).
        """
        for hash_ in [h for h, r in self.refused.items() if r.peer is peer]:
            del self.refused[hash_]

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def clear(self) -> None:
        self._entries.clear()
        self._by_index.clear()
        self.refused.clear()
        self._bytes = 0

    # -- internals -------------------------------------------------------------------------

    def _is_full(self, size: int = 0) -> bool:
        return (len(self._entries) >= self.max_blocks
                or self._bytes + size > self.max_bytes)

    def _add(self, entry: Entry) -> None:
        self._entries[entry.block.hash] = entry
        self._by_index.setdefault(entry.block.index, []).append(entry)
        self._bytes += entry.size

    def _refuse(self, peer: IPeer | None, block: Block, size: int) -> Placement:
        if peer is not None and len(self.refused) < self.reach:
            self.refused[block.hash] = Refused(block.hash, block.index, peer, size)
        return Placement.FULL

    def _make_room(self, index: int, size: int) -> None:
        """
        Evict the highest blocks above C{index} until one of C{size} bytes fits.
        """
        while self._is_full(size):
            top = max(self._by_index, default=None)
            if top is None or top <= index:
                return
            highest = self._by_index[top][-1]
            self.remove(highest.block.hash)
            if highest.peer is not None:
                self._refuse(highest.peer, highest.block, highest.size)


#: Blocks we asked for that wait for their verified header, at most (count, bytes).
AWAITING_HEADER_BLOCKS = 16
AWAITING_HEADER_BYTES = 8 * 1024 * 1024


class AwaitingHeader:
    """
    Blocks we asked for (at the tip, by a hash we had no header for) that came before
    their header was verified: kept, bounded, until it is. Dropping them cost a
    refetch that the sender would not answer (a peer serves an item once per
    connection): block sync then stalled until another peer was asked.
    """

    def __init__(self, count: int = AWAITING_HEADER_BLOCKS,
                 size: int = AWAITING_HEADER_BYTES) -> None:
        self._count = count
        self._size = size
        self._blocks: dict[UInt256, tuple[IPeer, Block]] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._blocks)

    def keep(self, peer: IPeer, block: Block) -> None:
        """
        Keep C{block} from C{peer}; the oldest go when the bounds are passed.
        """
        if block.hash in self._blocks or block.size > self._size:
            return
        self._blocks[block.hash] = (peer, block)
        self._bytes += block.size
        while len(self._blocks) > self._count or self._bytes > self._size:
            _, (_, oldest) = next(iter(self._blocks.items()))
            self._forget(oldest.hash)

    def ready(self, block_height: int, verified_height: int) -> list[tuple[IPeer, Block]]:
        """
        The blocks whose height is now verified, taken out; those stored already dropped.
        """
        out = []
        for hash_, (peer, block) in list(self._blocks.items()):
            if block.index <= block_height:
                self._forget(hash_)
            elif block.index <= verified_height:
                self._forget(hash_)
                out.append((peer, block))
        return out

    def _forget(self, hash_: UInt256) -> None:
        _, block = self._blocks.pop(hash_)
        self._bytes -= block.size
