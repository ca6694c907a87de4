# -*- test-case-name: tests.unit.test_node_progress -*-
"""
How far the sync has come, and how fast it goes: the operator's progress line.

Every few seconds (a C{TimerService} in the node's tree calls L{SyncProgress.tick})
the block height is sampled. While the node is behind, one line says where the
headers and blocks are against the best height its peers claim, the blocks per
second over the last half minute and the time left at that rate; a last line says
when the node caught up. The same rate is the C{neo_persisted_blocks_per_second}
metric.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

if TYPE_CHECKING:
    from neo_twisted.node.policy import Node

#: Seconds between two progress lines (and two samples of the rate).
PROGRESS_INTERVAL = 10.0
#: Seconds the blocks-per-second rate is measured over.
RATE_WINDOW = 30.0


def format_eta(seconds: float | None) -> str:
    """
    C{1h02m}, C{3m05s}, C{12s}; C{?} while there is no rate to go by.
    """
    if seconds is None:
        return "?"
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class SyncProgress:
    """
    The samples of the block height and what they tell of the sync.
    """

    _log = Logger()

    def __init__(self, node: Node, clock: IReactorTime, window: float = RATE_WINDOW) -> None:
        self._node = node
        self._clock = clock
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()
        self._was_syncing = False

    def target_height(self) -> int:
        """
        The highest chain known: our headers, or the best height an established peer
        claims (its version, then what it announced or sent).
        """
        claimed = [peer.last_block_index for peer in self._node.established_peers()]
        return max([self._node.header_height, *claimed])

    def blocks_per_second(self) -> float:
        """
        Blocks persisted per second over the last window (0 before two samples).
        """
        self._sample()
        if len(self._samples) < 2:
            return 0.0
        (first_time, first), (last_time, last) = self._samples[0], self._samples[-1]
        elapsed = last_time - first_time
        return 0.0 if elapsed <= 0 else (last - first) / elapsed

    def _sample(self) -> None:
        now = self._clock.seconds()
        samples = self._samples
        if not samples or samples[-1][0] < now:
            samples.append((now, self._node.block_height))
        while len(samples) > 2 and samples[1][0] <= now - self._window:
            samples.popleft()

    def tick(self) -> None:
        """
        Sample, and while behind (or on catching up) log one progress line.
        """
        rate = self.blocks_per_second()
        blocks, headers = self._node.block_height, self._node.header_height
        target = self.target_height()
        behind = blocks < target
        if behind:
            eta = (target - blocks) / rate if rate > 0 else None
            self._log.info(
                "sync: headers {headers}/{target}, blocks {blocks}/{headers}, "
                "{rate:.1f} blocks/s, ETA {eta}", headers=headers, target=target,
                blocks=blocks, rate=rate, eta=format_eta(eta), blocks_per_second=rate)
        elif self._was_syncing:
            self._log.info("sync: caught up at block {blocks}", blocks=blocks)
        self._was_syncing = behind
