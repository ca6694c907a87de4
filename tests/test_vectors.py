"""
Every shared NEO 2 conformance vector decodes, hashes and re-encodes exactly, and every
value its source states matches the decoded object.

One class per vector file. Each test walks all records of its file and reports every
mismatch at once, each naming the vector (file, position, kind, source, note) and the
C{expect} key, so that one run shows everything that is wrong. Each C{expect} key must
be covered by a check, be purely descriptive (L{DESCRIPTIVE_KEYS}) or be listed in
L{SKIPPED_KEYS} with its reason; any other key fails the test, so a vector file that
grows a new kind of statement cannot be silently ignored.

Hash conventions the sources use, as the vectors README describes them:
  - UInt256 (txid, block hash, asset id, prev hash): display order, with or without C{0x};
  - neon-js shows UInt160 values reversed (display order) without C{0x};
  - neo-go C{Uint160.String()} is wire order, C{StringLE()} is reversed;
  - addresses encode the wire-order script hash.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    AssetType,
    Block,
    Header,
    Transaction,
    TransactionType,
    Witness,
    merkle_root,
)
from neo_twisted.core.fees import system_fee
from neo_twisted.crypto.base58 import b58check_decode
from neo_twisted.crypto.ecdsa import load_public_key, verify_signature
from neo_twisted.crypto.hashes import checksum, hash160, hash256, sha256
from neo_twisted.crypto.keys import (
    ADDRESS_VERSION,
    KeyPair,
    address_from_script_hash,
    nep2_decrypt,
    nep2_encrypt,
    script_hash_from_address,
)
from neo_twisted.crypto.scripts import (
    consensus_address,
    is_signature_contract,
    multisig_redeem_script,
    parse_multisig_contract,
    script_hash,
)
from neo_twisted.crypto.witness import verify_witness
from neo_twisted.network.frame import Frame, FrameDecoder, encode_frame
from neo_twisted.network.payloads import HeadersPayload, decode_payload, payload_bytes
from neo_twisted.wire import (
    BinaryWriter,
    ECPoint,
    UInt160,
    UInt256,
    format_fixed8,
    parse_fixed8,
)
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.vectors import Vector, full_bytes, label, load_vectors

TRANSACTIONS = "transactions.json"
BLOCKS = "blocks.json"
HEADERS = "headers.json"
MESSAGES = "messages.json"
CRYPTO = "crypto.json"

#: Records per file and transactions inside blocks.json, as the vectors README lists them:
#: a folder holding fewer is incomplete, and passing on it would prove less than it claims.
VECTOR_COUNTS = {TRANSACTIONS: 43, BLOCKS: 18, HEADERS: 4, MESSAGES: 6, CRYPTO: 31}
BLOCK_TRANSACTIONS = 17_386

#: C{expect} keys that describe the record rather than state a value of it.
DESCRIPTIVE_KEYS = frozenset({
    "hash_order",  # says which byte order the record's hashes are written in
    "reason",  # prose: why an address must be rejected (its rejection is checked)
})

#: C{expect} keys no test checks, per file, with the reason. Keep this short.
SKIPPED_KEYS: Mapping[str, Mapping[str, str]] = {
    MESSAGES: {
        # protocol.{mainnet,testnet} settings: the package has no per-network defaults
        # (ports, seeds) yet, so there is nothing to compare the port with.
        "default_p2p_port": "no network settings in the package",
    },
}
# Checked only where possible: blocks.json C{next_block_hash} is compared with the vector
# of the next block when that block is among the vectors (mainnet block 1 -> block 2);
# no byte of a block names its successor, so mainnet block 2's successor goes unchecked.

#: NEO 2 C{ContractParameterType}, which PublishTransaction parameter and return types use.
PARAMETER_TYPES = {
    0x00: "Signature", 0x01: "Boolean", 0x02: "Integer", 0x03: "Hash160", 0x04: "Hash256",
    0x05: "ByteArray", 0x06: "PublicKey", 0x07: "String", 0x10: "Array",
    0xF0: "InteropInterface", 0xFF: "Void",
}

#: A header's witness marker, an empty witness and the zero transaction count: what turns
#: a 104-byte unsigned header into the C{Header} layout.
EMPTY_HEADER_TAIL = b"\x01\x00\x00\x00"

MAINNET_MAGIC = 7630401

_STATED = object()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


class VectorCheck:
    """
    The checks of one vector.

    Mismatches go to a list shared by the whole test; every C{expect} key a check
    looks at is noted, so that L{finish} can report the keys nothing looked at.
    """

    def __init__(self, where: str, expect: Mapping[str, Any], found: list[str]) -> None:
        self.where = where
        self.expect = expect
        self.found = found
        self.covered: set[str] = set()

    def stated(self, key: str) -> Any:
        """
        The value the vector states for C{key}, used as an input of other checks.
        """
        self.covered.add(key)
        return self.expect[key]

    def problem(self, key: str, message: str) -> None:
        self.found.append(f"{self.where}: {key}: {message}")

    def equal(self, key: str, actual: Any, wanted: Any = _STATED, detail: str = "") -> None:
        """
        C{actual} must equal C{wanted}, by default the value stated for C{key}.
        """
        if wanted is _STATED:
            wanted = self.stated(key)
        else:
            self.covered.add(key)
        if actual != wanted:
            self.problem(key + detail, f"decoded {_short(actual)}, expected {_short(wanted)}")

    def true(self, key: str, condition: bool, what: str) -> None:
        self.covered.add(key)
        if not condition:
            self.problem(key, what)

    def raises(self, key: str, exception: type[Exception], call: Callable[..., Any],
               *args: Any) -> None:
        """
        C{call(*args)} must raise C{exception}: the stated value is invalid.
        """
        self.covered.add(key)
        try:
            result = call(*args)
        except exception:
            return
        except Exception as e:
            self.problem(key, f"raised {type(e).__name__}: {e}, not {exception.__name__}")
            return
        self.problem(key, f"accepted, giving {_short(result)}; it must be rejected")

    def finish(self, skipped: Mapping[str, str] | None = None) -> None:
        """
        Report the C{expect} keys no check covered (and that are neither descriptive nor skipped).
        """
        for key in self.expect:
            if key not in self.covered and key not in DESCRIPTIVE_KEYS and key not in (
                    skipped or {}):
                self.problem(key, "no test checks this expect key")


class VectorTestCase(SynchronousTestCase):
    """
    Reporting shared by the vector tests.
    """

    def assertNoProblems(self, found: Sequence[str]) -> None:
        if found:
            self.fail(f"{len(found)} vector mismatch(es):\n" + "\n".join(found))

    def assertVectorCount(self, name: str) -> None:
        """
        The file holds as many records as the vectors README says.
        """
        records = load_vectors(name)
        self.assertEqual(len(records), VECTOR_COUNTS[name],
                         f"{name}: expected {VECTOR_COUNTS[name]} records")


class Decoded(NamedTuple):
    """
    One record with the bytes it holds and what they decode to (or why they do not).
    """

    where: str
    record: Vector
    data: bytes
    value: Any
    error: str | None


def _decode_header_record(record: Vector, data: bytes) -> Header | HeadersPayload:
    kind = record["kind"]
    if kind == "header":
        return Header.from_bytes(data)
    if kind == "header_unsigned_base":
        return Header.from_bytes(data + EMPTY_HEADER_TAIL)
    if kind == "headers_payload":
        payload = decode_payload("headers", data)
        assert isinstance(payload, HeadersPayload)
        return payload
    raise ValueError(f"unknown header vector kind {kind!r}")


_DECODERS: Mapping[str, Callable[[Vector, bytes], Any]] = {
    TRANSACTIONS: lambda record, data: Transaction.from_bytes(data),
    BLOCKS: lambda record, data: Block.from_bytes(data),
    HEADERS: _decode_header_record,
}


@functools.cache
def decoded(name: str) -> tuple[Decoded, ...]:
    """
    Every record of C{name} decoded, once per process (blocks.json holds a 956 KB block).
    """
    decode = _DECODERS[name]
    results = []
    for i, record in enumerate(load_vectors(name)):
        data = full_bytes(record)
        try:
            value, error = decode(record, data), None
        except Exception as e:
            value, error = None, f"does not decode: {type(e).__name__}: {e}"
        results.append(Decoded(label(name, i, record), record, data, value, error))
    return tuple(results)


def decoded_ok(name: str, found: list[str]) -> list[Decoded]:
    """
    The records of C{name} that decode; the others are reported in C{found}.
    """
    good = []
    for item in decoded(name):
        if item.error is None:
            good.append(item)
        else:
            found.append(f"{item.where}: {item.error}")
    return good


def _display(stated: str) -> str:
    """
    A stated UInt160/UInt256 in display order, with the C{0x} some sources leave out.
    """
    return stated if stated.startswith("0x") else "0x" + stated


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
    "claim0_txid": lambda tx, v: (str(tx.claims[0].prev_hash), _display(v)),
    "claim0_vout": lambda tx, v: (tx.claims[0].prev_index, v),
    "input0_prevhash": lambda tx, v: (str(tx.inputs[0].prev_hash), _display(v)),
    "input0_previndex": lambda tx, v: (tx.inputs[0].prev_index, v),
    "input_list": lambda tx, v: ([{"prevHash": str(i.prev_hash)[2:], "prevIndex": i.prev_index}
                                  for i in tx.inputs], v),
    "output_list": _output_list,
    "vout0_asset": lambda tx, v: (str(tx.outputs[0].asset_id), _display(v)),
    "vout0_value": lambda tx, v: (format_fixed8(tx.outputs[0].value), v),
    "vout0_value_fixed8_raw": lambda tx, v: (tx.outputs[0].value, v),
    "vout0_address": lambda tx, v: (address_from_script_hash(tx.outputs[0].script_hash), v),
    "output0_asset": lambda tx, v: (str(tx.outputs[0].asset_id), _display(v)),
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
    "admin": lambda tx, v: (str(tx.admin), _display(v)),
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


def check_witnesses(check: VectorCheck, key: str, message: bytes,
                    witnesses: Iterable[Witness]) -> int:
    """
    Every standard (single or multisig) witness signs C{message} for its own script hash,
    and stops doing so when one byte of the message changes. Returns how many there were.
    """
    tampered = message[:-1] + bytes((message[-1] ^ 1,))
    count = 0
    for i, w in enumerate(witnesses):
        script = w.verification_script
        if not is_signature_contract(script) and parse_multisig_contract(script) is None:
            continue
        count += 1
        expected = hash160(script)
        check.true(key, verify_witness(message, w.invocation_script, script, expected),
                   f"witness {i} does not verify over the unsigned bytes")
        check.true(key, not verify_witness(tampered, w.invocation_script, script, expected),
                   f"witness {i} still verifies over tampered bytes")
    return count


class TransactionVectorTests(VectorTestCase):
    """
    transactions.json: all nine transaction types.
    """

    def test_vector_set_is_complete(self) -> None:
        """
        The file holds the README's 43 vectors, and they cover all nine transaction types.
        """
        self.assertVectorCount(TRANSACTIONS)
        found: list[str] = []
        types = {item.value.type_name for item in decoded_ok(TRANSACTIONS, found)}
        self.assertNoProblems(found)
        self.assertEqual(types, {t.name for t in TransactionType})

    def test_stated_values(self) -> None:
        """
        Each record decodes, and every value its source states matches the decoded transaction.
        """
        found: list[str] = []
        for item in decoded_ok(TRANSACTIONS, found):
            check = VectorCheck(item.where, item.record["expect"], found)
            tx = item.value
            for key, stated in item.record["expect"].items():
                if key == "roundtrip":
                    check.equal(key, tx.to_bytes() == item.data)
                else:
                    check_tx_fact(check, key, tx, stated)
            check.finish(SKIPPED_KEYS.get(TRANSACTIONS, {}))
        self.assertNoProblems(found)

    def test_derived_values(self) -> None:
        """
        Type code, version, element counts, size and unsigned length match the derived values.
        """
        found: list[str] = []
        for item in decoded_ok(TRANSACTIONS, found):
            derived = item.record["derived"]
            check = VectorCheck(item.where + " derived", derived, found)
            tx = item.value
            check.equal("type_code", f"0x{tx.TYPE:02x}")
            check.equal("version", tx.version)
            for key in ("attributes", "inputs", "outputs", "witnesses"):
                check.equal(key, len(getattr(tx, key)))
            check.equal("unsigned_len", len(tx.unsigned_bytes()))
            if item.record.get("unsigned_only"):
                # No stated size (null): the record is the unsigned part alone, and the full
                # form is that plus the empty witness array.
                check.equal("size", tx.size, derived["unsigned_len"] + 1, " (with 00 appended)")
                check.equal("unsigned_len", len(bytes.fromhex(item.record["hex"])),
                            detail=" (record length)")
            else:
                check.equal("size", tx.size)
                check.equal("size", len(item.data), derived["size"], " (vector length)")
            check.finish()
        self.assertNoProblems(found)

    def test_reencodes_to_same_bytes(self) -> None:
        """
        Re-encoding gives the input bytes back (all vectors are canonical), the unsigned part
        is the start of them, and the hash of the re-encoded unsigned part is the txid.
        """
        found: list[str] = []
        for item in decoded_ok(TRANSACTIONS, found):
            check = VectorCheck(item.where, {}, found)
            tx = item.value
            unsigned = tx.unsigned_bytes()
            check.equal("to_bytes", tx.to_bytes() == item.data, True)
            check.equal("unsigned_bytes", item.data.startswith(unsigned), True)
            check.equal("hash of unsigned_bytes", str(UInt256(hash256(unsigned))),
                        item.record["expect"]["hash"])
        self.assertNoProblems(found)

    def test_unsigned_only_records(self) -> None:
        """
        A record holding only the unsigned part hashes, as it is, to its stated hash, and is
        exactly what the decoded transaction gives as its unsigned bytes.
        """
        found: list[str] = []
        items = [i for i in decoded_ok(TRANSACTIONS, found) if i.record.get("unsigned_only")]
        self.assertEqual(len(items), 3)
        for item in items:
            check = VectorCheck(item.where, item.record["expect"], found)
            unsigned = bytes.fromhex(item.record["hex"])
            check.equal("hash", str(UInt256(hash256(unsigned))), detail=" (hash of the hex)")
            check.equal("hex", item.value.unsigned_bytes() == unsigned, True)
            check.equal("witnesses", item.value.witnesses, ())
        self.assertNoProblems(found)

    def test_witness_signatures(self) -> None:
        """
        Every standard witness of every transaction signs its unsigned bytes: a strong check
        that the unsigned byte range is right.
        """
        found: list[str] = []
        total = 0
        for item in decoded_ok(TRANSACTIONS, found):
            check = VectorCheck(item.where, {}, found)
            total += check_witnesses(check, "witnesses", item.value.unsigned_bytes(),
                                     item.value.witnesses)
        self.assertNoProblems(found)
        # The others have an empty, non-standard or PUSHT (51) verification script.
        self.assertEqual(total, 28)


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
        wanted = _display(stated["txid"])
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
        self.assertVectorCount(BLOCKS)
        found: list[str] = []
        blocks = decoded_ok(BLOCKS, found)
        self.assertNoProblems(found)
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
        self.assertNoProblems(found)

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
        self.assertNoProblems(found)

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
        self.assertNoProblems(found)

    def test_merkle_roots(self) -> None:
        """
        The merkle root of each block's transaction hashes is the root in its header.
        """
        found: list[str] = []
        for item in decoded_ok(BLOCKS, found):
            check = VectorCheck(item.where, {}, found)
            hashes = [tx.hash for tx in item.value.transactions]
            check.equal("merkle_root", merkle_root(hashes), item.value.header.merkle_root)
        self.assertNoProblems(found)

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
        self.assertNoProblems(found)
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
        self.assertNoProblems(found)
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
        self.assertNoProblems(found)
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
        self.assertVectorCount(HEADERS)

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
        self.assertNoProblems(found)

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
        self.assertNoProblems(found)

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
        self.assertNoProblems(found)
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
        self.assertNoProblems(found)
        self.assertEqual((len(headers), len(blocks)), (1, 1))
        self.assertEqual(headers[0].value, blocks[0].value.header)
        # The block layout is the header layout without its trailing zero transaction count.
        self.assertTrue(blocks[0].data.startswith(headers[0].data[:-1]))


class MessageVectorTests(VectorTestCase):
    """
    messages.json: network magics, frame checksums and a C{headers} payload.
    """

    def test_vector_set_is_complete(self) -> None:
        """
        The file holds the README's 6 vectors.
        """
        self.assertVectorCount(MESSAGES)

    def test_stated_values(self) -> None:
        """
        Magics are the little-endian first bytes of every frame, checksums are the first
        bytes of Hash256 of the payload, and the payload decodes as a C{headers} message.
        """
        found: list[str] = []
        for i, record in enumerate(load_vectors(MESSAGES)):
            where = label(MESSAGES, i, record)
            check = VectorCheck(where, record["expect"], found)
            data = bytes.fromhex(record["hex"])
            handler = _MESSAGE_CHECKS.get(record["kind"])
            if handler is None:
                check.problem("kind", "no test for this kind of vector")
                continue
            try:
                handler(check, data)
            except Exception as e:
                check.problem("*", f"raised {type(e).__name__}: {e}")
            check.finish(SKIPPED_KEYS.get(MESSAGES, {}))
        self.assertNoProblems(found)


def _check_magic(check: VectorCheck, data: bytes) -> None:
    magic = check.stated("magic")
    check.equal("magic", int.from_bytes(data, "little"))
    frame = encode_frame(magic, "verack")
    check.equal("magic", frame[:4], data, " (frame prefix)")
    check.equal("magic", FrameDecoder(magic).feed(frame), [Frame("verack", b"")],
                " (decoded frame)")
    if "magic_hex_u32" in check.expect:
        check.equal("magic_hex_u32", f"0x{magic:08x}")
    if "address_version" in check.expect:
        check.equal("address_version", ADDRESS_VERSION)


def _check_payload_checksum(check: VectorCheck, data: bytes) -> None:
    check.equal("checksum_bytes", checksum(data).hex())
    check.equal("checksum_u32_le", int.from_bytes(checksum(data), "little"))
    frame = encode_frame(MAINNET_MAGIC, "ping", data)
    check.equal("checksum_bytes", frame[20:24].hex(), detail=" (in a frame)")


def _check_headers_message(check: VectorCheck, data: bytes) -> None:
    frames = FrameDecoder(MAINNET_MAGIC).feed(encode_frame(MAINNET_MAGIC, "headers", data))
    check.equal("header_count", len(frames), 1, " (frames)")
    payload = decode_payload(frames[0].command, frames[0].payload)
    assert isinstance(payload, HeadersPayload)
    check.equal("header_count", len(payload.headers))
    check.equal("hash0", str(payload.headers[0].hash))
    check.equal("hash0", payload_bytes(payload), data, " (re-encoded payload)")


_MESSAGE_CHECKS: Mapping[str, Callable[[VectorCheck, bytes], None]] = {
    "magic": _check_magic,
    "payload_checksum": _check_payload_checksum,
    "headers_payload": _check_headers_message,
}


def _check_keypair(check: VectorCheck, record: Vector) -> None:
    e = check.expect
    private = bytes.fromhex(check.stated("private_key"))
    pair = KeyPair(private)
    if "public_key_compressed" in e:
        check.equal("public_key_compressed", pair.public_key.encode().hex())
    if "address" in e:
        check.equal("address", pair.address())
        check.equal("address", script_hash_from_address(e["address"]), pair.script_hash,
                    " (decoded)")
    if "wif" in e:
        check.equal("wif", pair.to_wif())
        check.equal("wif", KeyPair.from_wif(e["wif"]).private_key, private, " (imported)")
    if "verification_script" in e:
        check.equal("verification_script", pair.verification_script.hex())
    if "script_hash" in e:
        check.equal("script_hash", pair.script_hash.hex())  # wire order, as the note says
    if "nep2" in e:
        passphrase = check.stated("nep2_passphrase")
        check.equal("nep2", nep2_encrypt(pair, passphrase))
        check.equal("nep2", nep2_decrypt(e["nep2"], passphrase).private_key, private,
                    " (decrypted)")
        if "nep2_passphrase_utf8_hex" in e:
            check.equal("nep2_passphrase_utf8_hex",
                        unicodedata.normalize("NFC", passphrase).encode("utf-8").hex())


def _check_invalid_key(check: VectorCheck, record: Vector) -> None:
    e = check.expect
    check.equal("invalid", True)
    check.raises("Address", ValueError, script_hash_from_address, e["Address"])
    check.raises("PrivateKey", ValueError, lambda text: KeyPair(bytes.fromhex(text)),
                 e["PrivateKey"])
    check.raises("PublicKey", ValueError, lambda text: ECPoint.from_bytes(bytes.fromhex(text)),
                 e["PublicKey"])
    check.raises("Wif", ValueError, KeyPair.from_wif, e["Wif"])
    check.raises("Passphrase", ValueError, nep2_decrypt, check.stated("EncryptedWif"),
                 e["Passphrase"])


def _check_wif(check: VectorCheck, record: Vector) -> None:
    wif = check.stated("wif")
    payload = b58check_decode(wif)
    compressed = len(payload) == 34 and payload[33] == 1
    check.equal("compressed", compressed)
    check.equal("private_key", payload[1:33].hex())
    # neo-go's version 0x00 means "the default", 0x80.
    check.equal("version", payload[0], int(check.stated("version"), 16) or 0x80)
    if compressed:
        check.equal("wif", KeyPair(payload[1:33]).to_wif())
    else:
        # Only compressed-key WIFs are imported: every NEO 2 key is used compressed.
        check.raises("wif", ValueError, KeyPair.from_wif, wif)


def _check_address_scripthash(check: VectorCheck, record: Vector) -> None:
    address = check.stated("address")
    h = script_hash_from_address(address)
    check.equal("neo_go_String_BE", h.hex())  # neo-go String(): wire order
    check.equal("neo_go_StringLE", str(h)[2:])  # StringLE(): reversed
    check.equal("address", address_from_script_hash(h))


def _check_address_bad_version(check: VectorCheck, record: Vector) -> None:
    address = check.stated("address")
    check.equal("must_reject", True)
    check.raises("address", ValueError, script_hash_from_address, address)
    # Rejected for its version alone: with version 0x18 the same string is accepted.
    check.equal("address", address_from_script_hash(script_hash_from_address(address, 0x18),
                                                    0x18), detail=" (as version 0x18)")


def _check_address_roundtrip(check: VectorCheck, record: Vector) -> None:
    address = check.stated("address")
    check.equal("roundtrip", address_from_script_hash(script_hash_from_address(address))
                == address)


def _check_hash160(check: VectorCheck, record: Vector) -> None:
    check.equal("hash160", hash160(bytes.fromhex(check.stated("input_hex"))).hex())


def _check_sha256(check: VectorCheck, record: Vector) -> None:
    data = check.stated("input_ascii").encode("ascii")
    check.equal("sha256", sha256(data).hex())
    # Plain RIPEMD-160, which Hash160 runs over SHA-256: the package takes it from hashlib,
    # whose OpenSSL may lack it; this checks the primitive Hash160 relies on.
    check.equal("ripemd160", hashlib.new("ripemd160", data).hexdigest())
    check.equal("ripemd160", hash160(data),
                hashlib.new("ripemd160", sha256(data)).digest(), " (inside hash160)")


def _check_ecdsa_signature(check: VectorCheck, record: Vector) -> None:
    pair = KeyPair(bytes.fromhex(check.stated("private_key")))
    message = check.stated("message_ascii").encode("ascii")
    signature = bytes.fromhex(check.stated("signature_r_s"))
    check.equal("public_Ux", f"{pair.public_key.x:064x}")
    check.equal("public_Uy", f"{pair.public_key.y:064x}")
    key = load_public_key(pair.public_key.encode())
    assert key is not None
    check.true("signature_r_s", verify_signature(key, message, signature),
               "does not verify over SHA-256 of the message")
    check.true("signature_r_s", not verify_signature(key, message + b".", signature),
               "verifies over another message")
    # RFC 6979 (deterministic k), which the package signs with, gives exactly these bytes.
    check.equal("signature_r_s", pair.sign(message).hex(), detail=" (RFC 6979 signature)")


def _check_keypair_96byte(check: VectorCheck, record: Vector) -> None:
    raw = bytes.fromhex(check.stated("key_96_bytes_hex"))
    pair = KeyPair(raw[64:])  # X || Y || d
    point = pair.public_key
    check.equal("key_96_bytes_hex", (point.x, point.y),
                (int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big")), " (X, Y)")
    check.equal("public_key_compressed", point.encode().hex())


def _check_address_version(check: VectorCheck, record: Vector) -> None:
    version = check.stated("address_version")
    h = UInt160(bytes.fromhex(check.stated("script_hash")))
    check.equal("address", address_from_script_hash(h, version))
    check.equal("script_hash", script_hash_from_address(check.expect["address"], version).hex())
    check.raises("address", ValueError, script_hash_from_address, check.expect["address"])


def _check_double_sha256(check: VectorCheck, record: Vector) -> None:
    check.equal("sha256d", hash256(check.stated("input_ascii").encode("ascii")).hex())


def _check_sign_verify(check: VectorCheck, record: Vector) -> None:
    e = check.expect
    if "wif" in e:
        pair = KeyPair.from_wif(check.stated("wif"))
    else:
        pair = KeyPair(bytes.fromhex(check.stated("private_key")))
    encoded = bytes.fromhex(check.stated("public_key"))
    check.equal("public_key", pair.public_key, ECPoint.from_bytes(encoded))
    message = b"NEO 2 conformance vector"
    key = load_public_key(encoded)  # the stated encoding, compressed or not
    check.true("public_key", key is not None, "is not a valid P-256 point")
    if key is not None:
        check.true("public_key", verify_signature(key, message, pair.sign(message)),
                   "does not verify a signature of its private key")


def _check_merkle_root(check: VectorCheck, record: Vector) -> None:
    hashes = [UInt256.from_string(h) for h in check.stated("tx_hashes")]
    check.equal("merkle_root", str(merkle_root(hashes)))


def _check_consensus_address(check: VectorCheck, record: Vector) -> None:
    keys = [ECPoint.from_bytes(bytes.fromhex(k)) for k in check.stated("validators")]
    h = consensus_address(keys)
    check.equal("script_hash_neo_go_String", h.hex())  # neo-go String(): wire order
    check.equal("address", address_from_script_hash(h))


def _genesis_issue_output(network: str) -> UInt160 | None:
    """
    The script hash the genesis block of C{network} in blocks.json issues NEO to.
    """
    for item in decoded(BLOCKS):
        if item.value is not None and item.record["network"] == network and \
                item.value.index == 0 and "hex_origin" in item.record:
            issue: Transaction = item.value.transactions[-1]
            return issue.outputs[0].script_hash
    return None


def _check_genesis_issue_script(check: VectorCheck, record: Vector) -> None:
    script = bytes.fromhex(check.stated("script"))
    parsed = parse_multisig_contract(script)
    check.true("script", parsed is not None, "is not a standard multisig contract")
    if parsed is None:
        return
    m, keys = parsed
    points = [ECPoint.from_bytes(k) for k in keys]
    check.equal("script", (m, len(keys)), (4, 7), " (m, n)")
    # Rebuilt from the keys in reverse order: the builder sorts them as the node does.
    check.equal("script", multisig_redeem_script(len(points) // 2 + 1, points[::-1]), script,
                " (rebuilt)")
    check.equal("script", script_hash(script), _genesis_issue_output(record["network"]),
                " (hash160 vs the genesis IssueTransaction output)")


_CRYPTO_CHECKS: Mapping[str, Callable[[VectorCheck, Vector], None]] = {
    "keypair": _check_keypair,
    "invalid_key": _check_invalid_key,
    "wif": _check_wif,
    "address_scripthash": _check_address_scripthash,
    "address_bad_version": _check_address_bad_version,
    "address_roundtrip": _check_address_roundtrip,
    "hash160": _check_hash160,
    "sha256": _check_sha256,
    "ecdsa_p256_signature": _check_ecdsa_signature,
    "keypair_96byte": _check_keypair_96byte,
    "address_version": _check_address_version,
    "double_sha256": _check_double_sha256,
    "keypair_sign_verify": _check_sign_verify,
    "merkle_root": _check_merkle_root,
    "multisig_consensus_address": _check_consensus_address,
    "multisig_genesis_issue_script": _check_genesis_issue_script,
}


class CryptoVectorTests(VectorTestCase):
    """
    crypto.json: keys, WIF, NEP-2, addresses, digests, ECDSA, merkle roots and multisig.
    """

    def test_vector_set_is_complete(self) -> None:
        """
        The file holds the README's 31 vectors.
        """
        self.assertVectorCount(CRYPTO)

    def test_stated_values(self) -> None:
        """
        Every value each record states is what the package computes from the record's inputs;
        everything a record calls invalid is rejected.
        """
        found: list[str] = []
        for i, record in enumerate(load_vectors(CRYPTO)):
            check = VectorCheck(label(CRYPTO, i, record), record["expect"], found)
            handler = _CRYPTO_CHECKS.get(record["kind"])
            if handler is None:
                check.problem("kind", "no test for this kind of vector")
                continue
            try:
                handler(check, record)
            except Exception as e:
                check.problem("*", f"raised {type(e).__name__}: {e}")
            check.finish(SKIPPED_KEYS.get(CRYPTO, {}))
        self.assertNoProblems(found)
