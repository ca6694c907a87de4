"""
Every part of a node sees the same peers (issue 21): the controller's registry is
the only dict of live peers; the policy's sessions and the connection service's
records are views of it, and the factories keep none. Shown while real nodes
connect, exchange and leave over loopback.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from neo_twisted.node.service import NodeService
from neo_twisted.p2p.factory import PeerFactory
from tests.support.node_cluster import Cluster, heights, wait_until


def views(node: NodeService) -> tuple[set[Any], set[Any], set[Any]]:
    """
    The established peers as the policy, the connection service and the controller see them.
    """
    policy = node.node
    return (set(policy.established_peers()), set(policy.connections.established_peers()),
            set(policy.controller.established_peers()))


class RegistryTests(TestCase):
    timeout = 120

    def assert_agree(self, *nodes: NodeService) -> None:
        for node in nodes:
            policy, connections, registry = views(node)
            self.assertEqual(policy, connections, node.node.user_agent)
            self.assertEqual(policy, registry, node.node.user_agent)

    def assert_one_registry(self, node: NodeService) -> None:
        """
        The registry is the one dict: the service reads it itself, the sessions are
        derived from its records, and the factories report to it and keep nothing.
        """
        policy = node.node
        controller = policy.controller
        records = controller.records
        self.assertIs(policy.connections.controller, controller)
        self.assertIs(policy.connections._records, records)
        self.assertIs(policy.sessions._records, records)
        for factory in policy.connections.factories:
            assert isinstance(factory, PeerFactory)
            self.assertIs(factory.listener, controller)
            self.assertFalse(hasattr(factory, "peers"))
        self.assertEqual(set(policy.sessions), {p for p, r in records.items() if r.established})
        for peer, session in policy.sessions.items():
            self.assertIs(records[peer].session, session)

    @defer.inlineCallbacks
    def test_one_set_of_peers(self) -> Generator[defer.Deferred[Any], Any, None]:
        cluster = Cluster(self)
        a = cluster.start("a", chain=200, min_peers=2)
        b = cluster.start("b", seeds=[a], min_peers=2)
        c = cluster.start("c", seeds=[a, b], min_peers=2)
        for node in (a, b, c):
            self.assert_one_registry(node)
        yield wait_until(lambda: all(len(views(n)[0]) == 2 for n in (a, b, c)),
                         "every node to hold the other two")
        self.assert_agree(a, b, c)
        for node in (a, b, c):
            self.assert_one_registry(node)
        yield wait_until(lambda: heights(b) == (200, 200) and heights(c) == (200, 200),
                         "b and c to sync")
        self.assert_agree(a, b, c)
        yield cluster.stop("c")
        yield wait_until(lambda: all(len(views(n)[0]) == 1 for n in (a, b)),
                         "a and b to see c gone")
        self.assert_agree(a, b)
        for node in (a, b):
            self.assert_one_registry(node)
