# -*- test-case-name: tests.integration.test_metrics -*-
"""
The node's figures as Prometheus metric families, read when scraped.

Nothing on the hot path touches Prometheus: the protocol, the pool and the syncs
keep their own plain counters, and L{NodeCollector} turns them into metric
families at scrape time. Each node has its own C{CollectorRegistry} (never the
global one), so several nodes in one process (tests) export separately; the
process's own figures (memory, CPU, files) come from C{prometheus_client}'s
process and platform collectors on the same registry.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator, Mapping, Sequence
from importlib.metadata import version
from typing import TYPE_CHECKING, TypeVar

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from neo_twisted import __version__

if TYPE_CHECKING:
    from neo_twisted.ledger.chain import Ledger
    from neo_twisted.mempool.service import MempoolService
    from neo_twisted.node.policy import Node
    from neo_twisted.node.progress import SyncProgress
    from neo_twisted.rpc.server import JsonRpcResource

#: The label values of a count.
K = TypeVar("K", bound=tuple[str, ...])


def build_info() -> dict[str, str]:
    """
    The labels of C{neo_build_info}: this node's version and those it runs on.
    """
    return {"version": __version__, "python": platform.python_version(),
            "twisted": version("twisted"), "lmdb": version("lmdb")}


def _by_command(name: str, documentation: str,
                counts: Sequence[tuple[str, dict[str, int]]]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=["direction", "command"])
    for direction, by_command in counts:
        for command in sorted(by_command):
            family.add_metric([direction, command], by_command[command])
    return family


class NodeCollector(Collector):
    """
    One node's metrics: chain, store, peers, traffic, inventory, pool, sync rate,
    validators and JSON-RPC calls.
    """

    def __init__(self, node: Node, mempool: MempoolService | None,
                 progress: SyncProgress, rpc: JsonRpcResource | None = None) -> None:
        self._node = node
        self._mempool = mempool
        self._progress = progress
        self._rpc = rpc
        self._build = build_info()
        #: (height, timestamp) of the last block read: one read per new block at most.
        self._last_block = (-1, 0)

    def _gauge(self, name: str, documentation: str, value: float) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, documentation, value=value)

    def collect(self) -> Iterator[Metric]:
        node = self._node
        yield InfoMetricFamily("neo_build", "This node's version, and the versions of "
                               "Python, Twisted and LMDB it runs on.", value=self._build)
        yield self._gauge("neo_block_height", "Height of the last persisted block.",
                          node.block_height)
        yield CounterMetricFamily("neo_blocks_persisted", "Blocks persisted in the store "
                                  "(genesis not counted): rate() gives the block rate.",
                                  value=node.block_height)
        yield from self._store()
        yield self._gauge("neo_header_height", "Height of the last validated header.",
                          node.header_height)
        yield self._gauge("neo_sync_target_height",
                          "The best height known: our headers or a peer's claim.",
                          self._progress.target_height())
        yield self._gauge("neo_persisted_blocks_per_second",
                          "Blocks persisted per second over the last 30 s.",
                          self._progress.blocks_per_second())
        peers = GaugeMetricFamily("neo_peers", "Established peer connections.",
                                  labels=["direction"])
        established = node.established_peers()
        peers.add_metric(["in"], sum(1 for p in established if p.inbound))
        peers.add_metric(["out"], sum(1 for p in established if not p.inbound))
        yield peers
        yield from self._traffic()
        yield self._gauge("neo_inventory_requested",
                          "Inventory hashes asked of a peer and not yet received.",
                          node.requests.total_in_flight)
        yield self._gauge("neo_block_sync_segments",
                          "Block segments (500 hashes) asked of peers and not yet done.",
                          len(node.block_sync.segments))
        yield self._gauge("neo_block_sync_buffered",
                          "Blocks received and waiting to be persisted.",
                          node.block_sync.buffered)
        yield from self._pool()
        yield from self._discipline()
        yield from self._validators()
        yield from self._rpc_calls()

    def _store(self) -> Iterator[Metric]:
        ledger = self._node.ledger.ledger
        if ledger is None:
            return
        yield self._gauge("neo_last_block_timestamp_seconds",
                          "Timestamp of the last persisted block (its header's), in "
                          "seconds since the epoch.", self._block_timestamp(ledger))
        # a stat of the store's two files: cheap enough for every scrape
        yield self._gauge("neo_store_size_bytes", "Bytes the chain store takes on disk.",
                          ledger.store.disk_size())

    def _block_timestamp(self, ledger: Ledger) -> int:
        height = ledger.block_height
        if self._last_block[0] != height:
            tip = ledger.header_tip
            header = tip if tip.index == height else ledger.get_header(height)
            self._last_block = (height, 0 if header is None else header.timestamp)
        return self._last_block[1]

    def _rpc_calls(self) -> Iterator[Metric]:
        if self._rpc is None:
            return
        yield _by_labels("neo_rpc_requests", "JSON-RPC requests answered, by method "
                         "(unknown: not a method of this node) and result: ok or the "
                         "error code.", ["method", "code"], self._rpc.calls)

    def _validators(self) -> Iterator[Metric]:
        ledger = self._node.ledger.ledger
        if ledger is None:
            return
        tracker = ledger.validators
        yield self._gauge("neo_validators", "Validators of the next block, as elected from "
                          "the votes.", len(tracker.next_validators))
        yield CounterMetricFamily("neo_next_consensus_mismatches",
                                  "Blocks persisted since start whose NextConsensus is not "
                                  "the elected validators' address (logged, accepted).",
                                  value=tracker.mismatches)

    def _discipline(self) -> Iterator[Metric]:
        discipline = self._node.connections.discipline
        faults = CounterMetricFamily("neo_peer_faults", "Peer faults by kind (the fault "
                                     "table's labels).", labels=["fault"])
        for label in sorted(discipline.faults):
            faults.add_metric([label], discipline.faults[label])
        yield faults
        responses = CounterMetricFamily("neo_peer_responses", "Responses to peer faults: "
                                        "ignore, disconnect, discourage, ban.",
                                        labels=["response"])
        for label in sorted(discipline.responses):
            responses.add_metric([label], discipline.responses[label])
        yield responses
        yield _by_labels("neo_peer_disconnects", "Connections lost, by reason: a fault's "
                         "label, or closed, timeout, eviction, shutdown, ban, refused, "
                         "slow-reader, other.", ["reason"],
                         {(reason,): count for reason, count
                          in self._node.controller.disconnects.items()})

    def _traffic(self) -> Iterator[Metric]:
        total = self._node.controller.traffic()
        yield _by_command("neo_p2p_messages", "P2P messages by direction and command.",
                          [("in", total.messages_in), ("out", total.messages_out)])
        yield _by_command("neo_p2p_bytes", "P2P bytes (frame headers included) by "
                          "direction and command.",
                          [("in", total.bytes_in), ("out", total.bytes_out)])

    def _pool(self) -> Iterator[Metric]:
        mempool = self._mempool
        if mempool is None:
            return
        yield self._gauge("neo_mempool_transactions", "Verified transactions in the pool.",
                          len(mempool))
        yield self._gauge("neo_mempool_verifying",
                          "Transactions waiting for or under verification.",
                          mempool.verifying)
        yield self._gauge("neo_mempool_capacity", "Transactions the pool holds at most.",
                          mempool.pool.capacity)
        yield self._gauge("neo_mempool_capacity_bytes", "Bytes the pool's transactions "
                          "take at most.", mempool.pool.capacity_bytes)
        yield self._gauge("neo_mempool_bytes", "Bytes the pool's transactions take.",
                          mempool.pool.bytes)
        times = mempool.verify_times
        yield HistogramMetricFamily("neo_mempool_verify_seconds", "Seconds from submitting "
                                    "a transaction to its verdict.",
                                    buckets=times.cumulative(), sum_value=times.total)


def _by_labels(name: str, documentation: str, labels: list[str],
               counts: Mapping[K, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for key in sorted(counts):
        family.add_metric(list(key), counts[key])
    return family


def node_registry(collector: NodeCollector) -> CollectorRegistry:
    """
    A registry of its own holding the node's collector, and the process's (resident
    memory, CPU seconds, open files, start time; Python's version).
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry
