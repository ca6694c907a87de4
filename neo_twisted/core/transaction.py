# -*- test-case-name: tests.unit.test_core_transaction_layout -*-
"""
The common layout of all nine NEO 2 transaction types, and the dispatch on the type byte.

A transaction is: type, version, the type's exclusive data, attributes (<= 16),
inputs, outputs (<= 65536) and witnesses. Its hash (the txid) is Hash256 of
everything but the witnesses. Each type lives in L{neo_twisted.core.transactions}
and registers itself here.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar

import attrs

from neo_twisted.core.components import (
    CoinReference,
    TransactionAttribute,
    TransactionOutput,
    Witness,
)
from neo_twisted.core.serializable import Verifiable
from neo_twisted.wire.binary import DEFAULT_MAX, BinaryReader, BinaryWriter
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt256

MAX_ATTRIBUTES = 16
MAX_OUTPUTS = 65536
#: C{Transaction.MaxTransactionSize}: checked by verification, not by the parser.
MAX_TRANSACTION_SIZE = 102400


class TransactionType(IntEnum):
    """
    The type byte; member names are the names JSON-RPC prints.
    """

    MinerTransaction = 0x00
    IssueTransaction = 0x01
    ClaimTransaction = 0x02
    EnrollmentTransaction = 0x20
    RegisterTransaction = 0x40
    ContractTransaction = 0x80
    StateTransaction = 0x90
    PublishTransaction = 0xD0
    InvocationTransaction = 0xD1


_REGISTRY: dict[int, type[Transaction]] = {}


@attrs.frozen(kw_only=True)
class Transaction(Verifiable):
    """
    Fields shared by every transaction type; subclasses add their exclusive data.
    """

    TYPE: ClassVar[TransactionType]
    #: Highest version the type accepts on read.
    MAX_VERSION: ClassVar[int] = 0

    version: int = 0
    attributes: tuple[TransactionAttribute, ...] = ()
    inputs: tuple[CoinReference, ...] = ()
    outputs: tuple[TransactionOutput, ...] = ()
    witnesses: tuple[Witness, ...] = ()
    _hash_cache: UInt256 | None = attrs.field(init=False, default=None, eq=False, repr=False)
    #: The exact bytes the transaction was read from, kept when they were canonical (so
    #: equal to what L{write} produces): storing or relaying it needs no re-serialization.
    _raw_cache: bytes | None = attrs.field(init=False, default=None, eq=False, repr=False)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "TYPE" in cls.__dict__:
            _REGISTRY[cls.TYPE] = cls

    # -- per-type hooks -------------------------------------------------------------------

    @classmethod
    def read_exclusive(cls, reader: BinaryReader, version: int) -> dict[str, Any]:
        """
        Read the type's exclusive data into constructor arguments.
        """
        return {}

    def write_exclusive(self, writer: BinaryWriter) -> None:
        """
        Write the type's exclusive data.
        """

    def check(self) -> str | None:
        """
        C{OnDeserialized}: what is wrong with a freshly read transaction, or None.
        """
        return None

    # -- serialization --------------------------------------------------------------------

    def write_unsigned(self, writer: BinaryWriter) -> None:
        writer.write_u8(self.TYPE)
        writer.write_u8(self.version)
        self.write_exclusive(writer)
        writer.write_array(self.attributes)
        writer.write_array(self.inputs)
        writer.write_array(self.outputs)

    def write(self, writer: BinaryWriter) -> None:
        raw = self._raw_cache
        if raw is not None:
            writer.write_bytes(raw)
            return
        self.write_unsigned(writer)
        writer.write_array(self.witnesses)

    def to_bytes(self) -> bytes:
        raw = self._raw_cache
        return raw if raw is not None else super().to_bytes()

    @property
    def type_name(self) -> str:
        return self.TYPE.name

    # -- parsing --------------------------------------------------------------------------

    @staticmethod
    def read(reader: BinaryReader) -> Transaction:
        """
        C{Transaction.DeserializeFrom}: read the type byte and the rest of its type.
        """
        start = reader.pos
        outer_canonical = reader.canonical
        reader.canonical = True
        type_byte = reader.read_u8()
        cls = _REGISTRY.get(type_byte)
        if cls is None:
            raise FormatError(f"unknown transaction type 0x{type_byte:02x}", start)
        return cls._read_body(reader, start, outer_canonical)

    @classmethod
    def read_typed(cls, reader: BinaryReader) -> Transaction:
        """
        Read a transaction that must be of this class's type (C{ReadSerializable<T>}).
        """
        start = reader.pos
        outer_canonical = reader.canonical
        reader.canonical = True
        type_byte = reader.read_u8()
        if type_byte != cls.TYPE:
            raise FormatError(f"expected a {cls.TYPE.name}, got type 0x{type_byte:02x}", start)
        return cls._read_body(reader, start, outer_canonical)

    @classmethod
    def _read_body(cls, reader: BinaryReader, start: int, outer_canonical: bool) -> Transaction:
        version_at = reader.pos
        version = reader.read_u8()
        if version > cls.MAX_VERSION:
            raise FormatError(f"{cls.TYPE.name} version {version} is not supported", version_at)
        exclusive = cls.read_exclusive(reader, version)
        attributes = reader.read_array(TransactionAttribute.read, MAX_ATTRIBUTES)
        inputs = reader.read_array(CoinReference.read, DEFAULT_MAX, item_size=34)
        outputs = reader.read_array(TransactionOutput.read, MAX_OUTPUTS, item_size=60)
        unsigned_end = reader.pos
        witnesses = reader.read_array(Witness.read, DEFAULT_MAX, item_size=2)
        tx = cls(version=version, attributes=attributes, inputs=inputs, outputs=outputs,
                 witnesses=witnesses, **exclusive)
        problem = tx.check()
        if problem is not None:
            raise FormatError(f"invalid {cls.TYPE.name}: {problem}", start)
        if reader.canonical:
            tx.set_hash_from(reader.data[start:unsigned_end])
            object.__setattr__(tx, "_raw_cache", reader.data[start:reader.pos])
        reader.canonical = outer_canonical and reader.canonical
        return tx

    @staticmethod
    def from_bytes(data: bytes) -> Transaction:
        """
        Decode exactly one transaction; anything left over is an error.
        """
        reader = BinaryReader(data)
        tx = Transaction.read(reader)
        reader.expect_end("the transaction")
        return tx
