"""
Property tests: no input at all, random or a damaged valid encoding, makes a decoder raise
anything but L{FormatError}; what a decoder accepts re-encodes canonically; the frame
decoder fails any byte stream at the same offset however it is split; and huge claimed
counts fail at once. (C{make fuzz} runs the same parsers under a fuzzer for longer.)
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any, TypeVar

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from fuzz.targets import feed_frames
from neo_twisted.core import Block, Header, Transaction, TransactionType
from neo_twisted.core.consensus import ConsensusMessage, ConsensusPayload
from neo_twisted.network.frame import Frame, encode_frame
from neo_twisted.network.payloads import (
    PAYLOAD_READERS,
    Payload,
    payload_bytes,
    read_payload,
)
from neo_twisted.wire.errors import FormatError
from tests.support import strategies as s
from tests.support.property_settings import FUZZ, HEAVY, ROUND_TRIP
from tests.support.samples import MAINNET_MAGIC

T = TypeVar("T")


#: Each whole-input decoder a peer's bytes can reach, by name.
DECODERS: dict[str, Callable[[bytes], object]] = {
    "Transaction.from_bytes": Transaction.from_bytes,
    "Block.from_bytes": Block.from_bytes,
    "Header.from_bytes": Header.from_bytes,
    "ConsensusPayload.from_bytes": ConsensusPayload.from_bytes,
    "ConsensusMessage.from_bytes": ConsensusMessage.from_bytes,
    **{f"read_payload({command!r})": functools.partial(read_payload, command)
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

    def assert_only_format_error(self, name: str, data: bytes) -> None:
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

    def assert_mutations_only_format_error(self, name: str, data: st.DataObject,
                                           valid: bytes) -> None:
        """
        C{valid}, damaged by L{mutations}, decodes with C{name} or fails with L{FormatError}.
        """
        self.assert_only_format_error(name, data.draw(mutations(valid), label="mutated"))

    @FUZZ
    @given(st.binary(max_size=400))
    def test_random_bytes(self, data: bytes) -> None:
        """
        Random bytes fed to every decoder.
        """
        for name in DECODERS:
            self.assert_only_format_error(name, data)

    @FUZZ
    @given(st.sampled_from(TransactionType), s.u8s, st.binary(max_size=300))
    def test_random_transaction_bodies(self, kind: int, version: int, body: bytes) -> None:
        """
        Random bytes after a valid type byte (and, for a block, after a valid header)
        get past the dispatch and into each type's reader.
        """
        data = bytes((kind, version)) + body
        self.assert_only_format_error("Transaction.from_bytes", data)
        self.assert_only_format_error("ConsensusMessage.from_bytes", b"\x20" + data)
        self.assert_only_format_error("Block.from_bytes", bytes(104) + b"\x01\x00\x00\x01" + data)

    @FUZZ
    @given(st.data(), s.transactions)
    def test_mutated_transaction(self, data: st.DataObject, tx: Transaction) -> None:
        """
        A valid transaction with bytes flipped, inserted or deleted.
        """
        mutated = data.draw(mutations(tx.to_bytes()), label="mutated")
        self.assert_only_format_error("Transaction.from_bytes", mutated)
        self.assert_only_format_error("read_payload('tx')", mutated)

    @ROUND_TRIP
    @given(st.data(), s.blocks())
    def test_mutated_block(self, data: st.DataObject, block: Block) -> None:
        """
        A valid block, damaged.
        """
        self.assert_mutations_only_format_error("Block.from_bytes", data, block.to_bytes())

    @FUZZ
    @given(st.data(), s.headers())
    def test_mutated_header(self, data: st.DataObject, header: Header) -> None:
        """
        A valid header, damaged.
        """
        self.assert_mutations_only_format_error("Header.from_bytes", data, header.to_bytes())

    @FUZZ
    @given(st.data(), s.consensus_payloads)
    def test_mutated_consensus_payload(self, data: st.DataObject,
                                       payload: ConsensusPayload) -> None:
        """
        A valid consensus payload, damaged.
        """
        self.assert_mutations_only_format_error(
            "ConsensusPayload.from_bytes", data, payload.to_bytes())

    @FUZZ
    @given(st.data(), s.consensus_messages)
    def test_mutated_consensus_message(self, data: st.DataObject,
                                       message: ConsensusMessage) -> None:
        """
        A valid consensus message, damaged.
        """
        self.assert_mutations_only_format_error(
            "ConsensusMessage.from_bytes", data, message.to_bytes())

    @FUZZ
    @given(st.data(), s.commands_and_payloads)
    def test_mutated_payload(self, data: st.DataObject,
                             command_and_payload: tuple[str, Payload]) -> None:
        """
        A valid payload of any command, damaged.
        """
        command, payload = command_and_payload
        self.assert_mutations_only_format_error(f"read_payload({command!r})", data,
                                                payload_bytes(payload))


def feed_chunks(chunks: list[bytes]) -> tuple[list[Frame], int | None]:
    """
    The frames a fresh mainnet decoder emits for C{chunks}, and the offset of the
    L{FormatError} that stopped it (None: none); any other exception escapes.
    """
    frames, offset, _ = feed_frames(chunks)
    return frames, offset


_MAINNET = MAINNET_MAGIC.to_bytes(4, "little")

#: Streams a frame decoder may see: noise, noise after the right magic, and a header
#: whose magic and length are right (so the checksum is what fails).
streams = st.one_of(
    st.binary(max_size=400),
    st.binary(max_size=400).map(lambda rest: _MAINNET + rest),
    st.tuples(st.binary(min_size=12, max_size=12), st.binary(max_size=60)).map(
        lambda parts: _MAINNET + parts[0] + len(parts[1]).to_bytes(4, "little") + bytes(4)
        + parts[1]))


class FrameFuzzTests(SynchronousTestCase):
    """
    The frame decoder, fed any bytes in any split, raises only L{FormatError}; and every
    split fails at the same offset, having emitted a prefix of the same frames.
    """

    def assert_splits_agree(self, data: bytes, points: list[int]) -> None:
        # One byte at a time emits every frame before the error: it is the reference.
        reference = feed_chunks([data[i:i + 1] for i in range(len(data))])
        edges = [0, *sorted(p for p in points if p <= len(data)), len(data)]
        for chunks in ([data], [data[a:b] for a, b in pairwise(edges)]):
            frames, offset = feed_chunks(chunks)
            self.assertEqual(offset, reference[1])
            if offset is None:
                self.assertEqual(frames, reference[0])
            else:  # frames completed in the failing chunk go with it
                self.assertEqual(frames, reference[0][:len(frames)])

    @FUZZ
    @given(streams, st.lists(st.integers(0, 500), max_size=8))
    def test_random_stream(self, data: bytes, points: list[int]) -> None:
        """
        Noise, or noise after a valid magic or header.
        """
        self.assert_splits_agree(data, points)

    @HEAVY
    @given(st.data(), st.lists(s.commands_and_payloads, min_size=1, max_size=3),
           st.lists(st.integers(0, 2000), max_size=8))
    def test_damaged_stream(self, data: st.DataObject, messages: list[tuple[str, Payload]],
                            points: list[int]) -> None:
        """
        A valid stream of messages, damaged (so magics, lengths and checksums break).
        """
        stream = b"".join(encode_frame(MAINNET_MAGIC, command, payload_bytes(payload))
                          for command, payload in messages)
        self.assert_splits_agree(data.draw(mutations(stream), label="mutated"), points)


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
    ("read_payload('version')", bytes(22)),  # user agent
    ("read_payload('addr')", b""),
    ("read_payload('getblocks')", b""),
    ("read_payload('getheaders')", b""),
    ("read_payload('headers')", b""),
    ("read_payload('inv')", b"\x01"),
    ("read_payload('getdata')", b"\x02"),
    ("read_payload('block')", _HEADER_BASE),
    ("read_payload('tx')", b"\x80\x00\x00"),
    ("read_payload('consensus')", bytes(46)),
    ("read_payload('filterload')", b""),
    ("read_payload('filteradd')", b""),
    ("read_payload('merkleblock')", _HEADER_BASE),  # transaction count
    ("read_payload('merkleblock')", _HEADER_BASE + b"\x00"),  # hashes
    ("read_payload('merkleblock')", _HEADER_BASE + b"\x00\x00"),  # flags
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
                if name == "read_payload('merkleblock')" and prefix == _HEADER_BASE \
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
                             ("read_payload('merkleblock')", _HEADER_BASE + b"\x00")]:
            error = self.assertRaises(FormatError, DECODERS[name],
                                      prefix + b"\xfe\x00\x00\x00\x01" + bytes(64))
            self.assertEqual(error.offset, len(prefix))

