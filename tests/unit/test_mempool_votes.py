"""
Tests for the vote rules of L{neo_twisted.mempool.rules} (neo2-validators.md section
3.1): whom a vote may name and which accounts may vote, over a view faking the vote
state, and L{neo_twisted.ledger.view.LedgerView}'s reads of the stored one.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    STATE_ACCOUNT,
    StateDescriptor,
    StateTransaction,
)
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.generator import account_keys
from neo_twisted.ledger.view import LedgerView, ledger_view
from neo_twisted.ledger.votes import VoteBook, vote_value
from neo_twisted.ledger.votestore import write_book
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.support.ledger_samples import PRIVNET
from tests.support.mempool_rules_case import STRANGER, RulesTestCase
from tests.support.mempool_samples import signed

CANDIDATE, RETIRED, UNKNOWN = (key.public_key for key in account_keys(4343, 3))


class VoteState:
    """
    A view of the chain with these keys registered and these accounts voting.
    """

    def __init__(self, view: LedgerView, registered: Collection[ECPoint] = (),
                 voters: Collection[bytes] = ()) -> None:
        self._view = view
        self._registered = registered
        self._voters = voters

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    def validator_registered(self, key: ECPoint) -> bool:
        return key in self._registered

    def has_account(self, script_hash: bytes) -> bool:
        return script_hash in self._voters or self._view.has_account(script_hash)


def vote(key: KeyPair, *candidates: ECPoint) -> Transaction:
    descriptor = StateDescriptor(STATE_ACCOUNT, key.script_hash, "Votes", vote_value(candidates))
    return signed(StateTransaction(descriptors=(descriptor,)), [key])


class CandidateTests(RulesTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.voter = self.chain.coins[0][2]

    def test_registered_candidate(self) -> None:
        wrap = lambda view: VoteState(view, registered={CANDIDATE})  # noqa: E731
        self.assert_accepted(vote(self.voter, CANDIDATE), wrap)
        self.assert_accepted(vote(self.voter, PRIVNET.standby_validators[2], CANDIDATE), wrap)

    def test_unregistered_candidate(self) -> None:
        """
        One key neither standby nor registered refuses the whole vote.
        """
        wrap = lambda view: VoteState(view, registered={CANDIDATE})  # noqa: E731
        self.assert_refused(vote(self.voter, CANDIDATE, UNKNOWN),
                            f"vote for {UNKNOWN}, which is not a standby validator and is not "
                            "registered", wrap=wrap)
        self.assert_refused(vote(self.voter, ECPoint.infinity()), "is not registered", wrap=wrap)

    def test_without_neo_even_for_a_registered_candidate(self) -> None:
        wrap = lambda view: VoteState(view, registered={CANDIDATE},  # noqa: E731
                                      voters={STRANGER.script_hash})
        self.assert_refused(vote(STRANGER, CANDIDATE), "holds no NEO", wrap=wrap)


class VoterTests(RulesTestCase):
    def test_voting_account_without_balance_may_withdraw(self) -> None:
        """
        An account that votes exists though it holds nothing: it may withdraw its
        votes (an empty list needs only the account).
        """
        self.assert_refused(vote(STRANGER), "does not exist")
        self.assert_accepted(vote(STRANGER),
                             lambda view: VoteState(view, voters={STRANGER.script_hash}))


class StoredVoteStateTests(RulesTestCase):
    """
    L{LedgerView} reading the vote records the ledger writes.
    """

    def setUp(self) -> None:
        super().setUp()
        book = VoteBook()
        book.validator(CANDIDATE).registered = True
        book.validator(RETIRED).votes = 5 * FIXED8_ONE  # unregistered, still voted for
        book.accounts[STRANGER.script_hash] = (RETIRED,)
        book.changed_accounts.add(STRANGER.script_hash)
        dbs = self.ledger.store.dbs
        self.ledger.store.write(lambda txn: write_book(txn, dbs, book))

    def test_validator_registered(self) -> None:
        with ledger_view(self.ledger) as view:
            self.assertEqual([view.validator_registered(key) for key in
                              (CANDIDATE, RETIRED, UNKNOWN, ECPoint.infinity(),
                               PRIVNET.standby_validators[0])],
                             [True, False, False, False, False])

    def test_voting_account_exists(self) -> None:
        with ledger_view(self.ledger) as view:
            self.assertTrue(view.has_account(STRANGER.script_hash))
            self.assertTrue(view.has_account(self.chain.coins[0][2].script_hash))
            self.assertFalse(view.has_account(account_keys(4343, 4)[3].script_hash))

    def test_rules_over_the_store(self) -> None:
        voter = self.chain.coins[0][2]
        self.assert_accepted(vote(voter, CANDIDATE))
        self.assert_refused(vote(voter, RETIRED), "is not registered")
        self.assert_accepted(vote(STRANGER))
        self.assert_refused(vote(STRANGER, CANDIDATE), "holds no NEO")
