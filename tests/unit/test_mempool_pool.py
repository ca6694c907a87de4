"""
Tests for L{neo_twisted.mempool.pool}: the pool's own rules, eviction and block removal.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.core.components import (
    AttributeUsage,
    CoinReference,
    TransactionAttribute,
    TransactionOutput,
)
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    ClaimTransaction,
    ContractTransaction,
    IssueTransaction,
    MinerTransaction,
)
from neo_twisted.mempool.outcome import Refusal
from neo_twisted.mempool.pool import MemoryPool, PoolEntry
from neo_twisted.wire.uint import UInt160, UInt256
from tests.support.ledger_samples import PRIVNET_GENESIS, make_block

OWNER = UInt160(b"\x01" * 20)
ASSET = UInt256(b"\x07" * 32)


def coin(n: int, index: int = 0) -> CoinReference:
    return CoinReference(UInt256(n.to_bytes(32, "little")), index)


def transfer(*inputs: CoinReference, tag: int = 0) -> ContractTransaction:
    """
    A transaction spending C{inputs}; C{tag} makes otherwise equal ones distinct.
    """
    return ContractTransaction(
        inputs=inputs,
        attributes=(TransactionAttribute(int(AttributeUsage.Remark), tag.to_bytes(4, "big")),),
        outputs=(TransactionOutput(GAS_ASSET_ID, 1, OWNER),))


def entry(tx: Transaction, fee: int = 0, size: int | None = None,
          issues: dict[UInt256, tuple[int, int]] | None = None) -> PoolEntry:
    return PoolEntry(tx, tx.size if size is None else size, fee, issues or {})


class ConflictTests(SynchronousTestCase):
    def test_shared_input_refused(self) -> None:
        """
        Two pool transactions never spend one output: the second is invalid.
        """
        pool = MemoryPool()
        first, second = transfer(coin(1), tag=1), transfer(coin(2), coin(1), tag=2)
        self.assertTrue(pool.add(entry(first))[0].accepted)
        outcome, _ = pool.add(entry(second))
        self.assertIs(outcome.refusal, Refusal.INVALID)
        self.assertIn("already spent by pool transaction", outcome.reason)
        self.assertIn(str(first.hash), outcome.reason)
        self.assertIsNotNone(pool.conflict(second))

    def test_same_transaction_twice(self) -> None:
        pool = MemoryPool()
        tx = transfer(coin(1))
        pool.add(entry(tx))
        outcome, _ = pool.add(entry(tx))
        self.assertIs(outcome.refusal, Refusal.ALREADY_EXISTS)
        self.assertEqual(len(pool), 1)

    def test_claims_clash(self) -> None:
        pool = MemoryPool()
        one = ClaimTransaction(claims=(coin(5),), outputs=(TransactionOutput(
            GAS_ASSET_ID, 10, OWNER),))
        two = ClaimTransaction(claims=(coin(6), coin(5)), outputs=(TransactionOutput(
            GAS_ASSET_ID, 20, OWNER),))
        self.assertTrue(pool.add(entry(one))[0].accepted)
        outcome, _ = pool.add(entry(two))
        self.assertIs(outcome.refusal, Refusal.INVALID)
        self.assertIn("already claimed", outcome.reason)

    def test_removal_frees_inputs(self) -> None:
        pool = MemoryPool()
        first, second = transfer(coin(1), tag=1), transfer(coin(1), tag=2)
        pool.add(entry(first))
        pool.remove(first.hash)
        self.assertTrue(pool.add(entry(second))[0].accepted)

    def test_issued_quantity_counts_the_pool(self) -> None:
        """
        Issues of one asset by pool transactions add up against what the chain allows.
        """
        pool = MemoryPool()
        issue = [IssueTransaction(outputs=(TransactionOutput(ASSET, 60, OWNER),),
                                  attributes=(TransactionAttribute(0xF0, bytes([i])),))
                 for i in range(3)]
        self.assertTrue(pool.add(entry(issue[0], issues={ASSET: (60, 100)}))[0].accepted)
        outcome, _ = pool.add(entry(issue[1], issues={ASSET: (60, 100)}))
        self.assertIs(outcome.refusal, Refusal.INVALID)
        self.assertIn("exceeds what is left", outcome.reason)
        pool.remove(issue[0].hash)
        self.assertTrue(pool.add(entry(issue[2], issues={ASSET: (60, 100)}))[0].accepted)


class EvictionTests(SynchronousTestCase):
    def test_lowest_fee_per_byte_leaves(self) -> None:
        """
        A full pool evicts the lowest fee per byte for a newcomer that pays more.
        """
        pool = MemoryPool(capacity=3)
        txs = [transfer(coin(i), tag=i) for i in range(4)]
        pool.add(entry(txs[0], fee=3000, size=100))   # 30 per byte
        pool.add(entry(txs[1], fee=1000, size=100))   # 10 per byte: lowest
        pool.add(entry(txs[2], fee=2000, size=100))   # 20 per byte
        outcome, evicted = pool.add(entry(txs[3], fee=1500, size=100))
        self.assertTrue(outcome.accepted)
        self.assertEqual([e.tx for e in evicted], [txs[1]])
        self.assertEqual(set(pool.txids()), {txs[0].hash, txs[2].hash, txs[3].hash})
        # the evicted transaction's input is free again
        self.assertIsNone(pool.conflict(transfer(coin(1), tag=99)))

    def test_newcomer_no_better_is_refused(self) -> None:
        pool = MemoryPool(capacity=2)
        pool.add(entry(transfer(coin(0), tag=0), fee=1000, size=100))
        pool.add(entry(transfer(coin(1), tag=1), fee=2000, size=100))
        outcome, evicted = pool.add(entry(transfer(coin(2), tag=2), fee=1000, size=100))
        self.assertIs(outcome.refusal, Refusal.OUT_OF_MEMORY)
        self.assertEqual(evicted, [])
        self.assertEqual(len(pool), 2)

    def test_order_fee_then_hash(self) -> None:
        """
        Equal fee per byte: the lower fee goes first; equal fees: the lower hash.
        """
        pool = MemoryPool(capacity=2)
        a, b = transfer(coin(0), tag=0), transfer(coin(1), tag=1)
        pool.add(entry(a, fee=100, size=10))    # 10 per byte, fee 100
        pool.add(entry(b, fee=1000, size=100))  # 10 per byte, fee 1000
        newcomer = transfer(coin(2), tag=2)
        _, evicted = pool.add(entry(newcomer, fee=5000, size=100))
        self.assertEqual([e.tx for e in evicted], [a])
        low, high = sorted([transfer(coin(3), tag=3), transfer(coin(4), tag=4)],
                           key=lambda tx: int.from_bytes(tx.hash, "little"))
        pool = MemoryPool(capacity=2)
        pool.add(entry(high, fee=50, size=10))
        pool.add(entry(low, fee=50, size=10))
        _, evicted = pool.add(entry(newcomer, fee=5000, size=100))
        self.assertEqual([e.tx for e in evicted], [low])

    def test_heap_stays_bounded(self) -> None:
        pool = MemoryPool(capacity=10)
        for i in range(1000):
            tx = transfer(coin(i), tag=i)
            pool.add(entry(tx, fee=i))
            pool.remove(tx.hash)
        self.assertLess(len(pool._ranks), 100)


class BlockTests(SynchronousTestCase):
    def test_block_removes_included_and_conflicting(self) -> None:
        pool = MemoryPool()
        included = transfer(coin(1), tag=1)
        rival = transfer(coin(2), tag=2)       # spends what the block's other tx spends
        bystander = transfer(coin(3), tag=3)
        claim = ClaimTransaction(claims=(coin(9),), outputs=(TransactionOutput(
            GAS_ASSET_ID, 5, OWNER),))
        for tx in (included, rival, bystander, claim):
            self.assertTrue(pool.add(entry(tx))[0].accepted)
        block_claim = ClaimTransaction(claims=(coin(9),), outputs=(TransactionOutput(
            GAS_ASSET_ID, 6, OWNER),))
        block = make_block(PRIVNET_GENESIS.header,
                           [included, transfer(coin(2), tag=7), block_claim], sign=False)
        self.assertIsInstance(block, Block)
        removed = pool.remove_for_block(block)
        self.assertEqual({e.tx.hash for e in removed}, {included.hash, rival.hash, claim.hash})
        self.assertEqual(pool.txids(), [bystander.hash])

    def test_claimed_coin_does_not_remove_spenders(self) -> None:
        """
        A block claiming an output says nothing about pool transactions spending another.
        """
        pool = MemoryPool()
        spender = transfer(coin(9), tag=1)
        pool.add(entry(spender))
        block_claim = ClaimTransaction(claims=(coin(9),), outputs=(TransactionOutput(
            GAS_ASSET_ID, 6, OWNER),))
        pool.remove_for_block(Block(PRIVNET_GENESIS.header,
                                    (MinerTransaction(nonce=1), block_claim)))
        self.assertIn(spender.hash, pool)
