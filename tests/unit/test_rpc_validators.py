"""
Tests for the vote state over RPC: C{getvalidators} and the votes C{getaccountstate}
shows (neo2-validators.md section 8), after blocks holding StateTransactions.
"""

from __future__ import annotations

from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    NEO_ASSET_ID,
    STATE_ACCOUNT,
    STATE_VALIDATOR,
    StateDescriptor,
    StateTransaction,
)
from neo_twisted.crypto.keys import address_from_script_hash
from neo_twisted.ledger.chain import Verdict
from neo_twisted.ledger.generator import account_keys, signed_transfer
from neo_twisted.ledger.votes import vote_value
from neo_twisted.wire.ecpoint import ECPoint
from tests.support.ledger_samples import PRIVNET, make_block
from tests.support.mempool_samples import PAYEE, signed
from tests.support.rpc_methods_case import MethodsTestCase

#: A key that registers as a candidate: in no protocol file's standby list.
CANDIDATE = account_keys(4343, 1)[0]


class VoteStateTestCase(MethodsTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.standby = PRIVNET.standby_validators
        self.voter = self.chain.coins[0][2]
        self.coins = [(ref, value) for ref, value, key in self.chain.coins if key == self.voter]
        self.neo = sum(value for _, value in self.coins)
        self.assertEqual(self.ledger.get_balances(self.voter.script_hash)[NEO_ASSET_ID],
                         self.neo)
        # cast in an order that is not the keys' bytewise order, to see it kept
        self.cast = sorted([self.standby[1], CANDIDATE.public_key],
                           key=lambda key: key.encode(), reverse=True)

    def add_block(self, *txs: Transaction) -> None:
        results = self.ledger.add_blocks([make_block(self.ledger.header_tip, txs)])
        self.assertEqual([r.verdict for r in results], [Verdict.ACCEPTED])

    def register_and_vote(self) -> None:
        """
        L{CANDIDATE} registers, then the voter votes for it and a standby key.
        """
        register = StateDescriptor(STATE_VALIDATOR, CANDIDATE.public_key.encode(),
                                   "Registered", b"\x01")
        vote = StateDescriptor(STATE_ACCOUNT, self.voter.script_hash, "Votes",
                               vote_value(self.cast))
        self.add_block(signed(StateTransaction(descriptors=(register,)), [CANDIDATE]),
                       signed(StateTransaction(descriptors=(vote,)), [self.voter]))

    def spend_all_neo(self) -> None:
        self.add_block(signed_transfer(
            [ref for ref, _ in self.coins],
            [TransactionOutput(NEO_ASSET_ID, self.neo, PAYEE.script_hash)], [self.voter]))

    def entry(self, key: ECPoint, votes: int, active: bool) -> dict[str, object]:
        return {"publickey": key.encode().hex(), "votes": str(votes), "active": active}


class GetValidatorsTests(VoteStateTestCase):
    def test_no_votes_lists_nothing(self) -> None:
        """
        On a chain nobody voted on, no key has a record: the standby validators are
        active but not listed, as the reference lists them.
        """
        self.assertEqual(self.call("getvalidators"), [])

    def test_registered_and_voted(self) -> None:
        """
        The registered candidate and the standby key voted for are listed in the
        bytewise order of their keys, with the voter's NEO; both win a seat, since
        the other standby keys have no votes.
        """
        self.register_and_vote()
        whole = self.neo // 10**8
        self.assertEqual(self.call("getvalidators"), [
            self.entry(key, whole, True) for key in sorted(self.cast, key=ECPoint.encode)])
        self.assertIn(CANDIDATE.public_key, self.ledger.validators.next_validators)

    def test_registered_without_votes_is_listed_inactive(self) -> None:
        """
        When the voter's NEO leaves, the candidate keeps its record (it is
        registered) with no votes and loses its seat; the standby key's record,
        unregistered and empty, is gone, so it is not listed though it is active.
        """
        self.register_and_vote()
        self.spend_all_neo()
        self.assertEqual(self.call("getvalidators"),
                         [self.entry(CANDIDATE.public_key, 0, False)])
        self.assertIn(self.standby[1], self.ledger.validators.next_validators)

    def test_extra_params_are_ignored(self) -> None:
        """
        As the reference and this node's other methods without parameters do.
        """
        self.register_and_vote()
        self.assertEqual(self.call("getvalidators", 1, "x"), self.call("getvalidators"))


class AccountVotesTests(VoteStateTestCase):
    def test_votes_in_the_order_cast(self) -> None:
        self.register_and_vote()
        state = self.call("getaccountstate", address_from_script_hash(self.voter.script_hash))
        self.assertEqual(state["votes"], [key.encode().hex() for key in self.cast])
        self.assertIn({"asset": str(NEO_ASSET_ID), "value": str(self.neo // 10**8)},
                      state["balances"])

    def test_voting_account_without_neo(self) -> None:
        """
        An account that spent its NEO still votes (its votes count again when NEO
        comes back): its votes are shown, with no NEO balance.
        """
        self.register_and_vote()
        self.spend_all_neo()
        state = self.call("getaccountstate", address_from_script_hash(self.voter.script_hash))
        self.assertEqual(state["votes"], [key.encode().hex() for key in self.cast])
        self.assertNotIn(str(NEO_ASSET_ID), [b["asset"] for b in state["balances"]])

    def test_withdrawn_votes(self) -> None:
        self.register_and_vote()
        withdraw = StateDescriptor(STATE_ACCOUNT, self.voter.script_hash, "Votes",
                                   vote_value([]))
        self.add_block(signed(StateTransaction(descriptors=(withdraw,)), [self.voter]))
        state = self.call("getaccountstate", address_from_script_hash(self.voter.script_hash))
        self.assertEqual(state["votes"], [])
        self.assertEqual(self.call("getvalidators"),
                         [self.entry(CANDIDATE.public_key, 0, False)])
