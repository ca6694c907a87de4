"""
C{neonode import} of files of any name (L{neo_twisted.cli.chain}), and the layout
read from a file's first record (L{neo_twisted.ledger.chainnames.sniff_layout}).

neo-cli tells C{chain.acc} from C{chain.<start>.acc} by the name; an operator's
C{blocks.acc} or C{/dev/stdin} is told by its bytes.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import zipfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.ledger.chainacc import ChainFileError, ChainReader, read_chain_records
from neo_twisted.ledger.chainnames import order_chain_files, sniff_layout
from tests.support.cli_chain_helpers import (
    BLOCKS,
    PRIVNET,
    ChainCommandCase,
    chain_file,
    reference,
    run,
)


class ImportAnyNameTests(ChainCommandCase):
    """
    The chain commands with files named otherwise, and with C{--network}.
    """

    def test_full_layout(self) -> None:
        """
        A C{chain.acc} under another name, plain or zipped, imports every block.
        """
        files = self.files_dir()
        plain = files / "blocks.bin"
        plain.write_bytes(chain_file().read_bytes())
        datadir = Path(self.mktemp())
        self.assertEqual(self.import_(datadir, plain)["imported"], BLOCKS)
        self.assert_same_store(datadir)
        zipped = files / "mainchain.zip"
        with zipfile.ZipFile(zipped, "w") as archive:
            archive.write(chain_file(), "mainchain")
        datadir = Path(self.mktemp())
        self.assertEqual(self.import_(datadir, zipped)["imported"], BLOCKS)
        self.assert_same_store(datadir)

    def test_partial_layout_in_order_given(self) -> None:
        """
        An export with C{--start} to another name has the C{chain.<start>.acc} layout;
        importing two such files in order completes the chain; the start comes from
        the header.
        """
        files = self.files_dir()
        first, second = files / "first.acc", files / "second.dat"
        self.assertEqual(self.export(reference(), first, "--count", "101")["start"], 0)
        self.assertEqual(self.export(reference(), second, "--start", "101")["exported"],
                         BLOCKS - 100)
        self.assertEqual(ChainReader(second).start, 101)
        datadir = Path(self.mktemp())
        self.assertEqual(self.import_(datadir, first, second)["imported"], BLOCKS)
        self.assert_same_store(datadir)

    def test_gap(self) -> None:
        """
        A file of another name starting past the next height is not read: a line
        says so, and the import stops there.
        """
        files = self.files_dir()
        later = files / "later.acc"
        self.export(reference(), later, "--start", "200")
        datadir = Path(self.mktemp())
        status, out, err = self.run_import(datadir, later)
        self.assertEqual((status, json.loads(out)["imported"]), (0, 0))
        self.assertEqual(err, f"neonode: stopping before {later}: it starts at 200, after "
                              "height 0 + 1\n")
        self.assertEqual(self.info(datadir)["block_height"], 0)

    def run_import(self, datadir: Path, *files: Path) -> tuple[int, str, str]:
        return run("import", "--datadir", str(datadir), "--config", PRIVNET, *map(str, files))

    def test_network_option(self) -> None:
        """
        C{--network privnet} instead of C{--config}: the bundled file, wherever the
        command runs; a store of another network is refused as before.
        """
        datadir = Path(self.mktemp())
        self.ok("import", "--network", "privnet", "--datadir", str(datadir), str(chain_file()))
        self.assert_same_store(datadir)
        self.assertIn("another network", self.fails("check", "--network", "mainnet",
                                                    "--datadir", str(datadir)))
        mainnet = str(Path(PRIVNET).with_name("protocol.mainnet.json"))
        self.assertIn(f"--config {mainnet} is the network of magic 7630401 (mainnet), "
                      "--network privnet the one of magic 56753",
                      self.fails("check", "--network", "privnet", "--config", mainnet,
                                 "--datadir", str(datadir)))


class SniffTests(SynchronousTestCase):
    """
    The layout of a file told by its first bytes.
    """

    def test_layouts(self) -> None:
        """
        A C{chain.acc} fits only the full layout, a C{chain.<start>.acc} only the
        partial one with its start; empty files of either layout; anything else neither.
        """
        data = chain_file().read_bytes()
        self.assertEqual(sniff_layout(data[:88]), (False, 0))
        _, records = read_chain_records(chain_file())
        record = next(r for r in records if r.height == 7)
        partial = struct.pack("<II", 7, 1) + struct.pack("<i", len(record.data)) + record.data
        self.assertEqual(sniff_layout(partial[:88]), (True, 7))
        self.assertEqual(sniff_layout(bytes(4)), (False, 0))
        self.assertEqual(sniff_layout(struct.pack("<II", 9, 0)), (True, 9))
        for other in (b"", b"PK\x03\x04" + bytes(84), b"{}" * 44, data[:40]):
            self.assertIsNone(sniff_layout(other), other[:8])

    def test_not_a_chain_file(self) -> None:
        """
        The reader names the file when neither layout fits.
        """
        path = Path(self.mktemp())
        path.write_bytes(b"x" * 100)
        error = self.assertRaises(ChainFileError, ChainReader, path)
        self.assertIn(str(path), str(error))
        self.assertIn("neither a chain.acc nor", str(error))

    def test_pipe(self) -> None:
        """
        The bytes read to tell the layout are not lost: a pipe (read once) of another
        name gives every block.
        """
        directory = Path(self.mktemp())
        directory.mkdir()
        fifo = directory / "stream"
        os.mkfifo(fifo)
        data = chain_file().read_bytes()

        def feed() -> None:
            with open(fifo, "wb") as pipe:
                pipe.write(data)

        writer = threading.Thread(target=feed)
        writer.start()
        try:
            with ChainReader(fifo) as reader:
                heights = [record.height for record in reader.records()]
        finally:
            writer.join()
        self.assertEqual(heights, list(range(BLOCKS + 1)))

    def test_order(self) -> None:
        """
        With C{any_name}, files of other names come after the named ones, as given.
        """
        names = ["b.dat", "chain.5.acc", "a.dat", "chain.acc"]
        self.assertEqual([i.path.name for i in order_chain_files(names, any_name=True)],
                         ["chain.acc", "chain.5.acc", "b.dat", "a.dat"])
        self.assertEqual([i.path.name for i in order_chain_files(names)],
                         ["chain.acc", "chain.5.acc"])
