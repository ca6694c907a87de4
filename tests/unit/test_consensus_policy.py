"""
The block policy under a free-transaction flood: four validators and a relay in
memory (L{tests.support.consensus_network}) keep making blocks every node can fetch.

Before the policy, a peer with no coins filled the pool with 100 KB transactions
carrying nothing but Remarks (fee 0), the primary proposed them all, and a
~50 MB block came out that no P2P frame could carry: every relay stopped at the
block before it for good.
"""

from __future__ import annotations

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.core.transactions import ContractTransaction
from neo_twisted.mempool.outcome import Outcome, Refusal
from neo_twisted.mempool.policy import is_low_priority
from neo_twisted.network.frame import MAX_PAYLOAD_SIZE
from tests.support.consensus_network import CHAIN, SECONDS, Member, Network
from tests.support.ledger_samples import DEV_KEYS, PRIVNET
from tests.support.transaction_samples import remarks

POLICY = PRIVNET.policy


class FloodTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.net = Network(self)
        self.members = [Member(self, self.net.clock, i + 1, key, CHAIN)
                        for i, key in enumerate(DEV_KEYS)]
        self.relay = Member(self, self.net.clock, 9, None, CHAIN)
        self.net.mesh([*self.members, self.relay])

    def submit(self, member: Member, tx: ContractTransaction) -> Outcome:
        outcomes: list[Outcome] = []
        member.mempool.submit(tx).addCallback(outcomes.append)
        self.net.settle()
        self.assertEqual(len(outcomes), 1)
        return outcomes[0]

    def blocks(self, member: Member) -> list[Block]:
        found = []
        for index in range(len(CHAIN) + 1, member.height + 1):
            block = member.ledger.get_block(index)
            assert block is not None
            found.append(block)
        return found

    def assert_within_policy(self, block: Block) -> None:
        free = [tx for tx in block.transactions[1:] if is_low_priority(tx, 0, PRIVNET)]
        self.assertLessEqual(len(block.transactions), POLICY.max_transactions_per_block)
        self.assertLessEqual(len(free), POLICY.max_free_transactions_per_block)
        self.assertLessEqual(block.size, POLICY.max_block_size)
        self.assertLess(block.size, MAX_PAYLOAD_SIZE)

    def test_free_flood(self) -> None:
        """
        100 KB free transactions are refused by policy (-505, not invalid); a flood of
        300 small free ones is taken 20 a block, and the relay fetches every block.
        """
        for n in range(5):
            outcome = self.submit(self.members[n % 4], remarks(n, 100_000))
            self.assertIs(outcome.refusal, Refusal.POLICY_FAIL, outcome)
        for n in range(300):
            self.assertTrue(self.submit(self.members[n % 4], remarks(1000 + n, 900)).accepted)
        for member in self.members:
            member.start()
        start = len(CHAIN)
        everyone = [*self.members, self.relay]
        self.net.run(everyone, 20 * SECONDS,
                     until=lambda: all(m.height >= start + 15 for m in everyone))
        self.assertEqual({m.height for m in everyone}, {start + 15})
        blocks = self.blocks(self.relay)
        for block in blocks:
            self.assert_within_policy(block)
        self.assertEqual([len(b.transactions) - 1 for b in blocks], [20] * 15)
        self.assertEqual(len(self.relay.mempool.pool), 0)  # 300 = 15 blocks of 20

    def test_backups_refuse_a_greedy_primary(self) -> None:
        """
        A primary proposing 60 free transactions is refused (view change); the next
        primary's block keeps to the policy.
        """
        for n in range(60):
            self.assertTrue(self.submit(self.members[n % 4], remarks(n, 500)).accepted)
        primary = self.members[(len(CHAIN) + 1) % 4]
        consensus = primary.consensus
        assert consensus is not None
        consensus._policy = attrs.evolve(POLICY, max_free_transactions_per_block=100)
        for member in self.members:
            member.start()
        height = len(CHAIN) + 1
        self.net.run(self.members, 10 * SECONDS,
                     until=lambda: all(m.height >= height for m in self.members))
        block = self.members[0].ledger.get_block(height)
        assert block is not None
        self.assert_within_policy(block)
        self.assertEqual(len(block.transactions), 21)
        for member in self.members:
            assert member.consensus is not None
            self.assertEqual([r["view"] for r in member.consensus.recent], [1])
