# -*- test-case-name: tests.unit.test_rpc_server,tests.unit.test_rpc_access,tests.integration.test_hostile_rpc -*-  # noqa: E501
"""
JSON-RPC 2.0 over HTTP on C{twisted.web}, as the NEO 2 reference node serves it.

POST (with a JSON content type) carries one request or a batch; the GET form, when
the operator turns it on, carries one in its query (C{method}, C{params} as Base64
or plain JSON, C{id}). Every response has C{Content-Type: application/json-rpc}
and may be gzipped. Who may call is checked first (L{neo_twisted.rpc.access}: the
Host header, basic auth, CORS only for origins the operator names).

Nothing a client sends can hang a connection or show a traceback: bodies over
the limit get a 413 at once (before they are read), batches and concurrent
requests are bounded, so are the bytes of an answer (L{neo_twisted.rpc.budget}:
estimated before a call is run), every malformed request gets its JSON-RPC error,
and an exception in a method is logged here and answered with -32603.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TypeVar

from twisted.internet import defer, task
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http, resource, server
from twisted.web.iweb import IRequest

from neo_twisted.core.jsonify import JSON, Json, strict_json_loads
from neo_twisted.rpc.access import AccessPolicy, Refusal
from neo_twisted.rpc.budget import AnswerBudget, RequestBudget
from neo_twisted.rpc.errors import (
    ACCESS_DENIED,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    SERVER_BUSY,
    RpcError,
)
from neo_twisted.rpc.params import Params
from neo_twisted.wire.errors import FormatError

T = TypeVar("T")

#: A method: positional params in, a JSON value (or a Deferred of one) out. The server
#: looks at the result only to encode it: what JSON cannot hold is logged and
#: answered with -32603.
Method = Callable[[Params], object]
#: A method's estimate of its answer's bytes, from its params, before it is run.
Estimate = Callable[[Params], int]

DEFAULT_MAX_BODY = 10 * 1024 * 1024
DEFAULT_MAX_BATCH = 1000
DEFAULT_MAX_CONCURRENT = 64
#: Batches longer than this are started in slices of at most SLICE_SECONDS each.
BATCH_SLICE = 50
SLICE_SECONDS = 0.002
#: Seconds a connection may stay idle (or drip a request) before it is closed.
DEFAULT_TIMEOUT = 30.0
#: Seconds a timed-out connection may take to flush its answer (to a client that does
#: not read) before it is dropped; Twisted's own default.
DEFAULT_ABORT_TIMEOUT = 15.0

CONTENT_TYPE = b"application/json-rpc"
#: The method label of requests for a method this server lacks (or none at all): one
#: label, so that clients cannot mint labels in the metrics.
UNKNOWN_METHOD = "unknown"
#: The outcome label of a request answered with a result.
OK = "ok"
#: What a bad parameter raises inside a method: answered with -32602, as 2.9+ does.
PARAM_ERRORS = (ValueError, IndexError, FormatError)


def parse_json(data: bytes) -> Json:
    """
    Strict JSON (no NaN or Infinity, in words or by overflow); ValueError for anything
    else, however deep.
    """
    try:
        return strict_json_loads(data.decode("utf-8"))
    except (UnicodeDecodeError, RecursionError) as e:
        raise ValueError(str(e)) from None


def _encode(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def error_response(id_: Json, error: RpcError) -> JSON:
    return {"jsonrpc": "2.0", "id": id_, "error": error.to_json()}


class JsonRpcResource(resource.Resource):
    """
    Dispatches JSON-RPC requests to C{methods} by name.

    @ivar active: HTTP requests being answered now (at most C{max_concurrent}).
    @ivar calls: requests answered, by method (L{UNKNOWN_METHOD} for those not
        served) and outcome (L{OK} or the error code): the metrics read it.
    """

    isLeaf = True
    _log = Logger()

    def __init__(self, methods: Mapping[str, Method], *, max_batch: int = DEFAULT_MAX_BATCH,
                 max_concurrent: int = DEFAULT_MAX_CONCURRENT,
                 clock: IReactorTime | None = None,
                 slice_seconds: float = SLICE_SECONDS,
                 estimates: Mapping[str, Estimate] | None = None,
                 access: AccessPolicy | None = None,
                 budget: AnswerBudget | None = None,
                 disabled: Collection[str] = ()) -> None:
        """
        @param clock: where long batches are started slice by slice, each taking
            about C{slice_seconds} (without a clock, a batch is started at once).
        @param estimates: per method, its answer's bytes before it is run (methods
            without one are checked once their answer is encoded).
        @param access: who may call (default: a server on 127.0.0.1, no CORS, no GET).
        @param budget: the answers' byte caps (default: L{AnswerBudget}'s).
        @param disabled: methods answered with -400 "Access denied" (RpcSecurity's).
        """
        super().__init__()  # type: ignore[no-untyped-call]
        self.methods = dict(methods)
        self.estimates = dict(estimates or {})
        self.access = access if access is not None else AccessPolicy()
        self.budget = budget if budget is not None else AnswerBudget()
        self.disabled = frozenset(disabled)
        self.max_batch = max_batch
        self.max_concurrent = max_concurrent
        self.active = 0
        self.calls: Counter[tuple[str, str]] = Counter()
        self._cooperator = None if clock is None else task.Cooperator(
            terminationPredicateFactory=lambda: _time_slice(slice_seconds),
            scheduler=_next_turn(clock))

    # -- HTTP --------------------------------------------------------------------------------

    def render(self, request: server.Request) -> bytes | int:
        """
        Refuse what the access policy refuses, before anything else is looked at.
        """
        refusal = self.access.check(request)
        if refusal is not None:
            return self._refuse(request, refusal)
        rendered: bytes | int = super().render(request)  # type: ignore[no-untyped-call]
        return rendered

    def _refuse(self, request: server.Request, refusal: Refusal) -> bytes:
        for name, value in refusal.headers:
            request.setHeader(name, value)  # type: ignore[no-untyped-call]
        code = ACCESS_DENIED if refusal.status in (http.UNAUTHORIZED, http.FORBIDDEN) else (
            INVALID_REQUEST)
        return self._answer_now(request, error_response(
            None, RpcError(code, data=refusal.reason)), refusal.status)

    def render_OPTIONS(self, request: server.Request) -> bytes:
        """
        A CORS preflight: allowed for the operator's origins only (a browser then
        sends the real request); any other origin gets no allowance, so its page's
        request is never sent.
        """
        allowed = b"POST, GET, OPTIONS" if self.access.access.allow_get else b"POST, OPTIONS"
        request.setResponseCode(http.NO_CONTENT)
        request.setHeader(b"Allow", allowed)  # type: ignore[no-untyped-call]
        for name, value in self.access.cors_headers(request, preflight=True):
            request.setHeader(name, value)  # type: ignore[no-untyped-call]
        return b""

    def render_POST(self, request: server.Request) -> bytes | int:
        assert request.content is not None
        try:
            document = parse_json(request.content.read())
        except ValueError as e:
            return self._answer_now(request, error_response(
                None, RpcError(PARSE_ERROR, data=str(e))))
        return self._serve(request, document)

    def render_GET(self, request: server.Request) -> bytes | int:
        """
        The query form: C{?jsonrpc=2.0&method=getblock&params=[1]&id=1} (C{params} may be
        Base64 of the JSON). Without a method and params it is a parse error, as there.
        """
        args = request.args or {}

        def arg(name: bytes) -> bytes | None:
            values = args.get(name)
            return values[0] if values else None

        method, params = arg(b"method"), arg(b"params")
        if not method or not params:
            return self._answer_now(request, error_response(
                None, RpcError(PARSE_ERROR, data="the query needs method and params")))
        with contextlib.suppress(binascii.Error, ValueError):  # not Base64: plain JSON
            params = base64.b64decode(params, validate=True)
        try:
            document: JSON = {"method": method.decode("utf-8"), "params": parse_json(params)}
            id_ = arg(b"id")
            document["id"] = None if id_ is None else id_.decode("utf-8")
            jsonrpc = arg(b"jsonrpc")
            if jsonrpc is not None:
                document["jsonrpc"] = jsonrpc.decode("utf-8")
        except ValueError as e:
            return self._answer_now(request, error_response(
                None, RpcError(PARSE_ERROR, data=str(e))))
        return self._serve(request, document)

    def _answer_now(self, request: server.Request, response: JSON,
                    code: int = http.OK) -> bytes:
        # always an error before any method: refused, unparsable, or the server busy
        self._count(None, _error_code(response))
        self._set_headers(request)
        request.setResponseCode(code)
        return _encode(response)

    def _serve(self, request: server.Request, document: Json) -> bytes | int:
        if self.active >= self.max_concurrent:
            busy = RpcError(SERVER_BUSY, data=f"{self.active} requests are being answered")
            return self._answer_now(request, error_response(None, busy),
                                    http.SERVICE_UNAVAILABLE)
        self.active += 1
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        budget = self.budget.open()
        d = self.handle(document, budget)

        def write(body: bytes | None) -> None:
            if gone:
                return  # the client left: nobody to answer
            self._set_headers(request)
            if body is not None:
                request.write(body)  # type: ignore[no-untyped-call]
            request.finish()  # type: ignore[no-untyped-call]

        def done(result: T) -> T:
            self.active -= 1
            budget.close()
            return result

        d.addCallback(write).addBoth(done).addErrback(
            lambda f: self._log.failure("answering an RPC request failed", f))
        return server.NOT_DONE_YET

    # -- JSON-RPC ----------------------------------------------------------------------------

    def _set_headers(self, request: IRequest) -> None:
        request.setHeader(b"Content-Type", CONTENT_TYPE)  # type: ignore[no-untyped-call]
        for name, value in self.access.cors_headers(request):
            request.setHeader(name, value)  # type: ignore[no-untyped-call]

    def handle(self, document: Json,
               budget: RequestBudget | None = None) -> defer.Deferred[bytes | None]:
        """
        The encoded response to a decoded request or batch (None: nothing to send, as for
        notifications), within C{budget} (default: a new one, never given back);
        never fails.
        """
        if budget is None:
            budget = self.budget.open()
        if not isinstance(document, list):
            return self._one(document, budget)
        if not document:
            self._count(None, INVALID_REQUEST)
            return defer.succeed(_encode(error_response(
                None, RpcError(INVALID_REQUEST, data="the batch is empty"))))
        if len(document) > self.max_batch:
            self._count(None, INVALID_REQUEST)
            return defer.succeed(_encode(error_response(None, RpcError(
                INVALID_REQUEST,
                data=f"a batch of {len(document)} requests exceeds {self.max_batch}"))))
        started: list[defer.Deferred[bytes | None]] = []

        def start_all() -> Iterator[None]:
            for item in document:
                started.append(self._one(item, budget))
                yield None

        def join(parts: list[bytes | None]) -> bytes | None:
            kept = [part for part in parts if part is not None]
            return b"[" + b",".join(kept) + b"]" if kept else None

        if self._cooperator is None or len(document) <= BATCH_SLICE:
            for _ in start_all():
                pass
            return defer.gatherResults(started).addCallback(join)
        # a long batch is started a slice at a time, so that other requests (and
        # peers) are served in between
        d = self._cooperator.cooperate(start_all()).whenDone()
        return d.addCallback(lambda _: defer.gatherResults(started)).addCallback(join)

    def _one(self, request: Json, budget: RequestBudget) -> defer.Deferred[bytes | None]:
        if not isinstance(request, Mapping):
            self._count(None, INVALID_REQUEST)
            return defer.succeed(_encode(error_response(
                None, RpcError(INVALID_REQUEST, data="a request is a JSON object"))))
        notification = "id" not in request
        id_ = request.get("id")
        name, params, problem = _read_request(request)
        if problem is not None:
            self._count(request.get("method"), INVALID_REQUEST)
            if not isinstance(id_, (str, int, float)) or isinstance(id_, bool):
                id_ = None
            return defer.succeed(None if notification else _encode(
                error_response(id_, RpcError(INVALID_REQUEST, data=problem))))
        method = self.methods.get(name)
        refused: RpcError | None = None
        reserved = 0
        if method is None:
            refused = RpcError(METHOD_NOT_FOUND, data=f"no method {name!r}")
        elif name in self.disabled:
            refused = RpcError(ACCESS_DENIED, data=f"{name} is disabled on this node")
        else:
            reserved = self._estimate(name, params)
            refused = budget.reserve(reserved)
        if refused is not None or method is None:
            assert refused is not None
            self._count(name, refused.code)
            return defer.succeed(None if notification else _encode(
                error_response(id_, refused)))

        def answer(response: Mapping[str, object]) -> bytes | None:
            outcome = _error_code(response) if "error" in response else OK
            if notification:
                budget.settle(reserved, 0)
                self._count(name, outcome)
                return None
            encoded = self._encode_answer(response, name)
            if encoded is None:
                outcome, encoded = INTERNAL_ERROR, _encode(error_response(
                    id_, RpcError(INTERNAL_ERROR)))
            too_large = budget.settle(reserved, len(encoded))
            if too_large is not None:
                self._count(name, too_large.code)
                return _encode(error_response(id_, too_large))
            self._count(name, outcome)
            return encoded

        def succeeded(result: object) -> bytes | None:
            # encoded as it is: what JSON cannot hold is caught there
            return answer({"jsonrpc": "2.0", "id": id_, "result": result})

        def failed(failure: Failure) -> bytes | None:
            return answer(self._error(failure, id_, name))

        # one callback per request, none for a method that answers at once: a batch
        # of 500 transactions would otherwise spend much of its time in Deferreds
        try:
            result = method(params)
        except Exception:
            return defer.succeed(failed(Failure()))  # type: ignore[no-untyped-call]
        if isinstance(result, defer.Deferred):
            return result.addCallbacks(succeeded, failed)
        return defer.succeed(succeeded(result))

    def _estimate(self, method: str, params: Params) -> int:
        """
        The bytes C{method}'s answer will take, as it can tell before being run (0
        when it cannot, or its params are wrong: the method then says so itself).
        """
        estimate = self.estimates.get(method)
        if estimate is None:
            return 0
        try:
            return max(0, estimate(params))
        except Exception:
            return 0

    def _error(self, failure: Failure, id_: Json, method: str) -> JSON:
        if failure.check(RpcError):  # type: ignore[no-untyped-call]
            error: RpcError = failure.value  # type: ignore[assignment]
        elif failure.check(*PARAM_ERRORS):  # type: ignore[no-untyped-call]
            error = RpcError(INVALID_PARAMS, data=str(failure.value))
        else:
            self._log.failure("RPC method {method} failed", failure, method=method)
            error = RpcError(INTERNAL_ERROR)
        return error_response(id_, error)

    def _encode_answer(self, response: Mapping[str, object], method: str) -> bytes | None:
        """
        The answer encoded; None (logged) when it holds what JSON cannot.
        """
        try:
            return _encode(response)
        except (TypeError, ValueError):
            self._log.failure("RPC method {method} returned what JSON cannot hold",
                              method=method)
            return None

    def _count(self, method: object, outcome: str | int) -> None:
        """
        One request answered: by its method's name if served here, else as unknown.
        """
        label = method if isinstance(method, str) and method in self.methods else (
            UNKNOWN_METHOD)
        self.calls[(label, str(outcome))] += 1


def _time_slice(seconds: float) -> Callable[[], bool]:
    """
    A L{task.Cooperator} budget: a slice of a batch stops after C{seconds}.
    """
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline


def _next_turn(clock: IReactorTime) -> Callable[[Callable[[], None]], IDelayedCall]:
    return lambda work: clock.callLater(0, work)


def _read_request(request: Mapping[str, Json]) -> tuple[str, Params, str | None]:
    """
    A request object's method and params, and what makes it invalid (None: nothing).
    One without C{params} is given an empty list: the reference refuses it, but
    JSON-RPC 2.0 and neo-go allow it.
    """
    id_, method, params = request.get("id"), request.get("method"), request.get("params", [])
    if id_ is not None and (isinstance(id_, bool) or not isinstance(id_, (str, int, float))):
        return "", [], "id must be a string, a number or null"
    if not isinstance(method, str):
        return "", [], "method must be a string"
    if not isinstance(params, list):
        return method, [], "params must be an array"
    return method, params, None


def _error_code(response: Mapping[str, object]) -> int:
    """
    The code of an error response (one this server built).
    """
    error = response["error"]
    assert isinstance(error, Mapping) and isinstance(error["code"], int)
    return error["code"]
