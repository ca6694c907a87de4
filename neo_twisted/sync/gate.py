# -*- test-case-name: tests.unit.test_sync_gate -*-
"""
The syncing gate: whether the node is behind a chain it has proof of.

A validator that is syncing neither proposes nor signs (a block made on a stale
tip would fork the chain), so what makes it "syncing" must cost more than a
word: a peer's claimed height (in C{version}, C{ping}, or by announcing block
hashes we do not know) proves nothing. Proof is a header whose witness we
checked (the validators signed it) above our block height, or the assume-valid
block the operator configured above it. Even proof holds the gate only while
the chain moves: when neither blocks nor headers have come for L{GATE_LIMIT}
seconds, the node stops calling itself syncing (a chain nobody will give us the
blocks of is no reason to stay silent for ever).
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

#: Seconds the gate stays shut with no progress (no new block, no new header).
GATE_LIMIT = 120.0


class SyncGate:
    """
    Tells whether the node is syncing, from its heights; see the module docstring.
    """

    def __init__(self, clock: IReactorTime, limit: float = GATE_LIMIT) -> None:
        self._clock = clock
        self._limit = limit
        self._heights: tuple[int, int, int] | None = None
        self._moved = clock.seconds()

    def observe(self, block_height: int, verified_height: int, header_height: int) -> None:
        """
        Note the heights now; any change is progress.
        """
        heights = (block_height, verified_height, header_height)
        if heights != self._heights:
            self._heights = heights
            self._moved = self._clock.seconds()

    def syncing(self, block_height: int, verified_height: int, header_height: int,
                trusted_height: int = 0) -> bool:
        """
        Whether a proven chain runs ahead of our blocks and is still coming in.

        @param verified_height: our highest header with a checked witness (or vouched for
            by the assume-valid block).
        @param header_height: our highest header, perhaps taken on trust: it counts as
            progress, not as proof.
        @param trusted_height: the assume-valid block's height (0: none).
        """
        self.observe(block_height, verified_height, header_height)
        ahead = max(verified_height, trusted_height) > block_height
        return ahead and self._clock.seconds() - self._moved < self._limit
