"""
Property tests of the wire format.

Every structure and payload round-trips through its reader and writer; var
ints decode in any width but are written canonically; no input at all, random
or a damaged valid encoding, makes a decoder raise anything but L{FormatError};
huge claimed counts fail at once; and hashes are taken over the canonical
re-serialization whatever form the input had.
"""

from __future__ import annotations

import functools
import os
import struct
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    Block,
    EnrollmentTransaction,
    Header,
    PublishTransaction,
    RegisterTransaction,
    Transaction,
    TransactionAttribute,
    TransactionOutput,
    TransactionType,
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
    decode_payload,
    payload_bytes,
)
from neo_twisted.wire.binary import BinaryReader, BinaryWriter, encode_var_int, var_int_size
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160, UInt256
from tests import strategies as s

T = TypeVar("T")

#: Multiplies every example count: C{NEO_PROPERTY_SCALE=100 trial tests.test_properties}
#: for a long fuzzing run; the default keeps the file well under a minute.
SCALE = int(os.environ.get("NEO_PROPERTY_SCALE", "1"))


def examples(count: int) -> settings:
    """
    Settings for C{count} examples (times L{SCALE}), with no per-example deadline: the
    first example of a run pays for imports and key derivation.
    """
    return settings(max_examples=count * SCALE, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


#: Round trips: small structures, each example costs well under a millisecond.
ROUND_TRIP = examples(100)
#: Fuzzing: most inputs fail within a few bytes, so many more examples.
FUZZ = examples(500)
#: Properties that draw one payload for every command in each example.
HEAVY = examples(40)

#: The 202-byte mainnet ContractTransaction 0xbdf6cc3b...36da79 (transactions.json).
MAINNET_CONTRACT_TX = bytes.fromhex(
    "80000001888da99f8f497fd65c4325786a09511159c279af4e7eb532e9edd628c87cc1ee0000019b7cffda"
    "a674beae0f930ebe6085af9093e5fe56b34a5c220ccdcf6efc336fc50082167010000000a8666b4830229d"
    "6a1a9b80f6088059191c122d2b0141409e79e132290c82916a88f1a3db5cf9f3248b780cfece938ab0f081"
    "2d0e188f3a489c7d1a23def86bd69d863ae67de753b2c2392e9497eadc8eb9fc43aa52c645232103e2f6a3"
    "34e05002624cf616f01a62cff2844c34a3b08ca16048c259097e315078ac")
MAINNET_CONTRACT_TXID = "0xbdf6cc3b9af12a7565bda80933a75ee8cef1bc771d0d58effc08e4c8b436da79"


class _Writable(Protocol):
    def write(self, writer: BinaryWriter) -> None: ...


W = TypeVar("W", bound=_Writable)


def encode(value: _Writable) -> bytes:
    writer = BinaryWriter()
    value.write(writer)
    return writer.to_bytes()


def var_int(value: int, width: int) -> bytes:
    """
    C{value} as a var int of exactly C{width} bytes (1, 3, 5 or 9), canonical or not.
    """
    if width == 1:
        return bytes((value,))
    prefix, fmt = {3: (b"\xfd", "<H"), 5: (b"\xfe", "<I"), 9: (b"\xff", "<Q")}[width]
    return prefix + struct.pack(fmt, value)


def widths_for(value: int) -> list[int]:
    """
    Every var int width that can hold C{value}, the canonical one first.
    """
    return [w for w in (1, 3, 5, 9) if w >= var_int_size(value)]


#: Each whole-input decoder a peer's bytes can reach, by name.
DECODERS: dict[str, Callable[[bytes], object]] = {
    "Transaction.from_bytes": Transaction.from_bytes,
    "Block.from_bytes": Block.from_bytes,
    "Header.from_bytes": Header.from_bytes,
    "ConsensusPayload.from_bytes": ConsensusPayload.from_bytes,
    "ConsensusMessage.from_bytes": ConsensusMessage.from_bytes,
    **{f"decode_payload({command!r})": functools.partial(decode_payload, command)
       for command in PAYLOAD_READERS},
}


def decode_or_format_error(decode: Callable[[bytes], T], data: bytes) -> T | None:
    """
    Decode C{data}, returning None on L{FormatError}; any other exception escapes.
    """
    try:
        return decode(data)
    except FormatError:
        return None


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """
    C{data} with one to three bytes flipped, inserted or deleted.
    """
    mutated = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(("flip", "insert", "delete")))
        if kind == "insert" or not mutated:
            mutated.insert(draw(st.integers(0, len(mutated))), draw(s.u8s))
        elif kind == "flip":
            mutated[draw(st.integers(0, len(mutated) - 1))] ^= draw(st.integers(1, 0xFF))
        else:
            del mutated[draw(st.integers(0, len(mutated) - 1))]
    return bytes(mutated)


class RoundTripMixin(SynchronousTestCase):
    def assertRoundTrip(self, read: Callable[[BinaryReader], W], value: W,
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
        self.assertRoundTrip(ECPoint.read, point, data)
        self.assertEqual(ECPoint.from_bytes(data), point)

    @ROUND_TRIP
    @given(s.witnesses)
    def test_witness(self, witness: Witness) -> None:
        """
        A witness is two var byte strings.
        """
        self.assertRoundTrip(Witness.read, witness, encode(witness))

    @ROUND_TRIP
    @given(s.coin_references)
    def test_coin_reference(self, reference: CoinReference) -> None:
        """
        An input is 34 bytes.
        """
        data = encode(reference)
        self.assertEqual(len(data), 34)
        self.assertRoundTrip(CoinReference.read, reference, data)

    @ROUND_TRIP
    @given(s.transaction_outputs)
    def test_transaction_output(self, output: TransactionOutput) -> None:
        """
        An output is 60 bytes.
        """
        data = encode(output)
        self.assertEqual(len(data), 60)
        self.assertRoundTrip(TransactionOutput.read, output, data)

    @ROUND_TRIP
    @given(s.transaction_attributes)
    def test_transaction_attribute(self, attribute: TransactionAttribute) -> None:
        """
        Each attribute usage reads back with its data (ECDH keys keep their usage byte).
        """
        self.assertRoundTrip(TransactionAttribute.read, attribute, encode(attribute))

    @ROUND_TRIP
    @given(s.state_descriptors)
    def test_state_descriptor(self, descriptor: StateDescriptor) -> None:
        """
        Account and validator descriptors read back equal.
        """
        self.assertRoundTrip(StateDescriptor.read, descriptor, encode(descriptor))

    @ROUND_TRIP
    @given(s.network_addresses)
    def test_network_address(self, address: NetworkAddressWithTime) -> None:
        """
        An address entry is 30 bytes; IPv4 and (unmapped) IPv6 addresses read back equal.
        """
        data = encode(address)
        self.assertEqual(len(data), 30)
        self.assertRoundTrip(NetworkAddressWithTime.read, address, data)


class TransactionRoundTripTests(RoundTripMixin):
    def assertTransactionRoundTrip(self, tx: Transaction) -> None:
        """
        C{tx} reads back equal through both entry points, with the same hash and size,
        and its hash is Hash256 of the unsigned part.
        """
        data = tx.to_bytes()
        decoded = self.assertRoundTrip(Transaction.read, tx, data)
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
        self.assertTransactionRoundTrip(tx)

    @ROUND_TRIP
    @given(s.issue_transactions)
    def test_issue(self, tx: Transaction) -> None:
        """
        IssueTransactions of version 0 and 1 round-trip.
        """
        self.assertTransactionRoundTrip(tx)

    @ROUND_TRIP
    @given(s.claim_transactions)
    def test_claim(self, tx: Transaction) -> None:
        """
        ClaimTransactions round-trip with their claims.
        """
        self.assertTransactionRoundTrip(tx)

    @ROUND_TRIP
    @given(s.enrollment_transactions)
    def test_enrollment(self, tx: Transaction) -> None:
        """
        EnrollmentTransactions round-trip with any key, infinity included.
        """
        self.assertTransactionRoundTrip(tx)

    @ROUND_TRIP
    @given(s.register_transactions)
    def test_register(self, tx: Transaction) -> None:
        """
        RegisterTransactions of non-genesis asset types round-trip.
        """
        self.assertTransactionRoundTrip(tx)

    @ROUND_TRIP
    @given(s.contract_transactions)
    def test_contract(self, tx: Transaction) -> None:
        """
        ContractTransactions round-trip.
        """
        self.assertTransactionRoundTrip(tx)

    @ROUND_TRIP
    @given(s.state_transactions)
    def test_state(self, tx: Transaction) -> None:
        """
        StateTransactions of any version round-trip with their descriptors.
        """
        self.assertTransactionRoundTrip(tx)

    @ROUND_TRIP
    @given(s.publish_transactions())
    def test_publish(self, tx: Transaction) -> None:
        """
        PublishTransactions round-trip; need_storage is on the wire only from version 1.
        """
        self.assertTransactionRoundTrip(tx)

    @ROUND_TRIP
    @given(s.invocation_transactions())
    def test_invocation(self, tx: Transaction) -> None:
        """
        InvocationTransactions round-trip; gas is on the wire only from version 1.
        """
        self.assertTransactionRoundTrip(tx)


class BlockRoundTripTests(RoundTripMixin):
    @ROUND_TRIP
    @given(s.headers())
    def test_header(self, header: Header) -> None:
        """
        A header is its 104 unsigned bytes, C{01}, its witness and C{00}; its hash is
        Hash256 of the 104 bytes.
        """
        data = header.to_bytes()
        decoded = self.assertRoundTrip(Header.read, header, data)
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
        decoded = self.assertRoundTrip(Block.read, block, data)
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
        decoded = self.assertRoundTrip(ConsensusPayload.read, payload, data)
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
    def assertPayloadRoundTrip(self, command: str, payload: Payload) -> None:
        data = payload_bytes(payload)
        decoded = decode_payload(command, data)
        self.assertEqual(decoded, payload)
        assert decoded is not None
        self.assertEqual(payload_bytes(decoded), data)
        self.assertRoundTrip(PAYLOAD_READERS[command], payload, data)

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
            self.assertPayloadRoundTrip(command, payload)

    @ROUND_TRIP
    @given(s.commands_and_payloads)
    def test_any_command(self, command_and_payload: tuple[str, Payload]) -> None:
        """
        Commands drawn at random decode their payloads back equal.
        """
        self.assertPayloadRoundTrip(*command_and_payload)

    def test_unknown_command(self) -> None:
        """
        A command the table does not know decodes to None, whatever its payload.
        """
        self.assertIsNone(decode_payload("alert", b"\x00\x01"))


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


def reencode(decoded: Any) -> bytes:
    """
    The canonical encoding of whatever a decoder in L{DECODERS} returned.
    """
    if isinstance(decoded, ConsensusMessage):
        return decoded.to_bytes()
    return payload_bytes(decoded)


class FuzzTests(SynchronousTestCase):
    """
    Whatever the bytes, a decoder either succeeds or raises L{FormatError}; and what it
    accepts re-encodes canonically to something it decodes to the same value.
    """

    def assertOnlyFormatError(self, name: str, data: bytes) -> None:
        decode = DECODERS[name]
        decoded = decode_or_format_error(decode, data)
        if decoded is None:
            return
        canonical = reencode(decoded)
        try:
            again = decode(canonical)
        except FormatError as e:
            # Each invalid UTF-8 byte reads as U+FFFD, three bytes long, so a string read
            # near its byte limit can outgrow it: the reference node behaves the same.
            self.assertIn("exceeds the maximum", e.reason)
            self.assertIn("\ufffd".encode(), canonical)
            return
        self.assertEqual(again, decoded)

    @FUZZ
    @given(st.binary(max_size=400))
    def test_random_bytes(self, data: bytes) -> None:
        """
        Random bytes fed to every decoder.
        """
        for name in DECODERS:
            self.assertOnlyFormatError(name, data)

    @FUZZ
    @given(st.sampled_from(TransactionType), s.u8s, st.binary(max_size=300))
    def test_random_transaction_bodies(self, kind: int, version: int, body: bytes) -> None:
        """
        Random bytes after a valid type byte (and, for a block, after a valid header)
        get past the dispatch and into each type's reader.
        """
        data = bytes((kind, version)) + body
        self.assertOnlyFormatError("Transaction.from_bytes", data)
        self.assertOnlyFormatError("ConsensusMessage.from_bytes", b"\x20" + data)
        self.assertOnlyFormatError("Block.from_bytes", bytes(104) + b"\x01\x00\x00\x01" + data)

    @FUZZ
    @given(st.data(), s.transactions)
    def test_mutated_transaction(self, data: st.DataObject, tx: Transaction) -> None:
        """
        A valid transaction with bytes flipped, inserted or deleted.
        """
        mutated = data.draw(mutations(tx.to_bytes()), label="mutated")
        self.assertOnlyFormatError("Transaction.from_bytes", mutated)
        self.assertOnlyFormatError("decode_payload('tx')", mutated)

    @ROUND_TRIP
    @given(st.data(), s.blocks())
    def test_mutated_block(self, data: st.DataObject, block: Block) -> None:
        """
        A valid block, damaged.
        """
        self.assertOnlyFormatError("Block.from_bytes",
                                   data.draw(mutations(block.to_bytes()), label="mutated"))

    @FUZZ
    @given(st.data(), s.headers())
    def test_mutated_header(self, data: st.DataObject, header: Header) -> None:
        """
        A valid header, damaged.
        """
        self.assertOnlyFormatError("Header.from_bytes",
                                   data.draw(mutations(header.to_bytes()), label="mutated"))

    @FUZZ
    @given(st.data(), s.consensus_payloads)
    def test_mutated_consensus_payload(self, data: st.DataObject,
                                       payload: ConsensusPayload) -> None:
        """
        A valid consensus payload, damaged.
        """
        self.assertOnlyFormatError("ConsensusPayload.from_bytes",
                                   data.draw(mutations(payload.to_bytes()), label="mutated"))

    @FUZZ
    @given(st.data(), s.consensus_messages)
    def test_mutated_consensus_message(self, data: st.DataObject,
                                       message: ConsensusMessage) -> None:
        """
        A valid consensus message, damaged.
        """
        self.assertOnlyFormatError("ConsensusMessage.from_bytes",
                                   data.draw(mutations(message.to_bytes()), label="mutated"))

    @FUZZ
    @given(st.data(), s.commands_and_payloads)
    def test_mutated_payload(self, data: st.DataObject,
                             command_and_payload: tuple[str, Payload]) -> None:
        """
        A valid payload of any command, damaged.
        """
        command, payload = command_and_payload
        mutated = data.draw(mutations(payload_bytes(payload)), label="mutated")
        self.assertOnlyFormatError(f"decode_payload({command!r})", mutated)


#: Huge counts: 2**32 - 1 in five bytes, 2**32 and 2**64 - 1 in nine.
HUGE_COUNTS = [b"\xfe\xff\xff\xff\xff", b"\xff\x00\x00\x00\x00\x01\x00\x00\x00", b"\xff" * 9]

_HEADER_BASE = bytes(104) + b"\x01\x00\x00"

#: (decoder, the bytes before a count or length): every var int a peer controls.
COUNT_SITES: list[tuple[str, bytes]] = [
    ("Transaction.from_bytes", b"\x80\x00"),  # attributes
    ("Transaction.from_bytes", b"\x80\x00\x00"),  # inputs
    ("Transaction.from_bytes", b"\x80\x00\x00\x00"),  # outputs
    ("Transaction.from_bytes", b"\x80\x00\x00\x00\x00"),  # witnesses
    ("Transaction.from_bytes", b"\x80\x00\x00\x00\x00\x01"),  # invocation script length
    ("Transaction.from_bytes", b"\x80\x00\x01\xf0"),  # remark length
    ("Transaction.from_bytes", b"\x02\x00"),  # claims
    ("Transaction.from_bytes", b"\x90\x00"),  # state descriptors
    ("Transaction.from_bytes", b"\x90\x00\x01\x40"),  # descriptor key
    ("Transaction.from_bytes", b"\x40\x00\x60"),  # asset name
    ("Transaction.from_bytes", b"\xd0\x00"),  # contract script
    ("Transaction.from_bytes", b"\xd1\x00"),  # invocation script
    ("Block.from_bytes", _HEADER_BASE),  # transactions
    ("Header.from_bytes", bytes(104) + b"\x01"),  # header invocation script
    ("ConsensusPayload.from_bytes", bytes(46)),  # data
    ("ConsensusMessage.from_bytes", b"\x20\x00" + bytes(28)),  # transaction hashes
    ("decode_payload('version')", bytes(22)),  # user agent
    ("decode_payload('addr')", b""),
    ("decode_payload('getblocks')", b""),
    ("decode_payload('getheaders')", b""),
    ("decode_payload('headers')", b""),
    ("decode_payload('inv')", b"\x01"),
    ("decode_payload('getdata')", b"\x02"),
    ("decode_payload('block')", _HEADER_BASE),
    ("decode_payload('tx')", b"\x80\x00\x00"),
    ("decode_payload('consensus')", bytes(46)),
    ("decode_payload('filterload')", b""),
    ("decode_payload('filteradd')", b""),
    ("decode_payload('merkleblock')", _HEADER_BASE),  # transaction count
    ("decode_payload('merkleblock')", _HEADER_BASE + b"\x00"),  # hashes
    ("decode_payload('merkleblock')", _HEADER_BASE + b"\x00\x00"),  # flags
]


class HugeCountTests(SynchronousTestCase):
    def test_huge_counts_fail_at_once(self) -> None:
        """
        A count or length claiming 2**32 items (or more) fails with L{FormatError} at the
        count itself, without trying to read or allocate that much.
        """
        started = time.perf_counter()
        for name, prefix in COUNT_SITES:
            for count in HUGE_COUNTS:
                if name == "decode_payload('merkleblock')" and prefix == _HEADER_BASE \
                        and count == HUGE_COUNTS[0]:
                    continue  # the merkle block transaction count is a uint32: 2**32-1 is valid
                data = prefix + count + bytes(64)
                error = self.assertRaises(FormatError, DECODERS[name], data)
                self.assertEqual(error.offset, len(prefix), (name, prefix.hex(), count.hex()))
        self.assertLess(time.perf_counter() - started, 1.0)

    def test_large_count_beyond_the_input(self) -> None:
        """
        A count under every maximum but larger than the remaining bytes can hold fails
        at the count too.
        """
        for name, prefix in [("Transaction.from_bytes", b"\x80\x00\x00"),
                             ("decode_payload('merkleblock')", _HEADER_BASE + b"\x00")]:
            error = self.assertRaises(FormatError, DECODERS[name],
                                      prefix + b"\xfe\x00\x00\x00\x01" + bytes(64))
            self.assertEqual(error.offset, len(prefix))


def noncanonical_encoding(tx: Transaction, widths: list[int]) -> bytes:
    """
    C{tx} with its attribute, input, output and witness counts in the given var int widths.
    """
    writer = BinaryWriter()
    writer.write_u8(tx.TYPE)
    writer.write_u8(tx.version)
    tx.write_exclusive(writer)
    groups: list[tuple[_Writable, ...]] = [tx.attributes, tx.inputs, tx.outputs, tx.witnesses]
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
        key = tx.public_key
        assert key.x is not None and key.y is not None
        uncompressed = b"\x04" + key.x.to_bytes(32, "big") + key.y.to_bytes(32, "big")
        canonical = tx.to_bytes()
        data = canonical[:2] + uncompressed + canonical[2 + 33:]
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
