# -*- test-case-name: tests.unit.test_p2p_session,tests.integration.test_hostile_decode,tests.unit.test_p2p_decoding -*-  # noqa: E501
"""
Whether a frame is worth reading, from its header and first payload bytes alone.

A connection asks before it buffers, hashes or decodes a payload (issue 20: an
unrequested 32 MiB C{block} took seconds of the reactor to decode, then to be
ignored). Before the handshake only C{version} and C{verack} are read (anything
else is a violation whatever its bytes); a C{tx} over the 2.9.1+ size limit is
skipped; a C{block} is read only if the node wants its index and hash, taken from
its raw header.
"""

from __future__ import annotations

from collections.abc import Callable

from neo_twisted.core.block import UNSIGNED_HEADER_SIZE
from neo_twisted.crypto.hashes import hash256
from neo_twisted.wire.uint import UInt256

#: A C{tx} payload larger than this is ignored undecoded (2.9.1+ C{MaxTransactionSize}).
MAX_TX_SIZE = 102_400
#: Commands only the protocol itself sends, once, during the handshake.
HANDSHAKE_COMMANDS = frozenset({"version", "verack"})
#: How much of a payload the judgement needs: a block's unsigned header.
HEAD_SIZE = UNSIGNED_HEADER_SIZE
#: Where a block's index sits in its payload: after version, previous hash, merkle
#: root and timestamp.
_INDEX_AT = 4 + 32 + 32 + 4

#: The node's word on a block frame: (index, hash) -> read it or not.
BlockJudge = Callable[[int, UInt256], bool]


def worth_reading(command: str, length: int, head: bytes, *, established: bool,
                  block_wanted: BlockJudge) -> bool:
    """
    Whether to read a frame of C{command} whose payload is C{length} bytes and starts
    with C{head} (L{HEAD_SIZE} bytes of it, or all of a shorter one).
    """
    if not established:
        return command in HANDSHAKE_COMMANDS
    if command == "tx":
        return length <= MAX_TX_SIZE
    if command == "block" and len(head) == HEAD_SIZE:
        index = int.from_bytes(head[_INDEX_AT:_INDEX_AT + 4], "little")
        return block_wanted(index, UInt256(hash256(head)))
    return True
