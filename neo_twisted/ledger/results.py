# -*- test-case-name: tests.unit.test_ledger_chain -*-
"""
What the ledger answers about the blocks and headers it is given.
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["BlockResult", "HeaderProblem", "HeaderResult", "Verdict"]


class Verdict(enum.Enum):
    """
    What became of a block handed to the ledger (the reference node's relay results).
    """

    ACCEPTED = "accepted"
    ALREADY_EXISTS = "already exists"
    UNABLE_TO_VERIFY = "unable to verify"
    INVALID = "invalid"


@attrs.frozen
class BlockResult:
    verdict: Verdict
    reason: str = ""
    #: Its header's witness does not verify: no honest node relays such a block.
    forged: bool = False


@attrs.frozen
class HeaderResult:
    """
    How many headers of a batch were appended, and what stopped the rest (None: nothing did).
    """

    added: int
    problem: str | None = None
    #: What kind of problem (None when there is none).
    kind: HeaderProblem | None = None


class HeaderProblem(enum.Enum):
    """
    Why headers were refused, as far as it tells about the sender.
    """

    #: They do not extend our headers: an answer to an old locator, or a fork.
    UNLINKED = "unlinked"
    #: A witness does not verify: no honest node relays such a header.
    FORGED = "forged"
    #: They link, but a rule refuses them (time, witness cost, assume-valid block).
    REFUSED = "refused"
