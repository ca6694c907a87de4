"""
Tests for L{neo_twisted.core.merkle} and L{neo_twisted.core.block}.
"""

from __future__ import annotations

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    GAS_ASSET_ID,
    MAX_TRANSACTIONS_PER_BLOCK,
    Block,
    CoinReference,
    ContractTransaction,
    Header,
    MinerTransaction,
    Transaction,
    TransactionOutput,
    Witness,
    merkle_root,
)
from neo_twisted.crypto.hashes import hash256
from neo_twisted.wire.binary import encode_var_int
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160, UInt256


def leaf(n: int) -> UInt256:
    """
    A distinct 32-byte leaf.
    """
    return UInt256(hash256(bytes((n,))))


def contract_tx(n: int) -> ContractTransaction:
    """
    A transfer spending output C{n} of some transaction; distinct for distinct C{n}.
    """
    return ContractTransaction(
        inputs=(CoinReference(prev_hash=UInt256(b"\x11" * 32), prev_index=n),),
        outputs=(TransactionOutput(asset_id=GAS_ASSET_ID, value=n + 1,
                                   script_hash=UInt160(b"\x22" * 20)),),
        witnesses=(Witness(b"\x40" + bytes(64), b"\x51"),))


def header(transactions: tuple[Transaction, ...] = (), **changes: int) -> Header:
    """
    A header whose merkle root matches C{transactions} (zero when there are none).
    """
    root = merkle_root([tx.hash for tx in transactions]) if transactions else UInt256()
    fields: dict[str, int] = {"version": 0, "timestamp": 1468595301, "index": 7,
                              "consensus_data": 2083236893}
    fields.update(changes)
    return Header(prev_hash=UInt256(b"\x01" * 32), merkle_root=root,
                  next_consensus=UInt160(b"\x02" * 20),
                  witness=Witness(b"\x40" + b"\x03" * 64, b"\x51"), **fields)


def block(*transactions: Transaction) -> Block:
    """
    A block holding C{transactions} with a matching merkle root (not necessarily valid).
    """
    return Block(header(transactions), transactions)


def valid_block(extra: int = 2) -> Block:
    """
    A valid block: a MinerTransaction then C{extra} distinct transfers.
    """
    return block(MinerTransaction(nonce=5), *(contract_tx(i) for i in range(extra)))


class MerkleRootTests(SynchronousTestCase):
    """
    L{merkle_root} pairs level by level, the odd one out with itself.
    """

    def test_one_leaf(self) -> None:
        """
        The root of one leaf is the leaf itself.
        """
        self.assertEqual(merkle_root([leaf(1)]), leaf(1))
        self.assertIsInstance(merkle_root([bytes(leaf(1))]), UInt256)

    def test_two_leaves(self) -> None:
        """
        The root of two leaves is Hash256 of their concatenation.
        """
        a, b = leaf(1), leaf(2)
        self.assertEqual(merkle_root([a, b]), hash256(a + b))
        self.assertNotEqual(merkle_root([b, a]), merkle_root([a, b]))

    def test_three_leaves(self) -> None:
        """
        With three leaves the third is paired with itself.
        """
        a, b, c = leaf(1), leaf(2), leaf(3)
        expected = hash256(hash256(a + b) + hash256(c + c))
        self.assertEqual(merkle_root([a, b, c]), expected)
        self.assertEqual(merkle_root([a, b, c]), merkle_root([a, b, c, c]))

    def test_five_leaves(self) -> None:
        """
        An odd count at an upper level also pairs the last node with itself.
        """
        leaves = [leaf(i) for i in range(5)]
        ab = hash256(leaves[0] + leaves[1])
        cd = hash256(leaves[2] + leaves[3])
        ee = hash256(leaves[4] + leaves[4])
        expected = hash256(hash256(ab + cd) + hash256(ee + ee))
        self.assertEqual(merkle_root(leaves), expected)

    def test_empty(self) -> None:
        """
        The root of no leaves is a ValueError.
        """
        self.assertRaises(ValueError, merkle_root, [])

    def test_does_not_mutate_input(self) -> None:
        """
        Computing a root leaves the caller's list alone.
        """
        leaves = [leaf(1), leaf(2), leaf(3)]
        merkle_root(leaves)
        self.assertEqual(leaves, [leaf(1), leaf(2), leaf(3)])


class BlockCheckTests(SynchronousTestCase):
    """
    The checks L{Block.from_bytes} makes, as C{Block.Deserialize} does.
    """

    def assert_rejected(self, candidate: Block) -> None:
        """
        C{candidate} serializes, and its bytes are a FormatError at offset 0.
        """
        self.assertIsNotNone(candidate.problem())
        error = self.assertRaises(FormatError, Block.from_bytes, candidate.to_bytes())
        self.assertEqual(error.offset, 0)

    def test_valid(self) -> None:
        """
        A valid block round-trips.
        """
        b = valid_block()
        self.assertIsNone(b.problem())
        data = b.to_bytes()
        parsed = Block.from_bytes(data)
        self.assertEqual(parsed, b)
        self.assertEqual(parsed.to_bytes(), data)
        self.assertEqual(parsed.size, len(data))
        self.assertEqual(parsed.index, 7)

    def test_miner_only(self) -> None:
        """
        A block holding only its MinerTransaction is valid; its root is the miner's hash.
        """
        miner = MinerTransaction(nonce=1)
        b = block(miner)
        self.assertEqual(b.header.merkle_root, miner.hash)
        self.assertEqual(Block.from_bytes(b.to_bytes()), b)

    def test_no_transactions(self) -> None:
        """
        A block with no transactions is rejected at its count.
        """
        b = Block(header(), ())
        data = b.to_bytes()
        error = self.assertRaises(FormatError, Block.from_bytes, data)
        self.assertEqual(error.offset, len(data) - 1)

    def test_first_not_miner(self) -> None:
        """
        A block whose first transaction is not a MinerTransaction is rejected.
        """
        self.assert_rejected(block(contract_tx(0), MinerTransaction(nonce=1)))
        self.assert_rejected(block(contract_tx(0)))

    def test_second_miner(self) -> None:
        """
        A block with a second MinerTransaction is rejected.
        """
        self.assert_rejected(block(MinerTransaction(nonce=1), contract_tx(0),
                                  MinerTransaction(nonce=2)))

    def test_duplicate_transactions(self) -> None:
        """
        A block holding the same transaction twice is rejected.
        """
        self.assert_rejected(block(MinerTransaction(nonce=1), contract_tx(0), contract_tx(0)))

    def test_wrong_merkle_root(self) -> None:
        """
        A block whose merkle root does not match its transactions is rejected.
        """
        good = valid_block()
        bad_header = attrs.evolve(good.header, merkle_root=leaf(9))
        self.assert_rejected(Block(bad_header, good.transactions))
        reordered = (good.transactions[0], good.transactions[2], good.transactions[1])
        self.assert_rejected(Block(good.header, reordered))

    def test_trailing_bytes(self) -> None:
        """
        Bytes after a block are rejected.
        """
        data = valid_block().to_bytes()
        error = self.assertRaises(FormatError, Block.from_bytes, data + b"\x00")
        self.assertEqual(error.offset, len(data))

    def test_truncated(self) -> None:
        """
        A block cut anywhere is a FormatError.
        """
        data = valid_block(1).to_bytes()
        for end in range(len(data)):
            self.assertRaises(FormatError, Block.from_bytes, data[:end])

    def test_count_above_cap(self) -> None:
        """
        A block claiming 0x10001 transactions fails at the count, before reading any of them.
        """
        base = header().to_bytes()[:-1]
        count = MAX_TRANSACTIONS_PER_BLOCK + 1
        # Enough bytes that only the cap, not the size check, can reject the count.
        data = base + encode_var_int(count) + b"\x00" * (3 * count)
        error = self.assertRaises(FormatError, Block.from_bytes, data)
        self.assertEqual(error.offset, len(base))
        self.assertIn("maximum", error.reason)

    def test_huge_count_fails_fast(self) -> None:
        """
        A block claiming 2**32 - 1 transactions fails at the count without allocating.
        """
        base = header().to_bytes()[:-1]
        data = base + b"\xfe\xff\xff\xff\xff"
        error = self.assertRaises(FormatError, Block.from_bytes, data)
        self.assertEqual(error.offset, len(base))


class HeaderLayoutTests(SynchronousTestCase):
    """
    The header layout, its marker and trailer, and the block hash.
    """

    def test_marker_must_be_one(self) -> None:
        """
        The byte after the 104 unsigned bytes must be 01; 00 and 02 are rejected there.
        """
        for data, parse in ((valid_block().to_bytes(), Block.from_bytes),
                            (header().to_bytes(), Header.from_bytes)):
            self.assertEqual(data[104], 1)
            for marker in (0, 2):
                bad = data[:104] + bytes((marker,)) + data[105:]
                error = self.assertRaises(FormatError, parse, bad)
                self.assertEqual(error.offset, 104)

    def test_header_trailer(self) -> None:
        """
        Header.to_bytes ends with a 00 transaction count that Header.from_bytes requires.
        """
        h = header()
        data = h.to_bytes()
        self.assertEqual(data[-1:], b"\x00")
        self.assertEqual(h.size, len(data))
        self.assertEqual(Header.from_bytes(data), h)
        error = self.assertRaises(FormatError, Header.from_bytes, data[:-1] + b"\x01")
        self.assertEqual(error.offset, len(data) - 1)
        self.assertRaises(FormatError, Header.from_bytes, data[:-1])
        self.assertRaises(FormatError, Header.from_bytes, data + b"\x00")

    def test_block_has_no_trailer(self) -> None:
        """
        A block is the header without its trailer, then the transaction count and transactions.
        """
        b = valid_block()
        header_bytes = b.header.to_bytes()
        data = b.to_bytes()
        self.assertTrue(data.startswith(header_bytes[:-1]))
        self.assertEqual(data[len(header_bytes) - 1], 3)
        self.assertEqual(data[len(header_bytes):],
                         b"".join(tx.to_bytes() for tx in b.transactions))

    def test_unsigned_layout(self) -> None:
        """
        The unsigned part is 104 bytes of fixed-width little-endian fields.
        """
        h = header(version=0, timestamp=0x01020304, index=0x0A0B0C0D,
                   consensus_data=0x1122334455667788)
        data = h.unsigned_bytes()
        self.assertEqual(len(data), 104)
        self.assertEqual(data[:4], bytes(4))
        self.assertEqual(data[4:36], b"\x01" * 32)
        self.assertEqual(data[68:72], bytes.fromhex("04030201"))
        self.assertEqual(data[72:76], bytes.fromhex("0d0c0b0a"))
        self.assertEqual(data[76:84], bytes.fromhex("8877665544332211"))
        self.assertEqual(data[84:], b"\x02" * 20)

    def test_hash_of_first_104_bytes(self) -> None:
        """
        The block hash is Hash256 of the first 104 bytes.
        """
        b = valid_block()
        data = b.to_bytes()
        expected = UInt256(hash256(data[:104]))
        self.assertEqual(b.hash, expected)
        self.assertEqual(Block.from_bytes(data).hash, expected)
        self.assertEqual(Header.from_bytes(b.header.to_bytes()).hash, expected)

    def test_witness_does_not_change_hash(self) -> None:
        """
        Changing the header witness does not change the block hash.
        """
        h = header()
        other = attrs.evolve(h, witness=Witness(b"", b"\x52"))
        self.assertNotEqual(other.to_bytes(), h.to_bytes())
        self.assertEqual(other.hash, h.hash)
        self.assertEqual(Header.from_bytes(other.to_bytes()).hash, h.hash)

    def test_field_changes_hash(self) -> None:
        """
        Changing any unsigned field changes the block hash.
        """
        h = header()
        for changed in (attrs.evolve(h, index=8), attrs.evolve(h, timestamp=1),
                        attrs.evolve(h, consensus_data=0), attrs.evolve(h, version=1),
                        attrs.evolve(h, next_consensus=UInt160())):
            self.assertNotEqual(changed.hash, h.hash)
