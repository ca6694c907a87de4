"""
NEO 2 ledger structures: transactions, blocks, headers and consensus payloads.

Plain frozen data with C{read}/C{write} methods over the L{neo_twisted.wire}
reader and writer. Each object's hash is Hash256 of its canonical unsigned
serialization; when the bytes it was read from were canonical, that is a slice
of the input and is hashed without serializing again.
"""

from neo_twisted.core.block import MAX_TRANSACTIONS_PER_BLOCK, Block, Header
from neo_twisted.core.components import (
    AttributeUsage,
    CoinReference,
    TransactionAttribute,
    TransactionOutput,
    Witness,
)
from neo_twisted.core.consensus import (
    ChangeView,
    ConsensusMessage,
    ConsensusPayload,
    PrepareRequest,
    PrepareResponse,
)
from neo_twisted.core.merkle import merkle_root
from neo_twisted.core.transaction import Transaction, TransactionType
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    AssetType,
    ClaimTransaction,
    ContractTransaction,
    EnrollmentTransaction,
    InvocationTransaction,
    IssueTransaction,
    MinerTransaction,
    PublishTransaction,
    RegisterTransaction,
    StateDescriptor,
    StateTransaction,
)

__all__ = [
    "GAS_ASSET_ID",
    "MAX_TRANSACTIONS_PER_BLOCK",
    "NEO_ASSET_ID",
    "AssetType",
    "AttributeUsage",
    "Block",
    "ChangeView",
    "ClaimTransaction",
    "CoinReference",
    "ConsensusMessage",
    "ConsensusPayload",
    "ContractTransaction",
    "EnrollmentTransaction",
    "Header",
    "InvocationTransaction",
    "IssueTransaction",
    "MinerTransaction",
    "PrepareRequest",
    "PrepareResponse",
    "PublishTransaction",
    "RegisterTransaction",
    "StateDescriptor",
    "StateTransaction",
    "Transaction",
    "TransactionAttribute",
    "TransactionOutput",
    "TransactionType",
    "Witness",
    "merkle_root",
]
