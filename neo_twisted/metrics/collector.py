# -*- test-case-name: tests.test_metrics -*-
"""
The node's figures as Prometheus metric families, read when scraped.

Nothing on the hot path touches Prometheus: the protocol, the pool and the syncs
keep their own plain counters, and L{NodeCollector} turns them into metric
families at scrape time. Each node has its own C{CollectorRegistry} (never the
global one), so several nodes in one process (tests) export separately.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry

if TYPE_CHECKING:
    from neo_twisted.mempool.service import MempoolService
    from neo_twisted.node.policy import Node
    from neo_twisted.node.progress import SyncProgress


def _by_command(name: str, documentation: str,
                counts: Sequence[tuple[str, dict[str, int]]]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=["direction", "command"])
    for direction, by_command in counts:
        for command in sorted(by_command):
            family.add_metric([direction, command], by_command[command])
    return family


class NodeCollector(Collector):
    """
    One node's metrics: chain, peers, traffic, inventory, pool, sync rate and
    validators.
    """

    def __init__(self, node: Node, mempool: MempoolService | None,
                 progress: SyncProgress) -> None:
        self._node = node
        self._mempool = mempool
        self._progress = progress

    def _gauge(self, name: str, documentation: str, value: float) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, documentation, value=value)

    def collect(self) -> Iterator[Metric]:
        node = self._node
        yield self._gauge("neo_block_height", "Height of the last persisted block.",
                          node.block_height)
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
        yield SummaryMetricFamily("neo_mempool_verify_seconds",
                                  "Seconds from submitting transactions to their verdict, "
                                  "summed over the transactions verified.",
                                  count_value=mempool.verified_count,
                                  sum_value=mempool.verify_seconds)


def node_registry(collector: NodeCollector) -> CollectorRegistry:
    """
    A registry of its own holding the node's collector.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
