"""
Every part of a node sees the same peers (issue 21): the policy's sessions, the
connection service's records and the factories' live connections agree while real
nodes connect, exchange and leave over loopback.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from neo_twisted.node.service import NodeService
from neo_twisted.p2p.factory import PeerFactory
from tests.node_cluster import Cluster, heights, wait_until


def views(node: NodeService) -> tuple[set[Any], set[Any], set[Any]]:
    """
    The established peers as the policy, the connection service and the factories see them.
    """
    policy = node.node
    factories = [f for f in policy.connections.factories if isinstance(f, PeerFactory)]
    return (set(policy.established_peers()), set(policy.connections.established_peers()),
            {p for f in factories for p in f.peers if p.established})


class RegistryTests(TestCase):
    timeout = 120

    def assert_agree(self, *nodes: NodeService) -> None:
        for node in nodes:
            policy, connections, factories = views(node)
            self.assertEqual(policy, connections, node.node.user_agent)
            self.assertEqual(policy, factories, node.node.user_agent)

    @defer.inlineCallbacks
    def test_one_set_of_peers(self) -> None:
        cluster = Cluster(self)
        a = cluster.start("a", chain=200, min_peers=2)
        b = cluster.start("b", seeds=[a], min_peers=2)
        c = cluster.start("c", seeds=[a, b], min_peers=2)
        yield wait_until(lambda: all(len(views(n)[0]) == 2 for n in (a, b, c)),
                         "every node to hold the other two")
        self.assert_agree(a, b, c)
        yield wait_until(lambda: heights(b) == (200, 200) and heights(c) == (200, 200),
                         "b and c to sync")
        self.assert_agree(a, b, c)
        yield cluster.stop("c")
        yield wait_until(lambda: all(len(views(n)[0]) == 1 for n in (a, b)),
                         "a and b to see c gone")
        self.assert_agree(a, b)
