"""
Sample P2P payloads for the tests of L{neo_twisted.network.payloads}: distinct hashes,
addresses, headers, a version, a small block, a consensus payload, one payload of each
command the table knows, and counted lists of hashes.
"""

from __future__ import annotations

import ipaddress

from neo_twisted.core import (
    Block,
    ConsensusPayload,
    ContractTransaction,
    Header,
    MinerTransaction,
    Witness,
    merkle_root,
)
from neo_twisted.crypto.hashes import hash256
from neo_twisted.network.payloads import (
    AddrPayload,
    EmptyPayload,
    FilterAddPayload,
    FilterLoadPayload,
    GetBlocksPayload,
    HeadersPayload,
    InventoryType,
    InvPayload,
    MerkleBlockPayload,
    NetworkAddressWithTime,
    Payload,
    PingPayload,
    VersionPayload,
)
from neo_twisted.wire.binary import encode_var_int
from neo_twisted.wire.uint import UInt160, UInt256


def h(n: int) -> UInt256:
    """
    A distinct hash for C{n}.
    """
    return UInt256(hash256(n.to_bytes(4, "little")))


def address(ip: str = "192.168.1.2", port: int = 10333) -> NetworkAddressWithTime:
    """
    A full-node address entry.
    """
    return NetworkAddressWithTime(1500000000, 1, ipaddress.ip_address(ip), port)


def header(index: int = 1) -> Header:
    """
    A header at height C{index}.
    """
    return Header(prev_hash=h(index - 1), merkle_root=h(1000 + index), timestamp=1500000000,
                  index=index, consensus_data=index, next_consensus=UInt160(b"\x01" * 20),
                  witness=Witness(b"\x40" + bytes(64), b"\x51"))


def version(user_agent: str = "/NEO:2.9.4/", relay: bool = True) -> VersionPayload:
    """
    A version payload.
    """
    return VersionPayload(version=0, services=1, timestamp=1500000000, port=10333,
                          nonce=0xDEADBEEF, user_agent=user_agent, start_height=123,
                          relay=relay)


def small_block() -> Block:
    """
    A valid block of one MinerTransaction.
    """
    miner = MinerTransaction(nonce=1)
    head = Header(prev_hash=h(0), merkle_root=merkle_root([miner.hash]), timestamp=1,
                  index=1, consensus_data=1, next_consensus=UInt160())
    return Block(head, (miner,))


def consensus() -> ConsensusPayload:
    """
    A consensus payload carrying a ChangeView.
    """
    return ConsensusPayload(prev_hash=h(5), block_index=6, validator_index=0,
                            timestamp=1500000000, data=b"\x00\x00\x01")


def samples() -> dict[str, Payload]:
    """
    One payload for each command the table knows.
    """
    empty = EmptyPayload()
    inv = InvPayload(InventoryType.TX, (h(1), h(2)))
    ping = PingPayload(100, 1500000000, 42)
    return {
        "version": version(),
        "verack": empty,
        "getaddr": empty,
        "addr": AddrPayload((address(), address("2001:db8::1", 20333))),
        "getheaders": GetBlocksPayload((h(1),)),
        "getblocks": GetBlocksPayload((h(1), h(2)), h(3)),
        "headers": HeadersPayload((header(1), header(2))),
        "inv": inv,
        "getdata": InvPayload(InventoryType.Block, (h(3),)),
        "notfound": InvPayload(InventoryType.Consensus, ()),
        "block": small_block(),
        "tx": ContractTransaction(witnesses=(Witness(b"", b"\x51"),)),
        "consensus": consensus(),
        "mempool": empty,
        "ping": ping,
        "pong": PingPayload(101, 1500000001, 42),
        "filterload": FilterLoadPayload(b"\xff" * 64, 10, 7),
        "filteradd": FilterAddPayload(b"\x01" * 20),
        "filterclear": empty,
        "merkleblock": MerkleBlockPayload(header(3), 4, (h(7), h(8)), b"\x1d"),
    }


def hashes_payload(count: int) -> bytes:
    """
    A var-int counted list of C{count} distinct hashes.
    """
    return encode_var_int(count) + b"".join(h(i) for i in range(count))
