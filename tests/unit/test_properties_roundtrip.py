"""
Property tests: every wire structure and every P2P payload reads back equal through its
reader and re-encodes to the same bytes, with the same hash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    Block,
    Header,
    Transaction,
    TransactionAttribute,
    TransactionOutput,
    Witness,
)
from neo_twisted.core.components import CoinReference
from neo_twisted.core.consensus import ConsensusMessage, ConsensusPayload
from neo_twisted.core.transactions import StateDescriptor
from neo_twisted.crypto.hashes import hash256
from neo_twisted.network.payloads import (
    PAYLOAD_READERS,
    NetworkAddressWithTime,
    Payload,
    payload_bytes,
    read_payload,
)
from neo_twisted.wire.binary import BinaryReader
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160, UInt256
from tests.support import strategies as s
from tests.support.encodings import Writable, encode
from tests.support.property_settings import HEAVY, ROUND_TRIP

W = TypeVar("W", bound=Writable)


class RoundTripMixin(SynchronousTestCase):
    def assert_round_trip(self, read: Callable[[BinaryReader], W], value: W,
                          data: bytes) -> W:
        """
        C{data} (the encoding of C{value}) reads back as C{value}, consuming every byte,
        and the decoded value encodes to C{data} again.
        """
        reader = BinaryReader(data)
        decoded = read(reader)
        self.assertEqual(reader.remaining(), 0)
        self.assertEqual(decoded, value)
        self.assertEqual(encode(decoded), data)
        return decoded

    def assert_fixed_size_round_trip(self, read: Callable[[BinaryReader], W], value: W,
                                     size: int) -> None:
        """
        C{value} encodes to exactly C{size} bytes, which read back as C{value}.
        """
        data = encode(value)
        self.assertEqual(len(data), size)
        self.assert_round_trip(read, value, data)


class PrimitiveRoundTripTests(RoundTripMixin):
    @ROUND_TRIP
    @given(s.uint160s, s.uint256s)
    def test_uints(self, u160: UInt160, u256: UInt256) -> None:
        """
        UInt160 and UInt256 are their 20 and 32 wire bytes, read back as the same type.
        """
        read160 = BinaryReader(bytes(u160)).read_uint160()
        read256 = BinaryReader(bytes(u256)).read_uint256()
        self.assertEqual((read160, type(read160)), (u160, UInt160))
        self.assertEqual((read256, type(read256)), (u256, UInt256))
        self.assertEqual(UInt160.from_string(str(u160)), u160)
        self.assertEqual(UInt256.from_string(str(u256)), u256)

    @ROUND_TRIP
    @given(s.ec_points)
    def test_ec_point(self, point: ECPoint) -> None:
        """
        A point is 33 compressed bytes (1 for infinity) and reads back equal.
        """
        data = encode(point)
        self.assertEqual(len(data), 1 if point.is_infinity else 33)
        self.assert_round_trip(ECPoint.read, point, data)
        self.assertEqual(ECPoint.from_bytes(data), point)

    @ROUND_TRIP
    @given(s.witnesses)
    def test_witness(self, witness: Witness) -> None:
        """
        A witness is two var byte strings.
        """
        self.assert_round_trip(Witness.read, witness, encode(witness))

    @ROUND_TRIP
    @given(s.coin_references)
    def test_coin_reference(self, reference: CoinReference) -> None:
        """
        An input is 34 bytes.
        """
        self.assert_fixed_size_round_trip(CoinReference.read, reference, 34)

    @ROUND_TRIP
    @given(s.transaction_outputs)
    def test_transaction_output(self, output: TransactionOutput) -> None:
        """
        An output is 60 bytes.
        """
        self.assert_fixed_size_round_trip(TransactionOutput.read, output, 60)

    @ROUND_TRIP
    @given(s.transaction_attributes)
    def test_transaction_attribute(self, attribute: TransactionAttribute) -> None:
        """
        Each attribute usage reads back with its data (ECDH keys keep their usage byte).
        """
        self.assert_round_trip(TransactionAttribute.read, attribute, encode(attribute))

    @ROUND_TRIP
    @given(s.state_descriptors)
    def test_state_descriptor(self, descriptor: StateDescriptor) -> None:
        """
        Account and validator descriptors read back equal.
        """
        self.assert_round_trip(StateDescriptor.read, descriptor, encode(descriptor))

    @ROUND_TRIP
    @given(s.network_addresses)
    def test_network_address(self, address: NetworkAddressWithTime) -> None:
        """
        An address entry is 30 bytes; IPv4 and (unmapped) IPv6 addresses read back equal.
        """
        self.assert_fixed_size_round_trip(NetworkAddressWithTime.read, address, 30)


class TransactionRoundTripTests(RoundTripMixin):
    def assert_transaction_round_trip(self, tx: Transaction) -> None:
        """
        C{tx} reads back equal through both entry points, with the same hash and size,
        and its hash is Hash256 of the unsigned part.
        """
        data = tx.to_bytes()
        decoded = self.assert_round_trip(Transaction.read, tx, data)
        self.assertEqual(type(decoded), type(tx))
        self.assertEqual(decoded.hash, tx.hash)
        self.assertEqual(tx.hash, hash256(tx.unsigned_bytes()))
        again = Transaction.from_bytes(data)
        self.assertEqual(again, tx)
        self.assertEqual(again.hash, tx.hash)
        self.assertEqual(again.size, len(data))
        self.assertEqual(type(tx).read_typed(BinaryReader(data)), tx)

    @ROUND_TRIP
    @given(s.miner_transactions)
    def test_miner(self, tx: Transaction) -> None:
        """
        MinerTransactions (version 0, no inputs, GAS outputs) round-trip.
        """
        self.assert_transaction_round_trip(tx)

    @ROUND_TRIP
    @given(s.issue_transactions)
    def test_issue(self, tx: Transaction) -> None:
        """
        IssueTransactions of version 0 and 1 round-trip.
        """
        self.assert_transaction_round_trip(tx)

    @ROUND_TRIP
    @given(s.claim_transactions)
    def test_claim(self, tx: Transaction) -> None:
        """
        ClaimTransactions round-trip with their claims.
        """
        self.assert_transaction_round_trip(tx)

    @ROUND_TRIP
    @given(s.enrollment_transactions)
    def test_enrollment(self, tx: Transaction) -> None:
        """
        EnrollmentTransactions round-trip with any key, infinity included.
        """
        self.assert_transaction_round_trip(tx)

    @ROUND_TRIP
    @given(s.register_transactions)
    def test_register(self, tx: Transaction) -> None:
        """
        RegisterTransactions of non-genesis asset types round-trip.
        """
        self.assert_transaction_round_trip(tx)

    @ROUND_TRIP
    @given(s.contract_transactions)
    def test_contract(self, tx: Transaction) -> None:
        """
        ContractTransactions round-trip.
        """
        self.assert_transaction_round_trip(tx)

    @ROUND_TRIP
    @given(s.state_transactions)
    def test_state(self, tx: Transaction) -> None:
        """
        StateTransactions of any version round-trip with their descriptors.
        """
        self.assert_transaction_round_trip(tx)

    @ROUND_TRIP
    @given(s.publish_transactions())
    def test_publish(self, tx: Transaction) -> None:
        """
        PublishTransactions round-trip; need_storage is on the wire only from version 1.
        """
        self.assert_transaction_round_trip(tx)

    @ROUND_TRIP
    @given(s.invocation_transactions())
    def test_invocation(self, tx: Transaction) -> None:
        """
        InvocationTransactions round-trip; gas is on the wire only from version 1.
        """
        self.assert_transaction_round_trip(tx)


class BlockRoundTripTests(RoundTripMixin):
    @ROUND_TRIP
    @given(s.headers())
    def test_header(self, header: Header) -> None:
        """
        A header is its 104 unsigned bytes, C{01}, its witness and C{00}; its hash is
        Hash256 of the 104 bytes.
        """
        data = header.to_bytes()
        decoded = self.assert_round_trip(Header.read, header, data)
        self.assertEqual(Header.from_bytes(data), header)
        self.assertEqual(header.unsigned_bytes(), data[:104])
        self.assertEqual(decoded.hash, hash256(data[:104]))
        self.assertEqual(decoded.hash, header.hash)
        self.assertEqual(header.size, len(data))

    @ROUND_TRIP
    @given(s.blocks())
    def test_block(self, block: Block) -> None:
        """
        A block reads back equal, with the header's hash and every transaction's hash.
        """
        data = block.to_bytes()
        decoded = self.assert_round_trip(Block.read, block, data)
        self.assertEqual(Block.from_bytes(data), block)
        self.assertEqual(decoded.hash, block.hash)
        self.assertEqual([tx.hash for tx in decoded.transactions],
                         [tx.hash for tx in block.transactions])
        self.assertIsNone(block.problem())


class ConsensusRoundTripTests(RoundTripMixin):
    @ROUND_TRIP
    @given(s.consensus_payloads)
    def test_payload(self, payload: ConsensusPayload) -> None:
        """
        A consensus payload reads back equal, with the same hash.
        """
        data = payload.to_bytes()
        decoded = self.assert_round_trip(ConsensusPayload.read, payload, data)
        self.assertEqual(ConsensusPayload.from_bytes(data), payload)
        self.assertEqual(decoded.hash, payload.hash)
        self.assertEqual(payload.hash, hash256(payload.unsigned_bytes()))

    @ROUND_TRIP
    @given(s.consensus_messages, s.consensus_payloads)
    def test_message(self, message: ConsensusMessage, payload: ConsensusPayload) -> None:
        """
        ChangeView, PrepareRequest and PrepareResponse read back equal, alone or
        carried in a payload.
        """
        data = message.to_bytes()
        decoded = ConsensusMessage.from_bytes(data)
        self.assertEqual(decoded, message)
        self.assertEqual(decoded.to_bytes(), data)
        carrier = ConsensusPayload.from_bytes(
            ConsensusPayload(version=payload.version, prev_hash=payload.prev_hash,
                             block_index=payload.block_index,
                             validator_index=payload.validator_index,
                             timestamp=payload.timestamp, data=data,
                             witness=payload.witness).to_bytes())
        self.assertEqual(carrier.message(), message)


class PayloadRoundTripTests(RoundTripMixin):
    def assert_payload_round_trip(self, command: str, payload: Payload) -> None:
        data = payload_bytes(payload)
        decoded = read_payload(command, data)
        self.assertEqual(decoded, payload)
        assert decoded is not None
        self.assertEqual(payload_bytes(decoded), data)
        self.assert_round_trip(PAYLOAD_READERS[command], payload, data)

    def test_every_command_has_a_strategy(self) -> None:
        """
        The strategies cover exactly the commands the payload table knows.
        """
        self.assertEqual(set(s.PAYLOADS), set(PAYLOAD_READERS))

    @HEAVY
    @given(st.data())
    def test_every_command(self, data: st.DataObject) -> None:
        """
        For every command, a payload it carries decodes back equal and re-encodes identically.
        """
        for command in sorted(PAYLOAD_READERS):
            payload = data.draw(s.PAYLOADS[command], label=command)
            self.assert_payload_round_trip(command, payload)

    @ROUND_TRIP
    @given(s.commands_and_payloads)
    def test_any_command(self, command_and_payload: tuple[str, Payload]) -> None:
        """
        Commands drawn at random decode their payloads back equal.
        """
        self.assert_payload_round_trip(*command_and_payload)

    def test_unknown_command(self) -> None:
        """
        A command the table does not know decodes to None, whatever its payload.
        """
        self.assertIsNone(read_payload("alert", b"\x00\x01"))
