"""
The sync progress line: its figures, its rate window and when it is logged.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.task import Clock
from twisted.logger import Logger, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.node.progress import SyncProgress, format_eta
from tests.support.logs import appending_to


class _Peer:
    def __init__(self, height: int) -> None:
        self.last_block_index = height


class _Node:
    def __init__(self) -> None:
        self.block_height = 0
        self.header_height = 0
        self.peers: list[_Peer] = []

    def established_peers(self) -> list[_Peer]:
        return self.peers


class ProgressTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.node = _Node()
        self.progress = SyncProgress(self.node, self.clock)  # type: ignore[arg-type]
        self.events: list[dict[str, Any]] = []
        self.progress._log = Logger(observer=appending_to(self.events))

    def lines(self) -> list[str]:
        return [formatEvent(event) for event in self.events]

    def test_line_while_behind(self) -> None:
        """
        Headers against the best claimed height, blocks against the headers, the
        rate since the last sample and the time left at that rate.
        """
        self.node.peers = [_Peer(10_000), _Peer(4_000)]
        self.progress.tick()
        self.assertEqual(self.lines(), ["sync: headers 0/10000, blocks 0/0, 0.0 blocks/s, ETA ?"])
        self.clock.advance(10)
        self.node.header_height, self.node.block_height = 6_000, 1_000
        self.progress.tick()
        self.assertEqual(self.lines()[-1],
                         "sync: headers 6000/10000, blocks 1000/6000, 100.0 blocks/s, ETA 1m30s")
        self.assertEqual(self.events[-1]["blocks_per_second"], 100.0)

    def test_caught_up_once(self) -> None:
        """
        One line when the node catches up; nothing while it stays there.
        """
        self.node.peers = [_Peer(50)]
        self.progress.tick()
        self.clock.advance(10)
        self.node.header_height = self.node.block_height = 50
        self.progress.tick()
        self.clock.advance(10)
        self.progress.tick()
        self.assertEqual(self.lines()[1:], ["sync: caught up at block 50"])

    def test_silent_when_in_step(self) -> None:
        self.node.header_height = self.node.block_height = 7
        self.node.peers = [_Peer(7)]
        for _ in range(3):
            self.progress.tick()
            self.clock.advance(10)
        self.assertEqual(self.events, [])

    def test_rate_window(self) -> None:
        """
        The rate covers about the last 30 s: an early burst stops counting.
        """
        self.progress.tick()
        self.node.block_height = 3_000  # 3,000 blocks in the first 10 s
        for _ in range(6):
            self.clock.advance(10)
            self.progress.tick()
        self.assertEqual(self.progress.blocks_per_second(), 0.0)
        self.clock.advance(10)
        self.node.block_height = 3_100
        self.assertAlmostEqual(self.progress.blocks_per_second(), 100 / 30)

    def test_target_is_our_headers_without_peers(self) -> None:
        self.node.header_height = 12
        self.assertEqual(self.progress.target_height(), 12)


class EtaTests(SynchronousTestCase):
    def test_format(self) -> None:
        self.assertEqual([format_eta(s) for s in (None, 0, 12.4, 185, 3720, 90_000)],
                         ["?", "0s", "12s", "3m05s", "1h02m", "25h00m"])
