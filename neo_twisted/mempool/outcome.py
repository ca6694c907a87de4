# -*- test-case-name: tests.unit.test_mempool_pool -*-
"""
What became of a transaction handed to the pool, as the reference node reports it.

The refusals are the reference node's C{RelayResultReason}s; each carries the
JSON-RPC error code and message C{sendrawtransaction} answers with (2.10 wording).
"""

from __future__ import annotations

import enum

import attrs


class Refusal(enum.Enum):
    """
    Why a transaction was not taken: (JSON-RPC code, JSON-RPC message).
    """

    ALREADY_EXISTS = (-501, "Block or transaction already exists and cannot be sent repeatedly.")
    OUT_OF_MEMORY = (-502, "The memory pool is full and no more transactions can be sent.")
    UNABLE_TO_VERIFY = (-503, "The block cannot be validated.")
    INVALID = (-504, "Block or transaction validation failed.")
    POLICY_FAIL = (-505, "One of the Policy filters failed.")
    UNKNOWN = (-500, "Unknown error.")

    @property
    def code(self) -> int:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]


@attrs.frozen
class Outcome:
    """
    The verdict on one transaction: accepted when C{refusal} is None, else why not.

    @ivar reason: a human explanation (which rule failed), shown to RPC callers
        beside the reference message and logged.
    """

    refusal: Refusal | None = None
    reason: str = ""
    #: A witness whose signatures do not verify: the one refusal no honest relayer
    #: causes (it verified the transaction before relaying it), unlike a conflict, a
    #: missing parent or policy, which depend on what each node has seen.
    forged: bool = False

    @property
    def accepted(self) -> bool:
        return self.refusal is None


ACCEPTED = Outcome()


def refused(refusal: Refusal, reason: str, *, forged: bool = False) -> Outcome:
    return Outcome(refusal, reason, forged)
