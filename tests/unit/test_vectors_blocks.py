"""
blocks.json and headers.json: every shared NEO 2 block and header vector decodes, hashes
and re-encodes exactly, every value its source states matches the decoded object, its
merkle root and witnesses hold, and the blocks link into chains.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from neo_twisted.core import (
    Block,
    Header,
    TransactionType,
    Witness,
    merkle_root,
)
from neo_twisted.crypto.hashes import hash256
from neo_twisted.crypto.keys import address_from_script_hash
from neo_twisted.crypto.scripts import parse_multisig_contract
from neo_twisted.crypto.witness import verify_witness
from neo_twisted.network.payloads import HeadersPayload, payload_bytes
from neo_twisted.wire import BinaryWriter, UInt256
from tests.support.transaction_facts import check_tx_fact
from tests.support.vector_checks import (
    BLOCKS,
    DESCRIPTIVE_KEYS,
    HEADERS,
    SKIPPED_KEYS,
    VectorCheck,
    VectorTestCase,
    check_witnesses,
    decoded_ok,
    display,
)
from tests.support.vectors import Vector

#: Transactions inside blocks.json, as the vectors README lists them.
BLOCK_TRANSACTIONS = 17_386


def _block_tx_key(check: VectorCheck, block: Block, key: str, stated: Any) -> bool:
    """
    C{tx<N>_<fact>}: a fact of the block's N-th transaction.
    """
    match = re.fullmatch(r"tx(\d+)_(.+)", key)
    if match is None:
        return False
    index, fact = int(match[1]), match[2]
    if index >= len(block.transactions):
        check.true(key, False, f"the block has only {len(block.transactions)} transactions")
        return True
    return check_tx_fact(check, key, block.transactions[index], stated, fact)


def _check_block_key(check: VectorCheck, key: str, stated: Any, block: Block, data: bytes,
                     by_hash: Mapping[bytes, Block]) -> bool:
    """
    Compare one stated block value; False if the key is unknown.
    """
    header = block.header
    txs = block.transactions
    simple: dict[str, Callable[[], Any]] = {
        "hash": lambda: str(block.hash),
        "size": lambda: block.size,
        "version": lambda: header.version,
        "prev_hash": lambda: str(header.prev_hash),
        "merkle_root": lambda: str(header.merkle_root),
        "timestamp": lambda: header.timestamp,
        "index": lambda: header.index,
        "consensus_data": lambda: header.consensus_data,
        # RPC shows ConsensusData as the block "nonce": 16 hex digits.
        "nonce": lambda: f"{header.consensus_data:016x}",
        "nextconsensus": lambda: address_from_script_hash(header.next_consensus),
        "witness_invocation": lambda: header.witness.invocation_script.hex(),
        "witness_verification": lambda: header.witness.verification_script.hex(),
        "tx_count": lambda: len(txs),
        "tx_hashes": lambda: [str(tx.hash) for tx in txs],
        "roundtrip": lambda: block.to_bytes() == data,
    }
    if key in simple:
        check.equal(key, simple[key]())
    elif key == "tx_hashes_set":
        check.equal(key, sorted(str(tx.hash)[2:] for tx in txs), sorted(stated))
    elif key == "tx_hashes_set_of_miner_contract_claim_invocation":
        kinds = {TransactionType.MinerTransaction, TransactionType.ContractTransaction,
                 TransactionType.ClaimTransaction, TransactionType.InvocationTransaction}
        check.equal(key, sorted(str(tx.hash)[2:] for tx in txs if tx.TYPE in kinds),
                    sorted(stated))
    elif key == "txs":
        check.equal(key, len(txs), len(stated), " (count)")
        for i, (tx, facts) in enumerate(zip(txs, stated, strict=False)):
            for fact, value in facts.items():
                if not check_tx_fact(check, key, tx, value, fact, f"[{i}].{fact}"):
                    check.problem(f"{key}[{i}].{fact}", "no test checks this fact")
    elif key == "claim_tx":
        wanted = display(stated["txid"])
        matches = [tx for tx in txs if str(tx.hash) == wanted]
        check.equal(key, len(matches), 1, f" (txs with hash {wanted})")
        for fact, value in stated.items():
            if matches and fact != "txid" and not check_tx_fact(check, key, matches[0], value,
                                                                fact, f".{fact}"):
                check.problem(f"{key}.{fact}", "no test checks this fact")
    elif key == "next_block_hash":
        successors = [str(b.hash) for b in by_hash.values() if b.header.prev_hash == block.hash]
        if successors:  # else unverifiable: see the note under SKIPPED_KEYS
            check.equal(key, successors, [stated], " (hash of the next block's vector)")
        check.covered.add(key)
    else:
        return _block_tx_key(check, block, key, stated)
    return True


def _is_real_block(record: Vector) -> bool:
    """
    A block as it was mined on mainnet or testnet, with its validators' signatures.
    """
    return record["network"] in ("mainnet", "testnet") and "hex_origin" not in record


class BlockVectorTests(VectorTestCase):
    """
    blocks.json: 9 mainnet, 8 testnet and 1 synthetic block, 17,386 transactions in all.
    """

    def test_vector_set_is_complete(self) -> None:
        """
        The file holds the README's 18 blocks, with 17,386 transactions between them.
        """
        self.assert_vector_count(BLOCKS)
        found: list[str] = []
        blocks = decoded_ok(BLOCKS, found)
        self.assert_no_problems(found)
        self.assertEqual(sum(len(b.value.transactions) for b in blocks), BLOCK_TRANSACTIONS)

    def test_stated_values(self) -> None:
        """
        Each block decodes, and every value its source states matches the decoded block.
        """
        found: list[str] = []
        items = decoded_ok(BLOCKS, found)
        by_hash = {bytes(item.value.hash): item.value for item in items}
        for item in items:
            check = VectorCheck(item.where, item.record["expect"], found)
            for key, stated in item.record["expect"].items():
                if key in DESCRIPTIVE_KEYS:
                    continue
                if not _check_block_key(check, key, stated, item.value, item.data, by_hash):
                    check.problem(key, "no test checks this expect key")
            check.finish(SKIPPED_KEYS.get(BLOCKS, {}))
        self.assert_no_problems(found)

    def test_derived_values(self) -> None:
        """
        Index, hash, transaction count, transaction types and size match the derived values.
        """
        found: list[str] = []
        for item in decoded_ok(BLOCKS, found):
            check = VectorCheck(item.where + " derived", item.record["derived"], found)
            block = item.value
            check.equal("index", block.index)
            check.equal("hash", str(block.hash))
            check.equal("tx_count", len(block.transactions))
            check.equal("tx_types", dict(Counter(tx.type_name for tx in block.transactions)))
            check.equal("size", block.size)
            check.equal("size", len(item.data), detail=" (vector length)")
            check.finish()
        self.assert_no_problems(found)

    def test_reencodes_to_same_bytes(self) -> None:
        """
        Re-encoding each block, and each transaction in it, gives the input bytes back; the
        block hash is the hash of the re-encoded 104-byte unsigned header.
        """
        found: list[str] = []
        for item in decoded_ok(BLOCKS, found):
            check = VectorCheck(item.where, {}, found)
            block = item.value
            check.equal("to_bytes", block.to_bytes() == item.data, True)
            unsigned = block.header.unsigned_bytes()
            check.equal("unsigned header", unsigned, item.data[:104])
            check.equal("hash of unsigned header", UInt256(hash256(unsigned)), block.hash)
            writer = BinaryWriter()
            block.header.write_base(writer)
            writer.write_var_int(len(block.transactions))
            pos = len(writer)
            for i, tx in enumerate(block.transactions):
                encoded = tx.to_bytes()
                if item.data[pos : pos + len(encoded)] != encoded:
                    check.problem(f"transactions[{i}]", "re-encoding differs from the input")
                    break
                pos += len(encoded)
            check.equal("end of last transaction", pos, len(item.data))
        self.assert_no_problems(found)

    def test_merkle_roots(self) -> None:
        """
        The merkle root of each block's transaction hashes is the root in its header.
        """
        found: list[str] = []
        for item in decoded_ok(BLOCKS, found):
            check = VectorCheck(item.where, {}, found)
            hashes = [tx.hash for tx in item.value.transactions]
            check.equal("merkle_root", merkle_root(hashes), item.value.header.merkle_root)
        self.assert_no_problems(found)

    def test_header_witness_signatures(self) -> None:
        """
        The validators' multisig witness of every real block signs its 104-byte unsigned
        header; genesis and synthetic blocks carry the trivial witness (empty, PUSHT).
        """
        found: list[str] = []
        signed = 0
        for item in decoded_ok(BLOCKS, found):
            check = VectorCheck(item.where, {}, found)
            header = item.value.header
            witness = header.witness
            if _is_real_block(item.record):
                check.equal("witness is multisig",
                            parse_multisig_contract(witness.verification_script) is not None,
                            True)
                signed += check_witnesses(check, "witness", header.unsigned_bytes(), [witness])
            else:
                check.equal("witness", witness, Witness(b"", b"\x51"))
        self.assert_no_problems(found)
        self.assertEqual(signed, 15)  # 8 mainnet and 7 testnet blocks

    def test_chain_links(self) -> None:
        """
        Where a block's predecessor is among the vectors, the block follows it: index one
        higher, and signed by the validators that the predecessor's NextConsensus names.
        """
        found: list[str] = []
        items = decoded_ok(BLOCKS, found)
        by_hash = {bytes(item.value.hash): item.value for item in items}
        links = 0
        for item in items:
            header = item.value.header
            prev = by_hash.get(bytes(header.prev_hash))
            if prev is None:
                continue
            links += 1
            check = VectorCheck(item.where, {}, found)
            check.equal("index", header.index, prev.index + 1)
            check.equal("witness script hash", header.witness.script_hash,
                        prev.header.next_consensus)
            check.true("witness", verify_witness(
                header.unsigned_bytes(), header.witness.invocation_script,
                header.witness.verification_script, prev.header.next_consensus),
                "does not verify against the previous block's NextConsensus")
        self.assert_no_problems(found)
        # testnet genesis -> 1, mainnet genesis -> 1 -> 2
        self.assertEqual(links, 3)

    def test_transaction_witness_signatures(self) -> None:
        """
        Every standard witness of every transaction in the blocks signs the transaction's
        unsigned bytes.
        """
        found: list[str] = []
        total = 0
        for item in decoded_ok(BLOCKS, found):
            for i, tx in enumerate(item.value.transactions):
                check = VectorCheck(f"{item.where} tx {i} {tx.hash}", {}, found)
                total += check_witnesses(check, "witnesses", tx.unsigned_bytes(), tx.witnesses)
        self.assert_no_problems(found)
        self.assertEqual(total, 655)


def _headers_of(value: Header | HeadersPayload) -> tuple[Header, ...]:
    return value.headers if isinstance(value, HeadersPayload) else (value,)


class HeaderVectorTests(VectorTestCase):
    """
    headers.json: a synthetic C{Header}, two 104-byte unsigned bases and a C{headers} payload.
    """

    def test_vector_set_is_complete(self) -> None:
        """
        The file holds the README's 4 vectors.
        """
        self.assert_vector_count(HEADERS)

    def test_stated_values(self) -> None:
        """
        Each record decodes, and every value its source states matches the decoded header.
        """
        found: list[str] = []
        for item in decoded_ok(HEADERS, found):
            expect = item.record["expect"]
            check = VectorCheck(item.where, expect, found)
            headers = _headers_of(item.value)
            header = headers[0]
            values = {
                "hash": str(header.hash),
                "hash_internal_order": bytes(header.hash).hex(),
                "merkle_root": str(header.merkle_root),
                "index": header.index,
                "consensus_data": header.consensus_data,
                "timestamp": header.timestamp,
                "size": header.size,
                "count": len(headers),
                "hash0": str(header.hash),
                "roundtrip": payload_bytes(item.value) == item.data,
            }
            for key in expect:
                if key in values:
                    check.equal(key, values[key])
            if "tx_hashes" in expect:
                # A bare header: its merkle root must be that of the stated transactions.
                hashes = [UInt256.from_string(h) for h in check.stated("tx_hashes")]
                check.equal("tx_hashes", merkle_root(hashes), header.merkle_root, " (merkle)")
                check.equal("tx_count", len(hashes))
            check.finish(SKIPPED_KEYS.get(HEADERS, {}))
        self.assert_no_problems(found)

    def test_reencodes_to_same_bytes(self) -> None:
        """
        Re-encoding gives the input back: the whole header or payload, or the 104 unsigned
        bytes of a base.
        """
        found: list[str] = []
        for item in decoded_ok(HEADERS, found):
            check = VectorCheck(item.where, {}, found)
            original = bytes.fromhex(item.record["hex"])
            if item.record["kind"] == "header_unsigned_base":
                check.equal("unsigned_bytes", item.value.unsigned_bytes(), original)
            else:
                check.equal("to_bytes", payload_bytes(item.value), original)
            for header in _headers_of(item.value):
                check.equal("hash", UInt256(hash256(header.unsigned_bytes())), header.hash)
        self.assert_no_problems(found)

    def test_witness_signatures(self) -> None:
        """
        The header of the C{headers} payload is signed by its validators' multisig witness.
        """
        found: list[str] = []
        signed = 0
        for item in decoded_ok(HEADERS, found):
            if item.record["kind"] != "headers_payload":
                continue
            check = VectorCheck(item.where, {}, found)
            for header in item.value.headers:
                signed += check_witnesses(check, "witness", header.unsigned_bytes(),
                                          [header.witness])
        self.assert_no_problems(found)
        self.assertEqual(signed, 1)

    def test_synthetic_header_matches_synthetic_block(self) -> None:
        """
        The C# unit tests build their C{Header} and C{Block} from the same values: the header
        is the block's header, re-encoded in the C{Header} layout.
        """
        found: list[str] = []
        headers = [i for i in decoded_ok(HEADERS, found) if i.record["kind"] == "header"]
        blocks = [i for i in decoded_ok(BLOCKS, found) if i.record["network"].startswith(
            "unknown")]
        self.assert_no_problems(found)
        self.assertEqual((len(headers), len(blocks)), (1, 1))
        self.assertEqual(headers[0].value, blocks[0].value.header)
        # The block layout is the header layout without its trailing zero transaction count.
        self.assertTrue(blocks[0].data.startswith(headers[0].data[:-1]))
