"""
Connections lost, counted by reason with a small fixed set of labels
(L{neo_twisted.p2p.disconnects}): each test closes real connections
(L{PeerProtocol} on a string transport) the way the node closes them, and reads
the controller's counts the metrics export.
"""

from __future__ import annotations

from typing import cast

from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransportWithDisconnection
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.network.payloads import VersionPayload
from neo_twisted.p2p.connections import ConnectionService
from neo_twisted.p2p.controller import PeerController
from neo_twisted.p2p.disconnects import REASON_ENDS, REASONS, disconnect_label
from neo_twisted.p2p.factory import PeerFactory
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.protocol import PeerProtocol
from neo_twisted.reactors import INodeReactor
from tests.support.p2p_protocol_helpers import HANDSHAKE, MAGIC, frame

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 100.0


class DisconnectCountTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = MemoryReactorClock()
        self.controller = PeerController(self.clock)
        self.factories = {inbound: PeerFactory(
            self.controller, MAGIC, self.clock, inbound=inbound,
            handshake_timeout=HANDSHAKE_TIMEOUT, idle_timeout=IDLE_TIMEOUT)
            for inbound in (False, True)}
        self.service = ConnectionService(self.controller, self.factories[False],
                                         self.factories[True], listen_port=0,
                                         min_peers=1, max_peers=3,
                                         reactor=cast(INodeReactor, self.clock))
        self.service.startService()
        self.addCleanup(self.stop)

    def stop(self) -> None:
        if self.service.running:
            self.service.stopService()
        self.assertEqual(self.controller.records, {})

    def connect(self, host: str = "10.0.0.1", *, inbound: bool = False,
                nonce: int = 2) -> tuple[PeerProtocol, StringTransportWithDisconnection]:
        """
        A connection, established with a peer whose version has C{nonce}.
        """
        address = IPv4Address("TCP", host, 40000)
        factory = self.clock.tcpServers[-1][1] if inbound else self.factories[False]
        protocol = factory.buildProtocol(address)
        assert isinstance(protocol, PeerProtocol)
        transport = StringTransportWithDisconnection(peerAddress=address)
        transport.protocol = protocol
        protocol.makeConnection(transport)
        version = VersionPayload(timestamp=1_500_000_000, port=10333, nonce=nonce,
                                 user_agent="/them/", start_height=0)
        protocol.dataReceived(frame("version", version) + frame("verack"))
        return protocol, transport

    def counts(self) -> dict[str, int]:
        return dict(self.controller.disconnects)

    def test_closed_by_the_peer(self) -> None:
        _, transport = self.connect()
        transport.loseConnection()
        self.assertEqual(self.counts(), {"closed": 1})

    def test_timeouts(self) -> None:
        """
        No handshake in time, and no message in time once established: both
        C{timeout}.
        """
        address = IPv4Address("TCP", "10.0.0.1", 40000)
        silent = self.factories[False].buildProtocol(address)
        transport = StringTransportWithDisconnection(peerAddress=address)
        transport.protocol = silent
        silent.makeConnection(transport)
        self.clock.advance(HANDSHAKE_TIMEOUT)
        self.assertEqual(self.counts(), {"timeout": 1})
        protocol, _ = self.connect("10.0.0.2")
        self.assertTrue(protocol.established)
        self.clock.advance(IDLE_TIMEOUT)
        self.assertEqual(self.counts(), {"timeout": 2})

    def test_fault_label(self) -> None:
        """
        A connection closed for a fault is counted under the fault table's label.
        """
        protocol, _ = self.connect()
        protocol.dataReceived(frame("inv", magic=MAGIC + 1))
        self.assertEqual(self.counts(), {Fault.WRONG_MAGIC.label: 1})

    def test_refused_duplicate(self) -> None:
        """
        A second connection to the same node (IP and nonce) is refused after its version.
        """
        first, _ = self.connect(nonce=5)
        self.assertTrue(first.established)
        second, _ = self.connect(nonce=5)
        self.assertFalse(second.established)
        self.assertEqual(self.counts(), {"refused": 1})

    def test_eviction_ban_and_shutdown(self) -> None:
        """
        A connection evicted for a newcomer, one whose IP the operator bans, and those
        left when the node stops: each under its own word.
        """
        inbound = [self.connect(f"10.{n}.0.1", inbound=True, nonce=10 + n)[0]
                   for n in range(2)]
        self.assertTrue(all(p.established for p in inbound))
        self.connect("10.9.0.1", inbound=True, nonce=30)
        self.assertEqual(self.counts(), {"eviction": 1})
        self.connect("10.20.0.1", nonce=40)
        self.service.ban("10.20.0.1")
        self.assertEqual(self.counts(), {"eviction": 1, "ban": 1})
        self.service.stopService()
        self.assertEqual(self.counts(), {"eviction": 1, "ban": 1, "shutdown": 2})

    def test_lost_twice_counted_once(self) -> None:
        protocol, transport = self.connect()
        transport.loseConnection()
        self.controller.peer_lost(protocol, "again", None)
        self.assertEqual(self.counts(), {"closed": 1})

    def test_established_session_not_needed(self) -> None:
        """
        A connection lost before its version is counted as well.
        """
        address = IPv4Address("TCP", "10.0.0.1", 40000)
        protocol = self.factories[False].buildProtocol(address)
        transport = StringTransportWithDisconnection(peerAddress=address)
        transport.protocol = protocol
        protocol.makeConnection(transport)
        protocol.dataReceived(HANDSHAKE[:10])
        transport.loseConnection()
        self.assertEqual(self.counts(), {"closed": 1})


class LabelTests(SynchronousTestCase):
    def test_reasons(self) -> None:
        """
        The reasons written by the syncs and the send queue (closed in their own
        tests), and what nobody listed, each to one label.
        """
        cases = {
            "no headers within 60 s": "timeout",
            "stalled block sync at 1201 for 120 s": "timeout",
            "not reading: 4194304 bytes would wait to be sent": "slow-reader",
            "too many connections with 10.0.0.1": "refused",
            "10.0.0.1 is banned": "refused",
            "connected to ourselves": "refused",
            "something new": "other",
        }
        self.assertEqual({reason: disconnect_label(reason, None) for reason in cases}, cases)

    def test_fault_first(self) -> None:
        self.assertEqual(disconnect_label("node stopping", Fault.BAD_FRAME), "bad-frame")

    def test_bounded(self) -> None:
        """
        The labels are the fault table's and eight words, whatever the reason; no
        word is a fault's label.
        """
        words = {label for _, label in (*REASONS, *REASON_ENDS)} | {"other"}
        self.assertEqual(words, {"closed", "timeout", "eviction", "shutdown", "ban",
                                 "refused", "slow-reader", "other"})
        self.assertFalse(words & {fault.label for fault in Fault})
        labels = {disconnect_label(f"{n} {chr(65 + n % 26)} reason", None)
                  for n in range(1000)}
        self.assertEqual(labels, {"other"})
