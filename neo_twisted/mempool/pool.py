# -*- test-case-name: tests.unit.test_mempool_pool -*-
"""
The pool itself: verified transactions by hash, and the rules that need the pool.

A plain data structure with no I/O and no threads: the service
(L{neo_twisted.mempool.service}) verifies a transaction against the chain in
its threads, then adds it here on the reactor thread, where the checks that
depend on the other pool transactions run (inputs or claims they already
use, quantities they already issue), so concurrent verifications can never
both get in.

The pool is bounded in transactions and in bytes (a pool of 50,000 transactions
of 100 KB would be 5 GB). When it is full, low-priority transactions leave
first, then the lowest network fee per byte (then the lowest fee, then the
lowest hash, as the 2.8 reference node orders them), for a newcomer that ranks
higher; one that ranks no higher is refused.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping

import attrs

from neo_twisted.core.block import Block
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import ClaimTransaction
from neo_twisted.mempool.outcome import ACCEPTED, Outcome, Refusal, refused
from neo_twisted.wire.uint import UInt256

#: C{new MemoryPool(50_000)}.
DEFAULT_CAPACITY = 50_000
#: Ours: the pool's transactions take at most this many bytes (serialized).
DEFAULT_CAPACITY_BYTES = 256 * 1024 * 1024

#: An output as the pool indexes it: the previous txid and the index (C{CoinReference}).
Coin = tuple[bytes, int]
#: Eviction order: lowest first (high priority, fee per byte, fee, hash as a
#: little-endian number).
_Rank = tuple[bool, int, int, int]


@attrs.frozen
class PoolEntry:
    """
    One pooled transaction and what its verification found out about it.

    @ivar network_fee: raw Fixed8 GAS left to the validators.
    @ivar issues: for an C{IssueTransaction}, per limited asset, (amount issued by
        it, what the chain still allowed when it was verified).
    @ivar low_priority: its network fee is below C{LowPriorityThreshold} (see
        L{neo_twisted.mempool.policy.is_low_priority}).
    """

    tx: Transaction
    size: int
    network_fee: int
    issues: Mapping[UInt256, tuple[int, int]] = attrs.field(factory=dict)
    low_priority: bool = False

    @property
    def rank(self) -> _Rank:
        return (not self.low_priority, self.network_fee // self.size, self.network_fee,
                int.from_bytes(self.tx.hash, "little"))


class MemoryPool:
    """
    Up to C{capacity} verified transactions taking up to C{capacity_bytes}, in
    arrival order.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY,
                 capacity_bytes: int = DEFAULT_CAPACITY_BYTES) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        if capacity_bytes < 1:
            raise ValueError(f"capacity_bytes must be positive, got {capacity_bytes}")
        self.capacity = capacity
        self.capacity_bytes = capacity_bytes
        #: The serialized size of the pool's transactions.
        self.bytes = 0
        self._entries: dict[UInt256, PoolEntry] = {}
        #: Which pool transaction spends each output, and which claims each spent NEO output.
        self._spenders: dict[Coin, UInt256] = {}
        self._claimers: dict[Coin, UInt256] = {}
        #: Per asset, the amount the pool's IssueTransactions issue.
        self._issuing: dict[UInt256, int] = {}
        #: Min-heap of (rank, txid); entries of removed transactions are skipped lazily.
        self._ranks: list[tuple[_Rank, UInt256]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, txid: object) -> bool:
        return txid in self._entries

    def __iter__(self) -> Iterator[PoolEntry]:
        return iter(list(self._entries.values()))

    def get(self, txid: bytes) -> Transaction | None:
        entry = self._entries.get(txid)  # type: ignore[call-overload]
        return None if entry is None else entry.tx

    def entry(self, txid: bytes) -> PoolEntry | None:
        entry: PoolEntry | None = self._entries.get(txid)  # type: ignore[call-overload]
        return entry

    def txids(self) -> list[UInt256]:
        return list(self._entries)

    # -- the rules that need the pool ------------------------------------------------------

    def conflict(self, tx: Transaction) -> str | None:
        """
        Why C{tx} cannot join the pool's transactions (a shared input or claim), or None.
        """
        spenders = self._spenders
        for ref in tx.inputs:
            other = spenders.get((ref.prev_hash, ref.prev_index))
            if other is not None and other != tx.hash:
                return (f"input {ref.prev_hash}:{ref.prev_index} is already spent by "
                        f"pool transaction {other}")
        if isinstance(tx, ClaimTransaction):
            for claim in tx.claims:
                other = self._claimers.get((claim.prev_hash, claim.prev_index))
                if other is not None and other != tx.hash:
                    return (f"claim {claim.prev_hash}:{claim.prev_index} is already claimed "
                            f"by pool transaction {other}")
        return None

    def _issue_problem(self, issues: Mapping[UInt256, tuple[int, int]]) -> str | None:
        for asset_id, (issued, allowed) in issues.items():
            pooled = self._issuing.get(asset_id, 0)
            if pooled + issued > allowed:
                return (f"issuing {issued} of asset {asset_id} exceeds what is left "
                        f"({allowed}, of which the pool already issues {pooled})")
        return None

    # -- adding and removing -------------------------------------------------------------

    def add(self, entry: PoolEntry) -> tuple[Outcome, list[PoolEntry]]:
        """
        Add a transaction verified against the chain; returns the outcome and the
        entries evicted to make room for it.
        """
        tx = entry.tx
        if tx.hash in self._entries:
            return refused(Refusal.ALREADY_EXISTS, f"transaction {tx.hash} is in the pool"), []
        problem = self.conflict(tx) or self._issue_problem(entry.issues)
        if problem is not None:
            return refused(Refusal.INVALID, problem), []
        if entry.size > self.capacity_bytes:
            return refused(Refusal.OUT_OF_MEMORY, f"the transaction's {entry.size} bytes "
                                                  f"exceed the pool's {self.capacity_bytes}"), []
        # who would leave, lowest first; strictly higher in rank without the hash: a hash
        # alone never evicts, or free transactions could push each other out at will
        leaving: list[PoolEntry] = []
        count, size = len(self._entries), self.bytes
        lowest_first = self._lowest_first()
        while count >= self.capacity or size + entry.size > self.capacity_bytes:
            lowest = next(lowest_first, None)
            if lowest is None or lowest.rank[:3] >= entry.rank[:3]:
                return refused(Refusal.OUT_OF_MEMORY,
                               f"the pool holds {len(self._entries)} transactions "
                               f"({self.bytes} bytes) and this one ranks no higher than "
                               "those it would push out"), []
            leaving.append(lowest)
            count, size = count - 1, size - lowest.size
        for lowest in leaving:
            self.remove(lowest.tx.hash)
        self._insert(entry)
        return ACCEPTED, leaving

    def _insert(self, entry: PoolEntry) -> None:
        tx = entry.tx
        txid = tx.hash
        self._entries[txid] = entry
        self.bytes += entry.size
        for ref in tx.inputs:
            self._spenders[(ref.prev_hash, ref.prev_index)] = txid
        if isinstance(tx, ClaimTransaction):
            for claim in tx.claims:
                self._claimers[(claim.prev_hash, claim.prev_index)] = txid
        for asset_id, (issued, _) in entry.issues.items():
            self._issuing[asset_id] = self._issuing.get(asset_id, 0) + issued
        heapq.heappush(self._ranks, (entry.rank, txid))

    def _lowest_first(self) -> Iterator[PoolEntry]:
        """
        The pool's entries, lowest rank first, walking the heap as a tree so that the
        k lowest cost O(k log k) (usually one or two are wanted).
        """
        ranks = self._ranks
        frontier = [(ranks[0], 0)] if ranks else []
        seen: set[UInt256] = set()
        while frontier:
            (_, txid), i = heapq.heappop(frontier)
            for child in (2 * i + 1, 2 * i + 2):
                if child < len(ranks):
                    heapq.heappush(frontier, (ranks[child], child))
            entry = self._entries.get(txid)
            if entry is not None and txid not in seen:  # else removed (or added again) since
                seen.add(txid)
                yield entry

    def remove(self, txid: bytes) -> PoolEntry | None:
        entry: PoolEntry | None = self._entries.pop(txid, None)  # type: ignore[call-overload]
        if entry is None:
            return None
        self.bytes -= entry.size
        tx = entry.tx
        for ref in tx.inputs:
            coin = (ref.prev_hash, ref.prev_index)
            if self._spenders.get(coin) == txid:
                del self._spenders[coin]
        if isinstance(tx, ClaimTransaction):
            for claim in tx.claims:
                coin = (claim.prev_hash, claim.prev_index)
                if self._claimers.get(coin) == txid:
                    del self._claimers[coin]
        for asset_id, (issued, _) in entry.issues.items():
            left = self._issuing.get(asset_id, 0) - issued
            if left > 0:
                self._issuing[asset_id] = left
            else:
                self._issuing.pop(asset_id, None)
        if len(self._ranks) > 2 * len(self._entries) + 64:  # keep the lazy heap bounded
            self._ranks = [(rank, h) for rank, h in self._ranks if h in self._entries]
            heapq.heapify(self._ranks)
        return entry

    def remove_for_block(self, block: Block) -> list[PoolEntry]:
        """
        A block was persisted: its transactions leave the pool, and so do the pool
        transactions that spend or claim what it spent or claimed.
        """
        removed = []
        for tx in block.transactions:
            entry = self.remove(tx.hash)
            if entry is not None:
                removed.append(entry)
        for coin, claimed in _used_coins(block.transactions):
            other = (self._claimers if claimed else self._spenders).get(coin)
            if other is not None:
                entry = self.remove(other)
                if entry is not None:
                    removed.append(entry)
        return removed


def _used_coins(txs: Iterable[Transaction]) -> Iterator[tuple[Coin, bool]]:
    """
    The outputs C{txs} spend (False) and the NEO outputs they claim (True).
    """
    for tx in txs:
        for ref in tx.inputs:
            yield (ref.prev_hash, ref.prev_index), False
        if isinstance(tx, ClaimTransaction):
            for claim in tx.claims:
                yield (claim.prev_hash, claim.prev_index), True

