"""
Chain synchronisation services: headers first, then blocks.
"""

from __future__ import annotations

import attrs

from neo_twisted.sync.backoff import FIRST_BACKOFF
from neo_twisted.sync.blocks import SEGMENT_TIMEOUT, STALL_TIMEOUT
from neo_twisted.sync.gate import GATE_LIMIT
from neo_twisted.sync.headers import HEADERS_TIMEOUT
from neo_twisted.sync.provisional import PROVISIONAL_TIMEOUT

__all__ = ["DEFAULT_SYNC_TIMEOUTS", "SyncTimeouts"]


@attrs.frozen
class SyncTimeouts:
    """
    How long the syncs wait for a peer before asking another (seconds). The defaults
    suit the public network; tests of hostile peers shorten them.

    @ivar headers: for the answer to a C{getheaders}.
    @ivar segment: for any block of a segment asked for.
    @ivar stall: for the next block, before the peer holding it up is dropped.
    @ivar backoff: the first pause (it doubles, up to 10 minutes) before an address
        that left C{getheaders} unanswered is asked again.
    @ivar gate: how long a proven chain ahead keeps the node syncing with no progress.
    @ivar provisional: how long headers taken on trust under assume-valid may go
        without growing before they are dropped.
    """

    headers: float = HEADERS_TIMEOUT
    segment: float = SEGMENT_TIMEOUT
    stall: float = STALL_TIMEOUT
    backoff: float = FIRST_BACKOFF
    gate: float = GATE_LIMIT
    provisional: float = PROVISIONAL_TIMEOUT


#: The timeouts of a node on the public network.
DEFAULT_SYNC_TIMEOUTS = SyncTimeouts()
