"""
A test case checking transactions against the mempool samples' chain by the pool's rules.
"""

from __future__ import annotations

from typing import Any

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.components import CoinReference, TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    ClaimTransaction,
    ContractTransaction,
)
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.generator import account_keys
from neo_twisted.ledger.view import ledger_view
from neo_twisted.mempool.outcome import Refusal
from neo_twisted.mempool.rules import ChainCheck, check_against_chain
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.support.ledger_samples import PRIVNET
from tests.support.mempool_samples import (
    GAS_KEY,
    ISSUER,
    PAYEE,
    REGISTER_FEES,
    SampleChain,
    sample_chain,
    signed,
)

ONE = FIXED8_ONE
STRANGER = account_keys(4242, 1)[0]


class RulesTestCase(SynchronousTestCase):
    chain: SampleChain
    ledger: Ledger

    def setUp(self) -> None:
        self.chain = sample_chain()
        self.ledger = self.chain.open_ledger(self.mktemp())
        self.addCleanup(self.ledger.close)

    def check(self, tx: Transaction, wrap: Any = None) -> ChainCheck:
        with ledger_view(self.ledger) as view:
            return check_against_chain(tx, view if wrap is None else wrap(view), PRIVNET)

    def assert_accepted(self, tx: Transaction, wrap: Any = None) -> ChainCheck:
        result = self.check(tx, wrap)
        self.assertIsNone(result.problem)
        return result

    def assert_refused(self, tx: Transaction, fragment: str,
                       refusal: Refusal = Refusal.INVALID, wrap: Any = None) -> None:
        result = self.check(tx, wrap)
        self.assertIsNotNone(result.problem, "the transaction was accepted")
        assert result.problem is not None
        self.assertIn(fragment, result.problem)
        self.assertEqual(result.refusal, refusal)

    def neo_transfer(self, n: int = 0, *, extra_inputs: tuple[CoinReference, ...] = (),
                     keep: int = 0, **fields: Any) -> Transaction:
        """
        Coin C{n} paid to L{PAYEE} in full (less C{keep} raw units, destroyed).
        """
        ref, value, key = self.chain.coins[n]
        tx = ContractTransaction(inputs=(ref, *extra_inputs), outputs=(
            TransactionOutput(NEO_ASSET_ID, value - keep, PAYEE.script_hash),), **fields)
        return signed(tx, [key])

    def make_claim(self, amount: int | None = None,
                   extra: tuple[TransactionOutput, ...] = (),
                   claims: tuple[CoinReference, ...] | None = None) -> Transaction:
        """
        Claim the coin block 8 spent , for C{amount} (default: right).
        """
        chain = self.chain
        start, end = chain.claimable_span
        if amount is None:
            amount = chain.claimable_value // ONE * (8 * (end - start) + REGISTER_FEES // ONE)
        owner = chain.spender
        tx = ClaimTransaction(claims=claims or (chain.claimable,), outputs=(
            TransactionOutput(GAS_ASSET_ID, amount, owner.script_hash), *extra))
        keys = [owner, ISSUER] if extra else [owner]
        return signed(tx, keys)

    def gas_spend(self, tx: Transaction, *inputs: int) -> Transaction:
        """
        C{tx} with L{GAS_KEY}'s 2-GAS coins C{inputs} added, signed by GAS_KEY.
        """
        refs = tuple(self.chain.gas[i] for i in inputs)
        return signed(attrs.evolve(tx, inputs=refs + tx.inputs), [GAS_KEY])
