"""
Tests for L{neo_twisted.p2p.controller.PeerController} alone: the registry of live
peers from connect to loss, the order its subscribers hear in, version checks
(ours and the admission's), and the version it composes; with fake peers, a fake
admission and a fake node on a L{Clock}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from neo_twisted.network.payloads import EmptyPayload, Payload, VersionPayload
from neo_twisted.p2p.controller import LossObserver, PeerController, PeerRecord, Sessions
from neo_twisted.p2p.factory import PeerFactory
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import (
    IAdmission,
    ILocalNode,
    IPeer,
    IPeerListener,
    IPeerObserver,
)
from neo_twisted.wire.uint import UInt256
from tests.support.p2p_fakes import FakePeer
from tests.support.p2p_protocol_helpers import HANDSHAKE, MAGIC, THEIR_VERSION, frame

OURS = 7


@implementer(IPeerObserver)
class Observer:
    """
    Records, in one list shared with other observers, what it is told.
    """

    def __init__(self, name: str, log: list[tuple[Any, ...]]) -> None:
        self.name = name
        self.log = log
        self.records: list[PeerRecord] = []

    def peer_established(self, peer: IPeer) -> None:
        self.log.append((self.name, "established", peer))

    def message_received(self, peer: IPeer, command: str, payload: Payload) -> None:
        self.log.append((self.name, command, peer))

    def peer_lost(self, peer: IPeer, record: PeerRecord, reason: str,
                  fault: Fault | None) -> None:
        self.records.append(record)
        self.log.append((self.name, "lost", peer, reason, fault))


@implementer(IAdmission)
class Admission:
    def __init__(self) -> None:
        self.listening_port: int | None = 20333
        self.refusal: str | None = None
        self.checked: list[IPeer] = []
        self.own: list[IPeer] = []
        self.ignored: list[Fault] = []

    def check_version(self, peer: IPeer, version: VersionPayload) -> str | None:
        self.checked.append(peer)
        return self.refusal

    def connected_to_self(self, peer: IPeer) -> None:
        self.own.append(peer)

    def fault_ignored(self, peer: IPeer, fault: Fault) -> None:
        self.ignored.append(fault)


@implementer(ILocalNode)
class LocalNode:
    nonce = OURS
    user_agent = "/us/"

    def __init__(self) -> None:
        self.frames: list[int] = []

    def current_height(self) -> int:
        return 42

    def accepts_block_frame(self, peer: IPeer, index: int, hash: UInt256) -> bool:
        self.frames.append(index)
        return index < 100


def version(nonce: int) -> VersionPayload:
    return VersionPayload(timestamp=1, port=20333, nonce=nonce, user_agent="/them/",
                          start_height=5)


class ControllerCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1000)
        self.controller = PeerController(self.clock)
        self.admission = Admission()
        self.node = LocalNode()
        self.controller.use_admission(self.admission)
        self.controller.use_node(self.node)
        self.log: list[tuple[Any, ...]] = []
        self.first, self.second = Observer("first", self.log), Observer("second", self.log)
        self.controller.subscribe(self.first)
        self.controller.subscribe(self.second)

    def handshake(self, peer: FakePeer, nonce: int = 1) -> str | None:
        self.controller.peer_connected(peer)
        reason = self.controller.check_version(peer, version(nonce))
        if reason is None:
            self.controller.peer_established(peer)
        return reason


class InterfaceTests(ControllerCase):
    def test_provides(self) -> None:
        self.assertTrue(verifyObject(IPeerListener, self.controller))
        self.assertTrue(verifyObject(IPeerObserver, LossObserver(lambda peer: None)))

    def test_wired_once(self) -> None:
        """
        An admission and a node are each given once: a second is a wiring mistake.
        """
        with self.assertRaises(ValueError):
            self.controller.use_admission(Admission())
        with self.assertRaises(ValueError):
            self.controller.use_node(LocalNode())


class RegistryTests(ControllerCase):
    def test_from_connect_to_loss(self) -> None:
        """
        A peer is recorded when its transport is up, established when its handshake
        completes, and gone (its record handed to the subscribers) when lost.
        """
        peer = FakePeer("10.0.0.1", inbound=True)
        self.controller.peer_connected(peer)
        record = self.controller.records[peer]
        self.assertEqual((record.inbound, record.host, record.since, record.established),
                         (True, "10.0.0.1", 1000.0, False))
        self.assertEqual(self.controller.established_peers(), [])
        self.assertIsNone(self.controller.check_version(peer, version(3)))
        self.assertEqual(record.nonce, 3)
        self.controller.peer_established(peer)
        self.assertTrue(record.established)
        self.assertEqual(self.controller.established_peers(), [peer])
        self.controller.peer_lost(peer, "bye", None)
        self.assertEqual(self.controller.records, {})
        self.assertEqual(self.first.records, [record])
        self.assertIs(self.second.records[0], record)

    def test_admitted_before_connecting(self) -> None:
        """
        An accepted connection is recorded before its transport is up; connecting
        keeps that record.
        """
        peer = FakePeer("10.0.0.1", inbound=True)
        record = self.controller.admit(peer, inbound=True, host="10.0.0.1")
        self.clock.advance(5)
        self.controller.peer_connected(peer)
        self.assertIs(self.controller.records[peer], record)
        self.assertEqual(record.since, 1000.0)

    def test_loss_of_a_stranger(self) -> None:
        """
        A peer never recorded is still reported lost (its fault judged), with a
        record made for the occasion.
        """
        stranger = FakePeer("10.0.0.9")
        self.controller.peer_lost(stranger, "refused", Fault.HANDSHAKE_ORDER)
        [record] = self.first.records
        self.assertEqual((record.host, record.established), ("10.0.0.9", False))
        self.assertEqual(self.log, [("first", "lost", stranger, "refused",
                                     Fault.HANDSHAKE_ORDER),
                                    ("second", "lost", stranger, "refused",
                                     Fault.HANDSHAKE_ORDER)])

    def test_sessions_are_a_view(self) -> None:
        """
        L{Sessions} shows the records' sessions, never a copy of them.
        """
        sessions: Sessions[str] = Sessions(self.controller.records)
        a, b = FakePeer("10.0.0.1"), FakePeer("10.0.0.2", nonce=2)
        self.handshake(a)
        self.handshake(b, 2)
        self.assertEqual(dict(sessions), {})
        self.controller.records[a].session = "a's"
        self.assertEqual(dict(sessions), {a: "a's"})
        self.assertIn(a, sessions)
        self.assertNotIn(b, sessions)
        with self.assertRaises(KeyError):
            sessions[b]
        self.controller.peer_lost(a, "bye", None)
        self.assertEqual((len(sessions), a in sessions), (0, False))

    def test_useful(self) -> None:
        peer = FakePeer("10.0.0.1")
        self.handshake(peer)
        self.clock.advance(7)
        self.controller.note_useful(peer)
        self.assertEqual(self.controller.records[peer].useful_at, 1007.0)
        self.controller.note_useful(FakePeer("10.0.0.2"))  # not live: nothing


class PublishingTests(ControllerCase):
    def test_subscribers_in_order(self) -> None:
        """
        Each event reaches every subscriber, in the order they subscribed.
        """
        peer = FakePeer("10.0.0.1")
        self.handshake(peer)
        self.controller.message_received(peer, "getaddr", EmptyPayload())
        self.controller.peer_lost(peer, "bye", None)
        self.assertEqual(self.log, [
            ("first", "established", peer), ("second", "established", peer),
            ("first", "getaddr", peer), ("second", "getaddr", peer),
            ("first", "lost", peer, "bye", None), ("second", "lost", peer, "bye", None)])

    def test_messages_only_of_established_peers(self) -> None:
        handshaking, stranger = FakePeer("10.0.0.1"), FakePeer("10.0.0.2")
        self.controller.peer_connected(handshaking)
        for peer in (handshaking, stranger):
            self.controller.message_received(peer, "inv", EmptyPayload())
        self.assertEqual(self.log, [])

    def test_refused_version_never_reaches_subscribers(self) -> None:
        """
        A version the admission refuses is not established nor counted as that node;
        the subscribers hear only of its loss.
        """
        peer = FakePeer("10.0.0.1")
        self.admission.refusal = "too many"
        self.assertEqual(self.handshake(peer, 3), "too many")
        self.assertIsNone(self.controller.records[peer].nonce)
        self.controller.message_received(peer, "inv", EmptyPayload())
        self.assertEqual(self.log, [])
        self.controller.peer_lost(peer, "too many", None)
        self.assertEqual(self.log, [("first", "lost", peer, "too many", None),
                                    ("second", "lost", peer, "too many", None)])
        self.assertFalse(self.first.records[0].established)

    def test_connected_to_ourselves(self) -> None:
        """
        Our own nonce is refused before the admission is asked; an endpoint we dialled
        that answers with it is reported as ours.
        """
        outbound, inbound = FakePeer("10.0.0.1"), FakePeer("10.0.0.2", inbound=True)
        self.assertEqual(self.handshake(outbound, OURS), "connected to ourselves")
        self.assertEqual(self.handshake(inbound, OURS), "connected to ourselves")
        self.assertEqual((self.admission.checked, self.admission.own), ([], [outbound]))
        self.assertEqual(self.log, [])

    def test_loss_observer(self) -> None:
        """
        A part that only forgets peers hears of established peers' losses alone.
        """
        forgotten: list[IPeer] = []
        self.controller.subscribe(LossObserver(forgotten.append))
        established, handshaking = FakePeer("10.0.0.1"), FakePeer("10.0.0.2", nonce=2)
        self.handshake(established)
        self.controller.peer_connected(handshaking)
        self.controller.message_received(established, "inv", EmptyPayload())
        self.controller.peer_lost(handshaking, "timeout", None)
        self.controller.peer_lost(established, "bye", None)
        self.assertEqual(forgotten, [established])


class DelegationTests(ControllerCase):
    def test_local_version(self) -> None:
        """
        Our version: the node's nonce, agent and height, the admission's port.
        """
        self.clock.advance(0.5)
        ours = self.controller.local_version(FakePeer())
        self.assertEqual((ours.timestamp, ours.port, ours.nonce, ours.user_agent,
                          ours.start_height), (1000, 20333, OURS, "/us/", 42))
        self.admission.listening_port = None
        self.assertEqual(self.controller.local_version(FakePeer()).port, 0)

    def test_heights_frames_and_ignored_faults(self) -> None:
        peer = FakePeer()
        self.assertEqual(self.controller.current_height(), 42)
        self.assertTrue(self.controller.accepts_block_frame(peer, 5, UInt256(b"\x01" * 32)))
        self.assertFalse(self.controller.accepts_block_frame(peer, 500, UInt256(b"\x01" * 32)))
        self.assertEqual(self.node.frames, [5, 500])
        self.controller.fault_ignored(peer, Fault.UNKNOWN_COMMAND, "x1")
        self.assertEqual(self.admission.ignored, [Fault.UNKNOWN_COMMAND])

    def test_unwired(self) -> None:
        """
        Without an admission or a node, every version but ours is taken and every
        block frame decoded: the protocol's tests need neither.
        """
        bare = PeerController(self.clock)
        peer = FakePeer()
        self.assertIsNone(bare.check_version(peer, version(OURS)))
        self.assertTrue(bare.accepts_block_frame(peer, 1, UInt256(b"\x01" * 32)))
        self.assertEqual((bare.current_height(), bare.local_version(peer).port), (0, 0))


class WithProtocolsTests(ControllerCase):
    """
    The controller as the real factories' listener.
    """

    def connect(self, factory: PeerFactory) -> tuple[Any, StringTransportWithDisconnection]:
        address = IPv4Address("TCP", "1.2.3.4", 50123)
        transport = StringTransportWithDisconnection(peerAddress=address)
        protocol = factory.buildProtocol(address)
        transport.protocol = protocol
        protocol.makeConnection(transport)
        return protocol, transport

    def test_both_factories_one_registry(self) -> None:
        """
        Connections of both directions land in the one registry, are established
        through it, and leave it with their traffic kept in its totals.
        """
        dialling = PeerFactory(self.controller, MAGIC, self.clock, inbound=False)
        accepting = PeerFactory(self.controller, MAGIC, self.clock, inbound=True)
        out, out_transport = self.connect(dialling)
        into, into_transport = self.connect(accepting)
        self.assertEqual(set(self.controller.records), {out, into})
        self.assertEqual((self.controller.records[out].inbound,
                          self.controller.records[into].inbound), (False, True))
        out.dataReceived(HANDSHAKE)
        self.assertEqual(self.controller.established_peers(), [out])
        self.assertEqual(self.controller.records[out].nonce, THEIR_VERSION.nonce)
        out.dataReceived(frame("getaddr"))
        self.assertEqual(self.log[-1], ("second", "getaddr", out))
        out_transport.loseConnection()
        into_transport.loseConnection()
        self.assertEqual(self.controller.records, {})
        self.assertEqual(self.controller.traffic().messages_out["version"], 2)
        self.assertEqual(self.controller.traffic().messages_in["getaddr"], 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])
