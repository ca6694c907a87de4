"""
End-to-end tests: real nodes over loopback TCP sync headers and blocks, find each
other through C{getaddr}/C{addr}, and keep C{peers.dat}.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from neo_twisted.p2p.addresses import load_peers
from neo_twisted.p2p.interfaces import Endpoint
from tests.support.node_cluster import CHAIN_LENGTH, Cluster, heights, peer_ports, wait_until


class SyncTests(TestCase):
    timeout = 240

    def same_chain(self, a: object, b: object, upto: int) -> None:
        """
        Two nodes hold the same block hashes at a spread of heights up to C{upto}.
        """
        for index in (0, 1, upto // 3, upto // 2, upto - 1, upto):
            self.assertEqual(a.node.ledger.ledger.get_block_hash(index),  # type: ignore
                             b.node.ledger.ledger.get_block_hash(index),  # type: ignore
                             f"block {index} differs")

    @defer.inlineCallbacks
    def test_sync_through_a_chain_of_nodes(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        B syncs A's headers and blocks; C, connected only to B, gets them from B.
        """
        cluster = Cluster(self)
        a = cluster.start("a", chain=CHAIN_LENGTH, max_peers=1, min_peers=1)
        self.assertEqual(heights(a), (CHAIN_LENGTH, CHAIN_LENGTH))
        b = cluster.start("b", seeds=[a], min_peers=1, max_peers=3)
        c = cluster.start("c", seeds=[b], min_peers=1, max_peers=1)
        done = (CHAIN_LENGTH, CHAIN_LENGTH)
        yield wait_until(lambda: heights(b) == done, "B to sync from A")
        yield wait_until(lambda: heights(c) == done, "C to sync from B")
        self.same_chain(a, b, CHAIN_LENGTH)
        self.same_chain(a, c, CHAIN_LENGTH)
        self.assertEqual(peer_ports(c), {b.node.connections.listening_port})
        self.assertEqual(peer_ports(a), {b.node.connections.listening_port})

    @defer.inlineCallbacks
    def test_restart_mid_sync_resumes(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        A node stopped while syncing keeps what it committed and finishes after a restart.
        """
        cluster = Cluster(self)
        a = cluster.start("a", chain=CHAIN_LENGTH, min_peers=1)
        b = cluster.start("b", seeds=[a], min_peers=1)
        yield wait_until(lambda: heights(b)[1] >= 300, "B to pass block 300")
        yield cluster.stop("b")
        # what the stopped node committed, read from its store as the next start finds it
        b = cluster.start("b", seeds=[a], min_peers=1)
        headers_at_stop, blocks_at_stop = heights(b)
        self.assertGreaterEqual(blocks_at_stop, 300)
        self.assertGreaterEqual(headers_at_stop, blocks_at_stop)
        yield wait_until(lambda: heights(b) == (CHAIN_LENGTH, CHAIN_LENGTH),
                         "B to finish after its restart")
        self.same_chain(a, b, CHAIN_LENGTH)


class AddressTests(TestCase):
    timeout = 120

    @defer.inlineCallbacks
    def test_six_nodes_learn_each_other(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Five nodes that know only one seed node end up connected to one another.
        """
        cluster = Cluster(self)
        seed = cluster.start("seed", min_peers=5)
        others = [cluster.start(f"n{i}", seeds=[seed], min_peers=5) for i in range(5)]
        everyone = [seed, *others]
        ports = {node.node.connections.listening_port for node in everyone}

        def all_meshed() -> bool:
            return all(peer_ports(node) == ports - {node.node.connections.listening_port}
                       for node in everyone)

        yield wait_until(all_meshed, "every node to be connected to the five others",
                         describe=lambda: "; ".join(
                             f"{node.node.connections.listening_port}: {sorted(peer_ports(node))}"
                             for node in everyone))
        self.assertEqual(len(ports), 6)

    @defer.inlineCallbacks
    def test_peers_file_used_on_next_start(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        peers.dat written on stop holds the peer's endpoint; the next start dials it
        without any seed.
        """
        cluster = Cluster(self)
        a = cluster.start("a", min_peers=1)
        b = cluster.start("b", seeds=[a], min_peers=1)
        port = a.node.connections.listening_port
        assert port is not None
        yield wait_until(lambda: peer_ports(b) == {port}, "B to connect to A")
        yield cluster.stop("b")
        saved = load_peers(cluster.datadirs["b"] / "peers.dat")
        self.assertIn(Endpoint("127.0.0.1", port), saved)
        b = cluster.start("b", seeds=[], min_peers=1)
        yield wait_until(lambda: peer_ports(b) == {port}, "B to reconnect from peers.dat")
