"""
Tests for L{neo_twisted.core.transactions}: the versions each of the nine transaction types
accepts, and the checks each makes on its exclusive data.
"""

from __future__ import annotations

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    AssetType,
    ClaimTransaction,
    InvocationTransaction,
    IssueTransaction,
    MinerTransaction,
    PublishTransaction,
    RegisterTransaction,
    StateDescriptor,
    StateTransaction,
    Transaction,
    TransactionType,
)
from neo_twisted.crypto.hashes import hash256
from neo_twisted.wire.binary import BinaryReader
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt256
from tests.support.encodings import encode, uncompressed
from tests.support.transaction_samples import (
    KEY,
    KEY_HEX,
    coin,
    genesis_register,
    one_of_each,
    output,
)


def with_version(data: bytes, version: int) -> bytes:
    """
    C{data} (a serialized transaction) with its version byte replaced.
    """
    return data[:1] + bytes((version,)) + data[2:]


class VersionTests(SynchronousTestCase):
    """
    Each type accepts versions up to its own maximum.
    """

    def test_version_zero_only(self) -> None:
        """
        Miner, Claim, Enrollment, Register and Contract reject version 1 at the version byte.
        """
        for tx in one_of_each():
            if tx.TYPE in (TransactionType.MinerTransaction, TransactionType.ClaimTransaction,
                           TransactionType.EnrollmentTransaction,
                           TransactionType.RegisterTransaction,
                           TransactionType.ContractTransaction):
                data = tx.to_bytes()
                self.assertEqual(Transaction.from_bytes(data), tx)
                error = self.assertRaises(FormatError, Transaction.from_bytes,
                                          with_version(data, 1))
                self.assertEqual(error.offset, 1, tx.type_name)

    def test_version_up_to_one(self) -> None:
        """
        Issue, Publish and Invocation accept versions 0 and 1 and reject version 2.
        """
        for cls in (IssueTransaction, PublishTransaction, InvocationTransaction):
            for version in (0, 1):
                tx = cls(version=version)
                self.assertEqual(Transaction.from_bytes(tx.to_bytes()), tx)
            data = cls(version=1).to_bytes()
            error = self.assertRaises(FormatError, Transaction.from_bytes, with_version(data, 2))
            self.assertEqual(error.offset, 1, cls.__name__)

    def test_state_any_version(self) -> None:
        """
        A StateTransaction of any version is accepted.
        """
        for version in (0, 1, 2, 0x80, 255):
            tx = StateTransaction(version=version)
            self.assertEqual(Transaction.from_bytes(tx.to_bytes()).version, version)


class TypeSpecificTests(SynchronousTestCase):
    """
    The checks each type makes on its exclusive data.
    """

    def test_round_trip_each_type(self) -> None:
        """
        One transaction of each type survives a round trip, hash included.
        """
        txs = one_of_each()
        self.assertEqual({tx.TYPE for tx in txs}, set(TransactionType))
        for tx in txs:
            data = tx.to_bytes()
            parsed = Transaction.from_bytes(data)
            self.assertIsInstance(parsed, type(tx))
            self.assertEqual(parsed, tx)
            self.assertEqual(parsed.to_bytes(), data)
            self.assertEqual(parsed.hash, tx.hash)
            self.assertEqual(parsed.size, len(data))
            self.assertEqual(data[0], tx.TYPE)

    def test_miner_with_input(self) -> None:
        """
        A MinerTransaction with an input is rejected.
        """
        tx = MinerTransaction(nonce=1, inputs=(coin(),))
        self.assertRaises(FormatError, Transaction.from_bytes, tx.to_bytes())

    def test_miner_non_gas_output(self) -> None:
        """
        A MinerTransaction paying anything but GAS is rejected.
        """
        tx = MinerTransaction(nonce=1, outputs=(output(), output(NEO_ASSET_ID)))
        self.assertRaises(FormatError, Transaction.from_bytes, tx.to_bytes())
        ok = MinerTransaction(nonce=1, outputs=(output(), output(GAS_ASSET_ID, 5)))
        self.assertEqual(Transaction.from_bytes(ok.to_bytes()), ok)

    def test_miner_nonce_layout(self) -> None:
        """
        The miner nonce is a little-endian uint32 right after the version.
        """
        data = MinerTransaction(nonce=0x7C2BAC1D).to_bytes()
        self.assertEqual(data, bytes.fromhex("00001dac2b7c00000000"))

    def test_claim_without_claims(self) -> None:
        """
        A ClaimTransaction with no claims is rejected at the claim count.
        """
        error = self.assertRaises(FormatError, Transaction.from_bytes,
                                  ClaimTransaction(outputs=(output(),)).to_bytes())
        self.assertEqual(error.offset, 2)

    def test_invocation_empty_script(self) -> None:
        """
        An InvocationTransaction with an empty script is rejected at the script.
        """
        for version in (0, 1):
            data = InvocationTransaction(version=version, script=b"").to_bytes()
            error = self.assertRaises(FormatError, Transaction.from_bytes, data)
            self.assertEqual(error.offset, 2)

    def test_invocation_script_cap(self) -> None:
        """
        An invocation script may be 65536 bytes but not more.
        """
        ok = InvocationTransaction(script=bytes(65536))
        self.assertEqual(Transaction.from_bytes(ok.to_bytes()), ok)
        too_long = InvocationTransaction(script=bytes(65537))
        self.assertRaises(FormatError, Transaction.from_bytes, too_long.to_bytes())

    def test_invocation_version_zero_has_no_gas(self) -> None:
        """
        A version 0 invocation serializes without gas even when built with some.
        """
        tx = InvocationTransaction(version=0, script=b"\x61", gas=5 * 10**8)
        data = tx.to_bytes()
        self.assertEqual(data, bytes.fromhex("d100016100000000"))
        parsed = Transaction.from_bytes(data)
        assert isinstance(parsed, InvocationTransaction)
        self.assertEqual(parsed.gas, 0)

    def test_invocation_version_one_gas(self) -> None:
        """
        A version 1 invocation carries its gas as int64 after the script.
        """
        tx = InvocationTransaction(version=1, script=b"\x61", gas=7 * 10**8)
        data = tx.to_bytes()
        self.assertEqual(data[:4], bytes.fromhex("d1010161"))
        self.assertEqual(data[4:12], (7 * 10**8).to_bytes(8, "little"))
        parsed = Transaction.from_bytes(data)
        assert isinstance(parsed, InvocationTransaction)
        self.assertEqual(parsed.gas, 7 * 10**8)

    def test_invocation_negative_gas(self) -> None:
        """
        A version 1 invocation with negative gas is rejected at the gas field.
        """
        data = InvocationTransaction(version=1, script=b"\x61", gas=-1).to_bytes()
        error = self.assertRaises(FormatError, Transaction.from_bytes, data)
        self.assertEqual(error.offset, 4)

    def test_publish_need_storage_only_v1(self) -> None:
        """
        NeedStorage is on the wire only from version 1; version 0 reads it as False.
        """
        v0 = PublishTransaction(version=0, script=b"\x61", need_storage=True)
        v1 = PublishTransaction(version=1, script=b"\x61", need_storage=True)
        self.assertEqual(len(v1.to_bytes()), len(v0.to_bytes()) + 1)
        parsed0 = Transaction.from_bytes(v0.to_bytes())
        parsed1 = Transaction.from_bytes(v1.to_bytes())
        assert isinstance(parsed0, PublishTransaction)
        assert isinstance(parsed1, PublishTransaction)
        self.assertFalse(parsed0.need_storage)
        self.assertTrue(parsed1.need_storage)
        # script 01 61, parameter list 00, return type 00, then the boolean.
        self.assertEqual(v1.to_bytes()[2:7], bytes.fromhex("0161000001"))

    def test_register_ownerless_token(self) -> None:
        """
        A registration with no owner is rejected for any asset type but NEO's and GAS's.
        """
        for asset_type in (AssetType.Token, AssetType.Share, AssetType.Currency,
                           AssetType.Invoice):
            tx = RegisterTransaction(asset_type=asset_type, name="x", amount=1,
                                     owner=ECPoint.infinity())
            self.assertRaises(FormatError, Transaction.from_bytes, tx.to_bytes())

    def test_register_genesis_assets(self) -> None:
        """
        The genesis NEO and GAS registrations parse and hash to the built-in asset ids.
        """
        for governing, asset_id in ((True, NEO_ASSET_ID), (False, GAS_ASSET_ID)):
            parsed = Transaction.from_bytes(genesis_register(governing).to_bytes())
            self.assertEqual(parsed.hash, asset_id)

    def test_register_other_governing_token(self) -> None:
        """
        A governing or utility token registration that is not the genesis one is rejected.
        """
        for governing in (True, False):
            fake = attrs.evolve(genesis_register(governing), amount=10**16 + 1)
            error = self.assertRaises(FormatError, Transaction.from_bytes, fake.to_bytes())
            self.assertEqual(error.offset, 0)

    def test_register_uncompressed_owner(self) -> None:
        """
        An uncompressed owner key is accepted, and the hash is taken over the compressed form.
        """
        tx = RegisterTransaction(asset_type=AssetType.Token, name="T", amount=1, owner=KEY)
        compressed = tx.to_bytes()
        long_key = uncompressed(KEY)
        raw = compressed.replace(bytes.fromhex(KEY_HEX), long_key)
        parsed = Transaction.from_bytes(raw)
        self.assertEqual(parsed, tx)
        self.assertEqual(parsed.hash, tx.hash)
        self.assertNotEqual(parsed.hash, UInt256(hash256(raw[:-1])))

    def test_state_descriptor_type(self) -> None:
        """
        State descriptor types other than 0x40 and 0x48 are rejected.
        """
        for kind in (0x00, 0x41, 0x47, 0x49, 0x90):
            tx = StateTransaction(descriptors=(StateDescriptor(kind, bytes(20), "Votes", b""),))
            self.assertRaises(FormatError, Transaction.from_bytes, tx.to_bytes())

    def test_account_descriptor(self) -> None:
        """
        An Account descriptor needs a 20-byte key and the field Votes.
        """
        good = StateDescriptor(0x40, bytes(20), "Votes", b"\x00")
        self.assertEqual(good.type_name, "Account")
        self.assertEqual(StateDescriptor.read(BinaryReader(encode(good))), good)
        for bad in (StateDescriptor(0x40, bytes(19), "Votes", b""),
                    StateDescriptor(0x40, bytes(33), "Votes", b""),
                    StateDescriptor(0x40, bytes(20), "Registered", b""),
                    StateDescriptor(0x40, bytes(20), "votes", b"")):
            self.assertRaises(FormatError, StateDescriptor.read, BinaryReader(encode(bad)))

    def test_validator_descriptor(self) -> None:
        """
        A Validator descriptor needs a 33-byte key and the field Registered.
        """
        good = StateDescriptor(0x48, bytes.fromhex(KEY_HEX), "Registered", b"\x01")
        self.assertEqual(good.type_name, "Validator")
        self.assertEqual(StateDescriptor.read(BinaryReader(encode(good))), good)
        for bad in (StateDescriptor(0x48, bytes(20), "Registered", b""),
                    StateDescriptor(0x48, bytes(32), "Registered", b""),
                    StateDescriptor(0x48, bytes(33), "Votes", b"")):
            self.assertRaises(FormatError, StateDescriptor.read, BinaryReader(encode(bad)))

    def test_state_descriptor_caps(self) -> None:
        """
        A descriptor key above 100 bytes or a field above 32 bytes fails to read.
        """
        long_key = StateDescriptor(0x40, bytes(101), "Votes", b"")
        long_field = StateDescriptor(0x40, bytes(20), "V" * 33, b"")
        for bad in (long_key, long_field):
            self.assertRaises(FormatError, StateDescriptor.read, BinaryReader(encode(bad)))

    def test_more_than_sixteen_descriptors(self) -> None:
        """
        A StateTransaction with 17 descriptors is rejected.
        """
        descriptor = StateDescriptor(0x40, bytes(20), "Votes", b"")
        ok = StateTransaction(descriptors=(descriptor,) * 16)
        self.assertEqual(Transaction.from_bytes(ok.to_bytes()), ok)
        too_many = StateTransaction(descriptors=(descriptor,) * 17)
        self.assertRaises(FormatError, Transaction.from_bytes, too_many.to_bytes())

