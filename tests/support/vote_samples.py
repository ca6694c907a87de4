"""
A privnet chain whose votes elect a fifth validator, for the ledger and consensus tests.

Block 1 gives 1,000 NEO of the genesis holder's to the voter; block 2 registers the
candidate (a development key beyond the four) and the voter votes for the four
standby keys and the candidate, so the count (2.11's formula) is 5 and block 3 is
signed by the five. Transactions inside blocks are not checked when a block is
persisted, so only the headers need real signatures (those of the standby keys).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from neo_twisted.core.block import Block
from neo_twisted.core.components import CoinReference, TransactionOutput, Witness
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    NEO_ASSET_ID,
    STATE_ACCOUNT,
    STATE_VALIDATOR,
    ContractTransaction,
    StateDescriptor,
    StateTransaction,
)
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.crypto.scripts import consensus_address, push_data
from neo_twisted.ledger.generator import account_keys
from neo_twisted.ledger.votes import vote_value
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.fixed8 import FIXED8_ONE
from neo_twisted.wire.uint import UInt160
from tests.support.ledger_samples import PRIVNET, PRIVNET_GENESIS, make_block

STANDBY = PRIVNET.standby_validators
CANDIDATE_KEY: KeyPair = account_keys(91, 1)[0]
CANDIDATE = CANDIDATE_KEY.public_key
#: The validators once the candidate is elected, in their order.
FIVE = tuple(sorted((*STANDBY, CANDIDATE)))
VOTER: KeyPair = account_keys(92, 1)[0]
A = UInt160(VOTER.script_hash)
HOLDER_COIN = CoinReference(PRIVNET_GENESIS.transactions[3].hash, 0)
HOLDER = PRIVNET_GENESIS.transactions[3].outputs[0]


def neo(value: int, to: bytes) -> TransactionOutput:
    return TransactionOutput(NEO_ASSET_ID, value * FIXED8_ONE, UInt160(to))


def funding() -> ContractTransaction:
    """
    1,000 NEO of the genesis holder's to the voter, the rest back to the holder.
    """
    return ContractTransaction(inputs=(HOLDER_COIN,), outputs=(
        neo(1000, A), TransactionOutput(NEO_ASSET_ID, HOLDER.value - 1000 * FIXED8_ONE,
                                        HOLDER.script_hash)))


def registration(key: ECPoint = CANDIDATE) -> StateTransaction:
    return StateTransaction(descriptors=(StateDescriptor(
        STATE_VALIDATOR, key.encode(), "Registered", b"\x01"),))


def vote(keys: Sequence[ECPoint] = (*STANDBY, CANDIDATE), voter: bytes = A
         ) -> StateTransaction:
    return StateTransaction(descriptors=(StateDescriptor(
        STATE_ACCOUNT, bytes(voter), "Votes", vote_value(keys)),))


def election() -> list[Transaction]:
    """
    The candidate registers; the voter votes for the four standby keys and it.
    """
    return [registration(), vote()]


def election_chain() -> list[Block]:
    """
    Blocks 1 and 2: the voter funded, then the election (NextConsensus: the five).
    """
    block1 = make_block(PRIVNET_GENESIS.header, [funding()])
    return [block1, make_block(block1.header, election(),
                               next_consensus=consensus_address(FIVE))]


def signed_vote(keys: Sequence[ECPoint] = (*STANDBY, CANDIDATE)) -> StateTransaction:
    """
    The voter's vote as a wallet sends it: witnessed by the voter's account.
    """
    unsigned = vote(keys)
    signature = VOTER.sign(unsigned.unsigned_bytes())
    return attrs.evolve(unsigned, witnesses=(Witness(
        invocation_script=push_data(signature),
        verification_script=VOTER.verification_script),))


def registration_chain() -> list[Block]:
    """
    Blocks 1 and 2: the voter funded, then the candidate registered (nobody votes yet).
    """
    block1 = make_block(PRIVNET_GENESIS.header, [funding()])
    return [block1, make_block(block1.header, [registration()])]
