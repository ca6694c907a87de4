"""
Settings, keys and block builders shared by the ledger tests.

Privnet blocks are signed with the public development keys of C{devkeys/privnet.json}: the
witness is M = 3 pushes of 64-byte signatures of the header's unsigned bytes, by validators in
the order their keys appear in the 3-of-4 multisig script, and the verification script is that
script. Signing is deterministic (RFC 6979), so the same arguments always give the same block.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block, Header
from neo_twisted.core.components import Witness
from neo_twisted.core.merkle import merkle_root
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import MinerTransaction
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.crypto.scripts import bft_threshold, multisig_redeem_script, script_hash
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.genesis import genesis_block
from neo_twisted.ledger.settings import (
    ProtocolSettings,
    load_protocol,
)
from neo_twisted.ledger.verify import Mapper, serial_map
from neo_twisted.wire.uint import UInt160
from tests.support.vectors import load_vectors

ROOT = Path(__file__).resolve().parents[2]
PRIVNET = load_protocol(ROOT / "protocol.json")
MAINNET = load_protocol(ROOT / "protocol.mainnet.json")
TESTNET = load_protocol(ROOT / "protocol.testnet.json")

#: The privnet genesis (neo2-ledger.md section 5 built from protocol.json's validators).
PRIVNET_GENESIS = genesis_block(PRIVNET.standby_validators)
PRIVNET_GENESIS_HASH = "0x996e37358dc369912041f966f8c5d8d3a8255ba5dcbd3447f8a82b55db869099"

#: The four development validators, in the order of their keys in the multisig script.
DEV_KEYS: tuple[KeyPair, ...] = tuple(sorted(
    (KeyPair.from_wif(entry["wif"]) for entry in
     json.loads((ROOT / "devkeys" / "privnet.json").read_text())["validators"]),
    key=lambda pair: pair.public_key))
M = bft_threshold(len(DEV_KEYS))
#: The privnet consensus contract: every privnet header's NextConsensus is its hash.
CONSENSUS_SCRIPT = multisig_redeem_script(M, [k.public_key for k in DEV_KEYS])
CONSENSUS_HASH = script_hash(CONSENSUS_SCRIPT)

BLOCK_INTERVAL = 15


def multisig_witness(message: bytes, keys: Sequence[KeyPair] = DEV_KEYS[:M],
                     verification: bytes = CONSENSUS_SCRIPT) -> Witness:
    """
    A witness pushing one signature of C{message} per key of C{keys}, in the order given.
    """
    invocation = b"".join(b"\x40" + key.sign(message) for key in keys)
    return Witness(invocation_script=invocation, verification_script=verification)


def sign_header(header: Header, keys: Sequence[KeyPair] = DEV_KEYS[:M],
                message: bytes | None = None,
                verification: bytes = CONSENSUS_SCRIPT) -> Header:
    """
    C{header} with a multisig witness of C{message} (by default its own unsigned bytes).
    """
    signed = header.unsigned_bytes() if message is None else message
    return attrs.evolve(header, witness=multisig_witness(signed, keys, verification))


def make_block(previous: Header, txs: Sequence[Transaction] = (), *, sign: bool = True,
               nonce: int | None = None, **fields: object) -> Block:
    """
    The block after C{previous}: C{MinerTransaction(nonce=index)} then C{txs}, 15 s later.

    C{fields} override header fields (merkle_root, timestamp, prev_hash, index, ...); with
    C{sign} false the witness is left empty.
    """
    index = previous.index + 1
    transactions = (MinerTransaction(nonce=index if nonce is None else nonce), *txs)
    values: dict[str, object] = {
        "prev_hash": previous.hash,
        "merkle_root": merkle_root([tx.hash for tx in transactions]),
        "timestamp": previous.timestamp + BLOCK_INTERVAL,
        "index": index,
        "consensus_data": index,
        "next_consensus": previous.next_consensus,
    }
    values.update(fields)
    header = Header(**values)  # type: ignore[arg-type]
    return Block(sign_header(header) if sign else header, transactions)


def make_blocks(previous: Header, count: int, *, sign: bool = True) -> list[Block]:
    """
    C{count} consecutive blocks after C{previous}, each holding only its MinerTransaction.
    """
    blocks = []
    for _ in range(count):
        block = make_block(previous, sign=sign)
        blocks.append(block)
        previous = block.header
    return blocks


def headers_of(blocks: Sequence[Block]) -> list[Header]:
    return [block.header for block in blocks]


#: Ten signed privnet blocks after genesis, built once (signing is the slow part).
CHAIN: tuple[Block, ...] = tuple(make_blocks(PRIVNET_GENESIS.header, 10))


def accept_all(check: object, jobs: Sequence[object]) -> list[bool]:
    """
    A mapper that passes every witness, for tests about chain shape rather than signatures.
    """
    return [True] * len(jobs)


def vector_block(network: str, index: int) -> Block:
    """
    The real block C{index} of C{network} ("mainnet" or "testnet") from blocks.json.
    """
    for record in load_vectors("blocks.json"):
        derived = record.get("derived")
        if (record.get("network") == network and isinstance(derived, dict)
                and derived.get("index") == index):
            return Block.from_bytes(bytes.fromhex(record["hex"]))
    raise LookupError(f"no {network} block {index} in blocks.json")


def script_hash_of(keys: Sequence[KeyPair], m: int) -> UInt160:
    return script_hash(multisig_redeem_script(m, [k.public_key for k in keys]))


def open_ledger(case: SynchronousTestCase, datadir: str, settings: ProtocolSettings = PRIVNET,
                mapper: Mapper = serial_map) -> Ledger:
    """
    Open a ledger in C{datadir} that is closed when the test ends (closing twice is harmless).
    """
    ledger = Ledger.open(datadir, settings, mapper)
    case.addCleanup(ledger.close)
    return ledger


def privnet_document() -> dict[str, Any]:
    """
    A fresh copy of the shipped privnet document, to break one key at a time.
    """
    document: dict[str, Any] = json.loads((ROOT / "protocol.json").read_text(encoding="utf-8"))
    return copy.deepcopy(document)
