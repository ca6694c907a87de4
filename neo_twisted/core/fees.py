# -*- test-case-name: tests.unit.test_core_json -*-
"""
The system fee of a transaction (C{Transaction.SystemFee}), from the protocol's fee table.
"""

from __future__ import annotations

from collections.abc import Mapping

from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    STATE_VALIDATOR,
    AssetType,
    InvocationTransaction,
    IssueTransaction,
    RegisterTransaction,
    StateTransaction,
)
from neo_twisted.wire.fixed8 import FIXED8_ONE

#: C{protocol.json} C{SystemFee} of mainnet (and of the community privnet), in raw Fixed8.
DEFAULT_SYSTEM_FEES: Mapping[str, int] = {
    "EnrollmentTransaction": 1000 * FIXED8_ONE,
    "IssueTransaction": 500 * FIXED8_ONE,
    "PublishTransaction": 500 * FIXED8_ONE,
    "RegisterTransaction": 10000 * FIXED8_ONE,
}

#: Registering a validator costs this much whatever the fee table says
#: (hard-coded in the reference node).
VALIDATOR_REGISTRATION_FEE = 1000 * FIXED8_ONE


def system_fee(tx: Transaction, fees: Mapping[str, int] = DEFAULT_SYSTEM_FEES) -> int:
    """
    The GAS (raw Fixed8) a transaction burns, with the per-type exceptions of the reference node.
    """
    if isinstance(tx, InvocationTransaction):
        return tx.gas
    if isinstance(tx, StateTransaction):
        return sum(VALIDATOR_REGISTRATION_FEE for d in tx.descriptors
                   if d.type == STATE_VALIDATOR and any(d.value))
    if isinstance(tx, IssueTransaction) and (
            tx.version >= 1
            or all(o.asset_id in (NEO_ASSET_ID, GAS_ASSET_ID) for o in tx.outputs)):
        return 0
    if isinstance(tx, RegisterTransaction) and tx.asset_type in (AssetType.GoverningToken,
                                                                 AssetType.UtilityToken):
        return 0
    return fees.get(tx.type_name, 0)
