"""
Tests for L{neo_twisted.network.frame}: message framing over an arbitrarily split stream.
"""

from __future__ import annotations

from ipaddress import ip_address
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import Block, Transaction
from neo_twisted.core.components import Witness
from neo_twisted.core.consensus import ConsensusPayload, PrepareResponse
from neo_twisted.crypto.hashes import hash256
from neo_twisted.network.frame import (
    HEADER_SIZE,
    MAX_PAYLOAD_SIZE,
    Frame,
    FrameDecoder,
    SkippedFrame,
    encode_frame,
)
from neo_twisted.network.payloads import (
    AddrPayload,
    EmptyPayload,
    FilterLoadPayload,
    GetBlocksPayload,
    HeadersPayload,
    InventoryType,
    InvPayload,
    NetworkAddressWithTime,
    Payload,
    PingPayload,
    VersionPayload,
    payload_bytes,
    read_payload,
)
from neo_twisted.wire.errors import FormatError
from tests.support import strategies as s
from tests.support.samples import GENESIS_HEX, MAINNET_CONTRACT_TX, MAINNET_MAGIC, TESTNET_MAGIC

#: The mainnet verack: magic, "verack" zero padded, length 0, checksum of nothing.
MAINNET_VERACK = bytes.fromhex("416e7400" "76657261636b000000000000" "00000000" "5df6e0e2")

GENESIS = bytes.fromhex(GENESIS_HEX)


def _mixed_messages() -> list[tuple[str, bytes]]:
    """
    A plausible conversation: handshake, address exchange, header and block sync,
    relay, consensus, keep-alive, an SPV filter and a command nobody knows.
    """
    genesis = Block.from_bytes(GENESIS)
    tx = Transaction.from_bytes(MAINNET_CONTRACT_TX)
    consensus = ConsensusPayload(
        prev_hash=genesis.hash, block_index=1, validator_index=3, timestamp=1468595316,
        data=PrepareResponse(signature=bytes(range(64))).to_bytes(),
        witness=Witness(b"\x40" + bytes(64), b"\x21" + bytes(33) + b"\xac"))
    payloads: list[tuple[str, Payload | bytes]] = [
        ("version", VersionPayload(timestamp=1468595301, port=10333, nonce=0x1234567,
                                   user_agent="/NEO:2.9.4/", start_height=0)),
        ("verack", EmptyPayload()),
        ("getaddr", EmptyPayload()),
        ("addr", AddrPayload((
            NetworkAddressWithTime(1468595301, 1, ip_address("198.51.100.7"), 10333),
            NetworkAddressWithTime(1468595302, 1, ip_address("2001:db8::1"), 20333)))),
        ("getheaders", GetBlocksPayload((genesis.hash,))),
        ("headers", HeadersPayload((genesis.header,))),
        ("inv", InvPayload(InventoryType.TX, (tx.hash,))),
        ("getdata", InvPayload(InventoryType.TX, (tx.hash,))),
        ("tx", tx),
        ("getblocks", GetBlocksPayload((genesis.hash,))),
        ("block", genesis),
        ("consensus", consensus),
        ("ping", PingPayload(0, 1468595400, 42)),
        ("pong", PingPayload(0, 1468595401, 42)),
        ("filterload", FilterLoadPayload(b"\xff" * 16, 5, 7)),
        ("mempool", EmptyPayload()),
        ("alert", b"\x01\x02\x03"),
    ]
    return [(command, body if isinstance(body, bytes) else payload_bytes(body))
            for command, body in payloads]


MESSAGES = _mixed_messages()
FRAMES = [Frame(command, payload) for command, payload in MESSAGES]
ENCODED = [encode_frame(MAINNET_MAGIC, command, payload) for command, payload in MESSAGES]
STREAM = b"".join(ENCODED)


def feed_all(decoder: FrameDecoder, chunks: list[bytes]) -> list[Frame]:
    frames: list[Frame] = []
    for chunk in chunks:
        frames.extend(decoder.feed(chunk))
    return frames


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """
    C{data} split at the given offsets.
    """
    edges = [0, *sorted(points), len(data)]
    return [data[a:b] for a, b in pairwise(edges)]


class FrameEncodingTests(SynchronousTestCase):
    def test_mainnet_verack(self) -> None:
        """
        A mainnet verack is the 24-byte vector, and decodes back to an empty verack.
        """
        self.assertEqual(encode_frame(MAINNET_MAGIC, "verack"), MAINNET_VERACK)
        self.assertEqual(MAINNET_VERACK[20:], hash256(b"")[:4])
        self.assertEqual(FrameDecoder(MAINNET_MAGIC).feed(MAINNET_VERACK), [Frame("verack", b"")])

    def test_layout(self) -> None:
        """
        Magic, zero-padded command, length and checksum precede the payload.
        """
        frame = encode_frame(TESTNET_MAGIC, "tx", MAINNET_CONTRACT_TX)
        self.assertEqual(frame[:4], bytes.fromhex("416e7474"))
        self.assertEqual(frame[4:16], b"tx" + bytes(10))
        self.assertEqual(frame[16:20], (202).to_bytes(4, "little"))
        self.assertEqual(frame[20:24], hash256(MAINNET_CONTRACT_TX)[:4])
        self.assertEqual(frame[HEADER_SIZE:], MAINNET_CONTRACT_TX)

    def test_encode_limits(self) -> None:
        """
        A command over 12 bytes or a payload over the maximum cannot be framed.
        """
        self.assertRaises(ValueError, encode_frame, MAINNET_MAGIC, "x" * 13)
        self.assertEqual(len(encode_frame(MAINNET_MAGIC, "x" * 12)), HEADER_SIZE)
        self.assertRaises(ValueError, encode_frame, MAINNET_MAGIC, "block",
                          bytes(MAX_PAYLOAD_SIZE + 1))


class StreamSplitTests(SynchronousTestCase):
    """
    However the stream is split into C{dataReceived} calls, the same frames come out.
    """

    def test_mixed_stream_payloads(self) -> None:
        """
        The test stream holds valid payloads of many commands, and one unknown command.
        """
        frames = FrameDecoder(MAINNET_MAGIC).feed(STREAM)
        self.assertEqual(frames, FRAMES)
        for frame in frames:
            decoded = read_payload(frame.command, frame.payload)
            self.assertEqual(decoded is None, frame.command == "alert")

    def test_every_split_point(self) -> None:
        """
        Split in two at every byte boundary, the stream gives the same frames.
        """
        for at in range(len(STREAM) + 1):
            decoder = FrameDecoder(MAINNET_MAGIC)
            self.assertEqual(feed_all(decoder, [STREAM[:at], STREAM[at:]]), FRAMES, at)
            self.assertEqual(decoder.buffered, 0)

    def test_one_byte_chunks(self) -> None:
        """
        Fed one byte at a time, each frame comes out exactly when its last byte arrives,
        and nothing more than the incomplete message is held.
        """
        decoder = FrameDecoder(MAINNET_MAGIC)
        ends = set()
        offset = 0
        for encoded in ENCODED:
            offset += len(encoded)
            ends.add(offset)
        frames: list[Frame] = []
        emitted = 0
        for i in range(len(STREAM)):
            out = decoder.feed(STREAM[i:i + 1])
            self.assertEqual(len(out), 1 if i + 1 in ends else 0, i)
            frames.extend(out)
            emitted += sum(HEADER_SIZE + len(frame.payload) for frame in out)
            self.assertEqual(decoder.buffered, i + 1 - emitted)
        self.assertEqual(frames, FRAMES)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.integers(0, len(STREAM)), max_size=40))
    def test_random_chunks(self, points: list[int]) -> None:
        """
        Any chunking (empty chunks included) gives the same frames; after every feed the
        decoder holds only a strict prefix of the next message.
        """
        decoder = FrameDecoder(MAINNET_MAGIC)
        frames: list[Frame] = []
        fed = emitted = 0
        for chunk in cut(STREAM, points):
            out = decoder.feed(chunk)
            frames.extend(out)
            fed += len(chunk)
            emitted += sum(HEADER_SIZE + len(frame.payload) for frame in out)
            self.assertEqual(decoder.buffered, fed - emitted)
            if len(frames) < len(ENCODED):
                self.assertLess(decoder.buffered, len(ENCODED[len(frames)]))
            self.assertLess(decoder.buffered, HEADER_SIZE + MAX_PAYLOAD_SIZE)
        self.assertEqual(frames, FRAMES)

    @settings(max_examples=50, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(s.commands_and_payloads, min_size=1, max_size=5), st.data())
    def test_random_messages(self, messages: list[tuple[str, Payload]],
                             data: st.DataObject) -> None:
        """
        Generated payloads of any command, framed and randomly chunked, come out intact
        and decode to the payloads sent.
        """
        stream = b"".join(encode_frame(TESTNET_MAGIC, command, payload_bytes(payload))
                          for command, payload in messages)
        points = data.draw(st.lists(st.integers(0, len(stream)), max_size=10), label="cuts")
        frames = feed_all(FrameDecoder(TESTNET_MAGIC), cut(stream, points))
        self.assertEqual([(f.command, read_payload(f.command, f.payload)) for f in frames],
                         messages)


class EarlyFailureTests(SynchronousTestCase):
    """
    A broken stream fails as soon as the bytes prove it broken, never later.
    """

    def assert_fails_at(self, decoder: FrameDecoder, data: bytes, at: int) -> FormatError:
        """
        Feeding C{data} byte by byte succeeds up to byte C{at}, which raises.
        """
        for i in range(at):
            decoder.feed(data[i:i + 1])
        error: FormatError = self.assertRaises(FormatError, decoder.feed, data[at:at + 1])
        return error

    def test_wrong_magic(self) -> None:
        """
        A wrong magic fails with the first wrong byte, so at the latest with the fourth.
        """
        frame = encode_frame(MAINNET_MAGIC, "verack")
        for k in range(4):
            bad = bytearray(frame)
            bad[k] ^= 0x80
            error = self.assert_fails_at(FrameDecoder(MAINNET_MAGIC), bytes(bad), k)
            self.assertEqual(error.offset, 0)

    def test_other_network(self) -> None:
        """
        A testnet message to a mainnet decoder fails on the fourth magic byte
        (the first three, C{Ant}, are shared).
        """
        self.assert_fails_at(FrameDecoder(MAINNET_MAGIC), encode_frame(TESTNET_MAGIC, "verack"), 3)

    def test_wrong_magic_after_a_message(self) -> None:
        """
        The magic of every message is checked, not only the first one's.
        """
        first = ENCODED[0]
        for k in range(4):
            decoder = FrameDecoder(MAINNET_MAGIC)
            self.assertEqual(decoder.feed(first), [FRAMES[0]])
            bad = bytearray(MAINNET_VERACK)
            bad[k] ^= 0x01
            error = self.assert_fails_at(decoder, bytes(bad), k)
            self.assertEqual(error.offset, len(first))

    def test_wrong_magic_in_one_chunk(self) -> None:
        """
        Garbage after a complete message in the same chunk fails the feed.
        """
        self.assertRaises(FormatError, FrameDecoder(MAINNET_MAGIC).feed,
                          ENCODED[0] + b"GET / HTTP/1.1")

    def test_oversized_length(self) -> None:
        """
        A length over the maximum fails on the last header byte, before any payload byte.
        """
        for length in (MAX_PAYLOAD_SIZE + 1, 0xFFFFFFFF):
            header = (MAINNET_MAGIC.to_bytes(4, "little") + b"block".ljust(12, b"\x00")
                      + length.to_bytes(4, "little") + bytes(4))
            decoder = FrameDecoder(MAINNET_MAGIC)
            self.assert_fails_at(decoder, header, HEADER_SIZE - 1)
            self.assertLessEqual(decoder.buffered, HEADER_SIZE)

    def test_maximum_length_waits(self) -> None:
        """
        A header announcing exactly the maximum is accepted and waits for its payload.
        """
        header = (MAINNET_MAGIC.to_bytes(4, "little") + b"block".ljust(12, b"\x00")
                  + MAX_PAYLOAD_SIZE.to_bytes(4, "little") + bytes(4))
        decoder = FrameDecoder(MAINNET_MAGIC)
        self.assertEqual(decoder.feed(header), [])
        self.assertEqual(decoder.buffered, HEADER_SIZE)

    def test_custom_maximum(self) -> None:
        """
        The payload maximum can be lowered; up to it is fine, one byte more is not.
        """
        self.assertEqual(FrameDecoder(MAINNET_MAGIC, max_payload=4).feed(
            encode_frame(MAINNET_MAGIC, "filteradd", b"\x03abc")), [Frame("filteradd", b"\x03abc")])
        self.assertRaises(FormatError, FrameDecoder(MAINNET_MAGIC, max_payload=4).feed,
                          encode_frame(MAINNET_MAGIC, "filteradd", b"\x04abcd")[:HEADER_SIZE])

    def test_bad_checksum(self) -> None:
        """
        A checksum mismatch fails when the last payload byte arrives.
        """
        frame = bytearray(encode_frame(MAINNET_MAGIC, "tx", MAINNET_CONTRACT_TX))
        frame[20] ^= 0xFF
        error = self.assert_fails_at(FrameDecoder(MAINNET_MAGIC), bytes(frame), len(frame) - 1)
        self.assertEqual(error.offset, 20)

    def test_bad_checksum_empty_payload(self) -> None:
        """
        With no payload, a bad checksum fails on the last header byte.
        """
        frame = bytearray(MAINNET_VERACK)
        frame[23] ^= 0x01
        self.assert_fails_at(FrameDecoder(MAINNET_MAGIC), bytes(frame), HEADER_SIZE - 1)

    def test_corrupted_payload(self) -> None:
        """
        Any payload byte changed in transit is caught by the checksum.
        """
        frame = encode_frame(MAINNET_MAGIC, "tx", MAINNET_CONTRACT_TX)
        for at in range(HEADER_SIZE, len(frame)):
            bad = bytearray(frame)
            bad[at] ^= 0x01
            self.assertRaises(FormatError, FrameDecoder(MAINNET_MAGIC).feed, bytes(bad))


class JudgedDecoderTests(SynchronousTestCase):
    """
    A decoder read one frame at a time, that asks a judge about each frame on its first
    bytes (a connection's, see L{neo_twisted.p2p.protocol}).
    """

    def decoder(self, keep: set[str], head_size: int = 8,
                verify_up_to: int | None = None) -> FrameDecoder:
        self.judged: list[tuple[str, int, bytes]] = []

        def judge(command: str, length: int, head: bytes) -> bool:
            self.judged.append((command, length, head))
            return command in keep

        return FrameDecoder(MAINNET_MAGIC, judge=judge, head_size=head_size,
                            verify_up_to=verify_up_to)

    def drain(self, decoder: FrameDecoder) -> list[Frame | SkippedFrame]:
        out: list[Frame | SkippedFrame] = []
        while (frame := decoder.next_frame()) is not None:
            out.append(frame)
        return out

    def test_every_split(self) -> None:
        """
        At any split, a refused frame comes out skipped once its head is in and is never
        buffered; the frames around it come out whole; each is judged once.
        """
        skipped = encode_frame(MAINNET_MAGIC, "block", bytes(range(200)) * 5)
        stream = ENCODED[0] + skipped + ENCODED[1]
        for at in range(len(stream) + 1):
            decoder = self.decoder({FRAMES[0].command, FRAMES[1].command})
            decoder.push(stream[:at])
            out = self.drain(decoder)
            if HEADER_SIZE + 8 <= at - len(ENCODED[0]) <= len(skipped):
                self.assertEqual(decoder.buffered, 0, at)
            decoder.push(stream[at:])
            out += self.drain(decoder)
            self.assertEqual(out, [FRAMES[0], SkippedFrame("block", 1000), FRAMES[1]], at)
            self.assertEqual([c for c, _, _ in self.judged],
                             [FRAMES[0].command, "block", FRAMES[1].command], at)
            self.assertEqual(self.judged[1][1:], (1000, bytes(range(8))), at)
            self.assertEqual(decoder.buffered, 0)

    def test_short_payload_judged_whole(self) -> None:
        """
        A payload shorter than the head is judged once all of it is in.
        """
        decoder = self.decoder({"ping"}, head_size=100)
        decoder.push(encode_frame(MAINNET_MAGIC, "ping", bytes(12)))
        self.assertEqual(self.drain(decoder), [Frame("ping", bytes(12))])
        self.assertEqual(self.judged, [("ping", 12, bytes(12))])

    def test_big_payload_left_unverified(self) -> None:
        """
        Past C{verify_up_to}, a payload comes out with its checksum for the caller to
        check (a wrong one too); up to it, the decoder checks as before.
        """
        payload = bytes(range(256)) * 4
        decoder = self.decoder({"tx"}, verify_up_to=len(payload) - 1)
        bad = bytearray(encode_frame(MAINNET_MAGIC, "tx", payload))
        bad[20] ^= 0xFF
        decoder.push(bytes(bad))
        self.assertEqual(self.drain(decoder), [Frame("tx", payload, bytes(bad[20:24]))])
        decoder = self.decoder({"tx"}, verify_up_to=len(payload))
        decoder.push(bytes(bad))
        self.assertRaises(FormatError, decoder.next_frame)

    def test_feed_needs_no_judge(self) -> None:
        self.assertRaises(ValueError, self.decoder(set()).feed, ENCODED[0])
