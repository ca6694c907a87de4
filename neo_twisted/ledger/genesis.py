# -*- test-case-name: tests.unit.test_ledger_genesis -*-
"""
The genesis block, built from the standby validators exactly as the reference node builds it.

Only NextConsensus and the NEO holder depend on the validators; the Miner and the
two RegisterTransactions (hence the NEO and GAS asset ids) are the same on every network.
"""

from __future__ import annotations

from collections.abc import Sequence

from neo_twisted.core.block import Block, Header
from neo_twisted.core.components import TransactionOutput, Witness
from neo_twisted.core.merkle import merkle_root
from neo_twisted.core.transactions import (
    NEO_ASSET_ID,
    AssetType,
    IssueTransaction,
    MinerTransaction,
    RegisterTransaction,
)
from neo_twisted.crypto.scripts import consensus_address, multisig_redeem_script, script_hash
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.fixed8 import FIXED8_ONE
from neo_twisted.wire.uint import ZERO_UINT256

GENESIS_TIMESTAMP = 1468595301  # 2016-07-15 15:08:21 UTC
GENESIS_NONCE = 2083236893  # "tribute to Bitcoin"
#: GenerationAmount {8, 7, 6, 5, 4, 3, 2, 1 x 15} per block over 22 intervals of 2,000,000 blocks.
GENERATION_AMOUNT = (8, 7, 6, 5, 4, 3, 2) + (1,) * 15
DECREMENT_INTERVAL = 2_000_000

_PUSHT = b"\x51"
_PUSHF = b"\x00"

NEO_REGISTRATION = RegisterTransaction(
    asset_type=AssetType.GoverningToken,
    name='[{"lang":"zh-CN","name":"小蚁股"},{"lang":"en","name":"AntShare"}]',
    amount=100_000_000 * FIXED8_ONE,
    precision=0,
    owner=ECPoint.infinity(),
    admin=script_hash(_PUSHT),
)

GAS_REGISTRATION = RegisterTransaction(
    asset_type=AssetType.UtilityToken,
    name='[{"lang":"zh-CN","name":"小蚁币"},{"lang":"en","name":"AntCoin"}]',
    amount=sum(GENERATION_AMOUNT) * DECREMENT_INTERVAL * FIXED8_ONE,
    precision=8,
    owner=ECPoint.infinity(),
    admin=script_hash(_PUSHF),
)


def genesis_block(validators: Sequence[ECPoint]) -> Block:
    """
    C{Blockchain.GenesisBlock} for a network whose standby validators are C{validators}.
    """
    holder = script_hash(multisig_redeem_script(len(validators) // 2 + 1, validators))
    transactions = (
        MinerTransaction(nonce=GENESIS_NONCE),
        NEO_REGISTRATION,
        GAS_REGISTRATION,
        IssueTransaction(
            outputs=(TransactionOutput(NEO_ASSET_ID, NEO_REGISTRATION.amount, holder),),
            witnesses=(Witness(b"", _PUSHT),),
        ),
    )
    header = Header(
        prev_hash=ZERO_UINT256,
        merkle_root=merkle_root([tx.hash for tx in transactions]),
        timestamp=GENESIS_TIMESTAMP,
        index=0,
        consensus_data=GENESIS_NONCE,
        next_consensus=consensus_address(validators),
        witness=Witness(b"", _PUSHT),
    )
    return Block(header, transactions)
