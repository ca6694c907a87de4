# -*- test-case-name: tests.unit.test_verifier_service,tests.unit.test_ledger_service -*-
"""
Counting who still uses a resource that a stopping service would otherwise close.

A L{twisted.application.service.MultiService} stops its children all at once, so a
service whose resource others use (the ledger's store, the verifier processes)
cannot rely on the order of the stops: its users hold it while they run, and its
stop waits until the last has let go.
"""

from __future__ import annotations

from twisted.internet import defer

__all__ = ["Holders"]


class Holders:
    """
    The users holding one resource now, and who waits for them all to let go.
    """

    def __init__(self, what: str) -> None:
        """
        @param what: the resource, for the error of a release nobody held.
        """
        self._what = what
        self.count = 0
        self._waiting: list[defer.Deferred[None]] = []

    def hold(self) -> None:
        self.count += 1

    def release(self) -> None:
        """
        @raise RuntimeError: nobody holds it.
        """
        if self.count == 0:
            raise RuntimeError(f"{self._what} released more than held")
        self.count -= 1
        if self.count == 0:
            waiting, self._waiting = self._waiting, []
            for d in waiting:
                d.callback(None)

    def all_released(self) -> defer.Deferred[None]:
        """
        Fires once nobody holds the resource (at once if nobody does now).
        """
        if self.count == 0:
            return defer.succeed(None)
        d: defer.Deferred[None] = defer.Deferred()
        self._waiting.append(d)
        return d
