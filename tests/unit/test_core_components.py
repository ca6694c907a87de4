"""
Tests for L{neo_twisted.core.components}: the encodings of transaction attributes, outputs
and coin references, and the checks made on read.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    NEO_ASSET_ID,
    AttributeUsage,
    CoinReference,
    TransactionAttribute,
    TransactionOutput,
)
from neo_twisted.wire.binary import BinaryReader
from neo_twisted.wire.errors import FormatError
from tests.support.encodings import encode
from tests.support.transaction_samples import KEY_HEX, coin, output


def read_attribute(data: bytes) -> TransactionAttribute:
    """
    Read exactly one attribute from C{data}.
    """
    reader = BinaryReader(data)
    attribute = TransactionAttribute.read(reader)
    reader.expect_end("the attribute")
    return attribute


class AttributeTests(SynchronousTestCase):
    """
    Each attribute usage has its own encoding.
    """

    def test_fixed32_usages(self) -> None:
        """
        ContractHash, Vote and Hash1-15 are the usage byte and 32 raw bytes.
        """
        usages = [AttributeUsage.ContractHash, AttributeUsage.Vote,
                  *(AttributeUsage(u) for u in range(0xA1, 0xB0))]
        self.assertEqual(len(usages), 17)
        data = bytes(range(32))
        for usage in usages:
            attribute = TransactionAttribute(usage, data)
            wire = encode(attribute)
            self.assertEqual(wire, bytes((usage,)) + data)
            self.assertEqual(read_attribute(wire), attribute)

    def test_fixed32_wrong_length(self) -> None:
        """
        A 32-byte usage with data of another length cannot be built.
        """
        for length in (0, 31, 33):
            self.assertRaises(ValueError, TransactionAttribute, 0x00, bytes(length))
            self.assertRaises(ValueError, TransactionAttribute, 0xA5, bytes(length))

    def test_ecdh(self) -> None:
        """
        ECDH02/03 carry 32 bytes on the wire but 33 bytes of data starting with the usage byte.
        """
        x = bytes.fromhex(KEY_HEX)[1:]
        for usage in (0x02, 0x03):
            wire = bytes((usage,)) + x
            self.assertEqual(len(wire), 33)
            attribute = read_attribute(wire)
            self.assertEqual(attribute.usage, usage)
            self.assertEqual(attribute.data, bytes((usage,)) + x)
            self.assertEqual(encode(attribute), wire)

    def test_ecdh_data_must_start_with_usage(self) -> None:
        """
        ECDH data that is not 33 bytes starting with its usage byte cannot be built.
        """
        x = bytes(32)
        self.assertRaises(ValueError, TransactionAttribute, 0x02, b"\x03" + x)
        self.assertRaises(ValueError, TransactionAttribute, 0x03, x)

    def test_script(self) -> None:
        """
        Script is the usage byte and a 20-byte script hash.
        """
        data = bytes(range(20))
        attribute = TransactionAttribute(AttributeUsage.Script, data)
        self.assertEqual(encode(attribute), b"\x20" + data)
        self.assertEqual(read_attribute(b"\x20" + data), attribute)
        self.assertRaises(ValueError, TransactionAttribute, 0x20, bytes(32))

    def test_description_url_one_byte_length(self) -> None:
        """
        DescriptionUrl has a one-byte length, so 253 bytes are prefixed FD, not FD FD 00.
        """
        data = b"u" * 253
        attribute = TransactionAttribute(AttributeUsage.DescriptionUrl, data)
        wire = encode(attribute)
        self.assertEqual(wire, b"\x81\xfd" + data)
        self.assertEqual(read_attribute(wire), attribute)
        self.assertEqual(read_attribute(b"\x81\x00"), TransactionAttribute(0x81, b""))

    def test_description_url_at_most_255(self) -> None:
        """
        DescriptionUrl data longer than 255 bytes cannot be built.
        """
        TransactionAttribute(0x81, bytes(255))
        self.assertRaises(ValueError, TransactionAttribute, 0x81, bytes(256))

    def test_description_and_remarks_var_bytes(self) -> None:
        """
        Description and Remark..Remark15 are var bytes, so 253 bytes are prefixed FD FD 00.
        """
        data = b"r" * 253
        for usage in (0x90, *range(0xF0, 0x100)):
            attribute = TransactionAttribute(usage, data)
            wire = encode(attribute)
            self.assertEqual(wire, bytes((usage,)) + b"\xfd\xfd\x00" + data)
            self.assertEqual(read_attribute(wire), attribute)
            self.assertEqual(read_attribute(bytes((usage,)) + b"\x02hi").data, b"hi")

    def test_var_bytes_cap(self) -> None:
        """
        Description data above 65535 bytes fails to read.
        """
        wire = b"\x90\xfe" + (65536).to_bytes(4, "little") + bytes(65536)
        self.assertRaises(FormatError, read_attribute, wire)

    def test_unknown_usage(self) -> None:
        """
        Usages outside the table are a FormatError at the usage byte.
        """
        for usage in (0x01, 0x04, 0x1F, 0x21, 0x31, 0x80, 0x82, 0x8F, 0x91, 0xA0, 0xB0, 0xEF):
            reader = BinaryReader(b"\x00\x00" + bytes((usage,)) + bytes(40))
            reader.read_bytes(2)
            error = self.assertRaises(FormatError, TransactionAttribute.read, reader)
            self.assertEqual(error.offset, 2, hex(usage))
            self.assertRaises(ValueError, TransactionAttribute, usage, bytes(32))

    def test_truncated(self) -> None:
        """
        An attribute whose data is cut short is a FormatError.
        """
        self.assertRaises(FormatError, read_attribute, b"\x00" + bytes(31))
        self.assertRaises(FormatError, read_attribute, b"\x02" + bytes(31))
        self.assertRaises(FormatError, read_attribute, b"\x81\x05abcd")


class OutputAndCoinTests(SynchronousTestCase):
    """
    Outputs carry a positive value; coin references are 34 bytes.
    """

    def test_output_layout(self) -> None:
        """
        An output is 60 bytes: asset id, int64 value, script hash.
        """
        out = output(NEO_ASSET_ID, 10**16, 9)
        wire = encode(out)
        self.assertEqual(len(wire), 60)
        self.assertEqual(wire[32:40], bytes.fromhex("0000c16ff2862300"))
        self.assertEqual(TransactionOutput.read(BinaryReader(wire)), out)

    def test_output_value_not_positive(self) -> None:
        """
        An output value of zero or less is a FormatError at the value's offset.
        """
        for value in (0, -1, -(2**63)):
            wire = encode(output(value=value))
            error = self.assertRaises(FormatError, TransactionOutput.read, BinaryReader(wire))
            self.assertEqual(error.offset, 32, value)

    def test_coin_reference_layout(self) -> None:
        """
        A coin reference is the previous hash and a little-endian 16-bit index.
        """
        ref = coin(4, 0x0102)
        wire = encode(ref)
        self.assertEqual(wire, b"\x04" * 32 + b"\x02\x01")
        self.assertEqual(CoinReference.read(BinaryReader(wire)), ref)

