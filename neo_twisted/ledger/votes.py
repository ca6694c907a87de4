# -*- test-case-name: tests.test_ledger_votes -*-
"""
The vote state, changed transaction by transaction as the reference persists a
block (neo2-validators.md sections 2 and 4): NEO moving between accounts moves
their votes; StateTransaction descriptors vote and (un)register; an
EnrollmentTransaction registers. What L{neo_twisted.ledger.election} elects from.

Plain data in memory: the ledger loads the records a block touches, applies the
block here, and writes them back in the same write transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
from neo_twisted.ledger.election import Candidate
from neo_twisted.wire.binary import BinaryReader, BinaryWriter
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160

__all__ = ["MAX_VALIDATORS", "Account", "Validator", "VoteBook", "vote_value"]

#: C{Blockchain.MaxValidators}: the buckets of C{ValidatorsCount}.
MAX_VALIDATORS = 1024

_log = Logger()


@attrs.define
class Validator:
    """
    A C{ValidatorState}: registered or not, and the NEO of the accounts voting for it.
    """

    registered: bool = False
    votes: int = 0


@attrs.define
class Account:
    """
    What votes need of an C{AccountState}: its votes, in the order cast, and its NEO.
    """

    votes: tuple[ECPoint, ...] = ()
    neo: int = 0


@attrs.define
class VoteBook:
    """
    Accounts, validators and C{ValidatorsCount} (C{counts[k]}: the NEO of the accounts
    voting for exactly k + 1 candidates).
    """

    accounts: dict[UInt160, Account] = attrs.Factory(dict)
    validators: dict[ECPoint, Validator] = attrs.Factory(dict)
    counts: list[int] = attrs.Factory(lambda: [0] * MAX_VALIDATORS)

    def account(self, script_hash: UInt160) -> Account:
        return self.accounts.setdefault(script_hash, Account())

    def validator(self, key: ECPoint) -> Validator:
        """
        C{GetAndChange(key, () => new ValidatorState(key))}.
        """
        return self.validators.setdefault(key, Validator())

    def candidates(self) -> list[Candidate]:
        return [Candidate(key, v.registered, v.votes) for key, v in self.validators.items()]

    # -- section 4: one transaction ---------------------------------------------------

    def apply(self, tx: Transaction, spent: Iterable[TransactionOutput]) -> None:
        """
        The changes of C{tx}, whose inputs spent C{spent}: outputs first, then inputs,
        then what its type does (a vote sees the balance after its own transfers).
        """
        for output in tx.outputs:
            account = self.account(output.script_hash)
            if output.asset_id != NEO_ASSET_ID:
                continue
            account.neo += output.value
            self._move(account, output.value)
        for output in spent:
            account = self.account(output.script_hash)
            if output.asset_id != NEO_ASSET_ID:
                continue
            self._move(account, -output.value)
            account.neo -= output.value
        if isinstance(tx, EnrollmentTransaction):
            self.validator(tx.public_key).registered = True
        elif isinstance(tx, StateTransaction):
            for descriptor in tx.descriptors:
                if descriptor.type == STATE_ACCOUNT and descriptor.field == "Votes":
                    self._vote(UInt160(descriptor.key), descriptor.value)
                elif descriptor.type == STATE_VALIDATOR and descriptor.field == "Registered":
                    self._register(descriptor.key, descriptor.value)

    def _move(self, account: Account, amount: int) -> None:
        """
        NEO of a voting account arrived (or left): its candidates' votes and its
        bucket follow.
        """
        if not account.votes:
            return
        for key in account.votes:
            if amount >= 0:
                self.validator(key).votes += amount
            else:
                self._withdraw(key, -amount)
        self.counts[len(account.votes) - 1] += amount

    def _withdraw(self, key: ECPoint, amount: int) -> None:
        """
        Take votes from C{key}; an unregistered key left with none is forgotten.
        """
        validator = self.validators.get(key)
        if validator is None:  # section 6, E3: no valid chain does this
            _log.warn("votes withdrawn from {key}, which has no record", key=key)
            return
        validator.votes -= amount
        if not validator.registered and validator.votes == 0:
            del self.validators[key]

    def _vote(self, script_hash: UInt160, value: bytes) -> None:
        """
        Section 4.3: withdraw the account's votes, then cast the new ones (distinct,
        in the order given), with its NEO as it stands now.
        """
        account = self.account(script_hash)
        balance = account.neo
        for key in account.votes:
            self._withdraw(key, balance)
        try:
            keys = BinaryReader(value).read_array(ECPoint.read, 1 << 24, item_size=1)
        except FormatError as error:  # the mempool refuses these; no valid block has one
            _log.warn("unreadable votes of {account}: {error}", account=script_hash,
                      error=error)
            keys = ()
        new = tuple(dict.fromkeys(keys))
        if len(new) != len(account.votes):
            if account.votes:
                self.counts[len(account.votes) - 1] -= balance
            if new:
                self.counts[min(len(new), MAX_VALIDATORS) - 1] += balance
        account.votes = new
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


def vote_value(keys: Sequence[ECPoint]) -> bytes:
    """
    A vote descriptor's C{Value}: the keys as an ECPoint array.
    """
    writer = BinaryWriter()
    writer.write_array(keys)
    return writer.to_bytes()
