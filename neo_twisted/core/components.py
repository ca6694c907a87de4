# -*- test-case-name: tests.unit.test_core_components -*-
"""
The small pieces transactions and blocks are made of.
"""

from __future__ import annotations

import struct
from enum import IntEnum

import attrs

from neo_twisted.core.serializable import Serializable
from neo_twisted.crypto.hashes import hash160
from neo_twisted.wire.binary import BinaryReader, BinaryWriter
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160, UInt256

#: Witness scripts are var bytes of at most this many bytes each.
MAX_SCRIPT_SIZE = 65536

_I64 = struct.Struct("<q")
#: Whole coin references and outputs, unpacked at once when the input holds them.
_COIN_REFERENCE = struct.Struct("<32sH")
_OUTPUT = struct.Struct("<32sq20s")


@attrs.frozen
class Witness(Serializable):
    """
    An invocation script (signatures) and the verification script it satisfies.
    """

    invocation_script: bytes = b""
    verification_script: bytes = b""

    @classmethod
    def read(cls, reader: BinaryReader) -> Witness:
        return cls(reader.read_var_bytes(MAX_SCRIPT_SIZE), reader.read_var_bytes(MAX_SCRIPT_SIZE))

    def write(self, writer: BinaryWriter) -> None:
        writer.write_var_bytes(self.invocation_script)
        writer.write_var_bytes(self.verification_script)

    @property
    def script_hash(self) -> UInt160:
        return UInt160(hash160(self.verification_script))


@attrs.frozen
class CoinReference(Serializable):
    """
    An input: output C{prev_index} of transaction C{prev_hash}. 34 bytes.
    """

    prev_hash: UInt256
    prev_index: int

    @classmethod
    def read(cls, reader: BinaryReader) -> CoinReference:
        prev_hash, prev_index = reader.read_struct(_COIN_REFERENCE)
        return cls(bytes.__new__(UInt256, prev_hash), prev_index)

    def write(self, writer: BinaryWriter) -> None:
        writer.write_bytes(self.prev_hash)
        writer.write_u16(self.prev_index)


@attrs.frozen
class TransactionOutput(Serializable):
    """
    C{value} (Fixed8 raw, always positive) of asset C{asset_id} paid to C{script_hash}. 60 bytes.
    """

    asset_id: UInt256
    value: int
    script_hash: UInt160

    @classmethod
    def read(cls, reader: BinaryReader) -> TransactionOutput:
        start = reader.pos + 32
        asset_id, value, script_hash = reader.read_struct(_OUTPUT)
        if value <= 0:
            raise FormatError(f"output value must be positive, got {value}", start)
        return cls(bytes.__new__(UInt256, asset_id), value, bytes.__new__(UInt160, script_hash))

    def write(self, writer: BinaryWriter) -> None:
        writer.write_bytes(self.asset_id)
        writer.write_i64(self.value)
        writer.write_bytes(self.script_hash)

    def to_bytes(self) -> bytes:
        # the same 60 bytes as write(), without a writer: the ledger stores every output
        return self.asset_id + _I64.pack(self.value) + self.script_hash


class AttributeUsage(IntEnum):
    """
    C{TransactionAttributeUsage}: the names are the ones JSON-RPC prints.
    """

    ContractHash = 0x00
    ECDH02 = 0x02
    ECDH03 = 0x03
    Script = 0x20
    Vote = 0x30
    DescriptionUrl = 0x81
    Description = 0x90
    Hash1 = 0xA1
    Hash2 = 0xA2
    Hash3 = 0xA3
    Hash4 = 0xA4
    Hash5 = 0xA5
    Hash6 = 0xA6
    Hash7 = 0xA7
    Hash8 = 0xA8
    Hash9 = 0xA9
    Hash10 = 0xAA
    Hash11 = 0xAB
    Hash12 = 0xAC
    Hash13 = 0xAD
    Hash14 = 0xAE
    Hash15 = 0xAF
    Remark = 0xF0
    Remark1 = 0xF1
    Remark2 = 0xF2
    Remark3 = 0xF3
    Remark4 = 0xF4
    Remark5 = 0xF5
    Remark6 = 0xF6
    Remark7 = 0xF7
    Remark8 = 0xF8
    Remark9 = 0xF9
    Remark10 = 0xFA
    Remark11 = 0xFB
    Remark12 = 0xFC
    Remark13 = 0xFD
    Remark14 = 0xFE
    Remark15 = 0xFF


_FIXED_32 = frozenset([0x00, 0x30, *range(0xA1, 0xB0)])
_VAR_65535 = frozenset([0x90, *range(0xF0, 0x100)])
_USAGES = frozenset(int(u) for u in AttributeUsage)


def _attribute_data_ok(usage: int, data: bytes) -> bool:
    if usage in _FIXED_32:
        return len(data) == 32
    if usage in (0x02, 0x03):
        return len(data) == 33 and data[0] == usage
    if usage == 0x20:
        return len(data) == 20
    if usage == 0x81:
        return len(data) <= 255
    return usage in _VAR_65535 and len(data) <= 65535


@attrs.frozen
class TransactionAttribute(Serializable):
    """
    A usage byte and its data, each usage with its own encoding.

    For ECDH02/ECDH03 C{data} is 33 bytes, the usage byte followed by the 32 bytes
    on the wire, which together form a compressed public key.
    """

    usage: int
    data: bytes

    def __attrs_post_init__(self) -> None:
        if self.usage not in _USAGES or not _attribute_data_ok(self.usage, self.data):
            raise ValueError(f"invalid data for attribute usage 0x{self.usage:02x}")

    @classmethod
    def read(cls, reader: BinaryReader) -> TransactionAttribute:
        start = reader.pos
        usage = reader.read_u8()
        if usage in _FIXED_32:
            data = reader.read_bytes(32)
        elif usage in _VAR_65535:
            data = reader.read_var_bytes(65535)
        elif usage == 0x20:
            data = reader.read_bytes(20)
        elif usage in (0x02, 0x03):
            data = bytes((usage,)) + reader.read_bytes(32)
        elif usage == 0x81:
            data = reader.read_bytes(reader.read_u8())
        else:
            raise FormatError(f"unknown transaction attribute usage 0x{usage:02x}", start)
        return cls(usage, data)

    def write(self, writer: BinaryWriter) -> None:
        usage = self.usage
        writer.write_u8(usage)
        if usage in _VAR_65535:
            writer.write_var_bytes(self.data)
        elif usage in (0x02, 0x03):
            writer.write_bytes(self.data[1:])
        elif usage == 0x81:
            writer.write_u8(len(self.data))
            writer.write_bytes(self.data)
        else:
            writer.write_bytes(self.data)
