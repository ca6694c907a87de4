"""
Tests for L{neo_twisted.p2p.protocol.PeerProtocol} and L{neo_twisted.p2p.factory.PeerFactory}
once connected: messages of an established peer, keep-alive and idle timers, how a
connection ends, and two real connections talking in memory.

The handshake and the framing are in L{tests.unit.test_p2p_protocol}; blocks judged on their
header and payloads decoded off the reactor are in L{tests.unit.test_p2p_decoding}.
"""

from __future__ import annotations

from typing import Unpack

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.task import Clock
from twisted.logger import LogLevel
from twisted.python.failure import Failure
from twisted.test.iosim import FakeTransport, connect
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.transaction import Transaction
from neo_twisted.network.frame import encode_frame
from neo_twisted.network.payloads import EmptyPayload, PingPayload, VersionPayload
from neo_twisted.p2p.factory import DEFAULT_IDLE_TIMEOUT, PeerFactory
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.p2p.protocol import MAX_TX_SIZE, PeerProtocol
from tests.support.logs import captured_events
from tests.support.p2p_decoding_helpers import truncated_tx, tx_of_size
from tests.support.p2p_protocol_helpers import (
    INV,
    MAGIC,
    PEER_ADDRESS,
    THEIR_VERSION,
    FactoryOptions,
    ProtocolCase,
    RecordingListener,
    frame,
)
from tests.support.samples import MAINNET_CONTRACT_TX


class EstablishedTests(ProtocolCase):
    """
    Messages of an established peer.
    """

    def setUp(self) -> None:
        super().setUp()
        self.establish()

    def test_message_delivered(self) -> None:
        """
        Messages other than the handshake and keep-alive reach the listener decoded, in order.
        """
        tx = Transaction.from_bytes(MAINNET_CONTRACT_TX)
        self.receive(frame("inv", INV) + frame("getaddr") + frame("tx", tx))
        self.assertEqual(self.listener.named("message_received"), [
            ("message_received", self.protocol, "inv", INV),
            ("message_received", self.protocol, "getaddr", EmptyPayload()),
            ("message_received", self.protocol, "tx", tx)])

    def test_unknown_command_ignored(self) -> None:
        """
        A command we do not know is an unknown-command fault, which is only
        reported to the listener: the connection stays up and goes on.
        """
        self.receive(encode_frame(MAGIC, "alert", b"whatever") + frame("inv", INV))
        self.assertEqual(self.listener.named("fault_ignored"), [
            ("fault_ignored", self.protocol, Fault.UNKNOWN_COMMAND, "alert is not handled")])
        self.assertEqual(self.listener.named("message_received"),
                         [("message_received", self.protocol, "inv", INV)])
        self.assertTrue(self.transport.connected)
        self.assertEqual(self.listener.named("peer_lost"), [])

    def test_oversized_tx_ignored(self) -> None:
        """
        A tx payload over 102,400 bytes is dropped silently, without being decoded:
        skipping it is no fault of the peer's (2.9.0 relays such transactions).
        """
        self.receive(encode_frame(MAGIC, "tx", bytes(MAX_TX_SIZE + 1)))
        self.assertEqual(self.listener.named("message_received"), [])
        self.assertEqual(self.listener.named("fault_ignored"), [])
        self.assertTrue(self.transport.connected)
        self.assertEqual(self.protocol.messages_in["tx"], 1)

    def test_tx_at_the_limit_is_decoded(self) -> None:
        """
        A tx payload of exactly 102,400 bytes is decoded and delivered, and one that
        does not decode there is malformed.
        """
        tx = tx_of_size(MAX_TX_SIZE)
        self.receive(frame("tx", tx))
        self.assertEqual(self.listener.named("message_received"),
                         [("message_received", self.protocol, "tx", tx)])
        self.receive(encode_frame(MAGIC, "tx", truncated_tx(MAX_TX_SIZE)))
        self.assertTrue(self.transport.disconnected)
        [(_, _, reason, fault)] = self.listener.named("peer_lost")
        self.assertTrue(str(reason).startswith("bad tx payload:"), reason)
        self.assertIs(fault, Fault.MALFORMED)

    def test_ping_answered_with_pong(self) -> None:
        """
        ping gets a pong with our height, the time and the same nonce, and raises
        the peer's height; the listener does not see it.
        """
        self.clock.advance(12.5)
        self.receive(frame("ping", PingPayload(1500, 1_700_000_000, 0xDEADBEEF)))
        self.assertEqual(self.sent(), [("pong", PingPayload(77, 12, 0xDEADBEEF))])
        self.assertEqual(self.protocol.last_block_index, 1500)
        self.assertEqual(self.listener.named("message_received"), [])

    def test_height_never_lowered(self) -> None:
        """
        A ping or pong with a lower height leaves the peer's height alone.
        """
        self.receive(frame("ping", PingPayload(10, 0, 1)) + frame("pong", PingPayload(20, 0, 1)))
        self.assertEqual(self.protocol.last_block_index, 1000)

    def test_pong_raises_height(self) -> None:
        """
        pong raises the peer's height and is not answered.
        """
        self.receive(frame("pong", PingPayload(1234, 0, 5)))
        self.assertEqual(self.protocol.last_block_index, 1234)
        self.assertEqual(self.sent(), [])
        self.assertEqual(self.listener.named("message_received"), [])

    def test_stop_after_disconnect(self) -> None:
        """
        When the listener drops the peer during a message, the frames after it are
        not handled and nothing more is sent.
        """
        self.listener.disconnect_on = "getaddr"
        self.receive(frame("getaddr") + frame("inv", INV) + frame("ping", PingPayload(1, 2, 3)))
        self.assertEqual([call[2] for call in self.listener.named("message_received")],
                         ["getaddr"])
        self.assertEqual(self.sent(), [])
        self.assert_dropped("unwanted getaddr", fault=None)
        self.receive(frame("inv", INV))
        self.assertEqual(len(self.listener.named("message_received")), 1)

    def test_send_after_disconnect_ignored(self) -> None:
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

    def test_idle_timeout(self) -> None:
        """
        A peer that sends nothing for the idle timeout is dropped, however recently we sent.
        """
        self.reconnect(idle_timeout=90.0)
        self.establish()
        self.clock.advance(60)
        self.receive(frame("inv", INV))
        self.clock.advance(89)
        self.assertTrue(self.transport.connected)
        self.clock.advance(1)
        self.assert_dropped("no message received for 90 s", fault=None)

    def test_dripped_frame_does_not_keep_the_peer(self) -> None:
        """
        Only whole messages count as received: a frame sent a byte at a time, each
        byte well inside the timeout, does not hold the connection open.
        """
        self.reconnect(idle_timeout=90.0)
        self.establish()
        data = encode_frame(MAGIC, "headers", b"\x00" * 200)
        for byte in range(89):
            self.receive(data[byte:byte + 1])
            self.clock.advance(1)
        self.assertTrue(self.transport.connected)
        self.receive(data[89:90])
        self.clock.advance(1)
        self.assert_dropped("no message received for 90 s", fault=None)

    def test_silence_of_a_2_8_peer_kept(self) -> None:
        """
        By default a peer may be silent 30 minutes, as neo 2.8 allows: it sends no
        keep-alive and answers no ping (our requests have timeouts of their own).
        """
        self.establish()
        self.clock.advance(DEFAULT_IDLE_TIMEOUT - 1)
        self.assertTrue(self.transport.connected)
        self.clock.advance(1)
        self.assert_dropped(f"no message received for {DEFAULT_IDLE_TIMEOUT:.0f} s", fault=None)

    def reconnect(self, **timeouts: Unpack[FactoryOptions]) -> None:
        """
        Replace the connection of C{setUp} by one with these timeouts.
        """
        self.protocol.connectionLost()
        self.listener.calls.clear()
        self.connect(**timeouts)

    def test_idle_timeout_configurable(self) -> None:
        """
        The idle timeout comes from the factory.
        """
        self.connect(idle_timeout=10.0)
        self.establish()
        self.clock.advance(10)
        self.assertFalse(self.transport.connected)

    def test_keep_alive_ping(self) -> None:
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

    def test_no_ping_when_recently_sent(self) -> None:
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

    def test_no_ping_during_handshake(self) -> None:
        """
        Nothing but version and verack goes out before the handshake completes.
        """
        self.connect(handshake_timeout=100.0, idle_timeout=200.0)
        self.sent()
        self.receive(frame("version", THEIR_VERSION))
        self.clock.advance(99)
        self.assertEqual([c for c, _ in self.sent()], ["verack"])

    def test_timers_cancelled_on_loss(self) -> None:
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

    def test_no_listener_for_port_zero(self) -> None:
        """
        A peer whose version has port 0 does not accept connections.
        """
        self.receive(frame("version", VersionPayload(
            timestamp=0, port=0, nonce=3, user_agent="", start_height=0)))
        self.assertIsNone(self.protocol.listener)

    def test_remote_close(self) -> None:
        """
        A close by the other side is reported once, with no fault.
        """
        self.establish()
        self.protocol.connectionLost(Failure(ConnectionDone("bye")))
        self.protocol.connectionLost(Failure(ConnectionDone("again")))
        self.assertEqual(self.listener.named("peer_lost"), [
            ("peer_lost", self.protocol, "connection closed: Connection was closed cleanly: bye.",
             None)])
        self.assertFalse(self.protocol.established)

    def test_disconnect_idempotent(self) -> None:
        """
        Only the first close counts: its reason is the one reported, and a fault
        reported after it (even one that is only counted) is not.
        """
        self.establish()
        self.protocol.disconnect("first")
        self.protocol.disconnect("second")
        self.protocol.fault(Fault.MALFORMED, "third")
        self.protocol.fault(Fault.UNKNOWN_COMMAND, "fourth")
        self.assert_dropped("first", fault=None)
        self.assertEqual(self.listener.named("fault_ignored"), [])

    def test_first_fault_counts(self) -> None:
        """
        A fault that closed the connection is the one reported; a disconnect after
        it changes nothing.
        """
        self.establish()
        self.protocol.fault(Fault.WRONG_MAGIC, "first")
        self.protocol.fault(Fault.BAD_HEADER_WITNESS, "second")
        self.protocol.disconnect("third")
        self.assert_dropped("first", fault=Fault.WRONG_MAGIC)

    def test_fault_aborts(self) -> None:
        """
        A fault whose response closes the connection resets it rather than closing
        it gracefully, and the listener is told which fault.
        """
        self.establish()
        self.protocol.fault(Fault.INVALID_BLOCK, "misbehaved")
        self.assert_dropped("misbehaved", fault=Fault.INVALID_BLOCK)

    def test_discouraging_fault_aborts(self) -> None:
        """
        A fault the table discourages for closes the connection like any other; what it
        costs the IP is the listener's to apply.
        """
        self.establish()
        self.protocol.fault(Fault.BAD_HEADER_WITNESS, "forged header")
        self.assert_dropped("forged header", fault=Fault.BAD_HEADER_WITNESS)

    def test_ignored_fault_keeps_the_connection(self) -> None:
        """
        A fault whose response is to ignore it goes to C{fault_ignored} with its
        detail; the connection stays established and keeps delivering.
        """
        self.establish()
        self.protocol.fault(Fault.INVALID_TX, "bad signature")
        self.assertEqual(self.listener.named("fault_ignored"), [
            ("fault_ignored", self.protocol, Fault.INVALID_TX, "bad signature")])
        self.assertTrue(self.transport.connected)
        self.assertTrue(self.protocol.established)
        self.assertEqual(self.listener.named("peer_lost"), [])
        self.receive(frame("inv", INV))
        self.assertEqual(self.listener.named("message_received"),
                         [("message_received", self.protocol, "inv", INV)])

    def test_drops_are_logged(self) -> None:
        """
        A drop is logged once as a structured event naming the peer and the reason:
        a plain drop at info level, a fault at warn level with its label.
        """
        observer = captured_events(self)
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
        self.assertEqual(drops[1]["log_format"], "dropping {peer} ({fault}): {reason}")
        self.assertEqual(drops[1]["fault"], "handshake-order")

    def test_listener_tracks_peers(self) -> None:
        """
        The listener (the node's registry) hears of each connection when it is up and
        when it is lost; the factory keeps no set of its own.
        """
        self.assertEqual(self.listener.live, {self.protocol})
        self.assertFalse(hasattr(self.factory, "peers"))
        self.protocol.disconnect("bye")
        self.assertEqual(self.listener.live, set())

    def test_factory_configuration(self) -> None:
        """
        Protocols take their direction from the factory; timeouts must be positive.
        """
        factory = PeerFactory(self.listener, MAGIC, self.clock, inbound=True)
        protocol = factory.buildProtocol(PEER_ADDRESS)
        self.assertIsInstance(protocol, PeerProtocol)
        self.assertTrue(protocol.inbound)
        self.assertEqual(protocol.remote, Endpoint("1.2.3.4", 50123))
        self.assertEqual((factory.handshake_timeout, factory.idle_timeout,
                          factory.ping_interval), (30.0, 1800.0, 30.0))
        for options in (FactoryOptions(handshake_timeout=0.0), FactoryOptions(idle_timeout=0.0),
                        FactoryOptions(ping_interval=0.0)):
            with self.assertRaises(ValueError):
                PeerFactory(self.listener, MAGIC, self.clock, inbound=False, **options)


class TwoPeersTests(SynchronousTestCase):
    """
    Two real connections, an outbound and an inbound one, talking in memory.
    """

    def test_handshake_message_and_close(self) -> None:
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
        self.assertEqual(dialler.named("peer_lost"), [("peer_lost", client, "done", None)])
        [(_, peer, reason, fault)] = acceptor.named("peer_lost")
        self.assertIs(peer, server)
        self.assertTrue(str(reason).startswith("connection closed:"))
        self.assertIsNone(fault)
        self.assertEqual(clock.getDelayedCalls(), [])
