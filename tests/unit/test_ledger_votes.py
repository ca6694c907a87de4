"""
The vote state, transaction by transaction (L{neo_twisted.ledger.votes}), against
neo2-validators.md section 7.3's six-step trace (TV4), and what it elects.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    NEO_ASSET_ID,
    STATE_ACCOUNT,
    STATE_VALIDATOR,
    ContractTransaction,
    EnrollmentTransaction,
    StateDescriptor,
    StateTransaction,
)
from neo_twisted.ledger.election import elect, validator_count
from neo_twisted.ledger.votes import NeoBalances, VoteBook, vote_value
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160
from tests.support.election_keys import MAINNET, NEO, R1

A, B = UInt160(b"\x0a" * 20), UInt160(b"\x0b" * 20)
S = MAINNET[0]


def pay(value: int, to: UInt160) -> TransactionOutput:
    return TransactionOutput(NEO_ASSET_ID, value * NEO, to)


def vote(account: UInt160, *keys: ECPoint) -> StateTransaction:
    return StateTransaction(descriptors=(StateDescriptor(
        STATE_ACCOUNT, bytes(account), "Votes", vote_value(keys)),))


def register(key: ECPoint, on: bool = True) -> StateTransaction:
    return StateTransaction(descriptors=(StateDescriptor(
        STATE_VALIDATOR, key.encode(), "Registered", b"\x01" if on else b"\x00"),))


class Book:
    """
    A vote book and the NEO balances the ledger would give it.
    """

    def __init__(self) -> None:
        self.book = VoteBook()
        self.neo = NeoBalances()

    def apply(self, tx: Transaction, spent: list[TransactionOutput]) -> None:
        self.neo.move(tx, spent)
        self.book.apply(tx, spent, self.neo)


class TraceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.chain = Book()
        self.book = self.chain.book
        self.apply(register(R1), [])

    def apply(self, tx: Transaction, spent: list[TransactionOutput]) -> None:
        self.chain.apply(tx, spent)

    def votes(self, key: ECPoint) -> int | None:
        validator = self.book.validators.get(key)
        return None if validator is None else validator.votes // NEO

    def check(self, balance: int, votes: tuple[ECPoint, ...], s: int | None, r1: int,
              vc0: int, vc1: int) -> None:
        self.assertEqual((self.chain.neo(A) // NEO, self.book.votes_of(A)),
                         (balance, votes))
        self.assertEqual((self.votes(S), self.votes(R1)), (s, r1))
        self.assertEqual((self.book.counts[0] // NEO, self.book.counts[1] // NEO), (vc0, vc1))

    def test_six_steps(self) -> None:
        """
        TV4: NEO arriving, a vote for two, a split spend (outputs before inputs), a vote
        for one (the standby record deleted at zero), spending all, withdrawing.
        """
        book = self.book
        coin = pay(100, A)
        self.apply(ContractTransaction(outputs=(coin,)), [])
        self.check(100, (), None, 0, 0, 0)
        self.apply(vote(A, S, R1), [])
        self.check(100, (S, R1), 100, 100, 0, 100)
        change = pay(60, A)
        self.apply(ContractTransaction(outputs=(pay(40, B), change)), [coin])
        self.check(60, (S, R1), 60, 60, 0, 60)
        self.apply(vote(A, R1), [])
        self.check(60, (R1,), None, 60, 60, 0)
        self.apply(ContractTransaction(outputs=(pay(60, B),)), [change])
        self.check(0, (R1,), None, 0, 0, 0)
        self.apply(vote(A), [])
        self.check(0, (), None, 0, 0, 0)
        self.assertIn(R1, book.validators)  # registered: kept at zero

    def test_votes_come_back_with_neo(self) -> None:
        """
        E10: an account that voted keeps its votes at zero NEO; they count again when
        NEO comes back.
        """
        coin = pay(10, A)
        self.apply(ContractTransaction(outputs=(coin,)), [])
        self.apply(vote(A, R1), [])
        self.apply(ContractTransaction(outputs=(pay(10, B),)), [coin])
        self.assertEqual(self.votes(R1), 0)
        self.apply(ContractTransaction(outputs=(pay(7, A),)), [])
        self.assertEqual((self.votes(R1), self.book.counts[0] // NEO), (7, 7))

    def test_duplicate_keys_count_once(self) -> None:
        self.apply(ContractTransaction(outputs=(pay(5, A),)), [])
        self.apply(vote(A, R1, R1, S), [])
        self.assertEqual(self.book.votes_of(A), (R1, S))
        self.assertEqual(self.book.counts[1] // NEO, 5)

    def test_enrollment_and_unregistering(self) -> None:
        """
        An EnrollmentTransaction registers; unregistering keeps the record and its votes.
        """
        key = MAINNET[3]
        self.apply(EnrollmentTransaction(public_key=key), [])
        self.assertTrue(self.book.validators[key].registered)
        self.apply(register(key, on=False), [])
        self.assertFalse(self.book.validators[key].registered)

    def test_elected_by_votes(self) -> None:
        """
        A registered key with the most votes joins the validators; the count follows
        how many candidates the stake voted for.
        """
        self.apply(ContractTransaction(outputs=(pay(1000, A),)), [])
        self.apply(vote(A, R1), [])
        count = validator_count(self.book.counts, len(MAINNET), plus_one=True)
        validators = elect(self.book.candidates(), MAINNET, count)
        self.assertEqual(len(validators), 7)
        self.assertIn(R1, validators)
        self.assertNotIn(MAINNET[-1], validators)  # the last standby key padded out
