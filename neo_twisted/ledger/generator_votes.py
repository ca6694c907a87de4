# -*- test-case-name: tests.unit.test_ledger_generator_votes -*-
"""
Votes in generated chains (C{neonode makechain --elect}): a candidate key is
registered and voted in, so that the chain changes its validator set as a real
one does (neo2-validators.md sections 3 to 5).

Registering costs 1000 GAS of system fee, and a generated chain has no GAS: the
genesis block issues only NEO, and GAS exists only once a ClaimTransaction
claims what spent NEO earned (an EnrollmentTransaction would not help: the
privnet's fee table charges it 1000 GAS as well, and pools refuse it). So the
election takes three blocks: block H - 2 claims the GAS of NEO outputs spent
before it, block H - 1 registers the candidate with it, and block H holds the
votes of generated accounts holding NEO for the standby validators and the
candidate. Each step needs the one before it confirmed, so that every one of
these transactions passes a memory pool's checks against the chain before its
block (a vote for a key registered in the same block would not).

To know who signs each block, the keeper follows every output and NEO balance
of the chain from genesis and applies each block to a L{VoteBook} exactly as a
ledger does: the validators elected after block h are named by block h's
C{NextConsensus} and sign block h + 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

import attrs

from neo_twisted.core.block import Block
from neo_twisted.core.components import CoinReference, TransactionOutput, Witness
from neo_twisted.core.fees import VALIDATOR_REGISTRATION_FEE, system_fee
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    STATE_ACCOUNT,
    STATE_VALIDATOR,
    ClaimTransaction,
    StateDescriptor,
    StateTransaction,
)
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.votes import NeoBalances, VoteBook, vote_value
from neo_twisted.mempool.claims import calculate_bonus
from neo_twisted.mempool.view import SpentCoin
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.fixed8 import FIXED8_ONE
from neo_twisted.wire.uint import UInt256

__all__ = ["CLAIM_MARGIN", "MAX_CLAIMS", "MAX_VOTERS", "ElectionPlan", "VoteKeeper"]

#: GAS claimed beyond the registration fee, to pay the votes' network fee.
CLAIM_MARGIN = 1 * FIXED8_ONE
#: Claims in one ClaimTransaction: 34 bytes each keeps it far below 102,400 bytes.
MAX_CLAIMS = 2000
#: Descriptors a StateTransaction may hold: one per voting account.
MAX_VOTERS = 16

_PUSH_SIGNATURE = b"\x40"
_T = TypeVar("_T", bound=Transaction)
_Coin = tuple[UInt256, int]


@attrs.frozen
class ElectionPlan:
    """
    Elect C{candidate} by the votes of block C{height} (its GAS claimed in block
    C{height} - 2, its registration in C{height} - 1); it validates from block
    C{height} + 1 on.
    """

    candidate: KeyPair
    height: int
    #: False: register only (the claim and registration, no votes in the chain; they
    #: may come later, as C{neonode localnet --elect} sends them).
    votes: bool = True


def signed(tx: _T, keys: Iterable[KeyPair]) -> _T:
    """
    C{tx} with one single-signature witness per key, in script-hash order.
    """
    unsigned = tx.unsigned_bytes()
    by_hash = {key.script_hash: key for key in keys}
    witnesses = tuple(Witness(_PUSH_SIGNATURE + by_hash[h].sign(unsigned),
                              by_hash[h].verification_script) for h in sorted(by_hash))
    result = attrs.evolve(tx, witnesses=witnesses)
    result.set_hash_from(unsigned)
    return result


class VoteKeeper:
    """
    The chain's outputs, NEO balances, system fees and vote state, block by block,
    and the transactions of an L{ElectionPlan}.

    @ivar validators: who signs the next block (sorted, as the consensus script has them).
    """

    def __init__(self, settings: ProtocolSettings, genesis: Block, plan: ElectionPlan,
                 accounts: Sequence[KeyPair]) -> None:
        standby = settings.standby_validators
        if plan.candidate.public_key in standby:
            raise ValueError(f"the candidate {plan.candidate.public_key} is already a "
                             "standby validator")
        if plan.height < 3:
            raise ValueError(f"the votes need a claim and a registration in the two blocks "
                             f"before them: block {plan.height} is too early (3 at least)")
        self._settings = settings
        self._plan = plan
        self._accounts = tuple(accounts)
        self._keys = {key.script_hash: key for key in accounts}
        self._book = VoteBook()
        self._elected_at = -1
        self.validators: tuple[ECPoint, ...] = tuple(sorted(standby))
        #: Unspent outputs: (txid, index) -> the output and the height that created it.
        self._unspent: dict[_Coin, tuple[TransactionOutput, int]] = {}
        self._neo = NeoBalances()
        #: System fees of blocks 0..h, summed, at index h.
        self._fee_totals: list[int] = []
        #: Spent NEO outputs of generated accounts, until the claim.
        self._spent: list[tuple[_Coin, SpentCoin]] = []
        #: The candidate's GAS output that the next step spends, and its value.
        self._gas: tuple[CoinReference, int] | None = None
        self.apply(0, genesis.transactions)

    # -- following the chain ------------------------------------------------------------------

    def apply(self, height: int, transactions: Sequence[Transaction]) -> tuple[ECPoint, ...]:
        """
        Follow the block at C{height}; returns the validators after it (who sign the next).
        """
        previous = self._fee_totals[-1] if self._fee_totals else 0
        fees = self._settings.system_fees
        self._fee_totals.append(previous + sum(system_fee(tx, fees) for tx in transactions))
        recording = height < self._plan.height - 2
        for tx in transactions:
            spent = []
            for ref in tx.inputs:
                coin = (ref.prev_hash, ref.prev_index)
                output, start = self._unspent.pop(coin)
                spent.append(output)
                if (output.asset_id == NEO_ASSET_ID and recording
                        and output.script_hash in self._keys):
                    self._spent.append((coin, SpentCoin(output, start, height)))
            txid = tx.hash
            for n, output in enumerate(tx.outputs):
                self._unspent[(txid, n)] = (output, height)
            self._neo.move(tx, spent)
            self._book.apply(tx, spent, self._neo)
        if self._book.revision != self._elected_at:
            self._elected_at = self._book.revision
            self.validators = self._book.elect(self._settings.standby_validators,
                                               plus_one=self._settings.validator_count_plus_one)
        return self.validators

    def neo(self, script_hash: bytes) -> int:
        """
        The confirmed NEO (raw) of an account.
        """
        return self._neo(script_hash)

    # -- the plan's transactions --------------------------------------------------------------

    def transactions(self, index: int) -> list[Transaction]:
        """
        What block C{index} holds for the plan, after its transfers.
        """
        step = index - self._plan.height + 2
        if step == 0:
            return [self._claim(index)]
        if step == 1:
            return [self._registration()]
        if step == 2 and self._plan.votes:
            return [self._votes(index)]
        return []

    def _claim(self, index: int) -> ClaimTransaction:
        """
        Claim the GAS of the most rewarding spent outputs, enough for the plan.
        """
        fee_totals = self._fee_totals.__getitem__
        needed = VALIDATOR_REGISTRATION_FEE + CLAIM_MARGIN
        ranked = sorted(((calculate_bonus([coin], fee_totals), ref, coin)
                         for ref, coin in self._spent), key=lambda item: (-item[0], item[1]))
        self._spent = []
        chosen: list[tuple[_Coin, SpentCoin]] = []
        total = 0
        for bonus, ref, coin in ranked[:MAX_CLAIMS]:
            chosen.append((ref, coin))
            total += bonus
            if total >= needed:
                break
        # NEO comes in whole units, so the bonus of the lot is the sum of the coins'
        assert total == calculate_bonus([coin for _, coin in chosen], fee_totals)
        if total < needed:
            raise ValueError(
                f"block {index} can claim only {total / FIXED8_ONE} GAS, and registering the "
                f"candidate takes {needed / FIXED8_ONE}: GAS accrues at 8 a block over all "
                "the NEO, so elect later (a higher height) or move more NEO per block")
        candidate = self._plan.candidate
        tx = signed(ClaimTransaction(
            claims=tuple(CoinReference(txid, n) for (txid, n), _ in chosen),
            outputs=(TransactionOutput(GAS_ASSET_ID, total, candidate.script_hash),)),
            [self._keys[coin.output.script_hash] for _, coin in chosen])
        self._gas = (CoinReference(tx.hash, 0), total)
        return tx

    def _spend_gas(self, fee: int) -> tuple[tuple[CoinReference, ...],
                                             tuple[TransactionOutput, ...]]:
        """
        The candidate's GAS as inputs, and its change after C{fee} as outputs.
        """
        assert self._gas is not None
        ref, value = self._gas
        change = (TransactionOutput(GAS_ASSET_ID, value - fee,
                                    self._plan.candidate.script_hash),)
        return (ref,), change

    def _registration(self) -> StateTransaction:
        candidate = self._plan.candidate
        inputs, outputs = self._spend_gas(VALIDATOR_REGISTRATION_FEE)
        descriptor = StateDescriptor(STATE_VALIDATOR, candidate.public_key.encode(),
                                     "Registered", b"\x01")
        tx = signed(StateTransaction(descriptors=(descriptor,), inputs=inputs,
                                     outputs=outputs), [candidate])
        self._gas = (CoinReference(tx.hash, 0), outputs[0].value)
        return tx

    def _votes(self, index: int) -> StateTransaction:
        """
        The generated accounts holding NEO (the first L{MAX_VOTERS}) vote for the
        standby validators and the candidate. The transaction is larger than a free
        one may be, so the candidate's GAS pays the network fee the policy asks.
        """
        voters = [key for key in self._accounts if self.neo(key.script_hash) > 0][:MAX_VOTERS]
        if not voters:
            raise ValueError(f"no generated account holds NEO before block {index}")
        keys = [*self._settings.standby_validators, self._plan.candidate.public_key]
        value = vote_value(keys)
        descriptors = tuple(StateDescriptor(STATE_ACCOUNT, bytes(key.script_hash),
                                            "Votes", value) for key in voters)
        signers = [*voters, self._plan.candidate]
        inputs, outputs = self._spend_gas(0)
        size = signed(StateTransaction(descriptors=descriptors, inputs=inputs,
                                       outputs=outputs), signers).size
        policy = self._settings.policy
        fee = 0
        if size > policy.max_free_transaction_size:
            fee = max(self._settings.low_priority_threshold,
                      policy.fee_per_extra_byte * (size - policy.max_free_transaction_size))
        inputs, outputs = self._spend_gas(fee)
        tx = signed(StateTransaction(descriptors=descriptors, inputs=inputs, outputs=outputs),
                    signers)
        self._gas = (CoinReference(tx.hash, 0), outputs[0].value)
        return tx
