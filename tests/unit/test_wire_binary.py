"""
Tests for L{neo_twisted.wire.binary}: the bounds-checked reader and the canonical writer.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.wire.binary import (
    DEFAULT_MAX,
    BinaryReader,
    BinaryWriter,
    encode_var_int,
    var_int_size,
)
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160, UInt256

U64_MAX = 2**64 - 1

#: (value, its canonical encoding) at every var int boundary.
BOUNDARIES: list[tuple[int, bytes]] = [
    (0, bytes.fromhex("00")),
    (0xFC, bytes.fromhex("fc")),
    (0xFD, bytes.fromhex("fdfd00")),
    (0xFFFF, bytes.fromhex("fdffff")),
    (0x10000, bytes.fromhex("fe00000100")),
    (0xFFFFFFFF, bytes.fromhex("feffffffff")),
    (0x100000000, bytes.fromhex("ff0000000001000000")),
    (U64_MAX, bytes.fromhex("ffffffffffffffffff")),
]


def reader_at(prefix_len: int, body: bytes) -> BinaryReader:
    """
    A reader over C{prefix_len} filler bytes and C{body}, already positioned at C{body}.
    """
    reader = BinaryReader(b"\xaa" * prefix_len + body)
    reader.read_bytes(prefix_len)
    return reader


def written(action: Callable[[BinaryWriter], None]) -> bytes:
    """
    The bytes C{action} writes into a fresh writer.
    """
    writer = BinaryWriter()
    action(writer)
    return writer.to_bytes()


class ReaderBoundsTests(SynchronousTestCase):
    """
    Every read checks what is left and fails with the offset of the field it could not read.
    """

    def assert_truncated(self, read: Callable[[BinaryReader], object], available: int,
                         prefix_len: int = 3) -> None:
        """
        C{read} on a reader with C{available} bytes left after C{prefix_len} consumed ones
        raises L{FormatError} at offset C{prefix_len}.
        """
        reader = reader_at(prefix_len, b"\x01" * available)
        error = self.assertRaises(FormatError, read, reader)
        self.assertEqual(error.offset, prefix_len)

    def test_fixed_width_reads_on_too_few_bytes(self) -> None:
        """
        Each fixed-width read on one byte too few fails at the field's own offset.
        """
        cases: list[tuple[Callable[[BinaryReader], object], int]] = [
            (BinaryReader.read_u8, 1),
            (BinaryReader.read_bool, 1),
            (BinaryReader.read_u16, 2),
            (BinaryReader.read_u16_be, 2),
            (BinaryReader.read_u32, 4),
            (BinaryReader.read_u64, 8),
            (BinaryReader.read_i64, 8),
            (BinaryReader.read_uint160, 20),
            (BinaryReader.read_uint256, 32),
            (lambda r: r.read_bytes(5), 5),
            (lambda r: r.read_fixed_string(12), 12),
        ]
        for read, size in cases:
            self.assert_truncated(read, size - 1)
            self.assert_truncated(read, 0)

    def test_failed_read_does_not_move(self) -> None:
        """
        A read that fails for lack of bytes leaves the position where it was.
        """
        reader = reader_at(2, b"\x01\x02\x03")
        self.assertRaises(FormatError, reader.read_u32)
        self.assertEqual(reader.pos, 2)
        self.assertEqual(reader.read_bytes(3), b"\x01\x02\x03")

    def test_var_int_prefix_without_body(self) -> None:
        """
        A var int prefix whose body is cut short fails at the offset of the missing body.
        """
        for data in (b"\xfd\x01", b"\xfe\x01\x02\x03", b"\xff" + b"\x00" * 7):
            reader = reader_at(4, data)
            error = self.assertRaises(FormatError, reader.read_var_int, U64_MAX)
            self.assertEqual(error.offset, 5)

    def test_var_int_on_empty_input(self) -> None:
        """
        A var int with no bytes left fails at the current offset.
        """
        error = self.assertRaises(FormatError, reader_at(7, b"").read_var_int, U64_MAX)
        self.assertEqual(error.offset, 7)

    def test_var_bytes_shorter_than_their_length(self) -> None:
        """
        Var bytes whose length prefix promises more than is left fail at the first data byte.
        """
        reader = reader_at(2, b"\x05abc")
        error = self.assertRaises(FormatError, reader.read_var_bytes, DEFAULT_MAX)
        self.assertEqual(error.offset, 3)

    def test_exact_fit_reads(self) -> None:
        """
        Reads that use exactly the bytes left succeed and leave nothing.
        """
        reader = BinaryReader(bytes(range(1, 9)))
        self.assertEqual(reader.read_u64(), 0x0807060504030201)
        self.assertEqual(reader.remaining(), 0)
        reader.expect_end("the test")

    def test_little_endian(self) -> None:
        """
        Integers are little-endian except the big-endian 16-bit read.
        """
        reader = BinaryReader(bytes.fromhex("3412" "3412" "78563412" "ffffffffffffffff"))
        self.assertEqual(reader.read_u16(), 0x1234)
        self.assertEqual(reader.read_u16_be(), 0x3412)
        self.assertEqual(reader.read_u32(), 0x12345678)
        self.assertEqual(reader.read_i64(), -1)

    def test_uint_reads_return_their_types(self) -> None:
        """
        UInt reads return UInt160 and UInt256 instances holding the wire bytes.
        """
        reader = BinaryReader(bytes(range(20)) + bytes(range(32)))
        u160 = reader.read_uint160()
        u256 = reader.read_uint256()
        self.assertIsInstance(u160, UInt160)
        self.assertIsInstance(u256, UInt256)
        self.assertEqual(bytes(u160), bytes(range(20)))
        self.assertEqual(bytes(u256), bytes(range(32)))


class VarIntReadTests(SynchronousTestCase):
    """
    Var ints: canonical and over-long forms, and the maximum.
    """

    def test_canonical_boundaries(self) -> None:
        """
        Every canonical boundary encoding decodes to its value and keeps the reader canonical.
        """
        for value, encoding in BOUNDARIES:
            reader = BinaryReader(encoding)
            self.assertEqual(reader.read_var_int(U64_MAX), value)
            self.assertTrue(reader.canonical, encoding.hex())
            self.assertEqual(reader.remaining(), 0)

    def test_over_long_forms(self) -> None:
        """
        Over-long var ints decode to their value but clear the canonical flag.
        """
        cases = [
            ("fd0100", 1),
            ("fdfc00", 0xFC),
            ("fe01000000", 1),
            ("feffff0000", 0xFFFF),
            ("ff0100000000000000", 1),
            ("ffffffffff00000000", 0xFFFFFFFF),
        ]
        for hex_, value in cases:
            reader = BinaryReader(bytes.fromhex(hex_))
            self.assertEqual(reader.read_var_int(U64_MAX), value)
            self.assertFalse(reader.canonical, hex_)

    def test_non_canonical_flag_sticks(self) -> None:
        """
        Once cleared, the canonical flag stays cleared after later canonical reads.
        """
        reader = BinaryReader(bytes.fromhex("fd010005"))
        reader.read_var_int(10)
        reader.read_var_int(10)
        self.assertFalse(reader.canonical)

    def test_maximum_is_inclusive(self) -> None:
        """
        A var int equal to its maximum is accepted.
        """
        self.assertEqual(BinaryReader(b"\xfd\x00\x01").read_var_int(0x100), 0x100)

    def test_above_maximum_fails_at_its_start(self) -> None:
        """
        A var int above its maximum fails at the offset of its prefix, whatever its form.
        """
        for hex_ in ("11", "fd1100", "fe11000000", "ff1100000000000000"):
            reader = reader_at(6, bytes.fromhex(hex_))
            error = self.assertRaises(FormatError, reader.read_var_int, 0x10)
            self.assertEqual(error.offset, 6, hex_)

    def test_var_bytes_length_above_maximum(self) -> None:
        """
        A var bytes length above its maximum fails before any data is read.
        """
        reader = BinaryReader(b"\x04abcd")
        error = self.assertRaises(FormatError, reader.read_var_bytes, 3)
        self.assertEqual(error.offset, 0)
        self.assertEqual(BinaryReader(b"\x03abc").read_var_bytes(3), b"abc")


class ReadCountTests(SynchronousTestCase):
    """
    Counts are checked against their bounds and against the bytes left.
    """

    def test_count_of_two_to_the_32_via_ff(self) -> None:
        """
        A count of 2**32 that the remaining bytes cannot hold fails at the count's offset.
        """
        reader = reader_at(5, b"\xff" + (2**32).to_bytes(8, "little") + b"\x00" * 10)
        error = self.assertRaises(FormatError, reader.read_count, U64_MAX)
        self.assertEqual(error.offset, 5)

    def test_large_count_via_fe(self) -> None:
        """
        A count of 2**32 - 1 with a few bytes left fails at once, at the count's offset.
        """
        reader = reader_at(2, b"\xfe\xff\xff\xff\xff" + b"\x00" * 10)
        error = self.assertRaises(FormatError, reader.read_count, U64_MAX)
        self.assertEqual(error.offset, 2)

    def test_count_times_item_size(self) -> None:
        """
        The count is checked against the smallest size of one item.
        """
        body = b"\x03" + b"\x00" * 101
        self.assertRaises(FormatError, reader_at(0, body).read_count, 10, 0, 34)
        self.assertEqual(reader_at(0, body + b"\x00").read_count(10, 0, 34), 3)

    def test_count_below_minimum(self) -> None:
        """
        A count below the minimum fails at the count's offset.
        """
        error = self.assertRaises(FormatError, reader_at(4, b"\x00").read_count, 10, 1)
        self.assertEqual(error.offset, 4)

    def test_count_above_maximum(self) -> None:
        """
        A count above its maximum fails even when the bytes to back it are present.
        """
        error = self.assertRaises(FormatError, reader_at(1, b"\x11" + bytes(17)).read_count, 16)
        self.assertEqual(error.offset, 1)

    def test_read_array_fails_before_reading_items(self) -> None:
        """
        An array whose count cannot fit never calls the item reader.
        """
        calls: list[int] = []

        def read_item(reader: BinaryReader) -> int:
            calls.append(reader.pos)
            return reader.read_u8()

        reader = BinaryReader(b"\xfe\x00\x00\x00\x01" + b"\x00" * 100)
        self.assertRaises(FormatError, reader.read_array, read_item, U64_MAX)
        self.assertEqual(calls, [])

    def test_read_array(self) -> None:
        """
        An array reads exactly its count of items, in order.
        """
        reader = BinaryReader(b"\x03\x01\x02\x03\x04")
        self.assertEqual(reader.read_array(BinaryReader.read_u8, 3), (1, 2, 3))
        self.assertEqual(reader.remaining(), 1)


class StringAndBoolTests(SynchronousTestCase):
    """
    Var strings, fixed strings and booleans.
    """

    def test_valid_var_string(self) -> None:
        """
        A valid UTF-8 var string decodes and keeps the reader canonical.
        """
        raw = "小蚁".encode()
        reader = BinaryReader(bytes((len(raw),)) + raw)
        self.assertEqual(reader.read_var_string(100), "小蚁")
        self.assertTrue(reader.canonical)

    def test_invalid_utf8_becomes_replacement(self) -> None:
        """
        Invalid UTF-8 in a var string becomes U+FFFD and marks the input non-canonical.
        """
        reader = BinaryReader(b"\x03a\xffb")
        self.assertEqual(reader.read_var_string(100), "a\ufffdb")
        self.assertFalse(reader.canonical)

    def test_var_string_maximum_counts_bytes(self) -> None:
        """
        A var string's maximum limits its UTF-8 bytes, not its characters.
        """
        raw = "é".encode()
        self.assertRaises(FormatError, BinaryReader(b"\x02" + raw).read_var_string, 1)

    def test_fixed_string_stops_at_first_zero(self) -> None:
        """
        A fixed string stops at its first zero byte but consumes its whole width.
        """
        reader = BinaryReader(b"ab\x00cd\x00\x00\x00Z")
        self.assertEqual(reader.read_fixed_string(8), "ab")
        self.assertEqual(reader.read_bytes(1), b"Z")

    def test_fixed_string_without_zero(self) -> None:
        """
        A fixed string that fills its width has no terminator.
        """
        self.assertEqual(BinaryReader(b"version\x00\x00\x00\x00\x00").read_fixed_string(12),
                         "version")
        self.assertEqual(BinaryReader(b"abcdefghijkl").read_fixed_string(12), "abcdefghijkl")

    def test_bool_values(self) -> None:
        """
        Zero is false and every non-zero byte is true; only 0 and 1 are canonical.
        """
        for byte, value, canonical in [(0, False, True), (1, True, True), (2, True, False),
                                       (0xFF, True, False)]:
            reader = BinaryReader(bytes((byte,)))
            self.assertIs(reader.read_bool(), value)
            self.assertIs(reader.canonical, canonical)


class ExpectEndTests(SynchronousTestCase):
    """
    L{BinaryReader.expect_end} rejects trailing bytes.
    """

    def test_trailing_bytes(self) -> None:
        """
        Trailing bytes fail at the offset of the first one.
        """
        reader = BinaryReader(b"\x01\x02\x03")
        reader.read_u8()
        error = self.assertRaises(FormatError, reader.expect_end, "a thing")
        self.assertEqual(error.offset, 1)
        self.assertIn("2 trailing bytes", error.reason)

    def test_at_end(self) -> None:
        """
        A fully consumed reader passes, including an empty one.
        """
        BinaryReader(b"").expect_end("nothing")
        reader = BinaryReader(b"\x01")
        reader.read_u8()
        reader.expect_end("one byte")

    def test_error_text(self) -> None:
        """
        A FormatError names its reason and offset in its text.
        """
        self.assertEqual(str(FormatError("bad", 7)), "bad (at offset 7)")


class WriterTests(SynchronousTestCase):
    """
    L{BinaryWriter} always writes canonical forms.
    """

    def test_var_int_boundaries(self) -> None:
        """
        The writer uses the shortest var int form at every boundary.
        """
        for value, encoding in BOUNDARIES:
            writer = BinaryWriter()
            writer.write_var_int(value)
            self.assertEqual(writer.to_bytes(), encoding, hex(value))
            self.assertEqual(encode_var_int(value), encoding)

    def test_var_int_size_agrees(self) -> None:
        """
        L{var_int_size} is the length of the writer's encoding at and around every boundary.
        """
        for value, _ in BOUNDARIES:
            for v in (value - 1, value, value + 1):
                if 0 <= v <= U64_MAX:
                    self.assertEqual(var_int_size(v), len(encode_var_int(v)), hex(v))

    def test_negative_var_int(self) -> None:
        """
        A negative var int is a ValueError, and writes nothing.
        """
        writer = BinaryWriter()
        self.assertRaises(ValueError, writer.write_var_int, -1)
        self.assertEqual(len(writer), 0)

    def test_too_large_var_int(self) -> None:
        """
        A var int beyond 64 bits is a ValueError.
        """
        self.assertRaises(ValueError, encode_var_int, 2**64)

    def test_round_trip(self) -> None:
        """
        Everything the writer writes, the reader reads back canonically.
        """

        def write(w: BinaryWriter) -> None:
            w.write_u8(0xAB)
            w.write_u16(0x1234)
            w.write_u16_be(0x1234)
            w.write_u32(0xDEADBEEF)
            w.write_u64(U64_MAX)
            w.write_i64(-(2**63))
            w.write_bool(True)
            w.write_bool(False)
            w.write_var_bytes(b"x" * 300)
            w.write_var_string("NEO €")
            w.write_fixed_string("verack", 12)

        reader = BinaryReader(written(write))
        self.assertEqual(reader.read_u8(), 0xAB)
        self.assertEqual(reader.read_u16(), 0x1234)
        self.assertEqual(reader.read_u16_be(), 0x1234)
        self.assertEqual(reader.read_u32(), 0xDEADBEEF)
        self.assertEqual(reader.read_u64(), U64_MAX)
        self.assertEqual(reader.read_i64(), -(2**63))
        self.assertIs(reader.read_bool(), True)
        self.assertIs(reader.read_bool(), False)
        self.assertEqual(reader.read_var_bytes(300), b"x" * 300)
        self.assertEqual(reader.read_var_string(100), "NEO €")
        self.assertEqual(reader.read_fixed_string(12), "verack")
        reader.expect_end("the round trip")
        self.assertTrue(reader.canonical)

    def test_big_endian_u16(self) -> None:
        """
        The big-endian 16-bit write puts the high byte first.
        """
        self.assertEqual(written(lambda w: w.write_u16_be(10333)), b"\x28\x5d")

    def test_fixed_string_padding(self) -> None:
        """
        A fixed string is zero-padded to its width, and one too long is a ValueError.
        """
        self.assertEqual(written(lambda w: w.write_fixed_string("inv", 12)),
                         b"inv" + b"\x00" * 9)
        self.assertRaises(ValueError, BinaryWriter().write_fixed_string, "x" * 13, 12)

    def test_bool_writes_one_or_zero(self) -> None:
        """
        A boolean is written as 01 or 00.
        """

        def write(w: BinaryWriter) -> None:
            w.write_bool(True)
            w.write_bool(False)

        self.assertEqual(written(write), b"\x01\x00")
