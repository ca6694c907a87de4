"""
Tests for the chain commands of C{neonode} (L{neo_twisted.cli.chain}), run in-process:
genesis, makechain, import and export on small generated privnet chains. Bad input and
the damage C{check} finds are in L{tests.unit.test_cli_chain_errors}.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from neo_twisted.ledger.chainacc import read_chain_records
from tests.support.cli_chain_helpers import (
    BLOCKS,
    KEYS,
    MAINNET,
    MAINNET_GENESIS,
    PRIVNET,
    PRIVNET_GENESIS,
    PRIVNET_MAGIC,
    TESTNET,
    TESTNET_GENESIS,
    ChainCommandCase,
    chain_file,
    reference,
    run,
)
from tests.support.store_compare import dump_store, heights


class GenesisTests(ChainCommandCase):
    def test_known_hashes(self) -> None:
        """
        The genesis block of each bundled network has its well-known hash.
        """
        for config, expected in [(PRIVNET, PRIVNET_GENESIS), (MAINNET, MAINNET_GENESIS),
                                 (TESTNET, TESTNET_GENESIS)]:
            block = json.loads(self.ok("genesis", "--config", config))
            self.assertEqual((block["hash"], block["index"]), (expected, 0), config)


class MakechainTests(ChainCommandCase):
    def make(self, path: Path, seed: int) -> Any:
        return json.loads(self.ok("makechain", "--config", PRIVNET, "--keys", KEYS, "--blocks",
                                  "60", "--txs-per-block", "2", "--seed", str(seed), str(path)))

    def test_deterministic(self) -> None:
        """
        The same seed gives byte-identical files, another seed a different chain.
        """
        first, second, other = (self.files_dir() / "chain.acc" for _ in range(3))
        result = self.make(first, 5)
        self.assertEqual((result["blocks"], result["genesis"]), (61, PRIVNET_GENESIS))
        self.make(second, 5)
        self.make(other, 6)
        self.assertEqual(first.read_bytes(), second.read_bytes())
        self.assertNotEqual(first.read_bytes(), other.read_bytes())

    def test_layout(self) -> None:
        """
        The file holds genesis then every generated height, each with a miner tx and K transfers.
        """
        path = self.files_dir() / "chain.acc"
        self.make(path, 5)
        blocks = [record.block() for record in read_chain_records(path)[1]]
        self.assertEqual([block.index for block in blocks], list(range(61)))
        self.assertEqual(str(blocks[0].hash), PRIVNET_GENESIS)
        self.assertTrue(all(len(block.transactions) == 3 for block in blocks[1:]))


class ImportTests(ChainCommandCase):
    def test_import_check_info(self) -> None:
        """
        A generated chain imports completely, passes the check, and info shows its heights.
        """
        datadir = Path(self.mktemp())
        result = self.import_(datadir, chain_file())
        self.assertEqual([result[k] for k in ("imported", "block_height", "header_height")],
                         [BLOCKS, BLOCKS, BLOCKS])
        self.assert_checks(datadir)
        info = self.info(datadir)
        self.assertEqual([info[k] for k in ("magic", "genesis", "header_height", "block_height")],
                         [PRIVNET_MAGIC, PRIVNET_GENESIS, BLOCKS, BLOCKS])
        self.assertGreater(info["size_on_disk"], 0)

    def test_import_twice(self) -> None:
        """
        Importing the same file again imports nothing and changes nothing.
        """
        datadir = self.imported()
        before = dump_store(datadir)
        result = self.import_(datadir, chain_file())
        self.assertEqual((result["imported"], result["block_height"]), (0, BLOCKS))
        self.assert_same_store(datadir, before)
        self.assert_same_store(datadir)

    def test_export_whole_chain(self) -> None:
        """
        An export reproduces the imported file byte for byte; importing it gives the same store.
        """
        exported = self.files_dir() / "chain.acc"
        result = self.export(self.imported(), exported)
        self.assertEqual((result["exported"], result["start"]), (BLOCKS + 1, 0))
        self.assertEqual(exported.read_bytes(), chain_file().read_bytes())
        fresh = Path(self.mktemp())
        self.import_(fresh, exported)
        self.assert_same_store(fresh)

    def partial_files(self, split: int, compress: bool = False) -> tuple[Path, Path]:
        """The chain exported as chain.acc (heights 0..split-1) and chain.<split>.acc (the rest)."""
        files, suffix = self.files_dir(), ".zip" if compress else ""
        head, tail = files / f"chain.acc{suffix}", files / f"chain.{split}.acc{suffix}"
        self.export(reference(), head, "--count", str(split))
        self.export(reference(), tail, "--start", str(split))
        return head, tail

    def test_partial_exports(self) -> None:
        """
        chain.acc and chain.<start>.acc, together (in any order) or one after the other,
        rebuild the same store.
        """
        head, tail = self.partial_files(101)
        together, apart = Path(self.mktemp()), Path(self.mktemp())
        result = self.import_(together, tail, head)
        self.assertEqual((result["imported"], result["block_height"]), (BLOCKS, BLOCKS))
        self.assert_same_store(together)
        self.assertEqual(self.import_(apart, head)["block_height"], 100)
        self.assertEqual(self.import_(apart, tail)["imported"], BLOCKS - 100)
        self.assert_same_store(apart)

    def test_overlapping_partial_file(self) -> None:
        """
        The blocks of a partial file that the store already has are skipped.
        """
        head, overlap = self.partial_files(101)[0], self.files_dir() / "chain.50.acc"
        self.export(reference(), overlap, "--start", "50")
        datadir = Path(self.mktemp())
        self.import_(datadir, head)
        self.assertEqual(self.import_(datadir, overlap)["imported"], BLOCKS - 100)
        self.assert_same_store(datadir)

    def test_partial_file_after_a_gap(self) -> None:
        """
        A partial file starting past the height + 1 is not imported, with a message naming it.
        """
        head, _ = self.partial_files(101)
        gap = head.parent / "chain.150.acc"
        self.export(reference(), gap, "--start", "150")
        datadir = Path(self.mktemp())
        status, out, err = run("import", "--datadir", str(datadir), "--config", PRIVNET,
                               str(head), str(gap))
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out)["block_height"], 100)
        self.assertIn(str(gap), err)
        self.assertIn("150", err)
        self.assertEqual(heights(dump_store(datadir)), (100, 100))

    def test_zip_files(self) -> None:
        """
        Zipped exports, whole or partial, import to the same store as the plain file.
        """
        whole = self.files_dir() / "chain.acc.zip"
        self.export(reference(), whole)
        self.assertTrue(zipfile.is_zipfile(whole))
        datadir = Path(self.mktemp())
        self.import_(datadir, whole)
        self.assert_same_store(datadir)
        head, tail = self.partial_files(120, compress=True)
        datadir = Path(self.mktemp())
        self.import_(datadir, head, tail)
        self.assert_same_store(datadir)

    def test_export_with_explicit_start_zero(self) -> None:
        """
        An export to chain.acc with C{--start 0} can be imported back.

        (Fails today: C{_export} forces the chain.<start> layout whenever C{--start} is
        given, so chain.acc gets a start height the importer reads as the record count.)
        """
        files = self.files_dir()
        self.export(reference(), files / "chain.acc", "--start", "0")
        datadir = Path(self.mktemp())
        self.import_(datadir, files / "chain.acc")
        self.assert_same_store(datadir)

    def test_export_range_not_stored(self) -> None:
        """
        Exporting heights the store lacks is a one-line error that writes no file.
        """
        files = self.files_dir()
        error = self.fails("export", "--datadir", str(reference()), "--config", PRIVNET,
                           "--start", str(BLOCKS + 1), str(files / f"chain.{BLOCKS + 1}.acc"))
        self.assertIn(f"block height {BLOCKS}", error)
        self.assertEqual(os.listdir(files), [])

    def test_export_name_disagrees_with_start(self) -> None:
        """
        A chain.<n>.acc name that disagrees with C{--start} is a one-line error, no traceback.

        (Fails today: L{ChainWriter} raises ValueError, which C{_guarded} lets through.)
        """
        files = self.files_dir()
        error = self.fails("export", "--datadir", str(reference()), "--config", PRIVNET,
                           "--start", "5", str(files / "chain.7.acc"))
        self.assertIn("chain.7.acc", error)
        self.assertEqual(os.listdir(files), [])
