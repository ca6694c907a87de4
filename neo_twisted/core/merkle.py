# -*- test-case-name: tests.unit.test_core_blocks -*-
"""
The merkle root of a block's transaction hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from neo_twisted.wire.uint import UInt256

_sha256 = hashlib.sha256


def merkle_root(hashes: Sequence[bytes]) -> UInt256:
    """
    C{MerkleTree.ComputeRoot}: pair nodes level by level (an odd last node pairs with itself).

    One leaf is its own root; no leaves is a ValueError.
    """
    if not hashes:
        raise ValueError("the merkle root of no hashes is undefined")
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [
            _sha256(_sha256(level[i] + level[i + 1]).digest()).digest()
            for i in range(0, len(level), 2)
        ]
    return UInt256(level[0])
