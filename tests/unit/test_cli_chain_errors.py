"""
Tests for the chain commands of C{neonode} (L{neo_twisted.cli.chain}) on bad input and
damaged stores: one error line that leaves the store as it was, and what C{check} reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neo_twisted.core.block import Block
from neo_twisted.ledger.chainacc import read_chain_records
from neo_twisted.ledger.store import ChainStore, height_key
from tests.support.cli_chain_helpers import (
    BLOCKS,
    MAINNET,
    PRIVNET,
    PRIVNET_MAGIC,
    ChainCommandCase,
    chain_file,
    reference_dump,
    run,
)
from tests.support.store_compare import dump_store


def flip_witness_byte(path: Path, height: int) -> None:
    """Flip one byte inside the first signature of the block at C{height} of a chain.acc file."""
    _, records = read_chain_records(path)
    [record] = [r for r in records if r.height == height]
    invocation = Block.from_bytes(record.data).header.witness.invocation_script
    at = record.offset + 4 + record.data.index(invocation) + 10
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


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
        self.assert_same_store(datadir)
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
        self.assert_same_store(datadir)

    def test_foreign_data_directory(self) -> None:
        """
        A privnet store opened with the mainnet config is refused as another network's.
        """
        datadir = self.imported()
        for command, *extra in [("import", str(chain_file())), ("check",),
                                ("export", str(self.files_dir() / "chain.acc"))]:
            error = self.fails(command, "--datadir", str(datadir), "--config", MAINNET, *extra)
            self.assertIn("another network", error)
        self.assert_same_store(datadir)
        self.assertEqual(self.info(datadir)["magic"], PRIVNET_MAGIC)

    def test_nonexistent_chain_file(self) -> None:
        """
        A chain file that does not exist is named in the error; the store is untouched.
        """
        datadir = self.imported()
        missing = Path(self.mktemp()) / "chain.acc"
        self.assertIn(str(missing), self.fails("import", "--datadir", str(datadir), "--config",
                                               PRIVNET, str(missing)))
        self.assert_same_store(datadir)

    def test_not_a_chain_file(self) -> None:
        """
        A file of another name whose bytes are neither layout is an error naming it (a
        file of another name is read by its header: tests.unit.test_cli_import_names).
        """
        other = self.files_dir() / "notes.txt"
        other.write_bytes(b"no blocks here, only words: " * 10)
        datadir = Path(self.mktemp())
        error = self.fails("import", "--datadir", str(datadir), "--config", PRIVNET, str(other))
        self.assertIn(str(other), error)
        self.assertIn("neither a chain.acc nor a chain.<start>.acc layout", error)
        self.assertEqual(self.info(datadir)["block_height"], 0)

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
        self.assert_checks(datadir)

    def test_truncated_file_resumes(self) -> None:
        """
        After a truncated file, importing the whole file completes the same store.
        """
        path = self.files_dir() / "chain.acc"
        path.write_bytes(chain_file().read_bytes()[:-100])
        datadir = Path(self.mktemp())
        self.assertIn(f"record {BLOCKS}", self.fails(
            "import", "--datadir", str(datadir), "--config", PRIVNET, str(path)))
        self.assert_checks(datadir)
        self.import_(datadir, chain_file())
        self.assert_same_store(datadir)

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
        self.assert_checks(datadir)
        before = dump_store(datadir)
        self.fails("import", "--datadir", str(datadir), "--config", PRIVNET, str(path))
        self.assert_same_store(datadir, before)
        self.import_(datadir, chain_file())
        self.assert_same_store(datadir)


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
        self.assert_same_store(datadir, before)

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
