"""
NeoVM stack items: C#'s integer encoding, conversions and equality (docs/neo2-vm.md §3, §16).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from neo_twisted.vm.items import (
    Array,
    Boolean,
    ByteArray,
    Integer,
    InteropInterface,
    Map,
    MapKey,
    Struct,
    VMError,
    bytes_to_int,
    fits_bigint,
    int_to_bytes,
    to_int32,
)
from tests.support.property_settings import ROUND_TRIP


class IntegerEncodingTests(TestCase):
    def test_reference_examples(self) -> None:
        """
        The examples of §16.3: minimal two's complement, 0 is one zero byte.
        """
        cases = {0: "00", 1: "01", 127: "7f", 128: "8000", -128: "80", 255: "ff00",
                 -1: "ff", -129: "7fff", 256: "0001"}
        for value, encoded in cases.items():
            self.assertEqual(int_to_bytes(value).hex(), encoded, value)
            self.assertEqual(bytes_to_int(bytes.fromhex(encoded)), value)

    def test_empty_is_zero(self) -> None:
        self.assertEqual(bytes_to_int(b""), 0)

    @ROUND_TRIP
    @given(st.integers(min_value=-(2**300), max_value=2**300))
    def test_round_trip_and_minimal(self, value: int) -> None:
        """
        Decoding gives the value back, and no shorter byte string decodes to it.
        """
        encoded = int_to_bytes(value)
        self.assertEqual(bytes_to_int(encoded), value)
        if len(encoded) > 1:
            self.assertNotEqual(bytes_to_int(encoded[:-1]), value)

    def test_32_byte_limit(self) -> None:
        self.assertTrue(fits_bigint(2**255 - 1))
        self.assertTrue(fits_bigint(-(2**255)))
        self.assertFalse(fits_bigint(2**255))
        self.assertFalse(fits_bigint(-(2**255) - 1))
        self.assertEqual(len(int_to_bytes(2**255 - 1)), 32)
        self.assertEqual(len(int_to_bytes(2**255)), 33)

    def test_int32_overflow_faults(self) -> None:
        self.assertEqual(to_int32(2**31 - 1), 2**31 - 1)
        self.assertRaises(VMError, to_int32, 2**31)
        self.assertRaises(VMError, to_int32, -(2**31) - 1)


class ConversionTests(TestCase):
    def test_bytearray_boolean(self) -> None:
        """
        True iff a byte is non-zero, but anything longer than 32 bytes is true.
        """
        self.assertFalse(ByteArray(b"").get_bool())
        self.assertFalse(ByteArray(bytes(32)).get_bool())
        self.assertTrue(ByteArray(bytes(33)).get_bool())
        self.assertTrue(ByteArray(b"\x00\x01").get_bool())

    def test_boolean_bytes(self) -> None:
        self.assertEqual(Boolean(True).get_bytes(), b"\x01")
        self.assertEqual(Boolean(False).get_bytes(), b"")

    def test_collections_have_no_bytes_or_integer(self) -> None:
        for item in (Array(), Struct(), Map(), InteropInterface(object())):
            self.assertRaises(VMError, item.get_bytes)
            self.assertRaises(VMError, item.get_int)
            self.assertTrue(item.get_bool())
        self.assertFalse(InteropInterface(None).get_bool())


class EqualityTests(TestCase):
    def test_primitives_compare_by_bytes(self) -> None:
        """
        Integer 1, ByteArray 01 and Boolean true are equal; Integer 0 is not empty bytes.
        """
        one = [Integer(1), ByteArray(b"\x01"), Boolean(True)]
        for a in one:
            for b in one:
                self.assertTrue(a.equals(b), (a, b))
        self.assertFalse(Integer(0).equals(ByteArray(b"")))
        self.assertTrue(Boolean(False).equals(ByteArray(b"")))
        self.assertFalse(Boolean(False).equals(Integer(0)))
        self.assertFalse(ByteArray(b"").equals(Array()))

    def test_arrays_by_reference_structs_deep(self) -> None:
        inner = Array([Integer(1)])
        self.assertFalse(Array([Integer(1)]).equals(Array([Integer(1)])))
        self.assertTrue(Struct([Integer(1), inner]).equals(Struct([ByteArray(b"\x01"), inner])))
        self.assertFalse(Struct([Array([Integer(1)])]).equals(Struct([Array([Integer(1)])])))
        self.assertFalse(Struct([Integer(1)]).equals(Array([Integer(1)])))

    def test_struct_clone_copies_structs_only(self) -> None:
        shared = Array()
        nested = Struct([Integer(2)])
        original = Struct([nested, shared])
        copy = original.clone()
        self.assertIsNot(copy.items[0], nested)
        self.assertIs(copy.items[1], shared)
        self.assertTrue(copy.equals(original))

    def test_map_keys_merge_equal_primitives(self) -> None:
        """
        Integer 1, ByteArray 01 and Boolean true are one key; the first key object stays.
        """
        entries = {}
        first = Integer(1)
        entries[MapKey(first)] = ByteArray(b"a")
        entries[MapKey(ByteArray(b"\x01"))] = ByteArray(b"b")
        entries[MapKey(Boolean(True))] = ByteArray(b"c")
        self.assertEqual(len(entries), 1)
        (key,) = entries
        self.assertIs(key.item, first)
        self.assertRaises(VMError, MapKey, Array())
