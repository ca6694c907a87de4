"""
Tests for L{neo_twisted.collector}: the collector's settings during block streams.
"""

from __future__ import annotations

import gc

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.collector import GC_THRESHOLD, few_collections


class FewCollectionsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.before = gc.get_threshold()
        self.addCleanup(gc.set_threshold, *self.before)

    def test_raised_then_restored(self) -> None:
        with few_collections():
            self.assertEqual(gc.get_threshold()[0], max(self.before[0], GC_THRESHOLD))
            self.assertGreater(gc.get_freeze_count(), 0)
        self.assertEqual(gc.get_threshold(), self.before)
        self.assertEqual(gc.get_freeze_count(), 0)

    def test_overlapping_users_restore_once_all_are_done(self) -> None:
        """
        Two nodes in one process, stopped in the order they started: the settings
        stay until the second one stops, then come back as they were.
        """
        first, second = few_collections(), few_collections()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        self.assertEqual(gc.get_threshold()[0], max(self.before[0], GC_THRESHOLD))
        second.__exit__(None, None, None)
        self.assertEqual(gc.get_threshold(), self.before)
