"""
Tests for the dialling of L{neo_twisted.p2p.connections.ConnectionService} on a
L{MemoryReactorClock}: keeping C{min_peers} outbound connections, back-off, limits,
seeds, C{getaddr} when short of candidates, and bans.
"""

from __future__ import annotations

from twisted.python.failure import Failure

from neo_twisted.p2p.connections import BAN_DURATION, GETADDR_INTERVAL, SEED_FALLBACK_AFTER
from neo_twisted.p2p.interfaces import Endpoint
from tests.support.p2p_connection_helpers import ServiceCase, many


class DiallingTests(ServiceCase):
    """
    The maintenance tick keeps C{min_peers} outbound connections.
    """

    def test_min_peers(self) -> None:
        """
        No more than C{min_peers} are dialled or connected; a lost one is replaced
        at the next tick.
        """
        service = self.make(min_peers=4, known=many(30))
        self.assertEqual(len(self.dials()), 4)
        self.assertEqual(len(set(self.dials())), 4)
        peers = [self.connect(i) for i in range(4)]
        for n, peer in enumerate(peers):
            peer.handshake(service, nonce=n)
        self.reactor.advance(5)
        self.assertEqual(len(self.dials()), 4)
        self.assertEqual(service.outbound_count, 4)
        service.controller.peer_lost(peers[0], "closed", None)
        self.reactor.advance(5)
        self.assertEqual(len(self.dials()), 5)
        self.assertNotIn(self.dials()[4], self.dials()[:4])

    def test_in_flight_cap(self) -> None:
        """
        At most C{max_dialling} dials are in flight.
        """
        service = self.make(min_peers=10, max_dialling=3, known=many(30))
        self.assertEqual(len(self.dials()), 3)
        self.reactor.advance(5)
        self.assertEqual(service.dialling_count, 3)
        self.assertEqual(len(self.dials()), 3)
        self.refuse(0)
        self.reactor.advance(5)
        self.assertEqual(len(self.dials()), 4)

    def test_failure_backs_off(self) -> None:
        """
        A refused endpoint is dialled again only after its back-off, which doubles.
        """
        service = self.make(min_peers=1, known=many(1))
        base = service.book.retry_base
        self.refuse(0)
        self.reactor.advance(base - 1)
        self.assertEqual(len(self.dials()), 1)
        self.reactor.advance(5)
        self.assertEqual(self.dials(), many(1) * 2)
        self.refuse(1)
        self.reactor.advance(2 * base - 1)
        self.assertEqual(len(self.dials()), 2)
        self.reactor.advance(5)
        self.assertEqual(len(self.dials()), 3)

    def test_handshake_failure_backs_off(self) -> None:
        """
        A dialled peer lost before its handshake completed counts as a failure; one
        lost after it is redialled after the short delay.
        """
        service = self.make(min_peers=1, known=many(1))
        peer = self.connect(0)
        service.controller.peer_lost(peer, "timeout", None)
        self.assertEqual(service.book.retry_at(many(1)[0]), service.book.retry_base)
        self.reactor.advance(service.book.retry_base)
        peer = self.connect(1)
        peer.handshake(service)
        service.controller.peer_lost(peer, "closed", None)
        self.assertEqual(service.book.retry_at(many(1)[0]),
                         self.reactor.seconds() + service.book.retry_base)

    def test_per_address_limit_when_dialling(self) -> None:
        """
        Endpoints of an IP that already has C{max_per_address} connections are not dialled.
        """
        same_ip = [Endpoint("10.4.0.1", port) for port in range(1000, 1005)]
        self.make(min_peers=5, max_per_address=2, known=same_ip)
        self.assertEqual(len(self.dials()), 2)

    def test_own_endpoint_never_dialled(self) -> None:
        """
        Our listening endpoint, learnt after start, is not dialled.
        """
        service = self.make(factory_in=self.inbound, listen_port=20333, min_peers=3)
        service.book.add([Endpoint("127.0.0.1", 20333), Endpoint("127.0.0.1", 1)], 0)
        self.reactor.advance(5)
        self.assertEqual(self.dials(), [Endpoint("127.0.0.1", 1)])

    def test_seeds_when_alone(self) -> None:
        """
        With no peers and no candidates the seeds are dialled: names once resolved.
        """
        self.make(seeds=["seed1.example:10333", "10.5.5.5:10333"])
        self.assertEqual(self.dials(), [Endpoint("10.5.5.5", 10333)])
        [(name, resolution)] = self.reactor.resolutions
        self.assertEqual(name, "seed1.example")
        resolution.callback("10.6.6.6")
        self.assertEqual(self.dials()[1:], [Endpoint("10.6.6.6", 10333)])

    def test_at_most_five_seeds(self) -> None:
        """
        Five random seeds are dialled, and not again while dials are in flight.
        """
        seeds = [f"10.5.0.{i}:10333" for i in range(1, 9)]
        self.make(seeds=seeds)
        self.assertEqual(len(set(self.dials())), 5)
        self.reactor.advance(5)
        self.assertEqual(len(self.dials()), 5)

    def test_unresolvable_seed(self) -> None:
        """
        A seed that does not resolve is a warning; the next tick tries again.
        """
        self.make(seeds=["nowhere.example:1"])
        self.reactor.resolutions[0][1].errback(Failure(OSError("no such name")))
        self.assertTrue([e for e in self.events if "cannot resolve" in e["log_format"]])
        self.reactor.advance(5)
        self.assertEqual(len(self.reactor.resolutions), 2)

    def test_getaddr_when_short(self) -> None:
        """
        With peers connected but no candidates, every established peer is asked for
        addresses, at most every C{GETADDR_INTERVAL} seconds; seeds are not dialled.
        """
        service = self.make(seeds=["10.5.5.5:1"], ask_addresses=False, start=False)
        peers = [self.established(service, f"10.7.0.{i}", i) for i in (1, 2)]
        service.startService()
        self.assertEqual([p.commands() for p in peers], [["getaddr"], ["getaddr"]])
        self.reactor.advance(5)
        self.assertEqual([p.commands() for p in peers], [["getaddr"], ["getaddr"]])
        self.reactor.advance(GETADDR_INTERVAL)
        self.assertEqual(peers[0].commands(), ["getaddr", "getaddr"])
        self.assertEqual(self.dials(), [])

    def test_seeds_after_long_shortage(self) -> None:
        """
        A shortage lasting C{SEED_FALLBACK_AFTER} seconds with peers connected dials
        two seeds.
        """
        service = self.make(seeds=[f"10.5.0.{i}:1" for i in range(1, 6)], start=False)
        self.established(service, "10.7.0.1")
        service.startService()
        self.reactor.advance(SEED_FALLBACK_AFTER - 5)
        self.assertEqual(self.dials(), [])
        self.reactor.advance(5)
        self.assertEqual(len(self.dials()), 2)

    def test_banned_not_dialled(self) -> None:
        """
        A banned IP is not dialled, even when advertised, until the ban ends.
        """
        service = self.make(min_peers=1, start=False)
        service.ban("10.1.0.1")
        service.book.add(many(1), 0)
        service.startService()
        self.assertEqual(self.dials(), [])
        self.reactor.advance(BAN_DURATION)
        service.book.add(many(1), self.reactor.seconds())
        self.reactor.advance(5)
        self.assertEqual(self.dials(), many(1))
