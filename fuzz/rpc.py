"""
Fuzz targets for the JSON-RPC server: request bodies (POST, as JSON) and query strings
(GET, turned on here) go to a real node's methods (L{NodeRpc}) over a privnet ledger
holding only its genesis block.

The server answers anything with a JSON-RPC response, so there is no allowed exception:
a crash is a response that is not JSON, a request left unanswered, or an internal error
(-32603), whose logged traceback the crash carries.
"""

from __future__ import annotations

import atexit
import functools
import tempfile
from io import BytesIO

from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogEvent, formatEventAsClassicLogText, globalLogPublisher
from twisted.web.http import parse_qs
from twisted.web.server import NOT_DONE_YET
from twisted.web.test.requesthelper import DummyRequest

from fuzz import seeds
from fuzz.registry import CheckError, Target, register, strict_json
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.mempool.service import MempoolService
from neo_twisted.node.policy import Node
from neo_twisted.offreactor import Synchronous
from neo_twisted.p2p.addresses import AddressBook
from neo_twisted.p2p.connections import ConnectionService
from neo_twisted.p2p.controller import PeerController
from neo_twisted.rpc.access import AccessPolicy, RpcAccess
from neo_twisted.rpc.errors import INTERNAL_ERROR
from neo_twisted.rpc.methods import NodeRpc
from neo_twisted.rpc.server import JsonRpcResource

#: Reactor turns a request may take (transactions reach the pool a turn later).
MAX_TURNS = 10


class RpcHarness:
    """
    One node's RPC resource on a scratch ledger, answering synchronously.
    """

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="neo-fuzz-rpc-")
        settings = load_protocol(seeds.ROOT / "protocol.json")
        self.clock = MemoryReactorClock()  # type: ignore[no-untyped-call]
        self.ledger = LedgerService(self._dir.name, settings, reactor=self.clock,
                                    off_reactor=Synchronous)
        self.ledger.startService()
        self.mempool = MempoolService(self.ledger, settings, reactor=self.clock,
                                      off_reactor=Synchronous)
        self.mempool.startService()
        controller = PeerController(self.clock)
        connections = ConnectionService(
            controller, object(), reactor=self.clock,  # type: ignore[arg-type]
            book=AddressBook())
        node = Node(self.ledger, self.clock, controller, connections,
                    user_agent="/neo_twisted:fuzz/", nonce=1, mempool=self.mempool)
        rpc = NodeRpc(self.ledger, node, self.mempool, settings, self.clock)
        # the GET form is an option (off by default): on, to be fuzzed too
        self.resource = JsonRpcResource(rpc.methods(), estimates=rpc.estimates(),
                                        access=AccessPolicy(RpcAccess(allow_get=True)))
        self.failures: list[str] = []
        atexit.register(self.close)

    def _observe(self, event: LogEvent) -> None:
        if "log_failure" in event:
            self.failures.append(formatEventAsClassicLogText(event) or repr(event))

    def close(self) -> None:
        self.mempool.stopService()
        self.ledger.stopService()
        self._dir.cleanup()

    def answer(self, request: DummyRequest) -> bytes:
        """
        Render C{request} to the end; the body of the response.
        """
        del self.failures[:]
        globalLogPublisher.addObserver(self._observe)  # type: ignore[arg-type]
        try:
            rendered = self.resource.render(request)  # type: ignore[arg-type]
            if rendered is not NOT_DONE_YET:
                return bytes(rendered)
            for _ in range(MAX_TURNS):
                if request.finished:
                    break
                self.clock.advance(0)
        finally:
            globalLogPublisher.removeObserver(self._observe)  # type: ignore[arg-type]
        if not request.finished:
            raise CheckError(f"no answer after {MAX_TURNS} reactor turns")
        return b"".join(request.written)

    def check(self, body: bytes) -> None:
        """
        A response is empty (notifications only) or JSON without an internal error.
        """
        if self.failures:
            raise CheckError("the server logged a failure:\n" + "\n".join(self.failures))
        if not body:
            return
        document = strict_json(body)
        responses = document if isinstance(document, list) else [document]
        for response in responses:
            if not isinstance(response, dict) or "jsonrpc" not in response:
                raise CheckError(f"not a JSON-RPC response: {response!r}")
            error = response.get("error")
            if isinstance(error, dict) and error.get("code") == INTERNAL_ERROR:
                raise CheckError(f"internal error: {response!r}")


@functools.cache
def harness() -> RpcHarness:
    return RpcHarness()


def post_request(data: bytes) -> DummyRequest:
    """
    A POST of C{data}, as JSON (the server refuses other content types).
    """
    request = DummyRequest([b""])
    request.method = b"POST"
    request.requestHeaders.setRawHeaders(b"content-type", [b"application/json"])
    request.content = BytesIO(data)  # type: ignore[attr-defined]
    return request


def post(data: bytes) -> None:
    """
    C{data} as the body of a POST.
    """
    rpc = harness()
    rpc.check(rpc.answer(post_request(data)))


def get(data: bytes) -> None:
    """
    C{data} as the query string of a GET, parsed as C{twisted.web} parses it.
    """
    request = DummyRequest([b""])
    request.method = b"GET"
    # parsed as http.Request.requestReceived parses it
    request.args = parse_qs(data, 1)  # type: ignore[no-untyped-call]
    rpc = harness()
    rpc.check(rpc.answer(request))


register(Target("rpc.post", post, (), seeds.rpc_bodies, max_len=16_384))
register(Target("rpc.get", get, (), seeds.rpc_queries))
