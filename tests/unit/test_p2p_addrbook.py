"""
Tests for the eclipse resistance of L{neo_twisted.p2p.addresses}: source and address
groups in the L{AddressBook}, and L{is_public_address}.
"""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.p2p import addresses, hosts
from neo_twisted.p2p.addresses import (
    ADDRESS_GROUP_SHARE,
    TRUSTED,
    AddressBook,
    address_group,
    is_public_address,
)
from neo_twisted.p2p.interfaces import Endpoint

ATTACKER = "66.6.6.6"


def spread(count: int, first: str, step: int = 65537) -> list[Endpoint]:
    """
    C{count} distinct endpoints from C{first} on, C{step} addresses apart (the default
    puts each in a /16 of its own).
    """
    base = int(ipaddress.IPv4Address(first))
    return [Endpoint(str(ipaddress.IPv4Address(base + i * step)), 20333) for i in range(count)]


def in_one_group(count: int, prefix: str) -> list[Endpoint]:
    """
    C{count} distinct endpoints in the /16 C{prefix} (C{"10.9"}).
    """
    return [Endpoint(f"{prefix}.{i // 250}.{i % 250 + 1}", 20333) for i in range(count)]


def flood(book: AddressBook, source: str, endpoints: list[Endpoint], now: float = 0) -> int:
    """
    Give C{endpoints} to C{book} in C{addr}-sized batches of 200 from C{source}.
    """
    return sum(book.add(endpoints[i:i + 200], now, source=source)
               for i in range(0, len(endpoints), 200))


def check_counts(case: SynchronousTestCase, book: AddressBook) -> None:
    """
    The book's running counts and indexes agree with its entries counted afresh.
    """
    idle = {e: entry for e, entry in book._entries.items() if entry.idle}
    case.assertEqual(len(book), len(idle))
    case.assertEqual(set(book.snapshot()), set(idle))
    case.assertFalse(set(idle) & book._in_use)
    counts = Counter(entry.source for entry in idle.values())
    case.assertEqual(book._sources._counts, dict(counts))
    case.assertEqual(book._sources.top, max(counts.values(), default=0))
    largest = book._sources.largest()
    case.assertEqual(None if largest is None else counts[largest], book._sources.top or None)
    case.assertEqual(book._groups, dict(Counter(entry.group for entry in idle.values())))
    shelved = {entry.endpoint: source for source, shelf in book._shelves.items()
               for bag in (shelf.failed, shelf.fresh, shelf.proven) for entry in bag}
    case.assertEqual(shelved, {e: entry.source for e, entry in idle.items()})
    for endpoint, entry in idle.items():
        case.assertIs(entry.endpoint, endpoint)
        case.assertIn(entry, book._shelves[entry.source].of(entry)._where)
        waiting = any(addresses._waits(*item) for item in book._waiting if item[2] is entry)
        case.assertEqual((entry.ready, entry in book._ready._where), (not waiting, not waiting))
    hosts = {e: entry.host for e, entry in book._entries.items()}
    case.assertEqual(hosts, {entry.endpoint: h for h, es in book._by_host.items()
                             for entry in es})


class NoWalk(dict[Any, Any]):
    """
    A dict that fails any walk over it: stands for a book's entries in tests showing
    that an operation looks up what it needs instead of scanning.
    """

    def _walk(self, *args: object) -> Any:
        raise AssertionError("the book was walked")

    __iter__ = items = values = keys = _walk


class SourceGroupTests(SynchronousTestCase):
    """
    A full book makes room from the most represented source group.
    """

    def setUp(self) -> None:
        self.book = AddressBook(rng=random.Random(3))
        self.honest = spread(500, "20.0.0.1")
        for index in range(50):
            self.book.add(self.honest[index * 10:index * 10 + 10], 0, source=f"11.{index}.0.1")
        self.addCleanup(check_counts, self, self.book)

    def honest_kept(self) -> int:
        return sum(endpoint in self.book for endpoint in self.honest)

    def test_flood_keeps_honest_half(self) -> None:
        """
        One source flooding 10,000 addresses in many /16s into a book holding 500
        honest entries from 50 other sources takes the free half and no more; 100 new
        honest addresses from other sources still get in afterwards, in its place.
        """
        flood(self.book, ATTACKER, spread(10_000, "150.0.0.1"))
        self.assertEqual(len(self.book), 1000)
        self.assertEqual(self.honest_kept(), 500)
        self.assertEqual(self.book.count_from(ATTACKER), 500)
        fresh = spread(100, "30.0.0.1")
        accepted = sum(self.book.add(fresh[i * 10:i * 10 + 10], 1, source=f"12.{i}.0.1")
                       for i in range(10))
        self.assertGreaterEqual(accepted, 90)
        self.assertEqual(self.honest_kept(), 500)
        self.assertEqual(self.book.count_from(ATTACKER), 500 - accepted)

    def test_interleaved_flood(self) -> None:
        """
        A flood that keeps coming between honest answers still ends with honest entries
        holding at least half of the book.
        """
        attack = spread(10_000, "150.0.0.1")
        fresh = spread(500, "30.0.0.1")
        for round_ in range(50):
            flood(self.book, ATTACKER, attack[round_ * 200:round_ * 200 + 200], round_)
            self.book.add(fresh[round_ * 10:round_ * 10 + 10], round_,
                          source=f"12.{round_}.0.1")
        self.assertLessEqual(self.book.count_from(ATTACKER), 500)
        self.assertEqual(len(self.book), 1000)

    def test_flood_first_then_honest(self) -> None:
        """
        Even a flood into an empty book gives way: every honest newcomer then evicts
        from the flooder's group.
        """
        book = AddressBook(rng=random.Random(4))
        flood(book, ATTACKER, spread(10_000, "150.0.0.1"))
        self.assertEqual(book.count_from(ATTACKER), 1000)
        fresh = spread(300, "30.0.0.1")
        accepted = sum(book.add(fresh[i * 10:i * 10 + 10], 0, source=f"12.{i}.0.1")
                       for i in range(30))
        self.assertEqual((accepted, book.count_from(ATTACKER)), (300, 700))
        check_counts(self, book)

    def test_source_group_is_slash_16(self) -> None:
        """
        Sources in one /16 are one group: a flooder cannot take turns between its
        addresses there. IPv4-mapped sources are the IPv4 ones; IPv6 groups by /32.
        """
        attack = spread(1000, "150.0.0.1")
        for index in range(10):
            flood(self.book, f"66.6.{index}.{index + 1}", attack[index * 100:index * 100 + 100])
        self.book.add(spread(100, "160.0.0.1"), 0, source="::ffff:66.6.200.1")
        self.assertEqual(self.book.count_from("66.6.0.0"), 500)
        self.assertEqual(self.honest_kept(), 500)
        self.assertEqual(self.book.count_from("2001:db8:1::1"), 0)
        self.assertEqual(address_group("2001:db8:1::1"), address_group("2001:db8:ffff::2"))

    def test_trusted_survive(self) -> None:
        """
        Seeds and other trusted entries are never the largest group to a flooder, so
        a flood leaves every one of them.
        """
        seeds = spread(20, "40.0.0.1")
        self.book.add(seeds, 0)
        flood(self.book, ATTACKER, spread(10_000, "150.0.0.1"))
        self.assertTrue(all(seed in self.book for seed in seeds))
        self.assertEqual(self.book.count_from(None), 20)

    def test_trusted_majority_halved(self) -> None:
        """
        A book full of trusted entries (a whole C{peers.dat}) gives a flooder half of
        it at most: once the flooder's group is as large, it is refused.
        """
        book = AddressBook(rng=random.Random(5))
        book.add(spread(1000, "40.0.0.1"), 0)
        flood(book, ATTACKER, spread(10_000, "150.0.0.1"))
        self.assertEqual((book.count_from(None), book.count_from(ATTACKER)), (500, 500))
        check_counts(self, book)

    def test_largest_group_replaces_own_failed(self) -> None:
        """
        A source whose group is the largest only takes the place of its own group's
        failed entries, never of another group's.
        """
        attack = spread(600, "150.0.0.1")
        flood(self.book, ATTACKER, attack[:500])
        failed = [e for e in attack[:500] if e in self.book][:7]
        for endpoint in failed:
            self.book.mark_connected(endpoint)
            self.book.mark_failed(endpoint, 0)
        self.assertEqual(flood(self.book, ATTACKER, attack[500:]), 7)
        self.assertFalse(any(endpoint in self.book for endpoint in failed))
        self.assertEqual(self.honest_kept(), 500)

    def test_evicts_failed_or_untried_first(self) -> None:
        """
        The entries evicted from the largest group are ones that failed or were never
        tried, while there are any: those that worked stay until none other is left.
        """
        book = AddressBook(capacity=20, rng=random.Random(6))
        attack = spread(20, "150.0.0.1")
        book.add(attack, 0, source=ATTACKER)
        worked = attack[:10]
        for endpoint in worked:
            book.mark_connected(endpoint)
            book.mark_disconnected(endpoint, 0)
        book.mark_connected(attack[10])
        book.mark_failed(attack[10], 0)
        self.assertEqual(book.add(spread(5, "30.0.0.1"), 1, source="12.0.0.1"), 5)
        self.assertEqual(book.add(spread(5, "31.0.0.1"), 1, source="12.1.0.1"), 5)
        self.assertEqual([e for e in attack if e in book], worked)
        self.assertEqual(book.add(spread(2, "32.0.0.1"), 1, source="12.2.0.1"), 2)
        self.assertEqual(sum(endpoint in book for endpoint in worked), 8)
        check_counts(self, book)

    def test_returning_connection_fits(self) -> None:
        """
        An endpoint back from use into a full book gets its place back by evicting,
        and the book stays within its capacity.
        """
        book = AddressBook(capacity=3, rng=random.Random(7))
        first, *others = spread(4, "30.0.0.1")
        book.add([first, *others[:2]], 0)
        book.mark_connected(first)
        book.add(others[2:], 0)
        book.mark_disconnected(first, 5)
        self.assertIn(first, book)
        self.assertEqual(len(book), 3)
        check_counts(self, book)


class AddressGroupLimitTests(SynchronousTestCase):
    """
    One /16 holds at most an eighth of the book in entries learnt from peers.
    """

    def test_capped(self) -> None:
        """
        Addresses in one /16 beyond the cap are refused, whoever sends them; others
        from the same source still get in.
        """
        book = AddressBook(rng=random.Random(1))
        cap = 1000 // ADDRESS_GROUP_SHARE
        self.assertEqual(book.max_per_address_group, cap)
        crowd = in_one_group(300, "10.9")
        self.assertEqual(flood(book, "11.0.0.1", crowd[:200]), cap)
        self.assertEqual(book.add(crowd[200:], 0, source="12.0.0.1"), 0)
        self.assertEqual(book.add(spread(5, "30.0.0.1"), 0, source="11.0.0.1"), 5)
        check_counts(self, book)

    def test_trusted_exempt(self) -> None:
        """
        Trusted sources are not capped (a localnet is one /16), but count towards the
        cap of addresses learnt from peers.
        """
        book = AddressBook(rng=random.Random(1))
        self.assertEqual(book.add(in_one_group(200, "127.0"), 0), 200)
        self.assertEqual(book.add([Endpoint("127.0.9.9", 1)], 0, source="11.0.0.1"), 0)

    def test_freed_when_forgotten(self) -> None:
        """
        A banned host's endpoints forgotten make room in their group again.
        """
        book = AddressBook(capacity=16, rng=random.Random(1))
        self.assertEqual(book.max_per_address_group, 2)
        crowd = in_one_group(3, "10.9")
        self.assertEqual(book.add(crowd, 0, source="11.0.0.1"), 2)
        book.forget_host(crowd[0].host)
        self.assertEqual(book.add(crowd, 0, source="11.0.0.1"), 1)
        self.assertEqual(AddressBook(capacity=3).max_per_address_group, 1)


class CostTests(SynchronousTestCase):
    """
    No operation of a running node walks the whole book (the timing is in
    bench/bench_addresses.py).
    """

    def test_add_and_take_do_not_walk(self) -> None:
        """
        C{add} of 200 from a flooder or an honest source, C{take}, a failure, a ban and
        a release all work on a full book whose entries cannot be walked.
        """
        book = AddressBook(rng=random.Random(2))
        for index in range(50):
            book.add(spread(10, f"20.{index}.0.1", 1), 0, source=f"11.{index}.0.1")
        flood(book, ATTACKER, spread(2000, "150.0.0.1"))
        entries = book._entries
        book._entries = NoWalk(entries)
        self.assertEqual(book.add(spread(200, "151.0.0.1"), 1, source=ATTACKER), 0)
        self.assertEqual(book.add(spread(200, "30.0.0.1"), 1, source="12.0.0.1"), 200)
        taken = book.take(10, 1)
        self.assertEqual(len(taken), 10)
        book.mark_connected(taken[0])
        book.mark_failed(taken[0], 1)
        book.forget_host(taken[1].host)
        book.mark_connected(taken[2])
        book.mark_disconnected(taken[2], 2)
        book._entries = dict(dict.items(book._entries))
        self.assertEqual(len(book), 999)
        check_counts(self, book)

    def test_take_skips_backing_off(self) -> None:
        """
        Endpoints backing off are not drawn, however many, and come back when due.
        """
        book = AddressBook(rng=random.Random(2))
        known = spread(1000, "20.0.0.1")
        book.add(known, 0)
        for endpoint in known[:990]:
            book.mark_failed(endpoint, 0)
        self.assertEqual(sorted(book.take(50, 1)), sorted(known[990:]))
        self.assertEqual(len(book.take(50, book.retry_base)), 50)
        check_counts(self, book)

    def test_waiting_heap_bounded(self) -> None:
        """
        Endpoints that fail and come back over and over leave no pile of stale
        entries behind in the waiting heap.
        """
        book = AddressBook(rng=random.Random(2))
        known = spread(5, "20.0.0.1")
        book.add(known, 0)
        for now in range(2000):
            book.mark_connected(known[now % 5])
            book.mark_disconnected(known[now % 5], now)
        self.assertLessEqual(len(book._waiting), 2 * len(book) + 65)
        check_counts(self, book)

    def test_random_operations(self) -> None:
        """
        After thousands of random operations of every kind, the running counts still
        agree with the entries.
        """
        rng = random.Random(9)
        book = AddressBook(capacity=60, forget_after=3, rng=random.Random(9))
        pool = [*spread(120, "20.0.0.1", 37), *in_one_group(30, "10.9")]
        sources = [None, "11.0.0.1", "11.0.9.9", "12.0.0.1", "2001:db8::1"]
        for step in range(3000):
            endpoint = rng.choice(pool)
            action = rng.randrange(8)
            if action < 3:
                book.add(rng.sample(pool, 8), step, source=rng.choice(sources))
            elif action == 3:
                book.mark_connected(endpoint)
            elif action == 4:
                book.mark_failed(endpoint, step)
            elif action == 5:
                book.mark_disconnected(endpoint, step)
            elif action == 6:
                book.take(rng.randrange(6), step)
            elif rng.random() < 0.1:
                book.forget_host(endpoint.host)
            self.assertLessEqual(len(book), 60)
            if step % 100 == 0:
                check_counts(self, book)
        check_counts(self, book)


class PublicAddressTests(SynchronousTestCase):
    """
    L{is_public_address} is True for globally routable unicast addresses only.
    """

    def test_public(self) -> None:
        """
        Ordinary IPv4 and IPv6 internet addresses, and their mapped, 6to4 and NAT64
        forms, are public.
        """
        for host in ("8.8.8.8", "1.1.1.1", "203.0.114.1", "100.128.0.1", "2606:4700::1",
                     "2a00:1450:4001::5", "::ffff:8.8.8.8", "2002:808:808::1",
                     "64:ff9b::808:808", "223.255.255.254"):
            self.assertTrue(is_public_address(host), host)

    def test_not_public(self) -> None:
        """
        Private, loopback, link-local, CGNAT, reserved, multicast, unspecified,
        documentation and benchmarking addresses are not, in any form; nor are names.
        """
        for host in ("10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                     "127.0.0.1", "127.255.0.1", "169.254.1.1", "100.64.0.1",
                     "100.127.255.255", "0.0.0.0", "0.1.2.3", "255.255.255.255",
                     "240.0.0.1", "224.0.0.1", "239.255.255.255", "192.0.2.1",
                     "198.51.100.7", "203.0.113.9", "198.18.0.1", "198.19.255.255",
                     "192.0.0.9", "192.88.99.1",
                     "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1",
                     "ff02::1", "ff0e::1", "2001:db8::1", "2001:2::1", "2001::1",
                     "100::1", "::102:304", "64:ff9b:1::1",
                     "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:100.64.0.1",
                     "::ffff:192.0.2.1", "2002:a00:1::1", "2002:7f00:1::1",
                     "64:ff9b::a00:1", "64:ff9b::c000:201",
                     "seed1.neo.org", "", "1.2.3", "8.8.8.8:10333"):
            self.assertFalse(is_public_address(host), host)

    def test_stdlib_lists_not_trusted(self) -> None:
        """
        A range this Python's C{ipaddress} calls global but is not (CGNAT-like lists
        changed between patch releases) is still refused by the explicit list.
        """
        self.patch(hosts, "_NOT_PUBLIC", ())
        self.assertTrue(is_public_address("192.88.99.1"))
        self.patch(hosts, "_NOT_PUBLIC", (ipaddress.ip_network("8.8.0.0/16"),))
        self.assertFalse(is_public_address("8.8.8.8"))


class AddressGroupTests(SynchronousTestCase):
    """
    L{address_group} names the /16 or /32 an address is counted in.
    """

    def test_groups(self) -> None:
        """
        IPv4 by /16 (mapped ones too), IPv6 by /32, names alone.
        """
        self.assertEqual(address_group("10.1.2.3"), "10.1.0.0/16")
        self.assertEqual(address_group("::ffff:10.1.250.9"), "10.1.0.0/16")
        self.assertEqual(address_group("2001:db8:aa::1"), "2001:db8::/32")
        self.assertEqual(address_group("2a00:1450::1"), "2a00:1450::/32")
        self.assertEqual(address_group("seed1.neo.org"), "seed1.neo.org")
        self.assertNotEqual(address_group("10.1.2.3"), address_group("10.2.2.3"))
        self.assertNotEqual(TRUSTED, address_group("10.1.2.3"))

    def test_reading_agrees(self) -> None:
        """
        The book's fast reading of IPv4 text gives what C{ipaddress} gives: the same
        normalised endpoint and group, or none for what cannot be dialled.
        """
        for host in ("93.184.216.34", "1.2.3.4", "0.0.0.0", "0.0.0.1", "224.0.0.1",
                     "239.255.255.255", "240.0.0.1", "255.255.255.255", "01.2.3.4",
                     "1.2.3", "1.2.3.4 ", "1.2.3.4\0", "\udcff", "::ffff:1.2.3.4",
                     "2001:db8::1", "::", "ff02::1", "seed.example", ""):
            for port in (0, 1, 20333, 65535, 65536):
                endpoint = Endpoint(host, port)
                address = hosts.parse_ip(host)
                expected = (None if not hosts.is_dialable(address, port) or address is None
                            else (Endpoint(str(address), port), address_group(host)))
                self.assertEqual(hosts.dial_candidate(endpoint), expected, (host, port))
        self.assertEqual(AddressBook().add([Endpoint("1.2.3.4\0", 1),
                                            Endpoint("\udcff", 1)], 0, source="11.0.0.1"), 0)
