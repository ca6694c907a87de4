"""
L{AddressExchange}: what a peer's C{addr} may teach us (issue 21, eclipse resistance).
"""

from __future__ import annotations

import ipaddress
import random

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.network.payloads import AddrPayload, NetworkAddressWithTime
from neo_twisted.p2p.addresses import AddressBook
from neo_twisted.p2p.exchange import AddressExchange
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.p2p.ratelimit import ADDR_BURST, ADDR_RATE
from tests.support.p2p_fakes import FakePeer


def addr(hosts: list[str], port: int = 20333) -> AddrPayload:
    return AddrPayload(tuple(NetworkAddressWithTime(0, 1, ipaddress.ip_address(h), port)
                             for h in hosts))


def public(start: int, count: int) -> list[str]:
    """
    C{count} public addresses, each in its own /16.
    """
    return [str(ipaddress.IPv4Address((11 << 24) + ((start + n) << 16) + 1))
            for n in range(count)]


class ExchangeTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.book = AddressBook(capacity=5000, rng=random.Random(1))
        self.busy: set[Endpoint] = set()
        self.exchange = AddressExchange(self.book, busy=lambda: self.busy,
                                        established=lambda: [], rng=random.Random(2))
        self.peer = FakePeer("198.51.100.7")

    def test_private_and_reserved_dropped(self) -> None:
        hosts = ["10.0.0.1", "127.0.0.1", "192.168.1.1", "169.254.1.1", "100.64.0.1",
                 "0.0.0.0", "224.0.0.1", "8.8.8.8"]
        self.assertEqual(self.exchange.received(self.peer, addr(hosts), 0), 1)
        self.assertIn(Endpoint("8.8.8.8", 20333), self.book)
        self.assertEqual(self.exchange.dropped["private"], 7)

    def test_private_taken_on_a_local_network(self) -> None:
        self.exchange.allow_private = True
        self.assertEqual(self.exchange.received(self.peer, addr(["10.0.0.1", "127.0.0.1"]), 0),
                         2)

    def test_rate_limited_per_peer(self) -> None:
        """
        A burst of 1,000, then about 1,000 per 10 minutes; another peer has its own.
        """
        taken = sum(self.exchange.received(self.peer, addr(public(200 * i, 200)), 0)
                    for i in range(6))
        self.assertEqual(taken, ADDR_BURST)
        self.assertEqual(self.exchange.dropped["rate"], 200)
        later = self.exchange.received(self.peer, addr(public(2000, 200)), 60.0)
        self.assertEqual(later, int(60 * ADDR_RATE))
        other = FakePeer("198.51.100.8", nonce=2)
        self.assertEqual(self.exchange.received(other, addr(public(3000, 200)), 60.0), 200)

    def test_forgotten_peer_starts_afresh(self) -> None:
        for i in range(5):
            self.exchange.received(self.peer, addr(public(200 * i, 200)), 0)
        self.exchange.forget(self.peer)
        self.assertEqual(self.exchange.received(self.peer, addr(public(1000, 200)), 0), 200)

    def test_filed_under_the_sender(self) -> None:
        self.exchange.received(self.peer, addr(public(0, 10)), 0)
        self.assertEqual(self.book.count_from("198.51.100.7"), 10)
        self.assertEqual(self.book.count_from("198.51.9.9"), 10)  # the same /16
        self.assertEqual(self.book.count_from(None), 0)

    def test_busy_endpoints_not_learnt(self) -> None:
        self.busy = {Endpoint("8.8.8.8", 20333)}
        self.assertEqual(self.exchange.received(self.peer, addr(["8.8.8.8", "8.8.4.4"]), 0), 1)


class PublicIPv4Tests(SynchronousTestCase):
    def test_integer_ranges_agree_with_ipaddress(self) -> None:
        """
        The IPv4 fast path (integer ranges) says what C{ipaddress}'s properties and the
        explicit list say, at every range's edges and at random.
        """
        from neo_twisted.p2p import hosts

        def slow(address: ipaddress.IPv4Address) -> bool:
            if not address.is_global or address.is_multicast or address.is_private \
                    or address.is_reserved or address.is_loopback or address.is_link_local \
                    or address.is_unspecified:
                return False
            return not any(address in network for network in hosts._NOT_PUBLIC
                           if network.version == 4)

        rng = random.Random(4)
        samples = [rng.getrandbits(32) for _ in range(20_000)]
        for network in (*hosts._NOT_PUBLIC, *hosts._IPV4_NOT_GLOBAL):
            if network.version == 4:
                first, last = int(network.network_address), int(network.broadcast_address)
                samples += [first - 1, first, last, last + 1]
        for number in samples:
            if 0 <= number < 1 << 32:
                address = ipaddress.IPv4Address(number)
                self.assertEqual(hosts.is_public_ip(address), slow(address), str(address))
