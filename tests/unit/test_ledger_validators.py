"""
The vote state kept by the ledger (L{neo_twisted.ledger.validators}): blocks with
votes elect the next block's validators, NextConsensus is compared and never
refused, a rolled-back batch leaves no trace, the state survives reopening, a
schema 1 store is upgraded, and C{neonode check} replays it.
"""

from __future__ import annotations

from collections.abc import Sequence

import lmdb
from twisted.logger import Logger, LogLevel
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.core.components import CoinReference
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    ContractTransaction,
)
from neo_twisted.crypto.scripts import consensus_address
from neo_twisted.ledger.chain import Verdict
from neo_twisted.ledger.check import check_store
from neo_twisted.ledger.store import SCHEMA_VERSION, u32
from neo_twisted.ledger.votestore import COUNTS_KEY, decode_votes, encode_votes
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160, UInt256
from tests.support.ledger_samples import (
    PRIVNET,
    PRIVNET_GENESIS,
    accept_all,
    make_block,
    open_ledger,
)
from tests.support.logs import appending_to
from tests.support.vote_samples import CANDIDATE, FIVE, STANDBY, A, election, funding, neo, vote


class LedgerCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.datadir = self.mktemp()
        self.ledger = open_ledger(self, self.datadir, mapper=accept_all)
        self.block1 = make_block(PRIVNET_GENESIS.header, [funding()])

    def add(self, *blocks: Block) -> list[Verdict]:
        return [result.verdict for result in self.ledger.add_blocks(blocks)]

    def elect_block(self, previous: Block, next_consensus: UInt160 | None = None,
                    txs: Sequence[Transaction] | None = None) -> Block:
        return make_block(previous.header, election() if txs is None else txs,
                          next_consensus=next_consensus or consensus_address(FIVE))


class ElectionTests(LedgerCase):
    def test_no_votes_standby(self) -> None:
        """
        Section 6, E1: with no votes, the standby keys sorted; genesis's NextConsensus.
        """
        tracker = self.ledger.validators
        self.assertEqual(tracker.next_validators, tuple(sorted(STANDBY)))
        self.assertEqual(tracker.election.address, PRIVNET_GENESIS.header.next_consensus)
        self.assertEqual(tracker.enrollments(), [])

    def test_votes_elect_a_fifth(self) -> None:
        """
        A block registering and voting elects the candidate: five validators for the
        next block, the block's NextConsensus matched, RPC's list shows the votes.
        """
        block2 = self.elect_block(self.block1)
        self.assertEqual(self.add(self.block1, block2), [Verdict.ACCEPTED] * 2)
        tracker = self.ledger.validators
        self.assertEqual(tracker.next_validators, FIVE)
        self.assertEqual(tracker.mismatches, 0)
        self.assertEqual(self.ledger.get_votes(A), (*STANDBY, CANDIDATE))
        listed = {entry["publickey"]: entry for entry in tracker.enrollments()}
        self.assertEqual(listed[CANDIDATE.encode().hex()],
                         {"publickey": CANDIDATE.encode().hex(), "votes": "1000",
                          "active": True})

    def test_mismatch_counted_not_refused(self) -> None:
        """
        A block whose NextConsensus is not the computed one is accepted and counted.
        """
        stale = self.elect_block(self.block1, next_consensus=self.block1.header.next_consensus)
        self.assertEqual(self.add(self.block1, stale), [Verdict.ACCEPTED] * 2)
        tracker = self.ledger.validators
        self.assertEqual(tracker.mismatches, 1)
        assert tracker.last_mismatch is not None
        self.assertEqual((tracker.last_mismatch.index, tracker.last_mismatch.expected),
                         (2, consensus_address(FIVE)))

    def test_repeated_mismatch_warned_once(self) -> None:
        """
        A chain whose set this node cannot reproduce mismatches at every block: each
        is counted, the warning comes once for the same pair of addresses.
        """
        events: list[dict[str, object]] = []
        self.patch(self.ledger.validators, "_log", Logger(observer=appending_to(events)))
        stale = self.block1.header.next_consensus
        block2 = self.elect_block(self.block1, next_consensus=stale)
        block3 = make_block(block2.header, next_consensus=stale)
        self.add(self.block1, block2)
        self.add(block3)
        self.assertEqual(self.ledger.validators.mismatches, 2)
        warned = [e for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warned), 1)
        self.assertEqual(warned[0]["index"], 2)

    def test_either_formula_matches(self) -> None:
        """
        Section 7.1: a block made by a 2.6-2.10 node is no mismatch either: it counts 4
        validators here, the five having equal votes, the four lowest keys.
        """
        old = FIVE[:4]
        self.add(self.block1, self.elect_block(self.block1, consensus_address(old)))
        self.assertEqual(self.ledger.validators.mismatches, 0)
        self.assertEqual(self.ledger.validators.next_validators, FIVE)

    def test_reopened(self) -> None:
        self.add(self.block1, self.elect_block(self.block1))
        self.ledger.close()
        reopened = open_ledger(self, self.datadir, mapper=accept_all)
        self.assertEqual(reopened.validators.next_validators, FIVE)
        self.assertEqual(reopened.get_votes(A), (*STANDBY, CANDIDATE))

    def test_rolled_back_batch_leaves_no_votes(self) -> None:
        """
        A batch whose last block cannot be applied is written again without it: the
        votes of the blocks kept count, those of the refused block do not.
        """
        unvote = vote([])
        missing = ContractTransaction(inputs=(CoinReference(UInt256(b"\x01" * 32), 0),),
                                      outputs=(neo(1, A),))
        block2 = self.elect_block(self.block1)
        block3 = make_block(block2.header, [unvote, missing])
        self.assertEqual(self.add(self.block1, block2, block3),
                         [Verdict.ACCEPTED, Verdict.ACCEPTED, Verdict.INVALID])
        self.assertEqual(self.ledger.validators.next_validators, FIVE)
        self.assertEqual(self.ledger.get_votes(A), (*STANDBY, CANDIDATE))

    def test_checked(self) -> None:
        """
        C{neonode check} replays the vote state and finds it equal.
        """
        self.add(self.block1, self.elect_block(self.block1))
        self.ledger.close()
        self.assertEqual(check_store(self.datadir, PRIVNET), [])

    def test_check_finds_a_changed_vote(self) -> None:
        self.add(self.block1, self.elect_block(self.block1))
        store = self.ledger.store
        store.write(lambda txn: txn.put(bytes(A), encode_votes((CANDIDATE,)),
                                        db=store.dbs["votes"]))
        self.ledger.close()
        [problem] = check_store(self.datadir, PRIVNET)
        self.assertIn("votes: the store and a replay of the blocks differ", problem)


class ProposalTests(LedgerCase):
    def test_validators_after_a_proposal(self) -> None:
        """
        C{GetValidators(transactions)}: a proposal holding the votes gives the five;
        one without them, the standby set; the ledger is not changed.
        """
        self.add(self.block1)
        self.assertEqual(self.ledger.validators_after(election()), FIVE)
        self.assertEqual(self.ledger.validators_after([]), tuple(sorted(STANDBY)))
        self.assertEqual(self.ledger.validators.next_validators, tuple(sorted(STANDBY)))

    def test_transfers_in_a_proposal_move_votes(self) -> None:
        """
        The NEO a voter spends in the proposal leaves its candidates: with all of A's
        NEO gone, nobody votes and the standby set is back.
        """
        self.add(self.block1, self.elect_block(self.block1))
        away = ContractTransaction(inputs=(CoinReference(self.block1.transactions[1].hash, 0),),
                                   outputs=(neo(1000, b"\xbb" * 20),))
        self.assertEqual(self.ledger.validators_after([away]), tuple(sorted(STANDBY)))
        self.assertEqual(self.ledger.validators.next_validators, FIVE)


class UpgradeTests(LedgerCase):
    def downgrade(self) -> None:
        """
        Make the store what schema 1 wrote: no vote state, schema 1.
        """
        store = self.ledger.store

        def batch(txn: lmdb.Transaction) -> None:
            for name in ("votes", "validator"):
                txn.drop(store.dbs[name], delete=False)
            txn.delete(COUNTS_KEY, db=store.dbs["meta"])
            txn.put(b"schema", u32(1), db=store.dbs["meta"])

        store.write(batch)
        self.ledger.close()

    def test_votes_counted_again(self) -> None:
        self.add(self.block1, self.elect_block(self.block1))
        self.downgrade()
        upgraded = open_ledger(self, self.datadir, mapper=accept_all)
        self.assertEqual(upgraded.validators.next_validators, FIVE)
        self.assertEqual(upgraded.get_votes(A), (*STANDBY, CANDIDATE))
        with upgraded.store.read() as txn:
            self.assertEqual(txn.get(b"schema", db=upgraded.store.dbs["meta"]), u32(SCHEMA_VERSION))
        upgraded.close()
        self.assertEqual(check_store(self.datadir, PRIVNET), [])

    def test_chain_without_votes(self) -> None:
        self.add(self.block1)
        self.downgrade()
        upgraded = open_ledger(self, self.datadir, mapper=accept_all)
        self.assertEqual(upgraded.validators.next_validators, tuple(sorted(STANDBY)))
        self.assertEqual(upgraded.block_height, 1)


class EncodingTests(SynchronousTestCase):
    def test_votes_round_trip(self) -> None:
        """
        Stored votes keep their order; the point at infinity (a vote the mempool
        refuses, stored as it is when a block holds it: E8) is one byte.
        """
        votes = (CANDIDATE, ECPoint.infinity(), STANDBY[0])
        self.assertEqual(decode_votes(encode_votes(votes)), votes)
        self.assertEqual(len(encode_votes(votes)), 1 + 33 + 1 + 33)
