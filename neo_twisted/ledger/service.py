# -*- test-case-name: tests.unit.test_ledger_service -*-
"""
The ledger as a Twisted service: chain work off the reactor thread, applied in order.

Writes (headers, blocks, dropping provisional headers) run on the service's one
writer thread (C{ledger}), one at a time in the order they were handed in (a
L{DeferredLock}). The header witnesses of a batch are checked in the node's verifier
processes when it has them (L{VerifierService}), else on the writer thread.

Reads never wait for writes (LMDB readers do not block on the writer) and go
through two L{ReadQueue}s with threads of their own: one for what peers ask
(C{ledger-read}: C{getheaders}, C{getblocks}, C{getdata}, see
L{neo_twisted.node.serving}) and one for the node's own callers
(C{ledger-read-local}: RPC). Peers cannot starve RPC of read threads, and RPC
cannot starve peers. Every read whose cost grows with the chain or with what was
asked (blocks, transactions, accounts, RPC answers) goes there.

Some reads run on the reactor instead, on purpose: their callers need the answer
within the event they handle, and each costs less than a thread's round trip.

  - The L{Ledger}'s memory: the header, block and verified heights, the tip
    header, the next block's validators, the early blocks, the write budget,
    whether a header needs its witness checked (the node's policy, sync,
    consensus, RPC's C{getblockcount}, the metrics, and L{add_headers} here).
  - A few LMDB lookups, microseconds each (a memory-mapped B-tree that never waits
    for the writer): the heights of a block C{inv}'s hashes (500 at most:
    L{neo_twisted.node.policy}); the hashes of a block segment, 500 in one cursor
    walk, and the one before it (L{neo_twisted.sync.blocks}); a C{getheaders}
    locator's 16 hashes at most (L{neo_twisted.sync.headers}); the tip header and
    its parent, whether a transaction is on the chain, and the votes and coins a
    proposal's transactions touch (consensus); the tip header's timestamp, once
    per block (the metrics).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Concatenate, Generic, ParamSpec, TypeVar

from twisted.application import service
from twisted.internet import defer
from twisted.internet.interfaces import IReactorFromThreads
from twisted.logger import Logger
from twisted.python.failure import Failure

from neo_twisted.core.block import Block, Header
from neo_twisted.holders import Holders
from neo_twisted.ledger.chain import BlockResult, HeaderResult, Ledger
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.store import StoreWriteError
from neo_twisted.ledger.verifiers import VerifierService
from neo_twisted.ledger.verify import Mapper, ProcessMapper, serial_map, witness_job
from neo_twisted.offreactor import Runner, RunnerFactory, deferred_from_future, threads_on

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: Threads that read the store for peers.
PEER_READ_THREADS = 2
#: Threads that read the store for the node's own callers (RPC).
LOCAL_READ_THREADS = 2
#: Reads handed to each queue's threads at a time (the rest wait in the queue): more
#: than the threads, so that a thread done with one read takes the next at once
#: rather than wait for the reactor (busy with RPC clients, say) to hand it over.
PEER_READS_HANDED = 16
LOCAL_READS_HANDED = 256
#: Local reads that may wait for a thread; past this a read fails at once with
#: L{ReadQueueFullError} instead of growing the queue without end. A backstop: the
#: RPC server's own limits (64 requests answered at once, 1000 calls a batch) keep
#: honest use below it.
LOCAL_READS_WAITING = 65_536


class ReadDroppedError(Exception):
    """
    A read was dropped before it ran: whoever asked for it no longer wants it (a peer
    that closed its connection), or the ledger service stopped.
    """


class ReadQueueFullError(Exception):
    """
    Too many reads wait already; this one was not queued.
    """


class _Read(Generic[T_co]):
    """
    One read waiting in a L{ReadQueue}.
    """

    __slots__ = ("args", "done", "function", "kwargs", "wanted")

    def __init__(self, function: Callable[..., T_co], args: tuple[object, ...],
                 kwargs: Mapping[str, object], wanted: Callable[[], bool] | None) -> None:
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.wanted = wanted
        self.done: defer.Deferred[T_co] = defer.Deferred()


def _if_wanted(wanted: Callable[[], bool], function: Callable[..., T],
               args: tuple[object, ...], kwargs: Mapping[str, object]) -> T:
    """
    In the read's thread, just before it runs: its asker may have gone since the
    read was handed over (C{wanted} only reads a flag, safe from any thread).
    """
    if not wanted():
        raise ReadDroppedError("no longer wanted when its thread took it")
    return function(*args, **kwargs)


class ReadQueue:
    """
    Reads handed to a thread pool at most C{handed} at a time, in the order asked,
    from a queue kept on the reactor thread.

    The queue is ours rather than the thread pool's so that it can be bounded, and a
    read is judged late: one whose asker is gone (C{wanted()} false) is dropped
    without touching the store, when it leaves this queue and again in its thread as
    it starts. A few more reads than threads are handed over at once: were each
    handed over only when a thread is free, the threads would wait for the reactor
    between two reads (RPC under load read at a fraction of the rate, its answers
    waiting seconds).
    """

    def __init__(self, name: str, runner: Runner, handed: int,
                 max_waiting: int | None = None) -> None:
        """
        @param runner: the threads of this queue's own; a read finding it stopped is
            dropped.
        @param handed: reads handed to C{runner} at a time (its threads take them in
            turn, each judged again as it starts).
        @param max_waiting: reads that may wait; past it, L{ReadQueueFullError}.
        """
        self.name = name
        self._runner = runner
        self._handed = handed
        self._max_waiting = max_waiting
        self._waiting: deque[_Read[object]] = deque()
        self._pumping = False
        #: Reads handed to the threads and not done yet.
        self.running = 0
        #: Reads handed to a thread, and reads dropped before they ran, since the start.
        self.started = 0
        self.dropped = 0

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def submit(self, function: Callable[..., T], args: tuple[object, ...] = (),
               kwargs: Mapping[str, object] | None = None,
               wanted: Callable[[], bool] | None = None) -> defer.Deferred[T]:
        """
        Run C{function(*args, **kwargs)} in turn; fails with L{ReadDroppedError} if
        C{wanted()} is false when its turn comes, with L{ReadQueueFullError} at once if
        the queue is full.
        """
        if self._max_waiting is not None and len(self._waiting) >= self._max_waiting:
            return defer.fail(ReadQueueFullError(
                f"{self._max_waiting} {self.name} reads are waiting already"))
        read = _Read(function, args, kwargs or {}, wanted)
        self._waiting.append(read)
        self._pump()
        return read.done

    def drop_all(self, why: str) -> None:
        """
        Fail every waiting read with L{ReadDroppedError} (the store is closing).
        """
        while self._waiting:
            self.dropped += 1
            self._waiting.popleft().done.errback(ReadDroppedError(why))

    def _pump(self) -> None:
        if self._pumping:  # a read that completed at once, within the loop below
            return
        self._pumping = True
        try:
            while self.running < self._handed and self._waiting:
                read = self._waiting.popleft()
                if read.wanted is not None and not read.wanted():
                    self.dropped += 1
                    read.done.errback(ReadDroppedError(f"a {self.name} read no longer wanted"))
                    continue
                self.running += 1
                self.started += 1
                ran: defer.Deferred[object]
                if not self._runner.running:
                    ran = defer.fail(ReadDroppedError("the ledger service is not running"))
                elif read.wanted is None:
                    ran = self._runner.run(read.function, *read.args, **read.kwargs)
                else:
                    ran = self._runner.run(_if_wanted, read.wanted, read.function, read.args,
                                           read.kwargs)
                ran.addBoth(self._finished, read)
        finally:
            self._pumping = False

    def _finished(self, result: object, read: _Read[object]) -> None:
        self.running -= 1
        if isinstance(result, Failure):
            if result.check(ReadDroppedError):  # type: ignore[no-untyped-call]
                self.dropped += 1
            read.done.errback(result)
        else:
            read.done.callback(result)
        self._pump()


class LedgerService(service.Service):
    """
    Owns the L{Ledger} of one data directory and the threads that write and read it.
    """

    _log = Logger()
    name = "ledger"

    def __init__(self, datadir: str | Path, settings: ProtocolSettings,
                 reactor: IReactorFromThreads | None = None, *,
                 off_reactor: RunnerFactory | None = None,
                 mapper: Mapper | None = None,
                 verifiers: VerifierService | None = None) -> None:
        """
        @param reactor: where the threads' results come back (default: the global one).
        @param off_reactor: makes the writer's and the read queues' threads (tests:
            L{neo_twisted.offreactor.Synchronous}); by default thread pools.
        @param mapper: how header witnesses are checked (default: one after the other
            on the writer thread).
        @param verifiers: check them in the node's verifier processes instead, held
            from start until the last write is done: what a syncing node needs, since
            C{cryptography} holds the GIL while it verifies.
        """
        self._reactor = reactor
        self._datadir = Path(datadir)
        self._settings = settings
        make = off_reactor if off_reactor is not None else threads_on(reactor)
        #: The one thread that writes: batches never overlap.
        self._writer = make("ledger", 1, 1)
        # Reads get threads of their own: a long write batch must not hold up a peer's
        # getdata (LMDB readers never wait for the writer); and peers' reads are apart
        # from RPC's.
        self._runners = (self._writer, make("ledger-read", PEER_READ_THREADS, 1),
                         make("ledger-read-local", LOCAL_READ_THREADS, 1))
        #: What peers ask of the store, and what the node's own callers (RPC) do.
        self.peer_reads = ReadQueue("peer", self._runners[1], PEER_READS_HANDED)
        self.local_reads = ReadQueue("local", self._runners[2], LOCAL_READS_HANDED,
                                     LOCAL_READS_WAITING)
        #: What checks the witnesses while the service runs.
        self._checker: Mapper | None = None
        self._given_mapper = mapper
        self._verifiers = verifiers
        #: The last header of the last batch handed to L{add_headers}, to check the
        #: next batch's witnesses ahead (see there).
        self._last_queued: Header | None = None
        #: Fires when the last batch of headers has taken its turn for the write lock.
        self._headers_turn: defer.Deferred[None] = defer.succeed(None)
        self._write_lock = defer.DeferredLock()
        #: Users reading the store on threads of their own (L{hold}), and what fires
        #: when the last lets go while the service stops.
        self._holders = Holders("the ledger")
        self.ledger: Ledger | None = None
        #: Why the store can no longer be written, once a write failed; every write
        #: after it fails at once with the same error.
        self.write_failure: Failure | None = None
        #: Told once, on the reactor, when a write fails (the node stops on it).
        self.on_write_failure: Callable[[Failure], None] | None = None

    def startService(self) -> None:
        mapper = self._given_mapper
        if self._verifiers is not None:
            mapper = self._verifiers.hold()
        self._checker = mapper
        try:
            self.ledger = Ledger.open(self._datadir, self._settings,
                                      serial_map if mapper is None else mapper)
        except BaseException:
            self._let_go_of_mapper()
            raise
        for runner in self._runners:
            runner.start()
        self._log.info("ledger open at {path}: headers {headers}, blocks {blocks}",
                       path=str(self._datadir), headers=self.ledger.header_height,
                       blocks=self.ledger.block_height)
        super().startService()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped

    @property
    def settings(self) -> ProtocolSettings:
        return self._settings

    def hold(self) -> None:
        """
        Keep the store open for reads on another's threads (the memory pool's
        verification) until L{release}: stopping the service closes it only then.
        """
        self._holders.hold()

    def release(self) -> None:
        """
        One holder's threads are done with the store.

        @raise RuntimeError: nobody holds it.
        """
        self._holders.release()

    def _let_go_of_mapper(self) -> None:
        """
        Let go of the node's verifier processes, if this service holds them.
        """
        if self._verifiers is not None and self._checker is not None:
            self._verifiers.release()
        self._checker = None

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
        if headers and isinstance(self._checker, ProcessMapper):
            previous = self._last_queued
            if previous is None or previous.index < ledger.header_height:
                previous = ledger.header_tip
            if headers[0].prev_hash == previous.hash and headers[0].index == previous.index + 1:
                jobs = []
                for header in headers:
                    if ledger.witness_needed(header.index):  # not under assume-valid
                        jobs.append(witness_job(header, previous))
                    previous = header
                self._checker.prefetch(jobs)
                checked = self._when_done(self._checker.pending(jobs))
        if headers:
            self._last_queued = headers[-1]
        # in call order: a batch takes its turn once the one before it has taken its own
        turn = defer.gatherResults([self._headers_turn, checked], consumeErrors=True
                                   ).addCallback(lambda _: None)
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
        done = defer.DeferredList([deferred_from_future(future, self._reactor)
                                   for future in futures], consumeErrors=True)
        return done.addCallback(lambda _: None)

    def add_blocks(self, blocks: Sequence[Block]) -> defer.Deferred[list[BlockResult]]:
        return self._write(self._ledger().add_blocks, list(blocks))

    def drop_provisional(self) -> defer.Deferred[int]:
        """
        L{Ledger.drop_provisional}, after the header batches already handed in.
        """
        self._last_queued = None  # the next batch links to what is left, not to them
        return self._write(self._ledger().drop_provisional)

    def _write(self, function: Callable[P, T], *args: P.args,
               **kwargs: P.kwargs) -> defer.Deferred[T]:
        """
        Run one write on the writer thread, in turn; none once the store failed a write.
        """
        if self.write_failure is not None:
            return defer.fail(self.write_failure)
        written: defer.Deferred[T] = self._write_lock.run(self._writer.run, function, *args,
                                                          **kwargs)
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

    def read(self, function: Callable[Concatenate[Ledger, P], T], *args: P.args,
             **kwargs: P.kwargs) -> defer.Deferred[T]:
        """
        Run a read (C{function(ledger, *args, **kwargs)}) for the node's own callers
        (RPC) off the reactor, on threads no peer's read can take; fails with
        L{ReadQueueFullError} when L{LOCAL_READS_WAITING} wait already.
        """
        if self.ledger is None:
            return defer.fail(RuntimeError("the ledger service is not running"))
        return self.local_reads.submit(function, (self.ledger, *args), kwargs)

    def peer_read(self, wanted: Callable[[], bool], function: Callable[Concatenate[Ledger, P], T],
                  *args: P.args, **kwargs: P.kwargs) -> defer.Deferred[T]:
        """
        Run a read (C{function(ledger, *args, **kwargs)}) for a peer, on the peers'
        threads; dropped (L{ReadDroppedError}) without running if C{wanted()} is false
        when a thread is free for it. Bounding each peer's share is the caller's part
        (L{neo_twisted.node.serving.Server}).
        """
        if self.ledger is None:
            return defer.fail(RuntimeError("the ledger service is not running"))
        return self.peer_reads.submit(function, (self.ledger, *args), kwargs, wanted)

    def stopService(self) -> defer.Deferred[None]:
        super().stopService()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped
        return defer.Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        # Let the batch in flight (and any queued ones) finish before closing the store.
        await self._write_lock.acquire()
        try:
            for queue in (self.peer_reads, self.local_reads):
                queue.drop_all("the ledger service stopped")
            # the reads handed to threads end before the store closes under them, and
            # so do those of the holders' threads
            await defer.gatherResults([runner.stop() for runner in self._runners])
            await self._holders.all_released()
            if self.ledger is not None:
                self.ledger.close()
                self.ledger = None
            self._let_go_of_mapper()  # the last write is done: nothing checks any more
        finally:
            self._write_lock.release()
