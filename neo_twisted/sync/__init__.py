"""
Chain synchronisation services: headers first, then blocks.
"""

from __future__ import annotations

import attrs

from neo_twisted.sync.blocks import SEGMENT_TIMEOUT, STALL_TIMEOUT
from neo_twisted.sync.headers import HEADERS_TIMEOUT

__all__ = ["DEFAULT_SYNC_TIMEOUTS", "SyncTimeouts"]


@attrs.frozen
class SyncTimeouts:
    """
    How long the syncs wait for a peer before asking another (seconds). The defaults
    suit the public network; tests of hostile peers shorten them.

    @ivar headers: for the answer to a C{getheaders}.
    @ivar segment: for any block of a segment asked for.
    @ivar stall: for the next block, before the peer holding it up is dropped.
    """

    headers: float = HEADERS_TIMEOUT
    segment: float = SEGMENT_TIMEOUT
    stall: float = STALL_TIMEOUT


#: The timeouts of a node on the public network.
DEFAULT_SYNC_TIMEOUTS = SyncTimeouts()
