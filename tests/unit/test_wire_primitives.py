"""
Tests for L{neo_twisted.wire.uint}, L{neo_twisted.wire.fixed8} and L{neo_twisted.wire.ecpoint}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.wire.binary import BinaryReader
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.fixed8 import FIXED8_ONE, format_fixed8, parse_fixed8
from neo_twisted.wire.uint import ZERO_UINT160, ZERO_UINT256, UInt160, UInt256
from tests.support.encodings import uncompressed
from tests.support.samples import GENESIS_HASH, MAINNET_VALIDATORS

GENESIS_WIRE = "bf4421c88776c53b43ce1dc45463bfd2028e322fdfb60064be150ed3e36125d4"

# P-256 domain parameters (FIPS 186-4 D.1.2.3).
P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B


def point(hex_: str) -> ECPoint:
    """
    Decode a hex point encoding.
    """
    return ECPoint.from_bytes(bytes.fromhex(hex_))


def x_not_on_curve() -> int:
    """
    The smallest X for which no point of P-256 exists (x^3 - 3x + b is not a square mod p).
    """
    x = 1
    while True:
        rhs = (x**3 - 3 * x + P256_B) % P256_P
        if pow(rhs, (P256_P - 1) // 2, P256_P) == P256_P - 1:
            return x
        x += 1


def read_point(data: bytes, prefix_len: int = 0) -> tuple[ECPoint, BinaryReader]:
    """
    Read one point after C{prefix_len} filler bytes; return it and the reader.
    """
    reader = BinaryReader(b"\xaa" * prefix_len + data)
    reader.read_bytes(prefix_len)
    return ECPoint.read(reader), reader


class UIntTests(SynchronousTestCase):
    """
    UInt160 and UInt256: wire-order bytes, reversed display, little-endian ordering.
    """

    def test_length_checks(self) -> None:
        """
        A UInt of the wrong length is a ValueError.
        """
        for bad in (19, 21, 0, 32):
            self.assertRaises(ValueError, UInt160, bytes(bad))
        for bad in (31, 33, 0, 20):
            self.assertRaises(ValueError, UInt256, bytes(bad))

    def test_default_is_zero(self) -> None:
        """
        A UInt built without data is all zeros, as are the ZERO constants.
        """
        self.assertEqual(UInt160(), bytes(20))
        self.assertEqual(UInt256(), bytes(32))
        self.assertEqual(ZERO_UINT160, bytes(20))
        self.assertEqual(ZERO_UINT256, bytes(32))
        self.assertIsInstance(ZERO_UINT160, UInt160)
        self.assertIsInstance(ZERO_UINT256, UInt256)
        self.assertEqual(str(ZERO_UINT256), "0x" + "0" * 64)

    def test_display_reverses_bytes(self) -> None:
        """
        Display is 0x plus the reversed wire bytes: genesis bf44...25d4 shows as 0xd425...44bf.
        """
        genesis = UInt256(bytes.fromhex(GENESIS_WIRE))
        self.assertEqual(str(genesis), GENESIS_HASH)
        self.assertEqual(repr(genesis), f"UInt256('{GENESIS_HASH}')")

    def test_from_string_with_and_without_prefix(self) -> None:
        """
        from_string accepts the display form with 0x, 0X or no prefix and reverses it to wire order.
        """
        wire = bytes.fromhex(GENESIS_WIRE)
        for text in (GENESIS_HASH, GENESIS_HASH[2:], "0X" + GENESIS_HASH[2:],
                     GENESIS_HASH.upper().replace("0X", "0x")):
            parsed = UInt256.from_string(text)
            self.assertIsInstance(parsed, UInt256)
            self.assertEqual(bytes(parsed), wire, text)

    def test_from_string_uint160(self) -> None:
        """
        UInt160.from_string reverses 40 hex digits into 20 wire bytes.
        """
        parsed = UInt160.from_string("0xbd8bf7f95e33415fc242c48d143694a729172d9f")
        self.assertEqual(parsed.hex(), "9f2d1729a79436148dc442c25f41335ef9f78bbd")
        self.assertEqual(str(parsed), "0xbd8bf7f95e33415fc242c48d143694a729172d9f")

    def test_from_string_rejects(self) -> None:
        """
        from_string rejects the wrong number of digits and non-hex text.
        """
        self.assertRaises(ValueError, UInt256.from_string, GENESIS_HASH[:-2])
        self.assertRaises(ValueError, UInt256.from_string, GENESIS_HASH + "00")
        self.assertRaises(ValueError, UInt160.from_string, GENESIS_HASH)
        self.assertRaises(ValueError, UInt160.from_string, "0x" + "zz" * 20)
        self.assertRaises(ValueError, UInt160.from_string, "")

    def test_order_compares_from_last_byte(self) -> None:
        """
        A value whose last byte is larger sorts higher even if its first byte is smaller.
        """
        low = UInt256(b"\xff" + bytes(31))
        high = UInt256(bytes(31) + b"\x01")
        self.assertLess(low, high)
        self.assertLessEqual(low, high)
        self.assertGreater(high, low)
        self.assertGreaterEqual(high, low)
        self.assertFalse(high < low)
        self.assertEqual(sorted([high, low]), [low, high])
        # Plain bytes would order them the other way round.
        self.assertGreater(bytes(low), bytes(high))

    def test_order_matches_display_strings(self) -> None:
        """
        Sorting UInt160s is sorting their display strings.
        """
        values = [UInt160(bytes((i * 37 % 256, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0, 0, 0, i * 11 % 7))) for i in range(20)]
        self.assertEqual([str(v) for v in sorted(values)], sorted(str(v) for v in values))

    def test_order_of_equal_values(self) -> None:
        """
        Equal values are neither less nor greater than each other.
        """
        a = UInt160(bytes(range(20)))
        b = UInt160(bytes(range(20)))
        self.assertFalse(a < b)
        self.assertFalse(a > b)
        self.assertTrue(a <= b)
        self.assertTrue(a >= b)

    def test_equality_and_hash_as_bytes(self) -> None:
        """
        A UInt equals, and hashes like, its wire bytes, so either finds it in a dict.
        """
        raw = bytes.fromhex(GENESIS_WIRE)
        value = UInt256(raw)
        self.assertEqual(value, raw)
        self.assertEqual(hash(value), hash(raw))
        by_uint: dict[bytes, int] = {value: 1}
        self.assertEqual(by_uint[raw], 1)
        self.assertEqual({raw: 2}[value], 2)
        self.assertNotEqual(value, UInt256(raw[::-1]))

    def test_slice_and_size(self) -> None:
        """
        UInts are 20 and 32 bytes long and slice like bytes.
        """
        self.assertEqual(len(UInt160()), 20)
        self.assertEqual(len(UInt256()), 32)
        self.assertEqual(UInt256(bytes(range(32)))[:2], b"\x00\x01")


class Fixed8FormatTests(SynchronousTestCase):
    """
    L{format_fixed8} prints amounts as the reference node does.
    """

    def test_values(self) -> None:
        """
        Whole values have no decimal point and fractions have no trailing zeros.
        """
        cases = [
            (10**16, "100000000"),
            (100000, "0.001"),
            (-1, "-0.00000001"),
            (0, "0"),
            (1, "0.00000001"),
            (FIXED8_ONE, "1"),
            (-FIXED8_ONE, "-1"),
            (150000000, "1.5"),
            (-150000000, "-1.5"),
            (2**63 - 1, "92233720368.54775807"),
            (-(2**63), "-92233720368.54775808"),
        ]
        for raw, text in cases:
            self.assertEqual(format_fixed8(raw), text, raw)


class Fixed8ParseTests(SynchronousTestCase):
    """
    L{parse_fixed8} turns decimal strings into raw values, strictly.
    """

    def test_values(self) -> None:
        """
        Decimal strings parse to their raw value and round-trip through format_fixed8.
        """
        cases = [
            ("100000000", 10**16),
            ("0.001", 100000),
            ("-0.00000001", -1),
            ("0", 0),
            ("-0", 0),
            (" 1 ", FIXED8_ONE),
            ("1e3", 1000 * FIXED8_ONE),
            ("1.50000000", 150000000),
            ("92233720368.54775807", 2**63 - 1),
            ("-92233720368.54775808", -(2**63)),
        ]
        for text, raw in cases:
            self.assertEqual(parse_fixed8(text), raw, text)
        for raw in (1, -1, 12345678901, 10**16, 2**63 - 1, -(2**63)):
            self.assertEqual(parse_fixed8(format_fixed8(raw)), raw)

    def test_more_than_eight_decimals(self) -> None:
        """
        A ninth decimal place is a ValueError, however far out it is.
        """
        for text in ("0.000000001", "1.000000001", "-0.000000005", "1e-9",
                     "1.000000000000000000000000000001", "1e-999999",
                     "0." + "0" * 40 + "1"):
            self.assertRaises(ValueError, parse_fixed8, text)

    def test_not_finite(self) -> None:
        """
        NaN and infinities are a ValueError.
        """
        for text in ("NaN", "nan", "sNaN", "inf", "-Infinity", "Infinity"):
            self.assertRaises(ValueError, parse_fixed8, text)

    def test_not_a_number(self) -> None:
        """
        Text that is not a decimal number is a ValueError.
        """
        for text in ("", " ", "abc", "1.2.3", "0x10", "1,5", "--1"):
            self.assertRaises(ValueError, parse_fixed8, text)

    def test_out_of_range(self) -> None:
        """
        Amounts outside the signed 64-bit raw range are a ValueError, even huge exponents.
        """
        for text in ("92233720368.54775808", "-92233720368.54775809", "1e30", "-1e30",
                     "1e999999", "-1e999999", "1e99999999999"):
            self.assertRaises(ValueError, parse_fixed8, text)


class ECPointTests(SynchronousTestCase):
    """
    ECPoint decoding, encoding and ordering.
    """

    def test_compressed_round_trip(self) -> None:
        """
        Every mainnet standby key decodes and re-encodes to the same 33 bytes.
        """
        for hex_ in MAINNET_VALIDATORS:
            p, reader = read_point(bytes.fromhex(hex_))
            self.assertEqual(p.encode().hex(), hex_)
            self.assertEqual(str(p), hex_)
            self.assertTrue(reader.canonical)
            self.assertEqual(reader.remaining(), 0)

    def test_compressed_parity(self) -> None:
        """
        The 02/03 prefix is the parity of Y.
        """
        for hex_ in MAINNET_VALIDATORS:
            p = point(hex_)
            assert p.y is not None
            self.assertEqual(p.y & 1, int(hex_[:2], 16) - 2)

    def test_uncompressed_reencoded_compressed(self) -> None:
        """
        An uncompressed 04 point is accepted, re-encoded compressed, and marks the input
        non-canonical.
        """
        compressed = point(MAINNET_VALIDATORS[0])
        p, reader = read_point(uncompressed(compressed) + b"\x99")
        self.assertEqual(p, compressed)
        self.assertEqual(p.encode().hex(), MAINNET_VALIDATORS[0])
        self.assertFalse(reader.canonical)
        self.assertEqual(reader.remaining(), 1)

    def test_hybrid_matching_parity(self) -> None:
        """
        A hybrid 06/07 point whose prefix matches Y's parity is accepted and non-canonical.
        """
        for hex_ in MAINNET_VALIDATORS[:2]:
            compressed = point(hex_)
            assert compressed.y is not None
            prefix = 6 + (compressed.y & 1)
            p, reader = read_point(uncompressed(compressed, prefix))
            self.assertEqual(p, compressed)
            self.assertFalse(reader.canonical)

    def test_hybrid_mismatching_parity(self) -> None:
        """
        A hybrid point whose prefix contradicts Y's parity is a FormatError at its offset.
        """
        for hex_ in MAINNET_VALIDATORS[:2]:
            compressed = point(hex_)
            assert compressed.y is not None
            prefix = 7 - (compressed.y & 1)
            error = self.assertRaises(FormatError, read_point,
                                      uncompressed(compressed, prefix), 5)
            self.assertEqual(error.offset, 5)
            self.assertRaises(ValueError, ECPoint.from_bytes, uncompressed(compressed, prefix))

    def test_infinity(self) -> None:
        """
        A single 00 byte is the point at infinity, which encodes back to 00.
        """
        p, reader = read_point(b"\x00\x02")
        self.assertTrue(p.is_infinity)
        self.assertEqual(p, ECPoint.infinity())
        self.assertEqual(p.encode(), b"\x00")
        self.assertEqual(reader.remaining(), 1)
        self.assertTrue(ECPoint.from_bytes(b"\x00").is_infinity)
        self.assertRaises(ValueError, p.public_key)

    def test_invalid_prefix(self) -> None:
        """
        Prefixes other than 00, 02, 03, 04, 06 and 07 are a FormatError at the prefix.
        """
        for prefix in (1, 5, 8, 0x21, 0xFF):
            error = self.assertRaises(FormatError, read_point,
                                      bytes((prefix,)) + bytes(64), 3)
            self.assertEqual(error.offset, 3)

    def test_x_not_on_curve(self) -> None:
        """
        A 33-byte encoding whose X has no point on the curve is a FormatError at its offset.
        """
        x = x_not_on_curve().to_bytes(32, "big")
        for prefix in (b"\x02", b"\x03"):
            error = self.assertRaises(FormatError, read_point, prefix + x, 2)
            self.assertEqual(error.offset, 2)
            self.assertRaises(ValueError, ECPoint.from_bytes, prefix + x)

    def test_x_not_a_field_element(self) -> None:
        """
        An X at or above the field prime is rejected.
        """
        for x in (P256_P, 2**256 - 1):
            self.assertRaises(FormatError, read_point, b"\x02" + x.to_bytes(32, "big"))

    def test_uncompressed_off_curve(self) -> None:
        """
        An uncompressed point whose Y does not match X is rejected.
        """
        p = point(MAINNET_VALIDATORS[0])
        assert p.x is not None and p.y is not None
        bad = b"\x04" + p.x.to_bytes(32, "big") + ((p.y + 1) % P256_P).to_bytes(32, "big")
        self.assertRaises(FormatError, read_point, bad)

    def test_truncated(self) -> None:
        """
        A point cut short is a FormatError.
        """
        self.assertRaises(FormatError, read_point, bytes.fromhex(MAINNET_VALIDATORS[0])[:-1])
        self.assertRaises(FormatError, read_point, uncompressed(point(MAINNET_VALIDATORS[0]))[:-1])
        self.assertRaises(FormatError, read_point, b"")

    def test_order_by_x_only(self) -> None:
        """
        03b209fd... sorts before 02ca0e27... because only X counts, not the prefix.
        """
        a = point("03b209fd4f53a7170ea4444e0cb0a6bb6a53c2bd016926989cf85f9b0fba17a70c")
        b = point("02ca0e27697b9c248f6f16e085fd0061e26f44da85b58ee835c110caa5ec3ba554")
        self.assertLess(a, b)
        self.assertGreater(b, a)
        self.assertGreater(a.encode(), b.encode())

    def test_sort_standby_list(self) -> None:
        """
        Sorting the standby keys orders them by X, not by their encodings.
        """
        keys = [point(h) for h in MAINNET_VALIDATORS]
        by_x = sorted(MAINNET_VALIDATORS, key=lambda h: h[2:])
        self.assertEqual([k.encode().hex() for k in sorted(keys)], by_x)
        self.assertNotEqual(by_x, sorted(MAINNET_VALIDATORS))

    def test_same_x_orders_by_y(self) -> None:
        """
        Two points with the same X order by Y.
        """
        p = point(MAINNET_VALIDATORS[0])
        assert p.x is not None and p.y is not None
        negated = ECPoint(p.x, P256_P - p.y)
        low, high = sorted([p, negated], key=lambda q: q.y or 0)
        self.assertLess(low, high)
        self.assertEqual(sorted([high, low]), [low, high])

    def test_infinity_sorts_first(self) -> None:
        """
        The point at infinity sorts before every real point.
        """
        keys = [point(h) for h in MAINNET_VALIDATORS] + [ECPoint.infinity()]
        self.assertTrue(sorted(keys)[0].is_infinity)

    def test_public_key(self) -> None:
        """
        A real point converts to a cryptography public key with the same coordinates.
        """
        p = point(MAINNET_VALIDATORS[1])
        numbers = p.public_key().public_numbers()
        self.assertEqual((numbers.x, numbers.y), (p.x, p.y))
