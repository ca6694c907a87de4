# -*- test-case-name: tests.unit.test_core_blocks -*-
"""
Block headers and blocks.

The first 104 bytes (version ... next_consensus) are the unsigned part: the block
hash is their Hash256 and the validators sign them. A header alone (in C{headers}
messages and C{getblockheader}) ends with an extra C{00}, an empty transaction count.
"""

from __future__ import annotations

import attrs

from neo_twisted.core.components import Witness
from neo_twisted.core.merkle import merkle_root
from neo_twisted.core.serializable import Serializable, Verifiable
from neo_twisted.core.transaction import Transaction, TransactionType
from neo_twisted.wire.binary import BinaryReader, BinaryWriter
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160, UInt256

#: The transaction count cap of the reference node's block reader (2.9.x).
MAX_TRANSACTIONS_PER_BLOCK = 0x10000
UNSIGNED_HEADER_SIZE = 104


@attrs.frozen(kw_only=True)
class Header(Verifiable):
    """
    A block header with its one witness.
    """

    version: int = 0
    prev_hash: UInt256
    merkle_root: UInt256
    timestamp: int
    index: int
    consensus_data: int
    next_consensus: UInt160
    witness: Witness = attrs.field(factory=Witness)
    _hash_cache: UInt256 | None = attrs.field(init=False, default=None, eq=False, repr=False)
    #: The signed bytes, kept: each header's witness check asks for them again.
    _unsigned_cache: bytes | None = attrs.field(init=False, default=None, eq=False,
                                                repr=False)

    def unsigned_bytes(self) -> bytes:
        cached = self._unsigned_cache
        if cached is None:
            cached = super().unsigned_bytes()
            object.__setattr__(self, "_unsigned_cache", cached)
        return cached

    def write_unsigned(self, writer: BinaryWriter) -> None:
        """
        The 104 bytes that are hashed and signed.
        """
        writer.write_u32(self.version)
        writer.write_bytes(self.prev_hash)
        writer.write_bytes(self.merkle_root)
        writer.write_u32(self.timestamp)
        writer.write_u32(self.index)
        writer.write_u64(self.consensus_data)
        writer.write_bytes(self.next_consensus)

    def write_base(self, writer: BinaryWriter) -> None:
        """
        The block's own layout: unsigned part, C{01}, witness.
        """
        self.write_unsigned(writer)
        writer.write_u8(1)
        self.witness.write(writer)

    def write(self, writer: BinaryWriter) -> None:
        """
        The C{Header} layout: the block layout plus a zero transaction count.
        """
        self.write_base(writer)
        writer.write_u8(0)

    @classmethod
    def read_base(cls, reader: BinaryReader) -> Header:
        """
        Read the unsigned part, the C{01} marker and the witness.
        """
        start = reader.pos
        data = reader.read_bytes(UNSIGNED_HEADER_SIZE)
        reader.pos = start
        version = reader.read_u32()
        prev_hash = reader.read_uint256()
        merkle = reader.read_uint256()
        timestamp = reader.read_u32()
        index = reader.read_u32()
        consensus_data = reader.read_u64()
        next_consensus = reader.read_uint160()
        marker_at = reader.pos
        if reader.read_u8() != 1:
            raise FormatError("a block header has exactly one witness (01 expected)", marker_at)
        header = cls(version=version, prev_hash=prev_hash, merkle_root=merkle,
                     timestamp=timestamp, index=index, consensus_data=consensus_data,
                     next_consensus=next_consensus, witness=Witness.read(reader))
        header.set_hash_from(data)
        object.__setattr__(header, "_unsigned_cache", data)  # the fixed layout is canonical
        return header

    @classmethod
    def read(cls, reader: BinaryReader) -> Header:
        header = cls.read_base(reader)
        end_at = reader.pos
        if reader.read_u8() != 0:
            raise FormatError("a header ends with a zero transaction count", end_at)
        return header

    @classmethod
    def from_bytes(cls, data: bytes) -> Header:
        reader = BinaryReader(data)
        header = cls.read(reader)
        reader.expect_end("the header")
        return header


@attrs.frozen
class Block(Serializable):
    """
    A header and its transactions, the first of them the MinerTransaction.
    """

    header: Header
    transactions: tuple[Transaction, ...]
    #: Set once L{problem} found nothing: a frozen block cannot acquire a problem later.
    _sound: bool = attrs.field(init=False, default=False, eq=False, repr=False)
    #: The serialized size, once known: decoding knows it (off the reactor, for a big
    #: block), and measuring 65,536 transactions again would take the reactor ~50 ms.
    _size_cache: int | None = attrs.field(init=False, default=None, eq=False, repr=False)

    @property
    def size(self) -> int:
        size = self._size_cache
        if size is None:
            size = len(self.to_bytes())
            object.__setattr__(self, "_size_cache", size)
        return size

    @property
    def hash(self) -> UInt256:
        return self.header.hash

    @property
    def index(self) -> int:
        return self.header.index

    def write(self, writer: BinaryWriter) -> None:
        self.header.write_base(writer)
        writer.write_array(self.transactions)

    def problem(self) -> str | None:
        """
        What makes this block malformed (the checks of C{Block.Deserialize}), or None.
        """
        if self._sound:
            return None
        txs = self.transactions
        if not txs:
            return "a block has at least one transaction"
        if TransactionType.MinerTransaction != txs[0].TYPE:
            return "the first transaction must be the MinerTransaction"
        if any(TransactionType.MinerTransaction == tx.TYPE for tx in txs[1:]):
            return "only the first transaction may be a MinerTransaction"
        hashes = [tx.hash for tx in txs]
        if len(set(hashes)) != len(hashes):
            return "duplicate transactions"
        if merkle_root(hashes) != self.header.merkle_root:
            return "the merkle root does not match the transactions"
        object.__setattr__(self, "_sound", True)
        return None

    @classmethod
    def read(cls, reader: BinaryReader) -> Block:
        start = reader.pos
        header = Header.read_base(reader)
        transactions = reader.read_array(Transaction.read, MAX_TRANSACTIONS_PER_BLOCK,
                                         minimum=1, item_size=3)
        block = cls(header, transactions)
        problem = block.problem()
        if problem is not None:
            raise FormatError(f"invalid block: {problem}", start)
        object.__setattr__(block, "_size_cache", reader.pos - start)
        return block

    @classmethod
    def from_bytes(cls, data: bytes) -> Block:
        reader = BinaryReader(data)
        block = cls.read(reader)
        reader.expect_end("the block")
        return block
