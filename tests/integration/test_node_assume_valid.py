"""
End-to-end assume-valid: a node trusting a block syncs its ancestors without checking
their witnesses, and checks everything above it; without the setting it refuses them.

The serving node holds a chain whose first blocks carry no signatures at all (written
straight into its store), so a node that checked their witnesses could not sync them.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import attrs
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.settings import AssumeValid
from neo_twisted.node.service import NodeService
from tests.support.ledger_samples import PRIVNET, PRIVNET_GENESIS, accept_all, make_blocks
from tests.support.node_cluster import Cluster, heights, wait_until
from tests.support.optional import present

#: Blocks 1-300 unsigned; 301-320 signed by the validators.
UNSIGNED = make_blocks(PRIVNET_GENESIS.header, 300, sign=False)
SIGNED = make_blocks(UNSIGNED[-1].header, 20)
TIP = len(UNSIGNED) + len(SIGNED)


def write_chain(datadir: Path) -> None:
    ledger = Ledger.open(datadir, PRIVNET, accept_all)
    try:
        ledger.add_blocks(UNSIGNED + SIGNED)
        assert ledger.block_height == TIP, ledger.block_height
    finally:
        ledger.close()


class AssumeValidSyncTests(TestCase):
    timeout = 120

    def serving(self, cluster: Cluster) -> NodeService:
        write_chain(cluster.datadir("a"))
        return cluster.start("a", max_peers=2, min_peers=1)

    @defer.inlineCallbacks
    def test_trusting_node_syncs(self) -> Generator[defer.Deferred[Any], Any, None]:
        cluster = Cluster(self)
        a = self.serving(cluster)
        trusted = attrs.evolve(PRIVNET, assume_valid=AssumeValid(300, UNSIGNED[-1].hash))
        b = cluster.start("b", seeds=[a], min_peers=1, max_peers=1, settings=trusted)
        yield wait_until(lambda: heights(b) == (TIP, TIP), "B to sync A's chain")
        ledger = present(b.node.ledger.ledger)
        self.assertEqual((ledger.get_block_hash(150), ledger.get_block_hash(TIP)),
                         (UNSIGNED[149].hash, SIGNED[-1].hash))
        self.assertEqual(ledger.verified_height, TIP)

    @defer.inlineCallbacks
    def test_other_nodes_refuse(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Without the setting, or with another block at that height, the unsigned headers
        are refused and A is dropped: nothing above genesis is taken.
        """
        cluster = Cluster(self)
        a = self.serving(cluster)
        wrong = attrs.evolve(PRIVNET, assume_valid=AssumeValid(300, SIGNED[0].hash))
        b = cluster.start("b", seeds=[a], min_peers=1, max_peers=1)
        c = cluster.start("c", seeds=[a], min_peers=1, max_peers=1, settings=wrong)
        def refused(node: Any, fault: str) -> bool:
            return bool(node.node.connections.discipline.faults[fault] >= 1)
        # B checks the witnesses and finds none; C finds another block at 300
        yield wait_until(lambda: refused(b, "bad-header-witness")
                         and refused(c, "headers-refused"), "A's headers refused by B and C",
                         timeout=60)
        self.assertEqual(heights(b), (0, 0))
        self.assertEqual(heights(c)[1], 0)
        self.assertEqual(present(c.node.ledger.ledger).verified_height, 0)
