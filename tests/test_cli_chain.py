"""
Tests for the chain commands of C{neonode} (L{neo_twisted.cli.chain}), run in-process:
genesis, makechain, import, export, check and info on small generated privnet chains.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.cli import main
from neo_twisted.core.block import Block
from neo_twisted.ledger.chainacc import read_chain_records
from neo_twisted.ledger.store import ChainStore, height_key
from tests.store_compare import StoreDump, dump_store, heights, store_differences

ROOT = Path(__file__).resolve().parents[1]
PRIVNET = str(ROOT / "protocol.json")
MAINNET = str(ROOT / "protocol.mainnet.json")
TESTNET = str(ROOT / "protocol.testnet.json")
KEYS = str(ROOT / "devkeys" / "privnet.json")
PRIVNET_GENESIS = "0x996e37358dc369912041f966f8c5d8d3a8255ba5dcbd3447f8a82b55db869099"
MAINNET_GENESIS = "0xd42561e3d30e15be6400b6df2f328e02d2bf6354c41dce433bc57687c82144bf"
TESTNET_GENESIS = "0xb3181718ef6167105b70920e4a8fbbd0a0a56aacf460d70e10ba6fa1668f1fef"
PRIVNET_MAGIC = 56753
#: The shared chain: blocks after genesis, transfers per block, seed.
BLOCKS, TXS, SEED = 300, 3, 7

_cache: dict[str, Any] = {}


def run(*argv: str) -> tuple[int, str, str]:
    """Run C{neonode argv} in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def _workdir() -> Path:
    if "dir" not in _cache:
        # removed by the object's finalizer when the test process exits
        _cache["dir"] = tempfile.TemporaryDirectory(prefix="neonode-cli-chain-")
    return Path(_cache["dir"].name)


def chain_file() -> Path:
    """The shared C{chain.acc} (genesis and L{BLOCKS} blocks), made once per test run."""
    path = _workdir() / "made" / "chain.acc"
    if not path.exists():
        path.parent.mkdir()
        status, _, err = run("makechain", "--config", PRIVNET, "--keys", KEYS, "--blocks",
                             str(BLOCKS), "--txs-per-block", str(TXS), "--seed", str(SEED),
                             str(path))
        assert status == 0, err
    return path


def reference() -> Path:
    """The data directory of a clean import of L{chain_file}; only read, never written."""
    datadir = _workdir() / "reference"
    if "reference" not in _cache:
        status, _, err = run("import", "--datadir", str(datadir), "--config", PRIVNET,
                             str(chain_file()))
        assert status == 0, err
        _cache["reference"] = dump_store(datadir)
    return datadir


def reference_dump() -> StoreDump:
    """The store contents of L{reference}."""
    reference()
    dump: StoreDump = _cache["reference"]
    return dump


def flip_witness_byte(path: Path, height: int) -> None:
    """Flip one byte inside the first signature of the block at C{height} of a chain.acc file."""
    _, records = read_chain_records(path)
    [record] = [r for r in records if r.height == height]
    invocation = Block.from_bytes(record.data).header.witness.invocation_script
    at = record.offset + 4 + record.data.index(invocation) + 10
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


class ChainCommandCase(SynchronousTestCase):
    """Helpers to run the commands and to check their outcome."""

    def ok(self, *argv: str) -> str:
        """Run a command that must succeed silently on stderr; its output."""
        status, out, err = run(*argv)
        self.assertEqual((status, err), (0, ""), f"neonode {' '.join(argv)}")
        return out

    def fails(self, *argv: str) -> str:
        """Run a command that must fail with one error line and no output; the line."""
        status, out, err = run(*argv)
        self.assertEqual((status, out), (1, ""))
        self.assertTrue(err.startswith("neonode: error: "), err)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertNotIn("Traceback", err)
        return err

    def import_(self, datadir: Path | str, *files: Path | str) -> Any:
        return json.loads(self.ok("import", "--datadir", str(datadir), "--config", PRIVNET,
                                  *map(str, files)))

    def info(self, datadir: Path | str) -> Any:
        return json.loads(self.ok("info", "--datadir", str(datadir)))

    def export(self, datadir: Path | str, file: Path, *options: str) -> Any:
        return json.loads(self.ok("export", "--datadir", str(datadir), "--config", PRIVNET,
                                  *options, str(file)))

    def imported(self) -> Path:
        """A fresh data directory holding the whole shared chain."""
        datadir = Path(self.mktemp())
        self.import_(datadir, chain_file())
        return datadir

    def assertSameStore(self, datadir: Path | str, expected: StoreDump | None = None) -> None:
        expected = reference_dump() if expected is None else expected
        self.assertEqual(store_differences(dump_store(datadir), expected), [])

    def assertChecks(self, datadir: Path | str) -> None:
        out = self.ok("check", "--datadir", str(datadir), "--config", PRIVNET)
        self.assertTrue(out.startswith("ok: "), out)

    def files_dir(self) -> Path:
        path = Path(self.mktemp())
        path.mkdir()
        return path


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
        self.assertChecks(datadir)
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
        self.assertSameStore(datadir, before)
        self.assertSameStore(datadir)

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
        self.assertSameStore(fresh)

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
        self.assertSameStore(together)
        self.assertEqual(self.import_(apart, head)["block_height"], 100)
        self.assertEqual(self.import_(apart, tail)["imported"], BLOCKS - 100)
        self.assertSameStore(apart)

    def test_overlapping_partial_file(self) -> None:
        """
        The blocks of a partial file that the store already has are skipped.
        """
        head, overlap = self.partial_files(101)[0], self.files_dir() / "chain.50.acc"
        self.export(reference(), overlap, "--start", "50")
        datadir = Path(self.mktemp())
        self.import_(datadir, head)
        self.assertEqual(self.import_(datadir, overlap)["imported"], BLOCKS - 100)
        self.assertSameStore(datadir)

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
        self.assertSameStore(datadir)
        head, tail = self.partial_files(120, compress=True)
        datadir = Path(self.mktemp())
        self.import_(datadir, head, tail)
        self.assertSameStore(datadir)

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
        self.assertSameStore(datadir)

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


class BadInputTests(ChainCommandCase):
    """
    Bad input is one error line with exit status 1, and leaves the store as it was.
    """

    def test_missing_config(self) -> None:
        """
        A config file that does not exist is named in the error; nothing is created.
        """
        missing = str(Path(self.mktemp()) / "protocol.json")
        datadir = self.imported()
        fresh = Path(self.mktemp())
        for argv in [("genesis",), ("check", "--datadir", str(datadir)),
                     ("import", "--datadir", str(datadir), str(chain_file())),
                     ("import", "--datadir", str(fresh), str(chain_file())),
                     ("export", "--datadir", str(datadir), str(self.files_dir() / "chain.acc")),
                     ("makechain", "--blocks", "5", str(self.files_dir() / "chain.acc"))]:
            error = self.fails(*argv, "--config", missing)
            self.assertIn(missing, error)
        self.assertSameStore(datadir)
        self.assertFalse(fresh.exists())

    def test_malformed_config(self) -> None:
        """
        A config that is not JSON, or lacks what a network needs, is an error naming the file.
        """
        files = self.files_dir()
        datadir = self.imported()
        for name, text in [("broken.json", '{"ProtocolConfiguration": {'),
                           ("empty.json", "{}"),
                           ("nomagic.json", '{"ProtocolConfiguration": {"AddressVersion": 23}}')]:
            config = str(files / name)
            Path(config).write_text(text)
            self.assertIn(config, self.fails("genesis", "--config", config))
            self.assertIn(config, self.fails("import", "--datadir", str(datadir), "--config",
                                             config, str(chain_file())))
            self.assertIn(config, self.fails("check", "--datadir", str(datadir), "--config",
                                             config))
        self.assertSameStore(datadir)

    def test_foreign_data_directory(self) -> None:
        """
        A privnet store opened with the mainnet config is refused as another network's.
        """
        datadir = self.imported()
        for command, *extra in [("import", str(chain_file())), ("check",),
                                ("export", str(self.files_dir() / "chain.acc"))]:
            error = self.fails(command, "--datadir", str(datadir), "--config", MAINNET, *extra)
            self.assertIn("another network", error)
        self.assertSameStore(datadir)
        self.assertEqual(self.info(datadir)["magic"], PRIVNET_MAGIC)

    def test_nonexistent_chain_file(self) -> None:
        """
        A chain file that does not exist is named in the error; the store is untouched.
        """
        datadir = self.imported()
        missing = Path(self.mktemp()) / "chain.acc"
        self.assertIn(str(missing), self.fails("import", "--datadir", str(datadir), "--config",
                                               PRIVNET, str(missing)))
        self.assertSameStore(datadir)

    def test_no_chain_file_name(self) -> None:
        """
        Files whose names are not chain file names are an error, not a silent success.
        """
        other = self.files_dir() / "blocks.bin"
        other.write_bytes(chain_file().read_bytes())
        self.assertIn("no chain files", self.fails(
            "import", "--datadir", self.mktemp(), "--config", PRIVNET, str(other)))

    def test_truncated_file(self) -> None:
        """
        A file cut inside a record: the error names the record, the blocks before it stay.
        """
        cut_at = 200
        path = self.files_dir() / "chain.acc"
        _, records = read_chain_records(chain_file())
        [record] = [r for r in records if r.height == cut_at]
        path.write_bytes(chain_file().read_bytes()[:record.offset + 4 + len(record.data) // 2])
        datadir = Path(self.mktemp())
        error = self.fails("import", "--datadir", str(datadir), "--config", PRIVNET, str(path))
        self.assertIn(f"record {cut_at}", error)
        self.assertIn("truncated", error)
        self.assertEqual(self.info(datadir)["block_height"], cut_at - 1)
        self.assertChecks(datadir)

    def test_truncated_file_resumes(self) -> None:
        """
        After a truncated file, importing the whole file completes the same store.
        """
        path = self.files_dir() / "chain.acc"
        path.write_bytes(chain_file().read_bytes()[:-100])
        datadir = Path(self.mktemp())
        self.assertIn(f"record {BLOCKS}", self.fails(
            "import", "--datadir", str(datadir), "--config", PRIVNET, str(path)))
        self.assertChecks(datadir)
        self.import_(datadir, chain_file())
        self.assertSameStore(datadir)

    def test_corrupted_block_witness(self) -> None:
        """
        A flipped byte in a block's signature rejects that block; the blocks before it stay.
        """
        bad_at = 200
        path = self.files_dir() / "chain.acc"
        path.write_bytes(chain_file().read_bytes())
        flip_witness_byte(path, bad_at)
        datadir = Path(self.mktemp())
        error = self.fails("import", "--datadir", str(datadir), "--config", PRIVNET, str(path))
        self.assertIn(f"block {bad_at} rejected", error)
        self.assertIn("witness", error)
        info = self.info(datadir)
        self.assertEqual((info["header_height"], info["block_height"]), (bad_at - 1, bad_at - 1))
        self.assertChecks(datadir)
        before = dump_store(datadir)
        self.fails("import", "--datadir", str(datadir), "--config", PRIVNET, str(path))
        self.assertSameStore(datadir, before)
        self.import_(datadir, chain_file())
        self.assertSameStore(datadir)


class CheckTests(ChainCommandCase):
    """
    C{check} finds damage that a direct write to the store left behind.
    """

    def damage(self, datadir: Path, database: str, change: Any) -> None:
        """Call C{change(txn, db, key, value)} on the middle entry of C{database}, and commit."""
        entries = reference_dump()[database]
        key, value = entries[len(entries) // 2]
        store = ChainStore(datadir)
        try:
            store.write(lambda txn: change(txn, store.dbs[database], key, value))
        finally:
            store.close()

    def problems(self, datadir: Path) -> list[str]:
        status, out, err = run("check", "--datadir", str(datadir), "--config", PRIVNET)
        self.assertEqual((status, err), (1, ""))
        lines = out.splitlines()
        self.assertTrue(lines)
        self.assertTrue(all(line.startswith("problem: ") for line in lines), out)
        return lines

    def test_missing_unspent_output(self) -> None:
        """
        An unspent output deleted from the store is reported against C{unspent}, every time.
        """
        datadir = self.imported()
        self.damage(datadir, "unspent", lambda txn, db, key, value: txn.delete(key, db=db))
        before = dump_store(datadir)
        problems = self.problems(datadir)
        self.assertEqual([line.split(":")[1].strip() for line in problems], ["unspent"])
        self.assertEqual(self.problems(datadir), problems)
        self.assertSameStore(datadir, before)

    def test_changed_balance(self) -> None:
        """
        A balance changed in the store is reported against C{balance}, naming the key.
        """
        datadir = self.imported()
        changed = []

        def change(txn: Any, db: Any, key: bytes, value: bytes) -> None:
            changed.append(key.hex())
            txn.put(key, (int.from_bytes(value, "little", signed=True) + 1).to_bytes(
                8, "little", signed=True), db=db)

        self.damage(datadir, "balance", change)
        [problem] = self.problems(datadir)
        self.assertIn("balance", problem)
        self.assertIn(changed[0], problem)

    def test_missing_header(self) -> None:
        """
        A header missing from the height index is reported with its height.
        """
        datadir = self.imported()
        self.damage(datadir, "height", lambda txn, db, key, value: txn.delete(height_key(150),
                                                                              db=db))
        self.assertIn("problem: header 150 is missing", self.problems(datadir))

    def test_no_store(self) -> None:
        """
        On a directory without a chain store, info and check are errors that create nothing.
        """
        datadir = Path(self.mktemp())
        self.assertIn("no chain store", self.fails("info", "--datadir", str(datadir)))
        self.assertIn(str(datadir), self.fails("check", "--datadir", str(datadir), "--config",
                                               PRIVNET))
        self.assertFalse(datadir.exists())
