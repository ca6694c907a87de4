"""
Real nodes (policy, connections, ledgers) syncing and relaying over in-memory connections.

Each node is a L{Node} on its own synchronous ledger, with L{PeerFactory} connections
joined by L{twisted.test.iosim}; everything runs on one L{Clock}, and the connections
are pumped until no byte moves.
"""

from __future__ import annotations

from tests.support.iosim_nodes import CHAIN, LENGTH, NetworkCase, Peer


class TwoNodeTests(NetworkCase):
    def setUp(self) -> None:
        super().setUp()
        self.a = Peer(self, self.clock, 1, LENGTH)
        self.b = Peer(self, self.clock, 2)
        self.b_to_a, self.a_from_b = self.dial(self.b, self.a)

    def test_empty_node_syncs_the_whole_chain(self) -> None:
        """
        Dialling a node with a chain is enough to get all its headers and blocks.
        """
        self.assertEqual(self.b_to_a.version.start_height, LENGTH)  # type: ignore[union-attr]
        self.assertEqual(self.a_from_b.version.user_agent, "/node2/")  # type: ignore[union-attr]
        self.assert_same_chain(self.b, self.a, LENGTH)
        self.assertEqual(self.b_to_a.messages_in["block"], LENGTH)
        self.assertEqual(self.b_to_a.messages_out["getheaders"], 1)
        self.assertEqual([c[0] for c in self.a.connections.calls],
                         ["check_version", "peer_established"])
        self.assertEqual(self.a.connections.named("check_version")[0][0], self.a_from_b)

    def test_no_block_fetched_twice(self) -> None:
        """
        Every block is asked for once: the getdata requests add up to the chain.
        """
        self.assertEqual(self.a_from_b.messages_in["getdata"], 3)
        self.assertEqual(self.a_from_b.messages_out["block"], LENGTH)
        self.assertEqual(self.b.node.requests.total_in_flight, 0)

    def test_new_block_relayed(self) -> None:
        """
        A block new to A after the sync is announced to B, which fetches it; it is not
        announced back to the peer that sent it to A.
        """
        announced = self.b_to_a.messages_in.get("inv", 0)
        new = CHAIN[LENGTH]
        miner = self.mine(self.a, new)
        self.settle()
        self.assertEqual(self.b_to_a.messages_in["inv"], announced + 1)
        self.assert_same_chain(self.b, self.a, LENGTH + 1)
        self.assertEqual(miner.take("inv"), [])
        self.assertEqual(self.b.node.requests.total_in_flight, 0)

    def test_synced_nodes_stay_connected(self) -> None:
        """
        Two synced nodes keep their connection through two minutes of ticks and
        keep-alives without a new block.
        """
        for _ in range(24):
            self.clock.advance(5)
            self.a.node.tick()
            self.b.node.tick()
            self.settle()
        self.assertEqual(self.b.connections.named("peer_lost"), [])
        self.assertTrue(self.b_to_a.established and self.a_from_b.established)

    def test_lost_connection_reported_to_both(self) -> None:
        self.b_to_a.disconnect("bye")
        self.settle()
        self.assertEqual(self.b.connections.named("peer_lost"), [(self.b_to_a, "bye", None)])
        [(peer, _, fault)] = self.a.connections.named("peer_lost")
        self.assertEqual((peer, fault), (self.a_from_b, None))
        self.assertEqual((self.a.node.sessions, self.b.node.sessions), ({}, {}))


class ThreeNodeTests(NetworkCase):
    """
    A line A - B - C: C only ever talks to B.
    """

    def setUp(self) -> None:
        super().setUp()
        self.a = Peer(self, self.clock, 1, LENGTH)
        self.b = Peer(self, self.clock, 2)
        self.c = Peer(self, self.clock, 3)

    def test_chain_passes_through_the_middle(self) -> None:
        """
        C dialling B once B has synced gets the whole chain from B.
        """
        self.dial(self.b, self.a)
        c_to_b, _ = self.dial(self.c, self.b)
        self.assert_same_chain(self.c, self.a, LENGTH)
        self.assertEqual(c_to_b.messages_in["block"], LENGTH)

    def test_all_connected_at_once(self) -> None:
        """
        C connected to an empty B before B syncs learns of B's new height from what B
        relays, and ends with the whole chain too.
        """
        outbound, _ = self.dial(self.c, self.b)
        self.assertEqual(outbound.messages_in.get("block"), None)
        self.dial(self.b, self.a)
        self.settle()
        self.assert_same_chain(self.b, self.a, LENGTH)
        self.assert_same_chain(self.c, self.a, LENGTH)

    def test_new_blocks_cross_two_hops(self) -> None:
        """
        Blocks new to A reach C through B, one announcement and one fetch per hop.
        """
        self.dial(self.b, self.a)
        c_to_b, b_from_c = self.dial(self.c, self.b)
        for block in CHAIN[LENGTH:]:
            self.mine(self.a, block)
            self.settle()
        self.assert_same_chain(self.c, self.a, len(CHAIN))
        self.assertEqual(b_from_c.messages_in.get("inv", 0), 0)
        self.assertEqual(b_from_c.messages_in["getdata"] - 3, len(CHAIN) - LENGTH)
        self.assertEqual(c_to_b.messages_in["block"], len(CHAIN))
