"""
The Prometheus endpoint of a real node, and the traffic totals behind it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import TestCase

from neo_twisted.p2p.controller import PeerController
from neo_twisted.p2p.factory import PeerFactory
from neo_twisted.p2p.traffic import Traffic
from tests.support.metrics_scrape import fetch, scrape
from tests.support.node_cluster import Cluster, heights, wait_until
from tests.support.p2p_protocol_helpers import HANDSHAKE, MAGIC, RecordingListener, frame

CHAIN = 300


class MetricsEndpointTests(TestCase):
    timeout = 120

    @defer.inlineCallbacks
    def test_metrics_served_and_moving_with_blocks(
            self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Every listed metric is served, in Prometheus' text format; the heights,
        the block traffic and the peer gauge move as a sync brings blocks.
        """
        cluster = Cluster(self)
        a = cluster.start("a", chain=CHAIN, min_peers=1, max_peers=2)
        b = cluster.start("b", seeds=[a], min_peers=1, max_peers=2, metrics_port=0)
        assert b.metrics is not None and b.metrics.port is not None
        status, content_type, _ = yield fetch(b.metrics.port)
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain; version="), content_type)
        before = yield scrape(b)
        self.assertEqual(before[("neo_block_height", ())], 0)
        for name in ("neo_header_height", "neo_sync_target_height",
                     "neo_persisted_blocks_per_second", "neo_inventory_requested",
                     "neo_block_sync_segments", "neo_block_sync_buffered",
                     "neo_mempool_transactions", "neo_mempool_verifying",
                     "neo_mempool_verify_seconds_count", "neo_mempool_verify_seconds_sum"):
            self.assertIn((name, ()), before, name)
        self.assertIn(("neo_peers", (("direction", "in"),)), before)
        yield wait_until(lambda: heights(b) == (CHAIN, CHAIN), "B to sync")
        after = yield scrape(b)
        self.assertEqual(after[("neo_block_height", ())], CHAIN)
        self.assertEqual(after[("neo_header_height", ())], CHAIN)
        self.assertEqual(after[("neo_peers", (("direction", "out"),))], 1)
        blocks_in = after[("neo_p2p_messages_total", (("command", "block"),
                                                      ("direction", "in")))]
        self.assertGreaterEqual(blocks_in, CHAIN)
        bytes_in = after[("neo_p2p_bytes_total", (("command", "block"), ("direction", "in")))]
        self.assertGreater(bytes_in, blocks_in * 24)
        self.assertGreaterEqual(after[("neo_p2p_messages_total", (("command", "getdata"),
                                                                  ("direction", "out")))], 1)

    @defer.inlineCallbacks
    def test_other_paths(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        C{/} points at C{/metrics}; anything else is a 404.
        """
        cluster = Cluster(self)
        b = cluster.start("b", metrics_port=0)
        assert b.metrics is not None and b.metrics.port is not None
        status, _, body = yield fetch(b.metrics.port, "/")
        self.assertEqual((status, body), (200, "neo_twisted: the metrics are at /metrics\n"))
        status, _, _ = yield fetch(b.metrics.port, "/nothing")
        self.assertEqual(status, 404)

    def test_no_endpoint_by_default(self) -> None:
        cluster = Cluster(self)
        b = cluster.start("b")
        self.assertIsNone(b.metrics)
        self.assertNotIn("metrics", b.namedServices)


class TrafficTests(TestCase):
    def test_lost_connections_still_counted(self) -> None:
        """
        The controller's totals keep a lost connection's messages and bytes, so the
        counters never go backwards.
        """
        controller = PeerController(reactor)
        factory = PeerFactory(controller, 0x1234, reactor, inbound=False)
        first = factory.buildProtocol(None)
        first.makeConnection(StringTransport())
        sent_version = first.bytes_out["version"]
        self.assertEqual(controller.traffic().messages_out["version"], 1)
        first.connectionLost()
        second = factory.buildProtocol(None)
        second.makeConnection(StringTransport())
        total = controller.traffic()
        self.assertEqual(total.messages_out["version"], 2)
        self.assertEqual(total.bytes_out["version"], 2 * sent_version)
        second.connectionLost()
        first.connectionLost()  # reported twice: counted once
        controller.peer_lost(first, "again", None)
        self.assertEqual(controller.traffic().messages_out["version"], 2)

    def test_totals_of_totals(self) -> None:
        """
        A total takes other totals as it takes connections (the collector sums factories).
        """
        a, b = Traffic(), Traffic()
        a.messages_in["inv"] = 2
        b.messages_in["inv"] = 3
        b.bytes_out["block"] = 100
        total = a.plus([b])
        self.assertEqual((total.messages_in["inv"], total.bytes_out["block"]), (5, 100))
        self.assertEqual(a.messages_in["inv"], 2)  # the parts are left alone

    def test_made_up_commands_counted_as_other(self) -> None:
        """
        A peer sending commands by the thousand gets them counted as one label, C{other}:
        it can neither grow our counters nor mint metric labels.
        """
        listener = RecordingListener()
        factory = PeerFactory(listener, MAGIC, reactor, inbound=True)
        peer = factory.buildProtocol(None)
        peer.makeConnection(StringTransport())
        peer.dataReceived(HANDSHAKE)
        self.assertTrue(peer.established)
        peer.dataReceived(b"".join(frame(f"x{n}") for n in range(1000)) + frame("stateroot"))
        self.assertEqual(peer.messages_in, {"version": 1, "verack": 1, "other": 1000,
                                            "stateroot": 1})
        self.assertTrue(peer.established)
        self.assertEqual(len(listener.named("fault_ignored")), 1001)
        peer.connectionLost()
