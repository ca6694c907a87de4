"""
Tests for L{neo_twisted.p2p.protocol.PeerProtocol} and L{neo_twisted.p2p.factory.PeerFactory}:
a connection on a L{StringTransport} with a recording listener, and two real
connections talking in memory.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver, StringTransportWithDisconnection
from twisted.logger import LogLevel, globalLogPublisher
from twisted.python.failure import Failure
from twisted.test.iosim import FakeTransport, connect
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from neo_twisted.core.serializable import Serializable
from neo_twisted.core.transaction import Transaction
from neo_twisted.network.frame import FrameDecoder, encode_frame
from neo_twisted.network.payloads import (
    EmptyPayload,
    InventoryType,
    InvPayload,
    Payload,
    PingPayload,
    VersionPayload,
    decode_payload,
)
from neo_twisted.p2p.factory import PeerFactory
from neo_twisted.p2p.interfaces import Endpoint, IPeer, IPeerListener
from neo_twisted.p2p.protocol import MAX_TX_SIZE, PeerProtocol
from neo_twisted.wire.uint import UInt256
from tests.samples import MAINNET_CONTRACT_TX, MAINNET_MAGIC, TESTNET_MAGIC

MAGIC = MAINNET_MAGIC
THEIR_VERSION = VersionPayload(timestamp=1_500_000_000, port=10333, nonce=2,
                               user_agent="/them/", start_height=1000)
INV = InvPayload(InventoryType.Block, (UInt256(b"\x01" * 32),))
PEER_ADDRESS = IPv4Address("TCP", "1.2.3.4", 50123)

Call = tuple[object, ...]


@implementer(IPeerListener)
class RecordingListener:
    """
    A node that records every call and answers with settable values.
    """

    def __init__(self, nonce: int = 1, port: int = 20333, height: int = 77) -> None:
        self.calls: list[Call] = []
        self.nonce = nonce
        self.port = port
        self.height = height
        self.refusal: str | None = None
        self.on_established: list[tuple[str, Serializable | None]] = []
        self.disconnect_on: str | None = None

    def local_version(self, peer: IPeer) -> VersionPayload:
        self.calls.append(("local_version", peer))
        return VersionPayload(timestamp=1_600_000_000, port=self.port, nonce=self.nonce,
                              user_agent="/us/", start_height=self.height)

    def check_version(self, peer: IPeer, version: VersionPayload) -> str | None:
        self.calls.append(("check_version", peer, version))
        return self.refusal

    def current_height(self) -> int:
        return self.height

    def peer_established(self, peer: IPeer) -> None:
        self.calls.append(("peer_established", peer))
        for command, payload in self.on_established:
            peer.send(command, payload)

    def message_received(self, peer: IPeer, command: str, payload: Payload) -> None:
        self.calls.append(("message_received", peer, command, payload))
        if command == self.disconnect_on:
            peer.disconnect(f"unwanted {command}")

    def peer_lost(self, peer: IPeer, reason: str, violation: bool) -> None:
        self.calls.append(("peer_lost", peer, reason, violation))

    def named(self, name: str) -> list[Call]:
        return [call for call in self.calls if call[0] == name]


def frame(command: str, payload: Serializable | None = None, magic: int = MAGIC) -> bytes:
    return encode_frame(magic, command, b"" if payload is None else payload.to_bytes())


HANDSHAKE = frame("version", THEIR_VERSION) + frame("verack")


def parse(data: bytes, magic: int = MAGIC) -> list[tuple[str, Payload | None]]:
    """
    The messages in C{data}, decoded as a peer would.
    """
    return [(f.command, decode_payload(f.command, f.payload))
            for f in FrameDecoder(magic).feed(data)]


class ProtocolCase(SynchronousTestCase):
    """
    One outbound connection on a transport that reports its own closing.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.listener = RecordingListener()
        self.addCleanup(self.assert_no_timers)
        self.connect()

    def connect(self, *, inbound: bool = False, magic: int = MAGIC,
                **timeouts: float) -> None:
        self.factory = PeerFactory(self.listener, magic, self.clock, inbound=inbound,
                                   **timeouts)
        self.transport = StringTransportWithDisconnection(peerAddress=PEER_ADDRESS)
        protocol = self.factory.buildProtocol(PEER_ADDRESS)
        self.transport.protocol = protocol
        self.protocol = protocol
        protocol.makeConnection(self.transport)
        self.addCleanup(self.close, self.transport, self.factory, protocol)

    def close(self, transport: StringTransportWithDisconnection, factory: PeerFactory,
              protocol: PeerProtocol) -> None:
        """
        End a connection the test left open; the factory forgets it either way.
        """
        if transport.connected:
            transport.loseConnection()
        self.assertNotIn(protocol, factory.peers)

    def assert_no_timers(self) -> None:
        """
        Once every connection is gone, no timer is left behind.
        """
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def sent(self) -> list[tuple[str, Payload | None]]:
        """
        What the protocol wrote since the last call.
        """
        messages = parse(self.transport.value())
        self.transport.clear()
        return messages

    def receive(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def establish(self) -> None:
        self.receive(HANDSHAKE)
        self.assertTrue(self.protocol.established)
        self.sent()

    def assert_dropped(self, reason: str, *, violation: bool) -> None:
        """
        The connection was closed (aborted for a violation) and the listener told once.
        """
        self.assertFalse(self.transport.connected)
        self.assertEqual(self.transport.disconnected, violation)
        self.assertFalse(self.protocol.established)
        self.assertEqual(self.listener.named("peer_lost"),
                         [("peer_lost", self.protocol, reason, violation)])


class HandshakeTests(ProtocolCase):
    """
    The version/verack exchange as seen on the wire.
    """

    def test_versionSentOnConnect(self) -> None:
        """
        An outbound connection sends the listener's version at once, and nothing else.
        """
        self.assertFalse(self.protocol.inbound)
        self.assertEqual(self.sent(), [("version", VersionPayload(
            timestamp=1_600_000_000, port=20333, nonce=1, user_agent="/us/",
            start_height=77))])
        self.assertEqual(self.listener.calls, [("local_version", self.protocol)])

    def test_versionSentOnAccept(self) -> None:
        """
        An inbound connection sends its version at once too, without waiting for the peer's.
        """
        self.connect(inbound=True)
        self.assertTrue(self.protocol.inbound)
        [(command, _)] = self.sent()
        self.assertEqual(command, "version")

    def test_verackAfterGoodVersion(self) -> None:
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

    def test_establishedAfterVerack(self) -> None:
        """
        The peer's verack establishes the connection and tells the listener once.
        """
        self.receive(HANDSHAKE)
        self.assertTrue(self.protocol.established)
        self.assertEqual(self.listener.named("peer_established"),
                         [("peer_established", self.protocol)])

    def test_refusedVersion(self) -> None:
        """
        A version the listener refuses closes the connection gently, with no verack.
        """
        self.listener.refusal = "connected to self"
        self.sent()
        self.receive(HANDSHAKE)
        self.assertEqual(self.sent(), [])
        self.assert_dropped("connected to self", violation=False)
        self.assertEqual(self.listener.named("peer_established"), [])

    def assert_violation(self, data: bytes, reason: str) -> None:
        self.receive(data)
        self.assert_dropped(reason, violation=True)
        self.assertEqual(self.listener.named("message_received"), [])

    def test_messageBeforeVersion(self) -> None:
        """
        inv as the first message is a violation.
        """
        self.assert_violation(frame("inv", INV), "inv before version")

    def test_verackFirst(self) -> None:
        """
        verack as the first message is a violation.
        """
        self.assert_violation(frame("verack"), "verack before version")

    def test_unknownBeforeVersion(self) -> None:
        """
        Even a command nobody knows is a violation before the handshake.
        """
        self.assert_violation(frame("alert", None), "alert before version")

    def test_pingBeforeEstablished(self) -> None:
        """
        ping is only legal once established.
        """
        self.assert_violation(frame("version", THEIR_VERSION) + frame("ping", PingPayload(1, 2, 3)),
                              "ping before verack")
        self.assertEqual(self.protocol.last_block_index, 1000)

    def test_messageBeforeVerack(self) -> None:
        """
        Anything but verack after version is a violation.
        """
        self.assert_violation(frame("version", THEIR_VERSION) + frame("inv", INV),
                              "inv before verack")

    def test_versionTwice(self) -> None:
        """
        A second version is a violation.
        """
        self.assert_violation(frame("version", THEIR_VERSION) * 2, "version received twice")

    def test_verackTwice(self) -> None:
        """
        A second verack is a violation, and what follows it is not handled.
        """
        self.assert_violation(HANDSHAKE + frame("verack") + frame("inv", INV),
                              "verack after the handshake")

    def test_versionAfterHandshake(self) -> None:
        """
        version once established is a violation.
        """
        self.assert_violation(HANDSHAKE + frame("version", THEIR_VERSION),
                              "version after the handshake")

    def test_oversizedTxBeforeHandshake(self) -> None:
        """
        An oversized tx is ignored only once established; before, it is a violation.
        """
        self.assert_violation(frame("version", THEIR_VERSION)
                              + encode_frame(MAGIC, "tx", bytes(MAX_TX_SIZE + 1)),
                              "tx before verack")

    def test_handshakeTimeout(self) -> None:
        """
        A peer that sends nothing is dropped after the handshake timeout, not as a violation.
        """
        self.clock.advance(29.9)
        self.assertTrue(self.transport.connected)
        self.clock.advance(0.1)
        self.assert_dropped("handshake timed out", violation=False)

    def test_handshakeTimeoutWithoutVerack(self) -> None:
        """
        The timeout covers the whole handshake: a version alone does not reset it.
        """
        self.connect(handshake_timeout=5.0)
        self.clock.advance(4)
        self.receive(frame("version", THEIR_VERSION))
        self.clock.advance(1)
        self.assert_dropped("handshake timed out", violation=False)

    def test_sendQueuedUntilEstablished(self) -> None:
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

    def test_handshakeCommandsAreNotForSending(self) -> None:
        """
        The node cannot send version or verack itself.
        """
        self.establish()
        self.assertRaises(ValueError, self.protocol.send, "version", THEIR_VERSION)
        self.assertRaises(ValueError, self.protocol.send, "verack")
        self.assertEqual(self.sent(), [])

    def test_verifyInterfaces(self) -> None:
        """
        The protocol provides L{IPeer} and the fake listener L{IPeerListener}.
        """
        self.assertTrue(verifyObject(IPeer, self.protocol))
        self.assertTrue(verifyObject(IPeerListener, self.listener))


class FramingTests(ProtocolCase):
    """
    Bytes that are not a good stream, and streams split anywhere.
    """

    def test_wrongMagic(self) -> None:
        """
        A frame for another network is a violation as soon as its magic arrives.
        """
        self.receive(frame("version", THEIR_VERSION, magic=TESTNET_MAGIC)[:4])
        self.assert_dropped("bad frame: wrong network magic (at offset 0)", violation=True)

    def test_badChecksum(self) -> None:
        """
        A corrupted payload is a violation.
        """
        data = bytearray(frame("version", THEIR_VERSION))
        data[-1] ^= 0xFF
        self.receive(bytes(data))
        self.assert_dropped("bad frame: payload checksum mismatch (at offset 20)",
                            violation=True)

    def test_oversizedLength(self) -> None:
        """
        A header announcing more than 32 MiB is a violation before any payload arrives.
        """
        header = bytearray(frame("version"))
        header[16:20] = (0x02000001).to_bytes(4, "little")
        self.receive(bytes(header))
        [(_, _, reason, violation)] = self.listener.named("peer_lost")
        self.assertIn("exceeds", str(reason))
        self.assertTrue(violation)

    def test_unparseablePayload(self) -> None:
        """
        A payload that does not decode as its command's is a violation.
        """
        self.receive(encode_frame(MAGIC, "version", THEIR_VERSION.to_bytes()[:-3]))
        [(_, _, reason, violation)] = self.listener.named("peer_lost")
        self.assertTrue(str(reason).startswith("bad version payload:"))
        self.assertTrue(violation)

    def test_shortPing(self) -> None:
        """
        An 11-byte ping is a violation (2.10+ disconnects on it too).
        """
        self.establish()
        self.receive(encode_frame(MAGIC, "ping", bytes(11)))
        self.assertTrue(self.transport.disconnected)
        self.assertEqual(self.sent(), [])

    def test_everySplitDecodes(self) -> None:
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

    def test_oneByteAtATime(self) -> None:
        """
        Feeding one byte per call reaches the same state.
        """
        for byte in HANDSHAKE + frame("inv", INV):
            self.receive(bytes([byte]))
        self.assertTrue(self.protocol.established)
        self.assertEqual(self.listener.named("message_received"),
                         [("message_received", self.protocol, "inv", INV)])


class EstablishedTests(ProtocolCase):
    """
    Messages of an established peer.
    """

    def setUp(self) -> None:
        super().setUp()
        self.establish()

    def test_messageDelivered(self) -> None:
        """
        Messages other than the handshake and keep-alive reach the listener decoded, in order.
        """
        tx = Transaction.from_bytes(MAINNET_CONTRACT_TX)
        self.receive(frame("inv", INV) + frame("getaddr") + frame("tx", tx))
        self.assertEqual(self.listener.named("message_received"), [
            ("message_received", self.protocol, "inv", INV),
            ("message_received", self.protocol, "getaddr", EmptyPayload()),
            ("message_received", self.protocol, "tx", tx)])

    def test_unknownCommandIgnored(self) -> None:
        """
        A command we do not know is ignored and the connection stays up.
        """
        self.receive(encode_frame(MAGIC, "alert", b"whatever") + frame("inv", INV))
        self.assertEqual(self.listener.named("message_received"),
                         [("message_received", self.protocol, "inv", INV)])
        self.assertTrue(self.transport.connected)

    def test_oversizedTxIgnored(self) -> None:
        """
        A tx payload over 102,400 bytes is dropped silently, without being decoded.
        """
        self.receive(encode_frame(MAGIC, "tx", bytes(MAX_TX_SIZE + 1)))
        self.assertEqual(self.listener.named("message_received"), [])
        self.assertTrue(self.transport.connected)
        self.assertEqual(self.protocol.messages_in["tx"], 1)

    def test_txAtTheLimitIsDecoded(self) -> None:
        """
        A tx payload of exactly 102,400 bytes is decoded (garbage there is a violation).
        """
        self.receive(encode_frame(MAGIC, "tx", bytes(MAX_TX_SIZE)))
        self.assertTrue(self.transport.disconnected)

    def test_pingAnsweredWithPong(self) -> None:
        """
        ping gets a pong with our height, the time and the same nonce, and raises
        the peer's height; the listener does not see it.
        """
        self.clock.advance(12.5)
        self.receive(frame("ping", PingPayload(1500, 1_700_000_000, 0xDEADBEEF)))
        self.assertEqual(self.sent(), [("pong", PingPayload(77, 12, 0xDEADBEEF))])
        self.assertEqual(self.protocol.last_block_index, 1500)
        self.assertEqual(self.listener.named("message_received"), [])

    def test_heightNeverLowered(self) -> None:
        """
        A ping or pong with a lower height leaves the peer's height alone.
        """
        self.receive(frame("ping", PingPayload(10, 0, 1)) + frame("pong", PingPayload(20, 0, 1)))
        self.assertEqual(self.protocol.last_block_index, 1000)

    def test_pongRaisesHeight(self) -> None:
        """
        pong raises the peer's height and is not answered.
        """
        self.receive(frame("pong", PingPayload(1234, 0, 5)))
        self.assertEqual(self.protocol.last_block_index, 1234)
        self.assertEqual(self.sent(), [])
        self.assertEqual(self.listener.named("message_received"), [])

    def test_stopAfterDisconnect(self) -> None:
        """
        When the listener drops the peer during a message, the frames after it are
        not handled and nothing more is sent.
        """
        self.listener.disconnect_on = "getaddr"
        self.receive(frame("getaddr") + frame("inv", INV) + frame("ping", PingPayload(1, 2, 3)))
        self.assertEqual([call[2] for call in self.listener.named("message_received")],
                         ["getaddr"])
        self.assertEqual(self.sent(), [])
        self.assert_dropped("unwanted getaddr", violation=False)
        self.receive(frame("inv", INV))
        self.assertEqual(len(self.listener.named("message_received")), 1)

    def test_sendAfterDisconnectIgnored(self) -> None:
        """
        Messages sent to a dropped peer are discarded.
        """
        self.protocol.disconnect("bye")
        self.protocol.send("inv", INV)
        self.assertEqual(self.sent(), [])

    def test_counters(self) -> None:
        """
        Bytes (headers included) and messages are counted per command both ways.
        """
        self.protocol.send("inv", INV)
        self.receive(frame("inv", INV) * 2)
        inv_size = len(frame("inv", INV))
        self.assertEqual(self.protocol.messages_in, {"version": 1, "verack": 1, "inv": 2})
        self.assertEqual(self.protocol.bytes_in["inv"], 2 * inv_size)
        self.assertEqual(self.protocol.bytes_in["verack"], 24)
        self.assertEqual(self.protocol.messages_out, {"version": 1, "verack": 1, "inv": 1})
        self.assertEqual(self.protocol.bytes_out["inv"], inv_size)


class TimerTests(ProtocolCase):
    """
    Idle timeout and keep-alive, on the injected clock.
    """

    def test_idleTimeout(self) -> None:
        """
        A peer that sends nothing for 90 s is dropped, however recently we sent.
        """
        self.establish()
        self.clock.advance(60)
        self.receive(frame("inv", INV))
        self.clock.advance(89)
        self.assertTrue(self.transport.connected)
        self.clock.advance(1)
        self.assert_dropped("nothing received for 90 s", violation=False)

    def test_idleTimeoutConfigurable(self) -> None:
        """
        The idle timeout comes from the factory.
        """
        self.connect(idle_timeout=10.0)
        self.establish()
        self.clock.advance(10)
        self.assertFalse(self.transport.connected)

    def test_keepAlivePing(self) -> None:
        """
        After 30 s of our silence an established connection pings with our height,
        the time and a nonce, and keeps doing so.
        """
        self.establish()
        self.clock.advance(29)
        self.assertEqual(self.sent(), [])
        self.clock.advance(1)
        [(command, ping)] = self.sent()
        self.assertEqual(command, "ping")
        assert isinstance(ping, PingPayload)
        self.assertEqual((ping.last_block_index, ping.timestamp), (77, 30))
        self.assertEqual(len(ping.to_bytes()), 12)
        self.clock.advance(30)
        self.assertEqual([c for c, _ in self.sent()], ["ping"])

    def test_noPingWhenRecentlySent(self) -> None:
        """
        Sending anything postpones the keep-alive ping to 30 s after it.
        """
        self.establish()
        self.clock.advance(20)
        self.protocol.send("inv", INV)
        self.sent()
        self.clock.advance(10)
        self.assertEqual(self.sent(), [])
        self.clock.advance(20)
        self.assertEqual([c for c, _ in self.sent()], ["ping"])

    def test_noPingDuringHandshake(self) -> None:
        """
        Nothing but version and verack goes out before the handshake completes.
        """
        self.connect(handshake_timeout=100.0, idle_timeout=200.0)
        self.sent()
        self.receive(frame("version", THEIR_VERSION))
        self.clock.advance(99)
        self.assertEqual([c for c, _ in self.sent()], ["verack"])

    def test_timersCancelledOnLoss(self) -> None:
        """
        A lost connection leaves no timer behind, in every phase.
        """
        self.assertNotEqual(self.clock.getDelayedCalls(), [])
        self.protocol.connectionLost(Failure(ConnectionLost()))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.connect()
        self.establish()
        self.protocol.connectionLost(Failure(ConnectionLost()))
        self.assertEqual(self.clock.getDelayedCalls(), [])


class LifecycleTests(ProtocolCase):
    """
    Addresses, names, and how a connection ends.
    """

    def test_addresses(self) -> None:
        """
        The remote endpoint is the transport's peer; the listener endpoint is its
        IP with the version's port.
        """
        self.assertEqual(self.protocol.remote, Endpoint("1.2.3.4", 50123))
        self.assertIsNone(self.protocol.listener)
        self.establish()
        self.assertEqual(self.protocol.listener, Endpoint("1.2.3.4", 10333))
        self.assertEqual(str(self.protocol), "peer 1.2.3.4:50123 out")
        self.assertEqual(repr(self.protocol), "peer 1.2.3.4:50123 out")

    def test_noListenerForPortZero(self) -> None:
        """
        A peer whose version has port 0 does not accept connections.
        """
        self.receive(frame("version", VersionPayload(
            timestamp=0, port=0, nonce=3, user_agent="", start_height=0)))
        self.assertIsNone(self.protocol.listener)

    def test_remoteClose(self) -> None:
        """
        A close by the other side is reported once, as no violation.
        """
        self.establish()
        self.protocol.connectionLost(Failure(ConnectionDone("bye")))
        self.protocol.connectionLost(Failure(ConnectionDone("again")))
        self.assertEqual(self.listener.named("peer_lost"), [
            ("peer_lost", self.protocol, "connection closed: Connection was closed cleanly: bye.",
             False)])
        self.assertFalse(self.protocol.established)

    def test_disconnectIdempotent(self) -> None:
        """
        Only the first disconnect counts: its reason is the one reported.
        """
        self.establish()
        self.protocol.disconnect("first")
        self.protocol.disconnect("second", violation=True)
        self.assert_dropped("first", violation=False)

    def test_violationAborts(self) -> None:
        """
        A violation resets the connection rather than closing it gracefully.
        """
        self.establish()
        self.protocol.disconnect("misbehaved", violation=True)
        self.assert_dropped("misbehaved", violation=True)

    def test_dropsAreLogged(self) -> None:
        """
        A drop is logged once as a structured event naming the peer and the reason:
        a plain drop at info level, a violation at warn level.
        """
        observer = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.protocol.disconnect("too many peers")
        self.protocol.disconnect("again")
        self.connect()
        self.receive(frame("verack"))
        drops = [event for event in observer if "reason" in event]
        self.assertEqual([(e["log_level"], e["reason"]) for e in drops],
                         [(LogLevel.info, "too many peers"),
                          (LogLevel.warn, "verack before version")])
        self.assertEqual(drops[0]["log_format"], "dropping {peer}: {reason}")
        self.assertEqual(str(drops[0]["peer"]), "peer 1.2.3.4:50123 out")

    def test_factoryTracksPeers(self) -> None:
        """
        The factory knows its live connections and forgets lost ones.
        """
        self.assertEqual(self.factory.peers, {self.protocol})
        self.protocol.disconnect("bye")
        self.assertEqual(self.factory.peers, set())

    def test_factoryConfiguration(self) -> None:
        """
        Protocols take their direction from the factory; timeouts must be positive.
        """
        factory = PeerFactory(self.listener, MAGIC, self.clock, inbound=True)
        protocol = factory.buildProtocol(PEER_ADDRESS)
        self.assertIsInstance(protocol, PeerProtocol)
        self.assertTrue(protocol.inbound)
        self.assertEqual(protocol.remote, Endpoint("1.2.3.4", 50123))
        self.assertEqual((factory.handshake_timeout, factory.idle_timeout,
                          factory.ping_interval), (30.0, 90.0, 30.0))
        for name in ("handshake_timeout", "idle_timeout", "ping_interval"):
            with self.assertRaises(ValueError):
                PeerFactory(self.listener, MAGIC, self.clock, inbound=False, **{name: 0.0})


class TwoPeersTests(SynchronousTestCase):
    """
    Two real connections, an outbound and an inbound one, talking in memory.
    """

    def test_handshakeMessageAndClose(self) -> None:
        """
        Both sides reach established, a message crosses, and a disconnect reaches both.
        """
        clock = Clock()
        dialler, acceptor = RecordingListener(nonce=1), RecordingListener(nonce=2, height=500)
        client = PeerFactory(dialler, MAGIC, clock, inbound=False).buildProtocol(None)
        server = PeerFactory(acceptor, MAGIC, clock, inbound=True).buildProtocol(None)
        client_address = IPv4Address("TCP", "10.0.0.1", 40000)
        server_address = IPv4Address("TCP", "10.0.0.2", 10333)
        pump = connect(
            server, FakeTransport(server, True, server_address, client_address),
            client, FakeTransport(client, False, client_address, server_address), clock=clock)
        self.assertTrue(client.established)
        self.assertTrue(server.established)
        self.assertEqual(client.last_block_index, 500)
        self.assertEqual(server.listener, Endpoint("10.0.0.1", 20333))
        self.assertEqual(str(server), "peer 10.0.0.1:40000 in")

        clock.advance(10)
        client.send("inv", INV)
        pump.flush()
        self.assertEqual(acceptor.named("message_received"),
                         [("message_received", server, "inv", INV)])
        clock.advance(20)
        pump.flush()
        self.assertEqual((client.messages_in.get("ping"), server.messages_in.get("pong")),
                         (1, 1))
        self.assertNotIn("ping", server.messages_in)

        client.disconnect("done")
        pump.flush()
        self.assertEqual(dialler.named("peer_lost"), [("peer_lost", client, "done", False)])
        [(_, peer, reason, violation)] = acceptor.named("peer_lost")
        self.assertIs(peer, server)
        self.assertTrue(str(reason).startswith("connection closed:"))
        self.assertFalse(violation)
        self.assertEqual(clock.getDelayedCalls(), [])
