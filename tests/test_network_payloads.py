"""
Tests for L{neo_twisted.network.payloads}: P2P payload layouts, caps, the command table,
and the tolerance of L{decode_payload} for what honest NEO 2.x peers send (issue 21).
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
    Transaction,
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
    MAX_INV_READ,
    MAX_USER_AGENT,
    PAYLOAD_READERS,
    PEER_COMMANDS,
    PING_SIZE,
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
    inv_groups,
    payload_bytes,
    read_payload,
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
        An addr payload holds up to 200 entries: 201 are rejected at the count.
        """
        entry = payload_bytes(address())
        ok = decode_payload("addr", encode_var_int(MAX_ADDRESSES) + entry * MAX_ADDRESSES)
        assert isinstance(ok, AddrPayload)
        self.assertEqual(len(ok.addresses), 200)
        too_many = encode_var_int(MAX_ADDRESSES + 1) + entry * (MAX_ADDRESSES + 1)
        error = self.assertRaises(FormatError, decode_payload, "addr", too_many)
        self.assertEqual(error.offset, 0)

    def test_emptyAddr(self) -> None:
        """
        An empty addr (2.8 and neo-go answer getaddr with one) decodes to no addresses,
        for a connection and for tools alike.
        """
        self.assertEqual(decode_payload("addr", b"\x00"), AddrPayload(()))
        self.assertEqual(read_payload("addr", b"\x00"), AddrPayload(()))

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

    def test_stateRootInventory(self) -> None:
        """
        An inv or getdata of state roots decodes with its type and hashes.
        """
        for command in ("inv", "getdata"):
            self.assertEqual(decode_payload(command, b"\x03" + hashes_payload(2)),
                             InvPayload(InventoryType.StateRoot, (h(0), h(1))))

    def test_invOverFiveHundred(self) -> None:
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

    def test_readLimitCoversTheLargestPool(self) -> None:
        """
        The read limit covers 2.8's largest pool (50,000 transactions), and the
        send limit stays the 500 that 2.9+ reads.
        """
        self.assertGreaterEqual(MAX_INV_READ, 50_000)
        self.assertEqual(MAX_INV_HASHES, 500)

    def test_emptyInv(self) -> None:
        """
        An inv or getdata of no hashes decodes (the node ignores it).
        """
        for command in ("inv", "getdata"):
            self.assertEqual(decode_payload(command, b"\x02\x00"),
                             InvPayload(InventoryType.Block, ()))

    def test_invGroupsSplitAtFiveHundred(self) -> None:
        """
        What we send is split in groups of at most 500 hashes, in order, and nothing at
        all is sent for no hashes (neo-go disconnects on an empty inv).
        """
        hashes = [h(i) for i in range(1001)]
        groups = inv_groups(InventoryType.TX, hashes)
        self.assertEqual([len(g.hashes) for g in groups], [500, 500, 1])
        self.assertEqual([x for g in groups for x in g.hashes], hashes)
        self.assertEqual(inv_groups(InventoryType.TX, []), [])

    def test_invCapForTools(self) -> None:
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

    def test_pingIsTwelveBytes(self) -> None:
        """
        A ping is three little-endian uint32s: height, time and nonce.
        """
        data = payload_bytes(PingPayload(1, 2, 3))
        self.assertEqual(data, bytes.fromhex("010000000200000003000000"))
        self.assertEqual(decode_payload("ping", data), PingPayload(1, 2, 3))

    def test_shortPingNotDecoded(self) -> None:
        """
        A ping or pong shorter than 12 bytes (neo-python 0.8 pings with an empty
        payload) is not decoded: the connection ignores it.
        """
        for command in ("ping", "pong"):
            for size in (0, 1, PING_SIZE - 1):
                self.assertIsNone(decode_payload(command, bytes(size)), (command, size))

    def test_longPing(self) -> None:
        """
        A ping or pong longer than 12 bytes decodes from its first 12.
        """
        data = payload_bytes(PingPayload(7, 8, 9)) + b"\xff" * 5
        for command in ("ping", "pong"):
            self.assertEqual(decode_payload(command, data), PingPayload(7, 8, 9))

    def test_shortOrLongPingForTools(self) -> None:
        """
        Read strictly, an empty, 11-byte or 13-byte ping is a FormatError.
        """
        for command in ("ping", "pong"):
            for size in (0, 11, 13):
                self.assertRaises(FormatError, read_payload, command, bytes(size))

    def test_filterLoadFunctions(self) -> None:
        """
        Read by tools, filterload accepts up to 50 hash functions; 51 is rejected at the K byte.
        """
        ok = payload_bytes(FilterLoadPayload(b"\x01\x02", MAX_FILTER_FUNCTIONS, 9))
        self.assertEqual(read_payload("filterload", ok),
                         FilterLoadPayload(b"\x01\x02", 50, 9))
        bad = payload_bytes(FilterLoadPayload(b"\x01\x02", MAX_FILTER_FUNCTIONS + 1, 9))
        error = self.assertRaises(FormatError, read_payload, "filterload", bad)
        self.assertEqual(error.offset, 3)

    def test_filterLoadSize(self) -> None:
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

    def test_filterAddSize(self) -> None:
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
    L{decode_payload} (a connection's reading), L{read_payload} (the tools') and the
    command tables.
    """

    def test_unknownCommands(self) -> None:
        """
        Commands the table does not know, such as alert and reject, decode to None.
        """
        for command in ("alert", "reject", "", "getblocktxn", "Version"):
            self.assertIsNone(decode_payload(command, b"\x01\x02\x03"))
            self.assertIsNone(read_payload(command, b"\x01\x02\x03"))

    def test_commandsTheNodeIgnores(self) -> None:
        """
        Commands the node never acts on are not decoded for a connection, whatever
        their payload: those whose layout we know (notfound, merkleblock, the bloom
        filter commands) and those we do not (2.11's state-root messages, neo-python's
        misspelt address, alert and reject).
        """
        garbage = [b"", b"\x00", b"\xff" * 40, b"\x07" + hashes_payload(3),
                   b"\x01" + hashes_payload(MAX_INV_READ + 1)]
        for command in ("notfound", "merkleblock", "filterload", "filteradd",
                        "filterclear", "alert", "reject", "stateroot", "getroots", "roots",
                        "address"):
            self.assertNotIn(command, PEER_COMMANDS)
            for data in garbage:
                self.assertIsNone(decode_payload(command, data), command)

    def test_peerCommands(self) -> None:
        """
        A connection decodes exactly the commands the handshake, the keep-alive and the
        node act on, all of them in the full table.
        """
        self.assertEqual(PEER_COMMANDS, {
            "version", "verack", "getaddr", "addr", "getheaders", "getblocks", "headers",
            "inv", "getdata", "block", "tx", "consensus", "mempool", "ping", "pong"})
        self.assertLessEqual(PEER_COMMANDS, set(PAYLOAD_READERS))

    def test_trailingBytesIgnored(self) -> None:
        """
        Bytes left over after a well-formed payload of a command a connection decodes
        are ignored, as 2.9+ ignores them: the payload decodes as without them.
        """
        for command, sample in samples().items():
            if command not in PEER_COMMANDS:
                continue
            data = payload_bytes(sample)
            for extra in (b"\x00", b"\xff" * 7, bytes(range(40))):
                decoded = decode_payload(command, data + extra)
                self.assertEqual(decoded, sample, command)
                assert decoded is not None
                self.assertEqual(payload_bytes(decoded), data, command)

    def test_trailingBytesForTools(self) -> None:
        """
        Read strictly, a payload followed by extra bytes is a FormatError at the first
        extra byte.
        """
        for command, sample in samples().items():
            data = payload_bytes(sample)
            error = self.assertRaises(FormatError, read_payload, command, data + b"\x00")
            self.assertEqual(error.offset, len(data), command)

    def test_emptyPayloadCommands(self) -> None:
        """
        verack, getaddr and mempool decode to an empty payload, whatever follows;
        read strictly, they (and filterclear) accept only an empty payload.
        """
        for command in ("verack", "getaddr", "mempool"):
            self.assertEqual(decode_payload(command, b""), EmptyPayload())
            self.assertEqual(decode_payload(command, b"\x00\x01"), EmptyPayload())
        for command in ("verack", "getaddr", "mempool", "filterclear"):
            self.assertEqual(read_payload(command, b""), EmptyPayload())
            self.assertRaises(FormatError, read_payload, command, b"\x00")

    def test_roundTripEachCommand(self) -> None:
        """
        Every command in the full table round-trips a sample payload through its bytes
        read strictly, and every command a connection decodes does so through
        L{decode_payload}.
        """
        table = samples()
        self.assertEqual(set(table), set(PAYLOAD_READERS))
        for command, sample in table.items():
            data = payload_bytes(sample)
            readings = [read_payload(command, data)]
            if command in PEER_COMMANDS:
                readings.append(decode_payload(command, data))
            for decoded in readings:
                self.assertEqual(decoded, sample, command)
                assert decoded is not None
                self.assertEqual(payload_bytes(decoded), data, command)

    def test_truncatedEachCommand(self) -> None:
        """
        Every non-empty sample payload cut by one byte is a FormatError, read strictly
        and by a connection, except a ping or pong, which a connection ignores.
        """
        for command, sample in samples().items():
            data = payload_bytes(sample)
            if not data:
                continue
            self.assertRaises(FormatError, read_payload, command, data[:-1])
            if command in ("ping", "pong"):
                self.assertIsNone(decode_payload(command, data[:-1]))
            elif command in PEER_COMMANDS:
                self.assertRaises(FormatError, decode_payload, command, data[:-1])

    def test_merkleBlockLayout(self) -> None:
        """
        A merkleblock is a header without trailer, then count, hashes and flags.
        """
        sample = MerkleBlockPayload(header(3), 4, (h(7),), b"\x1d")
        data = payload_bytes(sample)
        base = header(3).to_bytes()[:-1]
        self.assertEqual(data, base + b"\x04\x01" + h(7) + b"\x01\x1d")
        self.assertEqual(read_payload("merkleblock", data), sample)


class KeptStrictnessTests(SynchronousTestCase):
    """
    What no honest version sends stays a L{FormatError} for a connection: the
    tolerance of issue 21 stops there.
    """

    def test_malformedVersion(self) -> None:
        """
        A version cut anywhere, or with a user agent over 1024 bytes, is rejected.
        """
        data = payload_bytes(version())
        for end in (0, 4, 21, 30, len(data) - 1):
            self.assertRaises(FormatError, decode_payload, "version", data[:end])
        self.assertRaises(FormatError, decode_payload, "version",
                          payload_bytes(version("a" * (MAX_USER_AGENT + 1))))

    def test_undefinedInventoryType(self) -> None:
        """
        An inv or getdata of an undefined type (0x07, say) is rejected, even empty.
        """
        for command in ("inv", "getdata"):
            self.assertRaises(FormatError, decode_payload, command, b"\x07\x00")
            self.assertRaises(FormatError, decode_payload, command,
                              b"\x07" + hashes_payload(2))

    def test_truncatedHandledPayloads(self) -> None:
        """
        A payload of a command the node handles that ends too soon is rejected: an
        inv whose hashes stop short, a block without its transactions, a tx cut in its
        outputs, a consensus payload without its witness.
        """
        cases = {
            "inv": b"\x01" + hashes_payload(3)[:-1],
            "getdata": b"\x02\xfd\xff",
            "block": payload_bytes(small_block())[:-3],
            "tx": payload_bytes(ContractTransaction(witnesses=(Witness(b"", b"\x51"),)))[:4],
            "consensus": payload_bytes(consensus())[:50],
            "headers": b"\x01" + header().to_bytes()[:-1],
            "addr": b"\x02" + payload_bytes(address()),
        }
        for command, data in cases.items():
            self.assertRaises(FormatError, decode_payload, command, data)

    def test_tooManyHeaders(self) -> None:
        """
        headers with more than 2000 headers is rejected at the count.
        """
        count = MAX_HEADERS + 1
        error = self.assertRaises(FormatError, decode_payload, "headers",
                                  encode_var_int(count) + b"\x00" * (108 * count))
        self.assertEqual(error.offset, 0)

    def test_locatorBounds(self) -> None:
        """
        getblocks and getheaders with no or more than 16 locator hashes are rejected.
        """
        stop = bytes(32)
        for command in ("getblocks", "getheaders"):
            self.assertRaises(FormatError, decode_payload, command, b"\x00" + stop)
            self.assertRaises(FormatError, decode_payload, command,
                              hashes_payload(MAX_HASH_START + 1) + stop)

    def test_tooManyAddresses(self) -> None:
        """
        addr with more than 200 entries is rejected at the count.
        """
        entry = payload_bytes(address())
        error = self.assertRaises(FormatError, decode_payload, "addr",
                                  encode_var_int(MAX_ADDRESSES + 1)
                                  + entry * (MAX_ADDRESSES + 1))
        self.assertEqual(error.offset, 0)


class TrailingBytesIdentityTests(SynchronousTestCase):
    """
    Bytes left over after a transaction, block or consensus payload never reach its
    hash, its size or the bytes it is stored and relayed as.
    """

    GARBAGE = b"\xde\xad\xbe\xef" * 9

    def assertSameIdentity(self, command: str, data: bytes
                           ) -> Block | ConsensusPayload | Transaction:
        """
        C{data} with garbage after it decodes to what C{data} alone decodes to, with the
        same hash, size and bytes.

        @return: the payload decoded with the garbage.
        """
        plain = decode_payload(command, data)
        padded = decode_payload(command, data + self.GARBAGE)
        assert isinstance(plain, (Block, ConsensusPayload, Transaction))
        assert isinstance(padded, (Block, ConsensusPayload, Transaction))
        self.assertEqual(padded, plain)
        self.assertEqual(padded.hash, plain.hash)
        self.assertEqual(padded.to_bytes(), data)
        self.assertEqual(payload_bytes(padded), data)
        self.assertEqual(padded.size, len(data))
        return padded

    def test_transaction(self) -> None:
        """
        A transaction with trailing garbage keeps its id and its bytes.
        """
        tx = ContractTransaction(attributes=(), witnesses=(Witness(b"\x01\x02", b"\x51"),))
        padded = self.assertSameIdentity("tx", tx.to_bytes())
        self.assertEqual(padded.hash, tx.hash)
        assert isinstance(padded, Transaction)
        self.assertEqual(padded.unsigned_bytes(), tx.unsigned_bytes())

    def test_block(self) -> None:
        """
        A block with trailing garbage keeps its hash, its size and its bytes, and so
        does each of its transactions.
        """
        miner = MinerTransaction(nonce=2)
        tx = ContractTransaction(witnesses=(Witness(b"\x01", b"\x51"),))
        head = Header(prev_hash=h(0), merkle_root=merkle_root([miner.hash, tx.hash]),
                      timestamp=1, index=1, consensus_data=1, next_consensus=UInt160())
        block = Block(head, (miner, tx))
        padded = self.assertSameIdentity("block", block.to_bytes())
        assert isinstance(padded, Block)
        self.assertEqual(padded.hash, block.hash)
        for ours, theirs in zip(padded.transactions, block.transactions, strict=True):
            self.assertEqual(ours.hash, theirs.hash)
            self.assertEqual(ours.to_bytes(), theirs.to_bytes())

    def test_consensus(self) -> None:
        """
        A consensus payload with trailing garbage keeps its hash and its bytes.
        """
        payload = consensus()
        padded = self.assertSameIdentity("consensus", payload.to_bytes())
        self.assertEqual(padded.hash, payload.hash)

    def test_headers(self) -> None:
        """
        Headers with trailing garbage keep their hashes.
        """
        data = payload_bytes(HeadersPayload((header(1), header(2))))
        padded = decode_payload("headers", data + self.GARBAGE)
        assert isinstance(padded, HeadersPayload)
        self.assertEqual([x.hash for x in padded.headers], [header(1).hash, header(2).hash])
        self.assertEqual(payload_bytes(padded), data)
