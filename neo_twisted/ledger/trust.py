# -*- test-case-name: tests.unit.test_ledger_assume_valid -*-
"""
What a header taken on trust under assume-valid may carry: its witness is not
checked, so its size is bounded instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from neo_twisted.core.block import Header

#: The largest witness (invocation and verification scripts, in bytes) of a header taken
#: on trust under assume-valid: nobody checks it, so a peer could otherwise fill our
#: store with headers carrying megabytes each. A header signed by 21 validators (15
#: signatures, 21 keys) has a witness of about 1.7 KB; mainnet's 7 about 570 bytes.
MAX_TRUSTED_WITNESS = 4096


def trusted_witnesses_bounded(headers: Sequence[Header], trusted_to: int
                              ) -> tuple[list[Header], str | None]:
    """
    C{headers} up to the first one taken on trust (at or below C{trusted_to}) whose
    witness is over L{MAX_TRUSTED_WITNESS}, and the problem with that one (None: no
    such header).
    """
    for position, header in enumerate(headers):
        if header.index > trusted_to:
            break
        size = len(header.witness.invocation_script) + len(header.witness.verification_script)
        if size > MAX_TRUSTED_WITNESS:
            return list(headers[:position]), (
                f"header {header.index}: a {size}-byte witness (at most "
                f"{MAX_TRUSTED_WITNESS} for a header taken on trust)")
    return list(headers), None
