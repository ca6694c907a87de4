# -*- test-case-name: tests.unit.test_ledger_generator_shape -*-
"""
Mainnet-shaped generated chains (C{neonode makechain --shape mainnet}), so that the
benchmarks time a sync an operator would recognise: neo-cli took days to sync
mainnet, and most of that chain is blocks holding nothing but the MinerTransaction.

The shape, drawn from the seed and nothing else (so the same seed gives the same
bytes, and a chain of N blocks is the first N blocks of a longer one):

  - block 1 holds one transfer: the genesis NEO fanned out to 1,000 outputs, as the
    NEO of mainnet's genesis was distributed before anyone traded it; from then on
    a block's transfers always find enough confirmed outputs to spend;
  - after it, 90 % of the blocks hold only the MinerTransaction (mainnet's early
    years were mostly empty blocks, one every 15 s whether or not anyone paid);
  - the other 10 % hold 1 to 199 transfers (199 and the miner's: the 200 transactions
    a block our policy proposes may hold), log-uniformly: a block of 2 transfers is as
    likely as one of 100 to 199, so most busy blocks carry a few transfers and some
    carry many, as mainnet's bursts did. That is about 37 transfers a busy block and
    3.7 a block on average (L{MEAN_TRANSFERS}).

The transfers themselves, the consensus data and which M of the validators sign
each block (a random M, varying per block, as real validators' commits arrive) are
those of L{neo_twisted.ledger.generator.ChainGenerator}. With the seven validators of
C{devkeys/protocol.mainnet-shape.json}, M = 5 signatures a block, mainnet's count.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence

from neo_twisted.core.block import Block
from neo_twisted.core.transaction import Transaction
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.generator import ChainGenerator
from neo_twisted.ledger.settings import ProtocolSettings

__all__ = ["EMPTY_SHARE", "MAX_TRANSFERS", "MEAN_TRANSFERS", "SHAPE_ACCOUNTS",
           "MainnetShapeGenerator", "generate_mainnet_shape", "transfer_counts"]

#: The share of blocks after block 1 that hold only the MinerTransaction.
EMPTY_SHARE = 0.9
#: The most transfers a block holds: with the miner's, the policy's 200 transactions.
MAX_TRANSFERS = 199
#: Generated accounts holding the NEO: more than the uniform chain's 32, so that the
#: coins-by-account index and the transfers' owners are spread as on a real chain.
SHAPE_ACCOUNTS = 1000
#: The mean transfers a block, block 1 aside: the busy share times the mean of
#: floor(200 ** u) for u uniform in [0, 1), which is sum over k of P(200 ** u >= k).
MEAN_TRANSFERS = (1 - EMPTY_SHARE) * sum(
    1 - math.log(k) / math.log(MAX_TRANSFERS + 1) for k in range(1, MAX_TRANSFERS + 1))


def transfer_counts(seed: int) -> Iterator[int]:
    """
    The transfers of blocks 1, 2, 3 ... of the mainnet-shaped chain of C{seed}, endlessly.

    A random stream of its own (not the generator's), so that the shape is known
    without making the chain: the benchmarks count its transactions from it.
    """
    rng = random.Random(f"neo_twisted mainnet shape {seed}")  # str seeds: SHA-512, stable
    yield 1  # the genesis NEO fanned out
    busiest = MAX_TRANSFERS + 1
    while True:
        if rng.random() < EMPTY_SHARE:
            yield 0
        else:
            yield int(busiest ** rng.random())  # 1 to MAX_TRANSFERS, log-uniform


class MainnetShapeGenerator(ChainGenerator):
    """
    A L{ChainGenerator} whose blocks hold L{transfer_counts} transfers each, not a fixed K.

    It is made with K = L{MAX_TRANSFERS}, so that it keeps as many confirmed outputs
    at hand as the busiest block spends, and then sets K block by block.
    """

    def __init__(self, settings: ProtocolSettings, validator_keys: Sequence[KeyPair],
                 seed: int, start_timestamp: int | None = None,
                 accounts: int = SHAPE_ACCOUNTS) -> None:
        super().__init__(settings, validator_keys, MAX_TRANSFERS, seed, start_timestamp,
                         accounts)
        self._counts = transfer_counts(seed)

    def _transfers(self) -> list[Transaction]:
        self._k = next(self._counts)
        return super()._transfers()


def generate_mainnet_shape(settings: ProtocolSettings, validator_keys: Sequence[KeyPair],
                           blocks: int, seed: int, start_timestamp: int | None = None, *,
                           accounts: int = SHAPE_ACCOUNTS) -> Iterator[Block]:
    """
    Blocks 1 to C{blocks} of a valid mainnet-shaped chain after
    C{genesis_block(settings.standby_validators)}; the arguments are L{generate_chain}'s.
    """
    generator = MainnetShapeGenerator(settings, validator_keys, seed, start_timestamp,
                                      accounts)  # bad arguments fail at the call
    return (generator.next_block() for _ in range(blocks))
