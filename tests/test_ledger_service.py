"""
Tests for L{neo_twisted.ledger.service.LedgerService}: the ledger run off the reactor, in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase, TestCase

from neo_twisted.core.block import Block
from neo_twisted.ledger.chain import HeaderResult, Ledger, Verdict
from neo_twisted.ledger.generator import generate_chain, load_dev_keys
from neo_twisted.ledger.service import LedgerService, synchronous
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.ledger.store import StoreWriteError

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = load_protocol(ROOT / "protocol.json")
KEYS = load_dev_keys(ROOT / "devkeys" / "privnet.json", SETTINGS)
BLOCKS: list[Block] = list(generate_chain(SETTINGS, KEYS, 12, 1, seed=7))


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
        function, args, waiting = self.calls.pop(0)
        waiting.callback(function(*args))


class SynchronousServiceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.datadir = self.mktemp()
        self.service = LedgerService(self.datadir, SETTINGS, threads_count=1,
                                     run_in_thread=synchronous)
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


class WriteFailureTests(SynchronousTestCase):
    """
    A write the store refuses (a full disk) is reported once, and no write follows it.
    """

    def setUp(self) -> None:
        self.service = LedgerService(self.mktemp(), SETTINGS, threads_count=1,
                                     run_in_thread=synchronous)
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
        service = LedgerService(self.mktemp(), SETTINGS, threads_count=1, run_in_thread=runner)
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
        service = LedgerService(self.mktemp(), SETTINGS, threads_count=1, run_in_thread=runner)
        service.startService()
        pending = service.add_blocks(BLOCKS[:2])
        stopping = defer.ensureDeferred(service.stopService())
        self.assertNoResult(stopping)
        self.assertIsNotNone(service.ledger)
        runner.run_next()
        self.successResultOf(pending)
        self.successResultOf(stopping)
        self.assertIsNone(service.ledger)


class ThreadPoolTests(TestCase):
    """
    With the real thread pool, results come back on the reactor thread.
    """

    @defer.inlineCallbacks
    def test_blocks_through_the_pool(self) -> Any:
        """
        Blocks handed to a running service are persisted by its pool and reported back.
        """
        service = LedgerService(self.mktemp(), SETTINGS, threads_count=2)
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

