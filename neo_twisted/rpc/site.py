# -*- test-case-name: tests.unit.test_rpc_server,tests.integration.test_hostile_rpc -*-
"""
The HTTP side of JSON-RPC: a site that bounds what a client may send and for how
long, and keeps no access log (a busy client would flood the node's log).
"""

from __future__ import annotations

from io import BytesIO

from twisted.internet.interfaces import IReactorTime
from twisted.web import http, resource, server

from neo_twisted.rpc.errors import INVALID_REQUEST, RpcError
from neo_twisted.rpc.server import (
    CONTENT_TYPE,
    DEFAULT_ABORT_TIMEOUT,
    DEFAULT_MAX_BODY,
    DEFAULT_TIMEOUT,
    JsonRpcResource,
    _encode,
    error_response,
)

__all__ = ["LimitedRequest", "RpcChannel", "RpcSite", "make_site"]


class LimitedRequest(server.Request):
    """
    A request whose body may not exceed L{max_body}: a longer one is answered with 413
    and the connection closed, before (or as soon as) the excess arrives, so that it
    never fills memory or disk.
    """

    max_body = DEFAULT_MAX_BODY
    _received = 0
    _refused = False

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > self.max_body:
            self.content = BytesIO()
            self._refuse()
            return
        super().gotLength(length)  # type: ignore[no-untyped-call]

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._received += len(data)
        if self._received > self.max_body:
            self._refuse()
            return
        super().handleContentChunk(data)  # type: ignore[no-untyped-call]

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if not self._refused:
            super().requestReceived(command, path, version)  # type: ignore[no-untyped-call]

    def _refuse(self) -> None:
        """
        Answer on the raw transport (the request is not parsed yet), then hang up.
        """
        self._refused = True
        body = _encode(error_response(None, RpcError(
            INVALID_REQUEST, data=f"the request body exceeds {self.max_body} bytes")))
        head = [b"HTTP/1.1 413 Payload Too Large", b"Content-Type: " + CONTENT_TYPE,
                b"Content-Length: %d" % len(body), b"Connection: close"]
        assert self.channel is not None
        assert self.channel.transport is not None
        self.channel.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.channel.loseConnection()  # type: ignore[no-untyped-call]


class RpcChannel(http.HTTPChannel):
    """
    An HTTP/1.1 channel whose timeout counts from the connection or the last answer,
    not from the last byte: Twisted's restarts it on every byte received, so a client
    dripping a request (a byte every few seconds) held its connection for ever.
    """

    def resetTimeout(self) -> None:
        """
        Incoming bytes leave the timeout running: the whole request must come in time.
        """

    def connectionMade(self) -> None:
        super().connectionMade()  # type: ignore[no-untyped-call]
        if isinstance(self.factory, RpcSite):
            # seconds, as callLater takes them (Twisted annotates the attribute int)
            self.abortTimeout = self.factory.abort_timeout  # type: ignore[assignment]


class RpcSite(server.Site):
    """
    A site without an access log (a busy RPC client would flood the node's log), whose
    channels time out whole requests and give up flushing after L{abort_timeout} (which
    each channel reads when its connection is made).
    """

    #: HTTP/1.1 only (Twisted's default wraps its channel to negotiate HTTP/2 over TLS)
    protocol = RpcChannel  # type: ignore[assignment]
    abort_timeout = DEFAULT_ABORT_TIMEOUT
    #: The JSON-RPC resource served (its counts are the metrics').
    rpc: JsonRpcResource | None = None

    def log(self, request: object) -> None:
        pass


def make_site(rpc: JsonRpcResource, *, reactor: IReactorTime | None = None,
              timeout: float = DEFAULT_TIMEOUT, max_body: int = DEFAULT_MAX_BODY,
              abort_timeout: float = DEFAULT_ABORT_TIMEOUT) -> RpcSite:
    """
    The HTTP site of C{rpc}: every path serves it, gzip when asked, bodies bounded.

    @param timeout: seconds a connection has to send a whole request (from its start
        or the last answer); then it is closed.
    @param abort_timeout: seconds it then has to take in what is still being sent to
        it before it is dropped.
    """
    request_type = type("LimitedRequest", (LimitedRequest,), {"max_body": max_body})
    wrapped = resource.EncodingResourceWrapper(  # type: ignore[no-untyped-call]
        rpc, [server.GzipEncoderFactory()])
    site = RpcSite(wrapped, requestFactory=request_type,  # type: ignore[no-untyped-call]
                   timeout=timeout, reactor=reactor)
    site.abort_timeout = abort_timeout
    site.rpc = rpc
    return site
