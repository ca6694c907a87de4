"""
Tests for L{neo_twisted.network.payloads}: P2P payload layouts, caps and the command table.
"""

from __future__ import annotations

import ipaddress

from twisted.trial.unittest import SynchronousTestCase

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
    MAX_ADDRESSES,
    MAX_FILTER_ADD,
    MAX_FILTER_FUNCTIONS,
    MAX_FILTER_SIZE,
    MAX_HASH_START,
    MAX_HEADERS,
    MAX_INV_HASHES,
    MAX_USER_AGENT,
    PAYLOAD_READERS,
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
    decode_payload,
    payload_bytes,
)
from neo_twisted.wire.binary import BinaryReader, encode_var_int
from neo_twisted.wire.errors import FormatError
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


class NetworkAddressTests(SynchronousTestCase):
    """
    NetworkAddressWithTime: 30 bytes, IPv4-mapped, big-endian port.
    """

    def test_ipv4Layout(self) -> None:
        """
        IPv4 travels IPv4-mapped (::ffff:a.b.c.d) and the port is big-endian.
        """
        data = payload_bytes(address("192.168.1.2", 10333))
        self.assertEqual(len(data), 30)
        self.assertEqual(data[:4], (1500000000).to_bytes(4, "little"))
        self.assertEqual(data[4:12], (1).to_bytes(8, "little"))
        self.assertEqual(data[12:28], bytes(10) + b"\xff\xff" + bytes((192, 168, 1, 2)))
        self.assertEqual(data[28:], b"\x28\x5d")

    def test_ipv4ComesBackAsIPv4(self) -> None:
        """
        An IPv4-mapped address reads back as an IPv4Address.
        """
        entry = address("10.0.0.1", 20333)
        parsed = NetworkAddressWithTime.read(BinaryReader(payload_bytes(entry)))
        self.assertIsInstance(parsed.address, ipaddress.IPv4Address)
        self.assertEqual(parsed, entry)

    def test_ipv6(self) -> None:
        """
        An IPv6 address travels as is and reads back as an IPv6Address.
        """
        entry = address("2001:db8::7", 1)
        data = payload_bytes(entry)
        self.assertEqual(data[12:28], ipaddress.IPv6Address("2001:db8::7").packed)
        self.assertEqual(data[28:], b"\x00\x01")
        parsed = NetworkAddressWithTime.read(BinaryReader(data))
        self.assertIsInstance(parsed.address, ipaddress.IPv6Address)
        self.assertEqual(parsed, entry)


class AddrAndGetBlocksTests(SynchronousTestCase):
    """
    The bounds of C{addr} and C{getblocks}/C{getheaders}.
    """

    def test_addrBounds(self) -> None:
        """
        An addr payload holds 1 to 200 entries: 0 and 201 are rejected.
        """
        entry = payload_bytes(address())
        self.assertRaises(FormatError, decode_payload, "addr", b"\x00")
        ok = decode_payload("addr", encode_var_int(MAX_ADDRESSES) + entry * MAX_ADDRESSES)
        assert isinstance(ok, AddrPayload)
        self.assertEqual(len(ok.addresses), 200)
        too_many = encode_var_int(MAX_ADDRESSES + 1) + entry * (MAX_ADDRESSES + 1)
        error = self.assertRaises(FormatError, decode_payload, "addr", too_many)
        self.assertEqual(error.offset, 0)

    def test_getBlocksBounds(self) -> None:
        """
        getblocks and getheaders take 1 to 16 start hashes: 0 and 17 are rejected.
        """
        stop = bytes(32)
        for command in ("getblocks", "getheaders"):
            self.assertRaises(FormatError, decode_payload, command, b"\x00" + stop)
            ok = decode_payload(command, hashes_payload(MAX_HASH_START) + stop)
            assert isinstance(ok, GetBlocksPayload)
            self.assertEqual(len(ok.hash_start), 16)
            self.assertEqual(ok.hash_stop, UInt256())
            error = self.assertRaises(FormatError, decode_payload, command,
                                      hashes_payload(MAX_HASH_START + 1) + stop)
            self.assertEqual(error.offset, 0)

    def test_getBlocksNeedsStop(self) -> None:
        """
        A getblocks payload without its stop hash is rejected.
        """
        self.assertRaises(FormatError, decode_payload, "getblocks", hashes_payload(1))

    def test_getBlocksDefaultStop(self) -> None:
        """
        The stop hash defaults to zero, written as 32 zero bytes.
        """
        data = payload_bytes(GetBlocksPayload((h(1),)))
        self.assertEqual(data, b"\x01" + h(1) + bytes(32))


class HeadersAndInvTests(SynchronousTestCase):
    """
    The caps of C{headers} and C{inv}/C{getdata}/C{notfound}.
    """

    def test_headersCap(self) -> None:
        """
        A headers payload claiming 2001 headers fails at the count, before parsing any header.
        """
        count = MAX_HEADERS + 1
        data = encode_var_int(count) + b"\x00" * (108 * count)
        error = self.assertRaises(FormatError, decode_payload, "headers", data)
        self.assertEqual(error.offset, 0)

    def test_headersCountCheckedAgainstBytes(self) -> None:
        """
        A headers count the remaining bytes cannot hold fails at the count.
        """
        error = self.assertRaises(FormatError, decode_payload, "headers",
                                  encode_var_int(2) + header().to_bytes())
        self.assertEqual(error.offset, 0)

    def test_headersNeedTrailer(self) -> None:
        """
        Each header in a headers payload must end with its 00 transaction count.
        """
        one = header().to_bytes()
        bad = b"\x01" + one[:-1] + b"\x01"
        self.assertRaises(FormatError, decode_payload, "headers", bad)
        parsed = decode_payload("headers", b"\x01" + one)
        self.assertEqual(parsed, HeadersPayload((header(),)))

    def test_emptyHeaders(self) -> None:
        """
        An empty headers payload is valid.
        """
        self.assertEqual(decode_payload("headers", b"\x00"), HeadersPayload(()))

    def test_invTypes(self) -> None:
        """
        Inventory types 01, 02 and E0 are accepted; 03 and others are rejected at the type.
        """
        for kind in (0x01, 0x02, 0xE0):
            parsed = decode_payload("inv", bytes((kind,)) + hashes_payload(1))
            assert isinstance(parsed, InvPayload)
            self.assertEqual(parsed.type, kind)
        for kind in (0x00, 0x03, 0x04, 0xE1, 0xFF):
            error = self.assertRaises(FormatError, decode_payload, "inv",
                                      bytes((kind,)) + hashes_payload(1))
            self.assertEqual(error.offset, 0)

    def test_invCap(self) -> None:
        """
        inv, getdata and notfound take at most 500 hashes; 501 fails at the count.
        """
        for command in ("inv", "getdata", "notfound"):
            ok = decode_payload(command, b"\x01" + hashes_payload(MAX_INV_HASHES))
            assert isinstance(ok, InvPayload)
            self.assertEqual(len(ok.hashes), 500)
            error = self.assertRaises(FormatError, decode_payload, command,
                                      b"\x01" + hashes_payload(MAX_INV_HASHES + 1))
            self.assertEqual(error.offset, 1)


class PingAndFilterTests(SynchronousTestCase):
    """
    ping/pong and the bloom filter commands.
    """

    def test_pingIsTwelveBytes(self) -> None:
        """
        A ping is three little-endian uint32s: height, time and nonce.
        """
        data = payload_bytes(PingPayload(1, 2, 3))
        self.assertEqual(data, bytes.fromhex("010000000200000003000000"))
        self.assertEqual(decode_payload("ping", data), PingPayload(1, 2, 3))

    def test_shortOrLongPing(self) -> None:
        """
        An 11-byte or 13-byte ping is rejected.
        """
        for command in ("ping", "pong"):
            self.assertRaises(FormatError, decode_payload, command, bytes(11))
            self.assertRaises(FormatError, decode_payload, command, bytes(13))
            self.assertRaises(FormatError, decode_payload, command, b"")

    def test_filterLoadFunctions(self) -> None:
        """
        filterload accepts up to 50 hash functions; 51 is rejected at the K byte.
        """
        ok = payload_bytes(FilterLoadPayload(b"\x01\x02", MAX_FILTER_FUNCTIONS, 9))
        self.assertEqual(decode_payload("filterload", ok),
                         FilterLoadPayload(b"\x01\x02", 50, 9))
        bad = payload_bytes(FilterLoadPayload(b"\x01\x02", MAX_FILTER_FUNCTIONS + 1, 9))
        error = self.assertRaises(FormatError, decode_payload, "filterload", bad)
        self.assertEqual(error.offset, 3)

    def test_filterLoadSize(self) -> None:
        """
        filterload accepts a filter of 36000 bytes and rejects 36001.
        """
        ok = payload_bytes(FilterLoadPayload(b"\xaa" * MAX_FILTER_SIZE, 1, 0))
        parsed = decode_payload("filterload", ok)
        assert isinstance(parsed, FilterLoadPayload)
        self.assertEqual(len(parsed.filter), 36000)
        bad = payload_bytes(FilterLoadPayload(b"\xaa" * (MAX_FILTER_SIZE + 1), 1, 0))
        error = self.assertRaises(FormatError, decode_payload, "filterload", bad)
        self.assertEqual(error.offset, 0)

    def test_filterAddSize(self) -> None:
        """
        filteradd accepts 520 bytes of data and rejects 521.
        """
        ok = payload_bytes(FilterAddPayload(b"\x01" * MAX_FILTER_ADD))
        self.assertEqual(decode_payload("filteradd", ok), FilterAddPayload(b"\x01" * 520))
        bad = payload_bytes(FilterAddPayload(b"\x01" * (MAX_FILTER_ADD + 1)))
        error = self.assertRaises(FormatError, decode_payload, "filteradd", bad)
        self.assertEqual(error.offset, 0)


class VersionPayloadTests(SynchronousTestCase):
    """
    The version handshake payload.
    """

    def test_layout(self) -> None:
        """
        A version payload is 27 bytes plus its user agent var string, relay byte last.
        """
        data = payload_bytes(version("/NEO:2.9.4/"))
        self.assertEqual(len(data), 27 + 1 + len("/NEO:2.9.4/"))
        self.assertEqual(data[16:18], (10333).to_bytes(2, "little"))
        self.assertEqual(data[22:34], b"\x0b/NEO:2.9.4/")
        self.assertEqual(data[-1:], b"\x01")
        self.assertEqual(payload_bytes(version(relay=False))[-1:], b"\x00")

    def test_userAgentCap(self) -> None:
        """
        A user agent of 1024 bytes is accepted and one of 1025 is rejected.
        """
        ok = decode_payload("version", payload_bytes(version("a" * MAX_USER_AGENT)))
        assert isinstance(ok, VersionPayload)
        self.assertEqual(len(ok.user_agent), 1024)
        bad = payload_bytes(version("a" * (MAX_USER_AGENT + 1)))
        error = self.assertRaises(FormatError, decode_payload, "version", bad)
        self.assertEqual(error.offset, 22)

    def test_relayByte(self) -> None:
        """
        The relay byte reads 00 as false and any non-zero byte as true.
        """
        data = payload_bytes(version(relay=True))
        for byte, relay in ((0, False), (1, True), (2, True), (0xFF, True)):
            parsed = decode_payload("version", data[:-1] + bytes((byte,)))
            assert isinstance(parsed, VersionPayload)
            self.assertIs(parsed.relay, relay)

    def test_missingRelay(self) -> None:
        """
        A version payload without its relay byte is rejected.
        """
        self.assertRaises(FormatError, decode_payload, "version",
                          payload_bytes(version())[:-1])


class DecodePayloadTests(SynchronousTestCase):
    """
    L{decode_payload} and the command table.
    """

    def test_unknownCommands(self) -> None:
        """
        Commands the table does not know, such as alert and reject, decode to None.
        """
        for command in ("alert", "reject", "", "getblocktxn", "Version"):
            self.assertIsNone(decode_payload(command, b"\x01\x02\x03"))

    def test_trailingBytes(self) -> None:
        """
        A payload followed by extra bytes is a FormatError at the first extra byte.
        """
        for command, sample in samples().items():
            data = payload_bytes(sample)
            error = self.assertRaises(FormatError, decode_payload, command, data + b"\x00")
            self.assertEqual(error.offset, len(data), command)

    def test_emptyPayloadCommands(self) -> None:
        """
        verack, getaddr, mempool and filterclear accept only an empty payload.
        """
        for command in ("verack", "getaddr", "mempool", "filterclear"):
            self.assertEqual(decode_payload(command, b""), EmptyPayload())
            self.assertRaises(FormatError, decode_payload, command, b"\x00")

    def test_roundTripEachCommand(self) -> None:
        """
        Every command in the table round-trips a sample payload through its bytes.
        """
        table = samples()
        self.assertEqual(set(table), set(PAYLOAD_READERS))
        for command, sample in table.items():
            data = payload_bytes(sample)
            decoded = decode_payload(command, data)
            self.assertEqual(decoded, sample, command)
            assert decoded is not None
            self.assertEqual(payload_bytes(decoded), data, command)

    def test_truncatedEachCommand(self) -> None:
        """
        Every non-empty sample payload cut by one byte is a FormatError.
        """
        for command, sample in samples().items():
            data = payload_bytes(sample)
            if data:
                self.assertRaises(FormatError, decode_payload, command, data[:-1])

    def test_merkleBlockLayout(self) -> None:
        """
        A merkleblock is a header without trailer, then count, hashes and flags.
        """
        sample = MerkleBlockPayload(header(3), 4, (h(7),), b"\x1d")
        data = payload_bytes(sample)
        base = header(3).to_bytes()[:-1]
        self.assertEqual(data, base + b"\x04\x01" + h(7) + b"\x01\x1d")
