"""
Tests for L{neo_twisted.ledger.writebudget}: how many records a write of blocks may
hold, from the pages the ledger's commits wrote.
"""

from __future__ import annotations

import os
import sys
import threading

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.ledger.generator import generate_chain
from neo_twisted.ledger.state import write_cost
from neo_twisted.ledger.writebudget import (
    FALLBACK_RECORDS,
    MAX_RECORDS,
    MIN_OBSERVED,
    MIN_RECORDS,
    WriteBudget,
    thread_written,
)
from tests.support.ledger_samples import DEV_KEYS, PRIVNET, accept_all, open_ledger

LINUX = sys.platform.startswith("linux")


class WriteBudgetTests(SynchronousTestCase):
    def test_fallback_until_measured(self) -> None:
        """
        Before any commit was measured, and after writes that say nothing (unknown
        bytes, too few records), the fixed record bound holds.
        """
        budget = WriteBudget(page_budget=1000)
        self.assertEqual(budget.records, FALLBACK_RECORDS)
        budget.observe(10_000, None)
        budget.observe(MIN_OBSERVED - 1, 10**9)
        self.assertEqual((budget.pages_per_record, budget.records), (None, FALLBACK_RECORDS))

    def test_records_hold_the_page_budget(self) -> None:
        """
        At the ratio measured, the next write's records dirty about the page budget.
        """
        budget = WriteBudget(page_budget=8_000, page_size=4096)
        budget.observe(20_000, 5_000 * 4096)  # a quarter of a page a record
        self.assertEqual(budget.pages_per_record, 0.25)
        self.assertEqual(budget.records, 32_000)
        self.assertEqual(budget.largest_write, 5_000)

    def test_ratio_rises_at_once_and_falls_by_halves(self) -> None:
        """
        A write that took more pages a record counts in full at once (memory must not
        overshoot); one that took fewer only halves the distance.
        """
        budget = WriteBudget(page_budget=8_000, page_size=1)
        budget.observe(10_000, 2_500)
        budget.observe(10_000, 5_000)
        self.assertEqual(budget.pages_per_record, 0.5)
        budget.observe(10_000, 1_000)
        self.assertEqual(budget.pages_per_record, 0.3)
        budget.observe(10_000, 1_000)
        self.assertEqual(budget.pages_per_record, 0.2)

    def test_clamped(self) -> None:
        """
        However the ratio comes out, a write holds between MIN_RECORDS and MAX_RECORDS.
        """
        budget = WriteBudget(page_budget=1_000, page_size=1)
        budget.observe(1_000, 10**6)
        self.assertEqual(budget.records, MIN_RECORDS)
        budget = WriteBudget(page_budget=1_000, page_size=1)
        budget.observe(10**6, 0)  # nothing written: taken as one page
        self.assertEqual(budget.records, MAX_RECORDS)


class ThreadWrittenTests(SynchronousTestCase):
    if not LINUX:
        skip = "the per-thread I/O counter is Linux's"

    def test_counts_this_threads_writes_only(self) -> None:
        """
        The counter grows by what this thread writes, not by another thread's writes.
        """
        path = self.mktemp()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT)
        self.addCleanup(os.close, fd)
        before = thread_written()
        assert before is not None
        other = threading.Thread(target=os.write, args=(fd, b"x" * 100_000))
        other.start()
        other.join()
        os.write(fd, b"y" * 5_000)
        after = thread_written()
        assert after is not None
        self.assertGreaterEqual(after - before, 5_000)
        self.assertLess(after - before, 100_000)


class LedgerMeasuresCommitsTests(SynchronousTestCase):
    if not LINUX:
        skip = "the per-thread I/O counter is Linux's"

    def test_block_writes_measured(self) -> None:
        """
        A write of blocks tells the ledger's budget the pages its commit wrote: at
        least a page for every few records, at most a few pages a record.
        """
        ledger = open_ledger(self, self.mktemp(), mapper=accept_all)
        blocks = list(generate_chain(PRIVNET, DEV_KEYS, 120, txs_per_block=3, seed=5))
        ledger.add_blocks(blocks)
        self.assertEqual(ledger.block_height, 120)
        written = ledger.store.last_written
        assert written is not None
        records = sum(write_cost(block) for block in blocks)
        self.assertGreaterEqual(records, MIN_OBSERVED)
        pages = written // ledger.store.page_size
        self.assertGreater(pages, 0)
        self.assertGreaterEqual(ledger.write_budget.largest_write, pages)
        ratio = ledger.write_budget.pages_per_record
        assert ratio is not None
        self.assertTrue(0.01 < ratio < 4, ratio)
