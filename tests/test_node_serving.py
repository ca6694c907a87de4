"""
Tests for L{neo_twisted.node.serving.Server}: what peers get for getheaders, getblocks, getdata.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.serializable import Serializable
from neo_twisted.network.payloads import (
    GetBlocksPayload,
    HeadersPayload,
    InventoryType,
    InvPayload,
    RawPayload,
    decode_payload,
)
from neo_twisted.node.serving import Server
from neo_twisted.wire.uint import ZERO_UINT256, UInt256
from tests.ledger_samples import PRIVNET_GENESIS, headers_of, make_blocks
from tests.p2p_fakes import FakePeer, ledger_service

LONG = make_blocks(PRIVNET_GENESIS.header, 2100, sign=False)
UNKNOWN = UInt256(b"\x07" * 32)


class ServerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.ledger = ledger_service(self)
        ledger = self.ledger.ledger
        self.assertEqual(ledger.add_headers(headers_of(LONG)).added, 2100)
        ledger.add_blocks(LONG[:600])
        self.memory: dict[UInt256, Serializable] = {}
        self.server = Server(self.ledger, lambda kind, h: self.memory.get(h))
        self.peer = FakePeer(height=0)
        self.served: set[UInt256] = set()

    def first_time(self, hash_: UInt256) -> bool:
        if hash_ in self.served:
            return False
        self.served.add(hash_)
        return True

    def sent(self) -> list[tuple[str, bytes]]:
        found = [(c, p.to_bytes() if p is not None else b"") for c, p in self.peer.sent]
        self.peer.sent = []
        return found

    def test_getheaders_from_first_start(self) -> None:
        """
        2000 headers follow the first start hash (later ones are ignored), as a valid
        C{headers} message.
        """
        request = GetBlocksPayload((PRIVNET_GENESIS.hash, LONG[5].hash), ZERO_UINT256)
        self.successResultOf(self.server.getheaders(self.peer, request))
        [(command, raw)] = self.sent()
        self.assertEqual(command, "headers")
        decoded = decode_payload("headers", raw)
        assert isinstance(decoded, HeadersPayload)
        self.assertEqual(list(decoded.headers), headers_of(LONG[:2000]))

    def test_getheaders_stop_and_nothing(self) -> None:
        """
        The stop hash ends the answer; an unknown start, or nothing after it, gets no reply.
        """
        request = GetBlocksPayload((LONG[9].hash,), LONG[13].hash)
        self.successResultOf(self.server.getheaders(self.peer, request))
        [(_, raw)] = self.sent()
        decoded = decode_payload("headers", raw)
        assert isinstance(decoded, HeadersPayload)
        self.assertEqual([h.index for h in decoded.headers], [11, 12, 13])
        for start in (UNKNOWN, LONG[-1].hash):
            self.successResultOf(self.server.getheaders(self.peer, GetBlocksPayload((start,))))
            self.assertEqual(self.sent(), [])

    def test_getblocks_never_above_block_height(self) -> None:
        """
        Block hashes stop at our block height (600) although headers go further.
        """
        request = GetBlocksPayload((LONG[299].hash,))
        self.successResultOf(self.server.getblocks(self.peer, request))
        [(command, raw)] = self.sent()
        self.assertEqual(command, "inv")
        self.assertEqual(decode_payload("inv", raw),
                         InvPayload(InventoryType.Block, tuple(b.hash for b in LONG[300:600])))
        self.successResultOf(self.server.getblocks(self.peer, GetBlocksPayload((LONG[599].hash,))))
        self.assertEqual(self.sent(), [])

    def test_getdata_blocks_once_per_connection(self) -> None:
        """
        Blocks come from the store as they travel; each at most once per connection;
        unknown and not yet persisted ones are skipped.
        """
        hashes = (LONG[0].hash, UNKNOWN, LONG[700].hash, LONG[1].hash, LONG[0].hash)
        self.successResultOf(self.server.getdata(
            self.peer, InvPayload(InventoryType.Block, hashes), self.first_time))
        self.assertEqual(self.sent(), [("block", LONG[0].to_bytes()),
                                       ("block", LONG[1].to_bytes())])
        self.successResultOf(self.server.getdata(
            self.peer, InvPayload(InventoryType.Block, (LONG[1].hash,)), self.first_time))
        self.assertEqual(self.sent(), [])

    def test_getdata_from_memory_first(self) -> None:
        """
        Items in memory (relay cache, pool) are served before the store is asked.
        """
        self.memory[LONG[2].hash] = RawPayload(b"cached")
        self.memory[UNKNOWN] = RawPayload(b"tx bytes")
        self.successResultOf(self.server.getdata(
            self.peer, InvPayload(InventoryType.Block, (LONG[2].hash,)), self.first_time))
        self.successResultOf(self.server.getdata(
            self.peer, InvPayload(InventoryType.TX, (UNKNOWN, LONG[3].hash)), self.first_time))
        self.assertEqual(self.sent(), [("block", b"cached"), ("tx", b"tx bytes")])

    def test_getdata_confirmed_transaction_from_the_store(self) -> None:
        """
        A transaction no longer in memory but in a block is served from the store (a
        peer may ask for one announced from a pool just before a block took it); one
        in no block is not, and neither is one past our block height.
        """
        confirmed = LONG[5].transactions[0]
        unstored = LONG[700].transactions[0]
        self.successResultOf(self.server.getdata(
            self.peer, InvPayload(InventoryType.TX, (confirmed.hash, unstored.hash, UNKNOWN)),
            self.first_time))
        self.assertEqual(self.sent(), [("tx", confirmed.to_bytes())])

    def test_nothing_sent_once_the_peer_is_gone(self) -> None:
        """
        A reply read after the connection went away is dropped, not sent.
        """
        self.peer.established = False
        self.successResultOf(self.server.getblocks(self.peer, GetBlocksPayload((LONG[0].hash,))))
        self.assertEqual(self.peer.sent, [])
