# -*- test-case-name: tests.unit.test_cli -*-
"""
JSON views of P2P messages, for the decoder CLI and for logs.

Payloads that carry ledger structures reuse L{neo_twisted.core.jsonify}; the
others have no RPC form, and their fields keep the reference node's names in lower case.
"""

from __future__ import annotations

from neo_twisted.core.block import Block
from neo_twisted.core.consensus import ConsensusPayload
from neo_twisted.core.jsonify import (
    JSON,
    block_json,
    consensus_json,
    header_json,
    transaction_json,
)
from neo_twisted.core.transaction import Transaction
from neo_twisted.network.payloads import (
    AddrPayload,
    EmptyPayload,
    FilterAddPayload,
    FilterLoadPayload,
    GetBlocksPayload,
    HeadersPayload,
    InvPayload,
    MerkleBlockPayload,
    Payload,
    PingPayload,
    VersionPayload,
)


def payload_json(payload: Payload, address_version: int) -> JSON:
    """
    The JSON form of any decoded payload.
    """
    if isinstance(payload, EmptyPayload):
        return {}
    if isinstance(payload, VersionPayload):
        return {"version": payload.version, "services": payload.services,
                "timestamp": payload.timestamp, "port": payload.port, "nonce": payload.nonce,
                "useragent": payload.user_agent, "startheight": payload.start_height,
                "relay": payload.relay}
    if isinstance(payload, AddrPayload):
        return {"addresses": [{"timestamp": a.timestamp, "services": a.services,
                               "address": str(a.address), "port": a.port}
                              for a in payload.addresses]}
    if isinstance(payload, GetBlocksPayload):
        return {"hashstart": [str(h) for h in payload.hash_start],
                "hashstop": str(payload.hash_stop)}
    if isinstance(payload, HeadersPayload):
        return {"headers": [header_json(h, address_version) for h in payload.headers]}
    if isinstance(payload, InvPayload):
        return {"type": payload.type.name, "hashes": [str(h) for h in payload.hashes]}
    if isinstance(payload, Block):
        return block_json(payload, address_version)
    if isinstance(payload, Transaction):
        return transaction_json(payload, address_version)
    if isinstance(payload, ConsensusPayload):
        return consensus_json(payload, address_version)
    if isinstance(payload, PingPayload):
        return {"lastblockindex": payload.last_block_index, "timestamp": payload.timestamp,
                "nonce": payload.nonce}
    if isinstance(payload, FilterLoadPayload):
        return {"filter": payload.filter.hex(), "k": payload.k, "tweak": payload.tweak}
    if isinstance(payload, FilterAddPayload):
        return {"data": payload.data.hex()}
    if isinstance(payload, MerkleBlockPayload):
        result: JSON = header_json(payload.header, address_version)
        del result["size"]
        result.update({"txcount": payload.tx_count, "hashes": [str(h) for h in payload.hashes],
                       "flags": payload.flags.hex()})
        return result
    raise TypeError(f"no JSON form for {type(payload).__name__}")
