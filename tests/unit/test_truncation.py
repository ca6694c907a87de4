"""
Cut short or overlong, every transaction, header and block vector fails to decode with
L{FormatError}, and with nothing else.

Peers send arbitrary bytes: the node's only defence is that every parser turns any
malformed input into L{FormatError} (the one exception its protocols catch), never an
C{IndexError}, C{struct.error}, C{ValueError} or a partly filled object. A proper prefix
of a valid encoding is the most natural malformed input, and since every vector decodes
to exactly its length, no prefix of one can decode.

Vectors up to 4 KB are cut at every offset. Larger ones are cut at a fixed sample of
about 300 offsets: the first 200 bytes, both sides of structure boundaries found from the
decoded object (transaction starts spread over the block, the first and last element
boundaries), the last byte, and random offsets from a fixed seed. The 956 KB testnet block
costs a full parse per offset near its end, which is why its sample is not larger.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from twisted.trial.unittest import FailTest, SynchronousTestCase

from neo_twisted.core import Block, Header, Transaction
from neo_twisted.network.payloads import read_payload
from neo_twisted.wire import BinaryWriter, FormatError, var_int_size
from tests.support.vectors import Vector, full_bytes, label, load_vectors

#: Vectors up to this size are cut at every offset.
FULL_LIMIT = 4096
#: Larger vectors are cut at about this many offsets...
SAMPLE_SIZE = 300
#: ...always including the first this many.
HEAD = 200
#: Transaction starts, spread evenly over a block, whose neighbourhood is cut.
SPREAD_BOUNDARIES = 12
#: Element boundaries cut at both ends of the encoding.
EDGE_BOUNDARIES = 6
#: Failures listed per vector before the rest are only counted.
MAX_LISTED = 5

Parser = Callable[[bytes], Any]


class Case(NamedTuple):
    """
    One vector: its bytes, the parser for them and where its structures start and end.

    @ivar spread: top-level boundaries (transaction starts) to pick from evenly.
    @ivar edges: all boundaries, in order, of which the first and last are picked.
    """

    where: str
    data: bytes
    parse: Parser
    spread: Sequence[int]
    edges: Sequence[int]


def transaction_boundaries(tx: Transaction, start: int = 0) -> list[int]:
    """
    Offsets where each field or element of C{tx} ends, for a C{tx} encoded at C{start}.
    """
    writer = BinaryWriter()
    marks: list[int] = []

    def mark() -> None:
        marks.append(start + len(writer))

    writer.write_u8(tx.TYPE)
    mark()
    writer.write_u8(tx.version)
    mark()
    tx.write_exclusive(writer)
    mark()
    for group in (tx.attributes, tx.inputs, tx.outputs):
        writer.write_var_int(len(group))
        mark()
        for element in group:
            element.write(writer)
            mark()
    writer.write_var_int(len(tx.witnesses))
    mark()
    for witness in tx.witnesses:
        writer.write_var_bytes(witness.invocation_script)
        mark()
        writer.write_var_bytes(witness.verification_script)
        mark()
    return marks


def header_boundaries(header: Header) -> list[int]:
    """
    Offsets where each field of a header ends: version, prev hash, merkle root, timestamp,
    index, consensus data, next consensus, the witness marker and the two scripts.
    """
    marks = [4, 36, 68, 72, 76, 84, 104, 105]
    for script in (header.witness.invocation_script, header.witness.verification_script):
        marks.append(marks[-1] + var_int_size(len(script)) + len(script))
    return marks


def block_boundaries(block: Block) -> tuple[list[int], list[int]]:
    """
    (transaction starts, every field and element boundary) of C{block}'s encoding.
    """
    edges = header_boundaries(block.header)
    pos = edges[-1] + var_int_size(len(block.transactions))
    edges.append(pos)
    starts = []
    for tx in block.transactions:
        starts.append(pos)
        tx_edges = transaction_boundaries(tx, pos)
        edges += tx_edges
        pos = tx_edges[-1]
    return starts, edges


def pick_evenly(values: Sequence[int], count: int) -> list[int]:
    """
    C{count} of C{values}, evenly spread and including the first and the last.
    """
    if len(values) <= count:
        return list(values)
    return [values[round(i * (len(values) - 1) / (count - 1))] for i in range(count)]


def truncation_offsets(case: Case) -> list[int]:
    """
    The lengths to cut C{case} to: all of them for a small vector, else a fixed sample.
    """
    size = len(case.data)
    if size <= FULL_LIMIT:
        return list(range(size))
    offsets = set(range(HEAD))
    edges = sorted({b for b in case.edges if HEAD <= b < size})
    chosen = pick_evenly([b for b in case.spread if b >= HEAD], SPREAD_BOUNDARIES)
    chosen += edges[:EDGE_BOUNDARIES] + edges[-EDGE_BOUNDARIES:]
    for boundary in chosen:
        offsets.update(o for o in (boundary - 1, boundary, boundary + 1) if o < size)
    offsets.add(size - 1)
    rng = random.Random(size)  # a fixed seed: the same sample on every run
    while len(offsets) < SAMPLE_SIZE:
        offsets.add(rng.randrange(HEAD, size))
    return sorted(offsets)


def _header_parser(kind: str) -> tuple[Parser, bytes]:
    """
    The parser of a headers.json record, and what to append to the record to parse it.
    """
    if kind == "headers_payload":
        return (lambda data: read_payload("headers", data)), b""
    if kind == "header_unsigned_base":
        # A bare 104-byte base becomes a Header with an empty witness and no transactions.
        return Header.from_bytes, b"\x01\x00\x00\x00"
    return Header.from_bytes, b""


def _case(name: str, index: int, record: Vector) -> Case:
    where = label(name, index, record)
    data = full_bytes(record)
    try:
        return _decoded_case(name, record, where, data)
    except Exception as e:
        raise FailTest(f"{where}: does not decode: {type(e).__name__}: {e}") from e


def _decoded_case(name: str, record: Vector, where: str, data: bytes) -> Case:
    if name == "transactions.json":
        tx = Transaction.from_bytes(data)
        return Case(where, data, Transaction.from_bytes, (), transaction_boundaries(tx))
    if name == "blocks.json":
        starts, edges = block_boundaries(Block.from_bytes(data))
        return Case(where, data, Block.from_bytes, starts, edges)
    parse, tail = _header_parser(record["kind"])
    parse(data + tail)
    return Case(where, data + tail, parse, (), [])


@functools.cache
def cases(name: str) -> tuple[Case, ...]:
    """
    The vectors of C{name}, decoded once to find their boundaries (and to show that the
    whole of each decodes, which is what makes its prefixes invalid).
    """
    return tuple(_case(name, i, record) for i, record in enumerate(load_vectors(name)))


def parse_problems(case: Case, data: bytes, what: str) -> str | None:
    """
    Why parsing C{data} (C{case}'s bytes altered as C{what} says) did not fail as it must.
    """
    try:
        result = case.parse(data)
    except FormatError as e:
        if not 0 <= e.offset <= len(data):
            return f"{what}: FormatError offset {e.offset} outside the {len(data)} input bytes"
        return None
    except Exception as e:
        return f"{what}: raised {type(e).__name__}: {e} instead of FormatError"
    return f"{what}: decoded to a {type(result).__name__} instead of failing"


class _TruncationTests(SynchronousTestCase):
    """
    The checks, for the vector file each subclass names.
    """

    vectors: str

    def assert_no_problems(self, problems: Sequence[str]) -> None:
        if problems:
            self.fail(f"{len(problems)} problem(s):\n" + "\n".join(problems))

    def assert_prefixes_fail(self) -> None:
        problems = []
        for case in cases(self.vectors):
            found = [p for p in (parse_problems(case, case.data[:offset],
                                                f"cut to {offset} of {len(case.data)} bytes")
                                 for offset in truncation_offsets(case)) if p]
            problems += [f"{case.where}: {p}" for p in found[:MAX_LISTED]]
            if len(found) > MAX_LISTED:
                problems.append(f"{case.where}: ... and {len(found) - MAX_LISTED} more")
        self.assert_no_problems(problems)

    def assert_trailing_byte_fails(self) -> None:
        problems = []
        for case in cases(self.vectors):
            for extra in (b"\x00", b"\xff"):
                problem = parse_problems(case, case.data + extra, f"with {extra.hex()} appended")
                if problem:
                    problems.append(f"{case.where}: {problem}")
        self.assert_no_problems(problems)


class TransactionTruncationTests(_TruncationTests):
    vectors = "transactions.json"

    def test_every_prefix_fails(self) -> None:
        """
        Every transaction cut short (the 33 KB one at sampled offsets) raises FormatError.
        """
        self.assert_prefixes_fail()

    def test_trailing_byte_fails(self) -> None:
        """
        A transaction followed by one more byte raises FormatError.
        """
        self.assert_trailing_byte_fails()


class HeaderTruncationTests(_TruncationTests):
    vectors = "headers.json"

    def test_every_prefix_fails(self) -> None:
        """
        Every header and C{headers} payload cut short raises FormatError.
        """
        self.assert_prefixes_fail()

    def test_trailing_byte_fails(self) -> None:
        """
        A header or C{headers} payload followed by one more byte raises FormatError.
        """
        self.assert_trailing_byte_fails()


class BlockTruncationTests(_TruncationTests):
    vectors = "blocks.json"

    def test_every_prefix_fails(self) -> None:
        """
        Every block cut short (those over 4 KB at sampled offsets) raises FormatError.
        """
        self.assert_prefixes_fail()

    def test_trailing_byte_fails(self) -> None:
        """
        A block followed by one more byte raises FormatError.
        """
        self.assert_trailing_byte_fails()


class SampleTests(SynchronousTestCase):
    """
    The offset sample itself.
    """

    def test_sample_is_fixed_and_bounded(self) -> None:
        """
        A large vector gets the same offsets on every run, about 300 of them, the first 200
        and the last byte among them.
        """
        case = Case("x", bytes(10_000), Transaction.from_bytes, [5000], [300, 400, 9000])
        offsets = truncation_offsets(case)
        self.assertEqual(offsets, truncation_offsets(case))
        self.assertTrue(SAMPLE_SIZE <= len(offsets) <= SAMPLE_SIZE + 30)
        self.assertTrue(set(range(HEAD)) | {4999, 5000, 5001, 9999} <= set(offsets))
        self.assertTrue(all(0 <= o < 10_000 for o in offsets))

    def test_small_vector_is_cut_everywhere(self) -> None:
        """
        A vector up to 4 KB is cut at every offset, from nothing to one byte short.
        """
        case = Case("x", bytes(100), Transaction.from_bytes, [], [])
        self.assertEqual(truncation_offsets(case), list(range(100)))
