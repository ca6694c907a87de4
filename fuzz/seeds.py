"""
Seed inputs for the fuzz targets: real encodings (the conformance vectors in
tests/data/vectors and the repository's samples) and, for long runs, valid encodings drawn
from the test strategies.

A fuzzer starting from valid inputs gets past the first length and type checks at once,
so every reader is reached in the first seconds. Missing vectors are not an error here
(the test suite reports them): the fuzzers then start from the samples alone.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neo_twisted.core import Block, MinerTransaction, Transaction, Witness
from neo_twisted.core.consensus import (
    ChangeView,
    ConsensusPayload,
    PrepareRequest,
    PrepareResponse,
)
from neo_twisted.network.frame import encode_frame
from tests.support.samples import GENESIS_HEX, MAINNET_CONTRACT_TX, MAINNET_MAGIC
from tests.support.vectors import vectors_dir

#: The repository root: the bundled protocol files live there.
ROOT = Path(__file__).resolve().parents[1]

#: Seeds longer than this are left out: mutating them costs more than it finds.
MAX_SEED = 40_000

GENESIS = bytes.fromhex(GENESIS_HEX)


@functools.cache
def _records(name: str) -> tuple[dict[str, Any], ...]:
    """
    The records of one vectors file, or none when it cannot be read.
    """
    try:
        records = json.loads((vectors_dir() / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    return tuple(r for r in records if isinstance(r, dict)) if isinstance(records, list) else ()


def _hex_of(record: dict[str, Any]) -> bytes | None:
    try:
        data = bytes.fromhex(record.get("hex", ""))
    except (TypeError, ValueError):
        return None
    if record.get("unsigned_only"):
        data += b"\x00"  # the empty witness array the record leaves out
    return data if 0 < len(data) <= MAX_SEED else None


def vector_bytes(name: str, kinds: Callable[[str], bool] = lambda kind: True) -> list[bytes]:
    """
    The hex of every record of vectors file C{name} whose kind C{kinds} accepts.
    """
    found = (_hex_of(r) for r in _records(name) if kinds(str(r.get("kind", ""))))
    return [data for data in found if data is not None]


def crypto_strings(field: str) -> list[bytes]:
    """
    Every string value named C{field} in the crypto vectors (addresses, WIFs), as UTF-8.
    """
    found = []
    for record in _records("crypto.json"):
        expect = record.get("expect")
        if isinstance(expect, dict) and isinstance(expect.get(field), str):
            found.append(expect[field].encode("utf-8"))
    return found


@functools.cache
def transactions() -> tuple[bytes, ...]:
    """
    Real transactions of every type: the vectors, the sample and the genesis block's.
    """
    found = [*vector_bytes("transactions.json"), MAINNET_CONTRACT_TX]
    found += [tx.to_bytes() for tx in Block.from_bytes(GENESIS).transactions]
    return tuple(found)


def transactions_of_type(kind: int) -> list[bytes]:
    return [data for data in transactions() if data[0] == kind]


@functools.cache
def blocks() -> tuple[bytes, ...]:
    return (*vector_bytes("blocks.json"), GENESIS)


@functools.cache
def headers() -> tuple[bytes, ...]:
    """
    Headers: each block's, the header vector, and the unsigned header bases completed with
    an empty witness and the zero transaction count.
    """
    found = [Block.from_bytes(data).header.to_bytes() for data in blocks()]
    found += vector_bytes("headers.json", lambda kind: kind == "header")
    found += [base + b"\x01\x00\x00\x00" for base in vector_bytes(
        "headers.json", lambda kind: kind == "header_unsigned_base")]
    return tuple(found)


def headers_payloads() -> list[bytes]:
    return [*vector_bytes("headers.json", lambda kind: kind == "headers_payload"),
            *vector_bytes("messages.json", lambda kind: kind == "headers_payload")]


@functools.cache
def consensus_messages() -> tuple[bytes, ...]:
    """
    One dBFT message of each kind; the PrepareRequest proposes the genesis block's miner
    transaction.
    """
    genesis = Block.from_bytes(GENESIS)
    miner = genesis.transactions[0]
    assert isinstance(miner, MinerTransaction)
    request = PrepareRequest(view_number=1, nonce=7, next_consensus=genesis.header.next_consensus,
                             transaction_hashes=(miner.hash, genesis.transactions[1].hash),
                             miner_transaction=miner, signature=bytes(range(64)))
    return tuple(message.to_bytes() for message in (
        ChangeView(view_number=0, new_view_number=1), request,
        PrepareResponse(view_number=1, signature=bytes(64))))


def consensus_payloads() -> list[bytes]:
    """
    Each message of L{consensus_messages} in a payload after the genesis block.
    """
    genesis = Block.from_bytes(GENESIS)
    witness = Witness(b"\x40" + bytes(64), b"\x21" + bytes(33) + b"\xac")
    return [ConsensusPayload(prev_hash=genesis.hash, block_index=1, validator_index=3,
                             timestamp=1468595316, data=data, witness=witness).to_bytes()
            for data in consensus_messages()]


def frame_streams() -> list[bytes]:
    """
    Mainnet message streams: a handshake, a transaction and a block, and all of them at once.
    """
    verack = encode_frame(MAINNET_MAGIC, "verack")
    tx = encode_frame(MAINNET_MAGIC, "tx", MAINNET_CONTRACT_TX)
    block = encode_frame(MAINNET_MAGIC, "block", GENESIS)
    ping = encode_frame(MAINNET_MAGIC, "ping", bytes(12))
    return [verack, tx, block, ping, verack + tx + block + ping, b"", verack[:10]]


def protocol_files() -> list[bytes]:
    return [path.read_bytes() for path in sorted(ROOT.glob("protocol*.json"))]


def rpc_requests() -> list[dict[str, Any]]:
    """
    One request for each method, with plausible parameters.
    """
    tx = Transaction.from_bytes(MAINNET_CONTRACT_TX)
    address = (crypto_strings("address") or [b"AStZHy8E6StCqYQbzMqi4poH7YNDHQKxvt"])[0].decode()
    txid = str(tx.hash)
    calls: list[tuple[str, list[Any]]] = [
        ("getbestblockhash", []), ("getblockcount", []), ("getblockhash", [0]),
        ("getblock", [0, 1]), ("getblock", [txid, True]), ("getblockheader", ["0", 0]),
        ("getblocksysfee", [0]), ("getconnectioncount", []), ("getpeers", []),
        ("getrawmempool", [True]), ("getrawtransaction", [txid, 1]), ("gettxout", [txid, 0]),
        ("getversion", []), ("sendrawtransaction", [MAINNET_CONTRACT_TX.hex()]),
        ("submitblock", [GENESIS.hex()]), ("validateaddress", [address]),
        ("getaccountstate", [address]), ("getassetstate", [txid]),
        ("getconsensusstate", []), ("getnodestate", []),
    ]
    return [{"jsonrpc": "2.0", "method": method, "params": params, "id": i}
            for i, (method, params) in enumerate(calls)]


def rpc_bodies() -> list[bytes]:
    """
    POST bodies: each request alone, a batch of all, and a notification.
    """
    requests = rpc_requests()
    bodies = [json.dumps(request).encode() for request in requests]
    notification = {"jsonrpc": "2.0", "method": "getblockcount", "params": []}
    return [*bodies, json.dumps(requests).encode(), json.dumps(notification).encode()]


def rpc_queries() -> list[bytes]:
    """
    GET query strings (C{params} as plain JSON and as Base64).
    """
    return [b"jsonrpc=2.0&method=getblockcount&params=[]&id=1",
            b"jsonrpc=2.0&method=getblock&params=WzAsMV0=&id=2",
            b"method=validateaddress&params=[%22AStZHy8E6StCqYQbzMqi4poH7YNDHQKxvt%22]",
            b"method=getrawtransaction&params=[%22" + str(
                Transaction.from_bytes(MAINNET_CONTRACT_TX).hash).encode() + b"%22,1]&id=x"]
