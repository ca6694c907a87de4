"""
Tests for L{neo_twisted.sync.gate.SyncGate} (syncing only on proof, for a time) and
L{neo_twisted.sync.backoff.Backoff} (per-address pauses after unanswered requests).
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.sync.backoff import Backoff
from neo_twisted.sync.gate import SyncGate


class SyncGateTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.gate = SyncGate(self.clock, limit=120)

    def test_level(self) -> None:
        self.assertFalse(self.gate.syncing(10, 10, 10))

    def test_verified_headers_ahead(self) -> None:
        self.assertTrue(self.gate.syncing(10, 12, 12))

    def test_headers_on_trust_are_no_proof(self) -> None:
        """
        Headers taken on trust (above the verified height) prove nothing: anyone can make
        them up. The assume-valid block the operator configured does.
        """
        self.assertFalse(self.gate.syncing(0, 0, 5000))
        self.assertTrue(self.gate.syncing(0, 0, 5000, trusted_height=6000))
        self.assertFalse(self.gate.syncing(6000, 6000, 6000, trusted_height=6000))

    def test_time_limit_without_progress(self) -> None:
        """
        A chain ahead whose blocks never come holds the gate for the limit, no longer.
        """
        self.assertTrue(self.gate.syncing(10, 12, 12))
        self.clock.advance(119)
        self.assertTrue(self.gate.syncing(10, 12, 12))
        self.clock.advance(1)
        self.assertFalse(self.gate.syncing(10, 12, 12))
        # a block comes: syncing again, for another limit
        self.assertTrue(self.gate.syncing(11, 12, 12))
        self.clock.advance(100)
        self.gate.observe(11, 13, 13)  # a header: progress too
        self.clock.advance(100)
        self.assertTrue(self.gate.syncing(11, 13, 13))


class BackoffTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.backoff = Backoff(self.clock, first=30, most=600, capacity=3)

    def test_doubles_up_to_the_most(self) -> None:
        pauses = []
        for _ in range(7):
            pauses.append(self.backoff.failed("10.0.0.1"))
            self.assertTrue(self.backoff.waiting("10.0.0.1"))
            self.clock.advance(pauses[-1])
            self.assertFalse(self.backoff.waiting("10.0.0.1"))
        self.assertEqual(pauses, [30, 60, 120, 240, 480, 600, 600])

    def test_per_address(self) -> None:
        self.backoff.failed("10.0.0.1")
        self.assertFalse(self.backoff.waiting("10.0.0.2"))
        self.assertFalse(self.backoff.waiting(("10.0.0.1", 20333)))

    def test_answer_resets(self) -> None:
        self.backoff.failed("a")
        self.clock.advance(30)
        self.backoff.failed("a")
        self.backoff.succeeded("a")
        self.assertFalse(self.backoff.waiting("a"))
        self.assertEqual(self.backoff.failed("a"), 30)

    def test_old_failure_forgotten(self) -> None:
        self.assertEqual(self.backoff.failed("a"), 30)
        self.clock.advance(30 + 601)
        self.assertEqual(self.backoff.failed("a"), 30)

    def test_bounded(self) -> None:
        """
        At most C{capacity} addresses; the one whose pause ends first goes first.
        """
        for address in "abcd":
            self.backoff.failed(address)
            self.clock.advance(1)
        self.assertEqual(len(self.backoff), 3)
        self.assertFalse(self.backoff.waiting("a"))
        self.assertTrue(all(self.backoff.waiting(a) for a in "bcd"))
