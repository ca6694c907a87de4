"""
The metrics of a real node (L{neo_twisted.metrics}) on its page: the RPC calls it answered
and the process's own figures, read over HTTP. The figures themselves are in
L{tests.unit.test_metrics_node}.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from tests.support.metrics_scrape import scrape
from tests.support.node_cluster import Cluster
from tests.support.rpc_client import rpc_call


class EndpointTests(TestCase):
    """
    A real node with both listeners: what its RPC answered is on its metrics page.
    """

    timeout = 60

    @defer.inlineCallbacks
    def test_rpc_calls_and_process_on_the_page(self) -> Generator[defer.Deferred[Any], Any, None]:
        node = Cluster(self).start("a", rpc_port=0, metrics_port=0)
        assert node.rpc is not None and node.rpc.port is not None
        answer = yield rpc_call(node.rpc.port, "getblockcount")
        self.assertEqual(answer["result"], 1)
        yield rpc_call(node.rpc.port, "no_such_method")
        samples = yield scrape(node)
        self.assertEqual(samples[("neo_rpc_requests_total",
                                  (("code", "ok"), ("method", "getblockcount")))], 1)
        self.assertEqual(samples[("neo_rpc_requests_total",
                                  (("code", "-32601"), ("method", "unknown")))], 1)
        self.assertEqual(samples[("neo_blocks_persisted_total", ())], 0)
        self.assertGreater(samples[("neo_store_size_bytes", ())], 0)
        self.assertGreater(samples[("process_resident_memory_bytes", ())], 0)
