"""
Tests that an established L{neo_twisted.p2p.protocol.PeerProtocol} keeps every honest
NEO 2.x peer (issue 21): each quirk some version sends (C{neo2-versions.md}, sections 5
and 6) arrives as a raw frame, and the connection stays open, nothing is reported
against the peer, and the listener receives what the quirk means (or nothing).

Each test is named after who sends the quirk. The payload rules themselves are in
L{tests.unit.test_network_payloads}.
"""

from __future__ import annotations

from neo_twisted.core import (
    Block,
    ContractTransaction,
    Header,
    MinerTransaction,
    Transaction,
    Witness,
    merkle_root,
)
from neo_twisted.core.consensus import ConsensusPayload
from neo_twisted.crypto.hashes import hash256
from neo_twisted.network.frame import Frame, encode_frame
from neo_twisted.network.payloads import (
    AddrPayload,
    EmptyPayload,
    HeadersPayload,
    InventoryType,
    InvPayload,
    Payload,
    PingPayload,
)
from neo_twisted.p2p.decoding import decode_frame
from neo_twisted.wire.binary import encode_var_int
from neo_twisted.wire.uint import UInt160, UInt256
from tests.support.p2p_protocol_helpers import INV, MAGIC, ProtocolCase, frame


def hashes(count: int, salt: int = 0) -> tuple[UInt256, ...]:
    """
    C{count} distinct hashes.
    """
    return tuple(UInt256(hash256((salt << 32 | i).to_bytes(8, "little")))
                 for i in range(count))


def raw(command: str, payload: bytes) -> bytes:
    """
    One frame of C{command} carrying exactly C{payload}.
    """
    return encode_frame(MAGIC, command, payload)


def state_root(index: int, signed: bool = True) -> bytes:
    """
    A 2.11+ C{StateRoot}: version, index, previous root hash, root, then 0 or 1 witness.
    """
    body = b"\x00" + index.to_bytes(4, "little") + bytes(32) + hash256(index.to_bytes(4, "little"))
    if not signed:
        return body + b"\x00"
    return body + b"\x01" + b"\x41\x40" + bytes(64) + b"\x01\x51"


def block() -> Block:
    """
    A valid block of a MinerTransaction and a ContractTransaction.
    """
    miner = MinerTransaction(nonce=3)
    tx = ContractTransaction(witnesses=(Witness(b"\x01", b"\x51"),))
    head = Header(prev_hash=UInt256(bytes(32)), merkle_root=merkle_root([miner.hash, tx.hash]),
                  timestamp=1, index=1, consensus_data=1, next_consensus=UInt160())
    return Block(head, (miner, tx))


class ToleranceCase(ProtocolCase):
    """
    An established outbound connection, and what its listener heard.
    """

    def setUp(self) -> None:
        super().setUp()
        self.establish()
        self.listener.calls.clear()

    def delivered(self) -> list[tuple[object, ...]]:
        """
        The messages handed to the listener, in order.
        """
        return [call[2:] for call in self.listener.named("message_received")]

    def assert_kept(self) -> None:
        """
        The peer is still connected and established, and was not dropped.
        """
        self.assertTrue(self.transport.connected)
        self.assertFalse(self.transport.disconnected)
        self.assertTrue(self.protocol.established)
        self.assertFalse(self.protocol.disconnecting)
        self.assertEqual(self.listener.named("peer_lost"), [])

    def assert_decoded_as(self, data: bytes, *expected: tuple[str, Payload]) -> None:
        """
        C{data} is delivered as C{expected}, nothing is held against the peer, and it
        stays; no answer goes out.
        """
        self.receive(data)
        self.assert_kept()
        self.assertEqual(self.delivered(), list(expected))
        self.assertEqual(self.listener.named("fault_ignored"), [])
        self.assertEqual(self.sent(), [])

    def assert_ignored(self, data: bytes) -> None:
        """
        C{data} reaches nobody and costs the peer nothing: it stays, and what follows
        it is still handled.
        """
        self.listener.calls.clear()
        self.receive(data + frame("inv", INV))
        self.assert_kept()
        self.assertEqual(self.delivered(), [("inv", INV)])
        self.assertEqual(self.sent(), [])


class Neo28Tests(ToleranceCase):
    """
    2.7 / 2.8 (pre-Akka): empty lists, and inventories of more than 500 hashes.
    """

    def test_neo28_empty_addr(self) -> None:
        """
        2.8 answers C{getaddr} with an empty C{addr} when it knows nobody.
        """
        self.assert_decoded_as(raw("addr", b"\x00"), ("addr", AddrPayload(())))

    def test_neo28_empty_headers(self) -> None:
        """
        2.8 answers C{getheaders} with an empty C{headers} when it has none after ours.
        """
        self.assert_decoded_as(raw("headers", b"\x00"), ("headers", HeadersPayload(())))

    def test_neo28_inv_of_1000_hashes(self) -> None:
        """
        2.8 relays each verified batch of transactions in one C{inv}.
        """
        inv = InvPayload(InventoryType.TX, hashes(1000))
        self.assert_decoded_as(frame("inv", inv), ("inv", inv))

    def test_neo28_mempool_answer_of_50000_hashes(self) -> None:
        """
        2.8 answers C{mempool} with one C{inv} of its whole pool, up to 50,000.
        """
        inv = InvPayload(InventoryType.TX, hashes(50_000))
        self.assert_decoded_as(frame("inv", inv), ("inv", inv))

    def test_neo28_getdata_of_1000_hashes(self) -> None:
        """
        2.8 asks for every unknown hash of a big C{inv} in one C{getdata}.
        """
        getdata = InvPayload(InventoryType.TX, hashes(1000))
        self.assert_decoded_as(frame("getdata", getdata), ("getdata", getdata))

    def test_neo28_big_inv_decoded_off_the_reactor(self) -> None:
        """
        A big C{inv} decoded in the decoder's threads (L{decode_frame}) is read the same.
        """
        inv = InvPayload(InventoryType.TX, hashes(1000))
        data = inv.to_bytes()
        self.assertEqual(decode_frame(Frame("inv", data, hash256(data)[:4])), inv)

    def test_neo28_batch_of_empty_lists(self) -> None:
        """
        Empty C{inv} and C{getdata} (ignored by every C# version) are delivered, for the
        node to ignore, in order with what follows.
        """
        empty_tx = InvPayload(InventoryType.TX, ())
        empty_block = InvPayload(InventoryType.Block, ())
        self.assert_decoded_as(frame("inv", empty_tx) + frame("getdata", empty_block)
                               + frame("inv", INV),
                               ("inv", empty_tx), ("getdata", empty_block), ("inv", INV))


class Neo210Tests(ToleranceCase):
    """
    2.10.1+: C{ping}/C{pong} of 12 bytes.
    """

    def test_neo210_ping(self) -> None:
        """
        A 12-byte ping is answered with our height, and its nonce.
        """
        self.receive(frame("ping", PingPayload(5000, 1_600_000_000, 4242)))
        self.assert_kept()
        [(command, pong)] = self.sent()
        self.assertEqual(command, "pong")
        assert isinstance(pong, PingPayload)
        self.assertEqual((pong.last_block_index, pong.nonce), (self.listener.height, 4242))
        self.assertEqual(self.protocol.last_block_index, 5000)

    def test_neogo_pong_with_its_own_nonce(self) -> None:
        """
        neo-go answers a ping with its own nonce: its height is still taken.
        """
        self.receive(frame("pong", PingPayload(4000, 1_600_000_000, 123456)))
        self.assert_kept()
        self.assertEqual(self.protocol.last_block_index, 4000)
        self.assertEqual(self.sent(), [])


class Neo212Tests(ToleranceCase):
    """
    2.11 / 2.12: state roots (the versions mainnet ended on).
    """

    def test_neo212_inv_of_state_roots(self) -> None:
        """
        An C{inv} of type 0x03 is delivered as such, for the node to ignore.
        """
        inv = InvPayload(InventoryType.StateRoot, hashes(3))
        self.assert_decoded_as(raw("inv", b"\x03" + encode_var_int(3) + b"".join(inv.hashes)),
                               ("inv", inv))

    def test_neo212_getdata_of_state_roots(self) -> None:
        """
        A C{getdata} of type 0x03 (what a 2.11+ node sends back for such an C{inv}).
        """
        getdata = InvPayload(InventoryType.StateRoot, hashes(2))
        self.assert_decoded_as(frame("getdata", getdata), ("getdata", getdata))

    def test_neo212_stateroot_push(self) -> None:
        """
        2.11+ pushes each signed state root, unasked, as a C{stateroot} message.
        """
        self.assert_ignored(raw("stateroot", state_root(6_016_000)))

    def test_neo212_getroots(self) -> None:
        """
        2.12 broadcasts C{getroots} (start, count) to every peer while its roots lag.
        """
        self.assert_ignored(raw("getroots", (6_016_000).to_bytes(4, "little")
                                + (200).to_bytes(4, "little")))

    def test_neo212_roots(self) -> None:
        """
        C{roots}, a reply we never asked for, is ignored.
        """
        self.assert_ignored(raw("roots", b"\x02" + state_root(1) + state_root(2, False)))

    def test_neo212_long_ping(self) -> None:
        """
        A ping longer than 12 bytes is read from its first 12 and answered.
        """
        self.receive(raw("ping", PingPayload(10, 20, 30).to_bytes() + b"\x00" * 4))
        self.assert_kept()
        self.assertEqual([command for command, _ in self.sent()], ["pong"])
        self.assertEqual(self.protocol.last_block_index, 1000)  # from its version


class NeoGoTests(ToleranceCase):
    """
    neo-go 0.78: empty C{addr} and C{roots}, and the state-root messages.
    """

    def test_neogo_empty_addr(self) -> None:
        """
        neo-go answers C{getaddr} with an empty C{addr} when it knows nobody.
        """
        self.assert_decoded_as(raw("addr", b"\x00"), ("addr", AddrPayload(())))

    def test_neogo_empty_roots(self) -> None:
        """
        neo-go answers C{getroots} with an empty C{roots}.
        """
        self.assert_ignored(raw("roots", b"\x00"))


class NeoPythonTests(ToleranceCase):
    """
    neo-python 0.8 / 0.9.
    """

    def test_neopython_empty_ping(self) -> None:
        """
        neo-python 0.8 pings with an empty payload: not answered, not held against it.
        """
        self.assert_ignored(raw("ping", b""))
        self.assertEqual(self.protocol.last_block_index, 1000)

    def test_neopython_short_pong(self) -> None:
        """
        A pong shorter than 12 bytes is ignored alike.
        """
        self.assert_ignored(raw("pong", bytes(11)))

    def test_neopython_address_command(self) -> None:
        """
        neo-python 0.9.1 answers C{getaddr} with the misspelt C{address}.
        """
        self.assert_ignored(raw("address", b"\x01" + bytes(30)))

    def test_neopython_twelve_byte_ping(self) -> None:
        """
        neo-python 0.9.1 pings with 12 bytes: answered as any ping.
        """
        self.receive(frame("ping", PingPayload(1, 2, 3)))
        self.assert_kept()
        self.assertEqual([command for command, _ in self.sent()], ["pong"])


class ForeignSoftwareTests(ToleranceCase):
    """
    Commands the node never acts on, from foreign or SPV software, with payloads we
    would fail to parse: none is decoded, none drops the peer.
    """

    def test_foreign_notfound(self) -> None:
        """
        C{notfound} of an undefined type, or of more hashes than we read.
        """
        self.assert_ignored(raw("notfound", b"\x07\x01" + bytes(32)))
        self.assert_ignored(raw("notfound", b"\x01\xfe" + (0x20000).to_bytes(4, "little")))

    def test_foreign_merkleblock(self) -> None:
        """
        A C{merkleblock} cut short.
        """
        self.assert_ignored(raw("merkleblock", bytes(50)))

    def test_wallet_bloom_filters(self) -> None:
        """
        C{filterload} over its limits, C{filteradd} cut short, C{filterclear} with a
        payload: we serve no SPV wallet.
        """
        self.assert_ignored(raw("filterload", b"\xfd\xff\xff" + bytes(10)))
        self.assert_ignored(raw("filteradd", b"\x10\x01"))
        self.assert_ignored(raw("filterclear", b"\x00"))

    def test_foreign_alert_and_reject(self) -> None:
        """
        C{alert} and C{reject}, any bytes.
        """
        self.assert_ignored(raw("alert", b"\x01\x02\x03"))
        self.assert_ignored(raw("reject", b"\xff" * 40))


class TrailingBytesTests(ToleranceCase):
    """
    Bytes left over after a well-formed payload, inside the frame's length, as every
    version ignores them.
    """

    GARBAGE = b"\x00\xffleftover"

    def test_trailing_bytes(self) -> None:
        """
        An C{inv}, an C{addr} and a C{getaddr} with bytes after them are delivered as
        without them.
        """
        addr = AddrPayload(())
        self.assert_decoded_as(
            raw("inv", INV.to_bytes() + self.GARBAGE) + raw("addr", b"\x00" + self.GARBAGE)
            + raw("getaddr", self.GARBAGE),
            ("inv", INV), ("addr", addr), ("getaddr", EmptyPayload()))

    def test_trailing_bytes_keep_identities(self) -> None:
        """
        A transaction, a block and a consensus payload with bytes after them are
        delivered with the hash and the bytes they have without them.
        """
        full = block()
        tx = full.transactions[1]
        payload = ConsensusPayload(prev_hash=UInt256(bytes(32)), block_index=2,
                                   validator_index=1, timestamp=5, data=b"\x00\x00\x01",
                                   witness=Witness(b"\x40" + bytes(64), b"\x51"))
        self.receive(raw("tx", tx.to_bytes() + self.GARBAGE)
                     + raw("block", full.to_bytes() + self.GARBAGE)
                     + raw("consensus", payload.to_bytes() + self.GARBAGE))
        self.assert_kept()
        got = self.delivered()
        self.assertEqual([command for command, _ in got], ["tx", "block", "consensus"])
        originals: tuple[Transaction | Block | ConsensusPayload, ...] = (tx, full, payload)
        for (_, decoded), original in zip(got, originals, strict=True):
            assert isinstance(decoded, (Transaction, Block, ConsensusPayload))
            self.assertEqual(decoded, original)
            self.assertEqual(decoded.hash, original.hash)
            self.assertEqual(decoded.to_bytes(), original.to_bytes())

    def test_trailing_bytes_after_ping(self) -> None:
        """
        A ping with bytes after its 12 is answered once.
        """
        self.receive(raw("ping", PingPayload(1, 2, 3).to_bytes() + self.GARBAGE))
        self.assert_kept()
        self.assertEqual([command for command, _ in self.sent()], ["pong"])


class KeptStrictnessTests(ToleranceCase):
    """
    What no honest version sends still ends the connection.
    """

    def assert_not_kept(self, data: bytes, reason: str) -> None:
        self.receive(data)
        self.assertFalse(self.transport.connected)
        [lost] = self.listener.named("peer_lost")
        self.assertTrue(str(lost[2]).startswith(reason), lost)
        self.assertEqual(self.delivered(), [])

    def test_undefined_inventory_type(self) -> None:
        """
        An C{inv} of type 0x07, which every C# version aborts on.
        """
        self.assert_not_kept(raw("inv", b"\x07\x01" + bytes(32)), "bad inv payload")

    def test_truncated_inv(self) -> None:
        """
        An C{inv} whose hashes stop short.
        """
        self.assert_not_kept(raw("inv", b"\x01\x02" + bytes(40)), "bad inv payload")

    def test_too_many_addresses(self) -> None:
        """
        An C{addr} of 201 entries.
        """
        self.assert_not_kept(raw("addr", b"\xc9" + bytes(30 * 201)), "bad addr payload")

