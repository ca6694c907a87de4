"""
Tests for L{neo_twisted.core.components}, L{neo_twisted.core.transaction} and
L{neo_twisted.core.transactions}: encodings and the checks made on read.
"""

from __future__ import annotations

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    AssetType,
    AttributeUsage,
    ClaimTransaction,
    CoinReference,
    ContractTransaction,
    EnrollmentTransaction,
    InvocationTransaction,
    IssueTransaction,
    MinerTransaction,
    PublishTransaction,
    RegisterTransaction,
    StateDescriptor,
    StateTransaction,
    Transaction,
    TransactionAttribute,
    TransactionOutput,
    TransactionType,
    Witness,
)
from neo_twisted.crypto.hashes import hash160, hash256
from neo_twisted.wire.binary import BinaryReader, BinaryWriter
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160, UInt256

KEY_HEX = "03b209fd4f53a7170ea4444e0cb0a6bb6a53c2bd016926989cf85f9b0fba17a70c"
KEY = ECPoint.from_bytes(bytes.fromhex(KEY_HEX))


def serialize(obj: TransactionAttribute | TransactionOutput | StateDescriptor) -> bytes:
    """
    The bytes C{obj.write} produces.
    """
    writer = BinaryWriter()
    obj.write(writer)
    return writer.to_bytes()


def read_attribute(data: bytes) -> TransactionAttribute:
    """
    Read exactly one attribute from C{data}.
    """
    reader = BinaryReader(data)
    attribute = TransactionAttribute.read(reader)
    reader.expect_end("the attribute")
    return attribute


def output(asset: UInt256 = GAS_ASSET_ID, value: int = 10**8, to: int = 1) -> TransactionOutput:
    """
    An output paying C{value} of C{asset} to a script hash made of byte C{to}.
    """
    return TransactionOutput(asset_id=asset, value=value, script_hash=UInt160(bytes((to,)) * 20))


def coin(n: int = 1, index: int = 0) -> CoinReference:
    """
    A reference to output C{index} of a transaction hash made of byte C{n}.
    """
    return CoinReference(prev_hash=UInt256(bytes((n,)) * 32), prev_index=index)


def witness(tag: bytes = b"\x51") -> Witness:
    """
    A witness whose verification script is C{tag}.
    """
    return Witness(invocation_script=b"\x40" + b"\x07" * 64, verification_script=tag)


def contract_tx() -> ContractTransaction:
    """
    A typical transfer: one input, one NEO output, one witness.
    """
    return ContractTransaction(inputs=(coin(),), outputs=(output(NEO_ASSET_ID),),
                               witnesses=(witness(),))


def genesis_register(governing: bool) -> RegisterTransaction:
    """
    The genesis block's NEO (governing) or GAS (utility) registration.
    """
    if governing:
        return RegisterTransaction(
            asset_type=AssetType.GoverningToken,
            name='[{"lang":"zh-CN","name":"小蚁股"},{"lang":"en","name":"AntShare"}]',
            amount=10**16, precision=0, owner=ECPoint.infinity(),
            admin=UInt160(hash160(b"\x51")))
    return RegisterTransaction(
        asset_type=AssetType.UtilityToken,
        name='[{"lang":"zh-CN","name":"小蚁币"},{"lang":"en","name":"AntCoin"}]',
        amount=10**16, precision=8, owner=ECPoint.infinity(),
        admin=UInt160(hash160(b"\x00")))


def one_of_each() -> list[Transaction]:
    """
    One valid transaction of each of the nine types.
    """
    return [
        MinerTransaction(nonce=2083236893, outputs=(output(),)),
        IssueTransaction(version=1, outputs=(output(NEO_ASSET_ID),), witnesses=(witness(),)),
        ClaimTransaction(claims=(coin(2), coin(3, 1)), outputs=(output(),)),
        EnrollmentTransaction(public_key=KEY),
        RegisterTransaction(asset_type=AssetType.Token, name="T", amount=10**10,
                            precision=2, owner=KEY, admin=UInt160(bytes(range(20)))),
        contract_tx(),
        StateTransaction(descriptors=(
            StateDescriptor(0x40, bytes(20), "Votes", b"\x01" + bytes.fromhex(KEY_HEX)),
            StateDescriptor(0x48, bytes.fromhex(KEY_HEX), "Registered", b"\x01"))),
        PublishTransaction(version=1, script=b"\x00\x61", parameter_list=b"\x07\x10",
                           return_type=5, need_storage=True, name="n", code_version="1",
                           author="a", email="e", description="d"),
        InvocationTransaction(version=1, script=b"\x00\xc1\x04test", gas=10**8),
    ]


def with_version(data: bytes, version: int) -> bytes:
    """
    C{data} (a serialized transaction) with its version byte replaced.
    """
    return data[:1] + bytes((version,)) + data[2:]


class AttributeTests(SynchronousTestCase):
    """
    Each attribute usage has its own encoding.
    """

    def test_fixed32Usages(self) -> None:
        """
        ContractHash, Vote and Hash1-15 are the usage byte and 32 raw bytes.
        """
        usages = [AttributeUsage.ContractHash, AttributeUsage.Vote,
                  *(AttributeUsage(u) for u in range(0xA1, 0xB0))]
        self.assertEqual(len(usages), 17)
        data = bytes(range(32))
        for usage in usages:
            attribute = TransactionAttribute(usage, data)
            wire = serialize(attribute)
            self.assertEqual(wire, bytes((usage,)) + data)
            self.assertEqual(read_attribute(wire), attribute)

    def test_fixed32WrongLength(self) -> None:
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
            self.assertEqual(serialize(attribute), wire)

    def test_ecdhDataMustStartWithUsage(self) -> None:
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
        self.assertEqual(serialize(attribute), b"\x20" + data)
        self.assertEqual(read_attribute(b"\x20" + data), attribute)
        self.assertRaises(ValueError, TransactionAttribute, 0x20, bytes(32))

    def test_descriptionUrlOneByteLength(self) -> None:
        """
        DescriptionUrl has a one-byte length, so 253 bytes are prefixed FD, not FD FD 00.
        """
        data = b"u" * 253
        attribute = TransactionAttribute(AttributeUsage.DescriptionUrl, data)
        wire = serialize(attribute)
        self.assertEqual(wire, b"\x81\xfd" + data)
        self.assertEqual(read_attribute(wire), attribute)
        self.assertEqual(read_attribute(b"\x81\x00"), TransactionAttribute(0x81, b""))

    def test_descriptionUrlAtMost255(self) -> None:
        """
        DescriptionUrl data longer than 255 bytes cannot be built.
        """
        TransactionAttribute(0x81, bytes(255))
        self.assertRaises(ValueError, TransactionAttribute, 0x81, bytes(256))

    def test_descriptionAndRemarksVarBytes(self) -> None:
        """
        Description and Remark..Remark15 are var bytes, so 253 bytes are prefixed FD FD 00.
        """
        data = b"r" * 253
        for usage in (0x90, *range(0xF0, 0x100)):
            attribute = TransactionAttribute(usage, data)
            wire = serialize(attribute)
            self.assertEqual(wire, bytes((usage,)) + b"\xfd\xfd\x00" + data)
            self.assertEqual(read_attribute(wire), attribute)
            self.assertEqual(read_attribute(bytes((usage,)) + b"\x02hi").data, b"hi")

    def test_varBytesCap(self) -> None:
        """
        Description data above 65535 bytes fails to read.
        """
        wire = b"\x90\xfe" + (65536).to_bytes(4, "little") + bytes(65536)
        self.assertRaises(FormatError, read_attribute, wire)

    def test_unknownUsage(self) -> None:
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

    def test_outputLayout(self) -> None:
        """
        An output is 60 bytes: asset id, int64 value, script hash.
        """
        out = output(NEO_ASSET_ID, 10**16, 9)
        wire = serialize(out)
        self.assertEqual(len(wire), 60)
        self.assertEqual(wire[32:40], bytes.fromhex("0000c16ff2862300"))
        self.assertEqual(TransactionOutput.read(BinaryReader(wire)), out)

    def test_outputValueNotPositive(self) -> None:
        """
        An output value of zero or less is a FormatError at the value's offset.
        """
        for value in (0, -1, -(2**63)):
            wire = serialize(output(value=value))
            error = self.assertRaises(FormatError, TransactionOutput.read, BinaryReader(wire))
            self.assertEqual(error.offset, 32, value)

    def test_coinReferenceLayout(self) -> None:
        """
        A coin reference is the previous hash and a little-endian 16-bit index.
        """
        ref = coin(4, 0x0102)
        writer = BinaryWriter()
        ref.write(writer)
        self.assertEqual(writer.to_bytes(), b"\x04" * 32 + b"\x02\x01")
        self.assertEqual(CoinReference.read(BinaryReader(writer.to_bytes())), ref)


class VersionTests(SynchronousTestCase):
    """
    Each type accepts versions up to its own maximum.
    """

    def test_versionZeroOnly(self) -> None:
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

    def test_versionUpToOne(self) -> None:
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

    def test_stateAnyVersion(self) -> None:
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

    def test_roundTripEachType(self) -> None:
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

    def test_minerWithInput(self) -> None:
        """
        A MinerTransaction with an input is rejected.
        """
        tx = MinerTransaction(nonce=1, inputs=(coin(),))
        self.assertRaises(FormatError, Transaction.from_bytes, tx.to_bytes())

    def test_minerNonGasOutput(self) -> None:
        """
        A MinerTransaction paying anything but GAS is rejected.
        """
        tx = MinerTransaction(nonce=1, outputs=(output(), output(NEO_ASSET_ID)))
        self.assertRaises(FormatError, Transaction.from_bytes, tx.to_bytes())
        ok = MinerTransaction(nonce=1, outputs=(output(), output(GAS_ASSET_ID, 5)))
        self.assertEqual(Transaction.from_bytes(ok.to_bytes()), ok)

    def test_minerNonceLayout(self) -> None:
        """
        The miner nonce is a little-endian uint32 right after the version.
        """
        data = MinerTransaction(nonce=0x7C2BAC1D).to_bytes()
        self.assertEqual(data, bytes.fromhex("00001dac2b7c00000000"))

    def test_claimWithoutClaims(self) -> None:
        """
        A ClaimTransaction with no claims is rejected at the claim count.
        """
        error = self.assertRaises(FormatError, Transaction.from_bytes,
                                  ClaimTransaction(outputs=(output(),)).to_bytes())
        self.assertEqual(error.offset, 2)

    def test_invocationEmptyScript(self) -> None:
        """
        An InvocationTransaction with an empty script is rejected at the script.
        """
        for version in (0, 1):
            data = InvocationTransaction(version=version, script=b"").to_bytes()
            error = self.assertRaises(FormatError, Transaction.from_bytes, data)
            self.assertEqual(error.offset, 2)

    def test_invocationScriptCap(self) -> None:
        """
        An invocation script may be 65536 bytes but not more.
        """
        ok = InvocationTransaction(script=bytes(65536))
        self.assertEqual(Transaction.from_bytes(ok.to_bytes()), ok)
        too_long = InvocationTransaction(script=bytes(65537))
        self.assertRaises(FormatError, Transaction.from_bytes, too_long.to_bytes())

    def test_invocationVersionZeroHasNoGas(self) -> None:
        """
        A version 0 invocation serializes without gas even when built with some.
        """
        tx = InvocationTransaction(version=0, script=b"\x61", gas=5 * 10**8)
        data = tx.to_bytes()
        self.assertEqual(data, bytes.fromhex("d100016100000000"))
        parsed = Transaction.from_bytes(data)
        assert isinstance(parsed, InvocationTransaction)
        self.assertEqual(parsed.gas, 0)

    def test_invocationVersionOneGas(self) -> None:
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

    def test_invocationNegativeGas(self) -> None:
        """
        A version 1 invocation with negative gas is rejected at the gas field.
        """
        data = InvocationTransaction(version=1, script=b"\x61", gas=-1).to_bytes()
        error = self.assertRaises(FormatError, Transaction.from_bytes, data)
        self.assertEqual(error.offset, 4)

    def test_publishNeedStorageOnlyV1(self) -> None:
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

    def test_registerOwnerlessToken(self) -> None:
        """
        A registration with no owner is rejected for any asset type but NEO's and GAS's.
        """
        for asset_type in (AssetType.Token, AssetType.Share, AssetType.Currency,
                           AssetType.Invoice):
            tx = RegisterTransaction(asset_type=asset_type, name="x", amount=1,
                                     owner=ECPoint.infinity())
            self.assertRaises(FormatError, Transaction.from_bytes, tx.to_bytes())

    def test_registerGenesisAssets(self) -> None:
        """
        The genesis NEO and GAS registrations parse and hash to the built-in asset ids.
        """
        for governing, asset_id in ((True, NEO_ASSET_ID), (False, GAS_ASSET_ID)):
            parsed = Transaction.from_bytes(genesis_register(governing).to_bytes())
            self.assertEqual(parsed.hash, asset_id)

    def test_registerOtherGoverningToken(self) -> None:
        """
        A governing or utility token registration that is not the genesis one is rejected.
        """
        for governing in (True, False):
            fake = attrs.evolve(genesis_register(governing), amount=10**16 + 1)
            error = self.assertRaises(FormatError, Transaction.from_bytes, fake.to_bytes())
            self.assertEqual(error.offset, 0)

    def test_registerUncompressedOwner(self) -> None:
        """
        An uncompressed owner key is accepted, and the hash is taken over the compressed form.
        """
        tx = RegisterTransaction(asset_type=AssetType.Token, name="T", amount=1, owner=KEY)
        compressed = tx.to_bytes()
        assert KEY.x is not None and KEY.y is not None
        long_key = b"\x04" + KEY.x.to_bytes(32, "big") + KEY.y.to_bytes(32, "big")
        raw = compressed.replace(bytes.fromhex(KEY_HEX), long_key)
        parsed = Transaction.from_bytes(raw)
        self.assertEqual(parsed, tx)
        self.assertEqual(parsed.hash, tx.hash)
        self.assertNotEqual(parsed.hash, UInt256(hash256(raw[:-1])))

    def test_stateDescriptorType(self) -> None:
        """
        State descriptor types other than 0x40 and 0x48 are rejected.
        """
        for kind in (0x00, 0x41, 0x47, 0x49, 0x90):
            tx = StateTransaction(descriptors=(StateDescriptor(kind, bytes(20), "Votes", b""),))
            self.assertRaises(FormatError, Transaction.from_bytes, tx.to_bytes())

    def test_accountDescriptor(self) -> None:
        """
        An Account descriptor needs a 20-byte key and the field Votes.
        """
        good = StateDescriptor(0x40, bytes(20), "Votes", b"\x00")
        self.assertEqual(good.type_name, "Account")
        self.assertEqual(StateDescriptor.read(BinaryReader(serialize(good))), good)
        for bad in (StateDescriptor(0x40, bytes(19), "Votes", b""),
                    StateDescriptor(0x40, bytes(33), "Votes", b""),
                    StateDescriptor(0x40, bytes(20), "Registered", b""),
                    StateDescriptor(0x40, bytes(20), "votes", b"")):
            self.assertRaises(FormatError, StateDescriptor.read, BinaryReader(serialize(bad)))

    def test_validatorDescriptor(self) -> None:
        """
        A Validator descriptor needs a 33-byte key and the field Registered.
        """
        good = StateDescriptor(0x48, bytes.fromhex(KEY_HEX), "Registered", b"\x01")
        self.assertEqual(good.type_name, "Validator")
        self.assertEqual(StateDescriptor.read(BinaryReader(serialize(good))), good)
        for bad in (StateDescriptor(0x48, bytes(20), "Registered", b""),
                    StateDescriptor(0x48, bytes(32), "Registered", b""),
                    StateDescriptor(0x48, bytes(33), "Votes", b"")):
            self.assertRaises(FormatError, StateDescriptor.read, BinaryReader(serialize(bad)))

    def test_stateDescriptorCaps(self) -> None:
        """
        A descriptor key above 100 bytes or a field above 32 bytes fails to read.
        """
        long_key = StateDescriptor(0x40, bytes(101), "Votes", b"")
        long_field = StateDescriptor(0x40, bytes(20), "V" * 33, b"")
        for bad in (long_key, long_field):
            self.assertRaises(FormatError, StateDescriptor.read, BinaryReader(serialize(bad)))

    def test_moreThanSixteenDescriptors(self) -> None:
        """
        A StateTransaction with 17 descriptors is rejected.
        """
        descriptor = StateDescriptor(0x40, bytes(20), "Votes", b"")
        ok = StateTransaction(descriptors=(descriptor,) * 16)
        self.assertEqual(Transaction.from_bytes(ok.to_bytes()), ok)
        too_many = StateTransaction(descriptors=(descriptor,) * 17)
        self.assertRaises(FormatError, Transaction.from_bytes, too_many.to_bytes())


class CommonLayoutTests(SynchronousTestCase):
    """
    The layout and hashing rules shared by every type.
    """

    def test_attributeCap(self) -> None:
        """
        Sixteen attributes are accepted and seventeen are rejected at the count.
        """
        remark = TransactionAttribute(AttributeUsage.Remark, b"hi")
        ok = attrs.evolve(contract_tx(), attributes=(remark,) * 16)
        self.assertEqual(Transaction.from_bytes(ok.to_bytes()), ok)
        error = self.assertRaises(FormatError, Transaction.from_bytes,
                                  attrs.evolve(contract_tx(), attributes=(remark,) * 17).to_bytes())
        self.assertEqual(error.offset, 2)

    def test_unknownType(self) -> None:
        """
        An unknown type byte is a FormatError at offset 0.
        """
        for type_byte in (0x03, 0x10, 0x21, 0x81, 0x91, 0xD2, 0xFF):
            data = bytes((type_byte,)) + bytes(8)
            error = self.assertRaises(FormatError, Transaction.from_bytes, data)
            self.assertEqual(error.offset, 0, hex(type_byte))

    def test_trailingBytes(self) -> None:
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

    def test_hashIsOverUnsignedPart(self) -> None:
        """
        The hash is Hash256 of everything but the witnesses.
        """
        tx = contract_tx()
        data = tx.to_bytes()
        unsigned = tx.unsigned_bytes()
        self.assertTrue(data.startswith(unsigned))
        self.assertEqual(tx.hash, UInt256(hash256(unsigned)))
        self.assertEqual(Transaction.from_bytes(data).hash, tx.hash)

    def test_witnessDoesNotChangeHash(self) -> None:
        """
        Changing or dropping a witness does not change the hash.
        """
        tx = contract_tx()
        for witnesses in ((witness(b"\x52"),), (), (witness(), witness(b"\x00"))):
            other = attrs.evolve(tx, witnesses=witnesses)
            self.assertEqual(other.hash, tx.hash)
            self.assertEqual(Transaction.from_bytes(other.to_bytes()).hash, tx.hash)

    def test_outputChangesHash(self) -> None:
        """
        Changing an output changes the hash.
        """
        tx = contract_tx()
        other = attrs.evolve(tx, outputs=(output(NEO_ASSET_ID, 2 * 10**8),))
        self.assertNotEqual(other.hash, tx.hash)

    def test_nonCanonicalInputHashedCanonically(self) -> None:
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

    def test_nonCanonicalBooleanHashedCanonically(self) -> None:
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

    def test_readTypedRejectsOtherType(self) -> None:
        """
        MinerTransaction.read_typed rejects a transaction of another type at its type byte.
        """
        reader = BinaryReader(b"\xee" + contract_tx().to_bytes())
        reader.read_u8()
        error = self.assertRaises(FormatError, MinerTransaction.read_typed, reader)
        self.assertEqual(error.offset, 1)

    def test_readTypedAcceptsOwnType(self) -> None:
        """
        read_typed reads a transaction of its own type.
        """
        miner = MinerTransaction(nonce=9)
        self.assertEqual(MinerTransaction.read_typed(BinaryReader(miner.to_bytes())), miner)

    def test_sectionCountsLayout(self) -> None:
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
