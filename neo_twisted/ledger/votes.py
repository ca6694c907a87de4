# -*- test-case-name: tests.unit.test_ledger_votes -*-
"""
The vote state, changed transaction by transaction as the reference persists a
block (neo2-validators.md sections 2 and 4): NEO moving between accounts moves
their votes; StateTransaction descriptors vote and (un)register; an
EnrollmentTransaction registers. What L{neo_twisted.ledger.election} elects from.

Plain data in memory. The validators and C{ValidatorsCount} are few and small,
so the ledger keeps them whole; the votes of accounts are many, so a book loads
an account's votes when a transaction first touches it (C{load_votes}) and
remembers which records changed, for the ledger to write back in the same
write transaction. NEO balances are not kept here: the ledger has them already,
and a vote is weighed with the balance it is given (C{neo_after}).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import attrs
from twisted.logger import Logger

from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    NEO_ASSET_ID,
    STATE_ACCOUNT,
    STATE_VALIDATOR,
    EnrollmentTransaction,
    StateTransaction,
)
from neo_twisted.crypto.scripts import consensus_address
from neo_twisted.ledger.election import Candidate, elect, validator_count
from neo_twisted.wire.binary import BinaryReader, BinaryWriter
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160

__all__ = ["MAX_VALIDATORS", "Election", "NeoBalances", "Validator", "VoteBook", "vote_value"]

#: C{Blockchain.MaxValidators}: the buckets of C{ValidatorsCount}.
MAX_VALIDATORS = 1024

VoteLoader = Callable[[bytes], tuple[ECPoint, ...]]
#: An account's NEO (raw Fixed8) after the transaction being applied moved it.
BalanceReader = Callable[[bytes], int]

_log = Logger()


def _no_votes(script_hash: bytes) -> tuple[ECPoint, ...]:
    return ()


@attrs.define
class Validator:
    """
    A C{ValidatorState}: registered or not, and the NEO of the accounts voting for it.
    """

    registered: bool = False
    votes: int = 0


@attrs.frozen
class Election:
    """
    Who validates the next block, by both count formulas (section 5.2), and their
    consensus addresses: a block made by a node of either era carries one of them.
    """

    #: By the formula the settings choose.
    validators: tuple[ECPoint, ...]
    #: The consensus addresses by the pre-2.11 formula and by 2.11's.
    addresses: frozenset[UInt160]

    @property
    def address(self) -> UInt160:
        return consensus_address(self.validators)


class VoteBook:
    """
    Validators, C{ValidatorsCount} (C{counts[k]}: the NEO of the accounts voting for
    exactly k + 1 candidates) and the votes of the accounts touched so far.

    @ivar revision: changes whenever the validators or the counts do, so an
        election is only run again when it may have a different result.
    """

    def __init__(self, validators: dict[ECPoint, Validator] | None = None,
                 counts: list[int] | None = None, load_votes: VoteLoader = _no_votes) -> None:
        self.validators: dict[ECPoint, Validator] = {} if validators is None else validators
        self.counts: list[int] = [0] * MAX_VALIDATORS if counts is None else counts
        self.load_votes = load_votes
        #: Votes of the accounts loaded or changed, by script hash.
        self.accounts: dict[bytes, tuple[ECPoint, ...]] = {}
        self.changed_accounts: set[bytes] = set()
        #: Keys whose record changed or went away since the book was made.
        self.changed_validators: set[ECPoint] = set()
        self.counts_changed = False
        self.revision = 0

    def copy(self, load_votes: VoteLoader = _no_votes) -> VoteBook:
        """
        A book to change without touching this one (a write batch may be rolled back).
        """
        return VoteBook({key: Validator(v.registered, v.votes)
                         for key, v in self.validators.items()},
                        list(self.counts), load_votes)

    def committed(self) -> VoteBook:
        """
        This book as the ledger keeps it between batches: no accounts, nothing changed.
        """
        kept = VoteBook(self.validators, self.counts)
        kept.revision = self.revision
        return kept

    def votes_of(self, script_hash: bytes) -> tuple[ECPoint, ...]:
        votes = self.accounts.get(script_hash)
        if votes is None:
            votes = self.accounts[script_hash] = self.load_votes(script_hash)
        return votes

    def validator(self, key: ECPoint) -> Validator:
        """
        C{GetAndChange(key, () => new ValidatorState(key))}.
        """
        self.changed_validators.add(key)
        self.revision += 1
        return self.validators.setdefault(key, Validator())

    def candidates(self) -> list[Candidate]:
        return [Candidate(key, v.registered, v.votes) for key, v in self.validators.items()]

    def elect(self, standby: Sequence[ECPoint], *, plus_one: bool) -> tuple[ECPoint, ...]:
        """
        C{GetValidators()} on this state (section 5).
        """
        count = validator_count(self.counts, len(standby), plus_one=plus_one)
        return tuple(elect(self.candidates(), standby, count))

    def election(self, standby: Sequence[ECPoint], *, plus_one: bool) -> Election:
        old = self.elect(standby, plus_one=False)
        # with nothing voted both formulas count 0, so they elect the same keys
        new = self.elect(standby, plus_one=True) if any(self.counts) else old
        return Election(new if plus_one else old,
                        frozenset((consensus_address(old), consensus_address(new))))

    # -- section 4: one transaction ---------------------------------------------------

    def apply(self, tx: Transaction, spent: Iterable[TransactionOutput],
              neo_after: BalanceReader) -> None:
        """
        The changes of C{tx}, whose inputs spent C{spent}: outputs first, then inputs,
        then what its type does; a vote weighs the account's NEO after the
        transaction's own transfers (C{neo_after}).
        """
        for output in tx.outputs:
            if output.asset_id == NEO_ASSET_ID:
                self._move(output.script_hash, output.value)
        for output in spent:
            if output.asset_id == NEO_ASSET_ID:
                self._move(output.script_hash, -output.value)
        if isinstance(tx, EnrollmentTransaction):
            self.validator(tx.public_key).registered = True
        elif isinstance(tx, StateTransaction):
            for descriptor in tx.descriptors:
                if descriptor.type == STATE_ACCOUNT and descriptor.field == "Votes":
                    self._vote(descriptor.key, descriptor.value, neo_after(descriptor.key))
                elif descriptor.type == STATE_VALIDATOR and descriptor.field == "Registered":
                    self._register(descriptor.key, descriptor.value)

    def _bucket(self, votes: int, amount: int) -> None:
        # section 6, E5: more than 1024 candidates overflows the reference; never valid
        self.counts[min(votes, MAX_VALIDATORS) - 1] += amount
        self.counts_changed = True
        self.revision += 1

    def _move(self, script_hash: bytes, amount: int) -> None:
        """
        NEO of a voting account arrived (or left): its candidates' votes and its
        bucket follow.
        """
        votes = self.votes_of(script_hash)
        if not votes:
            return
        for key in votes:
            if amount >= 0:
                self.validator(key).votes += amount
            else:
                self._withdraw(key, -amount)
        self._bucket(len(votes), amount)

    def _withdraw(self, key: ECPoint, amount: int) -> None:
        """
        Take votes from C{key}; an unregistered key left with none is forgotten.
        """
        validator = self.validators.get(key)
        if validator is None:  # section 6, E3: no valid chain does this
            _log.warn("votes withdrawn from {key}, which has no record", key=key)
            return
        self.changed_validators.add(key)
        self.revision += 1
        validator.votes -= amount
        if not validator.registered and validator.votes == 0:
            del self.validators[key]

    def _vote(self, script_hash: bytes, value: bytes, balance: int) -> None:
        """
        Section 4.3: withdraw the account's votes, then cast the new ones (distinct,
        in the order given), with its NEO as it stands now.
        """
        old = self.votes_of(script_hash)
        for key in old:
            self._withdraw(key, balance)
        try:
            keys = BinaryReader(value).read_array(ECPoint.read, 1 << 24, item_size=1)
        except FormatError as error:  # the mempool refuses these; no valid block has one
            _log.warn("unreadable votes of {account}: {error}",
                      account=UInt160(script_hash), error=error)
            keys = ()
        new = tuple(dict.fromkeys(keys))
        if len(new) != len(old):
            if old:
                self._bucket(len(old), -balance)
            if new:
                self._bucket(len(new), balance)
        self.accounts[script_hash] = new
        self.changed_accounts.add(script_hash)
        for key in new:
            self.validator(key).votes += balance

    def _register(self, key_bytes: bytes, value: bytes) -> None:
        """
        Section 4.4: C{Registered = Value[0] != 0}; the record is never deleted here.
        """
        try:
            key = ECPoint.from_bytes(key_bytes)
        except (FormatError, ValueError) as error:
            _log.warn("unreadable validator key {key}: {error}", key=key_bytes.hex(),
                      error=error)
            return
        self.validator(key).registered = bool(value[:1]) and value[0] != 0


class NeoBalances:
    """
    The NEO (raw) of accounts as a run of transactions moves it, for replaying votes
    away from the ledger's balances (an upgrade, a proposal, a generated chain): an
    account not moved yet holds what C{start} says. Called, it is a L{BalanceReader}.
    """

    def __init__(self, start: BalanceReader = lambda script_hash: 0) -> None:
        self._start = start
        self._neo: dict[bytes, int] = {}

    def __call__(self, script_hash: bytes) -> int:
        neo = self._neo.get(script_hash)
        if neo is None:
            neo = self._neo[script_hash] = self._start(script_hash)
        return neo

    def move(self, tx: Transaction, spent: Iterable[TransactionOutput]) -> None:
        """
        Apply the NEO that C{tx} creates and the NEO its inputs (C{spent}) took.
        """
        for sign, outputs in ((1, tx.outputs), (-1, spent)):
            for output in outputs:
                if output.asset_id == NEO_ASSET_ID:
                    self._neo[output.script_hash] = (self(output.script_hash)
                                                     + sign * output.value)


def vote_value(keys: Sequence[ECPoint]) -> bytes:
    """
    A vote descriptor's C{Value}: the keys as an ECPoint array.
    """
    writer = BinaryWriter()
    writer.write_array(keys)
    return writer.to_bytes()
