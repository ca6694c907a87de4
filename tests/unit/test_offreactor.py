"""
Tests for L{neo_twisted.offreactor}: the one way to run work off the reactor (a
named thread pool, or at once in tests) and the one bridge from a future.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorFromThreads
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import implementer

from neo_twisted.offreactor import (
    NotRunningError,
    OffReactor,
    Runner,
    RunnerFactory,
    Synchronous,
    deferred_from_future,
    threads_on,
)
from neo_twisted.reactors import global_reactor


class WorkError(Exception):
    pass


def fail() -> None:
    raise WorkError("from the work")


def current_thread() -> threading.Thread:
    return threading.current_thread()


def subtract(a: int, b: int = 0) -> int:
    return a - b


class OffReactorTests(TestCase):
    """
    The real thread pool: work runs on its named threads, results come back on the
    reactor thread.
    """

    def runner(self, threads: int = 2) -> OffReactor:
        runner = OffReactor("test-pool", threads)
        runner.start()
        self.addCleanup(runner.stop)
        return runner

    @defer.inlineCallbacks
    def test_runs_in_a_named_thread(self) -> Any:
        """
        The work runs on a thread named after the pool, not the reactor's; its result
        comes back on the reactor thread.
        """
        came_back: list[threading.Thread] = []

        def back(thread: threading.Thread) -> threading.Thread:
            came_back.append(threading.current_thread())
            return thread

        thread = yield self.runner().run(current_thread).addCallback(back)
        self.assertRegex(thread.name, r"^PoolThread-test-pool-\d+$")
        self.assertIsNot(thread, threading.current_thread())
        self.assertEqual(came_back, [threading.current_thread()])

    @defer.inlineCallbacks
    def test_arguments(self) -> Any:
        result = yield self.runner().run(subtract, 7, b=2)
        self.assertEqual(result, 5)

    def test_exception_fails_the_deferred(self) -> Any:
        return self.assertFailure(self.runner().run(fail), WorkError)

    def test_not_started(self) -> None:
        """
        Work handed to a pool not started fails at once, without a thread.
        """
        runner = OffReactor("idle", 1)
        self.assertFalse(runner.running)
        self.failureResultOf(runner.run(current_thread), NotRunningError)

    def test_stopped(self) -> None:
        """
        Once stopped (with nothing under way: at once), it takes no more work.
        """
        runner = self.runner()
        self.successResultOf(runner.stop())
        self.assertFalse(runner.running)
        self.failureResultOf(runner.run(current_thread), NotRunningError)
        self.successResultOf(runner.stop())  # stopping twice is harmless

    def test_started_twice(self) -> None:
        runner = self.runner()
        self.assertRaises(RuntimeError, runner.start)

    def test_restart(self) -> Any:
        """
        A stopped pool starts again with new threads.
        """
        runner = self.runner()
        self.successResultOf(runner.stop())
        runner.start()
        return runner.run(lambda: 3).addCallback(self.assertEqual, 3)

    def test_bad_sizes(self) -> None:
        self.assertRaises(ValueError, OffReactor, "none", 0)
        self.assertRaises(ValueError, OffReactor, "more kept than allowed", 1, 2)

    @defer.inlineCallbacks
    def test_stop_waits_for_work_under_way(self) -> Any:
        """
        Stopping refuses new work at once, lets the work under way finish without
        blocking the reactor, and fires after its result came back.
        """
        runner = self.runner(threads=1)
        started, release = threading.Event(), threading.Event()

        def slow() -> str:
            started.set()
            release.wait(30)
            return "done"

        under_way = runner.run(slow)
        self.assertTrue(started.wait(30))
        stopping = runner.stop()
        again = runner.stop()
        self.assertFalse(runner.running)
        self.failureResultOf(runner.run(current_thread), NotRunningError)
        self.assertNoResult(stopping)
        self.assertNoResult(again)
        release.set()
        self.assertEqual((yield under_way), "done")
        yield stopping
        yield again

    @defer.inlineCallbacks
    def test_restarted_while_stopping(self) -> Any:
        """
        Started again while its old threads finish their work, then stopped: both
        sets of threads end, once all the work is back.
        """
        runner = OffReactor("restarted-pool", 1)
        runner.start()
        started, release = threading.Event(), threading.Event()

        def slow() -> str:
            started.set()
            release.wait(30)
            return "old"

        old = runner.run(slow)
        self.assertTrue(started.wait(30))
        first_stop = runner.stop()
        runner.start()
        self.assertEqual((yield runner.run(lambda: "new")), "new")
        second_stop = runner.stop()
        self.assertNoResult(first_stop)
        self.assertNoResult(second_stop)
        release.set()
        self.assertEqual((yield old), "old")
        yield defer.gatherResults([first_stop, second_stop])
        self.assertEqual([thread.name for thread in threading.enumerate()
                          if "restarted-pool" in thread.name], [])

    @defer.inlineCallbacks
    def test_threads_on(self) -> Any:
        """
        L{threads_on} makes pools of the name and size asked, handing back to the
        reactor given.
        """
        factory: RunnerFactory = threads_on(global_reactor())
        runner = factory("made", 3, 1)
        assert isinstance(runner, OffReactor)
        self.assertEqual((runner.name, runner.threads, runner.min_threads), ("made", 3, 1))
        runner.start()
        try:
            thread = yield runner.run(current_thread)
        finally:
            yield runner.stop()
        self.assertRegex(thread.name, r"^PoolThread-made-\d+$")


class SynchronousTests(SynchronousTestCase):
    """
    The stand-in tests hand to services: the work runs at once, on the caller's thread.
    """

    def test_runs_at_once_on_the_calling_thread(self) -> None:
        runner = Synchronous()
        runner.start()
        self.assertIs(self.successResultOf(runner.run(current_thread)),
                      threading.current_thread())
        self.assertEqual(self.successResultOf(runner.run(subtract, 7, b=2)), 5)

    def test_exception_fails_the_deferred(self) -> None:
        runner = Synchronous()
        runner.start()
        self.failureResultOf(runner.run(fail), WorkError)

    def test_not_started_and_stopped(self) -> None:
        """
        As a pool, it runs nothing before its start or after its stop.
        """
        runner = Synchronous()
        ran: list[int] = []
        self.failureResultOf(runner.run(ran.append, 1), NotRunningError)
        runner.start()
        self.assertRaises(RuntimeError, runner.start)
        self.successResultOf(runner.stop())
        self.failureResultOf(runner.run(ran.append, 2), NotRunningError)
        self.assertEqual(ran, [])

    def test_is_a_factory(self) -> None:
        """
        The class is the factory a service takes: one runner per name asked.
        """
        factory: RunnerFactory = Synchronous
        first, second = factory("first", 4, 1), factory("second", 1)
        self.assertIsNot(first, second)
        self.assertEqual((first.name, second.name), ("first", "second"))
        runners: list[Runner] = [first, second]
        self.assertEqual([runner.running for runner in runners], [False, False])


@implementer(IReactorFromThreads)
class HandOver:
    """
    A reactor that keeps what other threads hand it until the test runs it.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., Any], tuple[object, ...]]] = []

    def callFromThread(self, callable: Callable[..., Any], *args: object,
                       **kwargs: object) -> None:
        assert not kwargs
        self.calls.append((callable, args))

    def run_calls(self) -> None:
        while self.calls:
            callable, args = self.calls.pop(0)
            callable(*args)


class FutureBridgeTests(SynchronousTestCase):
    """
    L{deferred_from_future}: a future's outcome comes to the reactor thread.
    """

    def setUp(self) -> None:
        self.reactor = HandOver()
        self.future: Future[int] = Future()
        self.bridged = deferred_from_future(self.future, self.reactor)

    def test_result(self) -> None:
        """
        The result is handed to the reactor, and fires there, not in the future's thread.
        """
        self.future.set_result(5)
        self.assertNoResult(self.bridged)
        self.assertEqual(len(self.reactor.calls), 1)
        self.reactor.run_calls()
        self.assertEqual(self.successResultOf(self.bridged), 5)

    def test_done_already(self) -> None:
        """
        A future done before it is bridged still fires through the reactor.
        """
        done: Future[int] = Future()
        done.set_result(8)
        bridged = deferred_from_future(done, self.reactor)
        self.assertNoResult(bridged)
        self.reactor.run_calls()
        self.assertEqual(self.successResultOf(bridged), 8)

    def test_exception(self) -> None:
        self.future.set_exception(WorkError("in the worker"))
        self.reactor.run_calls()
        self.failureResultOf(self.bridged, WorkError)

    def test_future_cancelled(self) -> None:
        """
        A future cancelled by its owner (the verifier processes stopping) fails the
        Deferred with C{concurrent.futures.CancelledError}.
        """
        self.assertTrue(self.future.cancel())
        self.reactor.run_calls()
        self.failureResultOf(self.bridged, CancelledError)

    def test_deferred_cancelled(self) -> None:
        """
        Cancelling the Deferred cancels a future not started yet; the future's end,
        handed over later, changes nothing.
        """
        self.bridged.cancel()
        self.failureResultOf(self.bridged, defer.CancelledError)
        self.assertTrue(self.future.cancelled())
        self.reactor.run_calls()  # the cancelled future's own report: ignored

    def test_deferred_cancelled_while_running(self) -> None:
        """
        A future already running cannot be cancelled: the Deferred fails at once, and
        the result that comes later is dropped.
        """
        self.assertTrue(self.future.set_running_or_notify_cancel())
        self.bridged.cancel()
        self.failureResultOf(self.bridged, defer.CancelledError)
        self.future.set_result(1)
        self.reactor.run_calls()
        self.assertFalse(self.future.cancelled())


class FutureBridgeThreadTests(TestCase):
    """
    With the real reactor, a future finished in another thread.
    """

    @defer.inlineCallbacks
    def test_from_another_thread(self) -> Any:
        future: Future[threading.Thread] = Future()
        bridged = deferred_from_future(future, global_reactor())
        fired_on: list[threading.Thread] = []

        def fired(worker: threading.Thread) -> threading.Thread:
            fired_on.append(threading.current_thread())
            return worker

        bridged.addCallback(fired)
        worker = threading.Thread(target=lambda: future.set_result(threading.current_thread()),
                                  name="bridge-test")
        worker.start()
        worker.join(30)
        self.assertEqual((yield bridged).name, "bridge-test")
        self.assertEqual(fired_on, [threading.current_thread()])
