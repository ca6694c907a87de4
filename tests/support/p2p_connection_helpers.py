"""
Shared pieces of the tests of L{neo_twisted.p2p.connections.ConnectionService}: fake
peers and their factory, a memory reactor whose name resolution the test answers,
and a test case with a service on it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from neo_twisted.core.serializable import Serializable
from neo_twisted.network.payloads import VersionPayload
from neo_twisted.p2p.addresses import encode_peers
from neo_twisted.p2p.connections import ConnectionService
from neo_twisted.p2p.controller import PeerController
from neo_twisted.p2p.faults import Fault, Response
from neo_twisted.p2p.interfaces import Endpoint, IPeer
from neo_twisted.reactors import INodeReactor
from tests.support.logs import captured_events


def version(nonce: int = 1, port: int = 20333, timestamp: int = 1_500_000_000,
            services: int = 1) -> VersionPayload:
    return VersionPayload(services=services, timestamp=timestamp, port=port, nonce=nonce,
                          user_agent="/test/", start_height=0)


@implementer(IPeer)
class FakePeer(Protocol):
    """
    A connection as the service sees it: records what it is sent and the faults
    reported, and reports its connection, its loss (with the fault that closed it)
    and ignored faults to C{node} (the controller) as the real protocol does.
    """

    def __init__(self, host: str, port: int = 40000, *, inbound: bool = False) -> None:
        self.inbound = inbound
        self.remote = Endpoint(host, port)
        self.version: VersionPayload | None = None
        self.listener: Endpoint | None = None
        self.last_block_index = 0
        self.established = False
        self.sent: list[tuple[str, Serializable | None]] = []
        #: Why it was dropped, and for which fault (None: for none).
        self.dropped: tuple[str, Fault | None] | None = None
        #: Every fault reported while open, ignored ones too.
        self.faults: list[tuple[Fault, str]] = []
        self.node: PeerController | None = None
        self.lost: Deferred[None] = Deferred()
        self.messages_in: dict[str, int] = {}
        self.bytes_in: dict[str, int] = {}
        self.messages_out: dict[str, int] = {}
        self.bytes_out: dict[str, int] = {}

    def send(self, command: str, payload: Serializable | None = None) -> None:
        self.sent.append((command, payload))

    def hold(self) -> None:
        pass  # the connection service never holds a peer

    def release(self) -> None:
        pass

    def disconnect(self, reason: str) -> None:
        self._close(reason, None)

    def fault(self, fault: Fault, detail: str) -> None:
        if self.dropped is not None:
            return
        self.faults.append((fault, detail))
        if fault.response is not Response.IGNORE:
            self._close(detail, fault)
        elif self.node is not None:
            self.node.fault_ignored(self, fault, detail)

    def _close(self, reason: str, fault: Fault | None) -> None:
        """
        Close once: aborted for a fault, as the real protocol does.
        """
        if self.dropped is None:
            self.dropped = (reason, fault)
            self.established = False
            transport = self.transport
            if transport is not None:
                close = transport.loseConnection
                if fault is not None:
                    close = getattr(transport, "abortConnection", close)
                close()

    def connectionMade(self) -> None:
        if self.node is not None:
            self.node.peer_connected(self)

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.node is not None:
            reason_text, fault = self.dropped or ("closed", None)
            self.node.peer_lost(self, reason_text, fault)
        self.lost.callback(None)

    def handshake(self, service: ConnectionService, nonce: int = 1, port: int = 20333,
                  **fields: Any) -> str | None:
        """
        Receive a version with C{nonce} and listening C{port} (through the service's
        controller, as the real protocol reports it); established if accepted.
        """
        self.version = version(nonce, port, **fields)
        self.listener = Endpoint(self.remote.host, port) if port else None
        controller = service.controller
        reason = controller.check_version(self, self.version)
        if reason is None:
            self.established = True
            controller.peer_established(self)
        return reason

    def commands(self) -> list[str]:
        return [command for command, _ in self.sent]


class PeerMaker(Factory):
    """
    Builds L{FakePeer}s and remembers them.
    """

    def __init__(self, *, inbound: bool = False) -> None:
        self.inbound = inbound
        self.node: PeerController | None = None
        self.built: list[FakePeer] = []
        self.connected: Deferred[FakePeer] = Deferred()

    def buildProtocol(self, addr: IAddress | None) -> FakePeer:
        assert isinstance(addr, IPv4Address)
        peer = FakePeer(addr.host, addr.port, inbound=self.inbound)
        peer.node = self.node
        peer.factory = self
        self.built.append(peer)
        return peer


class FakeReactor(MemoryReactorClock):
    """
    A memory reactor whose C{resolve} waits for the test to answer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.resolutions: list[tuple[str, Deferred[str]]] = []

    def resolve(self, name: str, timeout: Any = 10) -> Deferred[str]:
        d: Deferred[str] = Deferred()
        self.resolutions.append((name, d))
        return d


class ServiceCase(SynchronousTestCase):
    """
    A service on a memory reactor; C{self.dials} are its C{connectTCP} calls.
    """

    def setUp(self) -> None:
        self.reactor = FakeReactor()
        self.out = PeerMaker()
        self.inbound = PeerMaker(inbound=True)
        self.events = captured_events(self)

    def make(self, *, start: bool = True, known: Sequence[Endpoint] = (),
             **options: Any) -> ConnectionService:
        options.setdefault("rng", random.Random(5))
        controller = PeerController(self.reactor)
        service = ConnectionService(controller, self.out, options.pop("factory_in", None),
                                    reactor=cast(INodeReactor, self.reactor), **options)
        self.out.node = self.inbound.node = controller
        service.book.add(known, 0)
        if start:
            service.startService()
        self.addCleanup(self.stop, service)
        return service

    def stop(self, service: ConnectionService) -> None:
        if service.running:
            self.successResultOf(service.stopService())
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def dials(self) -> list[Endpoint]:
        return [Endpoint(host, port) for host, port, *_ in self.reactor.tcpClients]

    def connect(self, index: int) -> FakePeer:
        """
        Complete dial C{index}: the outbound factory's connection is up.
        """
        host, port, factory, _, _ = self.reactor.tcpClients[index]
        protocol = factory.buildProtocol(IPv4Address("TCP", host, port))
        assert protocol is not None
        protocol.makeConnection(StringTransport())
        return self.out.built[-1]

    def refuse(self, index: int) -> None:
        """
        Fail dial C{index} as refused.
        """
        factory = self.reactor.tcpClients[index][2]
        factory.clientConnectionFailed(self.reactor.connectors[index],
                                       Failure(ConnectionRefusedError()))

    def established(self, service: ConnectionService, host: str, nonce: int = 1, *,
                    inbound: bool = True, port: int = 20333, **fields: Any) -> FakePeer:
        peer = FakePeer(host, inbound=inbound)
        peer.node = service.controller
        self.assertIsNone(peer.handshake(service, nonce, port, **fields))
        return peer

    def accept(self, host: str, port: int = 50000) -> FakePeer | None:
        """
        A connection from C{host} reaches the listening port: the peer built for it,
        or None when the service refused it at accept time.
        """
        accepting = self.reactor.tcpServers[-1][1]
        peer = accepting.buildProtocol(IPv4Address("TCP", host, port))
        assert peer is None or isinstance(peer, FakePeer)
        return peer

    def accepted(self, host: str, port: int = 50000) -> FakePeer:
        """
        Like L{accept}, for a connection that must be let in.
        """
        peer = self.accept(host, port)
        assert peer is not None, f"{host} refused"
        return peer

    def peers_file(self, endpoints: list[Endpoint]) -> Path:
        path = Path(self.mktemp())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode_peers(endpoints))
        return path


def many(count: int, base: str = "10.1") -> list[Endpoint]:
    return [Endpoint(f"{base}.{i // 250}.{i % 250 + 1}", 20333) for i in range(count)]
