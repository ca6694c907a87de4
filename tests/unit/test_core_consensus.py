"""
Tests for L{neo_twisted.core.consensus}: dBFT 1.0 payloads and messages.
"""

from __future__ import annotations

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    GAS_ASSET_ID,
    ChangeView,
    CoinReference,
    ConsensusMessage,
    ConsensusPayload,
    ContractTransaction,
    MinerTransaction,
    PrepareRequest,
    PrepareResponse,
    Transaction,
    TransactionOutput,
    Witness,
)
from neo_twisted.crypto.hashes import hash256
from neo_twisted.wire.binary import encode_var_int
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160, UInt256

SIGNATURE = bytes(range(64))


def payload(data: bytes = b"\x00\x00\x01") -> ConsensusPayload:
    """
    A consensus payload from validator 3 carrying C{data}.
    """
    signer = Witness(b"\x40" + b"\x06" * 64, b"\x21" + b"\x02" * 33 + b"\xac")
    return ConsensusPayload(version=0, prev_hash=UInt256(b"\x05" * 32), block_index=100,
                            validator_index=3, timestamp=1500000000, data=data, witness=signer)


def miner(nonce: int = 77) -> MinerTransaction:
    """
    A MinerTransaction paying one GAS fee output.
    """
    return MinerTransaction(nonce=nonce, outputs=(TransactionOutput(
        asset_id=GAS_ASSET_ID, value=5, script_hash=UInt160(b"\x09" * 20)),))


def other_hash(n: int) -> UInt256:
    """
    A transaction hash that is not the miner's.
    """
    return UInt256(hash256(bytes((n,))))


def prepare_request(hashes: tuple[UInt256, ...] | None = None,
                    miner_tx: Transaction | None = None,
                    signature: bytes = SIGNATURE) -> PrepareRequest:
    """
    A PrepareRequest; by default its hashes are the miner's then two others.
    """
    tx = miner() if miner_tx is None else miner_tx
    if hashes is None:
        hashes = (tx.hash, other_hash(1), other_hash(2))
    return PrepareRequest(view_number=1, nonce=0x1122334455667788,
                          next_consensus=UInt160(b"\x0a" * 20), transaction_hashes=hashes,
                          miner_transaction=tx, signature=signature)


class ConsensusPayloadTests(SynchronousTestCase):
    """
    The routing envelope of consensus messages.
    """

    def test_round_trip(self) -> None:
        """
        A payload round-trips through its bytes.
        """
        p = payload()
        data = p.to_bytes()
        parsed = ConsensusPayload.from_bytes(data)
        self.assertEqual(parsed, p)
        self.assertEqual(parsed.to_bytes(), data)
        self.assertEqual(parsed.size, len(data))

    def test_layout(self) -> None:
        """
        The unsigned part is version, prev hash, block index, validator index, timestamp, data.
        """
        p = payload(b"\xab")
        unsigned = p.unsigned_bytes()
        self.assertEqual(len(unsigned), 4 + 32 + 4 + 2 + 4 + 2)
        self.assertEqual(unsigned[36:40], (100).to_bytes(4, "little"))
        self.assertEqual(unsigned[40:42], b"\x03\x00")
        self.assertEqual(unsigned[-2:], b"\x01\xab")
        self.assertTrue(p.to_bytes().startswith(unsigned + b"\x01"))

    def test_marker_must_be_one(self) -> None:
        """
        The byte before the witness must be 01; 00 and 02 are rejected there.
        """
        p = payload()
        data = p.to_bytes()
        at = len(p.unsigned_bytes())
        self.assertEqual(data[at], 1)
        for marker in (0, 2):
            error = self.assertRaises(FormatError, ConsensusPayload.from_bytes,
                                      data[:at] + bytes((marker,)) + data[at + 1:])
            self.assertEqual(error.offset, at)

    def test_trailing_and_truncated(self) -> None:
        """
        Trailing bytes and truncation are both FormatErrors.
        """
        data = payload().to_bytes()
        self.assertRaises(FormatError, ConsensusPayload.from_bytes, data + b"\x00")
        for end in range(len(data)):
            self.assertRaises(FormatError, ConsensusPayload.from_bytes, data[:end])

    def test_hash_over_unsigned_part(self) -> None:
        """
        The hash is Hash256 of the unsigned part: a new witness keeps it, new data changes it.
        """
        p = payload()
        self.assertEqual(p.hash, UInt256(hash256(p.unsigned_bytes())))
        self.assertEqual(attrs.evolve(p, witness=Witness()).hash, p.hash)
        self.assertNotEqual(attrs.evolve(p, data=b"\x00\x00\x02").hash, p.hash)
        self.assertNotEqual(attrs.evolve(p, validator_index=4).hash, p.hash)

    def test_message(self) -> None:
        """
        message() decodes the data, and a bad one is a FormatError.
        """
        self.assertEqual(payload(b"\x00\x02\x03").message(),
                         ChangeView(view_number=2, new_view_number=3))
        self.assertRaises(FormatError, payload(b"\x30\x00").message)


class ChangeViewTests(SynchronousTestCase):
    """
    ChangeView: type 00, view, new view.
    """

    def test_round_trip(self) -> None:
        """
        A ChangeView is three bytes and round-trips.
        """
        message = ChangeView(view_number=0, new_view_number=1)
        self.assertEqual(message.to_bytes(), b"\x00\x00\x01")
        self.assertEqual(ConsensusMessage.from_bytes(b"\x00\x00\x01"), message)

    def test_new_view_zero(self) -> None:
        """
        A ChangeView to view 0 is rejected at the new view byte.
        """
        error = self.assertRaises(FormatError, ConsensusMessage.from_bytes, b"\x00\x03\x00")
        self.assertEqual(error.offset, 2)


class PrepareRequestTests(SynchronousTestCase):
    """
    PrepareRequest: the primary's proposal.
    """

    def test_round_trip(self) -> None:
        """
        A PrepareRequest round-trips, its MinerTransaction included.
        """
        message = prepare_request()
        data = message.to_bytes()
        self.assertEqual(data[:2], b"\x20\x01")
        parsed = ConsensusMessage.from_bytes(data)
        self.assertEqual(parsed, message)
        self.assertEqual(parsed.to_bytes(), data)
        assert isinstance(parsed, PrepareRequest)
        self.assertEqual(parsed.miner_transaction.hash, parsed.transaction_hashes[0])
        self.assertEqual(data[-64:], SIGNATURE)

    def test_miner_only(self) -> None:
        """
        A proposal of only the MinerTransaction is accepted.
        """
        tx = miner()
        message = prepare_request(hashes=(tx.hash,), miner_tx=tx)
        self.assertEqual(ConsensusMessage.from_bytes(message.to_bytes()), message)

    def test_first_hash_must_be_miner(self) -> None:
        """
        A request whose first hash is not the miner transaction's is rejected.
        """
        tx = miner()
        for hashes in ((other_hash(1), tx.hash), (other_hash(1),), (miner(78).hash,)):
            data = prepare_request(hashes=hashes, miner_tx=tx).to_bytes()
            error = self.assertRaises(FormatError, ConsensusMessage.from_bytes, data)
            # After type, view, nonce, next consensus and the hashes: the miner tx.
            self.assertEqual(error.offset, 2 + 8 + 20 + len(encode_var_int(len(hashes)))
                             + 32 * len(hashes))

    def test_no_hashes(self) -> None:
        """
        A request with no transaction hashes is rejected.
        """
        data = prepare_request(hashes=()).to_bytes()
        self.assertRaises(FormatError, ConsensusMessage.from_bytes, data)

    def test_duplicate_hashes(self) -> None:
        """
        A request listing a hash twice is rejected at the hash list.
        """
        tx = miner()
        for hashes in ((tx.hash, other_hash(1), other_hash(1)), (tx.hash, tx.hash)):
            data = prepare_request(hashes=hashes, miner_tx=tx).to_bytes()
            error = self.assertRaises(FormatError, ConsensusMessage.from_bytes, data)
            self.assertEqual(error.offset, 30)

    def test_embedded_must_be_miner(self) -> None:
        """
        A request embedding a transaction other than a MinerTransaction is rejected.
        """
        tx = ContractTransaction()
        data = prepare_request(hashes=(tx.hash,), miner_tx=tx).to_bytes()
        error = self.assertRaises(FormatError, ConsensusMessage.from_bytes, data)
        self.assertEqual(error.offset, 2 + 8 + 20 + 1 + 32)

    def test_invalid_miner(self) -> None:
        """
        A request embedding an invalid MinerTransaction (here, one with an input) is rejected.
        """
        tx = MinerTransaction(nonce=1, inputs=(CoinReference(UInt256(), 0),))
        data = prepare_request(hashes=(tx.hash,), miner_tx=tx).to_bytes()
        self.assertRaises(FormatError, ConsensusMessage.from_bytes, data)

    def test_short_signature(self) -> None:
        """
        A request whose signature is cut short is rejected.
        """
        data = prepare_request().to_bytes()
        self.assertRaises(FormatError, ConsensusMessage.from_bytes, data[:-1])


class PrepareResponseTests(SynchronousTestCase):
    """
    PrepareResponse: a 64-byte signature.
    """

    def test_round_trip(self) -> None:
        """
        A PrepareResponse is type 21, the view and 64 signature bytes.
        """
        message = PrepareResponse(view_number=2, signature=SIGNATURE)
        data = message.to_bytes()
        self.assertEqual(data, b"\x21\x02" + SIGNATURE)
        self.assertEqual(ConsensusMessage.from_bytes(data), message)

    def test_short_signature(self) -> None:
        """
        A 63-byte signature is rejected.
        """
        self.assertRaises(FormatError, ConsensusMessage.from_bytes, b"\x21\x00" + bytes(63))


class MessageDispatchTests(SynchronousTestCase):
    """
    ConsensusMessage.from_bytes dispatches on the type byte and consumes everything.
    """

    def test_unknown_type(self) -> None:
        """
        Unknown types, such as dBFT 2.0's Commit (0x30), are rejected at offset 0.
        """
        for kind in (0x01, 0x22, 0x30, 0x40, 0x41, 0xFF):
            error = self.assertRaises(FormatError, ConsensusMessage.from_bytes,
                                      bytes((kind,)) + bytes(70))
            self.assertEqual(error.offset, 0, hex(kind))

    def test_empty(self) -> None:
        """
        Empty data, or a type byte without a view, is rejected.
        """
        self.assertRaises(FormatError, ConsensusMessage.from_bytes, b"")
        self.assertRaises(FormatError, ConsensusMessage.from_bytes, b"\x21")

    def test_trailing_bytes(self) -> None:
        """
        Every message type rejects trailing bytes at the first extra byte.
        """
        for message in (ChangeView(view_number=0, new_view_number=1),
                        prepare_request(),
                        PrepareResponse(view_number=0, signature=SIGNATURE)):
            data = message.to_bytes()
            error = self.assertRaises(FormatError, ConsensusMessage.from_bytes, data + b"\x00")
            self.assertEqual(error.offset, len(data), type(message).__name__)
