"""
Stand-ins for an off-reactor runner (L{neo_twisted.offreactor.Runner}) that hold each
job until the test runs it; each is also its own factory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from twisted.internet import defer

P = ParamSpec("P")
T = TypeVar("T")


class ManualRunner:
    """
    A L{neo_twisted.offreactor.Runner} whose calls wait until the test lets them run;
    also the factory of every runner of a service (all of them are this one).
    """

    name = "manual"

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., Any], tuple[Any, ...], defer.Deferred[Any]]] = []
        self.running = False

    def __call__(self, name: str, threads: int, min_threads: int = 0) -> ManualRunner:
        return self

    def start(self) -> None:
        self.running = True

    def stop(self) -> defer.Deferred[None]:
        self.running = False
        return defer.succeed(None)

    def run(self, function: Callable[P, T], /, *args: P.args,
            **kwargs: P.kwargs) -> defer.Deferred[T]:
        assert not kwargs, "the services hand no keyword arguments to their threads"
        waiting: defer.Deferred[T] = defer.Deferred()
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


class Deferring(ManualRunner):
    """
    A L{ManualRunner} that, not C{holding}, runs every job at once instead.
    """

    name = "deferring"

    def __init__(self, holding: bool = True) -> None:
        super().__init__()
        self.holding = holding

    @property
    def jobs(self) -> list[tuple[Callable[..., Any], tuple[Any, ...], defer.Deferred[Any]]]:
        return self.calls

    def run(self, function: Callable[P, T], /, *args: P.args,
            **kwargs: P.kwargs) -> defer.Deferred[T]:
        if not self.holding:
            return defer.maybeDeferred(function, *args, **kwargs)
        return super().run(function, *args, **kwargs)

    def run_all(self) -> None:
        while self.calls:
            self.run_next()
