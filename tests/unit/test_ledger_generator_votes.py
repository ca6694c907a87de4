"""
Tests for L{neo_twisted.ledger.generator_votes}: a generated chain that registers a
candidate and votes it in is accepted by a ledger block by block, every block's
NextConsensus is the address the ledger computes, the election transactions pass
the pool's rules, and chains without an election are unchanged.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import cast

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.fees import VALIDATOR_REGISTRATION_FEE, system_fee
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    STATE_ACCOUNT,
    STATE_VALIDATOR,
    ClaimTransaction,
    StateTransaction,
)
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.crypto.scripts import bft_threshold, consensus_address, multisig_redeem_script
from neo_twisted.crypto.witness import pushed_items
from neo_twisted.ledger.chain import Ledger, Verdict
from neo_twisted.ledger.check import check_store
from neo_twisted.ledger.generator import generate_chain
from neo_twisted.ledger.generator_votes import ElectionPlan
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.view import ledger_view
from neo_twisted.ledger.votes import vote_value
from neo_twisted.mempool.policy import size_problem
from neo_twisted.mempool.rules import check_against_chain
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.support.election_chain import (
    BLOCKS,
    ELECT_AT,
    SEED,
    K,
    election_chain,
    five,
    plan,
    privnet,
)

ROOT = Path(__file__).resolve().parents[2]
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class ImportTests(SynchronousTestCase):
    """
    A ledger accepts the chain and elects what the generator signed with.
    """

    def open_ledger(self, settings: ProtocolSettings) -> tuple[Ledger, str]:
        datadir = self.mktemp()
        ledger = Ledger.open(datadir, settings)
        self.addCleanup(ledger.close)
        return ledger, datadir

    def test_import_elects(self) -> None:
        """
        Every block is accepted; after the vote the next validators are the four standby
        keys and the candidate; no block's NextConsensus differs from the computed one;
        C{check_store} finds nothing wrong.
        """
        settings, _, candidate = privnet()
        ledger, datadir = self.open_ledger(settings)
        chain = election_chain()
        results = ledger.add_blocks(chain[:ELECT_AT - 1])
        self.assertEqual({r.verdict for r in results}, {Verdict.ACCEPTED})
        self.assertEqual(ledger.validators.next_validators,
                         tuple(sorted(settings.standby_validators)))
        results = ledger.add_blocks(chain[ELECT_AT - 1:])
        self.assertEqual({r.verdict for r in results}, {Verdict.ACCEPTED})
        self.assertEqual(ledger.block_height, BLOCKS)
        self.assertEqual(ledger.validators.next_validators, five())
        self.assertIn(candidate.public_key, ledger.validators.next_validators)
        self.assertEqual((ledger.validators.mismatches, ledger.validators.last_mismatch),
                         (0, None))
        ledger.close()
        self.assertEqual(check_store(datadir, settings), [])

    def test_votes_follow_neo(self) -> None:
        """
        After the vote, transfers keep moving the voters' NEO and their candidates'
        votes with it: at the tip each of the five has exactly the voters' NEO.
        """
        settings, _, _ = privnet()
        ledger, _ = self.open_ledger(settings)
        chain = election_chain()
        [vote] = chain[ELECT_AT - 1].transactions[1 + K:]
        assert isinstance(vote, StateTransaction)
        voters = [d.key for d in vote.descriptors]

        def voters_neo() -> int:
            return sum(ledger.get_balances(v).get(NEO_ASSET_ID, 0) for v in voters)

        def votes() -> set[int]:
            return {int(cast(str, e["votes"])) * FIXED8_ONE
                    for e in ledger.validators.enrollments()}

        ledger.add_blocks(chain[:ELECT_AT])
        at_vote = voters_neo()
        self.assertEqual(votes(), {at_vote})
        ledger.add_blocks(chain[ELECT_AT:])
        self.assertEqual(votes(), {voters_neo()})
        self.assertNotEqual(voters_neo(), at_vote)
        self.assertEqual({e["publickey"] for e in ledger.validators.enrollments()},
                         {key.encode().hex() for key in five()})

    def test_election_passes_the_pool(self) -> None:
        """
        The claim, the registration and the votes each pass the pool's rules against
        the chain before their block, size policy included: the claim creates exactly
        the GAS claimable, the registration burns 1000 GAS, the votes pay their
        network fee.
        """
        settings, _, candidate = privnet()
        ledger, _ = self.open_ledger(settings)
        chain = election_chain()
        ledger.add_blocks(chain[:ELECT_AT - 3])
        found = []
        for block in chain[ELECT_AT - 3:ELECT_AT]:
            _, *transfers, special = block.transactions
            self.assertEqual(len(transfers), K)
            with ledger_view(ledger) as view:
                for tx in [*transfers, special]:
                    result = check_against_chain(tx, view, settings)
                    self.assertIsNone(result.problem, f"block {block.index}: {tx.type_name}")
                    self.assertIsNone(size_problem(tx, tx.size, result.network_fee, settings))
            found.append((special, result))
            self.assertEqual(ledger.add_block(block).verdict, Verdict.ACCEPTED)
        (claim, _), (registration, registered), (vote, voted) = found
        assert isinstance(claim, ClaimTransaction)
        self.assertEqual([o.asset_id for o in claim.outputs], [GAS_ASSET_ID])
        self.assertGreaterEqual(claim.outputs[0].value, VALIDATOR_REGISTRATION_FEE)
        assert isinstance(registration, StateTransaction)
        [descriptor] = registration.descriptors
        self.assertEqual((descriptor.type, descriptor.key, descriptor.field, descriptor.value),
                         (STATE_VALIDATOR, candidate.public_key.encode(), "Registered",
                          b"\x01"))
        self.assertEqual((registered.system_fee, registered.network_fee),
                         (VALIDATOR_REGISTRATION_FEE, 0))
        self.assertEqual(system_fee(registration, settings.system_fees),
                         VALIDATOR_REGISTRATION_FEE)
        assert isinstance(vote, StateTransaction)
        self.assertGreater(vote.size, settings.policy.max_free_transaction_size)
        self.assertGreater(voted.network_fee, 0)
        value = vote_value([*settings.standby_validators, candidate.public_key])
        self.assertEqual({(d.type, d.field, d.value) for d in vote.descriptors},
                         {(STATE_ACCOUNT, "Votes", value)})

    def test_count_formula_of_26(self) -> None:
        """
        With the 2.6-2.10 count formula, five candidates each voted for by everyone give
        four validators: the four lowest keys of the five, the candidate among them.
        """
        settings, _, candidate = privnet()
        old = attrs.evolve(settings, validator_count_plus_one=False)
        ledger, _ = self.open_ledger(old)
        chain = election_chain(plus_one=False)
        results = ledger.add_blocks(chain)
        self.assertEqual({r.verdict for r in results}, {Verdict.ACCEPTED})
        self.assertEqual(chain[ELECT_AT - 1].header.next_consensus,
                         consensus_address(five()[:4]))
        self.assertEqual(ledger.validators.next_validators, five()[:4])
        self.assertIn(candidate.public_key, five()[:4])
        self.assertEqual(ledger.validators.mismatches, 0)


class ChainShapeTests(SynchronousTestCase):
    """
    Where the election sits in the chain, and who signs which block.
    """

    def test_signers(self) -> None:
        """
        Blocks up to the vote name the standby validators and are signed by 3 of them;
        the vote's block names the five; the next is signed by 4 of the five.
        """
        settings, _, _ = privnet()
        chain = election_chain()
        standby = consensus_address(settings.standby_validators)
        self.assertEqual({b.header.next_consensus for b in chain[:ELECT_AT - 1]}, {standby})
        self.assertEqual(chain[ELECT_AT - 1].header.next_consensus, consensus_address(five()))
        for block, keys in ((chain[ELECT_AT - 1], settings.standby_validators),
                            (chain[ELECT_AT], five())):
            witness = block.header.witness
            m = bft_threshold(len(keys))
            self.assertEqual(witness.verification_script, multisig_redeem_script(m, keys))
            self.assertEqual(len(pushed_items(witness.invocation_script) or ()), m)

    def test_steps(self) -> None:
        """
        The claim, the registration and the votes come in the three blocks up to the
        vote's height, each after the block's transfers.
        """
        chain = election_chain()
        kinds = [[type(tx).__name__ for tx in b.transactions[1 + K:]]
                 for b in chain[ELECT_AT - 4:ELECT_AT + 1]]
        self.assertEqual(kinds, [[], ["ClaimTransaction"], ["StateTransaction"],
                                 ["StateTransaction"], []])

    def test_prefix_unchanged(self) -> None:
        """
        Up to the block before the claim, the chain is byte for byte the one without
        an election; from the claim on it differs.
        """
        settings, keys, _ = privnet()
        plain = [b.to_bytes() for b in generate_chain(settings, keys, ELECT_AT, K, SEED)]
        elected = [b.to_bytes() for b in election_chain()[:ELECT_AT]]
        self.assertEqual(elected[:ELECT_AT - 3], plain[:ELECT_AT - 3])
        self.assertNotEqual(elected[ELECT_AT - 3], plain[ELECT_AT - 3])

    def test_deterministic(self) -> None:
        """
        The same arguments give the same bytes.
        """
        settings, keys, _ = privnet()
        again = generate_chain(settings, keys, BLOCKS, K, SEED, election=plan())
        self.assertEqual([b.to_bytes() for b in again],
                         [b.to_bytes() for b in election_chain()])


class PlanTests(SynchronousTestCase):
    """
    Plans the generator cannot carry out are refused, with the reason.
    """

    def test_refused_at_the_call(self) -> None:
        """
        A standby key as candidate, a vote before block 3, or no transfers: refused
        when the generator is made.
        """
        settings, keys, _ = privnet()
        for election, txs, fragment in (
                (ElectionPlan(keys[0], ELECT_AT), K, "standby"),
                (plan(2), K, "too early"),
                (plan(), 0, "txs_per_block")):
            error = self.assertRaises(ValueError, generate_chain, settings, keys, BLOCKS, txs,
                                      SEED, election=election)
            self.assertIn(fragment, str(error))

    def test_not_enough_gas(self) -> None:
        """
        Too early for the spent NEO to have earned 1000 GAS: the claim's block says so.
        """
        settings, keys, _ = privnet()
        chain = generate_chain(settings, keys, 60, K, SEED, election=plan(50))
        error = self.assertRaises(ValueError, list, chain)
        self.assertIn("block 48 can claim only", str(error))
        self.assertIn("GAS", str(error))

    def test_candidate_key(self) -> None:
        """
        The bundled candidate key is the documented derivation, and no standby validator.
        """
        settings, _, candidate = privnet()
        digest = hashlib.sha256(b"neo_twisted privnet candidate validator 1").digest()
        secret = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
        self.assertEqual(candidate, KeyPair(secret.to_bytes(32, "big")))
        self.assertNotIn(candidate.public_key, settings.standby_validators)
        readme = (ROOT / "devkeys" / "README.md").read_text()
        self.assertIn(candidate.public_key.encode().hex(), readme)
