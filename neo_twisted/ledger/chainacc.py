# -*- test-case-name: tests.unit.test_ledger_chainacc -*-
"""
neo-cli's offline chain packages: C{chain.acc} and C{chain.<start>.acc}, plain or zipped.

  - C{chain.acc}: uint32 LE count, then count records, heights 0, 1, ...
  - C{chain.<start>.acc}: uint32 LE start, uint32 LE count, then records from height start.
  - A record: int32 LE length, then that many bytes of a full serialized block.
  - C{<name>.zip}: a zip archive whose entry C{<name>} holds one of the above.

Which layout a file has is told by its name, as neo-cli tells it; a file of any
other name is told by its first record (L{sniff_layout}). Files can be
gigabytes, so the reader streams one record at a time, and the writer streams to
a temporary file that is renamed only once complete: an interrupted export never
leaves a half file under the final name, where an importer would trust it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Self, TypeVar

import attrs

from neo_twisted.core.block import Block
from neo_twisted.ledger.chainnames import (
    I32,
    INDEX_AT,
    MAX_RECORD_SIZE,
    MAX_UINT32,
    MIN_RECORD_SIZE,
    PROBE,
    U32,
    ChainFileName,
    chain_file_name,
    find_chain_files,
    is_named,
    order_chain_files,
    parse_chain_file_name,
    sniff_layout,
)
from neo_twisted.wire.errors import FormatError

#: The names a caller of this module may also want (they live in chainnames).
__all__ = [
    "MAX_RECORD_SIZE", "MIN_RECORD_SIZE", "ChainFileError", "ChainFileName", "ChainReader",
    "ChainRecord", "ChainWriter", "chain_file_name", "find_chain_files", "order_chain_files",
    "parse_chain_file_name", "read_chain_file", "read_chain_records", "sniff_layout",
    "write_chain_file",
]

_T = TypeVar("_T")
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
        #: Bytes read ahead to tell the layout (the stream may be a pipe), read first.
        self._head = b""
        try:
            if partial is None and not is_named(info):
                self.partial = self._sniff()
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

    def _sniff(self) -> bool:
        """
        Whether the file (not named as a chain file) has the C{chain.<start>.acc} layout.
        """
        try:
            self._head = self._stream.read(PROBE)
        except _READ_ERRORS as e:
            raise self._error(f"cannot read: {e}", None, 0) from None
        layout = sniff_layout(self._head)
        if layout is None:
            raise self._error("neither a chain.acc nor a chain.<start>.acc layout (its "
                              "first record holds no block at the height either gives it)",
                              None, 0)
        return layout[0]

    def _take(self, n: int) -> bytes:
        if not self._head:
            return self._stream.read(n)
        data, self._head = self._head[:n], self._head[n:]
        return data + self._stream.read(n - len(data)) if len(data) < n else data

    def _read(self, n: int, record: int | None, what: str, height: int | None = None) -> bytes:
        try:
            data = self._take(n)
        except _READ_ERRORS as e:
            # zip CRC mismatches and broken deflate streams surface here
            raise self._error(f"cannot read {what}: {e}", record, self._offset, height) from None
        if len(data) != n:
            raise self._error(f"truncated: {what} needs {n} bytes, {len(data)} left",
                              record, self._offset, height)
        self._offset += n
        return data

    def _read_u32(self, record: int | None, what: str) -> int:
        value: int = U32.unpack(self._read(4, record, what))[0]
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
            length: int = I32.unpack(self._read(4, number, "the record length", height))[0]
            if not MIN_RECORD_SIZE <= length <= MAX_RECORD_SIZE:
                raise self._error(f"bad record length {length} (a block takes "
                                  f"{MIN_RECORD_SIZE} to {MAX_RECORD_SIZE} bytes)",
                                  number, offset, height)
            data = self._read(length, number, "the block", height)
            index: int = U32.unpack_from(data, INDEX_AT)[0]
            if index != height:
                raise self._error(f"holds block {index}, expected height {height}",
                                  number, offset, height)
            yield ChainRecord(self.path, number, offset, height, data)
        try:
            extra = self._take(1)
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
            header = U32.pack(start) if self.partial else b""
            self._out.write(header + U32.pack(count or 0))
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
        index = U32.unpack_from(data, INDEX_AT)[0] if len(data) >= MIN_RECORD_SIZE else None
        if index != height:
            raise ValueError(f"{self.path}: expected block {height}, got {index}")
        if len(data) > MAX_RECORD_SIZE:
            raise ValueError(f"{self.path}: block {height} is {len(data)} bytes, too large")
        if self.count is not None and self.written >= self.count:
            raise ValueError(f"{self.path}: more than the {self.count} blocks announced")
        if height > MAX_UINT32:
            raise ValueError(f"{self.path}: heights end at {MAX_UINT32}")
        self._out.write(I32.pack(len(data)))
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
                self._file.write(U32.pack(self.written))
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
