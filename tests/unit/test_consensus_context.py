"""
Tests for L{neo_twisted.consensus.context} and L{neo_twisted.consensus.proposal}:
a round's transitions, what each state ignores, and the block a round makes.
"""

from __future__ import annotations

import random

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.consensus.context import (
    ConsensusContext,
    ConsensusState,
    ignored,
    primary_index,
)
from neo_twisted.consensus.proposal import (
    choose,
    make_proposal,
    net_fee,
    proposal_problem,
    validators_of,
)
from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.consensus import ChangeView, PrepareRequest, PrepareResponse
from neo_twisted.core.transactions import GAS_ASSET_ID, ContractTransaction, StateTransaction
from neo_twisted.crypto.scripts import consensus_address
from neo_twisted.crypto.witness import verify_witness
from neo_twisted.ledger.settings import PolicySettings
from neo_twisted.mempool.pool import PoolEntry
from neo_twisted.wire.uint import UInt160
from tests.support.ledger_samples import CONSENSUS_HASH, DEV_KEYS, PRIVNET, PRIVNET_GENESIS

VALIDATORS = validators_of(PRIVNET)
S = ConsensusState


POLICY = PolicySettings()


def entry(fee: int, remark: int = 0, *, kind: type = ContractTransaction) -> PoolEntry:
    tx = kind(outputs=(TransactionOutput(GAS_ASSET_ID, remark + 1, UInt160(bytes(20))),))
    return PoolEntry(tx, tx.size, fee)


def round_for(me: int) -> ConsensusContext:
    return ConsensusContext.start(VALIDATORS, DEV_KEYS[me].public_key, PRIVNET_GENESIS.header)


def propose(ctx: ConsensusContext, entries: list[PoolEntry] = []) -> None:  # noqa: B006
    proposal = make_proposal(entries, VALIDATORS, DEV_KEYS[ctx.primary_index].script_hash,
                             lambda _: False, random.Random(1))
    ctx.take_proposal(PRIVNET_GENESIS.header.timestamp + 15, proposal.nonce,
                      proposal.next_consensus, proposal.hashes, proposal.miner)
    for e in entries:
        ctx.add_entry(e)


class ValidatorTests(SynchronousTestCase):
    def test_sorted_standby_validators(self) -> None:
        self.assertEqual(VALIDATORS, tuple(k.public_key for k in DEV_KEYS))
        self.assertEqual(consensus_address(VALIDATORS), CONSENSUS_HASH)

    def test_primary_rotates_backwards_with_the_view(self) -> None:
        self.assertEqual([primary_index(9, view, 4) for view in range(5)], [1, 0, 3, 2, 1])
        self.assertEqual(primary_index(0, 3, 4), 1)  # never negative


class IgnoredTests(SynchronousTestCase):
    """
    The table of messages a state ignores (C{OnConsensusPayload} and its handlers).
    """

    request = PrepareRequest(view_number=0, nonce=0, next_consensus=UInt160(bytes(20)),
                             transaction_hashes=(), miner_transaction=entry(0).tx,
                             signature=bytes(64))
    response = PrepareResponse(view_number=0, signature=bytes(64))
    change = ChangeView(view_number=0, new_view_number=1)

    def test_everything_ignored_once_the_block_is_made(self) -> None:
        for message in (self.request, self.response, self.change):
            self.assertIsNotNone(ignored(S.BACKUP | S.BLOCK_SENT, message, True))

    def test_proposal_only_from_the_primary_to_a_backup_once(self) -> None:
        self.assertIsNone(ignored(S.BACKUP, self.request, True))
        self.assertIn("not the primary", ignored(S.BACKUP, self.request, False) or "")
        self.assertIn("already", ignored(S.BACKUP | S.REQUEST_RECEIVED, self.request, True) or "")
        self.assertIn("to the primary", ignored(S.PRIMARY, self.request, True) or "")

    def test_responses_and_view_changes_in_any_live_state(self) -> None:
        for state in (S.PRIMARY | S.REQUEST_SENT, S.BACKUP | S.VIEW_CHANGING,
                      S.BACKUP | S.REQUEST_RECEIVED | S.SIGNATURE_SENT):
            self.assertIsNone(ignored(state, self.response, False))
            self.assertIsNone(ignored(state, self.change, False))


class ContextTests(SynchronousTestCase):
    def test_start(self) -> None:
        ctx = round_for(2)
        self.assertEqual((ctx.my_index, ctx.block_index, ctx.primary_index, ctx.m),
                         (2, 1, 1, 3))
        self.assertEqual((ctx.signatures, ctx.expected_view), ([None] * 4, [0] * 4))
        stranger = ConsensusContext.start(VALIDATORS, None, PRIVNET_GENESIS.header)
        self.assertEqual(stranger.my_index, -1)

    def test_view_change_forgets_an_unsigned_proposal(self) -> None:
        ctx = round_for(2)
        ctx.state = S.BACKUP | S.REQUEST_RECEIVED
        propose(ctx)
        ctx.signatures[1] = b"s" * 64
        ctx.change_view(1)
        self.assertEqual((ctx.view, ctx.primary_index, ctx.state), (1, 0, S.INITIAL))
        self.assertIsNone(ctx.transaction_hashes)
        self.assertEqual((ctx.signatures, ctx.expected_view[2]), ([None] * 4, 1))

    def test_view_change_keeps_what_was_signed(self) -> None:
        ctx = round_for(2)
        ctx.state = S.BACKUP | S.REQUEST_RECEIVED | S.SIGNATURE_SENT
        propose(ctx)
        ctx.signatures[1] = b"s" * 64
        ctx.change_view(1)
        self.assertEqual(ctx.state, S.SIGNATURE_SENT)
        self.assertIsNotNone(ctx.transaction_hashes)
        self.assertEqual(ctx.signature_count, 1)

    def test_block_of_m_signatures_in_validator_order(self) -> None:
        """
        The block takes the first M signatures in key order; its witness satisfies the
        previous header's NextConsensus.
        """
        ctx = round_for(0)
        propose(ctx)
        header = ctx.header()
        assert header is not None
        signed = header.unsigned_bytes()
        for i in (3, 1, 0, 2):
            ctx.signatures[i] = DEV_KEYS[i].sign(signed)
        ctx.drop_invalid_signatures(signed)
        block = ctx.block()
        self.assertEqual(block.hash, header.hash)
        self.assertEqual(block.header.witness.invocation_script,
                         b"".join(b"\x40" + ctx.signatures[i] for i in (0, 1, 2)))  # type: ignore[operator]
        witness = block.header.witness
        self.assertTrue(verify_witness(signed, witness.invocation_script,
                                       witness.verification_script,
                                       PRIVNET_GENESIS.header.next_consensus))
        self.assertIsNone(block.problem())

    def test_signatures_of_another_header_dropped(self) -> None:
        ctx = round_for(0)
        propose(ctx)
        ctx.signatures[1] = DEV_KEYS[1].sign(b"another header")
        header = ctx.header()
        assert header is not None
        ctx.drop_invalid_signatures(header.unsigned_bytes())
        self.assertEqual(ctx.signatures[1], None)


class ProposalTests(SynchronousTestCase):
    def test_miner_pays_the_network_fee_to_the_primary(self) -> None:
        entries = [entry(5), entry(7, 1)]
        proposal = make_proposal(entries, VALIDATORS, DEV_KEYS[1].script_hash,
                                 lambda _: False, random.Random(3))
        [output] = proposal.miner.outputs
        self.assertEqual((output.value, output.script_hash), (12, DEV_KEYS[1].script_hash))
        self.assertEqual(proposal.hashes[1:], tuple(e.tx.hash for e in entries))
        self.assertEqual(proposal.miner.nonce, proposal.nonce & 0xFFFFFFFF)
        self.assertIsNone(proposal_problem(proposal.next_consensus, proposal.miner, entries,
                                           VALIDATORS, POLICY))

    def test_no_fee_no_output(self) -> None:
        proposal = make_proposal([], VALIDATORS, DEV_KEYS[1].script_hash, lambda _: False,
                                 random.Random(3))
        self.assertEqual(proposal.miner.outputs, ())

    def test_miner_hash_drawn_again_when_taken(self) -> None:
        taken: list[bytes] = []

        def on_chain(txid: bytes) -> bool:
            taken.append(txid)
            return len(taken) == 1

        proposal = make_proposal([], VALIDATORS, DEV_KEYS[1].script_hash, on_chain,
                                 random.Random(3))
        self.assertEqual(len(taken), 2)
        self.assertEqual(proposal.miner.hash, taken[1])

    def test_problems(self) -> None:
        entries = [entry(5)]
        good = make_proposal(entries, VALIDATORS, DEV_KEYS[1].script_hash, lambda _: False,
                             random.Random(3))
        self.assertIn("NextConsensus", proposal_problem(UInt160(b"\x01" * 20), good.miner,
                                                        entries, VALIDATORS, POLICY) or "")
        greedy = make_proposal([entry(6)], VALIDATORS, DEV_KEYS[1].script_hash,
                               lambda _: False, random.Random(3))
        self.assertIn("pays 6", proposal_problem(good.next_consensus, greedy.miner, entries,
                                                 VALIDATORS, POLICY) or "")
        voting = [entry(0, kind=StateTransaction)]
        self.assertIsNone(proposal_problem(good.next_consensus, make_proposal(
            voting, VALIDATORS, DEV_KEYS[1].script_hash, lambda _: False,
            random.Random(3)).miner, voting, VALIDATORS, POLICY))
        elected = VALIDATORS[:3]  # what votes in the proposal would leave: another address
        self.assertIn("validators after its transactions", proposal_problem(
            good.next_consensus, good.miner, entries, elected, POLICY) or "")
        over = attrs.evolve(POLICY, max_transactions_per_block=1)
        self.assertIn("more than the policy's 1", proposal_problem(
            good.next_consensus, good.miner, entries, VALIDATORS, over) or "")

    def test_choose_best_paying_votes_too(self) -> None:
        """
        Votes are chosen like any transaction (the proposal's NextConsensus follows them).
        """
        entries = [entry(1, 1), entry(9, 2, kind=StateTransaction), entry(0, 3), entry(5, 4)]
        chosen = choose(entries, attrs.evolve(POLICY, max_transactions_per_block=3))
        self.assertEqual([e.network_fee for e in chosen], [9, 5])
        self.assertIsInstance(chosen[0].tx, StateTransaction)
        self.assertEqual(net_fee(chosen), 14)
