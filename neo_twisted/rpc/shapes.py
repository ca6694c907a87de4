# -*- test-case-name: tests.unit.test_rpc_methods -*-
"""
The JSON results of the read methods, built from the ledger on a read thread.

Each function takes the L{Ledger} first (it runs through
L{LedgerService.read}), reads what it needs in one go and returns plain JSON
data or None for "not found"; the method layer turns None into -100.
"""

from __future__ import annotations

from neo_twisted.core.block import Block, Header
from neo_twisted.core.fees import system_fee
from neo_twisted.core.jsonify import (
    JSON,
    asset_name_json,
    enum_name,
    header_json,
    transaction_json,
)
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    AssetType,
    ClaimTransaction,
    MinerTransaction,
)
from neo_twisted.crypto.keys import address_from_script_hash
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.state import AssetState
from neo_twisted.wire.fixed8 import format_fixed8
from neo_twisted.wire.uint import UInt160


def network_fee(ledger: Ledger, tx: Transaction, settings: ProtocolSettings) -> int:
    """
    C{Transaction.NetworkFee}: GAS in, less GAS out, less the system fee (none for
    Miner and Claim); the inputs are looked up in their transactions, spent or not.
    """
    if isinstance(tx, (MinerTransaction, ClaimTransaction)):
        return 0
    gas_in = 0
    sources: dict[bytes, Transaction | None] = {}
    for ref in tx.inputs:
        if ref.prev_hash not in sources:
            found = ledger.get_transaction(ref.prev_hash)
            sources[ref.prev_hash] = None if found is None else found[0]
        source = sources[ref.prev_hash]
        if source is not None and ref.prev_index < len(source.outputs):
            output = source.outputs[ref.prev_index]
            if output.asset_id == GAS_ASSET_ID:
                gas_in += output.value
    gas_out = sum(o.value for o in tx.outputs if o.asset_id == GAS_ASSET_ID)
    return gas_in - gas_out - system_fee(tx, settings.system_fees)


def transaction_result(ledger: Ledger, settings: ProtocolSettings, tx: Transaction,
                       height: int | None, net_fee: int | None = None) -> JSON:
    """
    C{getrawtransaction} verbose: the JSON with C{net_fee}, and where confirmed, its block.
    """
    result = transaction_json(tx, settings.address_version, settings.system_fees)
    fee = network_fee(ledger, tx, settings) if net_fee is None else net_fee
    result["net_fee"] = format_fixed8(fee)
    if height is not None:
        header = ledger.get_header(height)
        if header is not None:
            result["blockhash"] = str(header.hash)
            result["confirmations"] = ledger.block_height - height + 1
            result["blocktime"] = header.timestamp
    return result


def _chain_position(ledger: Ledger, header: Header, result: JSON) -> JSON:
    result["confirmations"] = ledger.block_height - header.index + 1
    following = ledger.get_block_hash(header.index + 1)
    if following is not None:
        result["nextblockhash"] = str(following)
    return result


def block_result(ledger: Ledger, settings: ProtocolSettings, key: bytes | int,
                 verbose: bool) -> str | JSON | None:
    """
    C{getblock}: the block's hex, or its JSON with confirmations and each
    transaction's C{net_fee} (None: no such block).
    """
    block: Block | None = ledger.get_block(key)
    if block is None:
        return None
    if not verbose:
        return block.to_bytes().hex()
    version = settings.address_version
    result = header_json(block.header, version, size=block.size)
    txs: list[JSON] = []
    for tx in block.transactions:
        tx_json = transaction_json(tx, version, settings.system_fees)
        tx_json["net_fee"] = format_fixed8(network_fee(ledger, tx, settings))
        txs.append(tx_json)
    result["tx"] = txs
    return _chain_position(ledger, block.header, result)


def header_result(ledger: Ledger, settings: ProtocolSettings, key: bytes | int,
                  verbose: bool) -> str | JSON | None:
    """
    C{getblockheader}: the header's hex (with its zero transaction count) or its JSON.
    """
    header = ledger.get_header(key)
    if header is None:
        return None
    if not verbose:
        return header.to_bytes().hex()
    return _chain_position(ledger, header, header_json(header, settings.address_version))


def account_result(ledger: Ledger, script_hash: UInt160) -> JSON:
    """
    C{AccountState.ToJson}: the keys it votes for in the order cast, and its balances.
    An unknown account shows as the reference shows a fresh one; no 2.x rule ever
    freezes an account.
    """
    balances = ledger.get_balances(script_hash)
    return {
        "version": 0,
        "script_hash": str(script_hash),
        "frozen": False,
        "votes": [key.encode().hex() for key in ledger.get_votes(script_hash)],
        "balances": [{"asset": str(asset), "value": format_fixed8(value)}
                     for asset, value in sorted(balances.items())],
    }


def asset_result(state: AssetState, address_version: int) -> JSON:
    """
    C{AssetState.ToJson}.
    """
    return {
        "version": 0,
        "id": str(state.asset_id),
        "type": enum_name(AssetType, state.asset_type),
        "name": asset_name_json(state.name),
        "amount": format_fixed8(state.amount),
        "available": format_fixed8(state.available),
        "precision": state.precision,
        "owner": state.owner.encode().hex(),
        "admin": address_from_script_hash(state.admin, address_version),
        "issuer": address_from_script_hash(state.issuer, address_version),
        "expiration": state.expiration,
        "frozen": False,
    }
