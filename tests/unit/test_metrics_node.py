"""
The metrics added for operators (issue 23): build information, the block counter
and the last block's time, the store's size, the pool's capacity and verify-time
histogram, JSON-RPC calls and lost peers by reason, the process's own figures,
and a scrape that leaves no line in the log. A real node's page is in
L{tests.integration.test_metrics_node_endpoint}.
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import version

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import formatEvent
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from neo_twisted import __version__
from neo_twisted.mempool.latency import Latencies
from neo_twisted.metrics.collector import NodeCollector, node_registry
from neo_twisted.metrics.resource import MetricsPage, metrics_site
from neo_twisted.node.progress import SyncProgress
from neo_twisted.rpc.server import JsonRpcResource
from tests.support.ledger_samples import make_block
from tests.support.logs import captured_events
from tests.support.rpc_methods_case import MethodsTestCase

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """
    Samples of the text exposition as {(name, sorted labels): value}.
    """
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


class NodeMetricsTests(MethodsTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.rpc = JsonRpcResource(self.methods)
        self.collector = NodeCollector(self.node, self.mempool,
                                       SyncProgress(self.node, self.clock), self.rpc)
        self.registry = node_registry(self.collector)

    def scrape(self) -> Samples:
        return parse(generate_latest(self.registry).decode())

    def test_build_info(self) -> None:
        labels = (("lmdb", version("lmdb")), ("python", platform.python_version()),
                  ("twisted", version("twisted")), ("version", __version__))
        self.assertEqual(self.scrape()[("neo_build_info", labels)], 1)

    def test_blocks_and_last_block_time(self) -> None:
        """
        The counter is the blocks persisted; the timestamp is the last block's and
        moves with the next one.
        """
        before = self.scrape()
        tip = self.chain.blocks[-1]
        self.assertEqual(before[("neo_blocks_persisted_total", ())], tip.index)
        self.assertEqual(before[("neo_last_block_timestamp_seconds", ())],
                         tip.header.timestamp)
        block = make_block(self.ledger.header_tip, timestamp=tip.header.timestamp + 42)
        self.ledger.add_blocks([block])
        after = self.scrape()
        self.assertEqual(after[("neo_blocks_persisted_total", ())], tip.index + 1)
        self.assertEqual(after[("neo_last_block_timestamp_seconds", ())],
                         tip.header.timestamp + 42)

    def test_last_block_behind_the_headers(self) -> None:
        """
        While headers run ahead of the blocks, the time is the last block's, not the
        highest header's.
        """
        tip = self.chain.blocks[-1]
        ahead = make_block(self.ledger.header_tip, timestamp=tip.header.timestamp + 99)
        self.ledger.add_headers([ahead.header])
        self.assertEqual(self.ledger.header_height, tip.index + 1)
        samples = self.scrape()
        self.assertEqual(samples[("neo_last_block_timestamp_seconds", ())],
                         tip.header.timestamp)

    def test_store_size(self) -> None:
        path = self.ledger.store.path
        on_disk = sum(entry.stat().st_size for entry in os.scandir(path) if entry.is_file())
        self.assertGreater(on_disk, 0)
        self.assertEqual(self.scrape()[("neo_store_size_bytes", ())], on_disk)

    def test_pool_capacity_and_bytes(self) -> None:
        pool = self.mempool.pool
        samples = self.scrape()
        self.assertEqual((samples[("neo_mempool_capacity", ())],
                          samples[("neo_mempool_capacity_bytes", ())],
                          samples[("neo_mempool_bytes", ())]),
                         (pool.capacity, pool.capacity_bytes, 0))
        tx = self.gas_payment()
        self.assertIs(self.call("sendrawtransaction", tx.to_bytes().hex()), True)
        self.assertEqual(self.scrape()[("neo_mempool_bytes", ())], tx.size)

    def test_verify_histogram(self) -> None:
        """
        Each verified transaction is one observation; the buckets are cumulative,
        up to C{+Inf}.
        """
        tx = self.gas_payment()
        self.assertIs(self.call("sendrawtransaction", tx.to_bytes().hex()), True)
        self.mempool.verify_times.observe(0.003, 2)  # a chunk of two, 3 ms each
        samples = self.scrape()
        self.assertEqual(samples[("neo_mempool_verify_seconds_count", ())], 3)
        self.assertAlmostEqual(samples[("neo_mempool_verify_seconds_sum", ())],
                               self.mempool.verify_times.total)
        self.assertEqual(samples[("neo_mempool_verify_seconds_bucket", (("le", "+Inf"),))], 3)
        self.assertGreaterEqual(
            samples[("neo_mempool_verify_seconds_bucket", (("le", "0.005"),))], 2)
        self.assertLessEqual(
            samples[("neo_mempool_verify_seconds_bucket", (("le", "0.0025"),))], 1)

    def test_rpc_calls(self) -> None:
        self.successResultOf(self.rpc.handle([
            {"jsonrpc": "2.0", "id": 1, "method": "getblockcount", "params": []},
            {"jsonrpc": "2.0", "id": 2, "method": "getblockhash", "params": [10_000]},
            {"jsonrpc": "2.0", "id": 3, "method": "nosuchmethod", "params": []}]))
        samples = self.scrape()
        self.assertEqual(samples[("neo_rpc_requests_total",
                                  (("code", "ok"), ("method", "getblockcount")))], 1)
        self.assertEqual(samples[("neo_rpc_requests_total",
                                  (("code", "-100"), ("method", "getblockhash")))], 1)
        self.assertEqual(samples[("neo_rpc_requests_total",
                                  (("code", "-32601"), ("method", "unknown")))], 1)

    def test_no_rpc_no_family(self) -> None:
        collector = NodeCollector(self.node, self.mempool, SyncProgress(self.node, self.clock))
        self.assertNotIn("neo_rpc_requests", {family.name for family in collector.collect()})

    def test_disconnects(self) -> None:
        self.node.controller.disconnects.update({"timeout": 2, "bad-frame": 1})
        samples = self.scrape()
        self.assertEqual(samples[("neo_peer_disconnects_total", (("reason", "timeout"),))], 2)
        self.assertEqual(samples[("neo_peer_disconnects_total", (("reason", "bad-frame"),))],
                         1)

    def test_process_and_platform(self) -> None:
        """
        The process's memory, CPU, open files and start, and Python's version, on the
        node's own registry.
        """
        samples = self.scrape()
        names = {name for name, _ in samples}
        for name in ("process_resident_memory_bytes", "process_cpu_seconds_total",
                     "process_open_fds", "process_start_time_seconds"):
            self.assertIn(name, names)
        self.assertGreater(samples[("process_resident_memory_bytes", ())], 0)
        info = [labels for name, labels in samples if name == "python_info"]
        self.assertEqual(len(info), 1)
        self.assertIn(("version", platform.python_version()), info[0])

    def test_families_typed(self) -> None:
        """
        Counters are counters, the verify time a histogram, the build an info.
        """
        text = generate_latest(self.registry).decode()
        for line in ("# TYPE neo_blocks_persisted_total counter",
                     "# TYPE neo_mempool_verify_seconds histogram",
                     "# TYPE neo_build_info gauge",
                     "# TYPE neo_peer_disconnects_total counter",
                     "# TYPE neo_rpc_requests_total counter"):
            self.assertIn(line, text)


class LatencyTests(SynchronousTestCase):
    def test_buckets(self) -> None:
        """
        An observation on a bound falls in that bucket (Prometheus' C{le}); past the
        last, in C{+Inf}.
        """
        times = Latencies((0.1, 1.0))
        times.observe(0.1)
        times.observe(0.5, 3)
        times.observe(7.0)
        self.assertEqual(times.counts, [1, 3, 1])
        self.assertEqual(times.cumulative(), [("0.1", 1), ("1.0", 4), ("+Inf", 5)])
        self.assertEqual(times.count, 5)
        self.assertAlmostEqual(times.total, 0.1 + 1.5 + 7.0)

    def test_bounds_increase(self) -> None:
        self.assertRaises(ValueError, Latencies, (1.0, 0.5))
        self.assertRaises(ValueError, Latencies, (1.0, 1.0))


class ScrapeLogTests(SynchronousTestCase):
    """
    A scrape writes no access-log line; a plain twisted.web site would.
    """

    def setUp(self) -> None:
        self.clock = MemoryReactorClock()
        self.registry = CollectorRegistry()

    def access_lines(self, site: Site) -> list[str]:
        """
        The access-log lines written while C{site} (started as a listening port
        starts it) answers C{GET /metrics}.
        """
        events = captured_events(self)
        site.doStart()
        self.addCleanup(site.doStop)
        client = IPv4Address("TCP", "127.0.0.1", 40000)
        channel = site.buildProtocol(client)
        transport = StringTransport(peerAddress=client)
        channel.makeConnection(transport)
        channel.dataReceived(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 200 "))
        return [formatEvent(event) for event in events
                if '"GET /metrics' in formatEvent(event)]

    def test_no_access_log(self) -> None:
        self.assertEqual(self.access_lines(metrics_site(self.registry, self.clock)), [])

    def test_plain_site_logs(self) -> None:
        """
        The control: the same page on a plain site is logged, so the test above
        would see a line if one were written.
        """
        root = Resource()
        root.putChild(b"metrics", MetricsPage(self.registry))
        self.assertEqual(len(self.access_lines(Site(root, reactor=self.clock))), 1)
