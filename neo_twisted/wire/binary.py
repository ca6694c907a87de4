# -*- test-case-name: tests.unit.test_wire_binary -*-
"""
Bounds-checked little-endian reader and writer, as .NET's BinaryReader/Writer.

Every read checks what is left before touching the buffer, and every count or
length read names its maximum, so a claimed length of 2**32 fails before any
allocation. The reader also notes whether everything it read was in canonical
form (shortest var ints, 0/1 booleans, valid UTF-8): object hashes are taken
over the canonical re-serialization, and when the input already is canonical
the hashers can hash a slice of it instead of serializing again.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160, UInt256

T = TypeVar("T")

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")

#: The default cap of the reference node's array and byte-string readers.
DEFAULT_MAX = 0x1000000


def var_int_size(value: int) -> int:
    """
    Number of bytes the canonical var int encoding of C{value} takes.
    """
    if value < 0xFD:
        return 1
    if value <= 0xFFFF:
        return 3
    if value <= 0xFFFFFFFF:
        return 5
    return 9


def encode_var_int(value: int) -> bytes:
    """
    Canonical (shortest) var int encoding of a non-negative integer.
    """
    if value < 0:
        raise ValueError(f"var int cannot be negative: {value}")
    if value < 0xFD:
        return bytes((value,))
    if value <= 0xFFFF:
        return b"\xfd" + _U16.pack(value)
    if value <= 0xFFFFFFFF:
        return b"\xfe" + _U32.pack(value)
    if value <= 0xFFFFFFFFFFFFFFFF:
        return b"\xff" + _U64.pack(value)
    raise ValueError(f"var int too large: {value}")


class BinaryReader:
    """
    Sequential reader over one immutable byte string.

    @ivar data: the whole input.
    @ivar pos: offset of the next byte to read.
    @ivar canonical: C{False} once anything was read in a non-canonical form.
    """

    __slots__ = ("canonical", "data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = bytes(data)
        self.pos = pos
        self.end = len(self.data)
        self.canonical = True

    def remaining(self) -> int:
        """
        Bytes left to read.
        """
        return self.end - self.pos

    def fail(self, reason: str, offset: int | None = None) -> FormatError:
        """
        Build a L{FormatError} at C{offset} (default: the current position).
        """
        return FormatError(reason, self.pos if offset is None else offset)

    def expect_end(self, what: str) -> None:
        """
        Fail unless every byte was consumed: trailing bytes mean a framing bug or a hostile sender.
        """
        if self.pos != self.end:
            raise self.fail(f"{self.end - self.pos} trailing bytes after {what}")

    def _take(self, n: int) -> int:
        pos = self.pos
        if n > self.end - pos:
            raise FormatError(f"truncated: need {n} bytes, {self.end - pos} left", pos)
        self.pos = pos + n
        return pos

    def read_bytes(self, n: int) -> bytes:
        """
        Exactly C{n} raw bytes.
        """
        pos = self._take(n)
        return self.data[pos : pos + n]

    def read_struct(self, layout: struct.Struct) -> tuple[Any, ...]:
        """
        The fields of a fixed-size C{layout}, read in one go.
        """
        return layout.unpack_from(self.data, self._take(layout.size))

    def read_u8(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise FormatError("truncated: need 1 byte, 0 left", pos)
        self.pos = pos + 1
        return self.data[pos]

    def read_u16(self) -> int:
        return int(_U16.unpack_from(self.data, self._take(2))[0])

    def read_u16_be(self) -> int:
        pos = self._take(2)
        return (self.data[pos] << 8) | self.data[pos + 1]

    def read_u32(self) -> int:
        return int(_U32.unpack_from(self.data, self._take(4))[0])

    def read_u64(self) -> int:
        return int(_U64.unpack_from(self.data, self._take(8))[0])

    def read_i64(self) -> int:
        return int(_I64.unpack_from(self.data, self._take(8))[0])

    def read_uint160(self) -> UInt160:
        pos = self._take(20)
        return bytes.__new__(UInt160, self.data[pos : pos + 20])

    def read_uint256(self) -> UInt256:
        pos = self._take(32)
        return bytes.__new__(UInt256, self.data[pos : pos + 32])

    def read_bool(self) -> bool:
        """
        A .NET boolean: any non-zero byte is true (and then not canonical unless it is 1).
        """
        value = self.read_u8()
        if value > 1:
            self.canonical = False
        return value != 0

    def read_var_int(self, maximum: int) -> int:
        """
        A var int no larger than C{maximum}; over-long encodings are accepted,
        as the reference node accepts them.
        """
        start = self.pos
        if start < self.end and self.data[start] < 0xFD:  # the one-byte form: most of them
            value = self.data[start]
            self.pos = start + 1
        else:
            prefix = self.read_u8()
            if prefix == 0xFD:
                value = self.read_u16()
                if value < 0xFD:
                    self.canonical = False
            elif prefix == 0xFE:
                value = self.read_u32()
                if value <= 0xFFFF:
                    self.canonical = False
            else:
                value = self.read_u64()
                if value <= 0xFFFFFFFF:
                    self.canonical = False
        if value > maximum:
            raise FormatError(f"var int {value} exceeds the maximum {maximum}", start)
        return value

    def read_count(self, maximum: int, minimum: int = 0, item_size: int = 1) -> int:
        """
        An element count for an array, bounded by C{maximum} and by what is left to read.

        @param item_size: the smallest encoded size of one element, so that a count the
            remaining bytes cannot hold fails here, before anything is allocated.
        """
        start = self.pos
        count = self.read_var_int(maximum)
        if count < minimum:
            raise FormatError(f"count {count} is below the minimum {minimum}", start)
        if count * item_size > self.end - self.pos:
            raise FormatError(
                f"truncated: count {count} needs at least {count * item_size} bytes, "
                f"{self.end - self.pos} left",
                start,
            )
        return count

    def read_array(self, read_item: Callable[[BinaryReader], T], maximum: int,
                   minimum: int = 0, item_size: int = 1) -> tuple[T, ...]:
        """
        A var-int counted array of items read by C{read_item}.
        """
        count = self.read_count(maximum, minimum, item_size)
        if not count:
            return ()
        return tuple([read_item(self) for _ in range(count)])

    def read_var_bytes(self, maximum: int) -> bytes:
        """
        A var-int length-prefixed byte string of at most C{maximum} bytes.
        """
        return self.read_bytes(self.read_var_int(maximum))

    def read_var_string(self, maximum: int) -> str:
        """
        A UTF-8 var string; invalid sequences become U+FFFD as in .NET (and mark
        the input non-canonical).
        """
        raw = self.read_var_bytes(maximum)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.canonical = False
            return raw.decode("utf-8", "replace")

    def read_fixed_string(self, length: int) -> str:
        """
        A zero-padded fixed-width string: the text stops at the first zero byte.
        """
        raw = self.read_bytes(length)
        return raw.split(b"\x00", 1)[0].decode("utf-8", "replace")


class Writable(Protocol):
    """
    Anything that writes itself, as array elements do.
    """

    def write(self, writer: BinaryWriter) -> None: ...


class BinaryWriter:
    """
    Append-only little-endian writer producing canonical encodings.
    """

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def to_bytes(self) -> bytes:
        return bytes(self._buffer)

    def __len__(self) -> int:
        return len(self._buffer)

    def write_bytes(self, data: bytes) -> None:
        self._buffer += data

    def write_u8(self, value: int) -> None:
        self._buffer.append(value)

    def write_u16(self, value: int) -> None:
        self._buffer += _U16.pack(value)

    def write_u16_be(self, value: int) -> None:
        self._buffer += value.to_bytes(2, "big")

    def write_u32(self, value: int) -> None:
        self._buffer += _U32.pack(value)

    def write_u64(self, value: int) -> None:
        self._buffer += _U64.pack(value)

    def write_i64(self, value: int) -> None:
        self._buffer += _I64.pack(value)

    def write_bool(self, value: bool) -> None:
        self._buffer.append(1 if value else 0)

    def write_var_int(self, value: int) -> None:
        self._buffer += encode_var_int(value)

    def write_var_bytes(self, data: bytes) -> None:
        self._buffer += encode_var_int(len(data))
        self._buffer += data

    def write_array(self, items: Sequence[Writable]) -> None:
        """
        A var-int count, then each item.
        """
        self._buffer += encode_var_int(len(items))
        for item in items:
            item.write(self)

    def write_hashes(self, hashes: Sequence[bytes]) -> None:
        """
        A var-int count, then the raw hashes (UInt160/UInt256 arrays).
        """
        self._buffer += encode_var_int(len(hashes))
        self._buffer += b"".join(hashes)

    def write_var_string(self, text: str) -> None:
        self.write_var_bytes(text.encode("utf-8"))

    def write_fixed_string(self, text: str, length: int) -> None:
        raw = text.encode("utf-8")
        if len(raw) > length:
            raise ValueError(f"{text!r} does not fit in {length} bytes")
        self._buffer += raw.ljust(length, b"\x00")
