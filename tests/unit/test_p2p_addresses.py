"""
Tests for L{neo_twisted.p2p.peersfile} (the C{peers.dat} format and file) and for the
L{AddressBook} of L{neo_twisted.p2p.addresses} as the connection service uses it
(trusted sources); its eclipse resistance is tested in L{tests.unit.test_p2p_addrbook}.
"""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

from twisted.logger import LogLevel
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.p2p import addresses, peersfile
from neo_twisted.p2p.addresses import FORGET_AFTER, AddressBook, normalise_host
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.p2p.peersfile import (
    PEERS_FILE_MAX,
    decode_peers,
    encode_peers,
    load_peers,
    save_peers,
)
from tests.support.logs import captured_events

A = Endpoint("10.0.0.1", 20333)
B = Endpoint("10.0.0.2", 20333)
C = Endpoint("10.0.0.3", 10333)


def endpoints(count: int, port: int = 20333) -> list[Endpoint]:
    """
    C{count} distinct IPv4 endpoints in 10.1.0.0/16.
    """
    return [Endpoint(f"10.1.{i // 250}.{i % 250 + 1}", port) for i in range(count)]


class PeersFormatTests(SynchronousTestCase):
    """
    L{encode_peers} and L{decode_peers} follow the neo-cli 2.8 C{peers.dat} layout.
    """

    def test_reexported(self) -> None:
        """
        L{neo_twisted.p2p.addresses} still offers the C{peers.dat} names it held before
        they moved to L{neo_twisted.p2p.peersfile}.
        """
        for name in ("PEERS_FILE_MAX", "decode_peers", "encode_peers", "load_peers",
                     "save_peers"):
            self.assertIs(getattr(addresses, name), getattr(peersfile, name))
            self.assertIn(name, addresses.__all__)

    def test_exact_bytes(self) -> None:
        """
        One entry is the int32 LE count, the IPv4 address in network order and the
        port as uint16 LE (20333 = 0x4f6d).
        """
        data = encode_peers([Endpoint("127.0.0.1", 20333)])
        self.assertEqual(data, bytes.fromhex("01000000" "7f000001" "6d4f"))
        self.assertEqual(decode_peers(data), [Endpoint("127.0.0.1", 20333)])

    def test_empty(self) -> None:
        """
        No endpoints is a zero count and nothing else.
        """
        self.assertEqual(encode_peers([]), b"\0\0\0\0")
        self.assertEqual(decode_peers(b"\0\0\0\0"), [])

    def test_round_trip(self) -> None:
        """
        Decoding what was encoded gives the endpoints back, in order, without duplicates.
        """
        known = [*endpoints(50), Endpoint("192.168.7.9", 1), Endpoint("1.2.3.4", 65535)]
        self.assertEqual(decode_peers(encode_peers(known + known[:5])), known)

    def test_skips_ipv6_and_names(self) -> None:
        """
        The format holds IPv4 only: IPv6 endpoints and host names are left out.
        """
        data = encode_peers([Endpoint("::1", 20333), A, Endpoint("seed1.neo.org", 10333), B])
        self.assertEqual(decode_peers(data), [A, B])

    def test_at_most_thousand(self) -> None:
        """
        Only the first 1000 endpoints are written.
        """
        known = endpoints(1200)
        decoded = decode_peers(encode_peers(known))
        self.assertEqual(decoded, known[:PEERS_FILE_MAX])

    def test_truncated(self) -> None:
        """
        Data shorter than the count, or than the entries it announces, is refused.
        """
        data = encode_peers([A, B])
        for cut in (b"", data[:3], data[:-1], data[:10]):
            with self.assertRaises(ValueError) as raised:
                decode_peers(cut)
            self.assertTrue("truncated" in str(raised.exception)
                            or "corrupt" in str(raised.exception), str(raised.exception))

    def test_trailing_bytes(self) -> None:
        """
        Bytes after the last entry mean the count is wrong.
        """
        with self.assertRaisesRegex(ValueError, "corrupt"):
            decode_peers(encode_peers([A]) + b"\0")

    def test_negative_count(self) -> None:
        """
        A negative int32 count is corrupt.
        """
        with self.assertRaisesRegex(ValueError, "negative"):
            decode_peers(struct.pack("<i", -1))

    def test_too_many(self) -> None:
        """
        A count over 1000 is refused even when the entries are all there.
        """
        data = struct.pack("<i", 1001) + b"\x0a\0\0\x01\x6d\x4f" * 1001
        with self.assertRaisesRegex(ValueError, "1001 entries"):
            decode_peers(data)


class PeersFileTests(SynchronousTestCase):
    """
    L{load_peers} never fails the node; L{save_peers} replaces the file atomically.
    """

    def setUp(self) -> None:
        self.directory = Path(self.mktemp())
        self.directory.mkdir()
        self.path = self.directory / "peers.dat"
        self.events = captured_events(self)

    def assert_warned(self, text: str) -> None:
        warnings = [e for e in self.events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertIn(str(self.path), warnings[0]["log_format"].format(**warnings[0]))
        self.assertIn(text, warnings[0]["log_format"].format(**warnings[0]))

    def test_save_then_load(self) -> None:
        """
        What is saved loads back; the count written is returned.
        """
        self.assertEqual(save_peers(self.path, [A, B, Endpoint("::1", 1)]), 2)
        self.assertEqual(self.path.read_bytes(), encode_peers([A, B]))
        self.assertEqual(load_peers(self.path), [A, B])
        self.assertEqual(list(self.events), [])

    def test_missing(self) -> None:
        """
        A missing file is no peers and a warning.
        """
        self.assertEqual(load_peers(self.path), [])
        self.assert_warned("no peers file")

    def test_corrupt(self) -> None:
        """
        A corrupt file is no peers and a warning saying why.
        """
        self.path.write_bytes(struct.pack("<i", -5))
        self.assertEqual(load_peers(self.path), [])
        self.assert_warned("negative count")

    def test_truncated(self) -> None:
        """
        A file cut short (a crash of an old writer) is no peers and a warning.
        """
        self.path.write_bytes(encode_peers([A, B])[:-3])
        self.assertEqual(load_peers(self.path), [])
        self.assert_warned("corrupt")

    def test_unreadable(self) -> None:
        """
        A directory where the file should be is no peers and a warning too.
        """
        self.path.mkdir()
        self.assertEqual(load_peers(self.path), [])
        self.assert_warned("cannot read")

    def test_atomic_replace(self) -> None:
        """
        Saving replaces the old file by renaming a complete temporary file over it,
        and leaves no temporary file behind.
        """
        save_peers(self.path, [A])
        replaced: list[tuple[str, str]] = []
        original = os.replace

        def spy(source: str, target: str | Path) -> None:
            replaced.append((str(source), str(target)))
            self.assertEqual(Path(source).read_bytes(), encode_peers([B, C]))
            self.assertEqual(self.path.read_bytes(), encode_peers([A]))
            original(source, target)

        self.patch(os, "replace", spy)
        save_peers(self.path, [B, C])
        self.assertEqual(len(replaced), 1)
        self.assertEqual(Path(replaced[0][0]).parent, self.directory.absolute())
        self.assertEqual(replaced[0][1], str(self.path))
        self.assertEqual(load_peers(self.path), [B, C])
        self.assertEqual(sorted(p.name for p in self.directory.iterdir()), ["peers.dat"])

    def test_failed_save_keeps_old_file(self) -> None:
        """
        When the rename fails the old file stays, the temporary one is removed and
        the error is raised.
        """
        save_peers(self.path, [A])

        def fail(source: str, target: str) -> None:
            raise OSError("disk full")

        self.patch(os, "replace", fail)
        self.assertRaises(OSError, save_peers, self.path, [B])
        self.assertEqual(load_peers(self.path), [A])
        self.assertEqual(sorted(p.name for p in self.directory.iterdir()), ["peers.dat"])


class AddressBookTests(SynchronousTestCase):
    """
    L{AddressBook} keeps dialable endpoints, bounded, with back-off and bans.
    """

    def setUp(self) -> None:
        self.book = AddressBook(rng=random.Random(7))

    def test_add_and_take(self) -> None:
        """
        Added endpoints are offered by C{take}; known ones are not added twice.
        """
        self.assertEqual(self.book.add([A, B, A], 0), 2)
        self.assertEqual(self.book.add([B], 0), 0)
        self.assertEqual(len(self.book), 2)
        self.assertEqual(sorted(self.book.take(5, 0)), [A, B])

    def test_undialable_skipped(self) -> None:
        """
        Names, unspecified and multicast addresses and port 0 never enter the book.
        """
        added = self.book.add([Endpoint("seed.example", 1), Endpoint("0.0.0.0", 1),
                               Endpoint("224.0.0.1", 1), Endpoint("10.0.0.9", 0),
                               Endpoint("::", 5)], 0)
        self.assertEqual(added, 0)

    def test_mapped_addresses_unmapped(self) -> None:
        """
        An IPv4-mapped IPv6 endpoint is stored as the IPv4 one.
        """
        self.assertEqual(normalise_host("::ffff:10.0.0.1"), "10.0.0.1")
        self.book.add([Endpoint("::ffff:10.0.0.1", 20333)], 0)
        self.assertEqual(self.book.snapshot(), [A])

    def test_take_random_distinct_bounded(self) -> None:
        """
        C{take} returns at most C{count} distinct endpoints, in varying order and choice.
        """
        known = endpoints(100)
        self.book.add(known, 0)
        draws = [self.book.take(10, 0) for _ in range(20)]
        for draw in draws:
            self.assertEqual(len(draw), 10)
            self.assertEqual(len(set(draw)), 10)
            self.assertTrue(set(draw) <= set(known))
        self.assertGreater(len({tuple(d) for d in draws}), 15)
        self.assertEqual(self.book.take(0, 0), [])
        self.assertEqual(len(self.book.take(500, 0)), 100)

    def test_take_excludes(self) -> None:
        """
        Excluded endpoints and hosts are not offered.
        """
        self.book.add([A, B, C], 0)
        self.assertEqual(self.book.take(5, 0, exclude={A}, exclude_hosts={"10.0.0.2"}), [C])

    def test_bounded(self) -> None:
        """
        A full book drops new endpoints while none of its endpoints has failed.
        """
        book = AddressBook(capacity=10, rng=random.Random(1))
        self.assertEqual(book.add(endpoints(15), 0), 10)
        self.assertEqual(len(book), 10)
        self.assertEqual(book.add([A], 0), 0)
        self.assertNotIn(A, book)

    def test_full_evicts_failed(self) -> None:
        """
        A full book makes room for a new endpoint by forgetting a failed one.
        """
        book = AddressBook(capacity=3, rng=random.Random(1))
        book.add([A, B, C], 0)
        book.mark_connected(B)
        book.mark_failed(B, 0)
        new = Endpoint("10.9.9.9", 1)
        self.assertEqual(book.add([new], 0), 1)
        self.assertEqual(sorted(book.snapshot()), sorted([A, C, new]))

    def test_full_book_replaces_failed(self) -> None:
        """
        Trusted endpoints offered to a full book of trusted ones take the place of as
        many failed ones as there are, and no more.
        """
        book = AddressBook(capacity=1000, rng=random.Random(1))
        book.add(endpoints(1000), 0)
        failed = book.snapshot()[:50]
        for endpoint in failed:
            book.mark_connected(endpoint)
            book.mark_failed(endpoint, 0)
        fresh = [Endpoint(f"10.8.{i // 250}.{i % 250 + 1}", 20333) for i in range(200)]
        self.assertEqual(book.add(fresh, 0), 50)
        self.assertEqual(len(book), 1000)
        self.assertFalse(any(endpoint in book for endpoint in failed))

    def test_own(self) -> None:
        """
        Our own endpoints are never stored: exact ones, and loopback or unspecified
        addresses with our listening port.
        """
        book = AddressBook(own=[Endpoint("203.0.113.5", 20333)], own_port=20333)
        added = book.add([Endpoint("203.0.113.5", 20333), Endpoint("127.0.0.1", 20333),
                          Endpoint("::1", 20333), Endpoint("127.0.0.1", 20334),
                          Endpoint("203.0.113.5", 20334)], 0)
        self.assertEqual(added, 2)
        book.add_own(Endpoint("127.0.0.1", 20334))
        self.assertEqual(book.snapshot(), [Endpoint("203.0.113.5", 20334)])

    def test_forget_host(self) -> None:
        """
        A banned IP's endpoints, every port, leave the book (bans themselves are the
        connection service's L{Discipline}'s, see tests.unit.test_p2p_discipline).
        """
        other_port = Endpoint(A.host, 1)
        self.book.add([A, B, other_port], 0)
        self.book.forget_host("::ffff:10.0.0.1")
        self.assertEqual(self.book.snapshot(), [B])

    def test_connected_not_offered(self) -> None:
        """
        An endpoint being dialled or connected is not offered and not counted, and
        comes back after a clean disconnect's short delay.
        """
        self.book.add([A, B], 0)
        self.book.mark_connected(A)
        self.assertEqual(len(self.book), 1)
        self.assertEqual(self.book.take(5, 0), [B])
        self.assertEqual(self.book.add([A], 0), 0)
        self.book.mark_disconnected(A, 10)
        self.assertEqual(self.book.retry_at(A), 10 + self.book.retry_base)
        self.assertEqual(self.book.take(5, 20), [B])
        self.assertEqual(sorted(self.book.take(5, 25)), [A, B])

    def test_back_off(self) -> None:
        """
        Each failure in a row doubles the wait before an endpoint is offered again,
        up to the cap.
        """
        book = AddressBook(retry_base=10, retry_cap=50, forget_after=20)
        book.add([A], 0)
        now = 0.0
        for delay in (10, 20, 40, 50, 50):
            book.mark_connected(A)
            book.mark_failed(A, now)
            self.assertEqual(book.take(1, now + delay - 0.1), [])
            self.assertFalse(book.is_ready(A, now + delay - 0.1))
            now += delay
            self.assertEqual(book.take(1, now), [A])
            self.assertTrue(book.is_ready(A, now))

    def test_success_forgives_failures(self) -> None:
        """
        After a working connection the back-off starts over.
        """
        book = AddressBook(retry_base=10)
        book.add([A], 0)
        for _ in range(3):
            book.mark_failed(A, 0)
        book.mark_connected(A)
        book.mark_disconnected(A, 100)
        book.mark_failed(A, 200)
        self.assertEqual(book.retry_at(A), 210)

    def test_forget_after_failures(self) -> None:
        """
        An endpoint that keeps failing is forgotten.
        """
        self.book.add([A], 0)
        for n in range(FORGET_AFTER - 1):
            self.book.mark_failed(A, n)
        self.assertIn(A, self.book)
        self.book.mark_failed(A, 100)
        self.assertNotIn(A, self.book)
        self.assertIsNone(self.book.retry_at(A))

    def test_failed_unknown_is_learnt(self) -> None:
        """
        A failed endpoint that was not in the book (a seed) enters it, backing off.
        """
        self.book.mark_failed(C, 5)
        self.assertEqual(self.book.retry_at(C), 5 + self.book.retry_base)

    def test_snapshot_fewest_failures_first(self) -> None:
        """
        The snapshot lists idle endpoints, the ones that never failed first.
        """
        self.book.add([A, B, C], 0)
        self.book.mark_failed(A, 0)
        self.book.mark_connected(B)
        self.assertEqual(self.book.snapshot(), [C, A])

    def test_bad_arguments(self) -> None:
        """
        A capacity below 1 or a base back-off above the cap is refused.
        """
        self.assertRaises(ValueError, AddressBook, 0)
        self.assertRaises(ValueError, AddressBook, retry_base=10, retry_cap=5)
