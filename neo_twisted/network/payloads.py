# -*- test-case-name: tests.unit.test_network_decode,tests.unit.test_network_payloads -*-
"""
The payloads of P2P messages, and the table of which command carries which.

Every payload type has C{read}/C{write}. Two readings of a frame's payload:

 - L{decode_payload}, what a connection makes of it, is as tolerant as the most
   tolerant honest NEO 2.x version (issue 21: never punish what an honest peer
   sends): bytes left over after a well-formed payload are ignored (2.9+ ignores
   them), an C{addr} may be empty and an C{inv}/C{getdata} hold more than 500
   hashes (2.8 sends both), a short C{ping} is not decoded (neo-python 0.8 sends
   an empty one), and commands the node does not act on are not decoded at all,
   as the reference ignores what it does not handle.
 - L{read_payload}, what tools (the decoder CLI, fuzzers) want, reads every
   layout we know (L{PAYLOAD_READERS}) and insists on every byte.

What we send is held to the strictest version: see L{MAX_INV_HASHES} and
L{AddrPayload}.
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
#: Hashes in one C{inv}/C{getdata} we send: 2.9+ aborts on more (L{inv_groups}).
MAX_INV_HASHES = 500
#: Hashes in one C{inv}/C{getdata} we read. 2.8 answers C{mempool} with one C{inv} of
#: its whole pool (at most 50,000 transactions), relays each verified batch of
#: transactions in one C{inv} and echoes a big C{inv} in one C{getdata}; it reads up
#: to 0x10000000 itself. 0x10000 covers its pool with room to spare and keeps one
#: message to 2 MiB of hashes (the 32 MiB frame limit alone would allow a million).
MAX_INV_READ = 0x10000
#: The size of a C{ping}/C{pong} payload (2.10.1+).
PING_SIZE = 12
MAX_FILTER_SIZE = 36000
MAX_FILTER_FUNCTIONS = 50
MAX_FILTER_ADD = 520

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address


class InventoryType(IntEnum):
    """
    What an C{inv}/C{getdata} lists. C{StateRoot} (2.11+) is only read: no C# node
    announces state roots (they are pushed as C{stateroot} messages) and 2.10 and
    earlier abort on the type, so it is never sent, and the node ignores it.
    """

    TX = 0x01
    Block = 0x02
    StateRoot = 0x03
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
    Up to 200 addresses. An empty list is read (2.8 and neo-go answer C{getaddr} with
    one when they know nobody) but must never be sent: 2.9+ aborts on it, so a sender
    with nothing to say sends no C{addr} at all.
    """

    addresses: tuple[NetworkAddressWithTime, ...]

    @classmethod
    def read(cls, reader: BinaryReader) -> AddrPayload:
        return cls(reader.read_array(NetworkAddressWithTime.read, MAX_ADDRESSES,
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
    C{inv}, C{getdata} and C{notfound}: one inventory type and its hashes.

    Up to L{MAX_INV_READ} hashes are read, and none at all (ignored by the node);
    a sender splits its hashes with L{inv_groups} and sends no empty list (neo-go
    disconnects on one). An undefined type is a L{FormatError}, as in every C# version.
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
                   reader.read_array(BinaryReader.read_uint256, MAX_INV_READ, item_size=32))

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
    C{ping} and C{pong} (2.10.1+): the sender's height, time and a nonce the pong echoes.

    L{decode_payload} leaves a shorter one undecoded (neo-python 0.8 pings with an
    empty payload); we always send the 12 bytes, which 2.10.1+ requires.
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

#: The payload reader of each command whose layout we know (the full table, for tools).
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

#: The commands a connection decodes: those the handshake, the keep-alive or the
#: node act on. The others are left undecoded, as unknown commands are: the node would
#: throw them away, so their bytes cost nothing and no peer is dropped for them. They
#: are C{notfound}, C{merkleblock} and C{alert}/C{reject} (which no C# version parses
#: either), the bloom filter commands C{filterload}/C{filteradd}/C{filterclear} (for
#: SPV wallets, which we do not serve), 2.11's C{stateroot}/C{getroots}/C{roots}
#: and neo-python's misspelt C{address}.
PEER_COMMANDS = frozenset({
    "version", "verack", "getaddr", "addr", "getheaders", "getblocks", "headers", "inv",
    "getdata", "block", "tx", "consensus", "mempool", "ping", "pong",
})


def decode_payload(command: str, payload: bytes) -> Payload | None:
    """
    What a connection makes of C{payload}, the payload of a C{command} frame: the
    decoded payload, or None for a message it ignores (a command outside
    L{PEER_COMMANDS}, a C{ping}/C{pong} shorter than L{PING_SIZE}).

    Bytes left over after a well-formed payload are ignored, as 2.9+ does: no hash and
    no relayed byte string includes them (each decoded structure keeps only the bytes
    it was read from).

    @raise FormatError: the payload of a command we decode does not decode as one.
    """
    if command not in PEER_COMMANDS:
        return None
    if len(payload) < PING_SIZE and (command == "ping" or command == "pong"):
        return None
    return PAYLOAD_READERS[command](BinaryReader(payload))


def read_payload(command: str, payload: bytes) -> Payload | None:
    """
    C{payload} read strictly as C{command} carries it, with the full table
    (L{PAYLOAD_READERS}): the reading of tools and tests of the format, not of a
    connection (L{decode_payload}). None for a command whose layout we do not know.

    @raise FormatError: the bytes are not exactly one valid payload for that command
        (bytes left over included).
    """
    read = PAYLOAD_READERS.get(command)
    if read is None:
        return None
    reader = BinaryReader(payload)
    decoded = read(reader)
    reader.expect_end(f"the {command} payload")
    return decoded
