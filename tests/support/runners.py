"""
Stand-ins for C{run_in_thread} that hold each job until the test runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer


class ManualRunner:
    """
    A C{run_in_thread} whose calls wait until the test lets them run.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[Any, tuple[Any, ...], defer.Deferred[Any]]] = []

    def __call__(self, function: Any, *args: Any) -> defer.Deferred[Any]:
        waiting: defer.Deferred[Any] = defer.Deferred()
        self.calls.append((function, args, waiting))
        return waiting

    def run_next(self) -> None:
        """
        Run the oldest call; its exception fails its Deferred, as in a thread pool.
        """
        function, args, waiting = self.calls.pop(0)
        try:
            result = function(*args)
        except Exception:
            waiting.errback()
        else:
            waiting.callback(result)


class Deferring:
    """
    A C{run_in_thread} that holds every job until the test runs it.
    """

    def __init__(self) -> None:
        self.jobs: list[tuple[Callable[..., Any], tuple[Any, ...], defer.Deferred[Any]]] = []

    def __call__(self, function: Callable[..., Any], *args: Any) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = defer.Deferred()
        self.jobs.append((function, args, d))
        return d

    def run_all(self) -> None:
        while self.jobs:
            function, args, d = self.jobs.pop(0)
            d.callback(function(*args))
