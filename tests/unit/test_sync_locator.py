"""
Tests for L{neo_twisted.sync.locator} and the serving reads that take a locator
(L{neo_twisted.ledger.reads.ChainReads.header_bytes_after}, C{block_hashes_after}).
"""

from __future__ import annotations

from itertools import pairwise

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.ledger.chain import Verdict
from neo_twisted.network.payloads import VersionPayload
from neo_twisted.sync.locator import (
    answers_from_lowest,
    block_locator,
    locator_for,
    locator_heights,
)
from neo_twisted.wire.uint import UInt256
from tests.support.ledger_samples import (
    PRIVNET_GENESIS,
    accept_all,
    headers_of,
    make_block,
    make_blocks,
    open_ledger,
)

LONG = make_blocks(PRIVNET_GENESIS.header, 300, sign=False)
UNKNOWN = UInt256(b"\x42" * 32)


def _other_chain() -> list[Block]:
    """
    Another chain after our block 100: blocks 101 to 120.
    """
    blocks = [make_block(LONG[99].header, sign=False, nonce=5)]
    for _ in range(19):
        blocks.append(make_block(blocks[-1].header, sign=False, nonce=5))
    return blocks


class LocatorHeightsTests(SynchronousTestCase):
    def test_small_chains(self) -> None:
        self.assertEqual(locator_heights(0), [0])
        self.assertEqual(locator_heights(1), [1, 0])
        self.assertEqual(locator_heights(3), [3, 2, 1, 0])
        self.assertEqual(locator_heights(20), [20, 19, 18, 16, 12, 4, 0])

    def test_long_chain_sixteen_at_most_genesis_last(self) -> None:
        """
        Exponentially spaced back from the top: 16 heights at most, genesis always last.
        """
        heights = locator_heights(5_000_000)
        self.assertEqual(len(heights), 16)
        self.assertEqual(heights[:5], [5_000_000, 4_999_999, 4_999_998, 4_999_996, 4_999_992])
        self.assertEqual(heights[-2:], [5_000_000 - 2 ** 13, 0])
        gaps = [a - b for a, b in pairwise(heights[:-1])]
        self.assertEqual(gaps, sorted(gaps))

    def test_size(self) -> None:
        self.assertEqual(locator_heights(100, size=1), [0])
        self.assertEqual(locator_heights(100, size=3), [100, 99, 0])
        self.assertRaises(ValueError, locator_heights, 100, 0)


class LocatorReadTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.ledger = open_ledger(self, self.mktemp(), mapper=accept_all)
        self.assertEqual(self.ledger.add_headers(headers_of(LONG)).added, 300)
        self.assertEqual({r.verdict for r in self.ledger.add_blocks(LONG[:200])},
                         {Verdict.ACCEPTED})

    def test_block_locator(self) -> None:
        locator = block_locator(self.ledger, 300)
        self.assertEqual(locator[:3], (LONG[299].hash, LONG[298].hash, LONG[297].hash))
        self.assertEqual(locator[-1], PRIVNET_GENESIS.hash)
        self.assertEqual(len(locator), len(locator_heights(300)))
        self.assertEqual(block_locator(self.ledger, 0), (PRIVNET_GENESIS.hash,))

    def test_neo_cli_28_gets_the_tip_alone(self) -> None:
        """
        neo-cli 2.8 and earlier serve from their lowest known start hash: a locator
        would bring back the first 2000 headers every time. Others get the locator.
        """
        def version(agent: str) -> VersionPayload:
            return VersionPayload(version=0, services=1, timestamp=0, port=20333, nonce=1,
                                  user_agent=agent, start_height=0, relay=True)

        for agent in ("/NEO:2.8.0/", "/NEO:2.7.6/", "/NEO:2.0.1/"):
            self.assertTrue(answers_from_lowest(version(agent)), agent)
            self.assertEqual(locator_for(version(agent), self.ledger, 300), (LONG[299].hash,))
        for agent in ("/NEO:2.9.4/", "/NEO:2.10.3/", "/NEO-GO:0.78.4/", "/NEO:3.0.0/",
                      "/NEO-PYTHON:0.9.1/", "/neo_twisted:0.1.0/"):
            self.assertFalse(answers_from_lowest(version(agent)), agent)
            self.assertEqual(locator_for(version(agent), self.ledger, 300),
                             block_locator(self.ledger, 300))
        self.assertEqual(locator_for(None, self.ledger, 300), block_locator(self.ledger, 300))

    def test_served_from_first_known_start(self) -> None:
        """
        Headers and block hashes follow the first start hash we know: unknown ones
        before it are skipped.
        """
        starts = [UNKNOWN, LONG[49].hash, LONG[9].hash]
        headers = self.ledger.header_bytes_after(starts)
        self.assertEqual(headers[0], LONG[50].header.to_bytes())
        self.assertEqual(len(headers), 250)
        hashes = self.ledger.block_hashes_after(starts)
        self.assertEqual(hashes[0], LONG[50].hash)
        self.assertEqual(len(hashes), 150)  # never above the block height, 200

    def test_one_hash_as_before(self) -> None:
        self.assertEqual(self.ledger.header_bytes_after(LONG[297].hash),
                         [LONG[298].header.to_bytes(), LONG[299].header.to_bytes()])
        self.assertEqual(self.ledger.block_hashes_after(LONG[197].hash),
                         [LONG[198].hash, LONG[199].hash])

    def test_nothing_known_or_stop(self) -> None:
        self.assertEqual(self.ledger.header_bytes_after([UNKNOWN]), [])
        self.assertEqual(self.ledger.block_hashes_after([UNKNOWN, UNKNOWN]), [])
        # the first known start is the stop hash: nothing, as for one hash
        self.assertEqual(self.ledger.header_bytes_after([UNKNOWN, LONG[9].hash], LONG[9].hash),
                         [])

    def test_peer_on_another_chain_found_where_they_part(self) -> None:
        """
        A locator of a chain that left ours after 100 is answered from its last height
        below the fork (88: 120 - 32): the asker gets our chain from there, in one
        message, where the reference node (first hash only) would answer nothing.
        """
        asker = open_ledger(self, self.mktemp(), mapper=accept_all)
        asker.add_headers([*headers_of(LONG[:100]), *headers_of(_other_chain())])
        self.assertEqual(asker.header_height, 120)
        locator = block_locator(asker, asker.header_height)
        self.assertEqual(self.ledger.header_bytes_after(locator[0]), [])
        headers = self.ledger.header_bytes_after(locator)
        self.assertEqual(headers[0], LONG[88].header.to_bytes())
