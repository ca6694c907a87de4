"""
The JSON-RPC site's timeouts on a clock: a whole request must arrive within C{timeout}
however it is dripped, then a client that does not read has C{abort_timeout} to take
the answer; and the listening queue has room for 200 clients connecting at once.
"""

from __future__ import annotations

import json
from typing import cast

from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.reactors import INodeReactor
from neo_twisted.rpc.server import JsonRpcResource
from neo_twisted.rpc.service import RpcService
from neo_twisted.rpc.site import make_site
from tests.support.rpc_server_helpers import parse_response

PEER = IPv4Address("TCP", "127.0.0.1", 40000)
_BODY = json.dumps({"jsonrpc": "2.0", "id": "1", "method": "getblockcount",
                    "params": []}).encode()
REQUEST = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(_BODY)
           + _BODY)


class TimeoutTests(SynchronousTestCase):
    """
    The site's timeouts, on a clock: a whole request within C{timeout}, however it is
    dripped, then C{abort_timeout} to flush to a client that does not read.
    """

    def setUp(self) -> None:
        self.clock = MemoryReactorClock()
        rpc_resource = JsonRpcResource({"getblockcount": lambda params: 31})
        self.site = make_site(rpc_resource, reactor=self.clock, timeout=30, abort_timeout=5)
        self.transport = StringTransport(peerAddress=PEER)
        self.channel = self.site.buildProtocol(PEER)
        self.channel.makeConnection(self.transport)

    def test_dripped_request_timed_out(self) -> None:
        request = REQUEST
        for second, byte in enumerate(request[:35]):
            self.assertEqual(self.transport.disconnecting, second >= 30)
            self.channel.dataReceived(bytes([byte]))
            self.clock.advance(1)

    def test_timeout_restarts_after_an_answer(self) -> None:
        request = REQUEST.replace(
            b"Connection: close\r\n", b"")
        for _ in range(3):
            self.clock.advance(25)
            self.channel.dataReceived(request)
            self.assertEqual(parse_response(self.transport.value()).json()["result"], 31)
            self.transport.clear()
        self.clock.advance(29)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(self.transport.disconnecting)

    def test_abort_after_timeout(self) -> None:
        """
        A connection that cannot flush (its transport never reports it lost) is aborted.
        """
        self.clock.advance(30)
        self.assertTrue(self.transport.disconnecting)
        self.clock.advance(4)
        self.assertFalse(self.transport.disconnected)
        self.clock.advance(1)
        self.assertTrue(self.transport.disconnected)  # StringTransport's abortConnection

    def test_backlog(self) -> None:
        """
        Room for 200 clients connecting at once: they overflowed Twisted's 50.
        """
        reactor_ = MemoryReactorClock()
        RpcService(self.site, port=0, reactor=cast(INodeReactor, reactor_)).startService()
        self.assertGreaterEqual(reactor_.tcpServers[0][2], 200)
