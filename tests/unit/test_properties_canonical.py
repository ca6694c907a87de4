"""
Property tests of canonical encoding: var ints decode in any width but are written
canonically, and hashes are taken over the canonical re-serialization whatever form the
input had.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    Block,
    EnrollmentTransaction,
    PublishTransaction,
    RegisterTransaction,
    Transaction,
)
from neo_twisted.crypto.hashes import hash256
from neo_twisted.wire.binary import BinaryReader, BinaryWriter, encode_var_int, var_int_size
from neo_twisted.wire.errors import FormatError
from tests.support import strategies as s
from tests.support.encodings import Writable, uncompressed, var_int, widths_for
from tests.support.property_settings import FUZZ, ROUND_TRIP
from tests.support.samples import MAINNET_CONTRACT_TX, MAINNET_CONTRACT_TXID


class VarIntTests(SynchronousTestCase):
    @FUZZ
    @given(st.data(), s.u64s)
    def test_any_width_decodes(self, data: st.DataObject, value: int) -> None:
        """
        A var int in any width that holds it, canonical or over-long, decodes to the value;
        only the shortest one leaves the reader canonical.
        """
        width = data.draw(st.sampled_from(widths_for(value)), label="width")
        reader = BinaryReader(var_int(value, width) + b"\xaa")
        self.assertEqual(reader.read_var_int(2**64 - 1), value)
        self.assertEqual(reader.pos, width)
        self.assertEqual(reader.canonical, width == var_int_size(value))

    @FUZZ
    @given(s.u64s)
    def test_writer_canonical(self, value: int) -> None:
        """
        The writer always picks the shortest width.
        """
        expected = var_int(value, widths_for(value)[0])
        self.assertEqual(encode_var_int(value), expected)
        writer = BinaryWriter()
        writer.write_var_int(value)
        self.assertEqual(writer.to_bytes(), expected)
        self.assertEqual(len(expected), var_int_size(value))

    @FUZZ
    @given(st.data(), st.integers(1, 2**64 - 1))
    def test_above_maximum(self, data: st.DataObject, value: int) -> None:
        """
        A value above the maximum the caller names fails with L{FormatError} at the var int,
        in any width.
        """
        maximum = data.draw(st.integers(0, value - 1), label="maximum")
        width = data.draw(st.sampled_from(widths_for(value)), label="width")
        reader = BinaryReader(b"\x00" + var_int(value, width))
        reader.read_u8()
        error = self.assertRaises(FormatError, reader.read_var_int, maximum)
        self.assertEqual(error.offset, 1)

    @FUZZ
    @given(s.u64s)
    def test_truncated(self, value: int) -> None:
        """
        A var int missing its last byte is a L{FormatError}, not a C{struct.error}.
        """
        for width in widths_for(value):
            if width > 1:
                reader = BinaryReader(var_int(value, width)[:-1])
                self.assertRaises(FormatError, reader.read_var_int, 2**64 - 1)



def noncanonical_encoding(tx: Transaction, widths: list[int]) -> bytes:
    """
    C{tx} with its attribute, input, output and witness counts in the given var int widths.
    """
    writer = BinaryWriter()
    writer.write_u8(tx.TYPE)
    writer.write_u8(tx.version)
    tx.write_exclusive(writer)
    groups: list[tuple[Writable, ...]] = [tx.attributes, tx.inputs, tx.outputs, tx.witnesses]
    for group, width in zip(groups, widths, strict=True):
        writer.write_bytes(var_int(len(group), width))
        for item in group:
            item.write(writer)
    return writer.to_bytes()


class NonCanonicalTests(SynchronousTestCase):
    """
    Non-canonical input decodes to the value it stands for, and the hash is over the
    canonical re-serialization, not over the bytes received.
    """

    def test_overlong_attribute_count(self) -> None:
        """
        A real transaction whose attribute count is C{fd 00 00} instead of C{00} keeps its txid.
        """
        self.assertEqual(MAINNET_CONTRACT_TX[2], 0)
        overlong = MAINNET_CONTRACT_TX[:2] + b"\xfd\x00\x00" + MAINNET_CONTRACT_TX[3:]
        tx = Transaction.from_bytes(overlong)
        self.assertEqual(str(tx.hash), MAINNET_CONTRACT_TXID)
        self.assertEqual(tx.hash, hash256(tx.unsigned_bytes()))
        self.assertNotEqual(tx.hash, hash256(overlong[:-(1 + 65 + 1 + 35 + 1)]))
        self.assertEqual(tx.to_bytes(), MAINNET_CONTRACT_TX)
        self.assertEqual(tx, Transaction.from_bytes(MAINNET_CONTRACT_TX))

    @ROUND_TRIP
    @given(st.data(), s.transactions)
    def test_overlong_counts(self, data: st.DataObject, tx: Transaction) -> None:
        """
        Any over-long widths of the four counts decode to the same transaction and txid.
        """
        counts = [len(tx.attributes), len(tx.inputs), len(tx.outputs), len(tx.witnesses)]
        widths = [data.draw(st.sampled_from(widths_for(n)), label="width") for n in counts]
        decoded = Transaction.from_bytes(noncanonical_encoding(tx, widths))
        self.assertEqual(decoded, tx)
        self.assertEqual(decoded.hash, tx.hash)
        self.assertEqual(decoded.to_bytes(), tx.to_bytes())

    @ROUND_TRIP
    @given(s.blocks(), s.u8s)
    def test_overlong_transaction_in_block(self, block: Block, pick: int) -> None:
        """
        A block holding a transaction with over-long counts still matches its merkle root,
        which is over the canonical txids.
        """
        index = pick % len(block.transactions)
        writer = BinaryWriter()
        block.header.write_base(writer)
        writer.write_bytes(var_int(len(block.transactions), 9))
        for i, tx in enumerate(block.transactions):
            writer.write_bytes(noncanonical_encoding(tx, [5, 9, 3, 5]) if i == index
                               else tx.to_bytes())
        decoded = Block.from_bytes(writer.to_bytes())
        self.assertEqual(decoded, block)
        self.assertEqual([tx.hash for tx in decoded.transactions],
                         [tx.hash for tx in block.transactions])

    @ROUND_TRIP
    @given(s.enrollment_transactions.filter(
        lambda tx: not tx.public_key.is_infinity))
    def test_uncompressed_key(self, tx: EnrollmentTransaction) -> None:
        """
        An uncompressed public key is read as the same point; the txid is over its
        compressed form.
        """
        canonical = tx.to_bytes()
        data = canonical[:2] + uncompressed(tx.public_key) + canonical[2 + 33:]
        decoded = Transaction.from_bytes(data)
        self.assertEqual(decoded, tx)
        self.assertEqual(decoded.hash, tx.hash)

    def test_boolean_above_one(self) -> None:
        """
        A need_storage byte of 2 is true, and the txid is over the byte 1.
        """
        tx = PublishTransaction(version=1, script=b"\x51", need_storage=True)
        canonical = tx.to_bytes()
        at = canonical.index(b"\x01\x51\x00\x00\x01") + 4  # script, parameters, return type
        data = canonical[:at] + b"\x02" + canonical[at + 1:]
        decoded = Transaction.from_bytes(data)
        self.assertEqual(decoded, tx)
        self.assertEqual(decoded.hash, tx.hash)

    def test_invalid_utf8(self) -> None:
        """
        Invalid UTF-8 in an asset name reads as U+FFFD, and the txid is over that character's
        UTF-8 encoding, as the reference node re-serializes it.
        """
        key = s.public_key_of(1)
        tx = RegisterTransaction(asset_type=0x60, name="a\ufffd", owner=key)
        data = tx.to_bytes().replace(b"\x04a\xef\xbf\xbd", b"\x02a\xff")
        decoded = Transaction.from_bytes(data)
        self.assertIsInstance(decoded, RegisterTransaction)
        self.assertEqual(decoded, tx)
        self.assertEqual(decoded.hash, tx.hash)

    def test_invalid_utf8_outgrows_its_limit(self) -> None:
        """
        A 252-byte contract name of invalid UTF-8 reads as 252 U+FFFD characters, whose
        UTF-8 form (756 bytes, what the txid hashes) is over the limit it was read under:
        the reference node hashes and relays the same, so it is no error to read it.
        """
        tx = PublishTransaction(version=1, name="n")
        data = tx.to_bytes().replace(b"\x01n", b"\xfc" + b"\xff" * 252)
        decoded = Transaction.from_bytes(data)
        assert isinstance(decoded, PublishTransaction)
        self.assertEqual(decoded.name, "\ufffd" * 252)
        self.assertEqual(decoded.hash, hash256(decoded.unsigned_bytes()))
        self.assertRaises(FormatError, Transaction.from_bytes, decoded.to_bytes())
