# -*- test-case-name: tests.unit.test_sync_locator -*-
"""
Block locators: the start hashes of a C{getheaders} or C{getblocks}.

A locator names our chain at a few heights, densely near its top and ever more
sparsely below, down to the genesis block: a peer that answers from the first
hash it knows (as we do, and as Bitcoin Core does) finds where our chains part
within one message, even when the top of ours is headers nobody else has (those
taken on trust under assume-valid and never followed by the trusted block).
The reference node from 2.9 on reads only the first hash, and so does neo-go, so
for them nothing changes. C{getblocks} asks for a segment after a header both
sides know and keeps the reference's single hash.

neo-cli 2.8 and earlier answer from the known start hash of the *lowest* index:
given a locator ending at genesis they would answer with the first 2000 headers
every time, and header sync with them would never move. They get our tip alone
(L{locator_for}), recognised by their user agent.
"""

from __future__ import annotations

import re
from typing import Protocol

from neo_twisted.network.payloads import MAX_HASH_START, VersionPayload
from neo_twisted.wire.uint import UInt256


class HeaderStore(Protocol):
    """
    What a locator is read from (L{neo_twisted.ledger.chain.Ledger} has it).
    """

    def get_block_hash(self, index: int) -> UInt256 | None: ...


def locator_heights(top: int, size: int = MAX_HASH_START) -> list[int]:
    """
    The heights a locator from C{top} names: C{top}, then steps back of 1, 2, 4, 8 ...,
    at most C{size} heights in all, the genesis block (0) always last.
    """
    if size < 1:
        raise ValueError(f"a locator holds at least one hash, not {size}")
    heights: list[int] = []
    step, height = 1, top
    while height > 0 and len(heights) < size - 1:
        heights.append(height)
        height = top - step
        step *= 2
    heights.append(0)
    return heights


def block_locator(store: HeaderStore, top: int, size: int = MAX_HASH_START
                  ) -> tuple[UInt256, ...]:
    """
    The hashes of the known headers at L{locator_heights}C{(top)}, in that order
    (a height the store lacks is left out).
    """
    hashes = (store.get_block_hash(height) for height in locator_heights(top, size))
    return tuple(h for h in hashes if h is not None)


#: The user agents of neo-cli (the C# node) 2.0 to 2.8: C{/NEO:2.8.0/}.
_LOWEST_START_AGENTS = re.compile(r"/NEO:2\.[0-8]\.")


def answers_from_lowest(version: VersionPayload | None) -> bool:
    """
    Whether a peer serves C{getheaders} from its lowest known start hash (neo-cli 2.8-).
    """
    return version is not None and _LOWEST_START_AGENTS.search(version.user_agent) is not None


def locator_for(version: VersionPayload | None, store: HeaderStore,
                top: int) -> tuple[UInt256, ...]:
    """
    The start hashes to send a peer with C{version}: our locator, or the hash at C{top}
    alone for a peer that would answer a locator from genesis.
    """
    if answers_from_lowest(version):
        tip = store.get_block_hash(top)
        return () if tip is None else (tip,)
    return block_locator(store, top)
