# -*- test-case-name: tests.unit.test_core_json -*-
"""
JSON views of ledger structures, with the field names NEO 2 JSON-RPC uses.

Where the reference node has a JSON form (blocks, headers, transactions) the
names, nesting and value formats follow it: hashes in C{0x} display form,
amounts as decimal strings, script hashes as addresses, enums by name. The
consensus payload has no RPC form; its fields are named in the same style.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import NoReturn

from neo_twisted.core.block import Block, Header
from neo_twisted.core.components import (
    AttributeUsage,
    CoinReference,
    TransactionOutput,
    Witness,
)
from neo_twisted.core.consensus import (
    ChangeView,
    ConsensusPayload,
    PrepareRequest,
    PrepareResponse,
)
from neo_twisted.core.fees import DEFAULT_SYSTEM_FEES, system_fee
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    AssetType,
    ClaimTransaction,
    EnrollmentTransaction,
    InvocationTransaction,
    MinerTransaction,
    PublishTransaction,
    RegisterTransaction,
    StateTransaction,
)
from neo_twisted.crypto.keys import ADDRESS_VERSION, address_from_script_hash
from neo_twisted.crypto.scripts import script_hash
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.fixed8 import format_fixed8

#: A JSON value as the node builds or reads one. Its containers are read-only here, so
#: that a list of objects, or an object of strings, is one as it stands.
Json = None | bool | int | float | str | Sequence["Json"] | Mapping[str, "Json"]
#: A JSON object being built.
JSON = dict[str, Json]


class ContractParameterType(IntEnum):
    Signature = 0x00
    Boolean = 0x01
    Integer = 0x02
    Hash160 = 0x03
    Hash256 = 0x04
    ByteArray = 0x05
    PublicKey = 0x06
    String = 0x07
    Array = 0x10
    Map = 0x12
    InteropInterface = 0xF0
    Void = 0xFF


def enum_name(enum: type[IntEnum], value: int) -> str | int:
    """
    The member name, or the bare number for a value the enum does not define (as .NET prints it).
    """
    try:
        return enum(value).name
    except ValueError:
        return value


def witness_json(witness: Witness) -> JSON:
    return {"invocation": witness.invocation_script.hex(),
            "verification": witness.verification_script.hex()}


def _input_json(ref: CoinReference) -> JSON:
    return {"txid": str(ref.prev_hash), "vout": ref.prev_index}


def output_json(n: int, output: TransactionOutput, version: int) -> JSON:
    return {"n": n, "asset": str(output.asset_id), "value": format_fixed8(output.value),
            "address": address_from_script_hash(output.script_hash, version)}


def _reject_constant(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def strict_json_loads(text: str) -> Json:
    """
    JSON with no NaN or Infinity, in words or by overflow (C{1e400}): a value read
    from outside (an RPC body, a peer's asset name) that would come back out as one
    would make our own answer unreadable.

    @raise ValueError: not such JSON.
    @raise RecursionError: nested deeper than Python's recursion limit.
    """
    value: Json = json.loads(text, parse_constant=_reject_constant,
                             parse_float=_finite_float)
    return value


def asset_name_json(name: str) -> Json:
    """
    Asset names are JSON text (a list of {lang, name}); show them parsed when they parse
    as strict JSON. NaN or Infinity (in words or as 1e400) would make the RPC answer
    unreadable, and a peer's name may nest deeper than the recursion limit: such names
    are shown as they are.
    """
    if not name:
        return None
    try:
        return strict_json_loads(name)
    except (ValueError, RecursionError):
        return name


def _exclusive_json(tx: Transaction, version: int) -> JSON:
    if isinstance(tx, MinerTransaction):
        return {"nonce": tx.nonce}
    if isinstance(tx, ClaimTransaction):
        return {"claims": [_input_json(c) for c in tx.claims]}
    if isinstance(tx, EnrollmentTransaction):
        return {"pubkey": tx.public_key.encode().hex()}
    if isinstance(tx, RegisterTransaction):
        return {"asset": {
            "type": enum_name(AssetType, tx.asset_type),
            "name": asset_name_json(tx.name),
            "amount": format_fixed8(tx.amount),
            "precision": tx.precision,
            "owner": tx.owner.encode().hex(),
            "admin": address_from_script_hash(tx.admin, version),
        }}
    if isinstance(tx, StateTransaction):
        return {"descriptors": [
            {"type": d.type_name, "key": d.key.hex(), "field": d.field, "value": d.value.hex()}
            for d in tx.descriptors]}
    if isinstance(tx, PublishTransaction):
        return {"contract": {
            "code": {
                "hash": str(script_hash(tx.script)),
                "script": tx.script.hex(),
                "parameters": [enum_name(ContractParameterType, p) for p in tx.parameter_list],
                "returntype": enum_name(ContractParameterType, tx.return_type),
            },
            "needstorage": tx.need_storage,
            "name": tx.name,
            "version": tx.code_version,
            "author": tx.author,
            "email": tx.email,
            "description": tx.description,
        }}
    if isinstance(tx, InvocationTransaction):
        return {"script": tx.script.hex(), "gas": format_fixed8(tx.gas)}
    return {}


def transaction_json(tx: Transaction, address_version: int = ADDRESS_VERSION,
                     fees: Mapping[str, int] = DEFAULT_SYSTEM_FEES) -> JSON:
    """
    C{Transaction.ToJson}, less C{net_fee}, which needs the referenced outputs from a ledger.
    """
    result: JSON = {
        "txid": str(tx.hash),
        "size": tx.size,
        "type": tx.type_name,
        "version": tx.version,
        "attributes": [{"usage": enum_name(AttributeUsage, a.usage), "data": a.data.hex()}
                       for a in tx.attributes],
        "vin": [_input_json(i) for i in tx.inputs],
        "vout": [output_json(n, o, address_version) for n, o in enumerate(tx.outputs)],
        "sys_fee": format_fixed8(system_fee(tx, fees)),
        "scripts": [witness_json(w) for w in tx.witnesses],
    }
    result.update(_exclusive_json(tx, address_version))
    return result


def header_json(header: Header, address_version: int = ADDRESS_VERSION,
                size: int | None = None) -> JSON:
    """
    C{BlockBase.ToJson}: the header fields, with the consensus data as 16 hex digits (C{nonce}).
    """
    return {
        "hash": str(header.hash),
        "size": header.size if size is None else size,
        "version": header.version,
        "previousblockhash": str(header.prev_hash),
        "merkleroot": str(header.merkle_root),
        "time": header.timestamp,
        "index": header.index,
        "nonce": f"{header.consensus_data:016x}",
        "nextconsensus": address_from_script_hash(header.next_consensus, address_version),
        "script": witness_json(header.witness),
    }


def block_json(block: Block, address_version: int = ADDRESS_VERSION,
               fees: Mapping[str, int] = DEFAULT_SYSTEM_FEES) -> JSON:
    result = header_json(block.header, address_version, size=block.size)
    result["tx"] = [transaction_json(tx, address_version, fees) for tx in block.transactions]
    return result


def consensus_json(payload: ConsensusPayload,
                   address_version: int = ADDRESS_VERSION) -> JSON:
    """
    A consensus payload and, when it parses, the dBFT message inside it.
    """
    result: JSON = {
        "hash": str(payload.hash),
        "size": payload.size,
        "version": payload.version,
        "previousblockhash": str(payload.prev_hash),
        "blockindex": payload.block_index,
        "validatorindex": payload.validator_index,
        "timestamp": payload.timestamp,
        "data": payload.data.hex(),
        "script": witness_json(payload.witness),
    }
    try:
        message = payload.message()
    except FormatError as e:
        result["message"] = {"error": str(e)}
        return result
    body: JSON = {"type": message.TYPE.name, "viewnumber": message.view_number}
    if isinstance(message, ChangeView):
        body["newviewnumber"] = message.new_view_number
    elif isinstance(message, PrepareRequest):
        body.update({
            "nonce": f"{message.nonce:016x}",
            "nextconsensus": address_from_script_hash(message.next_consensus, address_version),
            "hashes": [str(h) for h in message.transaction_hashes],
            "minertransaction": transaction_json(message.miner_transaction, address_version),
            "signature": message.signature.hex(),
        })
    elif isinstance(message, PrepareResponse):
        body["signature"] = message.signature.hex()
    result["message"] = body
    return result

