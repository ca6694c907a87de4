"""
Where a node listens, for real: nodes started in this process on trial's reactor
answer JSON-RPC over a UNIX socket, take peers over IPv4 and IPv6 at once, and leave
the interpreter's settings alone (those are twistd's: L{neo_twisted.tuning}).

The descriptions and options themselves are in L{tests.test_endpoints}.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import socket
import sys
import tempfile
from io import BytesIO
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    UNIXClientEndpoint,
    connectProtocol,
)
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgentEndpointFactory
from zope.interface import implementer

from neo_twisted.network.payloads import VersionPayload, decode_payload
from neo_twisted.node.service import NodeService
from neo_twisted.p2p.connections import ConnectionService
from tests.support.attacker import Attacker
from tests.support.node_cluster import Cluster, wait_until


def no_ipv6_loopback() -> str | None:
    """
    Why this machine cannot listen on C{::1}, or None if it can.
    """
    if not socket.has_ipv6:
        return "Python was built without IPv6 (socket.has_ipv6 is false)"
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as e:
        return f"this machine has no IPv6 loopback: binding ::1 failed ({e})"
    return None


@implementer(IAgentEndpointFactory)
class UnixSocket:
    """
    Every URI's connection goes to one UNIX socket.
    """

    def __init__(self, path: str) -> None:
        self._path = path

    def endpointForURI(self, uri: Any) -> IStreamClientEndpoint:
        return UNIXClientEndpoint(reactor, self._path)


def connections(node: NodeService) -> ConnectionService:
    service = node.node.connections
    assert isinstance(service, ConnectionService)
    return service


class UnixRpcTests(TestCase):
    """
    C{--rpc-listen unix:PATH}.
    """

    timeout = 60

    def socket_path(self) -> str:
        # a short path: a UNIX socket's is limited to about 100 bytes
        directory = tempfile.mkdtemp(prefix="neo-rpc-")
        self.addCleanup(shutil.rmtree, directory, True)
        return os.path.join(directory, "rpc.sock")

    @defer.inlineCallbacks
    def test_rpc_over_a_unix_socket(self) -> Any:
        """
        A node serving JSON-RPC on a UNIX socket answers a request sent through it,
        and names the socket in its start-up line's terms.
        """
        path = self.socket_path()
        node = Cluster(self).start("a", rpc_listen=f"unix:{path}")
        assert node.rpc is not None
        self.assertEqual((node.rpc.where, node.rpc.port), (f"unix:{path}", None))
        self.assertTrue(os.path.exists(path))
        agent = Agent.usingEndpointFactory(reactor, UnixSocket(path))
        request = {"jsonrpc": "2.0", "id": 7, "method": "getblockcount", "params": []}
        response = yield agent.request(
            b"POST", b"http://localhost/", Headers({b"Content-Type": [b"application/json"]}),
            FileBodyProducer(BytesIO(json.dumps(request).encode())))
        body = yield readBody(response)
        self.assertEqual((response.code, json.loads(body)),
                         (200, {"jsonrpc": "2.0", "id": 7,
                                "result": node.node.block_height + 1}))


class DualStackTests(TestCase):
    """
    C{--listen tcp:PORT:interface=127.0.0.1 --listen tcp:PORT:interface=\\:\\:1}.
    """

    timeout = 60

    def setUp(self) -> None:
        reason = no_ipv6_loopback()
        if reason is not None:
            raise self.skipTest(reason)

    @defer.inlineCallbacks
    def test_peers_over_ipv4_and_ipv6(self) -> Any:
        """
        A node listening on 127.0.0.1 and ::1 at once takes a peer on each, both
        handshake, and its C{version} gives its (first) port on both.
        """
        node = Cluster(self).start(
            "a", listen=("tcp:0:interface=127.0.0.1", "tcp:0:interface=\\:\\:1"))
        v4, v6 = connections(node).listeners.listeners
        assert v4.port is not None and v6.port is not None
        self.assertEqual((v4.host, v6.host), ("127.0.0.1", "::1"))
        self.assertEqual(connections(node).listening_port, v4.port)
        for endpoint in (TCP4ClientEndpoint(reactor, "127.0.0.1", v4.port),
                         TCP6ClientEndpoint(reactor, "::1", v6.port)):
            peer = yield connectProtocol(endpoint, Attacker())
            self.addCleanup(peer.abort)
            yield peer.handshake()
            version = decode_payload("version", (yield peer.message("version")))
            assert isinstance(version, VersionPayload)
            self.assertEqual(version.port, v4.port)
        yield wait_until(
            lambda: sorted(p.remote.host for p in node.node.established_peers())
            == ["127.0.0.1", "::1"], "a peer established over each address", timeout=30,
            describe=lambda: str([str(p.remote) for p in node.node.established_peers()]))


class InterpreterTests(TestCase):
    """
    A node started in-process (a test, a program embedding it) is no twistd process.
    """

    timeout = 60

    @defer.inlineCallbacks
    def test_node_leaves_the_interpreter_alone(self) -> Any:
        """
        Starting and stopping a node changes neither the GIL switch interval nor the
        collector's thresholds, nor freezes anything.
        """
        def settings() -> tuple[float, tuple[int, ...], int]:
            return sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count()
        before = settings()
        cluster = Cluster(self)
        node = cluster.start("a")
        self.assertTrue(node.running)
        self.assertEqual(settings(), before)
        yield cluster.stop("a")
        self.assertEqual(settings(), before)
