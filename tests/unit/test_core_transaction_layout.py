"""
Tests for L{neo_twisted.core.transaction}: the layout, limits and hashing rules every
transaction type shares.
"""

from __future__ import annotations

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    NEO_ASSET_ID,
    AttributeUsage,
    ContractTransaction,
    MinerTransaction,
    PublishTransaction,
    Transaction,
    TransactionAttribute,
    Witness,
)
from neo_twisted.crypto.hashes import hash256
from neo_twisted.wire.binary import BinaryReader
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt256
from tests.support.transaction_samples import coin, contract_tx, output, witness


class CommonLayoutTests(SynchronousTestCase):
    """
    The layout and hashing rules shared by every type.
    """

    def test_attribute_cap(self) -> None:
        """
        Sixteen attributes are accepted and seventeen are rejected at the count.
        """
        remark = TransactionAttribute(AttributeUsage.Remark, b"hi")
        ok = attrs.evolve(contract_tx(), attributes=(remark,) * 16)
        self.assertEqual(Transaction.from_bytes(ok.to_bytes()), ok)
        error = self.assertRaises(FormatError, Transaction.from_bytes,
                                  attrs.evolve(contract_tx(), attributes=(remark,) * 17).to_bytes())
        self.assertEqual(error.offset, 2)

    def test_unknown_type(self) -> None:
        """
        An unknown type byte is a FormatError at offset 0.
        """
        for type_byte in (0x03, 0x10, 0x21, 0x81, 0x91, 0xD2, 0xFF):
            data = bytes((type_byte,)) + bytes(8)
            error = self.assertRaises(FormatError, Transaction.from_bytes, data)
            self.assertEqual(error.offset, 0, hex(type_byte))

    def test_trailing_bytes(self) -> None:
        """
        Transaction.from_bytes rejects bytes after the transaction.
        """
        data = contract_tx().to_bytes()
        error = self.assertRaises(FormatError, Transaction.from_bytes, data + b"\x00")
        self.assertEqual(error.offset, len(data))

    def test_truncated(self) -> None:
        """
        A transaction cut anywhere is a FormatError.
        """
        data = contract_tx().to_bytes()
        for end in range(len(data)):
            self.assertRaises(FormatError, Transaction.from_bytes, data[:end])

    def test_hash_is_over_unsigned_part(self) -> None:
        """
        The hash is Hash256 of everything but the witnesses.
        """
        tx = contract_tx()
        data = tx.to_bytes()
        unsigned = tx.unsigned_bytes()
        self.assertTrue(data.startswith(unsigned))
        self.assertEqual(tx.hash, UInt256(hash256(unsigned)))
        self.assertEqual(Transaction.from_bytes(data).hash, tx.hash)

    def test_witness_does_not_change_hash(self) -> None:
        """
        Changing or dropping a witness does not change the hash.
        """
        tx = contract_tx()
        for witnesses in ((witness(b"\x52"),), (), (witness(), witness(b"\x00"))):
            other = attrs.evolve(tx, witnesses=witnesses)
            self.assertEqual(other.hash, tx.hash)
            self.assertEqual(Transaction.from_bytes(other.to_bytes()).hash, tx.hash)

    def test_output_changes_hash(self) -> None:
        """
        Changing an output changes the hash.
        """
        tx = contract_tx()
        other = attrs.evolve(tx, outputs=(output(NEO_ASSET_ID, 2 * 10**8),))
        self.assertNotEqual(other.hash, tx.hash)

    def test_non_canonical_input_hashed_canonically(self) -> None:
        """
        An over-long count on the wire is normalized before hashing.
        """
        tx = contract_tx()
        data = tx.to_bytes()
        # type, version, attribute count 00 -> FD 00 00
        raw = data[:2] + b"\xfd\x00\x00" + data[3:]
        parsed = Transaction.from_bytes(raw)
        self.assertEqual(parsed, tx)
        self.assertEqual(parsed.hash, tx.hash)

    def test_non_canonical_boolean_hashed_canonically(self) -> None:
        """
        A NeedStorage byte of 02 reads as true and hashes as 01.
        """
        tx = PublishTransaction(version=1, script=b"\x61", need_storage=True)
        data = tx.to_bytes()
        self.assertEqual(data[6], 1)
        raw = data[:6] + b"\x02" + data[7:]
        parsed = Transaction.from_bytes(raw)
        self.assertEqual(parsed.hash, tx.hash)
        self.assertEqual(parsed.to_bytes(), data)

    def test_read_typed_rejects_other_type(self) -> None:
        """
        MinerTransaction.read_typed rejects a transaction of another type at its type byte.
        """
        reader = BinaryReader(b"\xee" + contract_tx().to_bytes())
        reader.read_u8()
        error = self.assertRaises(FormatError, MinerTransaction.read_typed, reader)
        self.assertEqual(error.offset, 1)

    def test_read_typed_accepts_own_type(self) -> None:
        """
        read_typed reads a transaction of its own type.
        """
        miner = MinerTransaction(nonce=9)
        self.assertEqual(MinerTransaction.read_typed(BinaryReader(miner.to_bytes())), miner)

    def test_section_counts_layout(self) -> None:
        """
        Attributes, inputs, outputs and witnesses follow the exclusive data in that order.
        """
        tx = ContractTransaction(
            attributes=(TransactionAttribute(AttributeUsage.Script, bytes(20)),),
            inputs=(coin(),), outputs=(output(),), witnesses=(Witness(b"", b""),))
        data = tx.to_bytes()
        self.assertEqual(data[:3], b"\x80\x00\x01")
        self.assertEqual(data[3:24], b"\x20" + bytes(20))
        self.assertEqual(data[24], 1)
        self.assertEqual(data[59], 1)
        self.assertEqual(data[120:], b"\x01\x00\x00")
        self.assertEqual(len(data), 123)
