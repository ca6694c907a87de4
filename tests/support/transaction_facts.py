"""
The transaction values the vectors state, each as a function of the decoded transaction:
shared by the transaction and block vector tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from neo_twisted.core import AssetType, Transaction
from neo_twisted.core.fees import system_fee
from neo_twisted.crypto.keys import address_from_script_hash
from neo_twisted.crypto.scripts import script_hash
from neo_twisted.wire import ECPoint, format_fixed8, parse_fixed8
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.support.vector_checks import VectorCheck, display

#: NEO 2 C{ContractParameterType}, which PublishTransaction parameter and return types use.
PARAMETER_TYPES = {
    0x00: "Signature", 0x01: "Boolean", 0x02: "Integer", 0x03: "Hash160", 0x04: "Hash256",
    0x05: "ByteArray", 0x06: "PublicKey", 0x07: "String", 0x10: "Array",
    0xF0: "InteropInterface", 0xFF: "Void",
}


def _raw_amount(stated: int | float | str) -> int:
    """
    A stated decimal amount (neon-js JSON numbers, RPC strings) as a raw Fixed8.
    """
    return parse_fixed8(repr(stated) if isinstance(stated, float) else str(stated))


def _owner(tx: Any, stated: str) -> tuple[Any, Any]:
    if stated.startswith("infinity"):
        return tx.owner.is_infinity, True
    return tx.owner, ECPoint.from_bytes(bytes.fromhex(stated))


def _descriptors(tx: Any, stated: int | list[dict[str, Any]]) -> tuple[Any, Any]:
    if isinstance(stated, int):
        return len(tx.descriptors), stated
    return [{"type": d.type, "key": d.key.hex(), "field": d.field, "value": d.value.hex()}
            for d in tx.descriptors], stated


def _descriptor_type(tx: Any, stated: str) -> tuple[Any, Any]:
    d = tx.descriptors[0]
    return (f"{d.type_name} (0x{d.type:02x})" if "(" in stated else d.type_name), stated


def _output_list(tx: Transaction, stated: list[dict[str, Any]]) -> tuple[Any, Any]:
    # neon-js: asset ids and script hashes reversed, without 0x; values decimal numbers.
    actual = [{"assetId": str(o.asset_id)[2:], "value": o.value,
               "scriptHash": str(o.script_hash)[2:]} for o in tx.outputs]
    wanted = [{**o, "value": _raw_amount(o["value"])} for o in stated]
    return actual, wanted


def _divmod_amount(raw: int) -> tuple[int, int]:
    """
    Integral and fractional parts (in 10^-8 units) of an amount, truncating toward zero.
    """
    whole, fraction = divmod(abs(raw), FIXED8_ONE)
    return (-whole, -fraction) if raw < 0 else (whole, fraction)


#: One C{expect} key of a transaction: (decoded value, stated value) in comparable form.
TxFact = Callable[[Any, Any], tuple[Any, Any]]

TX_FACTS: Mapping[str, TxFact] = {
    "hash": lambda tx, v: (str(tx.hash), v),
    "type": lambda tx, v: (tx.type_name, v),
    "type_code": lambda tx, v: (int(tx.TYPE), v),
    "version": lambda tx, v: (tx.version, v),
    "size": lambda tx, v: (tx.size, v),
    "nonce": lambda tx, v: (tx.nonce, v),
    "attributes": lambda tx, v: (len(tx.attributes), v),
    "inputs": lambda tx, v: (len(tx.inputs), v),
    "outputs": lambda tx, v: (len(tx.outputs), v),
    "witnesses": lambda tx, v: (len(tx.witnesses), v),
    "claims": lambda tx, v: (len(tx.claims), v),
    "claim0_txid": lambda tx, v: (str(tx.claims[0].prev_hash), display(v)),
    "claim0_vout": lambda tx, v: (tx.claims[0].prev_index, v),
    "input0_prevhash": lambda tx, v: (str(tx.inputs[0].prev_hash), display(v)),
    "input0_previndex": lambda tx, v: (tx.inputs[0].prev_index, v),
    "input_list": lambda tx, v: ([{"prevHash": str(i.prev_hash)[2:], "prevIndex": i.prev_index}
                                  for i in tx.inputs], v),
    "output_list": _output_list,
    "vout0_asset": lambda tx, v: (str(tx.outputs[0].asset_id), display(v)),
    "vout0_value": lambda tx, v: (format_fixed8(tx.outputs[0].value), v),
    "vout0_value_fixed8_raw": lambda tx, v: (tx.outputs[0].value, v),
    "vout0_address": lambda tx, v: (address_from_script_hash(tx.outputs[0].script_hash), v),
    "output0_asset": lambda tx, v: (str(tx.outputs[0].asset_id), display(v)),
    "output0_amount_integral": lambda tx, v: (_divmod_amount(tx.outputs[0].value)[0], v),
    "output0_amount_fraction": lambda tx, v: (_divmod_amount(tx.outputs[0].value)[1], v),
    # neo-go Uint160.String() is the wire order.
    "output0_scripthash_BE": lambda tx, v: (tx.outputs[0].script_hash.hex(), v),
    "attribute_list": lambda tx, v: ([{"usage": a.usage, "data": a.data.hex()}
                                      for a in tx.attributes], v),
    "witness0_invocation": lambda tx, v: (tx.witnesses[0].invocation_script.hex(), v),
    "witness0_verification": lambda tx, v: (tx.witnesses[0].verification_script.hex(), v),
    # InvocationTransaction
    "script": lambda tx, v: (tx.script.hex(), v),
    "gas": lambda tx, v: (tx.gas, _raw_amount(v)),
    # StateTransaction
    "descriptors": _descriptors,
    "descriptor0_type": _descriptor_type,
    "descriptor0_key": lambda tx, v: (tx.descriptors[0].key.hex(), v),
    "descriptor0_field": lambda tx, v: (tx.descriptors[0].field, v),
    "descriptor0_value": lambda tx, v: (tx.descriptors[0].value.hex(), v),
    # neo-python states the system fee of the tx holding the descriptor (a validator
    # registration costs 1000 GAS).
    "descriptor0_systemfee": lambda tx, v: (format_fixed8(system_fee(tx)), v),
    # EnrollmentTransaction (neon-js shows keys uncompressed: compare points)
    "publicKey": lambda tx, v: (tx.public_key, ECPoint.from_bytes(bytes.fromhex(v))),
    # RegisterTransaction
    "asset_type": lambda tx, v: (f"{AssetType(tx.asset_type).name} (0x{tx.asset_type:02x})", v),
    "assetType": lambda tx, v: (tx.asset_type, v),
    "asset_name": lambda tx, v: (tx.name, v),
    "name": lambda tx, v: (tx.name, v),
    "asset_precision": lambda tx, v: (tx.precision, v),
    "precision": lambda tx, v: (tx.precision, v),
    "amount": lambda tx, v: (tx.amount, _raw_amount(v)),
    # neo-go asserts Fixed8FromInt64(100000000): the whole amount, no fraction.
    "amount_fixed8_integral": lambda tx, v: (tx.amount, v * FIXED8_ONE),
    "owner": _owner,
    "admin": lambda tx, v: (str(tx.admin), display(v)),
    "admin_address": lambda tx, v: (address_from_script_hash(tx.admin), v),
    "asset_admin_address": lambda tx, v: (address_from_script_hash(tx.admin), v),
    # PublishTransaction
    "contract_code_hash": lambda tx, v: (str(script_hash(tx.script)), v),
    "contract_author": lambda tx, v: (tx.author, v),
    "contract_description": lambda tx, v: (tx.description, v),
    "contract_returntype": lambda tx, v: (PARAMETER_TYPES[tx.return_type], v),
    "contract_parameters": lambda tx, v: ([PARAMETER_TYPES[p] for p in tx.parameter_list], v),
    "returnType": lambda tx, v: (tx.return_type, v),
    "needStorage": lambda tx, v: (tx.need_storage, v),
    "author": lambda tx, v: (tx.author, v),
    "codeVersion": lambda tx, v: (tx.code_version, v),
    "email": lambda tx, v: (tx.email, v),
    "description": lambda tx, v: (tx.description, v),
    "parameterList": lambda tx, v: (list(tx.parameter_list), v),
}


def check_tx_fact(check: VectorCheck, key: str, tx: Transaction, stated: Any,
                  fact: str | None = None, detail: str = "") -> bool:
    """
    Compare one stated transaction value; False if no fact of that name is known.

    @param key: the C{expect} key the value was stated under, reported on a mismatch.
    @param fact: the L{TX_FACTS} name, when it differs from C{key} (for a transaction
        inside a block, C{tx1_hash} states the fact C{hash}).
    """
    compute = TX_FACTS.get(key if fact is None else fact)
    if compute is None:
        return False
    try:
        actual, wanted = compute(tx, stated)
    except (AttributeError, IndexError, KeyError, ValueError) as e:
        check.true(key + detail, False, f"cannot be read from the decoded tx: {e!r}")
        return True
    check.equal(key, actual, wanted, detail)
    return True
