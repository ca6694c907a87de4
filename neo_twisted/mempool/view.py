"""
What the verification rules read of the chain: one consistent snapshot.

The rules (L{neo_twisted.mempool.rules}) are pure functions of a transaction and
a L{ChainView}; the ledger provides the view over one LMDB read transaction
(L{neo_twisted.ledger.view.LedgerView}), tests may provide their own.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from neo_twisted.core.components import TransactionOutput
from neo_twisted.ledger.state import AssetState
from neo_twisted.wire.ecpoint import ECPoint


@attrs.frozen
class SpentCoin:
    """
    A spent NEO output whose GAS is not claimed yet (C{SpentCoin}).

    @ivar start_height: the height of the block that created it.
    @ivar end_height: the height of the block that spent it.
    """

    output: TransactionOutput
    start_height: int
    end_height: int


class ChainView(Protocol):
    """
    The chain at one height, read consistently.
    """

    @property
    def height(self) -> int:
        """
        The block height of the snapshot.
        """

    def unspent(self, txid: bytes, index: int) -> TransactionOutput | None:
        """
        The output C{index} of C{txid} if it is confirmed and unspent.
        """

    def has_transaction(self, txid: bytes) -> bool:
        """
        Whether C{txid} is confirmed.
        """

    def asset(self, asset_id: bytes) -> AssetState | None:
        """
        A registered asset.
        """

    def unclaimed(self, txid: bytes, index: int) -> SpentCoin | None:
        """
        The spent, not yet claimed NEO output C{index} of C{txid}.
        """

    def system_fee_total(self, index: int) -> int:
        """
        The system fees of blocks 0..C{index}, summed, raw Fixed8.
        """

    def has_account(self, script_hash: bytes) -> bool:
        """
        Whether the reference keeps an C{AccountState} for it: it holds something, or
        it votes (an account voting with no NEO is kept, its votes in force).
        """

    def balance(self, script_hash: bytes, asset_id: bytes) -> int:
        """
        The account's balance of the asset, raw Fixed8 (0 when none).
        """

    def validator_registered(self, key: ECPoint) -> bool:
        """
        Whether C{key}'s C{ValidatorState} exists and is C{Registered} (votes may name
        it, as they may a standby key).
        """
