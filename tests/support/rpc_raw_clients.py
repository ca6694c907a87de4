"""
The raw TCP clients of the RPC load test (L{tests.integration.test_rpc_load}): malformed HTTP,
bodies over the limit, dripped and stalled requests, clients that never read, each
with the answer it must get.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from twisted.internet import defer, reactor
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure

from tests.support.rpc_server_helpers import parse_response

#: Blocks of the node's chain.
CHAIN = 30
#: The site's timeouts, injected: a whole request within TIMEOUT, then ABORT to flush.
TIMEOUT, ABORT = 2.0, 1.0
#: (request id) -> what the client sends: a JSON document, raw bytes, or a GET query.
Build = Callable[[str], Any]


def rpc(method: str, *params: Any) -> Build:
    return lambda id_: {"jsonrpc": "2.0", "id": id_, "method": method, "params": list(params)}


class RawClient(Protocol):
    """
    Sends C{parts} (one every C{gap} seconds), keeps what comes back, and fires
    L{closed} when the connection ends; one that does not C{read} stops reading at once.
    """

    def __init__(self, parts: Sequence[bytes], gap: float, read: bool) -> None:
        self.parts, self.gap, self.read = list(parts), gap, read
        self.received, self.sent_all = b"", False
        self.closed: defer.Deferred[RawClient] = defer.Deferred()
        self._next: IDelayedCall | None = None

    def connectionMade(self) -> None:
        assert self.transport is not None
        if not self.read:
            self.transport.pauseProducing()  # type: ignore[attr-defined]
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self._next = None
        if self.parts:
            self.transport.write(self.parts.pop(0))
        if self.parts:
            self._next = reactor.callLater(self.gap, self._send)
        self.sent_all = not self.parts

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self._next is not None:
            self._next.cancel()
        self.closed.callback(self)


def http_request(head: bytes, body: bytes = b"", *headers: bytes,
                 length: int | None = None) -> bytes:
    lines = [head, b"Host: 127.0.0.1", b"Connection: close", *headers]
    if length is not None or body:
        lines.append(b"Content-Length: %d" % (len(body) if length is None else length))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def post(body: bytes, *headers: bytes, length: int | None = None) -> bytes:
    return http_request(b"POST / HTTP/1.1", body, b"Content-Type: application/json", *headers,
                        length=length)


@attrs.frozen
class RawCase:
    """
    A raw client's bytes and what must come back: C{status} (and the JSON-RPC error
    C{code}) first, or nothing at all (None: closed by the timeout).
    """

    name: str
    parts: Sequence[bytes]
    status: int | None
    code: int | None = None
    #: The answer may be lost to the reset of a close while the client still sends.
    or_reset: bool = False
    gap: float = 0.0
    read: bool = True

    def problem(self, client: RawClient) -> str | None:
        if not self.read:
            return None  # the server has closed it: that is all to see
        if self.status is None or (self.or_reset and not client.received):
            if client.received:
                return f"an answer to a stalled request: {client.received[:300]!r}"
            return "the server waited for the whole dripped request" if (
                self.gap and client.sent_all) else None
        try:
            response = parse_response(client.received)
            if response.status == self.status and (
                    self.code is None or response.json()["error"]["code"] == self.code):
                return None
        except (IndexError, ValueError, KeyError):
            pass
        return f"wanted {self.status} {self.code or ''}, got {client.received[:300]!r}"


def raw_cases(valid_body: bytes) -> list[RawCase]:
    """
    Malformed HTTP and JSON, and clients that stall, drip or never read.
    """
    chunk = b"%x\r\n" % 65536 + b"a" * 65536 + b"\r\n"
    chunked = b"Transfer-Encoding: chunked"
    blocks = json.dumps([rpc("getblock", k % CHAIN)(str(k)) for k in range(1000)]).encode()
    keep_alive = post(blocks).replace(b"Connection: close\r\n", b"")
    return [
        RawCase("truncated JSON", [post(b'{"jsonrpc":"2.0","id":1,"method":"getbl')], 200,
                -32700),
        RawCase("not JSON", [post(b"hello, node")], 200, -32700),
        RawCase("not UTF-8", [post(b"\xff\xfe\x00{")], 200, -32700),
        RawCase("deeper than the parser", [post(b"[" * 100_000)], 200, -32700),
        RawCase("NaN", [post(b'{"jsonrpc":"2.0","id":1,"method":"getblock","params":[NaN]}')],
                200, -32700),
        RawCase("declared over the limit", [post(b"", length=20_000_000)], 413, -32600),
        RawCase("chunked over the limit", [http_request(b"POST / HTTP/1.1", b"", chunked)
                                           + chunk * 170 + b"0\r\n\r\n"], 413, or_reset=True),
        RawCase("Content-Length over the body", [post(b'{"a": 1}', length=500)], None),
        RawCase("Content-Length under the body",
                [post(valid_body + b"xyz", length=len(valid_body) - 2)], 200, -32700),
        RawCase("Content-Length not a number",
                [post(b"{}").replace(b"Content-Length: 2", b"Content-Length: two")], 400),
        RawCase("two Content-Lengths", [post(b"{}", b"Content-Length: 3")], 400),
        RawCase("bad chunk size", [http_request(b"POST / HTTP/1.1", b"", chunked)
                                   + b"zz\r\nabc\r\n0\r\n\r\n"], 400),
        RawCase("GET without a query", [http_request(b"GET / HTTP/1.1")], 200, -32700),
        RawCase("POST as text/plain", [http_request(b"POST / HTTP/1.1", b"{}",
                                                    b"Content-Type: text/plain")], 415, -32600),
        RawCase("a foreign Host", [post(b"{}").replace(b"Host: 127.0.0.1",
                                                       b"Host: evil.example")], 403, -400),
        RawCase("PUT", [http_request(b"PUT / HTTP/1.1", b"{}")], 501),
        RawCase("garbage request line", [b"\x16\x03\x01\x02\x00 hello\r\n\r\n"], 400),
        # longer than a line may be: Twisted hangs up without an answer
        RawCase("a header line over 16 KiB", [post(b"{}", b"X-Big: " + b"b" * 20_000)], None),
        RawCase("headers over 16 KiB in all",
                [post(b"{}", *(b"X-Many-%d: " % k + b"m" * 500 for k in range(40)))], 400),
        RawCase("half a request, then nothing",
                [b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"], None),
        RawCase("connects, sends nothing", [], None),
        # a byte every TIMEOUT/10: the whole request would take far longer than TIMEOUT
        RawCase("drips a request", [bytes([b]) for b in post(valid_body)], None,
                gap=TIMEOUT / 10),
        # 4 pipelined batches of 1,000 blocks: about 7 MB of answers, more than the
        # socket buffers hold, so the last must wait for the abort timeout
        RawCase("never reads", [keep_alive * 4], None, read=False),
    ]
