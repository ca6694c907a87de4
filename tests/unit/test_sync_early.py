"""
Tests for the early-block buffer of L{neo_twisted.sync.blocks.BlockSync}
(L{neo_twisted.sync.early}): blocks ahead of the next one wait in a buffer bounded in
bytes, and what cannot be placed or did not fit is dropped or fetched again.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.network.payloads import InventoryType, InvPayload
from neo_twisted.sync.blocks import BlockSync
from neo_twisted.sync.early import Placement
from tests.support.ledger_samples import PRIVNET_GENESIS, headers_of, make_block
from tests.support.optional import present
from tests.support.p2p_fakes import FakePeer, ledger_service, opened
from tests.support.sync_samples import LONG


class EarlyBufferTests(SynchronousTestCase):
    """
    Blocks ahead of the next one wait in a buffer bounded in bytes; what cannot be
    placed is not kept, and what did not fit is fetched again.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.ledger = ledger_service(self)
        self.assertEqual(opened(self.ledger).add_headers(headers_of(LONG)).added, 2100)
        self.size = LONG[0].size
        self.peer = FakePeer("10.0.0.1", 2100)
        self.sync = BlockSync(self.ledger, self.clock, lambda: [self.peer],
                              early_bytes=10 * self.size)

    def getdata(self) -> list[int]:
        """
        The heights of the blocks the peer was asked for with C{getdata}.
        """
        heights = []
        for payload in self.peer.take("getdata"):
            assert isinstance(payload, InvPayload)
            self.assertIs(payload.type, InventoryType.Block)
            heights += [present(opened(self.ledger).header_index(h)) for h in payload.hashes]
        return heights

    def test_bounded_in_bytes(self) -> None:
        self.assertEqual({block.size for block in LONG[:30]}, {self.size})
        placed = [self.sync.block_received(self.peer, block) for block in LONG[1:30]]
        self.assertEqual(placed, [Placement.EARLY] * 10 + [Placement.FULL] * 19)
        self.assertEqual(self.sync.buffered_bytes, 10 * self.size)
        self.assertEqual(self.sync.buffered, 10)

    def test_refused_block_fetched_again(self) -> None:
        """
        A block refused for a full buffer is asked of its sender again once the buffer
        has room. Before: the ledger refused it ("the early-block buffer is full") and
        it was dropped; one above our headers was remembered as done by the request
        table and never asked for again (issue 20, attack 5).
        """
        for block in LONG[1:13]:
            self.sync.block_received(self.peer, block)
        self.assertEqual(self.sync.buffered, 10)
        self.assertFalse(self.sync.holds(LONG[11].hash))
        self.assertEqual(self.getdata(), [])
        # the next block makes room for itself: 11 leaves, to be fetched again too
        self.assertIs(self.sync.block_received(self.peer, LONG[0]), Placement.NEXT)
        self.assertEqual(opened(self.ledger).block_height, 10)
        self.assertEqual(self.getdata(), [11, 12, 13])
        for block in LONG[10:13]:
            self.assertIs(self.sync.block_received(self.peer, block), Placement.NEXT)
        self.assertEqual(opened(self.ledger).block_height, 13)
        self.assertEqual(self.sync.buffered, 0)

    def test_lower_blocks_make_room(self) -> None:
        """
        At a full buffer a lower block evicts the highest: the chain needs the low ones
        first. The evicted one is fetched again later.
        """
        for block in LONG[20:30]:
            self.sync.block_received(self.peer, block)
        self.assertIs(self.sync.block_received(self.peer, LONG[5]), Placement.EARLY)
        self.assertFalse(self.sync.holds(LONG[29].hash))
        self.assertEqual(self.sync.buffered_bytes, 10 * self.size)
        for block in LONG[:5]:
            self.sync.block_received(self.peer, block)
        self.assertEqual(opened(self.ledger).block_height, 6)
        self.assertEqual(self.getdata(), [29, 30])  # 29 made room for block 1

    def test_next_block_always_finds_room(self) -> None:
        for block in LONG[1:11]:
            self.sync.block_received(self.peer, block)
        self.sync._adding = True  # a write in progress: nothing leaves the buffer
        self.assertIs(self.sync.block_received(self.peer, LONG[0]), Placement.NEXT)
        self.assertLessEqual(self.sync.buffered_bytes, 10 * self.size)
        self.assertTrue(self.sync.holds(LONG[0].hash))

    def test_blocks_that_cannot_be_placed(self) -> None:
        """
        Beyond the window, or above the verified headers, a block is not kept.
        """
        self.assertIs(self.sync.block_received(self.peer, LONG[2050]), Placement.BEYOND)
        self.ledger = ledger_service(self)
        opened(self.ledger).add_headers(headers_of(LONG[:10]))
        self.sync = BlockSync(self.ledger, self.clock, lambda: [self.peer])
        self.assertIs(self.sync.block_received(self.peer, LONG[20]), Placement.UNKNOWN)
        self.assertIs(self.sync.block_received(self.peer, LONG[5]), Placement.EARLY)
        self.assertIs(self.sync.block_received(self.peer, LONG[5]), Placement.OLD)
        self.assertEqual(self.sync.buffered, 1)

    def _record_writes(self) -> list[list[int]]:
        writes: list[list[int]] = []
        add_blocks = self.ledger.add_blocks

        def recording(blocks: list[Block]) -> object:
            writes.append([b.index for b in blocks])
            return add_blocks(blocks)
        self.patch(self.ledger, "add_blocks", recording)
        return writes

    def test_unverified_next_block_written_alone(self) -> None:
        """
        A next block no verified header vouched for when it came goes to the ledger on
        its own: if its witness fails, it takes no other block down with it.
        """
        self.ledger = ledger_service(self)
        self.sync = BlockSync(self.ledger, self.clock, lambda: [self.peer])
        writes = self._record_writes()
        self.sync._adding = True
        self.assertIs(self.sync.block_received(self.peer, LONG[0]), Placement.NEXT)
        opened(self.ledger).add_headers(headers_of(LONG[:5]))
        for block in LONG[1:5]:
            self.assertIs(self.sync.block_received(self.peer, block), Placement.EARLY)
        self.sync._adding = False
        self.sync._flush()
        self.assertEqual(writes, [[1], [2, 3, 4, 5]])

    def test_vouched_rival_goes_first(self) -> None:
        """
        Of two next blocks, the one a verified header vouches for is written; the
        other is dropped once its height is stored.
        """
        self.ledger = ledger_service(self)
        self.sync = BlockSync(self.ledger, self.clock, lambda: [self.peer])
        writes = self._record_writes()
        self.sync._adding = True
        rival = make_block(PRIVNET_GENESIS.header, sign=False, nonce=99)
        self.assertIs(self.sync.block_received(self.peer, rival), Placement.NEXT)
        opened(self.ledger).add_headers(headers_of(LONG[:3]))
        for block in LONG[:3]:
            self.sync.block_received(self.peer, block)
        self.sync._adding = False
        self.sync._flush()
        self.assertEqual(writes, [[1, 2, 3]])
        self.assertEqual(opened(self.ledger).get_block_hash(1), LONG[0].hash)
        self.assertEqual(self.sync.buffered, 0)
