"""
Tests for L{neo_twisted.node.policy.Node}: blocks accepted near the tip are relayed to the
peers that lack them, and served from the relay cache.
"""

from __future__ import annotations

import attrs

from neo_twisted.network.payloads import InventoryType, InvPayload, RawPayload
from tests.support.ledger_samples import PRIVNET_GENESIS
from tests.support.node_policy_helpers import LONG, NodeCase
from tests.support.p2p_fakes import FakePeer


class RelayTests(NodeCase):
    """
    Blocks accepted near the tip are announced to the peers that lack them.
    """

    def setUp(self) -> None:
        super().setUp()
        self.sender, self.plain, self.quiet, self.announcer = (
            FakePeer(f"10.0.0.{i}", nonce=i) for i in (1, 2, 3, 4))
        assert self.quiet.version is not None
        self.quiet.version = attrs.evolve(self.quiet.version, relay=False)
        self.join(self.sender, self.plain, self.quiet, self.announcer)
        self.block = LONG[0]
        self.inv(self.sender, self.block.hash)
        self.inv(self.announcer, self.block.hash)
        self.assertEqual(self.getdata(self.sender), [(self.block.hash,)])
        self.node.controller.message_received(self.sender, "block", self.block)
        self.assertEqual(self.node.block_height, 1)

    def test_relayed_to_peers_that_lack_it(self) -> None:
        """
        Not to the sender, nor to a peer that does not want relays, nor to one that
        announced the block to us.
        """
        self.assertEqual(self.invs(self.plain), [(self.block.hash,)])
        for peer in (self.sender, self.quiet, self.announcer):
            self.assertEqual(self.invs(peer), [], peer)

    def test_not_relayed_twice_within_30_s(self) -> None:
        """
        A block accepted again is not relayed again for 30 s, and never twice to a peer.
        """
        self.invs(self.plain)
        late = FakePeer("10.0.0.5", nonce=5)
        self.join(late)
        self.clock.advance(30)
        self.node._blocks_accepted([self.block], None)
        self.assertEqual((self.invs(late), self.invs(self.plain)), ([], []))
        self.clock.advance(0.5)
        self.node._blocks_accepted([self.block], None)
        self.assertEqual(self.invs(late), [(self.block.hash,)])
        self.assertEqual(self.invs(self.plain), [])

    def test_relayed_block_served(self) -> None:
        """
        getdata for the relayed block gets it (from the relay cache), and a stored block
        from the store, each once per connection.
        """
        self.assertIn(self.block.hash, self.node.relay_cache)
        request = InvPayload(InventoryType.Block, (self.block.hash, PRIVNET_GENESIS.hash))
        self.node.controller.message_received(self.plain, "getdata", request)
        self.node.controller.message_received(self.plain, "getdata", request)
        self.assertEqual(self.plain.take("block"), [RawPayload(self.block.to_bytes()),
                                                    RawPayload(PRIVNET_GENESIS.to_bytes())])


class NearTipTests(NodeCase):
    HEADERS = 150

    def test_only_blocks_near_the_tip_relayed(self) -> None:
        """
        Of blocks persisted through the block path, only those within 100 of the header
        tip are relayed.
        """
        a, b = FakePeer("10.0.0.1", 150, nonce=1), FakePeer("10.0.0.2", 150, nonce=2)
        self.join(a, b)
        for block in LONG[:60]:
            self.node.controller.message_received(a, "block", block)
        self.assertEqual(self.node.block_height, 60)
        relayed = [h for hashes_ in self.invs(b) for h in hashes_]
        self.assertEqual(relayed, [block.hash for block in LONG[49:60]])
        self.assertEqual(self.invs(a), [])

    def test_only_newest_of_a_batch_relayed(self) -> None:
        a, b = FakePeer("10.0.0.1", 150, nonce=1), FakePeer("10.0.0.2", 150, nonce=2)
        self.join(a, b)
        self.node._blocks_accepted(LONG[140:150], a)
        self.assertEqual(self.invs(b), [(LONG[148].hash,), (LONG[149].hash,)])
        self.assertEqual(self.invs(a), [])
