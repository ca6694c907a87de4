"""
Tests for L{neo_twisted.collector}: the collector's settings during block streams; and
for L{neo_twisted.tuning}, which applies them with the GIL switch interval to a node
process.
"""

from __future__ import annotations

import gc
import sys

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.collector import GC_THRESHOLD, few_collections
from neo_twisted.tuning import SWITCH_INTERVAL, tune_for_run, tuned_interpreter


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


class TunedInterpreterTests(SynchronousTestCase):
    """
    L{neo_twisted.tuning}: what a node process runs with, applied for the reactor's run.
    """

    def setUp(self) -> None:
        self.before = (sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count())
        self.addCleanup(gc.set_threshold, *self.before[1])
        self.addCleanup(sys.setswitchinterval, self.before[0])

    def settings(self) -> tuple[float, tuple[int, ...], int]:
        return sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count()

    def assert_tuned(self) -> None:
        switch, threshold, frozen = self.settings()
        self.assertEqual(switch, SWITCH_INTERVAL)
        self.assertEqual(threshold[0], max(self.before[1][0], GC_THRESHOLD))
        self.assertGreater(frozen, 0)

    def test_within_the_block(self) -> None:
        """
        The switch interval and the collector are set within the block, and come back.
        """
        with tuned_interpreter():
            self.assert_tuned()
        self.assertEqual(self.settings(), self.before)

    def test_for_the_run(self) -> None:
        """
        Nothing changes until the reactor runs; then the process is tuned until it has
        shut down.
        """
        reactor = MemoryReactorClock()
        tune_for_run(reactor)
        self.assertEqual(self.settings(), self.before)
        reactor.run()
        self.assert_tuned()
        for call, args, kwargs in reactor.triggers["after"]["shutdown"]:
            call(*args, **kwargs)
        self.assertEqual(self.settings(), self.before)
