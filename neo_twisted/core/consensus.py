# -*- test-case-name: tests.unit.test_core_consensus -*-
"""
dBFT 1.0 consensus payloads and their three messages (neo <= 2.9.4).

A L{ConsensusPayload} is what travels in C{consensus} messages: routing data,
the serialized message in C{data}, and the sender's single-signature witness.
The message inside is decoded separately, with L{ConsensusMessage.from_bytes},
because a node relays payloads it cannot (or need not) interpret.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

import attrs

from neo_twisted.core.components import Witness
from neo_twisted.core.serializable import Serializable, Verifiable
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import MinerTransaction
from neo_twisted.wire.binary import DEFAULT_MAX, BinaryReader, BinaryWriter
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160, UInt256


class ConsensusMessageType(IntEnum):
    ChangeView = 0x00
    PrepareRequest = 0x20
    PrepareResponse = 0x21


@attrs.frozen(kw_only=True)
class ConsensusPayload(Verifiable):
    """
    C{ConsensusPayload}: signed by validator C{validator_index} for block C{block_index}.
    """

    version: int = 0
    prev_hash: UInt256
    block_index: int
    validator_index: int
    timestamp: int
    data: bytes
    witness: Witness = attrs.field(factory=Witness)

    _hash_cache: UInt256 | None = attrs.field(init=False, default=None, eq=False, repr=False)

    def write_unsigned(self, writer: BinaryWriter) -> None:
        writer.write_u32(self.version)
        writer.write_bytes(self.prev_hash)
        writer.write_u32(self.block_index)
        writer.write_u16(self.validator_index)
        writer.write_u32(self.timestamp)
        writer.write_var_bytes(self.data)

    def write(self, writer: BinaryWriter) -> None:
        self.write_unsigned(writer)
        writer.write_u8(1)
        self.witness.write(writer)

    @classmethod
    def read(cls, reader: BinaryReader) -> ConsensusPayload:
        version = reader.read_u32()
        prev_hash = reader.read_uint256()
        block_index = reader.read_u32()
        validator_index = reader.read_u16()
        timestamp = reader.read_u32()
        data = reader.read_var_bytes(DEFAULT_MAX)
        marker_at = reader.pos
        if reader.read_u8() != 1:
            raise FormatError("a consensus payload has exactly one witness (01 expected)",
                              marker_at)
        return cls(version=version, prev_hash=prev_hash, block_index=block_index,
                   validator_index=validator_index, timestamp=timestamp, data=data,
                   witness=Witness.read(reader))

    @classmethod
    def from_bytes(cls, data: bytes) -> ConsensusPayload:
        reader = BinaryReader(data)
        payload = cls.read(reader)
        reader.expect_end("the consensus payload")
        return payload

    def message(self) -> ConsensusMessage:
        """
        The dBFT message carried in C{data}; L{FormatError} if it does not parse.
        """
        return ConsensusMessage.from_bytes(self.data)


_MESSAGES: dict[int, type[ConsensusMessage]] = {}


@attrs.frozen(kw_only=True)
class ConsensusMessage(Serializable):
    """
    The common header of dBFT messages: type and view number.
    """

    TYPE: ClassVar[ConsensusMessageType]
    view_number: int = 0

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        _MESSAGES[cls.TYPE] = cls

    @classmethod
    def read_body(cls, reader: BinaryReader, view_number: int) -> ConsensusMessage:
        raise NotImplementedError

    def write_body(self, writer: BinaryWriter) -> None:
        raise NotImplementedError

    def write(self, writer: BinaryWriter) -> None:
        writer.write_u8(self.TYPE)
        writer.write_u8(self.view_number)
        self.write_body(writer)

    @staticmethod
    def from_bytes(data: bytes) -> ConsensusMessage:
        reader = BinaryReader(data)
        kind = reader.read_u8()
        cls = _MESSAGES.get(kind)
        if cls is None:
            raise FormatError(f"unknown consensus message type 0x{kind:02x}", 0)
        message = cls.read_body(reader, reader.read_u8())
        reader.expect_end(f"the {cls.TYPE.name} message")
        return message


@attrs.frozen(kw_only=True)
class ChangeView(ConsensusMessage):
    TYPE = ConsensusMessageType.ChangeView
    new_view_number: int

    @classmethod
    def read_body(cls, reader: BinaryReader, view_number: int) -> ConsensusMessage:
        at = reader.pos
        new_view = reader.read_u8()
        if new_view == 0:
            raise FormatError("ChangeView to view 0", at)
        return cls(view_number=view_number, new_view_number=new_view)

    def write_body(self, writer: BinaryWriter) -> None:
        writer.write_u8(self.new_view_number)


@attrs.frozen(kw_only=True)
class PrepareRequest(ConsensusMessage):
    """
    The primary's proposal: header fields, transaction hashes, its MinerTransaction and signature.
    """

    TYPE = ConsensusMessageType.PrepareRequest
    nonce: int
    next_consensus: UInt160
    transaction_hashes: tuple[UInt256, ...]
    miner_transaction: Transaction
    signature: bytes

    @classmethod
    def read_body(cls, reader: BinaryReader, view_number: int) -> ConsensusMessage:
        nonce = reader.read_u64()
        next_consensus = reader.read_uint160()
        hashes_at = reader.pos
        hashes = reader.read_array(BinaryReader.read_uint256, DEFAULT_MAX, item_size=32)
        if len(set(hashes)) != len(hashes):
            raise FormatError("duplicate transaction hashes", hashes_at)
        miner_at = reader.pos
        miner = MinerTransaction.read_typed(reader)
        if not hashes or miner.hash != hashes[0]:
            raise FormatError("the first hash must be the MinerTransaction's", miner_at)
        return cls(view_number=view_number, nonce=nonce, next_consensus=next_consensus,
                   transaction_hashes=hashes, miner_transaction=miner,
                   signature=reader.read_bytes(64))

    def write_body(self, writer: BinaryWriter) -> None:
        writer.write_u64(self.nonce)
        writer.write_bytes(self.next_consensus)
        writer.write_hashes(self.transaction_hashes)
        self.miner_transaction.write(writer)
        writer.write_bytes(self.signature)


@attrs.frozen(kw_only=True)
class PrepareResponse(ConsensusMessage):
    """
    A backup's signature of the proposed header.
    """

    TYPE = ConsensusMessageType.PrepareResponse
    signature: bytes

    @classmethod
    def read_body(cls, reader: BinaryReader, view_number: int) -> ConsensusMessage:
        return cls(view_number=view_number, signature=reader.read_bytes(64))

    def write_body(self, writer: BinaryWriter) -> None:
        writer.write_bytes(self.signature)
