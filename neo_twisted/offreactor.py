# -*- test-case-name: tests.unit.test_offreactor -*-
"""
Work run off the reactor, and results that come back to it: one way for each.

L{OffReactor} owns one named Twisted L{ThreadPool} (the threads' names show in
profiles and C{py-spy}) with a start and a stop, and runs a function there for a
Deferred fired on the reactor. The ledger, the memory pool and the payload decoder
each own theirs, made by a L{RunnerFactory}; tests hand them L{Synchronous}
instead, which runs the work at once on the calling thread, so a test sees every
result without turning a reactor (as Tahoe-LAFS's CPU pool does in its tests).

L{deferred_from_future} is the one bridge from a C{concurrent.futures.Future}
(the verifier processes' answers) to a Deferred fired on the reactor.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import ParamSpec, Protocol, TypeVar

from twisted.internet import defer, threads
from twisted.internet.interfaces import IReactorFromThreads
from twisted.python.threadpool import ThreadPool

from neo_twisted.reactors import or_global

__all__ = ["NotRunningError", "OffReactor", "Runner", "RunnerFactory", "Synchronous",
           "deferred_from_future", "threads_on"]

P = ParamSpec("P")
T = TypeVar("T")


class NotRunningError(RuntimeError):
    """
    Work was handed to a runner not started yet, or stopped.
    """


class Runner(Protocol):
    """
    Runs functions off the reactor, between its L{start} and its L{stop}.
    """

    @property
    def name(self) -> str: ...

    @property
    def running(self) -> bool:
        """
        Whether work handed over now will run.
        """

    def start(self) -> None: ...

    def stop(self) -> defer.Deferred[None]:
        """
        Take no more work; fires once the work handed over is done.
        """

    def run(self, function: Callable[P, T], /, *args: P.args,
            **kwargs: P.kwargs) -> defer.Deferred[T]:
        """
        C{function(*args, **kwargs)} off the reactor; its result or exception comes
        back on the reactor. Fails with L{NotRunningError} when not running.
        """


class RunnerFactory(Protocol):
    """
    Makes the runner a service owns: C{name} for its threads, at most C{threads} of
    them, C{min_threads} kept from the start.
    """

    def __call__(self, name: str, threads: int, min_threads: int = 0) -> Runner: ...


class OffReactor:
    """
    A named thread pool: the one way the node runs work off the reactor.
    """

    def __init__(self, name: str, threads: int, min_threads: int = 0,
                 reactor: IReactorFromThreads | None = None) -> None:
        """
        @param threads: the most threads working at once.
        @param min_threads: threads started with the pool and kept while it runs.
        @param reactor: where results are handed back (default: the global reactor).
        """
        if threads < 1 or not 0 <= min_threads <= threads:
            raise ValueError(f"{name}: {min_threads} to {threads} threads is no pool")
        self.name = name
        self.threads = threads
        self.min_threads = min_threads
        self._reactor = reactor
        self._pool: ThreadPool | None = None
        #: Work handed to the threads and not back yet.
        self._pending = 0
        #: Pools told to stop, stopped once no work is pending; and who waits for that.
        self._retiring: list[ThreadPool] = []
        self._when_stopped: list[defer.Deferred[None]] = []

    @property
    def running(self) -> bool:
        return self._pool is not None

    def start(self) -> None:
        """
        Start the threads.

        @raise RuntimeError: already running.
        """
        if self._pool is not None:
            raise RuntimeError(f"{self.name} is running already")
        self._pool = ThreadPool(minthreads=self.min_threads, maxthreads=self.threads,
                                name=self.name)
        self._pool.start()

    def stop(self) -> defer.Deferred[None]:
        """
        Take no more work at once; stop the threads once the work under way is back,
        so that the reactor never waits for a thread to finish (fires then).
        """
        if self._pool is not None:
            self._retiring.append(self._pool)
            self._pool = None
        if not self._retiring:
            return defer.succeed(None)
        stopped: defer.Deferred[None] = defer.Deferred()
        self._when_stopped.append(stopped)
        self._retire_if_idle()
        return stopped

    def run(self, function: Callable[P, T], /, *args: P.args,
            **kwargs: P.kwargs) -> defer.Deferred[T]:
        pool = self._pool
        if pool is None:
            return defer.fail(NotRunningError(f"{self.name} is not running"))
        self._pending += 1
        result = threads.deferToThreadPool(or_global(self._reactor), pool, function, *args,
                                           **kwargs)
        return result.addBoth(self._back)

    def _back(self, result: T) -> T:
        self._pending -= 1
        self._retire_if_idle()
        return result

    def _retire_if_idle(self) -> None:
        if self._pending or not self._retiring:
            return
        retiring, self._retiring = self._retiring, []
        for pool in retiring:
            pool.stop()  # its threads are idle: they end at once
        stopped, self._when_stopped = self._when_stopped, []
        for waiting in stopped:
            waiting.callback(None)


class Synchronous:
    """
    A L{Runner} that runs the work at once on the calling thread, for tests and
    tools. It is itself a L{RunnerFactory}: tests hand the class to a service.
    """

    def __init__(self, name: str = "synchronous", threads: int = 1,
                 min_threads: int = 0) -> None:
        self.name = name
        self.running = False

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is running already")
        self.running = True

    def stop(self) -> defer.Deferred[None]:
        self.running = False
        return defer.succeed(None)

    def run(self, function: Callable[P, T], /, *args: P.args,
            **kwargs: P.kwargs) -> defer.Deferred[T]:
        if not self.running:
            return defer.fail(NotRunningError(f"{self.name} is not running"))
        return defer.maybeDeferred(function, *args, **kwargs)


def threads_on(reactor: IReactorFromThreads | None = None) -> RunnerFactory:
    """
    The factory of L{OffReactor}s handing results back to C{reactor} (default: the
    global one).
    """
    def make(name: str, threads: int, min_threads: int = 0) -> Runner:
        return OffReactor(name, threads, min_threads, reactor)

    return make


def deferred_from_future(future: Future[T],
                         reactor: IReactorFromThreads | None = None) -> defer.Deferred[T]:
    """
    A Deferred fired on the reactor thread with C{future}'s result or exception; it
    fails with L{concurrent.futures.CancelledError} if the future is cancelled, and
    cancelling it cancels the future (if that has not started).

    @param reactor: the reactor to fire on (default: the global one).
    """
    target = or_global(reactor)

    def cancel(_: defer.Deferred[T]) -> None:
        future.cancel()  # refused once it runs: it then ends as it will, unheard

    result: defer.Deferred[T] = defer.Deferred(cancel)

    def fire(done: Future[T]) -> None:
        if result.called:  # cancelled from our side, and failed then
            return
        if done.cancelled():
            result.errback(CancelledError())
            return
        error = done.exception()
        if error is not None:
            result.errback(error)
        else:
            result.callback(done.result())

    future.add_done_callback(lambda done: target.callFromThread(fire, done))
    return result
