# -*- test-case-name: tests.unit.test_consensus_context -*-
"""
The primary's proposal (C{ConsensusContext.Fill}) and a backup's check of one
(C{VerifyRequest}), as functions of the pool's entries.

A proposal's C{NextConsensus} is the consensus address of the validators after
its transactions (C{GetValidators(transactions)}: votes, registrations and NEO
moving between voters change them); the ledger computes that set
(L{neo_twisted.ledger.chain.Ledger.validators_after}) and these functions take it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence

import attrs

from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    ClaimTransaction,
    MinerTransaction,
)
from neo_twisted.crypto.scripts import consensus_address
from neo_twisted.ledger.settings import PolicySettings, ProtocolSettings
from neo_twisted.mempool.policy import block_problem, select_for_block
from neo_twisted.mempool.pool import PoolEntry
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160, UInt256


def validators_of(settings: ProtocolSettings) -> tuple[ECPoint, ...]:
    """
    C{GetValidators()} of a chain without votes: the standby validators in ascending
    key order.
    """
    return tuple(sorted(settings.standby_validators))


def net_fee(entries: Iterable[PoolEntry]) -> int:
    """
    C{Block.CalculateNetFee}: the GAS left by the transactions (claims leave none).
    """
    return sum(entry.network_fee for entry in entries
               if not isinstance(entry.tx, MinerTransaction | ClaimTransaction))


def choose(entries: Iterable[PoolEntry], policy: PolicySettings) -> list[PoolEntry]:
    """
    The pool transactions a proposal takes, as the policy chooses them
    (L{select_for_block}).
    """
    return select_for_block(entries, policy)


@attrs.frozen
class Proposal:
    """
    What a primary proposes, before it signs the header.
    """

    nonce: int
    next_consensus: UInt160
    miner: MinerTransaction
    transactions: tuple[Transaction, ...]

    @property
    def hashes(self) -> tuple[UInt256, ...]:
        return (self.miner.hash, *(tx.hash for tx in self.transactions))


def make_proposal(entries: Sequence[PoolEntry], validators: Sequence[ECPoint],
                  pay_to: UInt160, on_chain: Callable[[UInt256], bool],
                  rng: random.Random) -> Proposal:
    """
    C{Fill}: the MinerTransaction paying the network fee to C{pay_to}, then C{entries}.

    @param validators: the validators after C{entries} (its C{NextConsensus}).

    @param on_chain: whether a transaction hash is taken already (the miner's nonce is
        drawn again until its hash is new).
    """
    fee = net_fee(entries)
    outputs = (TransactionOutput(GAS_ASSET_ID, fee, pay_to),) if fee else ()
    while True:
        nonce = rng.getrandbits(64)
        miner = MinerTransaction(nonce=nonce & 0xFFFFFFFF, outputs=outputs)
        if not on_chain(miner.hash):
            break
    return Proposal(nonce=nonce, next_consensus=consensus_address(validators), miner=miner,
                    transactions=tuple(entry.tx for entry in entries))


def proposal_problem(next_consensus: UInt160, miner: Transaction,
                     entries: Sequence[PoolEntry], validators: Sequence[ECPoint],
                     policy: PolicySettings) -> str | None:
    """
    C{VerifyRequest}: why a complete proposal cannot be signed, or None; a proposal
    past the block policy is refused too, so that one primary cannot make a block
    the others cannot carry.

    @param entries: the proposal's transactions after the miner's, as the pool knows them.
    @param validators: the validators after C{entries}.
    """
    problem = block_problem(entries, miner.size, policy)
    if problem is not None:
        return problem
    if next_consensus != consensus_address(validators):
        return "NextConsensus is not the consensus address of the validators after its " \
               "transactions"
    paid = sum(output.value for output in miner.outputs)
    fee = net_fee(entries)
    if paid != fee:
        return f"the MinerTransaction pays {paid}, the network fee is {fee}"
    return None
