# -*- test-case-name: tests.test_ledger_service -*-
"""
The ledger as a Twisted service: chain work off the reactor thread, applied in order.

Every call that touches the chain runs in the service's own L{ThreadPool}
(through one helper, C{run_in_thread}, that tests replace with a synchronous
one), and writes are serialized with a L{DeferredLock} so that batches are
applied in the order they were handed in. Header witnesses inside a batch are
checked in parallel by a L{ThreadedMapper}.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from twisted.application import service
from twisted.internet import defer, threads
from twisted.internet.interfaces import IReactorFromThreads
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from neo_twisted.core.block import Block, Header
from neo_twisted.ledger.chain import BlockResult, HeaderResult, Ledger
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.store import StoreWriteError
from neo_twisted.ledger.verify import Mapper, ProcessMapper, ThreadedMapper, witness_job

T = TypeVar("T")
RunInThread = Callable[..., "defer.Deferred[Any]"]


def synchronous(function: Callable[..., Any], *args: Any) -> defer.Deferred[Any]:
    """
    A C{run_in_thread} that runs at once on the calling thread (for tests and tools).
    """
    return defer.maybeDeferred(function, *args)


class LedgerService(service.Service):
    """
    Owns the L{Ledger} of one data directory, its thread pool and its verifier threads.
    """

    _log = Logger()
    name = "ledger"

    def __init__(self, datadir: str | Path, settings: ProtocolSettings,
                 reactor: Any = None, threads_count: int | None = None,
                 run_in_thread: RunInThread | None = None,
                 mapper: Mapper | None = None, verifier_processes: bool = False) -> None:
        """
        @param mapper: how header witnesses are checked (default: a L{ThreadedMapper}
            of C{threads_count} threads, owned and shut down by this service).
        @param verifier_processes: check them in C{threads_count} worker processes
            instead (a L{ProcessMapper}, owned likewise): what a syncing node needs,
            since C{cryptography} holds the GIL while it verifies.
        """
        if reactor is None:
            from twisted.internet import reactor as global_reactor
            reactor = global_reactor
        self._reactor = reactor
        self._datadir = Path(datadir)
        self._settings = settings
        self._workers = threads_count or os.cpu_count() or 1
        self._pool: ThreadPool | None = None
        self._read_pool: ThreadPool | None = None
        self._run_override = run_in_thread
        self._mapper: ThreadedMapper | ProcessMapper | None = None
        self._given_mapper = mapper
        self._verifier_processes = verifier_processes
        #: The last header of the last batch handed to L{add_headers}, to check the
        #: next batch's witnesses ahead (see there).
        self._last_queued: Header | None = None
        #: Fires when the last batch of headers has taken its turn for the write lock.
        self._headers_turn: defer.Deferred[Any] = defer.succeed(None)
        self._write_lock = defer.DeferredLock()
        self.ledger: Ledger | None = None
        #: Why the store can no longer be written, once a write failed; every write
        #: after it fails at once with the same error.
        self.write_failure: Failure | None = None
        #: Told once, on the reactor, when a write fails (the node stops on it).
        self.on_write_failure: Callable[[Failure], None] | None = None

    def startService(self) -> None:
        mapper = self._given_mapper
        if mapper is None:
            self._mapper = (ProcessMapper(self._workers) if self._verifier_processes
                            else ThreadedMapper(self._workers))
            mapper = self._mapper
        self.ledger = Ledger.open(self._datadir, self._settings, mapper)
        if self._run_override is None:
            self._pool = ThreadPool(minthreads=1, maxthreads=1, name="ledger")
            self._pool.start()
            # Reads get threads of their own: a long write batch must not hold up a
            # peer's getdata (LMDB readers never wait for the writer).
            self._read_pool = ThreadPool(minthreads=1, maxthreads=2, name="ledger-read")
            self._read_pool.start()
        self._log.info("ledger open at {path}: headers {headers}, blocks {blocks}",
                       path=str(self._datadir), headers=self.ledger.header_height,
                       blocks=self.ledger.block_height)
        super().startService()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped

    def _run(self, function: Callable[..., T], *args: Any) -> defer.Deferred[T]:
        if self._run_override is not None:
            return self._run_override(function, *args)
        assert self._pool is not None, "the ledger service is not running"
        reactor: IReactorFromThreads = self._reactor
        return threads.deferToThreadPool(reactor, self._pool, function, *args)

    def _run_read(self, function: Callable[..., T], *args: Any) -> defer.Deferred[T]:
        if self._run_override is not None:
            return self._run_override(function, *args)
        assert self._read_pool is not None, "the ledger service is not running"
        reactor: IReactorFromThreads = self._reactor
        return threads.deferToThreadPool(reactor, self._read_pool, function, *args)

    @property
    def settings(self) -> ProtocolSettings:
        return self._settings

    @property
    def signature_processes(self) -> ProcessMapper | None:
        """
        The verifier processes, when this service runs them, for others to check
        signatures in (the memory pool).
        """
        return self._mapper if isinstance(self._mapper, ProcessMapper) else None

    def _ledger(self) -> Ledger:
        if self.ledger is None:
            raise RuntimeError("the ledger service is not running")
        return self.ledger

    def add_headers(self, headers: Sequence[Header]) -> defer.Deferred[HeaderResult]:
        """
        Verify and append headers; batches are applied in the order of the calls.

        With worker processes, the witnesses of a batch that follows the previous one
        start being checked at once, and the batch waits for them before it takes its
        turn to write: block writes go ahead meanwhile instead of queueing behind
        signature checks.
        """
        headers = list(headers)
        ledger = self._ledger()
        checked: defer.Deferred[None] = defer.succeed(None)
        if headers and isinstance(self._mapper, ProcessMapper):
            previous = self._last_queued
            if previous is None or previous.index < ledger.header_height:
                previous = ledger.header_tip
            if headers[0].prev_hash == previous.hash and headers[0].index == previous.index + 1:
                jobs = []
                for header in headers:
                    if ledger.witness_needed(header.index):  # not under assume-valid
                        jobs.append(witness_job(header, previous))
                    previous = header
                self._mapper.prefetch(jobs)
                checked = self._when_done(self._mapper.pending(jobs))
        if headers:
            self._last_queued = headers[-1]
        # in call order: a batch takes its turn once the one before it has taken its own
        turn = defer.gatherResults([self._headers_turn, checked], consumeErrors=True)
        result: defer.Deferred[HeaderResult] = defer.Deferred()

        def write(_: object) -> None:
            if self.ledger is not ledger:
                result.errback(RuntimeError("the ledger service stopped"))
                return
            self._write(ledger.add_headers, headers).chainDeferred(result)

        turn.addCallback(write)
        self._headers_turn = turn
        return result

    def _when_done(self, futures: list[Future[list[bool]]]) -> defer.Deferred[None]:
        """
        Fires on the reactor once every one of C{futures} (worker requests) is done,
        whatever its outcome (the mapper checks failed requests' jobs itself).
        """
        if not futures:
            return defer.succeed(None)
        done: defer.Deferred[None] = defer.Deferred()
        left = [len(futures)]
        lock = threading.Lock()

        def one_done(_: Future[list[bool]]) -> None:
            with lock:
                left[0] -= 1
                last = left[0] == 0
            if last:
                self._reactor.callFromThread(done.callback, None)

        for future in futures:
            future.add_done_callback(one_done)
        return done

    def add_blocks(self, blocks: Sequence[Block]) -> defer.Deferred[list[BlockResult]]:
        return self._write(self._ledger().add_blocks, list(blocks))

    def _write(self, function: Callable[..., T], *args: Any) -> defer.Deferred[T]:
        """
        Run one write on the ledger thread, in turn; none once the store failed a write.
        """
        if self.write_failure is not None:
            return defer.fail(self.write_failure)
        written: defer.Deferred[T] = self._write_lock.run(self._run, function, *args)
        return written.addErrback(self._write_failed)

    def _write_failed(self, failure: Failure) -> Failure:
        if failure.check(StoreWriteError) and self.write_failure is None:  # type: ignore[no-untyped-call]
            self.write_failure = failure
            self._log.critical("the chain store cannot be written, so the node stops: "
                               "{error} (what was committed before is intact)",
                               error=failure.getErrorMessage())
            if self.on_write_failure is not None:
                self.on_write_failure(failure)
        return failure

    def read(self, function: Callable[..., T], *args: Any) -> defer.Deferred[T]:
        """
        Run a read (C{function(ledger, *args)}) off the reactor; reads never wait for writes.
        """
        return self._run_read(function, self._ledger(), *args)

    @defer.inlineCallbacks
    def stopService(self) -> Any:
        super().stopService()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped
        # Let the batch in flight (and any queued ones) finish before closing the store.
        yield self._write_lock.acquire()
        try:
            for pool in (self._pool, self._read_pool):
                if pool is not None:
                    pool.stop()
            self._pool = self._read_pool = None
            if self._mapper is not None:
                self._mapper.shutdown()
            if self.ledger is not None:
                self.ledger.close()
                self.ledger = None
        finally:
            self._write_lock.release()
