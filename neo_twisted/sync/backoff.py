# -*- test-case-name: tests.unit.test_sync_gate -*-
"""
Back-off per address: a peer that left a request unanswered is not asked again
for a while, and for longer each time it does it again.

A peer that claims a great height and never answers C{getheaders} would
otherwise be asked again as soon as it reconnects (a new connection is a new
peer): the address, not the connection, is what is remembered.
"""

from __future__ import annotations

from collections.abc import Hashable

import attrs
from twisted.internet.interfaces import IReactorTime

#: The first pause after an unanswered request (seconds); it doubles on each failure.
FIRST_BACKOFF = 30.0
#: The longest pause.
MAX_BACKOFF = 600.0
#: Addresses remembered at most; the one whose pause ends first is forgotten first.
MAX_ADDRESSES = 10_000


@attrs.define
class _Entry:
    #: When the address may be asked again.
    until: float
    #: The pause it got last time.
    delay: float


class Backoff:
    """
    When each address may be asked again; see the module docstring.
    """

    def __init__(self, clock: IReactorTime, first: float = FIRST_BACKOFF,
                 most: float = MAX_BACKOFF, capacity: int = MAX_ADDRESSES) -> None:
        self._clock = clock
        self._first = first
        self._most = most
        self._capacity = capacity
        self._entries: dict[Hashable, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def failed(self, address: Hashable) -> float:
        """
        C{address} left a request unanswered: pause it, twice as long as last time
        (when that pause is recent). Returns the pause, in seconds.
        """
        now = self._clock.seconds()
        entry = self._entries.pop(address, None)
        # a failure long after the last pause ended starts again from the first
        if entry is None or now > entry.until + self._most:
            delay = self._first
        else:
            delay = min(entry.delay * 2, self._most)
        self._entries[address] = _Entry(now + delay, delay)
        if len(self._entries) > self._capacity:
            oldest = min(self._entries, key=lambda a: self._entries[a].until)
            del self._entries[oldest]
        return delay

    def succeeded(self, address: Hashable) -> None:
        """
        C{address} answered: its next failure pauses it for the first pause only.
        """
        self._entries.pop(address, None)

    def waiting(self, address: Hashable) -> bool:
        """
        Whether C{address} is still paused.
        """
        entry = self._entries.get(address)
        return entry is not None and self._clock.seconds() < entry.until
