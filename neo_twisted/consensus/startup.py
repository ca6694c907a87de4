# -*- test-case-name: tests.unit.test_consensus_startup -*-
"""
A validator that has just started waits to hear from its peers before it takes part.

Why: a validator restarted on an empty or stale store sees no proven chain past
its tip until the first headers from a peer are checked (L{SyncGate} does not
believe claimed heights). If M validators start together like that, as in a
local network whose chain lives on one node still opening its store, they agree
on a block on top of their own old tip in the first second, and fork off the
real chain for good. So for a short while after start the round waits while
dials and handshakes are still in progress, or while an established peer
reports a longer chain than ours (its headers will prove it, or not). The wait
is bounded (L{STARTUP_HOLD}), so a peer lying about its height delays a
restarting validator by that much, once, and never afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.interfaces import IReactorTime

if TYPE_CHECKING:
    from neo_twisted.node.policy import Node

#: Seconds after start during which peers' reports can hold the first rounds back:
#: time for dials, handshakes and a first batch of headers to be checked, after which
#: a proven chain (L{SyncGate}) holds the rounds instead if there is one.
STARTUP_HOLD = 10.0


class StartupHold:
    """
    Whether a validator just started should still wait for its peers, and why.
    """

    def __init__(self, clock: IReactorTime, seconds: float = STARTUP_HOLD) -> None:
        self._clock = clock
        self._until = clock.seconds() + seconds
        self._over = False

    def reason(self, node: Node) -> str | None:
        """
        Why to wait now, or None. Once peers are heard and none knows a longer
        chain, or once the time is up, the hold is over for good.
        """
        if self._over:
            return None
        if self._clock.seconds() >= self._until:
            self._over = True
            return None
        established = node.established_peers()
        connections = node.connections
        if connections.dialling_count or connections.peer_count > len(established):
            return "still connecting to peers"
        height = node.block_height
        if any(peer.last_block_index > height for peer in established):
            return "a peer reports a longer chain"
        if established:
            self._over = True
        return None
