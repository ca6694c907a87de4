# -*- test-case-name: tests.unit.test_ledger_writebudget -*-
"""
How many records one write transaction of blocks may hold: a budget of dirty pages.

LMDB holds a write transaction's dirty pages in memory until it commits, and keeps
as many as it ever held on a free list of its own, so the dirty pages of the
largest commit are memory the node keeps for good: they are what must be bounded
for its memory to stay flat as the chain grows. Yet small commits are expensive:
keys are hashes, so successive commits dirty, copy and write the same pages again
(a 20,000-block import wrote 4.4 times the pages in commits of 150 blocks as in
commits of 1,000, and took 1.6 times as long).

What a block writes is known in records before it is written
(L{neo_twisted.ledger.state.write_cost}); the pages those records dirty are not:
few while the store is small and neighbouring keys share pages, up to one a
record or more once it is large. So the writer observes the bytes each commit
wrote (its thread's own I/O counter: nothing but LMDB writes in that thread)
and sizes the next batch to hold the page budget at the ratio measured. Where
the counter cannot be read, batches keep the fixed record bound.
"""

from __future__ import annotations

#: Dirty pages one write of blocks may hold: 16,384 pages of 4 KiB are 64 MiB. Syncing
#: the 50,000-block chain of bench_sync.py (two runs each): 4,096 pages took 35-37 s
#: (peak RSS 120 MiB), 8,192 pages 31-32 s (137 MiB), 16,384 pages 28 s (155 MiB).
PAGE_BUDGET = 16_384
#: Records a write may hold before any commit was measured, and whenever none can be.
FALLBACK_RECORDS = 4_500
#: Never fewer records than this: a batch of a few blocks costs its commit's fixed
#: pages (branches, the free list, the meta page) for almost nothing.
MIN_RECORDS = 1_000
#: Never more, however few pages records seemed to take (a young store): a batch holds
#: its blocks decoded in memory until it is written.
MAX_RECORDS = 250_000
#: Writes of fewer records tell little of the ratio (their fixed pages dominate).
MIN_OBSERVED = 500


def thread_written() -> int | None:
    """
    Bytes the calling thread has asked to write since it started (Linux
    C{/proc/thread-self/io} C{wchar}), or None where that cannot be read.
    """
    try:
        with open("/proc/thread-self/io", "rb") as io:
            for line in io:
                if line.startswith(b"wchar:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class WriteBudget:
    """
    Records per write of blocks, from the pages per record of the writes observed.

    The ratio follows the last observation up at once (a larger store spreads
    records over more pages, and memory must not overshoot) and down by halves
    (one write of records that happened to share pages says little).
    """

    def __init__(self, page_budget: int = PAGE_BUDGET, page_size: int = 4096,
                 fallback: int = FALLBACK_RECORDS) -> None:
        self.page_budget = page_budget
        self._page_size = page_size
        self._fallback = fallback
        #: Pages written per record, once a write was observed.
        self.pages_per_record: float | None = None
        #: The largest number of pages one observed write wrote.
        self.largest_write = 0

    @property
    def records(self) -> int:
        """
        The records the next write of blocks may hold.
        """
        if self.pages_per_record is None:
            return self._fallback
        wanted = int(self.page_budget / self.pages_per_record)
        return max(MIN_RECORDS, min(MAX_RECORDS, wanted))

    def observe(self, records: int, written: int | None) -> None:
        """
        A write of C{records} records committed, having written C{written} bytes
        (None: unknown, nothing is learned).
        """
        if written is None or records < MIN_OBSERVED:
            return
        pages = written // self._page_size
        self.largest_write = max(self.largest_write, pages)
        ratio = max(pages, 1) / records
        previous = self.pages_per_record
        if previous is None or ratio >= previous:
            self.pages_per_record = ratio
        else:
            self.pages_per_record = (previous + ratio) / 2
