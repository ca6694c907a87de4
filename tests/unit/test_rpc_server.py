"""
Tests for L{neo_twisted.rpc.server}: JSON-RPC 2.0 over HTTP, driven with raw HTTP bytes
through the real site and channel on a L{StringTransport}, and hostile requests.
"""

from __future__ import annotations

import base64
import json
from typing import Any, SupportsInt, cast
from urllib.parse import quote

from twisted.internet.interfaces import IReactorTime
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.rpc.access import AccessPolicy, RpcAccess
from neo_twisted.rpc.budget import AnswerBudget
from neo_twisted.rpc.errors import RpcError
from neo_twisted.rpc.params import Params
from neo_twisted.rpc.server import JsonRpcResource
from neo_twisted.rpc.site import make_site
from tests.support.rpc_server_helpers import (
    CLIENT,
    ServerTestCase,
    call,
    parse_response,
)


class RequestTests(ServerTestCase):
    def test_single_call(self) -> None:
        response = self.post(call("add", (2, 3)))
        self.assertEqual(response.status, 200)
        self.assertEqual(response.json(), {"jsonrpc": "2.0", "id": 1, "result": 5})

    def test_headers(self) -> None:
        """
        The reference's C{Access-Control-Allow-Origin: *} is gone: no CORS header
        unless the operator names origins (L{tests.unit.test_rpc_access}).
        """
        headers = self.post(call("echo"), b"Origin: http://wallet.example").headers
        self.assertEqual(headers[b"content-type"], b"application/json-rpc")
        self.assertFalse([name for name in headers if name.startswith(b"access-control")])

    def test_cors_preflight_without_allowance(self) -> None:
        _, transport = self.raw(b"OPTIONS / HTTP/1.1\r\nHost: localhost\r\n"
                                b"Origin: http://wallet.example\r\n\r\n")
        response = parse_response(transport.value())
        self.assertEqual(response.status, 204)
        self.assertEqual(response.headers[b"allow"], b"POST, OPTIONS")
        self.assertNotIn(b"access-control-allow-origin", response.headers)

    def test_ids_echoed(self) -> None:
        for id_ in ("abc", 7, 2.5, None):
            self.assertEqual(self.post(call("echo", id_=id_)).json()["id"], id_)

    def test_any_path(self) -> None:
        body = json.dumps(call("echo", ("x",))).encode()
        _, transport = self.raw(b"POST /some/path HTTP/1.1\r\nHost: localhost\r\n"
                                b"Content-Type: application/json\r\n"
                                b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.assertEqual(parse_response(transport.value()).json()["result"], ["x"])

    def test_gzip(self) -> None:
        response = self.post(call("echo", ("z" * 2000,)), b"Accept-Encoding: gzip")
        self.assertEqual(response.headers[b"content-encoding"], b"gzip")
        self.assertEqual(response.json()["result"], ["z" * 2000])

    def test_batch(self) -> None:
        response = self.post([call("add", (1, 1), 1), {"jsonrpc": "2.0", "method": "notify",
                                                      "params": ["n"]},
                              call("nosuch", (), 3), call("echo", (), 4)])
        self.assertEqual(response.json(), [
            {"jsonrpc": "2.0", "id": 1, "result": 2},
            {"jsonrpc": "2.0", "id": 3, "error": {"code": -32601, "message": "Method not found",
                                                  "data": "no method 'nosuch'"}},
            {"jsonrpc": "2.0", "id": 4, "result": []}])
        self.assertEqual(self.methods.notified, [["n"]])

    def test_notification_gets_no_answer(self) -> None:
        response = self.post({"jsonrpc": "2.0", "method": "notify", "params": [1]})
        self.assertEqual((response.status, response.body), (200, b""))
        self.assertEqual(self.methods.notified, [[1]])
        response = self.post([{"jsonrpc": "2.0", "method": "notify", "params": [2]}])
        self.assertEqual(response.body, b"")

    def test_deferred_result(self) -> None:
        transport = self.post_raw(json.dumps(call("later")).encode())
        self.assertEqual(transport.value(), b"")
        self.methods.later[0].callback({"height": 5})
        self.assertEqual(parse_response(transport.value()).json()["result"], {"height": 5})
        self.assertEqual(self.resource.active, 0)

    def test_keep_alive(self) -> None:
        protocol, transport = self.connect()
        for n in range(3):
            body = json.dumps(call("add", (n, n))).encode()
            protocol.dataReceived(b"POST / HTTP/1.1\r\nHost: localhost\r\n"
                                  b"Content-Type: application/json\r\n"
                                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.assertEqual(parse_response(transport.value()).json()["result"], 2 * n)
            transport.clear()
        self.assertFalse(transport.disconnecting)


class Turns:
    """
    A clock whose C{callLater(0)} calls run at the next L{turn}, as a reactor's next
    iteration would (L{MemoryReactorClock} runs those scheduled while it advances).
    """

    def __init__(self) -> None:
        self.pending: list[tuple[Any, tuple[Any, ...]]] = []

    def callLater(self, delay: float, f: Any, *args: Any) -> Any:
        self.pending.append((f, args))
        return self

    def cancel(self) -> None:
        pass

    def turn(self) -> None:
        calls, self.pending = self.pending, []
        for f, args in calls:
            f(*args)


class SlicedBatchTests(SynchronousTestCase):
    def test_long_batch_started_in_slices(self) -> None:
        """
        With a clock, a long batch is started a slice at a time, one reactor turn each
        (here a slice of no time: one request per turn), and answered in order.
        """
        clock = Turns()
        started: list[int] = []

        def n(params: Params) -> int:
            number = cast(int, params[0])
            started.append(number)
            return number

        resource = JsonRpcResource({"n": n}, clock=cast(IReactorTime, clock), slice_seconds=0)
        d = resource.handle([call("n", (i,), i) for i in range(60)])
        self.assertEqual(started, [])
        clock.turn()
        self.assertEqual(started, [0])
        clock.turn()
        self.assertEqual(started, [0, 1])
        for _ in range(60):
            clock.turn()
        self.assertEqual(started, list(range(60)))
        answers = json.loads(self.successResultOf(d) or b"")
        self.assertEqual([a["result"] for a in answers], list(range(60)))

    def test_short_batch_at_once(self) -> None:
        resource = JsonRpcResource({"n": lambda params: params[0]}, clock=MemoryReactorClock(),
                                   slice_seconds=0)
        d = resource.handle([call("n", (i,), i) for i in range(50)])
        self.assertEqual(len(json.loads(self.successResultOf(d) or b"")), 50)


class GetFormTests(ServerTestCase):
    """
    The GET form, turned on (C{--rpc-allow-get}).
    """

    def setUp(self) -> None:
        super().setUp()
        self.resource.access = AccessPolicy(RpcAccess(allow_get=True))

    def test_plain_params(self) -> None:
        response = self.get("jsonrpc=2.0&method=add&params=" + quote("[4,5]") + "&id=9")
        self.assertEqual(response.json(), {"jsonrpc": "2.0", "id": "9", "result": 9})

    def test_base64_params(self) -> None:
        params = quote(base64.b64encode(b'["x", 1]').decode())
        response = self.get(f"method=echo&params={params}&id=1")
        self.assertEqual(response.json()["result"], ["x", 1])

    def test_no_id_still_answered(self) -> None:
        self.assertEqual(self.get("method=echo&params=%5B%5D").json()["id"], None)

    def test_incomplete_query(self) -> None:
        for query in ("method=echo", "params=%5B%5D", "", "method=echo&params=%7Bnot"):
            error = self.get(query).json()["error"]
            self.assertEqual(error["code"], -32700, query)


class ErrorTests(ServerTestCase):
    def error(self, document: Any) -> dict[str, Any]:
        answer = self.post(document).json()
        self.assertNotIn("result", answer)
        error: dict[str, Any] = answer["error"]
        return error

    def assert_code(self, code: int, document: Any) -> dict[str, Any]:
        error = self.error(document)
        self.assertEqual(error["code"], code)
        return error

    def test_parse_errors(self) -> None:
        # the last is deeper than the parser recurses
        for body in (b"{", b"", b"\xff\xfe", b"[1, 2", b'{"a": NaN}', b"[" * 4000):
            response = parse_response(self.post_raw(body).value())
            self.assertEqual(response.status, 200)
            answer = response.json()
            self.assertEqual((answer["id"], answer["error"]["code"],
                              answer["error"]["message"]), (None, -32700, "Parse error"), body)

    def test_invalid_requests(self) -> None:
        for document in ([], 5, "call", [5], {"id": 1, "params": []},
                         {"id": 1, "method": 5, "params": []},
                         {"id": 1, "method": "echo", "params": {"a": 1}},
                         {"id": [1], "method": "echo", "params": []}):
            answer = self.post(document).json()
            first = answer[0] if isinstance(answer, list) else answer
            self.assertEqual(first["error"]["code"], -32600, document)
            self.assertEqual(first["error"]["message"], "Invalid Request")

    def test_invalid_request_keeps_its_id(self) -> None:
        self.assertEqual(self.post({"id": 4, "method": "echo", "params": 5}).json()["id"], 4)

    def test_batch_too_long(self) -> None:
        error = self.assert_code(-32600, [call("echo")] * 6)
        self.assertIn("exceeds 5", error["data"])
        self.assertEqual(len(self.post([call("echo")] * 5).json()), 5)

    def test_unknown_method(self) -> None:
        self.assert_code(-32601, call("getnothing"))

    def test_method_errors(self) -> None:
        self.assertEqual(self.error(call("unknown_block")),
                         {"code": -100, "message": "Unknown block"})
        self.assertEqual(self.assert_code(-32602, call("bad_hex", ("zz",)))["message"],
                         "Invalid params")
        self.assert_code(-32602, call("add", (1,)))  # IndexError: a parameter is missing
        self.assertIn("maximum", self.assert_code(-32602, call("bad_format"))["data"])

    def test_bug_is_internal_error_and_logged(self) -> None:
        error = self.error(call("broken"))
        self.assertEqual(error, {"code": -32603, "message": "Internal error"})
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_unencodable_result(self) -> None:
        self.assert_code(-32603, call("unencodable"))
        self.assertEqual(len(self.flushLoggedErrors(TypeError)), 1)

    def test_rpc_error_data(self) -> None:
        error = RpcError(-504, "Block or transaction validation failed.", "input spent")
        self.assertEqual(error.to_json(), {"code": -504, "data": "input spent",
                                           "message": "Block or transaction validation failed."})


class LimitTests(ServerTestCase):
    def test_body_over_limit_by_length(self) -> None:
        _, transport = self.raw(b"POST / HTTP/1.1\r\nHost: localhost\r\n"
                                b"Content-Length: 100000000\r\n\r\n" + b"[" * 1000)
        response = parse_response(transport.value())
        self.assertEqual(response.status, 413)
        self.assertEqual(response.json()["error"]["code"], -32600)
        self.assertIn("exceeds 4096 bytes", response.json()["error"]["data"])
        self.assertTrue(transport.disconnecting)

    def test_body_over_limit_chunked(self) -> None:
        protocol, transport = self.raw(b"POST / HTTP/1.1\r\nHost: localhost\r\n"
                                       b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"a" * 1000
        for _ in range(4):
            protocol.dataReceived(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        self.assertEqual(transport.value(), b"")
        protocol.dataReceived(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        self.assertEqual(parse_response(transport.value()).status, 413)
        self.assertTrue(transport.disconnecting)
        protocol.dataReceived(b"0\r\n\r\n")  # the rest is ignored
        self.assertEqual(self.resource.active, 0)

    def test_body_at_limit(self) -> None:
        document = call("echo", ("x" * (self.max_body - 100),))
        body = json.dumps(document).encode()
        body += b" " * (self.max_body - len(body))
        self.assertEqual(parse_response(self.post_raw(body).value()).status, 200)

    def test_concurrent_requests(self) -> None:
        waiting = [self.post_raw(json.dumps(call("later")).encode()) for _ in range(2)]
        self.assertEqual(self.resource.active, 2)
        busy = self.post(call("echo"))
        self.assertEqual(busy.status, 503)
        self.assertEqual(busy.json()["error"]["code"], -32000)
        for d in self.methods.later:
            d.callback(True)
        for transport in waiting:
            self.assertIs(parse_response(transport.value()).json()["result"], True)
        self.assertEqual(self.post(call("echo")).status, 200)

    def test_client_gone_before_the_answer(self) -> None:
        protocol, transport = self.connect()
        body = json.dumps(call("later")).encode()
        protocol.dataReceived(b"POST / HTTP/1.1\r\nHost: localhost\r\n"
                              b"Content-Type: application/json\r\n"
                              b"Content-Length: %d\r\n\r\n" % len(body) + body)
        protocol.connectionLost(Exception("gone"))
        self.methods.later[0].callback("late")
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.resource.active, 0)

    def test_idle_connection_closed(self) -> None:
        _, transport = self.raw(b"POST / HTTP/1.1\r\nHost: localhost\r\n")  # never finished
        self.clock.advance(29)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(2)
        self.assertTrue(transport.disconnecting)

    def test_unsupported_method(self) -> None:
        _, transport = self.raw(b"DELETE / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertEqual(parse_response(transport.value()).status, 501)  # Not Implemented


class AnswerSizeTests(SynchronousTestCase):
    """
    Answers are capped in bytes: estimated calls are refused unrun, the others once
    encoded, and a request's spent budget refuses its later calls unrun.
    """

    def setUp(self) -> None:
        self.runs: list[str] = []

        def big(params: Params) -> str:
            self.runs.append("big")
            return "b" * int(cast(SupportsInt, params[0]))

        def small(params: Params) -> int:
            self.runs.append("small")
            return 1

        self.resource = JsonRpcResource(
            {"big": big, "small": small, "echo": lambda params: params},
            estimates={"big": lambda params: cast(int, params[0]) + 50},
            budget=AnswerBudget(1000, total=1500), disabled={"echo"})

    def answers(self, document: Any, budget: Any = None) -> Any:
        return json.loads(self.successResultOf(self.resource.handle(document, budget)) or b"")

    def test_estimated_answer_over_the_cap_is_not_built(self) -> None:
        answer = self.answers(call("big", (2000,)))
        self.assertEqual(answer["error"]["code"], -32003)
        self.assertEqual(answer["error"]["message"], "Response too large")
        self.assertIn("exceed 1000 bytes", answer["error"]["data"])
        self.assertEqual(self.runs, [])

    def test_batch_stops_at_the_cap(self) -> None:
        answers = self.answers([call("big", (250,), k) for k in range(5)]
                               + [call("small", (), 9)])
        self.assertEqual([a.get("error", {}).get("code") for a in answers],
                         [None, None, None, -32003, -32003, -32003])
        self.assertEqual(self.runs, ["big"] * 3)

    def test_answer_checked_once_encoded(self) -> None:
        """
        Without an estimate, an answer over the cap is replaced by the error.
        """
        self.resource.estimates.clear()
        answers = self.answers([call("big", (600,), 1), call("big", (600,), 2),
                                call("small", (), 3)])
        self.assertEqual(len(answers[0]["result"]), 600)
        self.assertEqual(answers[1]["error"]["code"], -32003)
        self.assertEqual(answers[2]["error"]["code"], -32003)
        self.assertEqual(self.runs, ["big", "big"])

    def test_server_total(self) -> None:
        """
        Requests being answered at once share the server's total: past it, "busy".
        """
        held = self.resource.budget.open()
        self.assertIsNone(held.reserve(900))
        answer = self.answers(call("big", (700,)))
        self.assertEqual(answer["error"]["code"], -32000)
        held.close()
        self.assertEqual(self.resource.budget.used, 0)
        self.assertEqual(len(self.answers(call("big", (700,)))["result"]), 700)

    def test_budget_given_back_when_answered(self) -> None:
        site = make_site(self.resource, reactor=MemoryReactorClock())
        for _ in range(3):
            protocol = site.buildProtocol(CLIENT)
            transport = StringTransport(peerAddress=CLIENT)
            protocol.makeConnection(transport)
            body = json.dumps(call("big", (900,))).encode()
            protocol.dataReceived(b"POST / HTTP/1.1\r\nHost: localhost\r\n"
                                  b"Content-Type: application/json\r\n"
                                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.assertEqual(len(parse_response(transport.value()).json()["result"]), 900)
            self.assertEqual(self.resource.budget.used, 0)

    def test_disabled_method(self) -> None:
        """
        As neo-cli's RpcSecurity plugin answers a disabled method.
        """
        answer = self.answers(call("echo", ("x",)))
        self.assertEqual(answer["error"], {"code": -400, "message": "Access denied",
                                           "data": "echo is disabled on this node"})
