"""
Tests for L{neo_twisted.p2p.ratelimit}: the token bucket, with plain numbers for time.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.p2p.ratelimit import ADDR_BURST, ADDR_RATE, TokenBucket


class TokenBucketTests(SynchronousTestCase):
    """
    L{TokenBucket} lets through a burst at once, then C{rate} items a second.
    """

    def test_starts_full(self) -> None:
        """
        A new bucket allows its whole burst at once, and nothing more.
        """
        bucket = TokenBucket(rate=1, burst=10, now=100)
        self.assertEqual(bucket.take(4, 100), 4)
        self.assertEqual(bucket.take(10, 100), 6)
        self.assertEqual(bucket.take(1, 100), 0)

    def test_partial_grant(self) -> None:
        """
        A request larger than the tokens gets what there is, and spends it.
        """
        bucket = TokenBucket(rate=2, burst=5, now=0)
        self.assertEqual(bucket.take(8, 0), 5)
        self.assertEqual(bucket.take(8, 1.5), 3)
        self.assertEqual(bucket.tokens(1.5), 0)

    def test_refills_at_rate(self) -> None:
        """
        Tokens come back at C{rate} a second; fractions add up across calls.
        """
        bucket = TokenBucket(rate=0.5, burst=3, now=0)
        bucket.take(3, 0)
        self.assertEqual(bucket.take(1, 1), 0)
        self.assertEqual(bucket.take(1, 2), 1)
        self.assertEqual(bucket.take(5, 5), 1)
        self.assertAlmostEqual(bucket.tokens(5), 0.5)

    def test_caps_at_burst(self) -> None:
        """
        A long silence refills the bucket to its burst and no further.
        """
        bucket = TokenBucket(rate=10, burst=20, now=0)
        bucket.take(20, 0)
        self.assertEqual(bucket.take(1000, 3600), 20)

    def test_clock_backwards(self) -> None:
        """
        A time before the last one neither refills nor breaks the bucket; the refill
        resumes from the latest time seen.
        """
        bucket = TokenBucket(rate=1, burst=10, now=50)
        bucket.take(10, 50)
        self.assertEqual(bucket.take(5, 10), 0)
        self.assertEqual(bucket.take(5, 52), 2)

    def test_none_or_negative_count(self) -> None:
        """
        Asking for nothing (or less) is allowed nothing and costs nothing.
        """
        bucket = TokenBucket(rate=1, burst=3, now=0)
        self.assertEqual(bucket.take(0, 0), 0)
        self.assertEqual(bucket.take(-5, 0), 0)
        self.assertEqual(bucket.take(3, 0), 3)

    def test_floating_refill(self) -> None:
        """
        A refill of exactly one token's time allows one item even when the float
        arithmetic lands a hair under 1.
        """
        bucket = TokenBucket(rate=1 / 0.3, burst=1, now=0)
        now = 0.0
        for _ in range(10):
            self.assertEqual(bucket.take(1, now), 1)
            now += 0.3
        self.assertEqual(bucket.take(1, now - 0.15), 0)

    def test_bad_arguments(self) -> None:
        """
        A negative rate or a burst below one token is refused.
        """
        self.assertRaises(ValueError, TokenBucket, -1, 10, 0)
        self.assertRaises(ValueError, TokenBucket, 1, 0.5, 0)

    def test_zero_rate(self) -> None:
        """
        A rate of zero is a fixed allowance.
        """
        bucket = TokenBucket(rate=0, burst=2, now=0)
        self.assertEqual(bucket.take(5, 0), 2)
        self.assertEqual(bucket.take(5, 10**9), 0)


class AddrLimitTests(SynchronousTestCase):
    """
    The C{addr} pair: about 1,000 addresses per 10 minutes per peer, a burst of 1,000.
    """

    def test_answers_always_fit(self) -> None:
        """
        A new peer's answer of 200 to our C{getaddr} fits whole, five times over.
        """
        bucket = TokenBucket(ADDR_RATE, ADDR_BURST, now=0)
        for _ in range(5):
            self.assertEqual(bucket.take(200, 0), 200)

    def test_flood_limited(self) -> None:
        """
        A peer sending an C{addr} of 1,000 every second gets about 1,000 in the first
        second and 1,000 per 10 minutes after that.
        """
        bucket = TokenBucket(ADDR_RATE, ADDR_BURST, now=0)
        allowed = sum(bucket.take(1000, t) for t in range(601))
        self.assertEqual(allowed, 2000)
        allowed = sum(bucket.take(1000, t) for t in range(601, 6601))
        self.assertAlmostEqual(allowed, 10_000, delta=2)

    def test_refilled_after_ten_minutes(self) -> None:
        """
        Ten quiet minutes give a drained peer its whole allowance back.
        """
        bucket = TokenBucket(ADDR_RATE, ADDR_BURST, now=0)
        bucket.take(1000, 0)
        self.assertEqual(bucket.take(1000, 300), 500)
        self.assertEqual(bucket.take(1000, 900), 1000)
