"""
Tests for L{neo_twisted.ledger.store.ChainStore}: map growth, read-only use, damaged directories.
A second process reading an open store is in L{tests.integration.test_ledger_store_processes}.
"""

from __future__ import annotations

import os
from pathlib import Path

import lmdb
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.ledger import store as store_module
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.ledger.store import ChainStore, StoreError, fetch

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_protocol(ROOT / "protocol.json")


class MapGrowthTests(SynchronousTestCase):
    def test_full_map_grows_and_the_batch_is_retried(self) -> None:
        """
        A batch that does not fit in the map is run again in a map twice as large.
        """
        self.patch(store_module, "INITIAL_MAP_SIZE", 256 * 1024)
        store = ChainStore(self.mktemp())
        self.addCleanup(store.close)
        runs = []

        def batch(txn: lmdb.Transaction) -> int:
            runs.append(1)
            for i in range(2000):
                txn.put(i.to_bytes(4, "big"), bytes(200), db=store.dbs["tx"])
            return len(runs)

        attempts = store.write(batch)
        self.assertGreater(attempts, 1)
        self.assertGreater(store.env.info()["map_size"], 256 * 1024)
        with store.read() as txn:
            self.assertEqual(fetch(txn, (1999).to_bytes(4, "big"), store.dbs["tx"]), bytes(200))

    def test_failed_batch_writes_nothing(self) -> None:
        """
        A batch that raises leaves the store as it was.
        """
        store = ChainStore(self.mktemp())
        self.addCleanup(store.close)

        def batch(txn: lmdb.Transaction) -> None:
            txn.put(b"k", b"v", db=store.dbs["tx"])
            raise ValueError("boom")

        self.assertRaises(ValueError, store.write, batch)
        with store.read() as txn:
            self.assertIsNone(fetch(txn, b"k", store.dbs["tx"]))


class OpeningTests(SynchronousTestCase):
    def test_read_only_needs_a_store(self) -> None:
        """
        Opening an empty directory read-only is a clear error, not a new store.
        """
        path = self.mktemp()
        os.makedirs(path)
        error = self.assertRaises(StoreError, ChainStore, path, readonly=True)
        self.assertIn("no chain store", str(error))
        self.assertFalse((Path(path) / "chain").exists())

    def test_garbage_store_file(self) -> None:
        """
        A data file that is not LMDB gives a StoreError naming the directory.
        """
        path = Path(self.mktemp())
        (path / "chain").mkdir(parents=True)
        (path / "chain" / "data.mdb").write_bytes(b"not an lmdb file" * 512)
        error = self.assertRaises(StoreError, ChainStore, path)
        self.assertIn(str(path), str(error))


def resident_file_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    raise RuntimeError("no RssFile in /proc/self/status")


class ResidentPagesTests(SynchronousTestCase):
    if not Path("/proc/self/status").exists():
        skip = "needs Linux /proc"

    def filled_store(self) -> tuple[ChainStore, bytes]:
        """
        A store of 8,000 values of 4 KiB, all read once so that its map is resident.
        """
        store = ChainStore(self.mktemp())
        self.addCleanup(store.close)
        value = bytes(range(256)) * 16

        def batch(txn: lmdb.Transaction) -> None:
            for i in range(8000):
                txn.put(i.to_bytes(4, "big"), value, db=store.dbs["tx"])

        store.write(batch)
        store.release_mapped_pages()
        with store.read() as txn:
            total = sum(len(v) for _, v in txn.cursor(db=store.dbs["tx"]))
        self.assertEqual(total, 8000 * len(value))
        return store, value

    def test_release_drops_mapped_pages(self) -> None:
        """
        After reading the whole store, releasing its pages shrinks the resident set again.
        """
        store, value = self.filled_store()
        before = resident_file_kib()
        store.release_mapped_pages()
        self.assertLess(resident_file_kib(), before - 16 * 1024)
        with store.read() as txn:
            self.assertEqual(fetch(txn, (7999).to_bytes(4, "big"), store.dbs["tx"]), value)

    def test_trim_releases_only_over_budget(self) -> None:
        """
        The map's pages are dropped once they take more than the budget, not before.
        """
        store, _ = self.filled_store()
        self.assertFalse(store.trim_mapped_pages(budget=64 * 1024 * 1024))
        before = resident_file_kib()
        self.assertTrue(store.trim_mapped_pages(budget=1024 * 1024))
        self.assertLess(resident_file_kib(), before - 16 * 1024)
        self.assertFalse(store.trim_mapped_pages(budget=1024 * 1024))
