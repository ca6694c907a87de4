"""
C{neonode status} against real nodes' JSON-RPC, a node with only the reference's
methods, and no node at all.
"""

from __future__ import annotations

import io
from collections.abc import Generator
from typing import Any

from twisted.internet import defer, reactor, threads
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.trial.unittest import SynchronousTestCase, TestCase

from neo_twisted.cli import main
from neo_twisted.cli.status import render
from neo_twisted.rpc.server import JsonRpcResource
from neo_twisted.rpc.site import make_site
from tests.support.node_cluster import Cluster, heights, wait_until

CHAIN = 300


def run_status(*argv: str) -> defer.Deferred[tuple[int, str, str]]:
    """
    Run the command in a thread (it blocks on its HTTP calls) while the nodes it
    asks run on the reactor.
    """
    def run() -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(["status", *argv], stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()
    return threads.deferToThread(run)


class StatusTests(TestCase):
    timeout = 120

    @defer.inlineCallbacks
    def test_summary_of_a_running_node(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Heights, sync state, each peer with its height and user agent, and the pool.
        """
        cluster = Cluster(self)
        a = cluster.start("a", chain=CHAIN, min_peers=1, max_peers=2)
        b = cluster.start("b", seeds=[a], min_peers=1, max_peers=2, rpc_port=0)
        yield wait_until(lambda: heights(b) == (CHAIN, CHAIN), "B to sync")
        assert b.rpc is not None
        url = f"http://127.0.0.1:{b.rpc.port}/"
        code, out, err = yield run_status("--rpc", url)
        self.assertEqual((code, err), (0, ""))
        a_port = a.node.connections.listening_port
        self.assertEqual(out.splitlines(), [
            f"node       /neo_twisted-test:b/ at {url}",
            f"blocks     {CHAIN} (headers {CHAIN}, best known {CHAIN})",
            "sync       in step with its peers",
            "peers      1 (1 out, 0 in)",
            f"  127.0.0.1:{a_port:<12} out height {CHAIN:<8} /neo_twisted-test:a/",
            "pool       0 verified, 0 being verified, capacity 50,000",
        ])
        code, out, _ = yield run_status("--rpc", url, "--json")
        self.assertEqual(code, 0)
        self.assertIn('"blockheight": 300', out)

    @defer.inlineCallbacks
    def test_reference_methods_only(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        A node without C{getnodestate} is summarised from the standard methods.
        """
        methods: dict[str, Any] = {
            "getblockcount": lambda params: 101,
            "getpeers": lambda params: {"connected": [{"address": "10.0.0.5", "port": 10333}],
                                        "unconnected": [], "bad": []},
            "getversion": lambda params: {"port": 10333, "nonce": 1, "useragent": "/NEO:2.9.4/"},
            "getrawmempool": lambda params: ["aa", "bb"],
        }
        site = make_site(JsonRpcResource(methods, clock=reactor), reactor=reactor)
        port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(site)
        self.addCleanup(port.stopListening)
        url = f"http://127.0.0.1:{port.getHost().port}/"
        code, out, err = yield run_status("--rpc", url)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.splitlines(), [
            f"node       /NEO:2.9.4/ at {url}", "blocks     100", "sync       unknown",
            "peers      1", "  10.0.0.5:10333", "pool       2 verified"])

    @defer.inlineCallbacks
    def test_no_node(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Nothing listening: exit status 1 and one line saying so.
        """
        endpoint = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        port = yield endpoint.listen(make_site(JsonRpcResource({}), reactor=reactor))
        free = port.getHost().port
        yield port.stopListening()
        code, out, err = yield run_status("--rpc", f"http://127.0.0.1:{free}/",
                                          "--timeout", "5")
        self.assertEqual((code, out), (1, ""))
        self.assertTrue(err.startswith(f"neonode: error: cannot reach http://127.0.0.1:{free}/"),
                        err)
        self.assertEqual(err.count("\n"), 1)


class RenderTests(SynchronousTestCase):
    def test_syncing_validator(self) -> None:
        state = {"useragent": "/x/", "blockheight": 1_000, "headerheight": 5_000,
                 "targetheight": 9_000, "syncing": True, "blockspersecond": 200.0,
                 "peers": [], "mempool": {"verified": 0, "verifying": 3, "capacity": 10}}
        consensus = {"validator": True, "index": 2, "height": 1_001, "view": 1, "primary": 0,
                     "signatures": 1, "needed": 3, "blocksmade": 4}
        lines = render("http://n/", state, consensus).splitlines()
        self.assertEqual(lines[1:], [
            "blocks     1,000 (headers 5,000, best known 9,000)",
            "sync       syncing: 8,000 blocks to go, 200.0 blocks/s, ETA 40s",
            "peers      0",
            "pool       0 verified, 3 being verified, capacity 10",
            "consensus  validator index 2, block 1001 view 1, primary 0, signatures 1/3, "
            "4 blocks made"])
