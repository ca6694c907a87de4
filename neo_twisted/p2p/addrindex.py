# -*- test-case-name: tests.unit.test_p2p_addrbook,tests.unit.test_p2p_addresses -*-
"""
The indexes inside L{neo_twisted.p2p.addresses.AddressBook}: what it keeps per
endpoint and the counts it updates on every change, so that no operation of the book
walks it (an C{addr} of 200 costs 200 steps however full the book is).

Only the book uses these; they trust it and check nothing it never does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Generic, TypeVar

import attrs

from neo_twisted.p2p.interfaces import Endpoint

__all__ = ["Bag", "Entry", "Shelf", "Tally"]

_T = TypeVar("_T")


class Bag(Generic[_T]):
    """
    A set with O(1) add, discard and random choice: a list and each item's place in it.

    Exists because the book draws random candidates and victims: C{random.choice} on a
    set needs a list of it first, which is a walk of the whole book.
    """

    __slots__ = ("_items", "_where")

    def __init__(self) -> None:
        self._items: list[_T] = []
        self._where: dict[_T, int] = {}

    def add(self, item: _T) -> None:
        """
        Add an C{item} not in the bag (the book never adds one twice: not checked).
        """
        self._where[item] = len(self._items)
        self._items.append(item)

    def discard(self, item: _T) -> None:
        index = self._where.pop(item, None)
        if index is None:
            return
        last = self._items.pop()
        if index < len(self._items):
            self._items[index] = last
            self._where[last] = index

    def choice(self, rng: random.Random) -> _T:
        return self._items[rng.randrange(len(self._items))]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[_T]:
        return iter(self._items)


class Tally:
    """
    Entries per group and the largest group (count C{top}), in O(1): a count only moves
    by one, so groups are also filed by count (in insertion order: repeatable ties).

    Exists because a full book evicts from its largest source group on every newcomer:
    finding that group must not be a walk over all groups.
    """

    __slots__ = ("_by_count", "_counts", "top")

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._by_count: dict[int, dict[str, None]] = {}
        self.top = 0

    def __getitem__(self, group: str) -> int:
        return self._counts.get(group, 0)

    def add(self, group: str, step: int) -> None:
        """
        Count one more (C{step} 1) or one fewer (C{step} -1) entry in C{group}.
        """
        old = self._counts.get(group, 0)
        new = old + step
        if old:
            bucket = self._by_count[old]
            del bucket[group]
            if not bucket:
                del self._by_count[old]
        if new:
            self._by_count.setdefault(new, {})[group] = None
            self._counts[group] = new
        else:
            del self._counts[group]
        if new > self.top or (old == self.top and old not in self._by_count):
            self.top = new

    def largest(self) -> str | None:
        bucket = self._by_count.get(self.top)
        return next(iter(bucket)) if bucket else None


@attrs.define(eq=False)
class Entry:
    """
    What the book remembers of one C{endpoint}: its normalised C{host} (the key of
    bans), C{source} and address C{group}, its back-off, whether it ever C{worked},
    whether it is C{idle} (counted and offered) and then C{ready} or waiting on the heap
    (under its latest C{ticket}). Compared and hashed by identity: the indexes hold
    entries, which hash in C, not endpoints (attrs hashes in Python).

    Mutable, unlike most plain data here: the book changes an entry in place as its
    endpoint fails, connects and comes back, and every index holds the same object.
    """

    endpoint: Endpoint
    host: str
    source: str
    group: str
    failures: int = 0
    retry_at: float = 0.0
    worked: bool = False
    idle: bool = False
    ready: bool = False
    ticket: int = 0


class Shelf:
    """
    One source group's idle endpoints: those that failed last, never tried, worked.

    Exists so that eviction from a group prefers the endpoints least likely to be
    honest nodes (failed or untried) without looking at each one.
    """

    __slots__ = ("failed", "fresh", "proven")

    def __init__(self) -> None:
        self.failed: Bag[Entry] = Bag()
        self.fresh: Bag[Entry] = Bag()
        self.proven: Bag[Entry] = Bag()

    def of(self, entry: Entry) -> Bag[Entry]:
        """
        The bag C{entry} belongs in, as its failures and history now stand.
        """
        if entry.failures:
            return self.failed
        return self.proven if entry.worked else self.fresh

    def weakest(self, rng: random.Random) -> Entry:
        """
        A random entry that failed or was never tried, or else any one.
        """
        failed, fresh = self.failed._items, self.fresh._items
        if not failed and not fresh:
            return self.proven.choice(rng)
        index = rng.randrange(len(failed) + len(fresh))
        return failed[index] if index < len(failed) else fresh[index - len(failed)]
