# -*- test-case-name: tests.unit.test_metrics_node -*-
"""
How long transactions wait for their verdict, counted in fixed buckets.

Plain counters, so the pool keeps its figures without Prometheus (an optional
dependency); the metrics collector turns them into a histogram when scraped.
"""

from __future__ import annotations

import bisect

#: Upper bounds (seconds) of the buckets: a chunk verified in a millisecond up to a
#: pool so busy its queue takes seconds.
VERIFY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                  5.0, 10.0)


class Latencies:
    """
    Observations by bucket (not cumulative), the last past every bound.

    @ivar counts: observations per bucket: C{counts[i]} took at most C{bounds[i]}
        seconds and more than the bound before; C{counts[-1]}, more than the last.
    @ivar total: the seconds of every observation, summed.
    """

    def __init__(self, bounds: tuple[float, ...] = VERIFY_BUCKETS) -> None:
        if list(bounds) != sorted(set(bounds)):
            raise ValueError(f"bucket bounds must increase: {bounds}")
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    @property
    def count(self) -> int:
        return sum(self.counts)

    def observe(self, seconds: float, times: int = 1) -> None:
        """
        C{times} observations of C{seconds} each (a chunk of transactions verified
        together: each waited that long).
        """
        self.counts[bisect.bisect_left(self.bounds, seconds)] += times
        self.total += seconds * times

    def cumulative(self) -> list[tuple[str, int]]:
        """
        Prometheus' buckets: (upper bound, observations at or below it), C{+Inf} last.
        """
        running, buckets = 0, []
        for bound, count in zip([*map(repr, self.bounds), "+Inf"], self.counts, strict=True):
            running += count
            buckets.append((bound, running))
        return buckets
