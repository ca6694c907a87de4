"""
Tests for L{neo_twisted.mempool.witness_cache}: the bounded set of witnesses known to verify.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.ledger.verify import WitnessJob
from neo_twisted.mempool.witness_cache import WitnessCache, witness_digest


def job(message: bytes, invocation: bytes = b"\x40" + bytes(64),
        verification: bytes = b"\x21" + bytes(33) + b"\xac") -> WitnessJob:
    return WitnessJob(message, invocation, verification, bytes(20))


class WitnessDigestTests(SynchronousTestCase):
    def test_parts_are_delimited(self) -> None:
        """
        Moving bytes from one part to the next gives another digest.
        """
        self.assertNotEqual(witness_digest(WitnessJob(b"ab", b"c", b"d", bytes(20))),
                            witness_digest(WitnessJob(b"a", b"bc", b"d", bytes(20))))
        self.assertNotEqual(witness_digest(WitnessJob(b"a", b"b", b"cd", bytes(20))),
                            witness_digest(WitnessJob(b"a", b"bc", b"d", bytes(20))))

    def test_budget_and_hash_not_in_key(self) -> None:
        """
        The key is the three parts that decide the signatures; the rest is checked anew.
        """
        self.assertEqual(witness_digest(WitnessJob(b"m", b"i", b"v", bytes(20), 1)),
                         witness_digest(WitnessJob(b"m", b"i", b"v", b"\x01" * 20, 2)))


class WitnessCacheTests(SynchronousTestCase):
    def test_remembers_what_was_added(self) -> None:
        cache = WitnessCache(4)
        self.assertFalse(cache.known_good(job(b"a")))
        cache.add(job(b"a"))
        self.assertTrue(cache.known_good(job(b"a")))
        self.assertFalse(cache.known_good(job(b"a", invocation=b"\x40" + b"\x01" * 64)))
        self.assertEqual((cache.hits, cache.misses, len(cache)), (1, 2, 1))

    def test_bounded_least_recently_used_first(self) -> None:
        cache = WitnessCache(3)
        for name in (b"a", b"b", b"c"):
            cache.add(job(name))
        self.assertTrue(cache.known_good(job(b"a")))  # now the most recent
        cache.add(job(b"d"))
        self.assertEqual(len(cache), 3)
        self.assertEqual([cache.known_good(job(n)) for n in (b"a", b"b", b"c", b"d")],
                         [True, False, True, True])

    def test_capacity_must_be_positive(self) -> None:
        self.assertRaises(ValueError, WitnessCache, 0)

    def test_remember_only(self) -> None:
        """
        A first verification's view: it finds nothing (new witnesses, no digest spent
        on a lookup), and what it adds the cache keeps for the next verification.
        """
        cache = WitnessCache()
        cache.add(job(b"old"))
        first = cache.remember_only()
        self.assertFalse(first.known_good(job(b"old")))
        first.add(job(b"new"))
        self.assertTrue(cache.known_good(job(b"new")))
        self.assertEqual((len(first), cache.misses), (2, 0))
