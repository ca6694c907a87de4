# -*- test-case-name: tests.test_network_payloads -*-
"""
The payloads of P2P messages, and the table of which command carries which.

Every payload type has C{read}/C{write}; L{decode_payload} decodes a frame's
payload by its command and insists on consuming every byte. Commands we do not
know decode to None: the reference node ignores them, and so do we.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import TypeAlias

import attrs

from neo_twisted.core.block import Block, Header
from neo_twisted.core.consensus import ConsensusPayload
from neo_twisted.core.serializable import Serializable
from neo_twisted.core.transaction import Transaction
from neo_twisted.wire.binary import BinaryReader, BinaryWriter
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt256

MAX_USER_AGENT = 1024
MAX_ADDRESSES = 200
MAX_HASH_START = 16
MAX_HEADERS = 2000
MAX_INV_HASHES = 500
MAX_FILTER_SIZE = 36000
MAX_FILTER_FUNCTIONS = 50
MAX_FILTER_ADD = 520

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address


class InventoryType(IntEnum):
    TX = 0x01
    Block = 0x02
    Consensus = 0xE0


def payload_bytes(payload: Serializable) -> bytes:
    """
    Serialize any payload.
    """
    return payload.to_bytes()


@attrs.frozen
class EmptyPayload(Serializable):
    """
    The payload of C{verack}, C{getaddr}, C{mempool} and C{filterclear}: nothing.
    """

    @classmethod
    def read(cls, reader: BinaryReader) -> EmptyPayload:
        return cls()

    def write(self, writer: BinaryWriter) -> None:
        pass


class RawPayload(Serializable):
    """
    A payload already in its wire form (a stored block or headers served to a peer).
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def write(self, writer: BinaryWriter) -> None:
        writer.write_bytes(self.data)

    def to_bytes(self) -> bytes:
        return self.data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawPayload) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        return f"RawPayload({len(self.data)} bytes)"


@attrs.frozen(kw_only=True)
class VersionPayload(Serializable):
    """
    The first message each side sends.
    """

    version: int = 0
    services: int = 1
    timestamp: int
    port: int
    nonce: int
    user_agent: str
    start_height: int
    relay: bool = True

    @classmethod
    def read(cls, reader: BinaryReader) -> VersionPayload:
        return cls(version=reader.read_u32(), services=reader.read_u64(),
                   timestamp=reader.read_u32(), port=reader.read_u16(),
                   nonce=reader.read_u32(), user_agent=reader.read_var_string(MAX_USER_AGENT),
                   start_height=reader.read_u32(), relay=reader.read_bool())

    def write(self, writer: BinaryWriter) -> None:
        writer.write_u32(self.version)
        writer.write_u64(self.services)
        writer.write_u32(self.timestamp)
        writer.write_u16(self.port)
        writer.write_u32(self.nonce)
        writer.write_var_string(self.user_agent)
        writer.write_u32(self.start_height)
        writer.write_bool(self.relay)


@attrs.frozen
class NetworkAddressWithTime(Serializable):
    """
    A peer's listening endpoint; IPv4 travels IPv4-mapped, and the port is big-endian.
    """

    timestamp: int
    services: int
    address: IPAddress
    port: int

    @classmethod
    def read(cls, reader: BinaryReader) -> NetworkAddressWithTime:
        timestamp = reader.read_u32()
        services = reader.read_u64()
        v6 = ipaddress.IPv6Address(reader.read_bytes(16))
        address: IPAddress = v6.ipv4_mapped or v6
        return cls(timestamp, services, address, reader.read_u16_be())

    def write(self, writer: BinaryWriter) -> None:
        writer.write_u32(self.timestamp)
        writer.write_u64(self.services)
        address = self.address
        if isinstance(address, ipaddress.IPv4Address):
            writer.write_bytes(b"\x00" * 10 + b"\xff\xff" + address.packed)
        else:
            writer.write_bytes(address.packed)
        writer.write_u16_be(self.port)


@attrs.frozen
class AddrPayload(Serializable):
    """
    1 to 200 addresses (a 2.9+ node disconnects on an empty list).
    """

    addresses: tuple[NetworkAddressWithTime, ...]

    @classmethod
    def read(cls, reader: BinaryReader) -> AddrPayload:
        return cls(reader.read_array(NetworkAddressWithTime.read, MAX_ADDRESSES, minimum=1,
                                     item_size=30))

    def write(self, writer: BinaryWriter) -> None:
        writer.write_array(self.addresses)


@attrs.frozen
class GetBlocksPayload(Serializable):
    """
    C{getheaders} and C{getblocks}: what comes after C{hash_start}, up to
    C{hash_stop} (zero: no stop).
    """

    hash_start: tuple[UInt256, ...]
    hash_stop: UInt256 = attrs.field(factory=UInt256)

    @classmethod
    def read(cls, reader: BinaryReader) -> GetBlocksPayload:
        start = reader.read_array(BinaryReader.read_uint256, MAX_HASH_START, minimum=1,
                                  item_size=32)
        return cls(start, reader.read_uint256())

    def write(self, writer: BinaryWriter) -> None:
        writer.write_hashes(self.hash_start)
        writer.write_bytes(self.hash_stop)


@attrs.frozen
class HeadersPayload(Serializable):
    """
    Up to 2000 headers, each with its trailing zero transaction count.
    """

    headers: tuple[Header, ...]

    @classmethod
    def read(cls, reader: BinaryReader) -> HeadersPayload:
        return cls(reader.read_array(Header.read, MAX_HEADERS, item_size=108))

    def write(self, writer: BinaryWriter) -> None:
        writer.write_array(self.headers)


@attrs.frozen
class InvPayload(Serializable):
    """
    C{inv}, C{getdata} and C{notfound}: one inventory type and up to 500 hashes.
    """

    type: InventoryType
    hashes: tuple[UInt256, ...]

    @classmethod
    def read(cls, reader: BinaryReader) -> InvPayload:
        at = reader.pos
        kind = reader.read_u8()
        try:
            inventory_type = InventoryType(kind)
        except ValueError:
            raise FormatError(f"unknown inventory type 0x{kind:02x}", at) from None
        return cls(inventory_type,
                   reader.read_array(BinaryReader.read_uint256, MAX_INV_HASHES, item_size=32))

    def write(self, writer: BinaryWriter) -> None:
        writer.write_u8(self.type)
        writer.write_hashes(self.hashes)


def inv_groups(kind: InventoryType, hashes: Sequence[UInt256]) -> list[InvPayload]:
    """
    C{InvPayload.CreateGroup}: C{hashes} in order, in payloads of at most 500.
    """
    return [InvPayload(kind, tuple(hashes[start:start + MAX_INV_HASHES]))
            for start in range(0, len(hashes), MAX_INV_HASHES)]


@attrs.frozen
class PingPayload(Serializable):
    """
    C{ping} and C{pong} (2.10+): the sender's height, time and a nonce the pong echoes.
    """

    last_block_index: int
    timestamp: int
    nonce: int

    @classmethod
    def read(cls, reader: BinaryReader) -> PingPayload:
        return cls(reader.read_u32(), reader.read_u32(), reader.read_u32())

    def write(self, writer: BinaryWriter) -> None:
        writer.write_u32(self.last_block_index)
        writer.write_u32(self.timestamp)
        writer.write_u32(self.nonce)


@attrs.frozen
class FilterLoadPayload(Serializable):
    """
    A bloom filter (at most 36000 bytes, at most 50 hash functions) for SPV clients.
    """

    filter: bytes
    k: int
    tweak: int

    @classmethod
    def read(cls, reader: BinaryReader) -> FilterLoadPayload:
        bits = reader.read_var_bytes(MAX_FILTER_SIZE)
        at = reader.pos
        k = reader.read_u8()
        if k > MAX_FILTER_FUNCTIONS:
            raise FormatError(f"{k} filter functions, at most {MAX_FILTER_FUNCTIONS}", at)
        return cls(bits, k, reader.read_u32())

    def write(self, writer: BinaryWriter) -> None:
        writer.write_var_bytes(self.filter)
        writer.write_u8(self.k)
        writer.write_u32(self.tweak)


@attrs.frozen
class FilterAddPayload(Serializable):
    data: bytes

    @classmethod
    def read(cls, reader: BinaryReader) -> FilterAddPayload:
        return cls(reader.read_var_bytes(MAX_FILTER_ADD))

    def write(self, writer: BinaryWriter) -> None:
        writer.write_var_bytes(self.data)


@attrs.frozen
class MerkleBlockPayload(Serializable):
    """
    A block header with the partial merkle tree of the transactions matching a bloom filter.
    """

    header: Header
    tx_count: int
    hashes: tuple[UInt256, ...]
    flags: bytes

    @classmethod
    def read(cls, reader: BinaryReader) -> MerkleBlockPayload:
        header = Header.read_base(reader)
        tx_count = reader.read_var_int(0xFFFFFFFF)
        hashes = reader.read_array(BinaryReader.read_uint256, 0x1000000, item_size=32)
        return cls(header, tx_count, hashes, reader.read_var_bytes(0x1000000))

    def write(self, writer: BinaryWriter) -> None:
        self.header.write_base(writer)
        writer.write_var_int(self.tx_count)
        writer.write_hashes(self.hashes)
        writer.write_var_bytes(self.flags)


Payload: TypeAlias = (
    EmptyPayload | VersionPayload | AddrPayload | GetBlocksPayload | HeadersPayload
    | InvPayload | Block | Transaction | ConsensusPayload | PingPayload | FilterLoadPayload
    | FilterAddPayload | MerkleBlockPayload
)

#: The payload reader of each command we understand.
PAYLOAD_READERS: dict[str, Callable[[BinaryReader], Payload]] = {
    "version": VersionPayload.read,
    "verack": EmptyPayload.read,
    "getaddr": EmptyPayload.read,
    "addr": AddrPayload.read,
    "getheaders": GetBlocksPayload.read,
    "getblocks": GetBlocksPayload.read,
    "headers": HeadersPayload.read,
    "inv": InvPayload.read,
    "getdata": InvPayload.read,
    "notfound": InvPayload.read,
    "block": Block.read,
    "tx": Transaction.read,
    "consensus": ConsensusPayload.read,
    "mempool": EmptyPayload.read,
    "ping": PingPayload.read,
    "pong": PingPayload.read,
    "filterload": FilterLoadPayload.read,
    "filteradd": FilterAddPayload.read,
    "filterclear": EmptyPayload.read,
    "merkleblock": MerkleBlockPayload.read,
}


def decode_payload(command: str, payload: bytes) -> Payload | None:
    """
    Decode C{payload} as C{command} carries it; None for a command we do not know.

    @raise FormatError: the bytes are not a valid payload for that command.
    """
    read = PAYLOAD_READERS.get(command)
    if read is None:
        return None
    reader = BinaryReader(payload)
    decoded = read(reader)
    reader.expect_end(f"the {command} payload")
    return decoded
