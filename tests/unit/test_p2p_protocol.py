"""
Tests for L{neo_twisted.p2p.protocol.PeerProtocol}: the handshake and the framing of
the byte stream, on a L{StringTransport} with a recording listener.

Established connections, timers and how connections end are in L{tests.unit.test_p2p_session}.
"""

from __future__ import annotations

import struct

from zope.interface.verify import verifyObject

from neo_twisted.core.block import UNSIGNED_HEADER_SIZE
from neo_twisted.network.frame import HEADER_SIZE, MAX_PAYLOAD_SIZE, encode_frame
from neo_twisted.network.payloads import EmptyPayload, PingPayload, VersionPayload
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import IPeer, IPeerListener
from neo_twisted.p2p.protocol import MAX_TX_SIZE
from tests.support.p2p_protocol_helpers import (
    HANDSHAKE,
    INV,
    MAGIC,
    THEIR_VERSION,
    ProtocolCase,
    frame,
)
from tests.support.samples import TESTNET_MAGIC


class HandshakeTests(ProtocolCase):
    """
    The version/verack exchange as seen on the wire.
    """

    def test_version_sent_on_connect(self) -> None:
        """
        An outbound connection sends the listener's version at once, and nothing else.
        """
        self.assertFalse(self.protocol.inbound)
        self.assertEqual(self.sent(), [("version", VersionPayload(
            timestamp=1_600_000_000, port=20333, nonce=1, user_agent="/us/",
            start_height=77))])
        self.assertEqual(self.listener.calls, [("local_version", self.protocol)])

    def test_version_sent_on_accept(self) -> None:
        """
        An inbound connection sends its version at once too, without waiting for the peer's.
        """
        self.connect(inbound=True)
        self.assertTrue(self.protocol.inbound)
        [(command, _)] = self.sent()
        self.assertEqual(command, "version")

    def test_verack_after_good_version(self) -> None:
        """
        The peer's version is recorded and checked, then acknowledged; the peer
        is not established yet.
        """
        self.sent()
        self.receive(frame("version", THEIR_VERSION))
        self.assertEqual(self.sent(), [("verack", EmptyPayload())])
        self.assertEqual(self.protocol.version, THEIR_VERSION)
        self.assertEqual(self.protocol.last_block_index, 1000)
        self.assertEqual(self.listener.named("check_version"),
                         [("check_version", self.protocol, THEIR_VERSION)])
        self.assertFalse(self.protocol.established)
        self.assertEqual(self.listener.named("peer_established"), [])

    def test_established_after_verack(self) -> None:
        """
        The peer's verack establishes the connection and tells the listener once.
        """
        self.receive(HANDSHAKE)
        self.assertTrue(self.protocol.established)
        self.assertEqual(self.listener.named("peer_established"),
                         [("peer_established", self.protocol)])

    def test_refused_version(self) -> None:
        """
        A version the listener refuses closes the connection gently, with no verack.
        """
        self.listener.refusal = "connected to self"
        self.sent()
        self.receive(HANDSHAKE)
        self.assertEqual(self.sent(), [])
        self.assert_dropped("connected to self", fault=None)
        self.assertEqual(self.listener.named("peer_established"), [])

    def assert_fault(self, data: bytes, reason: str, fault: Fault) -> None:
        self.receive(data)
        self.assert_dropped(reason, fault=fault)
        self.assertEqual(self.listener.named("message_received"), [])
        self.assertEqual(self.listener.named("fault_ignored"), [])

    def test_message_before_version(self) -> None:
        """
        inv as the first message is a handshake-order fault.
        """
        self.assert_fault(frame("inv", INV), "inv before version", Fault.HANDSHAKE_ORDER)

    def test_verack_first(self) -> None:
        """
        verack as the first message is a handshake-order fault.
        """
        self.assert_fault(frame("verack"), "verack before version", Fault.HANDSHAKE_ORDER)

    def test_unknown_before_version(self) -> None:
        """
        Even a command nobody knows is a handshake-order fault before the handshake
        (not an ignored unknown command).
        """
        self.assert_fault(frame("alert", None), "alert before version", Fault.HANDSHAKE_ORDER)

    def test_ping_before_established(self) -> None:
        """
        ping is only legal once established.
        """
        self.assert_fault(frame("version", THEIR_VERSION) + frame("ping", PingPayload(1, 2, 3)),
                          "ping before verack", Fault.HANDSHAKE_ORDER)
        self.assertEqual(self.protocol.last_block_index, 1000)

    def test_message_before_verack(self) -> None:
        """
        Anything but verack after version is a handshake-order fault.
        """
        self.assert_fault(frame("version", THEIR_VERSION) + frame("inv", INV),
                          "inv before verack", Fault.HANDSHAKE_ORDER)

    def test_version_twice(self) -> None:
        """
        A second version is a handshake-again fault.
        """
        self.assert_fault(frame("version", THEIR_VERSION) * 2, "version received twice",
                          Fault.HANDSHAKE_AGAIN)

    def test_verack_twice(self) -> None:
        """
        A second verack is a handshake-again fault, and what follows it is not handled.
        """
        self.assert_fault(HANDSHAKE + frame("verack") + frame("inv", INV),
                          "verack after the handshake", Fault.HANDSHAKE_AGAIN)

    def test_version_after_handshake(self) -> None:
        """
        version once established is a handshake-again fault.
        """
        self.assert_fault(HANDSHAKE + frame("version", THEIR_VERSION),
                          "version after the handshake", Fault.HANDSHAKE_AGAIN)

    def test_oversized_tx_before_handshake(self) -> None:
        """
        An oversized tx is skipped only once established; before, it is a
        handshake-order fault.
        """
        self.assert_fault(frame("version", THEIR_VERSION)
                          + encode_frame(MAGIC, "tx", bytes(MAX_TX_SIZE + 1)),
                          "tx before verack", Fault.HANDSHAKE_ORDER)

    def test_big_message_before_handshake_unread(self) -> None:
        """
        A message other than version/verack before the handshake is a fault as soon
        as its frame header and first bytes are in: a 32 MiB block is neither waited for
        nor decoded (issue 20, attack 3), and the listener is not asked about it.
        """
        header = struct.pack("<I12sI4s", MAGIC, b"block".ljust(12, b"\0"),
                             MAX_PAYLOAD_SIZE, bytes(4))
        self.receive(header + bytes(UNSIGNED_HEADER_SIZE))
        self.assert_dropped("block before version", fault=Fault.HANDSHAKE_ORDER)
        self.assertEqual(self.listener.named("accepts_block_frame"), [])
        self.assertEqual(self.protocol.bytes_in["block"], HEADER_SIZE + MAX_PAYLOAD_SIZE)

    def test_version_still_read_before_handshake(self) -> None:
        """
        A version split anywhere is read whole, and a verack after it too.
        """
        data = HANDSHAKE
        for at in (1, HEADER_SIZE, HEADER_SIZE + 3, len(data) - 1):
            self.connect()
            self.receive(data[:at])
            self.receive(data[at:])
            self.assertTrue(self.protocol.established, at)

    def test_handshake_timeout(self) -> None:
        """
        A peer that sends nothing is dropped after the handshake timeout, not for a fault.
        """
        self.clock.advance(29.9)
        self.assertTrue(self.transport.connected)
        self.clock.advance(0.1)
        self.assert_dropped("handshake timed out", fault=None)

    def test_handshake_timeout_without_verack(self) -> None:
        """
        The timeout covers the whole handshake: a version alone does not reset it.
        """
        self.connect(handshake_timeout=5.0)
        self.clock.advance(4)
        self.receive(frame("version", THEIR_VERSION))
        self.clock.advance(1)
        self.assert_dropped("handshake timed out", fault=None)

    def test_send_queued_until_established(self) -> None:
        """
        Messages sent before the handshake completes wait, then go out in order,
        before anything the listener sends on hearing of the peer.
        """
        self.listener.on_established = [("getaddr", None)]
        self.sent()
        self.protocol.send("inv", INV)
        self.protocol.send("mempool")
        self.receive(frame("version", THEIR_VERSION))
        self.assertEqual(self.sent(), [("verack", EmptyPayload())])
        self.receive(frame("verack"))
        self.assertEqual(self.sent(), [("inv", INV), ("mempool", EmptyPayload()),
                                       ("getaddr", EmptyPayload())])

    def test_handshake_commands_are_not_for_sending(self) -> None:
        """
        The node cannot send version or verack itself.
        """
        self.establish()
        self.assertRaises(ValueError, self.protocol.send, "version", THEIR_VERSION)
        self.assertRaises(ValueError, self.protocol.send, "verack")
        self.assertEqual(self.sent(), [])

    def test_verify_interfaces(self) -> None:
        """
        The protocol provides L{IPeer} and the fake listener L{IPeerListener}.
        """
        self.assertTrue(verifyObject(IPeer, self.protocol))
        self.assertTrue(verifyObject(IPeerListener, self.listener))


class FramingTests(ProtocolCase):
    """
    Bytes that are not a good stream, and streams split anywhere.
    """

    def test_wrong_magic(self) -> None:
        """
        A frame for another network is a wrong-magic fault as soon as its magic arrives.
        """
        self.receive(frame("version", THEIR_VERSION, magic=TESTNET_MAGIC)[:4])
        self.assert_dropped("bad frame: wrong network magic (at offset 0)",
                            fault=Fault.WRONG_MAGIC)

    def test_bad_checksum(self) -> None:
        """
        A corrupted payload is a bad-frame fault.
        """
        data = bytearray(frame("version", THEIR_VERSION))
        data[-1] ^= 0xFF
        self.receive(bytes(data))
        self.assert_dropped("bad frame: payload checksum mismatch (at offset 20)",
                            fault=Fault.BAD_FRAME)

    def test_oversized_length(self) -> None:
        """
        A header announcing more than 32 MiB is a bad-frame fault before any payload
        arrives.
        """
        header = bytearray(frame("version"))
        header[16:20] = (0x02000001).to_bytes(4, "little")
        self.receive(bytes(header))
        [(_, _, reason, fault)] = self.listener.named("peer_lost")
        self.assertIn("exceeds", str(reason))
        self.assertIs(fault, Fault.BAD_FRAME)
        self.assertTrue(self.transport.disconnected)

    def test_unparseable_payload(self) -> None:
        """
        A payload that does not decode as its command's is a malformed fault.
        """
        self.receive(encode_frame(MAGIC, "version", THEIR_VERSION.to_bytes()[:-3]))
        [(_, _, reason, fault)] = self.listener.named("peer_lost")
        self.assertTrue(str(reason).startswith("bad version payload:"))
        self.assertIs(fault, Fault.MALFORMED)
        self.assertTrue(self.transport.disconnected)

    def test_short_ping(self) -> None:
        """
        A ping shorter than 12 bytes (neo-python 0.8 sends an empty one) is ignored:
        no pong, no fault, the peer kept (2.10.1+ would disconnect it).
        """
        self.establish()
        for size in (0, 11):
            self.receive(encode_frame(MAGIC, "ping", bytes(size)))
        self.assertFalse(self.transport.disconnected)
        self.assertTrue(self.protocol.established)
        self.assertEqual(self.sent(), [])
        self.assertEqual(self.listener.named("fault_ignored"), [])

    def test_every_split_decodes(self) -> None:
        """
        A conversation split at any offset is handled exactly as when it arrives whole.
        """
        stream = HANDSHAKE + frame("inv", INV) + frame("ping", PingPayload(2000, 5, 9))
        for cut in range(len(stream) + 1):
            self.connect()
            self.listener.calls.clear()
            self.sent()
            self.receive(stream[:cut])
            self.receive(stream[cut:])
            self.assertEqual(
                [call[0] for call in self.listener.calls],
                ["check_version", "peer_established", "message_received"], cut)
            self.assertEqual([c for c, _ in self.sent()], ["verack", "pong"], cut)
            self.assertEqual(self.protocol.last_block_index, 2000)

    def test_one_byte_at_a_time(self) -> None:
        """
        Feeding one byte per call reaches the same state.
        """
        for byte in HANDSHAKE + frame("inv", INV):
            self.receive(bytes([byte]))
        self.assertTrue(self.protocol.established)
        self.assertEqual(self.listener.named("message_received"),
                         [("message_received", self.protocol, "inv", INV)])
