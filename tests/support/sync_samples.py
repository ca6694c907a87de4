"""
A chain for the tests of L{neo_twisted.sync.blocks.BlockSync}: 2100 unsigned privnet
blocks after the genesis block.
"""

from __future__ import annotations

from tests.support.ledger_samples import PRIVNET_GENESIS, make_blocks

LONG = make_blocks(PRIVNET_GENESIS.header, 2100, sign=False)
