"""
Checking machinery shared by the NEO 2 conformance vector tests (C{tests.test_vectors_*}).

One test class per vector file. Each test walks all records of its file and reports every
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import Block, Header, Transaction, Witness
from neo_twisted.crypto.hashes import hash160
from neo_twisted.crypto.scripts import is_signature_contract, parse_multisig_contract
from neo_twisted.crypto.witness import verify_witness
from neo_twisted.network.payloads import HeadersPayload, decode_payload
from tests.support.vectors import Vector, full_bytes, label, load_vectors

TRANSACTIONS = "transactions.json"
BLOCKS = "blocks.json"
HEADERS = "headers.json"
MESSAGES = "messages.json"
CRYPTO = "crypto.json"

#: Records per file, as the vectors README lists them: a folder holding fewer is
#: incomplete, and passing on it would prove less than it claims.
VECTOR_COUNTS = {TRANSACTIONS: 43, BLOCKS: 18, HEADERS: 4, MESSAGES: 6, CRYPTO: 31}

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

#: A header's witness marker, an empty witness and the zero transaction count: what turns
#: a 104-byte unsigned header into the C{Header} layout.
EMPTY_HEADER_TAIL = b"\x01\x00\x00\x00"

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


#: The checks of one record of a file whose records differ by kind (crypto, messages).
KindCheck = Callable[[VectorCheck, Vector], None]


class VectorTestCase(SynchronousTestCase):
    """
    Reporting shared by the vector tests.
    """

    def assert_no_problems(self, found: Sequence[str]) -> None:
        if found:
            self.fail(f"{len(found)} vector mismatch(es):\n" + "\n".join(found))

    def assert_vector_count(self, name: str) -> None:
        """
        The file holds as many records as the vectors README says.
        """
        records = load_vectors(name)
        self.assertEqual(len(records), VECTOR_COUNTS[name],
                         f"{name}: expected {VECTOR_COUNTS[name]} records")

    def assert_stated_by_kind(self, name: str, checks: Mapping[str, KindCheck]) -> None:
        """
        Every record of C{name} passes the check of its kind; a kind without one fails.
        """
        found: list[str] = []
        for i, record in enumerate(load_vectors(name)):
            check = VectorCheck(label(name, i, record), record["expect"], found)
            handler = checks.get(record["kind"])
            if handler is None:
                check.problem("kind", "no test for this kind of vector")
                continue
            try:
                handler(check, record)
            except Exception as e:
                check.problem("*", f"raised {type(e).__name__}: {e}")
            check.finish(SKIPPED_KEYS.get(name, {}))
        self.assert_no_problems(found)


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


def display(stated: str) -> str:
    """
    A stated UInt160/UInt256 in display order, with the C{0x} some sources leave out.
    """
    return stated if stated.startswith("0x") else "0x" + stated


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
