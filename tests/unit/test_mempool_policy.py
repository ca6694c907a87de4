"""
Tests for L{neo_twisted.mempool.policy} (the SimplePolicy rules), the pool's byte bound
and the C{Policy} section of C{protocol.json}.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.components import AttributeUsage, TransactionAttribute
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import ClaimTransaction, ContractTransaction
from neo_twisted.ledger.settings import (
    ConfigError,
    PolicySettings,
    load_protocol,
    settings_from_json,
)
from neo_twisted.mempool.outcome import Refusal
from neo_twisted.mempool.policy import (
    MINER_RESERVE,
    block_problem,
    is_low_priority,
    select_for_block,
    size_problem,
)
from neo_twisted.mempool.pool import MemoryPool, PoolEntry
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.support.ledger_samples import PRIVNET, ROOT

#: 0.001 GAS: the default LowPriorityThreshold.
THRESHOLD = FIXED8_ONE // 1000
POLICY = PolicySettings()


def remark_tx(tag: int, size: int = 0) -> ContractTransaction:
    """
    A ContractTransaction with nothing but Remarks, padded to C{size} bytes when asked.
    """
    def build(pad: int) -> ContractTransaction:
        chunks = [tag.to_bytes(4, "big") + bytes(min(pad, 60_000))]
        pad -= min(pad, 60_000)
        while pad > 0:
            chunks.append(bytes(min(pad, 60_000)))
            pad -= min(pad, 60_000)
        return ContractTransaction(attributes=tuple(
            TransactionAttribute(int(AttributeUsage.Remark), chunk) for chunk in chunks))

    pad = 0
    tx = build(pad)
    for _ in range(5):  # the length prefixes grow with the padding
        if tx.size >= size:
            break
        pad += size - tx.size
        tx = build(pad)
    return tx


def entry(tx: Transaction, fee: int, size: int | None = None) -> PoolEntry:
    return PoolEntry(tx, tx.size if size is None else size, fee,
                     low_priority=is_low_priority(tx, fee, PRIVNET))


class SizeRuleTests(SynchronousTestCase):
    """
    C{VerifySizeLimits}: free transactions are small; large ones pay per extra byte.
    """

    def test_free_small_passes(self) -> None:
        tx = remark_tx(1, 1020)
        self.assertLessEqual(tx.size, 1024)
        self.assertIsNone(size_problem(tx, tx.size, 0, PRIVNET))

    def test_free_large_refused(self) -> None:
        """
        The attack's transaction: 100 KB of Remarks and no fee.
        """
        tx = remark_tx(1, 100_000)
        problem = size_problem(tx, tx.size, 0, PRIVNET)
        self.assertIn("low-priority", problem or "")
        self.assertIn(str(tx.size), problem or "")

    def test_large_needs_fee_per_extra_byte(self) -> None:
        size = 1024 + 50_000
        needed = 1000 * 50_000  # 0.00001 GAS a byte: 0.5 GAS
        tx = remark_tx(1)
        self.assertIn("at least 0.5 GAS", size_problem(tx, size, needed - 1, PRIVNET) or "")
        self.assertIsNone(size_problem(tx, size, needed, PRIVNET))

    def test_paying_under_fee_per_byte_but_over_threshold(self) -> None:
        """
        A fee at the low-priority threshold makes a transaction paying, not large: it
        still owes the per-byte fee past 1024 bytes.
        """
        self.assertIsNotNone(size_problem(remark_tx(1), 2000, THRESHOLD, PRIVNET))

    def test_claims_exempt(self) -> None:
        claim = ClaimTransaction(claims=())
        self.assertIsNone(size_problem(claim, 50_000, 0, PRIVNET))
        self.assertFalse(is_low_priority(claim, 0, PRIVNET))

    def test_threshold(self) -> None:
        tx = remark_tx(1)
        self.assertTrue(is_low_priority(tx, THRESHOLD - 1, PRIVNET))
        self.assertFalse(is_low_priority(tx, THRESHOLD, PRIVNET))
        free_net = attrs.evolve(PRIVNET, low_priority_threshold=0)
        self.assertFalse(is_low_priority(tx, 0, free_net))


class BlockChoiceTests(SynchronousTestCase):
    """
    C{FilterForBlock}: the best paying first, few free ones, within the byte budget.
    """

    def test_counts(self) -> None:
        """
        At most 199 besides the miner, of which at most 20 free; paying ones first.
        """
        paying = [entry(remark_tx(i), THRESHOLD + i) for i in range(150)]
        free = [entry(remark_tx(1000 + i), 0) for i in range(300)]
        chosen = select_for_block(free + paying, POLICY)
        self.assertEqual(len(chosen), 150 + 20)
        self.assertEqual({e.tx.hash for e in chosen[:150]}, {e.tx.hash for e in paying})
        self.assertTrue(all(e.low_priority for e in chosen[150:]))
        self.assertIsNone(block_problem(chosen, 70, POLICY))

    def test_paying_fill_the_block(self) -> None:
        paying = [entry(remark_tx(i), THRESHOLD * 10) for i in range(300)]
        free = [entry(remark_tx(1000 + i), 0) for i in range(5)]
        chosen = select_for_block(paying + free, POLICY)
        self.assertEqual(len(chosen), 199)
        self.assertFalse(any(e.low_priority for e in chosen))

    def test_order_fee_per_byte_fee_then_lower_hash(self) -> None:
        a, b, c, d = (remark_tx(i) for i in range(4))
        entries = [entry(a, 10_000, 100), entry(b, 20_000, 100),    # 100 and 200 a byte
                   entry(c, 50_000, 500), entry(d, 50_000, 500)]    # 100 a byte, more fee
        chosen = select_for_block(entries, POLICY)
        self.assertEqual(chosen[0].tx, b)
        low, high = sorted([c, d], key=lambda tx: int.from_bytes(tx.hash, "little"))
        self.assertEqual([e.tx for e in chosen[1:]], [low, high, a])

    def test_byte_budget(self) -> None:
        """
        No more transaction bytes than MaxBlockSize (less the miner's reserve): a
        transaction that would pass it is skipped, a smaller one after it still fits.
        """
        policy = attrs.evolve(POLICY, max_block_size=10_000)
        big = [entry(remark_tx(i), 10 * THRESHOLD, 4000) for i in range(3)]
        small = entry(remark_tx(9), THRESHOLD, 1000)
        chosen = select_for_block([*big, small], policy)
        self.assertEqual(len(chosen), 3)
        self.assertLessEqual(sum(e.size for e in chosen), 10_000 - MINER_RESERVE)
        self.assertIn(small, chosen)

    def test_block_problem(self) -> None:
        free = [entry(remark_tx(i), 0) for i in range(21)]
        self.assertIn("21 low-priority", block_problem(free, 70, POLICY) or "")
        many = [entry(remark_tx(i), THRESHOLD) for i in range(200)]
        self.assertIn("201 transactions", block_problem(many, 70, POLICY) or "")
        big = [entry(remark_tx(i), THRESHOLD, 1_000_000) for i in range(3)]
        self.assertIn("bytes", block_problem(big, 70, POLICY) or "")
        self.assertIsNone(block_problem(many[:199], 70, POLICY))


class PoolBytesTests(SynchronousTestCase):
    """
    The pool is bounded in bytes as well as in count; low priority leaves first.
    """

    def test_bytes_bound_evicts_lowest(self) -> None:
        pool = MemoryPool(capacity=100, capacity_bytes=3000)
        first = [entry(remark_tx(i), THRESHOLD * (i + 1), 1000) for i in range(3)]
        for e in first:
            self.assertTrue(pool.add(e)[0].accepted)
        self.assertEqual(pool.bytes, 3000)
        outcome, evicted = pool.add(entry(remark_tx(9), THRESHOLD * 50, 1500))
        self.assertTrue(outcome.accepted)
        self.assertEqual([e.tx for e in evicted], [first[0].tx, first[1].tx])
        self.assertEqual(pool.bytes, 2500)

    def test_no_eviction_for_a_lower_rank(self) -> None:
        pool = MemoryPool(capacity=100, capacity_bytes=2000)
        pool.add(entry(remark_tx(1), THRESHOLD * 10, 1000))
        pool.add(entry(remark_tx(2), THRESHOLD, 1000))
        outcome, evicted = pool.add(entry(remark_tx(3), THRESHOLD * 2, 1500))
        self.assertIs(outcome.refusal, Refusal.OUT_OF_MEMORY)  # would push out both
        self.assertEqual((evicted, len(pool), pool.bytes), ([], 2, 2000))

    def test_too_big_for_the_pool(self) -> None:
        pool = MemoryPool(capacity=100, capacity_bytes=1000)
        outcome, _ = pool.add(entry(remark_tx(1), THRESHOLD * 10, 1001))
        self.assertIs(outcome.refusal, Refusal.OUT_OF_MEMORY)

    def test_low_priority_leaves_first(self) -> None:
        """
        A free transaction goes before a paying one, whatever it pays per byte.
        """
        pool = MemoryPool(capacity=2)
        free = entry(remark_tx(1), THRESHOLD - 1, 10)      # more per byte, but free
        paying = entry(remark_tx(2), THRESHOLD, 1000)
        pool.add(free)
        pool.add(paying)
        _, evicted = pool.add(entry(remark_tx(3), THRESHOLD, 900))
        self.assertEqual(evicted, [free])

    def test_removal_frees_bytes(self) -> None:
        pool = MemoryPool()
        e = entry(remark_tx(1), 0)
        pool.add(e)
        pool.remove(e.tx.hash)
        self.assertEqual(pool.bytes, 0)


class PolicyConfigTests(SynchronousTestCase):
    """
    The C{Policy} section: the reference's keys and defaults, each value checked.
    """

    def document(self, **policy: Any) -> dict[str, Any]:
        with open(ROOT / "protocol.json", encoding="utf-8") as f:
            document: dict[str, Any] = json.load(f)
        document["Policy"] = policy
        return document

    def test_bundled_files_hold_the_defaults(self) -> None:
        for name in ("protocol.json", "protocol.mainnet.json", "protocol.testnet.json"):
            self.assertEqual(load_protocol(ROOT / name).policy, PolicySettings(), name)

    def test_defaults_when_absent(self) -> None:
        document = self.document()
        del document["Policy"]
        self.assertEqual(settings_from_json(document).policy, PolicySettings())

    def test_values(self) -> None:
        policy = settings_from_json(self.document(
            MaxTransactionsPerBlock=500, MaxFreeTransactionsPerBlock=0,
            MaxFreeTransactionSize=2048, FeePerExtraByte="0.0001", MaxBlockSize=1_000_000,
            HighPriorityTxType=[])).policy
        self.assertEqual(policy, PolicySettings(500, 0, 2048, 10_000, 1_000_000, frozenset()))

    def test_bad_values(self) -> None:
        for key, value, words in [
                ("MaxTransactionsPerBlock", 0, "from 1 to 65535"),
                ("MaxTransactionsPerBlock", "200", "integer"),
                ("MaxBlockSize", 64 * 1024 * 1024, "to 16777216"),
                ("FeePerExtraByte", -1, "negative"),
                ("HighPriorityTxType", ["Claim"], "transaction type"),
                ("Surprise", 1, "unknown")]:
            with self.assertRaises(ConfigError) as raised:
                settings_from_json(self.document(**{key: value}))
            self.assertIn(f"Policy: {key}" if key != "Surprise" else "Policy.Surprise",
                          str(raised.exception).replace("Policy.Fee", "Policy: Fee")
                          .replace("Policy.High", "Policy: High"))
            self.assertIn(words, str(raised.exception))
        with self.assertRaises(ConfigError):
            settings_from_json({**self.document(), "Policy": []})
