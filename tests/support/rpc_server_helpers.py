"""
The JSON-RPC site driven with raw HTTP bytes on a L{StringTransport}: a test case holding
the site, methods that fail in each way, requests and the parsing of answers.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import attrs
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.rpc.errors import unknown
from neo_twisted.rpc.server import JsonRpcResource
from neo_twisted.rpc.site import make_site
from neo_twisted.wire.errors import FormatError

CLIENT = IPv4Address("TCP", "127.0.0.1", 40000)


@attrs.frozen
class Response:
    status: int
    headers: dict[bytes, bytes]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def parse_response(data: bytes) -> Response:
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b": ")
        headers[name.lower()] = value
    if headers.get(b"transfer-encoding") == b"chunked":
        body = b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            body, rest = body + rest[:size], rest[size + 2:]
    else:
        body = rest[:int(headers.get(b"content-length", b"0"))]
    if headers.get(b"content-encoding") == b"gzip":
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    return Response(status, headers, body)


class Methods:
    """
    Methods for the tests: echo, fail in each way, and answer later.
    """

    def __init__(self) -> None:
        self.later: list[defer.Deferred[Any]] = []
        self.notified: list[Any] = []

    def table(self) -> dict[str, Any]:
        return {
            "echo": lambda params: params,
            "add": lambda params: params[0] + params[1],
            "notify": self.notified.append,
            "unknown_block": self.unknown_block,
            "bad_hex": lambda params: bytes.fromhex(params[0]),
            "bad_format": self.bad_format,
            "broken": self.broken,
            "unencodable": lambda params: {"value": object()},
            "later": self.answer_later,
        }

    def unknown_block(self, params: list[Any]) -> Any:
        raise unknown("Unknown block")

    def bad_format(self, params: list[Any]) -> Any:
        raise FormatError("var int over its maximum")

    def broken(self, params: list[Any]) -> Any:
        raise RuntimeError("a bug")

    def answer_later(self, params: list[Any]) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = defer.Deferred()
        self.later.append(d)
        return d


class ServerTestCase(SynchronousTestCase):
    max_body = 4096

    def setUp(self) -> None:
        self.methods = Methods()
        self.resource = JsonRpcResource(self.methods.table(), max_batch=5, max_concurrent=2)
        self.clock = MemoryReactorClock()
        self.site = make_site(self.resource, reactor=self.clock, timeout=30,
                              max_body=self.max_body)

    def connect(self) -> tuple[Any, StringTransport]:
        protocol = self.site.buildProtocol(CLIENT)
        transport = StringTransport(peerAddress=CLIENT)
        protocol.makeConnection(transport)
        return protocol, transport

    def raw(self, data: bytes) -> tuple[Any, StringTransport]:
        protocol, transport = self.connect()
        protocol.dataReceived(data)
        return protocol, transport

    def post_raw(self, body: bytes, *headers: bytes) -> StringTransport:
        head = [b"POST / HTTP/1.1", b"Host: localhost", b"Content-Type: application/json",
                b"Content-Length: %d" % len(body), *headers]
        return self.raw(b"\r\n".join(head) + b"\r\n\r\n" + body)[1]

    def post(self, document: Any, *headers: bytes) -> Response:
        return parse_response(self.post_raw(json.dumps(document).encode(), *headers).value())

    def get(self, query: str) -> Response:
        request = f"GET /?{query} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
        return parse_response(self.raw(request)[1].value())


def call(method: str, params: Any = (), id_: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method,
            "params": list(params) if isinstance(params, tuple) else params}
