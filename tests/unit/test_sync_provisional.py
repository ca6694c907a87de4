"""
Tests for L{neo_twisted.sync.provisional.ProvisionalWatch}: headers taken on trust that
stop growing are dropped after a timeout, and across a restart too.
"""

from __future__ import annotations

import attrs
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import AssumeValid
from neo_twisted.offreactor import Synchronous
from neo_twisted.sync.provisional import ProvisionalWatch
from tests.support.ledger_samples import (
    PRIVNET,
    PRIVNET_GENESIS,
    accept_all,
    headers_of,
    make_block,
    make_blocks,
)

CHAIN = make_blocks(PRIVNET_GENESIS.header, 30, sign=False)
SETTINGS = attrs.evolve(PRIVNET, assume_valid=AssumeValid(20, CHAIN[19].hash))


def made_up(count: int) -> list[Block]:
    """
    Unsigned blocks of another chain from the genesis block.
    """
    blocks = [make_block(PRIVNET_GENESIS.header, sign=False, nonce=666)]
    while len(blocks) < count:
        blocks.append(make_block(blocks[-1].header, sign=False, nonce=666))
    return blocks


#: Made-up headers stopping one short of the trusted block.
MADE_UP = made_up(19)


class ProvisionalWatchTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.datadir = self.mktemp()
        self.dropped: list[int] = []
        self.busy = False
        self.start()

    def start(self) -> None:
        self.ledger = LedgerService(self.datadir, SETTINGS, off_reactor=Synchronous,
                                    mapper=accept_all)
        self.ledger.startService()
        self.addCleanup(self.stop)
        self.watch = ProvisionalWatch(self.ledger, self.clock, timeout=60,
                                      busy=lambda: self.busy,
                                      on_dropped=self.dropped.append)

    def stop(self) -> None:
        if self.ledger.running:
            self.ledger.stopService()

    def heights(self) -> tuple[int, int]:
        ledger = self.ledger.ledger
        assert ledger is not None
        return ledger.header_height, ledger.verified_height

    def add(self, blocks: list[Block]) -> None:
        self.successResultOf(self.ledger.add_headers(headers_of(blocks)))

    def tick_for(self, seconds: int) -> None:
        for _ in range(seconds // 5):
            self.clock.advance(5)
            self.watch.check()

    def test_stalled_provisional_headers_dropped(self) -> None:
        """
        Headers that never reach the trusted block go after the timeout, and the real
        chain goes in afterwards.
        """
        self.add(MADE_UP)
        self.assertEqual(self.heights(), (19, 0))
        self.tick_for(55)
        self.assertEqual((self.heights(), self.dropped), ((19, 0), []))
        self.tick_for(10)
        self.assertEqual((self.heights(), self.dropped), ((0, 0), [19]))
        self.add(CHAIN)
        self.assertEqual(self.heights(), (30, 30))

    def test_growing_headers_kept(self) -> None:
        self.add(CHAIN[:5])
        for end in range(6, 20):
            self.tick_for(40)
            self.add(CHAIN[end - 1:end])
        self.assertEqual((self.heights(), self.dropped), ((19, 0), []))
        self.add(CHAIN[19:])
        self.tick_for(300)
        self.assertEqual((self.heights(), self.dropped), ((30, 30), []))

    def test_not_while_headers_are_on_their_way(self) -> None:
        self.add(MADE_UP)
        self.busy = True
        self.tick_for(300)
        self.assertEqual(self.heights(), (19, 0))
        self.busy = False
        self.tick_for(5)
        self.assertEqual(self.heights(), (0, 0))

    def test_across_a_restart(self) -> None:
        """
        Made-up headers kept by the store (issue 20, attack 4: they survived a restart and
        held the node for ever) go one timeout after the node is back.
        """
        self.add(MADE_UP)
        self.tick_for(30)
        self.stop()
        self.start()
        self.assertEqual(self.heights(), (19, 0))
        self.tick_for(65)
        self.assertEqual((self.heights(), self.dropped), ((0, 0), [19]))
