"""
Shared pieces of the tests of L{neo_twisted.p2p.protocol.PeerProtocol}: a recording
listener, frame helpers, and a test case with one connection on a L{StringTransport}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict, Unpack

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from neo_twisted.core.serializable import Serializable
from neo_twisted.network.frame import FrameDecoder, encode_frame
from neo_twisted.network.payloads import (
    InventoryType,
    InvPayload,
    Payload,
    VersionPayload,
    decode_payload,
)
from neo_twisted.p2p.factory import PeerFactory
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import IPeer, IPeerListener
from neo_twisted.p2p.protocol import PeerProtocol
from neo_twisted.wire.uint import UInt256
from tests.support.samples import MAINNET_MAGIC

MAGIC = MAINNET_MAGIC
THEIR_VERSION = VersionPayload(timestamp=1_500_000_000, port=10333, nonce=2,
                               user_agent="/them/", start_height=1000)
INV = InvPayload(InventoryType.Block, (UInt256(b"\x01" * 32),))
PEER_ADDRESS = IPv4Address("TCP", "1.2.3.4", 50123)

Call = tuple[object, ...]


class FactoryOptions(TypedDict, total=False):
    """
    The timers and send backlog of a L{PeerFactory} a test sets (the others keep their
    defaults).
    """

    handshake_timeout: float
    idle_timeout: float
    ping_interval: float
    max_send_backlog: int


@implementer(IPeerListener)
class RecordingListener:
    """
    A node that records every call and answers with settable values.
    """

    def __init__(self, nonce: int = 1, port: int = 20333, height: int = 77) -> None:
        self.calls: list[Call] = []
        #: The connections reported connected and not yet lost (not recorded as calls).
        self.live: set[IPeer] = set()
        self.nonce = nonce
        self.port = port
        self.height = height
        self.refusal: str | None = None
        self.on_established: list[tuple[str, Serializable | None]] = []
        self.disconnect_on: str | None = None
        #: What C{accepts_block_frame} answers (None: every block is decoded).
        self.block_verdict: Callable[[IPeer, int, UInt256], bool] | None = None

    def peer_connected(self, peer: IPeer) -> None:
        self.live.add(peer)

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

    def accepts_block_frame(self, peer: IPeer, index: int, hash: UInt256) -> bool:
        self.calls.append(("accepts_block_frame", peer, index, hash))
        if self.block_verdict is None:
            return True
        return self.block_verdict(peer, index, hash)

    def message_received(self, peer: IPeer, command: str, payload: Payload) -> None:
        self.calls.append(("message_received", peer, command, payload))
        if command == self.disconnect_on:
            peer.disconnect(f"unwanted {command}")

    def fault_ignored(self, peer: IPeer, fault: Fault, detail: str) -> None:
        self.calls.append(("fault_ignored", peer, fault, detail))

    def peer_lost(self, peer: IPeer, reason: str, fault: Fault | None) -> None:
        self.live.discard(peer)
        self.calls.append(("peer_lost", peer, reason, fault))

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
                **options: Unpack[FactoryOptions]) -> None:
        self.factory = PeerFactory(self.listener, magic, self.clock, inbound=inbound,
                                   **options)
        self.transport = StringTransportWithDisconnection(peerAddress=PEER_ADDRESS)
        protocol = self.factory.buildProtocol(PEER_ADDRESS)
        self.transport.protocol = protocol
        self.protocol = protocol
        protocol.makeConnection(self.transport)
        self.addCleanup(self.close, self.transport, self.factory, protocol)

    def close(self, transport: StringTransportWithDisconnection, factory: PeerFactory,
              protocol: PeerProtocol) -> None:
        """
        End a connection the test left open; its loss reaches the listener either way.
        """
        if transport.connected:
            transport.loseConnection()
        self.assertNotIn(protocol, self.listener.live)

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

    def assert_dropped(self, reason: str, *, fault: Fault | None) -> None:
        """
        The connection was closed (aborted for a fault) and the listener told once.
        """
        self.assertFalse(self.transport.connected)
        self.assertEqual(self.transport.disconnected, fault is not None)
        self.assertFalse(self.protocol.established)
        self.assertEqual(self.listener.named("peer_lost"),
                         [("peer_lost", self.protocol, reason, fault)])
