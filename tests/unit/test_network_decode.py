"""
Tests for L{neo_twisted.network.payloads.decode_payload} and
L{neo_twisted.network.payloads.read_payload}: the command tables, the tolerance for what
honest NEO 2.x peers send (issue 21), the strictness kept beyond it, and trailing bytes
that never reach a payload's identity.
"""

from __future__ import annotations

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
from neo_twisted.network.payloads import (
    MAX_ADDRESSES,
    MAX_HASH_START,
    MAX_HEADERS,
    MAX_INV_READ,
    MAX_USER_AGENT,
    PAYLOAD_READERS,
    PEER_COMMANDS,
    EmptyPayload,
    HeadersPayload,
    MerkleBlockPayload,
    decode_payload,
    payload_bytes,
    read_payload,
)
from neo_twisted.wire.binary import encode_var_int
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160
from tests.support.payload_samples import (
    address,
    consensus,
    h,
    hashes_payload,
    header,
    samples,
    small_block,
    version,
)


class DecodePayloadTests(SynchronousTestCase):
    """
    L{decode_payload} (a connection's reading), L{read_payload} (the tools') and the
    command tables.
    """

    def test_unknown_commands(self) -> None:
        """
        Commands the table does not know, such as alert and reject, decode to None.
        """
        for command in ("alert", "reject", "", "getblocktxn", "Version"):
            self.assertIsNone(decode_payload(command, b"\x01\x02\x03"))
            self.assertIsNone(read_payload(command, b"\x01\x02\x03"))

    def test_commands_the_node_ignores(self) -> None:
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

    def test_peer_commands(self) -> None:
        """
        A connection decodes exactly the commands the handshake, the keep-alive and the
        node act on, all of them in the full table.
        """
        self.assertEqual(PEER_COMMANDS, {
            "version", "verack", "getaddr", "addr", "getheaders", "getblocks", "headers",
            "inv", "getdata", "block", "tx", "consensus", "mempool", "ping", "pong"})
        self.assertLessEqual(PEER_COMMANDS, set(PAYLOAD_READERS))

    def test_trailing_bytes_ignored(self) -> None:
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

    def test_trailing_bytes_for_tools(self) -> None:
        """
        Read strictly, a payload followed by extra bytes is a FormatError at the first
        extra byte.
        """
        for command, sample in samples().items():
            data = payload_bytes(sample)
            error = self.assertRaises(FormatError, read_payload, command, data + b"\x00")
            self.assertEqual(error.offset, len(data), command)

    def test_empty_payload_commands(self) -> None:
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

    def test_round_trip_each_command(self) -> None:
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

    def test_truncated_each_command(self) -> None:
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

    def test_merkle_block_layout(self) -> None:
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

    def test_malformed_version(self) -> None:
        """
        A version cut anywhere, or with a user agent over 1024 bytes, is rejected.
        """
        data = payload_bytes(version())
        for end in (0, 4, 21, 30, len(data) - 1):
            self.assertRaises(FormatError, decode_payload, "version", data[:end])
        self.assertRaises(FormatError, decode_payload, "version",
                          payload_bytes(version("a" * (MAX_USER_AGENT + 1))))

    def test_undefined_inventory_type(self) -> None:
        """
        An inv or getdata of an undefined type (0x07, say) is rejected, even empty.
        """
        for command in ("inv", "getdata"):
            self.assertRaises(FormatError, decode_payload, command, b"\x07\x00")
            self.assertRaises(FormatError, decode_payload, command,
                              b"\x07" + hashes_payload(2))

    def test_truncated_handled_payloads(self) -> None:
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

    def test_too_many_headers(self) -> None:
        """
        headers with more than 2000 headers is rejected at the count.
        """
        count = MAX_HEADERS + 1
        error = self.assertRaises(FormatError, decode_payload, "headers",
                                  encode_var_int(count) + b"\x00" * (108 * count))
        self.assertEqual(error.offset, 0)

    def test_locator_bounds(self) -> None:
        """
        getblocks and getheaders with no or more than 16 locator hashes are rejected.
        """
        stop = bytes(32)
        for command in ("getblocks", "getheaders"):
            self.assertRaises(FormatError, decode_payload, command, b"\x00" + stop)
            self.assertRaises(FormatError, decode_payload, command,
                              hashes_payload(MAX_HASH_START + 1) + stop)

    def test_too_many_addresses(self) -> None:
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

    def assert_same_identity(self, command: str, data: bytes
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
        padded = self.assert_same_identity("tx", tx.to_bytes())
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
        padded = self.assert_same_identity("block", block.to_bytes())
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
        padded = self.assert_same_identity("consensus", payload.to_bytes())
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
