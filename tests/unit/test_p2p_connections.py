"""
Tests for L{neo_twisted.p2p.connections.ConnectionService}: starting and stopping,
the hooks the node's policy calls, with fake peers on a L{MemoryReactorClock}, and
one real TCP connection on 127.0.0.1. Dialling is in L{tests.unit.test_p2p_dialling};
inbound limits, eviction and what faults cost are in L{tests.unit.test_p2p_admission}.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, gatherResults
from twisted.logger import LogLevel
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from neo_twisted.network.payloads import AddrPayload, EmptyPayload, NetworkAddressWithTime
from neo_twisted.p2p.addresses import AddressBook, load_peers
from neo_twisted.p2p.connections import LISTEN_BACKLOG, ConnectionService
from neo_twisted.p2p.controller import PeerController
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import Endpoint, IPeer
from neo_twisted.reactors import global_reactor
from tests.support.p2p_connection_helpers import FakePeer, PeerMaker, ServiceCase, many, version


class LifecycleTests(ServiceCase):
    """
    Starting loads C{peers.dat} and listens; stopping saves, drops peers and cleans up.
    """

    def test_peers_file_dialled_before_seeds(self) -> None:
        """
        The endpoints of C{peers.dat} are dialled on start; the seeds are not needed.
        """
        saved = many(3)
        self.make(peers_path=self.peers_file(saved), seeds=["10.9.9.9:10333", "s.example:1"])
        self.assertEqual(sorted(self.dials()), saved)
        self.assertEqual(self.reactor.resolutions, [])
        self.assertEqual({timeout for _, _, _, timeout, _ in self.reactor.tcpClients}, {10.0})

    def test_listens(self) -> None:
        """
        With an inbound factory and a port, the service listens on the interface
        and reports the port; our own endpoint is never dialled.
        """
        service = self.make(factory_in=self.inbound, listen_port=0,
                            listen_interface="127.0.0.1")
        [(port, _, backlog, interface)] = self.reactor.tcpServers
        self.assertEqual(backlog, LISTEN_BACKLOG)
        self.assertEqual((port, interface), (0, "127.0.0.1"))
        self.assertEqual(service.listening_port, 0)
        self.assertTrue(service.book.is_own(Endpoint("127.0.0.1", 0)))

    def test_no_listening(self) -> None:
        """
        Without an inbound factory (or port) nothing listens.
        """
        service = self.make(listen_port=20333)
        self.assertEqual(self.reactor.tcpServers, [])
        self.assertIsNone(service.listening_port)

    def test_stop_saves_and_disconnects(self) -> None:
        """
        Stopping saves connected peers' listener endpoints and the book, drops every
        peer, cancels dials and leaves no timer behind.
        """
        path = self.peers_file([])
        service = self.make(peers_path=path, min_peers=2, known=many(3))
        first = self.connect(0)
        first.handshake(service, nonce=7, port=10333)
        inbound = self.established(service, "10.7.0.1")
        self.successResultOf(service.stopService())
        self.assertEqual(first.dropped, ("node stopping", None))
        self.assertEqual(inbound.dropped, ("node stopping", None))
        self.assertEqual(service.dialling_count, 0)
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        saved = load_peers(path)
        connected = {Endpoint(first.remote.host, 10333), self.dials()[0],
                     Endpoint("10.7.0.1", 20333)}
        self.assertEqual(set(saved[:3]), connected)
        self.assertEqual(set(saved), connected | set(many(3)))
        self.assertEqual(len(saved), 5)

    def test_periodic_save(self) -> None:
        """
        C{peers.dat} is rewritten every C{save_interval} seconds.
        """
        path = self.peers_file([])
        service = self.make(peers_path=path, save_interval=300, min_peers=1)
        service.book.add(many(2, "10.3"), 0)
        self.reactor.advance(299)
        self.assertEqual(load_peers(path), [])
        self.reactor.advance(1)
        self.assertEqual(set(load_peers(path)), set(many(2, "10.3")))

    def test_save_failure_logged(self) -> None:
        """
        A C{peers.dat} that cannot be written is a warning, not a crash.
        """
        path = Path(self.mktemp()) / "missing-dir" / "peers.dat"
        service = self.make(peers_path=path)
        service.save_now()
        warnings = [e for e in self.events if e["log_level"] == LogLevel.warn
                    and "cannot save" in e["log_format"]]
        self.assertEqual(len(warnings), 1)


class HookTests(ServiceCase):
    """
    What the node's policy calls: version checks, establishment, loss, addresses.
    """

    def test_duplicate(self) -> None:
        """
        A second connection from the same IP with the same nonce is refused; another
        nonce, or the same nonce from elsewhere, is not.
        """
        service = self.make(start=False)
        self.established(service, "10.7.0.1", 5)
        self.assertIn("already connected", FakePeer("10.7.0.1").handshake(service, 5))
        self.assertIsNone(FakePeer("10.7.0.1").handshake(service, 6))
        self.assertIsNone(FakePeer("10.7.0.2").handshake(service, 5))

    def test_max_peers(self) -> None:
        """
        Beyond C{max_peers} connections a version is refused.
        """
        service = self.make(start=False, min_peers=1, max_peers=3)
        for i in range(3):
            self.established(service, f"10.7.0.{i}", i)
        self.assertIn("too many connections", FakePeer("10.7.1.1").handshake(service, 9))
        self.assertEqual(service.peer_count, 3)

    def test_max_per_address(self) -> None:
        """
        Beyond C{max_per_address} connections with one IP a version is refused.
        """
        service = self.make(start=False, max_per_address=2)
        self.established(service, "10.7.0.1", 1)
        self.established(service, "::ffff:10.7.0.1", 2)
        self.assertIn("10.7.0.1", FakePeer("10.7.0.1").handshake(service, 3) or "")
        self.assertEqual((service.inbound_count, service.outbound_count), (2, 0))

    def test_inbound_refused_at_accept(self) -> None:
        """
        The listening factory refuses connections over the per-address limit or from
        banned IPs before building a protocol; a slot freed by a loss is taken again.
        """
        service = self.make(factory_in=self.inbound, listen_port=0, max_peers=5,
                            max_per_address=2, min_peers=1)
        self.assertIsInstance(self.accept("10.8.0.1"), FakePeer)
        self.assertIsInstance(self.accept("10.8.0.1"), FakePeer)
        self.assertIsNone(self.accept("10.8.0.1"))
        service.ban("10.8.0.2")
        self.assertIsNone(self.accept("10.8.0.2"))
        self.assertIsInstance(self.accept("10.8.0.3"), FakePeer)
        self.assertEqual(service.inbound_count, 3)
        self.assertEqual(len(self.inbound.built), 3)
        service.controller.peer_lost(self.inbound.built[0], "closed", None)
        self.assertIsInstance(self.accept("10.8.0.1"), FakePeer)
        self.assertEqual(service.inbound_count, 3)

    def test_established_asks_addresses(self) -> None:
        """
        An established peer is asked for addresses and listed; its listener is no
        longer a candidate.
        """
        service = self.make(start=False, known=[Endpoint("10.7.0.1", 20333)])
        peer = self.established(service, "10.7.0.1")
        self.assertEqual(peer.commands(), ["getaddr"])
        self.assertEqual(service.established_peers(), [peer])
        self.assertEqual(len(service.book), 0)

    def test_lost_listener_back_in_book(self) -> None:
        """
        The listener endpoint of a lost inbound peer goes back into the book.
        """
        service = self.make(start=False)
        peer = self.established(service, "10.7.0.1", port=10333)
        service.controller.peer_lost(peer, "closed", None)
        self.assertEqual(service.book.snapshot(), [Endpoint("10.7.0.1", 10333)])
        self.assertEqual(service.peer_count, 0)

    def test_connects_and_disconnects_logged(self) -> None:
        """
        The operator sees each peer come and go, why it went, and what a fault cost
        its IP (a disconnection alone costs nothing more).
        """
        from twisted.logger import formatEvent
        service = self.make(start=False)
        first = self.established(service, "10.7.0.1", port=10333)
        second = self.established(service, "10.7.0.2", port=10333)
        third = self.established(service, "10.7.0.3", port=10333)
        service.controller.peer_lost(first, "idle for 90 s", None)
        service.controller.peer_lost(second, "bad frame: wrong magic", Fault.WRONG_MAGIC)
        service.controller.peer_lost(third, "forged header", Fault.BAD_HEADER_WITNESS)
        lines = [formatEvent(e) for e in self.events if e["log_level"] >= LogLevel.info]
        self.assertEqual(lines[-5:], [
            "peer 10.7.0.3:40000 established (3 connections)",
            "peer 10.7.0.1:40000 disconnected: idle for 90 s (2 connections)",
            "peer 10.7.0.2:40000 disconnected: bad frame: wrong magic (1 connections)",
            "discouraged 10.7.0.3 for 21600 s: bad-header-witness",
            "peer 10.7.0.3:40000 disconnected: forged header (0 connections)",
        ])
        self.assertEqual(service.discipline.faults,
                         {"wrong-magic": 1, "bad-header-witness": 1})
        self.assertEqual(service.discipline.responses, {"disconnect": 1, "discourage": 1})

    def test_ignored_fault_counted(self) -> None:
        """
        A fault whose response is to ignore it is counted and costs nothing: the
        connection stays, the IP is neither discouraged nor banned.
        """
        service = self.make(start=False)
        peer = self.established(service, "10.7.0.1")
        peer.fault(Fault.UNKNOWN_COMMAND, "alert is not handled")
        self.assertIsNone(peer.dropped)
        self.assertEqual(service.established_peers(), [peer])
        self.assertEqual(service.discipline.faults, {"unknown-command": 1})
        self.assertEqual(service.discipline.responses, {"ignore": 1})
        self.assertEqual(service.discipline.shunned(self.reactor.seconds()), set())

    def test_addresses_received(self) -> None:
        """
        Received addresses enter the book, minus own and connected ones; those of a
        banned IP are kept but not dialled while the ban lasts.
        """
        service = self.make(start=False, factory_in=self.inbound, listen_port=20333,
                            allow_private_addresses=True)
        service.startService()
        peer = self.established(service, "10.7.0.1")
        service.ban("10.7.0.9")
        addresses = [("10.7.0.1", 20333), ("::ffff:10.7.0.2", 1), ("10.7.0.9", 2),
                     ("127.0.0.1", 20333), ("2001:db8::1", 3), ("10.7.0.3", 0)]
        payload = AddrPayload(tuple(NetworkAddressWithTime(0, 1, ipaddress.ip_address(h), p)
                                    for h, p in addresses))
        service.message_received(peer, "addr", payload)
        learnt = [Endpoint("10.7.0.2", 1), Endpoint("2001:db8::1", 3)]
        self.assertEqual(sorted(service.book.snapshot()),
                         sorted([*learnt, Endpoint("10.7.0.9", 2)]))
        self.reactor.advance(5)
        self.assertEqual(sorted(self.dials()), learnt)

    def test_book_bounded(self) -> None:
        """
        Addresses beyond the book's capacity are dropped.
        """
        service = self.make(start=False, allow_private_addresses=True,
                            book=AddressBook(capacity=250, max_per_address_group=250))
        peer = self.established(service, "10.7.0.1")
        for chunk in range(2):
            payload = AddrPayload(tuple(
                NetworkAddressWithTime(0, 1, ipaddress.ip_address(e.host), e.port)
                for e in many(200, f"10.{20 + chunk}")))
            service.message_received(peer, "addr", payload)
        self.assertEqual(len(service.book), 250)


class GetaddrTests(ServiceCase):
    """
    C{getaddr} is answered with established peers' listener endpoints.
    """

    def addr(self, peer: FakePeer) -> list[NetworkAddressWithTime]:
        payloads = [p for c, p in peer.sent if c == "addr"]
        self.assertEqual(len(payloads), 1)
        assert isinstance(payloads[0], AddrPayload)
        peer.sent.clear()
        return list(payloads[0].addresses)

    def test_entries(self) -> None:
        """
        Each entry is a peer's listener endpoint with its version's timestamp and
        services; the asker is not listed.
        """
        service = self.make(start=False)
        self.established(service, "10.7.0.1", 1, port=10333, timestamp=123, services=5)
        asker = self.established(service, "10.7.0.2", 2)
        service.message_received(asker, "getaddr", EmptyPayload())
        self.assertEqual(self.addr(asker), [NetworkAddressWithTime(
            123, 5, ipaddress.ip_address("10.7.0.1"), 10333)])

    def test_never_empty(self) -> None:
        """
        With no other established peer (or none listening) nothing is sent.
        """
        service = self.make(start=False)
        asker = self.established(service, "10.7.0.2", 2)
        self.established(service, "10.7.0.3", 3, port=0)
        handshaking = FakePeer("10.7.0.4")
        handshaking.version = version(4)
        handshaking.listener = Endpoint("10.7.0.4", 20333)
        self.assertIsNone(service.controller.check_version(handshaking, handshaking.version))
        service.message_received(asker, "getaddr", EmptyPayload())
        self.assertEqual(asker.commands(), ["getaddr"])

    def test_at_most_200_one_per_ip(self) -> None:
        """
        At most 200 entries, one per IP, chosen at random.
        """
        service = self.make(start=False, max_peers=1000, min_peers=1)
        for n, endpoint in enumerate(many(300, "10.30")):
            self.established(service, endpoint.host, n)
            self.established(service, endpoint.host, n + 1000, port=1)
        asker = self.established(service, "10.7.0.1", 5000)
        service.message_received(asker, "getaddr", EmptyPayload())
        first = self.addr(asker)
        self.assertEqual(len(first), 200)
        self.assertEqual(len({e.address for e in first}), 200)
        service.message_received(asker, "getaddr", EmptyPayload())
        second = self.addr(asker)
        self.assertNotEqual({e.address for e in first}, {e.address for e in second})


class RealTCPTests(TestCase):
    """
    Two services on the real reactor connect over 127.0.0.1.
    """

    def test_dial_and_accept(self) -> Deferred[Any]:
        """
        A service dials another one listening on a free port; both count the
        connection, and stopping both closes it.
        """
        reactor = global_reactor()

        server_peers = PeerMaker(inbound=True)
        server = ConnectionService(PeerController(reactor), PeerMaker(), server_peers,
                                   listen_port=0, listen_interface="127.0.0.1", min_peers=1,
                                   reactor=reactor)
        server_peers.node = server.controller
        server.startService()
        port = server.listening_port
        assert port is not None
        self.assertNotEqual(port, 0)
        client_peers = PeerMaker()
        client = ConnectionService(PeerController(reactor), client_peers, None, min_peers=1,
                                   reactor=reactor, book=AddressBook())
        client_peers.node = client.controller
        client.book.add([Endpoint("127.0.0.1", port)], 0)
        self.assertTrue(verifyObject(IPeer, FakePeer("1.2.3.4")))

        def connected(_: object) -> Deferred[Any]:
            [outbound] = client_peers.built
            [inbound] = server_peers.built
            self.assertEqual(client.outbound_count, 1)
            self.assertEqual(server.inbound_count, 1)
            stopped = gatherResults([client.stopService(), server.stopService(),
                                     outbound.lost, inbound.lost])
            return stopped.addCallback(lambda _: self.assertEqual(
                (client.peer_count, server.peer_count), (0, 0)))

        client.startService()
        return self._both_connected(client_peers, server_peers).addCallback(connected)

    def _both_connected(self, *factories: PeerMaker) -> Deferred[Any]:
        from twisted.internet import reactor
        from twisted.internet.task import deferLater

        def poll() -> Deferred[Any] | None:
            if all(f.built and f.built[0].transport is not None for f in factories):
                return None
            return deferLater(reactor, 0.01, poll)

        return deferLater(reactor, 0, poll)
