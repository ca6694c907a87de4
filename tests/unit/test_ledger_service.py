"""
Tests for L{neo_twisted.ledger.service.LedgerService}: the ledger run off the reactor, in order.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase, TestCase

from neo_twisted.core.block import Block
from neo_twisted.ledger.chain import HeaderResult, Ledger, Verdict
from neo_twisted.ledger.generator import generate_chain, load_dev_keys
from neo_twisted.ledger.service import (
    LOCAL_READS_HANDED,
    LOCAL_READS_WAITING,
    PEER_READS_HANDED,
    LedgerService,
    ReadDroppedError,
    ReadQueueFullError,
)
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.ledger.store import StoreWriteError
from neo_twisted.offreactor import Synchronous
from tests.support.runners import ManualRunner

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_protocol(ROOT / "protocol.json")
KEYS = load_dev_keys(ROOT / "devkeys" / "privnet.json", SETTINGS)
BLOCKS: list[Block] = list(generate_chain(SETTINGS, KEYS, 12, 1, seed=7))


class SynchronousServiceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.datadir = self.mktemp()
        self.service = LedgerService(self.datadir, SETTINGS, off_reactor=Synchronous)
        self.service.startService()
        self.addCleanup(self.stop)

    def stop(self) -> None:
        if self.service.running:
            self.successResultOf(defer.ensureDeferred(self.service.stopService()))

    def test_starts_at_genesis(self) -> None:
        """
        A new data directory opens at the genesis block of the configured network.
        """
        ledger = self.service.ledger
        assert ledger is not None
        self.assertEqual((ledger.header_height, ledger.block_height), (0, 0))
        self.assertEqual(ledger.get_block_hash(0), ledger.genesis.hash)

    def test_headers_then_blocks(self) -> None:
        """
        Headers and then their blocks go through the service and end up in the store.
        """
        result = self.successResultOf(
            self.service.add_headers([b.header for b in BLOCKS[:5]]))
        self.assertEqual(result, HeaderResult(5))
        results = self.successResultOf(self.service.add_blocks(BLOCKS[:5]))
        self.assertEqual([r.verdict for r in results], [Verdict.ACCEPTED] * 5)
        height = self.successResultOf(self.service.read(lambda ledger: ledger.block_height))
        self.assertEqual(height, 5)

    def test_stop_closes_the_store(self) -> None:
        """
        After stopping, the data directory reopens with everything that was committed.
        """
        self.successResultOf(self.service.add_blocks(BLOCKS[:3]))
        self.stop()
        self.assertIsNone(self.service.ledger)
        self.assertRaises(RuntimeError, self.service.add_blocks, BLOCKS[3:4])
        ledger = Ledger.open(self.datadir, SETTINGS)
        self.addCleanup(ledger.close)
        self.assertEqual(ledger.block_height, 3)


class HoldTests(SynchronousTestCase):
    """
    A user reading the store on threads of its own holds the ledger: the store stays
    open through a stop until it lets go.
    """

    def test_stop_waits_for_the_holders(self) -> None:
        service = LedgerService(self.mktemp(), SETTINGS, off_reactor=Synchronous)
        service.startService()
        service.hold()
        service.hold()
        stopping = service.stopService()
        service.release()
        self.assertNoResult(stopping)
        self.assertIsNotNone(service.ledger)
        service.release()
        self.successResultOf(stopping)
        self.assertIsNone(service.ledger)

    def test_released_more_than_held(self) -> None:
        service = LedgerService(self.mktemp(), SETTINGS, off_reactor=Synchronous)
        self.assertRaises(RuntimeError, service.release)


class WriteFailureTests(SynchronousTestCase):
    """
    A write the store refuses (a full disk) is reported once, and no write follows it.
    """

    def setUp(self) -> None:
        self.service = LedgerService(self.mktemp(), SETTINGS, off_reactor=Synchronous)
        self.service.startService()
        self.addCleanup(lambda: self.successResultOf(
            defer.ensureDeferred(self.service.stopService())))
        self.reported: list[Any] = []
        self.service.on_write_failure = self.reported.append
        ledger = self.service.ledger
        assert ledger is not None
        self.ledger = ledger
        self.successResultOf(self.service.add_headers([b.header for b in BLOCKS[0:2]]))

    def fail_writes(self) -> list[int]:
        calls: list[int] = []

        def refuse(batch: Any) -> Any:
            calls.append(1)
            raise StoreWriteError("chain: cannot write the chain store: No space left")

        self.ledger.store.write = refuse  # type: ignore[method-assign]
        return calls

    def test_failure_reported_once_and_writes_stop(self) -> None:
        calls = self.fail_writes()
        self.failureResultOf(self.service.add_blocks(BLOCKS[0:2]), StoreWriteError)
        self.assertEqual(len(self.reported), 1)
        self.assertIs(self.service.write_failure, self.reported[0])
        self.failureResultOf(self.service.add_headers([b.header for b in BLOCKS[2:4]]),
                             StoreWriteError)
        self.failureResultOf(self.service.add_blocks(BLOCKS[0:2]), StoreWriteError)
        self.assertEqual((len(self.reported), len(calls)), (1, 1))
        self.assertEqual((self.ledger.header_height, self.ledger.block_height), (2, 0))

    def test_other_errors_are_not_storage_failures(self) -> None:
        def broken(batch: Any) -> Any:
            raise ValueError("a bug, not the disk")

        self.ledger.store.write = broken  # type: ignore[method-assign]
        self.failureResultOf(self.service.add_blocks(BLOCKS[0:1]), ValueError)
        self.assertEqual((self.reported, self.service.write_failure), ([], None))


class OrderingTests(SynchronousTestCase):
    def test_batches_apply_in_call_order(self) -> None:
        """
        A second batch does not start before the first has been applied.
        """
        runner = ManualRunner()
        service = LedgerService(self.mktemp(), SETTINGS, off_reactor=runner)
        service.startService()
        first = service.add_blocks(BLOCKS[:4])
        second = service.add_blocks(BLOCKS[4:8])
        self.assertEqual(len(runner.calls), 1)
        self.assertNoResult(second)
        runner.run_next()
        self.assertEqual([r.verdict for r in self.successResultOf(first)],
                         [Verdict.ACCEPTED] * 4)
        self.assertEqual(len(runner.calls), 1)
        runner.run_next()
        self.assertEqual([r.verdict for r in self.successResultOf(second)],
                         [Verdict.ACCEPTED] * 4)
        stopping = defer.ensureDeferred(service.stopService())
        self.successResultOf(stopping)

    def test_stop_waits_for_the_batch_in_flight(self) -> None:
        """
        Stopping waits until the running batch is applied, then closes the store.
        """
        runner = ManualRunner()
        service = LedgerService(self.mktemp(), SETTINGS, off_reactor=runner)
        service.startService()
        pending = service.add_blocks(BLOCKS[:2])
        stopping = defer.ensureDeferred(service.stopService())
        self.assertNoResult(stopping)
        self.assertIsNotNone(service.ledger)
        runner.run_next()
        self.successResultOf(pending)
        self.successResultOf(stopping)
        self.assertIsNone(service.ledger)


def block_height(ledger: Ledger) -> int:
    return ledger.block_height


def header_height(ledger: Ledger) -> int:
    return ledger.header_height


class ReadQueueTests(SynchronousTestCase):
    """
    Peers' reads and the node's own (RPC) go through queues and threads of their own.
    """

    def setUp(self) -> None:
        self.runner = ManualRunner()
        self.service = LedgerService(self.mktemp(), SETTINGS, off_reactor=self.runner)
        self.service.startService()

    def tearDown(self) -> None:
        while self.runner.calls:
            self.runner.run_next()
        self.successResultOf(defer.ensureDeferred(self.service.stopService()))

    def test_rpc_reads_do_not_wait_for_peers(self) -> None:
        """
        With a hundred peer reads queued, an RPC read is handed to a thread at once;
        peers' reads are handed over no more than L{PEER_READS_HANDED} at a time.
        """
        peers = [self.service.peer_read(lambda: True, block_height) for _ in range(100)]
        self.assertEqual(len(self.runner.calls), PEER_READS_HANDED)
        local = self.service.read(header_height)
        self.assertEqual(len(self.runner.calls), PEER_READS_HANDED + 1)
        function, _, waiting = self.runner.calls.pop()
        self.assertIs(function, header_height)
        waiting.callback(7)
        self.assertEqual(self.successResultOf(local), 7)
        self.assertEqual(self.service.peer_reads.waiting, 100 - PEER_READS_HANDED)
        while self.runner.calls:
            self.assertLessEqual(len(self.runner.calls), PEER_READS_HANDED)
            self.runner.run_next()
        self.assertEqual([self.successResultOf(d) for d in peers], [0] * 100)

    def test_rpc_queue_is_bounded(self) -> None:
        """
        Past L{LOCAL_READS_WAITING} waiting reads, an RPC read fails at once (RPC
        answers an error); peers' reads are not affected.
        """
        taken = [self.service.read(block_height)
                 for _ in range(LOCAL_READS_HANDED + LOCAL_READS_WAITING)]
        self.failureResultOf(self.service.read(block_height), ReadQueueFullError)
        peer = self.service.peer_read(lambda: True, block_height)
        self.assertEqual(len(self.runner.calls), LOCAL_READS_HANDED + 1)
        while self.runner.calls:
            self.runner.run_next()
        self.successResultOf(peer)
        self.assertEqual(len([self.successResultOf(d) for d in taken]), len(taken))

    def test_read_no_longer_wanted_never_runs(self) -> None:
        """
        A peer read whose asker has gone by the time a thread is free is dropped
        without running.
        """
        gone = [False]
        first = [self.service.peer_read(lambda: True, block_height)
                 for _ in range(PEER_READS_HANDED)]
        late = self.service.peer_read(lambda: not gone[0], header_height)
        gone[0] = True
        while self.runner.calls:
            self.assertIsNot(self.runner.calls[0][0], header_height)
            self.runner.run_next()
        self.failureResultOf(late, ReadDroppedError)
        self.assertEqual((self.service.peer_reads.started, self.service.peer_reads.dropped),
                         (PEER_READS_HANDED, 1))
        for d in first:
            self.successResultOf(d)

    def test_read_given_up_in_its_thread(self) -> None:
        """
        A peer read handed to a thread while wanted, whose asker goes before the
        thread starts it, does not run either.
        """
        gone = [False]
        ran: list[int] = []

        def read(ledger: Ledger) -> int:
            ran.append(1)
            return ledger.block_height

        handed = self.service.peer_read(lambda: not gone[0], read)
        gone[0] = True
        function, args, waiting = self.runner.calls.pop()
        defer.maybeDeferred(function, *args).chainDeferred(waiting)
        self.failureResultOf(handed, ReadDroppedError)
        self.assertEqual((ran, self.service.peer_reads.dropped), ([], 1))
        self.assertEqual(self.service.peer_reads.running, 0)

    def test_stop_drops_waiting_reads(self) -> None:
        """
        Reads still waiting when the service stops fail instead of touching a closed
        store.
        """
        running = [self.service.read(block_height) for _ in range(LOCAL_READS_HANDED)]
        waiting = self.service.read(block_height)
        peer = [self.service.peer_read(lambda: True, block_height)
                for _ in range(PEER_READS_HANDED + 1)]
        stopping = defer.ensureDeferred(self.service.stopService())
        self.failureResultOf(waiting, ReadDroppedError)
        self.failureResultOf(peer[-1], ReadDroppedError)
        while self.runner.calls:
            self.runner.run_next()
        for d in running + peer[:-1]:
            self.successResultOf(d)
        self.successResultOf(stopping)
        self.failureResultOf(self.service.read(block_height), RuntimeError)
        self.service.startService()  # for tearDown


class ThreadPoolTests(TestCase):
    """
    With the real thread pool, results come back on the reactor thread.
    """

    @defer.inlineCallbacks
    def test_blocks_through_the_pool(self) -> Any:
        """
        Blocks handed to a running service are persisted by its pool and reported back.
        """
        service = LedgerService(self.mktemp(), SETTINGS)
        service.startService()
        try:
            results = yield service.add_blocks(BLOCKS)
            self.assertEqual([r.verdict for r in results], [Verdict.ACCEPTED] * len(BLOCKS))
            again = yield service.add_blocks(BLOCKS[:1])
            self.assertEqual(again[0].verdict, Verdict.ALREADY_EXISTS)
            height = yield service.read(lambda ledger: ledger.block_height)
            self.assertEqual(height, len(BLOCKS))
        finally:
            yield service.stopService()

    @defer.inlineCallbacks
    def test_peer_reads_do_not_hold_up_rpc(self) -> Any:
        """
        While peers' reads hold every peer read thread, an RPC read runs on its own.
        """
        service = LedgerService(self.mktemp(), SETTINGS)
        service.startService()
        release = threading.Event()

        def slow(ledger: Ledger) -> int:
            release.wait(30)
            return ledger.block_height

        try:
            held = [service.peer_read(lambda: True, slow) for _ in range(10)]
            height = yield service.read(lambda ledger: ledger.block_height)
            self.assertEqual(height, 0)
            self.assertEqual(service.peer_reads.running, min(10, PEER_READS_HANDED))
            self.assertFalse(any(d.called for d in held))
        finally:
            release.set()
        self.assertEqual((yield defer.gatherResults(held)), [0] * 10)
        yield service.stopService()

    @defer.inlineCallbacks
    def test_threads_named_by_their_work(self) -> Any:
        """
        Writes run on the one C{ledger} thread, peers' reads on C{ledger-read} threads
        and RPC's on C{ledger-read-local} ones: the names profiles show.
        """
        service = LedgerService(self.mktemp(), SETTINGS)
        service.startService()

        def thread_name(ledger: Ledger) -> str:
            return threading.current_thread().name

        try:
            written = yield service._write(lambda: threading.current_thread().name)
            peer = yield service.peer_read(lambda: True, thread_name)
            local = yield service.read(thread_name)
        finally:
            yield service.stopService()
        self.assertEqual(written, "PoolThread-ledger-0")
        self.assertRegex(peer, r"^PoolThread-ledger-read-\d+$")
        self.assertRegex(local, r"^PoolThread-ledger-read-local-\d+$")

    @defer.inlineCallbacks
    def test_stop_waits_for_reads_in_their_threads(self) -> Any:
        """
        Stopping does not close the store under a read a thread is running, nor
        block the reactor waiting for it: it fires once the read is back; reads
        asked meanwhile are dropped.
        """
        service = LedgerService(self.mktemp(), SETTINGS)
        service.startService()
        started, release = threading.Event(), threading.Event()

        def slow(ledger: Ledger) -> int:
            started.set()
            release.wait(30)
            return ledger.block_height

        try:
            held = service.read(slow)
            self.assertTrue(started.wait(30))
            stopping = service.stopService()
            self.assertNoResult(stopping)
            self.assertIsNotNone(service.ledger)
            late = service.peer_read(lambda: True, block_height)
        finally:
            release.set()
        self.assertEqual((yield held), 0)
        yield stopping
        self.assertIsNone(service.ledger)
        yield self.assertFailure(late, ReadDroppedError)
