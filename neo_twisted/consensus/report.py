# -*- test-case-name: tests.unit.test_rpc_methods,tests.unit.test_consensus_network -*-
"""
What an operator is shown of a validator's round (RPC C{getconsensusstate}).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.interfaces import IDelayedCall

from neo_twisted.core.jsonify import JSON

if TYPE_CHECKING:
    from neo_twisted.consensus.service import ConsensusService


def round_status(service: ConsensusService, now: float,
                 timer: IDelayedCall | None) -> JSON:
    """
    The round of C{service} at C{now}: where it is, and so where it is stuck.
    """
    ctx = service.context
    status: JSON = {
        "publickey": service.key.public_key.encode().hex(),
        "validator": ctx is not None and ctx.my_index >= 0,
        "blocksmade": service.blocks_made,
    }
    if ctx is None:
        return status
    status.update(ctx.describe())
    status.update({
        "roundseconds": round(now - service.round_started, 3),
        "timeoutin": (round(timer.getTime() - now, 3)
                      if timer is not None and timer.active() else None),
        "recent": list(service.recent),
    })
    return status
