"""
Tests for L{neo_twisted.node.policy.Node}: when the node asks peers for headers and
blocks, and what makes C{Node.syncing} (which keeps a validator from proposing) true.
"""

from __future__ import annotations

from neo_twisted.network.payloads import GetBlocksPayload, HeadersPayload, InventoryType, InvPayload
from neo_twisted.wire.uint import ZERO_UINT256
from tests.support.ledger_samples import PRIVNET_GENESIS, headers_of
from tests.support.node_policy_helpers import LONG, UNKNOWN, NodeCase
from tests.support.p2p_fakes import FakePeer


class SyncTests(NodeCase):
    HEADERS = 20

    def test_taller_peer_asked_for_headers(self) -> None:
        """
        A peer above our header height is asked for headers with a locator from our
        header tip; one that is not, is not.
        """
        low = FakePeer("10.0.0.1", 20, nonce=1)
        self.join(low)
        self.assertEqual(low.take("getheaders"), [])
        tall = FakePeer("10.0.0.2", 30, nonce=2)
        self.join(tall)
        self.assertEqual(tall.take("getheaders"),
                         [GetBlocksPayload((*(LONG[i - 1].hash for i in (20, 19, 18, 16, 12, 4)),
                                            PRIVNET_GENESIS.hash), ZERO_UINT256)])
        self.assertEqual(self.connections.named("peer_established"), [(low,), (tall,)])

    def test_blocks_while_headers_come(self) -> None:
        """
        The blocks of verified headers are asked for while later headers are still
        coming: block sync does not wait for the last header (the verifier processes
        check headers while the ledger applies blocks).
        """
        node, _ = self.make_node(0, 0)
        tall = FakePeer("10.0.0.2", 2100, nonce=2)
        self.join(tall, node=node)
        self.assertEqual(len(tall.take("getheaders")), 1)
        node.controller.message_received(
            tall, "headers", HeadersPayload(tuple(headers_of(LONG[:2000]))))
        self.assertEqual(node.header_height, 2000)
        self.assertEqual(len(tall.take("getheaders")), 1)  # the next batch, at once
        self.assertEqual(tall.take("getblocks"),
                         [GetBlocksPayload((PRIVNET_GENESIS.hash,), ZERO_UINT256)])
        node.controller.message_received(tall, "inv", InvPayload(InventoryType.Block,
                                                      tuple(b.hash for b in LONG[:500])))
        self.assertEqual(len(tall.take("getblocks")), 1)  # one at a time: then the next

    def test_stop(self) -> None:
        """
        After C{stop} nobody is asked for headers, blocks or announced items, not even
        when a peer holding a request is lost or a request times out.
        """
        node, _ = self.make_node(20, 0)
        a, b = FakePeer("10.0.0.1", 30, nonce=1), FakePeer("10.0.0.2", 30, nonce=2)
        self.join(a, b, node=node)
        self.assertEqual({c for c, _ in a.sent}, {"getheaders", "getblocks"})
        for peer in (a, b):
            node.controller.message_received(
                peer, "inv", InvPayload(InventoryType.Block, (LONG[3].hash,)))
        self.assertEqual(self.getdata(a), [(LONG[3].hash,)])
        a.take()
        b.take()
        node.stop()
        late = FakePeer("10.0.0.3", 30, nonce=3)
        self.join(late, node=node)
        for peer in (b, late):
            node.controller.message_received(
                peer, "inv", InvPayload(InventoryType.Block, (LONG[4].hash,)))
        node.controller.peer_lost(a, "gone", None)
        self.clock.advance(100)
        node.tick()
        self.assertEqual((b.sent, late.sent), ([], []))


class SyncingGateTests(NodeCase):
    """
    C{Node.syncing} (what keeps a validator from proposing and signing) believes proof,
    not claims (issue 20, attack 2).
    """

    HEADERS = 20
    BLOCKS = 20

    def liar(self, nonce: int = 1) -> FakePeer:
        return FakePeer("10.6.6.6", 0xFFFFFFFF, inbound=True, nonce=nonce)

    def test_claims_prove_nothing(self) -> None:
        """
        A peer claiming height 0xFFFFFFFF (version, ping) and announcing unknown blocks is
        asked for headers, but the node is not syncing for it, before or after the timeout.
        """
        liar = self.liar()
        self.join(liar)
        self.inv(liar, UNKNOWN)
        self.assertEqual(len(liar.take("getheaders")), 1)
        self.assertFalse(self.node.syncing)
        self.clock.advance(30)
        self.assertIsNotNone(liar.dropped)
        self.assertFalse(self.node.syncing)

    def test_verified_headers_ahead(self) -> None:
        """
        Headers whose witnesses were checked past our blocks make the node syncing, until
        their blocks come, or for the gate's limit if nothing comes at all.
        """
        node, _ = self.make_node(20, 18)
        self.assertTrue(node.syncing)
        node.ledger.ledger.add_blocks(LONG[18:19])  # type: ignore[union-attr]
        self.clock.advance(119)
        node.tick()
        self.assertTrue(node.syncing)
        self.clock.advance(1)
        self.assertTrue(node.syncing, "a block came 1 s ago")
        self.clock.advance(120)
        node.tick()
        self.assertFalse(node.syncing, "nothing new for the limit")
        node.ledger.ledger.add_blocks(LONG[19:20])  # type: ignore[union-attr]
        self.assertFalse(node.syncing, "level")

    def test_liar_reconnecting_is_paused(self) -> None:
        """
        A liar dropped for leaving getheaders unanswered is not asked again from its
        address for a while, however often it comes back.
        """
        liar = self.liar(1)
        self.join(liar)
        self.clock.advance(30)
        self.node.controller.peer_lost(liar, "no headers", None)
        for nonce in range(2, 5):
            again = self.liar(nonce)
            self.join(again)
            self.inv(again, UNKNOWN)
            self.assertEqual(again.take("getheaders"), [])
            self.node.controller.peer_lost(again, "gone", None)
            self.clock.advance(5)
