"""
Tests for L{neo_twisted.network.payloads}: P2P payload layouts and caps (addresses,
locators, headers, inventories, pings, filters, versions).

The command table and the tolerance of L{decode_payload} for what honest NEO 2.x peers
send (issue 21) are in L{tests.unit.test_network_decode}.
"""

from __future__ import annotations

import ipaddress

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.network.payloads import (
    MAX_ADDRESSES,
    MAX_FILTER_ADD,
    MAX_FILTER_FUNCTIONS,
    MAX_FILTER_SIZE,
    MAX_HASH_START,
    MAX_HEADERS,
    MAX_INV_HASHES,
    MAX_INV_READ,
    MAX_USER_AGENT,
    PING_SIZE,
    AddrPayload,
    FilterAddPayload,
    FilterLoadPayload,
    GetBlocksPayload,
    HeadersPayload,
    InventoryType,
    InvPayload,
    NetworkAddressWithTime,
    PingPayload,
    VersionPayload,
    decode_payload,
    inv_groups,
    payload_bytes,
    read_payload,
)
from neo_twisted.wire.binary import BinaryReader, encode_var_int
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt256
from tests.support.payload_samples import address, h, hashes_payload, header, version


class NetworkAddressTests(SynchronousTestCase):
    """
    NetworkAddressWithTime: 30 bytes, IPv4-mapped, big-endian port.
    """

    def test_ipv4_layout(self) -> None:
        """
        IPv4 travels IPv4-mapped (::ffff:a.b.c.d) and the port is big-endian.
        """
        data = payload_bytes(address("192.168.1.2", 10333))
        self.assertEqual(len(data), 30)
        self.assertEqual(data[:4], (1500000000).to_bytes(4, "little"))
        self.assertEqual(data[4:12], (1).to_bytes(8, "little"))
        self.assertEqual(data[12:28], bytes(10) + b"\xff\xff" + bytes((192, 168, 1, 2)))
        self.assertEqual(data[28:], b"\x28\x5d")

    def test_ipv4_comes_back_as_ipv4(self) -> None:
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

    def test_addr_bounds(self) -> None:
        """
        An addr payload holds up to 200 entries: 201 are rejected at the count.
        """
        entry = payload_bytes(address())
        ok = decode_payload("addr", encode_var_int(MAX_ADDRESSES) + entry * MAX_ADDRESSES)
        assert isinstance(ok, AddrPayload)
        self.assertEqual(len(ok.addresses), 200)
        too_many = encode_var_int(MAX_ADDRESSES + 1) + entry * (MAX_ADDRESSES + 1)
        error = self.assertRaises(FormatError, decode_payload, "addr", too_many)
        self.assertEqual(error.offset, 0)

    def test_empty_addr(self) -> None:
        """
        An empty addr (2.8 and neo-go answer getaddr with one) decodes to no addresses,
        for a connection and for tools alike.
        """
        self.assertEqual(decode_payload("addr", b"\x00"), AddrPayload(()))
        self.assertEqual(read_payload("addr", b"\x00"), AddrPayload(()))

    def test_get_blocks_bounds(self) -> None:
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

    def test_get_blocks_needs_stop(self) -> None:
        """
        A getblocks payload without its stop hash is rejected.
        """
        self.assertRaises(FormatError, decode_payload, "getblocks", hashes_payload(1))

    def test_get_blocks_default_stop(self) -> None:
        """
        The stop hash defaults to zero, written as 32 zero bytes.
        """
        data = payload_bytes(GetBlocksPayload((h(1),)))
        self.assertEqual(data, b"\x01" + h(1) + bytes(32))


class HeadersAndInvTests(SynchronousTestCase):
    """
    The caps of C{headers} and C{inv}/C{getdata}/C{notfound}.
    """

    def test_headers_cap(self) -> None:
        """
        A headers payload claiming 2001 headers fails at the count, before parsing any header.
        """
        count = MAX_HEADERS + 1
        data = encode_var_int(count) + b"\x00" * (108 * count)
        error = self.assertRaises(FormatError, decode_payload, "headers", data)
        self.assertEqual(error.offset, 0)

    def test_headers_count_checked_against_bytes(self) -> None:
        """
        A headers count the remaining bytes cannot hold fails at the count.
        """
        error = self.assertRaises(FormatError, decode_payload, "headers",
                                  encode_var_int(2) + header().to_bytes())
        self.assertEqual(error.offset, 0)

    def test_headers_need_trailer(self) -> None:
        """
        Each header in a headers payload must end with its 00 transaction count.
        """
        one = header().to_bytes()
        bad = b"\x01" + one[:-1] + b"\x01"
        self.assertRaises(FormatError, decode_payload, "headers", bad)
        parsed = decode_payload("headers", b"\x01" + one)
        self.assertEqual(parsed, HeadersPayload((header(),)))

    def test_empty_headers(self) -> None:
        """
        An empty headers payload is valid.
        """
        self.assertEqual(decode_payload("headers", b"\x00"), HeadersPayload(()))

    def test_inv_types(self) -> None:
        """
        Inventory types 01, 02, 03 (state roots, 2.11+) and E0 are accepted; any other
        is rejected at the type, as every C# version does.
        """
        for kind in (0x01, 0x02, 0x03, 0xE0):
            parsed = decode_payload("inv", bytes((kind,)) + hashes_payload(1))
            assert isinstance(parsed, InvPayload)
            self.assertEqual(parsed.type, kind)
        self.assertEqual(InventoryType.StateRoot, 0x03)
        for command in ("inv", "getdata"):
            for kind in (0x00, 0x04, 0x07, 0xE1, 0xFF):
                error = self.assertRaises(FormatError, decode_payload, command,
                                          bytes((kind,)) + hashes_payload(1))
                self.assertEqual(error.offset, 0)

    def test_state_root_inventory(self) -> None:
        """
        An inv or getdata of state roots decodes with its type and hashes.
        """
        for command in ("inv", "getdata"):
            self.assertEqual(decode_payload(command, b"\x03" + hashes_payload(2)),
                             InvPayload(InventoryType.StateRoot, (h(0), h(1))))

    def test_inv_over_five_hundred(self) -> None:
        """
        inv and getdata read more than 500 hashes (2.8's mempool answer, its batched
        relay and its echo of a big inv), up to L{MAX_INV_READ}; one more fails at the
        count.
        """
        for command in ("inv", "getdata"):
            for count in (MAX_INV_HASHES + 1, 1000, MAX_INV_READ):
                parsed = decode_payload(command, b"\x01" + hashes_payload(count))
                assert isinstance(parsed, InvPayload)
                self.assertEqual(len(parsed.hashes), count)
                self.assertEqual(parsed.hashes[-1], h(count - 1))
            error = self.assertRaises(FormatError, decode_payload, command,
                                      b"\x01" + hashes_payload(MAX_INV_READ + 1))
            self.assertEqual(error.offset, 1)

    def test_read_limit_covers_the_largest_pool(self) -> None:
        """
        The read limit covers 2.8's largest pool (50,000 transactions), and the
        send limit stays the 500 that 2.9+ reads.
        """
        self.assertGreaterEqual(MAX_INV_READ, 50_000)
        self.assertEqual(MAX_INV_HASHES, 500)

    def test_empty_inv(self) -> None:
        """
        An inv or getdata of no hashes decodes (the node ignores it).
        """
        for command in ("inv", "getdata"):
            self.assertEqual(decode_payload(command, b"\x02\x00"),
                             InvPayload(InventoryType.Block, ()))

    def test_inv_groups_split_at_five_hundred(self) -> None:
        """
        What we send is split in groups of at most 500 hashes, in order, and nothing at
        all is sent for no hashes (neo-go disconnects on an empty inv).
        """
        hashes = [h(i) for i in range(1001)]
        groups = inv_groups(InventoryType.TX, hashes)
        self.assertEqual([len(g.hashes) for g in groups], [500, 500, 1])
        self.assertEqual([x for g in groups for x in g.hashes], hashes)
        self.assertEqual(inv_groups(InventoryType.TX, []), [])

    def test_inv_cap_for_tools(self) -> None:
        """
        The full table reads inv, getdata and notfound with the same read limit.
        """
        for command in ("inv", "getdata", "notfound"):
            ok = read_payload(command, b"\x01" + hashes_payload(MAX_INV_HASHES + 1))
            assert isinstance(ok, InvPayload)
            self.assertEqual(len(ok.hashes), 501)
            error = self.assertRaises(FormatError, read_payload, command,
                                      b"\x01" + hashes_payload(MAX_INV_READ + 1))
            self.assertEqual(error.offset, 1)


class PingAndFilterTests(SynchronousTestCase):
    """
    ping/pong and the bloom filter commands.
    """

    def test_ping_is_twelve_bytes(self) -> None:
        """
        A ping is three little-endian uint32s: height, time and nonce.
        """
        data = payload_bytes(PingPayload(1, 2, 3))
        self.assertEqual(data, bytes.fromhex("010000000200000003000000"))
        self.assertEqual(decode_payload("ping", data), PingPayload(1, 2, 3))

    def test_short_ping_not_decoded(self) -> None:
        """
        A ping or pong shorter than 12 bytes (neo-python 0.8 pings with an empty
        payload) is not decoded: the connection ignores it.
        """
        for command in ("ping", "pong"):
            for size in (0, 1, PING_SIZE - 1):
                self.assertIsNone(decode_payload(command, bytes(size)), (command, size))

    def test_long_ping(self) -> None:
        """
        A ping or pong longer than 12 bytes decodes from its first 12.
        """
        data = payload_bytes(PingPayload(7, 8, 9)) + b"\xff" * 5
        for command in ("ping", "pong"):
            self.assertEqual(decode_payload(command, data), PingPayload(7, 8, 9))

    def test_short_or_long_ping_for_tools(self) -> None:
        """
        Read strictly, an empty, 11-byte or 13-byte ping is a FormatError.
        """
        for command in ("ping", "pong"):
            for size in (0, 11, 13):
                self.assertRaises(FormatError, read_payload, command, bytes(size))

    def test_filter_load_functions(self) -> None:
        """
        Read by tools, filterload accepts up to 50 hash functions; 51 is rejected at the K byte.
        """
        ok = payload_bytes(FilterLoadPayload(b"\x01\x02", MAX_FILTER_FUNCTIONS, 9))
        self.assertEqual(read_payload("filterload", ok),
                         FilterLoadPayload(b"\x01\x02", 50, 9))
        bad = payload_bytes(FilterLoadPayload(b"\x01\x02", MAX_FILTER_FUNCTIONS + 1, 9))
        error = self.assertRaises(FormatError, read_payload, "filterload", bad)
        self.assertEqual(error.offset, 3)

    def test_filter_load_size(self) -> None:
        """
        filterload accepts a filter of 36000 bytes and rejects 36001.
        """
        ok = payload_bytes(FilterLoadPayload(b"\xaa" * MAX_FILTER_SIZE, 1, 0))
        parsed = read_payload("filterload", ok)
        assert isinstance(parsed, FilterLoadPayload)
        self.assertEqual(len(parsed.filter), 36000)
        bad = payload_bytes(FilterLoadPayload(b"\xaa" * (MAX_FILTER_SIZE + 1), 1, 0))
        error = self.assertRaises(FormatError, read_payload, "filterload", bad)
        self.assertEqual(error.offset, 0)

    def test_filter_add_size(self) -> None:
        """
        filteradd accepts 520 bytes of data and rejects 521.
        """
        ok = payload_bytes(FilterAddPayload(b"\x01" * MAX_FILTER_ADD))
        self.assertEqual(read_payload("filteradd", ok), FilterAddPayload(b"\x01" * 520))
        bad = payload_bytes(FilterAddPayload(b"\x01" * (MAX_FILTER_ADD + 1)))
        error = self.assertRaises(FormatError, read_payload, "filteradd", bad)
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

    def test_user_agent_cap(self) -> None:
        """
        A user agent of 1024 bytes is accepted and one of 1025 is rejected.
        """
        ok = decode_payload("version", payload_bytes(version("a" * MAX_USER_AGENT)))
        assert isinstance(ok, VersionPayload)
        self.assertEqual(len(ok.user_agent), 1024)
        bad = payload_bytes(version("a" * (MAX_USER_AGENT + 1)))
        error = self.assertRaises(FormatError, decode_payload, "version", bad)
        self.assertEqual(error.offset, 22)

    def test_relay_byte(self) -> None:
        """
        The relay byte reads 00 as false and any non-zero byte as true.
        """
        data = payload_bytes(version(relay=True))
        for byte, relay in ((0, False), (1, True), (2, True), (0xFF, True)):
            parsed = decode_payload("version", data[:-1] + bytes((byte,)))
            assert isinstance(parsed, VersionPayload)
            self.assertIs(parsed.relay, relay)

    def test_missing_relay(self) -> None:
        """
        A version payload without its relay byte is rejected.
        """
        self.assertRaises(FormatError, decode_payload, "version",
                          payload_bytes(version())[:-1])
