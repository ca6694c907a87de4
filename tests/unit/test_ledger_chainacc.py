"""
Tests for L{neo_twisted.ledger.chainacc}: neo-cli's C{chain.acc} and C{chain.<start>.acc}
files, plain and zipped.

Damaged files must fail with a L{ChainFileError} that says where (file, record,
offset), and an export that does not finish must leave nothing under its name.
"""

from __future__ import annotations

import functools
import os
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import Block
from neo_twisted.ledger.chainacc import (
    MAX_RECORD_SIZE,
    ChainFileError,
    ChainReader,
    ChainWriter,
    chain_file_name,
    find_chain_files,
    order_chain_files,
    parse_chain_file_name,
    read_chain_file,
    read_chain_records,
    write_chain_file,
)
from neo_twisted.ledger.generator import account_keys, generate_chain
from neo_twisted.ledger.genesis import genesis_block
from neo_twisted.ledger.settings import ProtocolSettings


@functools.cache
def chain() -> tuple[Block, ...]:
    """
    Genesis and 7 generated blocks of a small made-up network.
    """
    keys = account_keys(42, 4)
    settings = ProtocolSettings(magic=1, address_version=23, seed_list=(),
                                standby_validators=tuple(k.public_key for k in keys))
    genesis = genesis_block(settings.standby_validators)
    return (genesis, *generate_chain(settings, keys, 7, 2, seed=5))


def serialized(blocks: tuple[Block, ...]) -> list[bytes]:
    return [b.to_bytes() for b in blocks]


def records(blocks: list[bytes]) -> bytes:
    return b"".join(struct.pack("<i", len(b)) + b for b in blocks)


class Files(SynchronousTestCase):
    """
    A fresh directory per test.
    """

    def setUp(self) -> None:
        self.directory = Path(self.mktemp())
        self.directory.mkdir()

    def file(self, name: str, data: bytes) -> Path:
        path = self.directory / name
        path.write_bytes(data)
        return path

    def read(self, path: Path) -> list[bytes]:
        _, blocks = read_chain_file(path)
        return [b.to_bytes() for b in blocks]

    def failure(self, path: Path) -> ChainFileError:
        """
        The error reading every block of C{path} raises.
        """
        def read_all() -> None:
            _, blocks = read_chain_file(path)
            for _ in blocks:
                pass
        error: ChainFileError = self.assertRaises(ChainFileError, read_all)
        return error


class RoundTripTests(Files):
    """
    What the writer writes, the reader reads back, in each layout.
    """

    def test_full_layout(self) -> None:
        """
        C{chain.acc} is a count and the records from height 0.
        """
        path = self.directory / "chain.acc"
        self.assertEqual(write_chain_file(path, chain()), 8)
        data = path.read_bytes()
        self.assertEqual(data, struct.pack("<I", 8) + records(serialized(chain())))
        start, blocks = read_chain_file(path)
        self.assertEqual(start, 0)
        self.assertEqual([b.to_bytes() for b in blocks], serialized(chain()))

    def test_partial_layout(self) -> None:
        """
        C{chain.<start>.acc} adds the start height before the count.
        """
        path = self.directory / "chain.3.acc"
        write_chain_file(path, chain()[3:], start=3)
        self.assertEqual(path.read_bytes()[:8], struct.pack("<II", 3, 5))
        start, blocks = read_chain_file(path)
        self.assertEqual(start, 3)
        self.assertEqual([b.to_bytes() for b in blocks], serialized(chain()[3:]))

    def test_zip(self) -> None:
        """
        A C{.zip} holds one entry named as the file without C{.zip}, whether the count
        was known up front (streamed) or not (patched, then compressed).
        """
        for count in (None, 5):
            path = self.directory / "chain.3.acc.zip"
            write_chain_file(path, chain()[3:], start=3, count=count)
            with zipfile.ZipFile(path) as archive:
                self.assertEqual(archive.namelist(), ["chain.3.acc"])
                self.assertEqual(archive.read("chain.3.acc"),
                                 struct.pack("<II", 3, 5) + records(serialized(chain()[3:])))
            self.assertEqual(self.read(path), serialized(chain()[3:]))
            self.assertEqual(os.listdir(self.directory), ["chain.3.acc.zip"])

    def test_raw_records(self) -> None:
        """
        Records can be read undecoded, with their position, and decoded on demand.
        """
        path = self.directory / "chain.acc"
        write_chain_file(path, serialized(chain()))
        start, stream = read_chain_records(path)
        got = list(stream)
        self.assertEqual(start, 0)
        self.assertEqual([r.data for r in got], serialized(chain()))
        self.assertEqual([r.height for r in got], list(range(8)))
        self.assertEqual(got[1].offset, 4 + 4 + len(got[0].data))
        self.assertEqual(got[5].block(), chain()[5])

    def test_empty(self) -> None:
        """
        An export of no blocks is just its header.
        """
        path = self.directory / "chain.acc"
        self.assertEqual(write_chain_file(path, []), 0)
        self.assertEqual(path.read_bytes(), bytes(4))
        self.assertEqual(self.read(path), [])

    def test_reader_closes(self) -> None:
        """
        L{ChainReader} reads its records once and closes its file.
        """
        path = self.directory / "chain.acc"
        write_chain_file(path, chain())
        with ChainReader(path) as reader:
            self.assertEqual((reader.start, reader.count), (0, 8))
            self.assertEqual(len(list(reader.blocks())), 8)
            self.assertRaises(RuntimeError, list, reader.records())
        self.assertRaises(ValueError, reader._stream.read, 1)

    def test_dropped_iterator_closes(self) -> None:
        """
        Dropping the iterator of L{read_chain_file}, even unstarted, closes the file.
        """
        path = self.directory / "chain.acc"
        write_chain_file(path, chain())
        _, blocks = read_chain_file(path)
        stream = blocks._reader._stream  # type: ignore[attr-defined]
        del blocks
        self.assertTrue(stream.closed)


class DamageTests(Files):
    """
    Damaged files raise L{ChainFileError} naming the file, record and offset.
    """

    def setUp(self) -> None:
        super().setUp()
        self.blocks = serialized(chain())
        self.data = struct.pack("<I", 8) + records(self.blocks)
        self.third = 4 + sum(4 + len(b) for b in self.blocks[:2])  # offset of record 2

    def test_truncated_record(self) -> None:
        """
        A file cut inside record 2 fails at record 2, after yielding records 0 and 1.
        """
        path = self.file("chain.acc", self.data[: self.third + 50])
        _, blocks = read_chain_file(path)
        self.assertEqual(next(blocks).to_bytes(), self.blocks[0])
        self.assertEqual(next(blocks).to_bytes(), self.blocks[1])
        error = self.assertRaises(ChainFileError, next, blocks)
        self.assertEqual((error.record, error.offset), (2, self.third + 4))
        self.assertIn(str(path), str(error))
        self.assertIn("record 2", str(error))
        self.assertIn("truncated", str(error))

    def test_truncated_header(self) -> None:
        """
        A file too short for its header fails when opened.
        """
        error = self.assertRaises(ChainFileError, read_chain_file,
                                  self.file("chain.5.acc", struct.pack("<I", 5)))
        self.assertEqual((error.record, error.offset), (None, 4))

    def test_bad_length(self) -> None:
        """
        Negative, zero and oversized record lengths are refused before reading the record.
        """
        for length in (-1, 0, 20, MAX_RECORD_SIZE + 1, 2**31 - 1):
            data = self.data[: self.third] + struct.pack("<i", length) + bytes(200)
            error = self.failure(self.file("chain.acc", data))
            self.assertEqual((error.record, error.offset), (2, self.third))
            self.assertIn(f"bad record length {length}", str(error))

    def test_count_too_large(self) -> None:
        """
        A count beyond the records present is a truncation at the first missing record.
        """
        error = self.failure(self.file("chain.acc", struct.pack("<I", 9) + self.data[4:]))
        self.assertEqual((error.record, error.offset), (8, len(self.data)))

    def test_count_too_small(self) -> None:
        """
        Records after the announced count are an error, not silently ignored.
        """
        error = self.failure(self.file("chain.acc", struct.pack("<I", 7) + self.data[4:]))
        self.assertIn("after the 7 records", str(error))

    def test_wrong_height(self) -> None:
        """
        A record whose block is not at the height its position implies is refused.
        """
        data = struct.pack("<I", 2) + records([self.blocks[0], self.blocks[2]])
        error = self.failure(self.file("chain.acc", data))
        self.assertEqual(error.record, 1)
        self.assertIn("holds block 2, expected height 1", str(error))

    def test_corrupt_block(self) -> None:
        """
        A block that does not decode is reported with its record, height and the offset of
        the bad byte in the file.
        """
        data = bytearray(self.data)
        data[self.third + 4 + 104] = 2  # the header's one-witness marker
        error = self.failure(self.file("chain.acc", bytes(data)))
        self.assertEqual((error.record, error.height, error.offset),
                         (2, 2, self.third + 4 + 104))
        self.assertIn("corrupt block", str(error))

    def test_name_and_header_disagree(self) -> None:
        """
        A C{chain.<start>.acc} whose header names another start is refused.
        """
        data = struct.pack("<I", 4) + struct.pack("<I", 0)
        error = self.assertRaises(ChainFileError, read_chain_file, self.file("chain.3.acc", data))
        self.assertIn("start height 4", str(error))

    def test_bad_zip(self) -> None:
        """
        A C{.zip} that is not a zip, or lacks its entry, is refused when opened.
        """
        self.assertRaises(ChainFileError, read_chain_file, self.file("chain.acc.zip", b"nozip"))
        other = self.directory / "chain.acc.zip"
        with zipfile.ZipFile(other, "w") as archive:
            archive.writestr("other.acc", self.data)
        error = self.assertRaises(ChainFileError, read_chain_file, other)
        self.assertIn("no entry 'chain.acc'", str(error))

    def test_corrupt_zip(self) -> None:
        """
        Damage inside the compressed data is a L{ChainFileError}, whatever it breaks
        (the deflate stream, a length, a block or the CRC).
        """
        path = self.directory / "chain.acc.zip"
        write_chain_file(path, chain())
        data = path.read_bytes()
        for at in range(60, len(data) - 200, 97):
            damaged = bytearray(data)
            damaged[at] ^= 0x55
            self.failure(self.file("chain.acc.zip", bytes(damaged)))

    def test_missing(self) -> None:
        """
        A file that does not exist is a L{ChainFileError} too.
        """
        self.assertRaises(ChainFileError, read_chain_file, self.directory / "chain.acc")


class WriterTests(Files):
    """
    The writer publishes a file only when it is complete and consistent.
    """

    def failing(self, stop: int) -> Iterator[Block]:
        yield from chain()[:stop]
        raise RuntimeError("interrupted")

    def test_interrupted(self) -> None:
        """
        An export interrupted midway leaves no file under the final name and no temporary.
        """
        for name in ("chain.acc", "chain.acc.zip"):
            self.assertRaises(RuntimeError, write_chain_file, self.directory / name,
                              self.failing(4))
        self.assertEqual(os.listdir(self.directory), [])

    def test_interrupted_keeps_old(self) -> None:
        """
        An interrupted export leaves an existing file of that name as it was.
        """
        path = self.file("chain.acc", b"old")
        self.assertRaises(RuntimeError, write_chain_file, path, self.failing(4))
        self.assertEqual(path.read_bytes(), b"old")
        self.assertEqual(os.listdir(self.directory), ["chain.acc"])

    def test_count_mismatch(self) -> None:
        """
        Fewer blocks than the announced count abort the export; more are refused at once.
        """
        path = self.directory / "chain.acc"
        self.assertRaises(ValueError, write_chain_file, path, chain()[:3], count=4)
        self.assertRaises(ValueError, write_chain_file, path, chain()[:3], count=2)
        self.assertEqual(os.listdir(self.directory), [])

    def test_heights_follow_on(self) -> None:
        """
        Blocks must come at consecutive heights from the start.
        """
        with ChainWriter(self.directory / "chain.1.acc", 1) as writer:
            self.assertRaises(ValueError, writer.write, chain()[2])
            writer.write(chain()[1])
        self.assertEqual(writer.written, 1)

    def test_layout_checks(self) -> None:
        """
        A C{chain.acc} layout starts at 0, and a C{chain.<start>.acc} name fixes its start.
        """
        self.assertRaises(ValueError, ChainWriter, self.directory / "chain.acc", 3)
        self.assertRaises(ValueError, ChainWriter, self.directory / "chain.3.acc", 4)
        self.assertEqual(os.listdir(self.directory), [])

    def test_explicit_layout(self) -> None:
        """
        Any name can hold either layout when both sides say which.
        """
        path = self.directory / "export.bin"
        write_chain_file(path, chain()[2:], 2, partial=True)
        start, blocks = read_chain_file(path, partial=True)
        self.assertEqual((start, [b.to_bytes() for b in blocks]), (2, serialized(chain()[2:])))


class NamingTests(SynchronousTestCase):
    """
    File names decide the layout and the import order, as in neo-cli.
    """

    def test_parse(self) -> None:
        """
        The name tells whether a start is stored, the start, and the zip entry.
        """
        info = parse_chain_file_name("/x/chain.100.acc.zip")
        self.assertEqual((info.partial, info.start, info.compressed, info.entry),
                         (True, 100, True, "chain.100.acc"))
        info = parse_chain_file_name("chain.acc")
        self.assertEqual((info.partial, info.start, info.compressed), (False, 0, False))

    def test_name(self) -> None:
        """
        Exports are named C{chain.acc} or C{chain.<start>.acc}, plus C{.zip}.
        """
        self.assertEqual(chain_file_name(), "chain.acc")
        self.assertEqual(chain_file_name(7, compressed=True), "chain.7.acc.zip")

    def test_order(self) -> None:
        """
        C{chain.acc} comes first, then partial files by numeric start; other names are
        ignored, and a plain file shadows its zip.
        """
        names = ["chain.20.acc", "chain.3.acc.zip", "notes.txt", "chain.acc.zip",
                 "chain.100.acc", "chain.3.acc", "chain.x.acc"]
        self.assertEqual([i.path.name for i in order_chain_files(names)],
                         ["chain.acc.zip", "chain.3.acc", "chain.20.acc", "chain.100.acc"])
        self.assertEqual([i.start for i in order_chain_files(names)], [0, 3, 20, 100])

    def test_find(self) -> None:
        """
        L{find_chain_files} orders the chain files of a directory.
        """
        directory = Path(self.mktemp())
        directory.mkdir()
        for name in ("chain.9.acc", "chain.acc", "readme"):
            (directory / name).write_bytes(b"")
        self.assertEqual([i.path.name for i in find_chain_files(directory)],
                         ["chain.acc", "chain.9.acc"])
