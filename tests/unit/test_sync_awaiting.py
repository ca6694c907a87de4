"""
Tests for L{neo_twisted.sync.early.AwaitingHeader}: requested blocks that came before
their verified header, kept within bounds until it is.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.sync.early import AwaitingHeader
from tests.support.ledger_samples import PRIVNET_GENESIS, make_blocks
from tests.support.p2p_fakes import FakePeer

BLOCKS = make_blocks(PRIVNET_GENESIS.header, 6, sign=False)


class AwaitingHeaderTests(SynchronousTestCase):
    def test_ready_once_verified(self) -> None:
        """
        A block comes out when its height is verified; one stored meanwhile is dropped.
        """
        peer = FakePeer()
        waiting = AwaitingHeader()
        for block in BLOCKS[2:5]:  # heights 3 to 5
            waiting.keep(peer, block)
        self.assertEqual(waiting.ready(2, 2), [])
        self.assertEqual(waiting.ready(3, 4), [(peer, BLOCKS[3])])  # 3 stored, 4 verified
        self.assertEqual(len(waiting), 1)
        self.assertEqual(waiting.ready(3, 9), [(peer, BLOCKS[4])])
        self.assertEqual(len(waiting), 0)

    def test_bounded_oldest_first(self) -> None:
        peer = FakePeer()
        waiting = AwaitingHeader(count=2)
        for block in BLOCKS[:3]:
            waiting.keep(peer, block)
        self.assertEqual([b for _, b in waiting.ready(0, 9)], BLOCKS[1:3])
        size = BLOCKS[0].size
        waiting = AwaitingHeader(size=2 * size)
        for block in BLOCKS[:3]:
            waiting.keep(peer, block)
        self.assertEqual(len(waiting), 2)
        tiny = AwaitingHeader(size=size - 1)
        tiny.keep(peer, BLOCKS[0])  # larger than all it may hold: not kept
        self.assertEqual(len(tiny), 0)
