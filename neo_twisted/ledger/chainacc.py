# -*- test-case-name: tests.test_ledger_chainacc -*-
"""
neo-cli's offline chain packages: C{chain.acc} and C{chain.<start>.acc}, plain or zipped.

  - C{chain.acc}: uint32 LE count, then count records, heights 0, 1, ...
  - C{chain.<start>.acc}: uint32 LE start, uint32 LE count, then records from height start.
  - A record: int32 LE length, then that many bytes of a full serialized block.
  - C{<name>.zip}: a zip archive whose entry C{<name>} holds one of the above.

Which layout a file has is told by its name, as neo-cli tells it. Files can be
gigabytes, so the reader streams one record at a time, and the writer streams to
a temporary file that is renamed only once complete: an interrupted export never
leaves a half file under the final name, where an importer would trust it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Self, TypeVar

import attrs

from neo_twisted.core.block import Block
from neo_twisted.wire.errors import FormatError

#: A block travels in one P2P payload, so no real block is larger; the cap stops a
#: corrupt length from making the reader allocate gigabytes.
MAX_RECORD_SIZE = 0x02000000
#: Below this a record cannot even hold a header (104 bytes, marker, empty witness, tx count).
MIN_RECORD_SIZE = 104 + 1 + 2 + 1
MAX_UINT32 = 0xFFFFFFFF

_T = TypeVar("_T")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_PARTIAL_NAME = re.compile(r"chain\.(\d+)\.acc")
_INDEX_AT = 72  # offset of the header's Index field inside a serialized block
#: What a damaged file or zip entry raises while being read (CRC, deflate, I/O).
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error)


class ChainFileError(Exception):
    """
    A chain file that cannot be read: truncated, corrupt or inconsistent.

    @ivar path: the file.
    @ivar record: the 0-based record number, None for a problem in the file header.
    @ivar offset: the byte offset (in the zip entry for zipped files) where it went wrong.
    """

    def __init__(self, path: str, reason: str, record: int | None = None,
                 offset: int | None = None, height: int | None = None) -> None:
        super().__init__(path, reason, record, offset)
        self.path = path
        self.reason = reason
        self.record = record
        self.offset = offset
        self.height = height

    def __str__(self) -> str:
        where = []
        if self.record is not None:
            where.append(f"record {self.record}")
            if self.height is not None:
                where[-1] += f" (height {self.height})"
        if self.offset is not None:
            where.append(f"byte offset {self.offset}")
        located = f" at {', '.join(where)}" if where else ""
        return f"{self.path}{located}: {self.reason}"


@attrs.frozen
class ChainFileName:
    """
    What a chain file's name says about it.

    @ivar partial: whether the file starts with a start height (C{chain.<start>.acc}).
    @ivar start: the start height the name claims (0 for C{chain.acc}).
    @ivar entry: the name of the data inside: the file name, without C{.zip} if compressed.
    """

    path: Path
    partial: bool
    start: int
    compressed: bool
    entry: str


def parse_chain_file_name(path: str | Path) -> ChainFileName:
    """
    The layout a name implies; names other than C{chain.<start>.acc[.zip]} mean C{chain.acc}'s.
    """
    path = Path(path)
    compressed = path.name.endswith(".zip")
    entry = path.name[:-4] if compressed else path.name
    match = _PARTIAL_NAME.fullmatch(entry)
    if match is not None and int(match.group(1)) <= MAX_UINT32:
        return ChainFileName(path, True, int(match.group(1)), compressed, entry)
    return ChainFileName(path, False, 0, compressed, entry)


def chain_file_name(start: int | None = None, compressed: bool = False) -> str:
    """
    The name neo-cli gives an export: C{chain.acc} for a full one (C{start} None), else
    C{chain.<start>.acc}; with C{.zip} appended when compressed.
    """
    name = "chain.acc" if start is None else f"chain.{start}.acc"
    return name + ".zip" if compressed else name


def order_chain_files(paths: Iterable[str | Path]) -> list[ChainFileName]:
    """
    The chain files among C{paths} in import order: C{chain.acc} first, then
    C{chain.<start>.acc} by ascending start.

    Other names are left out. When both a file and its C{.zip} are present the plain
    file wins, so the same blocks are not offered twice. Deciding where to stop (a
    start beyond the local height + 1) is the importer's business: it has the height.
    """
    chosen: dict[tuple[bool, int], ChainFileName] = {}
    for path in paths:
        info = parse_chain_file_name(path)
        if info.entry != "chain.acc" and not info.partial:
            continue
        key = (info.partial, info.start)
        other = chosen.get(key)
        if other is None or (other.compressed and not info.compressed):
            chosen[key] = info
    return [chosen[key] for key in sorted(chosen)]


def find_chain_files(directory: str | Path) -> list[ChainFileName]:
    """
    The chain files in C{directory}, in import order (see L{order_chain_files}).
    """
    return order_chain_files(p for p in Path(directory).iterdir() if p.is_file())


@attrs.frozen
class ChainRecord:
    """
    One record as read, its block still unparsed: an importer skips the blocks it
    already has without paying for their decoding.

    @ivar number: 0-based record number in the file.
    @ivar offset: byte offset of the record's length prefix.
    @ivar height: the height this record holds according to the file header.
    @ivar data: the serialized block.
    """

    path: str
    number: int
    offset: int
    height: int
    data: bytes = attrs.field(repr=False)

    def block(self) -> Block:
        """
        Decode the block; a decoding failure becomes a L{ChainFileError} naming this record.
        """
        try:
            return Block.from_bytes(self.data)
        except FormatError as e:
            raise ChainFileError(self.path, f"corrupt block: {e.reason}", self.number,
                                 self.offset + 4 + e.offset, self.height) from None


def _open_data(info: ChainFileName, label: str) -> IO[bytes]:
    """
    The file's bytes: the file itself, or its zip entry decompressed as it is read.
    """
    try:
        if not info.compressed:
            return open(info.path, "rb")  # the reader owns and closes it
        archive = zipfile.ZipFile(info.path)
    except (OSError, zipfile.BadZipFile) as e:
        raise ChainFileError(label, f"cannot open: {e}") from None
    try:
        return archive.open(info.entry)
    except KeyError:
        raise ChainFileError(label, f"the zip archive has no entry {info.entry!r}") from None
    except (OSError, zipfile.BadZipFile, NotImplementedError) as e:
        raise ChainFileError(label, f"cannot read entry {info.entry!r}: {e}") from None
    finally:
        archive.close()  # the entry stream keeps its own reference to the file


class ChainReader:
    """
    An open chain file: the header is read on opening, the records streamed by L{records}.

    @ivar start: the height of the first record.
    @ivar count: the number of records the header announces.
    """

    def __init__(self, path: str | Path, *, partial: bool | None = None) -> None:
        """
        @param partial: whether the file begins with a start height; by default the
            file name decides, as in neo-cli.
        """
        info = parse_chain_file_name(path)
        self.path = str(path) + (f" (entry {info.entry})" if info.compressed else "")
        self.partial = info.partial if partial is None else partial
        self._stream = _open_data(info, self.path)
        self._offset = 0
        self._started = False
        try:
            self.start = self._read_u32(None, "start height") if self.partial else 0
            self.count = self._read_u32(None, "record count")
            if info.partial and self.partial and self.start != info.start:
                raise self._error(f"the header says start height {self.start}, the name "
                                  f"{info.start}", None, 0)
            if self.count and self.start + self.count - 1 > MAX_UINT32:
                raise self._error(f"{self.count} records from height {self.start} overflow "
                                  "the uint32 heights", None, 0)
        except BaseException:
            self.close()
            raise

    def _error(self, reason: str, record: int | None, offset: int,
               height: int | None = None) -> ChainFileError:
        return ChainFileError(self.path, reason, record, offset, height)

    def _read(self, n: int, record: int | None, what: str, height: int | None = None) -> bytes:
        try:
            data = self._stream.read(n)
        except _READ_ERRORS as e:
            # zip CRC mismatches and broken deflate streams surface here
            raise self._error(f"cannot read {what}: {e}", record, self._offset, height) from None
        if len(data) != n:
            raise self._error(f"truncated: {what} needs {n} bytes, {len(data)} left",
                              record, self._offset, height)
        self._offset += n
        return data

    def _read_u32(self, record: int | None, what: str) -> int:
        value: int = _U32.unpack(self._read(4, record, what))[0]
        return value

    def records(self) -> Iterator[ChainRecord]:
        """
        The records in order, each checked for a sane length and the height it should hold.

        Raises L{ChainFileError} for a truncated file, a bad length, a block at the
        wrong height, or bytes after the announced count. The stream is consumed: call once.
        """
        if self._started:
            raise RuntimeError("the records of a chain file can be read only once")
        self._started = True
        for number in range(self.count):
            height = self.start + number
            offset = self._offset
            length: int = _I32.unpack(self._read(4, number, "the record length", height))[0]
            if not MIN_RECORD_SIZE <= length <= MAX_RECORD_SIZE:
                raise self._error(f"bad record length {length} (a block takes "
                                  f"{MIN_RECORD_SIZE} to {MAX_RECORD_SIZE} bytes)",
                                  number, offset, height)
            data = self._read(length, number, "the block", height)
            index: int = _U32.unpack_from(data, _INDEX_AT)[0]
            if index != height:
                raise self._error(f"holds block {index}, expected height {height}",
                                  number, offset, height)
            yield ChainRecord(self.path, number, offset, height, data)
        try:
            extra = self._stream.read(1)
        except _READ_ERRORS as e:
            raise self._error(f"cannot read: {e}", None, self._offset) from None
        if extra:
            raise self._error(f"data after the {self.count} records the header announces",
                              None, self._offset)

    def blocks(self) -> Iterator[Block]:
        """
        The decoded blocks in order (see L{records}).
        """
        for record in self.records():
            yield record.block()

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class _Closing(Iterator[_T]):
    """
    Iterates over a reader's output and closes the reader once exhausted, failed or
    dropped (even before the first item, when a generator's cleanup would not run).
    """

    def __init__(self, reader: ChainReader, items: Iterator[_T]) -> None:
        self._reader = reader
        self._items = items

    def __next__(self) -> _T:
        try:
            return next(self._items)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._reader.close()

    def __del__(self) -> None:
        self.close()


def read_chain_file(path: str | Path, *, partial: bool | None = None
                    ) -> tuple[int, Iterator[Block]]:
    """
    The start height of a chain file and an iterator of its blocks, decoded one at a time.

    The header is read (and checked) now; the file is closed when the iterator is
    exhausted, fails, or is dropped.
    """
    reader = ChainReader(path, partial=partial)
    return reader.start, _Closing(reader, reader.blocks())


def read_chain_records(path: str | Path, *, partial: bool | None = None
                       ) -> tuple[int, Iterator[ChainRecord]]:
    """
    Like L{read_chain_file}, but the records' blocks are left undecoded (L{ChainRecord.block}).
    """
    reader = ChainReader(path, partial=partial)
    return reader.start, _Closing(reader, reader.records())


class ChainWriter:
    """
    Streams blocks into a chain file, which appears under its name only on L{commit}.

    Use as a context manager: leaving the block normally commits, an exception aborts
    and removes the temporary file.
    """

    def __init__(self, path: str | Path, start: int = 0, *, count: int | None = None,
                 partial: bool | None = None, compress: bool | None = None) -> None:
        """
        @param start: height of the first block.
        @param count: the number of blocks, if known: written up front (a zip entry
            can then be streamed); otherwise patched in when committing.
        @param partial: whether to write the start height (C{chain.<start>.acc}); by
            default the file name decides, as it will for the reader.
        @param compress: zip the data; by default when the name ends in C{.zip}.
        """
        info = parse_chain_file_name(path)
        self.path = Path(path)
        self.partial = info.partial if partial is None else partial
        self.compressed = info.compressed if compress is None else compress
        if not self.partial and start != 0:
            raise ValueError(f"{path}: a chain.acc layout starts at height 0, not {start}")
        if info.partial and self.partial and start != info.start:
            raise ValueError(f"{path}: the name says start height {info.start}, not {start}")
        if not 0 <= start <= MAX_UINT32 or (count is not None and not 0 <= count <= MAX_UINT32):
            raise ValueError(f"{path}: start {start} / count {count} must be uint32")
        self.start = start
        self.count = count
        self.written = 0
        self._entry = info.entry
        self._done = False
        self._temporaries: list[str] = []
        self._archive: zipfile.ZipFile | None = None
        self._file = self._temporary()
        self._out: IO[bytes] = self._file
        try:
            if self.compressed and count is not None:
                self._archive = zipfile.ZipFile(self._file, "w", zipfile.ZIP_DEFLATED)
                self._out = self._archive.open(self._entry, "w", force_zip64=True)
            header = _U32.pack(start) if self.partial else b""
            self._out.write(header + _U32.pack(count or 0))
        except BaseException:
            self.abort()
            raise

    def _temporary(self) -> IO[bytes]:
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part",
                                    dir=self.path.parent)
        self._temporaries.append(name)
        return os.fdopen(fd, "w+b")

    def write(self, block: Block | bytes) -> None:
        """
        Append the next block (decoded, or already serialized); heights must follow on.
        """
        if self._done:
            raise ValueError(f"{self.path}: already committed or aborted")
        height = self.start + self.written
        data = block if isinstance(block, bytes) else block.to_bytes()
        index = _U32.unpack_from(data, _INDEX_AT)[0] if len(data) >= MIN_RECORD_SIZE else None
        if index != height:
            raise ValueError(f"{self.path}: expected block {height}, got {index}")
        if len(data) > MAX_RECORD_SIZE:
            raise ValueError(f"{self.path}: block {height} is {len(data)} bytes, too large")
        if self.count is not None and self.written >= self.count:
            raise ValueError(f"{self.path}: more than the {self.count} blocks announced")
        if height > MAX_UINT32:
            raise ValueError(f"{self.path}: heights end at {MAX_UINT32}")
        self._out.write(_I32.pack(len(data)))
        self._out.write(data)
        self.written += 1

    def commit(self) -> None:
        """
        Complete the file (count, zip directory, fsync) and move it to its name.
        """
        if self._done:
            raise ValueError(f"{self.path}: already committed or aborted")
        try:
            if self.count is not None and self.written != self.count:
                raise ValueError(f"{self.path}: {self.written} blocks written, "
                                 f"{self.count} announced")
            if self._archive is not None:
                self._out.close()
                self._archive.close()
            elif self.count is None:
                self._file.seek(4 if self.partial else 0)
                self._file.write(_U32.pack(self.written))
                if self.compressed:
                    self._compress_spool()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._temporaries[-1], self.path)
            self._temporaries.pop()
            self._done = True
        finally:
            if not self._done:
                self.abort()

    def _compress_spool(self) -> None:
        """
        Zip the finished plain temporary file into a second one, which becomes C{_file}.
        """
        spool, spool_name = self._file, self._temporaries[-1]
        spool.seek(0)
        self._file = self._temporary()
        with zipfile.ZipFile(self._file, "w", zipfile.ZIP_DEFLATED) as archive, \
                archive.open(self._entry, "w", force_zip64=True) as entry:
            shutil.copyfileobj(spool, entry, 1 << 20)
        spool.close()
        os.unlink(spool_name)
        self._temporaries.remove(spool_name)

    def abort(self) -> None:
        """
        Drop everything written; the final name is left untouched.
        """
        self._done = True
        for stream in (self._out, self._file):
            with contextlib.suppress(Exception):
                stream.close()
        if self._archive is not None:
            with contextlib.suppress(Exception):
                self._archive.close()
        for name in self._temporaries:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        self._temporaries.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_chain_file(path: str | Path, blocks: Iterable[Block | bytes], start: int = 0, *,
                     count: int | None = None, partial: bool | None = None,
                     compress: bool | None = None) -> int:
    """
    Export C{blocks} (heights C{start}, C{start} + 1, ...) to C{path}; the number written.

    Nothing appears under C{path} unless every block was written (see L{ChainWriter}).
    """
    with ChainWriter(path, start, count=count, partial=partial, compress=compress) as writer:
        for block in blocks:
            writer.write(block)
    return writer.written
