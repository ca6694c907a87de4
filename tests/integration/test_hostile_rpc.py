"""
Hostile RPC clients (issue 20, attack 7: "RPC amplification and browser reach"):
real nodes over loopback, raw HTTP from a client playing the attacker or a web page
in the operator's browser.

Each case says what the attack achieved before; after it the victim still syncs the
honest node's chain and answers honest RPC calls (L{HostileCase.assert_healthy}).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import attrs
from twisted.internet import defer, reactor, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from neo_twisted.core.components import TransactionAttribute
from neo_twisted.core.transactions import ContractTransaction
from neo_twisted.mempool.pool import PoolEntry
from neo_twisted.node.service import NodeService
from neo_twisted.rpc.access import RpcAccess
from neo_twisted.rpc.budget import DEFAULT_MAX_ANSWER
from tests.support.hostile_helpers import HostileCase
from tests.support.node_cluster import heights, wait_until
from tests.support.rpc_client import rpc_call
from tests.support.rpc_server_helpers import Response, parse_response

#: The attack's pool: as many transactions as the default pool holds.
POOL = 50_000
#: The attack's batch: 100 getrawmempool calls.
CALLS = 100
#: Reactor seconds the whole batch may cost now, and the longest the reactor may be
#: held at once while it is served (before: 12.2 s, in one answer of 483 MB).
REACTOR_BUDGET = 0.5
LONGEST_HOLD = 0.25
REMARK = 0xF0


class Collector(Protocol):
    """
    Sends one request and keeps the answer's bytes (joined once, at the end).
    """

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.chunks: list[bytes] = []
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(self.request)

    def dataReceived(self, data: bytes) -> None:
        self.chunks.append(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.done.callback(b"".join(self.chunks))


def http_request(port: int, method: bytes, body: bytes = b"", *headers: bytes,
                 host: bytes | None = None,
                 content_type: bytes | None = b"application/json") -> bytes:
    lines = [method + b" / HTTP/1.1", b"Host: " + (host or b"127.0.0.1:%d" % port),
             b"Connection: close", *headers]
    if content_type is not None:
        lines.append(b"Content-Type: " + content_type)
    lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@defer.inlineCallbacks
def send(port: int, request: bytes) -> Any:
    """
    C{request} sent raw to 127.0.0.1:C{port}; fires with the bytes of the answer.
    """
    collector = Collector(request)
    yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), collector)
    data = yield collector.done
    return data


@attrs.define
class ReactorWatch:
    """
    What the reactor thread spends: its CPU seconds, and (from a timer that should
    fire every C{interval}) the longest it was held at once.
    """

    interval: float = 0.005
    longest: float = 0.0
    cpu: float = 0.0
    _last: float = 0.0
    _cpu_start: float = 0.0
    _loop: task.LoopingCall | None = None

    def start(self) -> None:
        self._last, self._cpu_start = time.perf_counter(), time.thread_time()
        self._loop = task.LoopingCall(self._tick)
        self._loop.start(self.interval, now=False)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last - self.interval)
        self._last = now

    def stop(self) -> None:
        self._tick()
        self.cpu = time.thread_time() - self._cpu_start
        assert self._loop is not None
        self._loop.stop()


def fill_pool(node: NodeService, count: int) -> None:
    """
    C{count} free transactions in C{node}'s pool, as an attacker's flood leaves it.
    """
    assert node.node.mempool is not None
    pool = node.node.mempool.pool
    for n in range(count):
        tx = ContractTransaction(attributes=(
            TransactionAttribute(REMARK, n.to_bytes(4, "little")),))
        outcome, _ = pool.add(PoolEntry(tx, len(tx.to_bytes()), 0, low_priority=True))
        assert outcome.refusal is None, outcome
    assert len(pool) == count


def listing_batch(calls: int) -> bytes:
    return json.dumps([{"jsonrpc": "2.0", "id": k, "method": "getrawmempool", "params": []}
                       for k in range(calls)]).encode()


class AmplificationTests(HostileCase):
    @defer.inlineCallbacks
    def test_batch_of_mempool_listings(self) -> Any:
        """
        Before: a 7.5 KB batch of 100 C{getrawmempool} on a full pool built a 483 MB
        answer in 12.2 s on the reactor (the node served nothing else meanwhile).
        Now the answer stops at the byte cap: the calls past it are refused unrun
        (-32003), the whole batch costs the reactor well under half a second, and
        honest calls sent at the same time are answered.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield wait_until(lambda: heights(victim) == (honest.node.block_height,) * 2,
                         "the victim to sync", timeout=90)
        fill_pool(victim, POOL)
        assert victim.rpc is not None and victim.rpc.port is not None
        port = victim.rpc.port
        batch = listing_batch(CALLS)
        self.assertLess(len(batch), 8000)

        watch = ReactorWatch()
        watch.start()
        attack = send(port, http_request(port, b"POST", batch))
        honest_call = rpc_call(port, "getblockcount")
        data = yield attack
        watch.stop()
        answered = yield honest_call

        response = parse_response(data)
        self.assertEqual(response.status, 200)
        self.assertLessEqual(len(response.body), DEFAULT_MAX_ANSWER + CALLS * 200)
        answers = response.json()
        self.assertEqual(len(answers), CALLS)
        listed = [a for a in answers if "result" in a]
        refused = [a for a in answers if "error" in a]
        self.assertGreaterEqual(len(listed), 1)  # a full pool's listing still fits
        self.assertEqual(len(listed[0]["result"]), POOL)
        self.assertEqual({a["error"]["code"] for a in refused}, {-32003})
        self.assertIn(f"exceed {DEFAULT_MAX_ANSWER} bytes", refused[0]["error"]["data"])
        self.assertLess(watch.cpu, REACTOR_BUDGET, f"reactor CPU {watch.cpu:.3f} s")
        self.assertLess(watch.longest, LONGEST_HOLD, f"reactor held {watch.longest:.3f} s")
        self.assertEqual(answered["result"], honest.node.block_height + 1)
        rpc = victim.rpc.site.resource.original
        self.assertEqual(rpc.budget.used, 0)  # all given back
        yield self.assert_healthy(victim, honest)


class BrowserTests(HostileCase):
    ORIGIN = b"Origin: http://evil.example"

    @defer.inlineCallbacks
    def post(self, port: int, *headers: bytes, **options: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getblockcount",
                           "params": []}).encode()
        data = yield send(port, http_request(port, b"POST", body, *headers, **options))
        return parse_response(data)

    def assert_no_allowance(self, response: Response) -> None:
        self.assertFalse([name for name in response.headers
                          if name.startswith(b"access-control")], response.headers)

    @defer.inlineCallbacks
    def test_web_page_reach(self) -> Any:
        """
        Before: every answer carried C{Access-Control-Allow-Origin: *}, any content
        type and the GET form were served, and the Host header was not looked at: a
        web page the operator opened could read a 127.0.0.1 RPC (CORS, or DNS
        rebinding with a name of its own). Now a page's simple POST (text/plain) is
        refused, a JSON POST's preflight gets no allowance, a foreign Host is refused,
        the GET form is off; honest JSON POSTs are served as before.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield wait_until(lambda: victim.rpc is not None and victim.rpc.port is not None,
                         "the victim's RPC")
        assert victim.rpc is not None and victim.rpc.port is not None
        port = victim.rpc.port

        simple = yield self.post(port, self.ORIGIN, content_type=b"text/plain")
        self.assertEqual(simple.status, 415)
        self.assert_no_allowance(simple)

        data = yield send(port, http_request(
            port, b"OPTIONS", b"", self.ORIGIN, b"Access-Control-Request-Method: POST",
            b"Access-Control-Request-Headers: content-type", content_type=None))
        preflight = parse_response(data)
        self.assertEqual(preflight.status, 204)
        self.assert_no_allowance(preflight)

        cross = yield self.post(port, self.ORIGIN)
        self.assert_no_allowance(cross)  # answered (curl would be), unreadable by the page

        rebound = yield self.post(port, self.ORIGIN, host=b"evil.example:%d" % port)
        self.assertEqual(rebound.status, 403)
        self.assertEqual(rebound.json()["error"]["code"], -400)
        self.assertNotIn("result", rebound.json())

        query = b"GET /?jsonrpc=2.0&method=getblockcount&params=%5B%5D&id=1 HTTP/1.1\r\n"
        data = yield send(port, query + b"Host: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                          % port)
        self.assertEqual(parse_response(data).status, 405)

        yield self.assert_healthy(victim, honest)


class GuardedNodeTests(HostileCase):
    @defer.inlineCallbacks
    def test_auth_and_disabled_methods(self) -> Any:
        """
        Before: no way to ask for credentials or to turn a method off (neo-cli has
        RpcSecurity for both). Now a node started with a user, a password and a
        disabled method refuses callers without the password (401) and answers the
        disabled method with RpcSecurity's -400 "Access denied".
        """
        guarded = self.cluster.start("guarded", rpc_port=0, rpc_access=RpcAccess(
            user="operator", password="correct horse",
            disabled=frozenset({"getrawmempool"})))
        assert guarded.rpc is not None and guarded.rpc.port is not None
        port = guarded.rpc.port
        body = json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "getblockcount",
                            "params": []},
                           {"jsonrpc": "2.0", "id": 2, "method": "getrawmempool",
                            "params": []}]).encode()

        data = yield send(port, http_request(port, b"POST", body))
        anonymous = parse_response(data)
        self.assertEqual(anonymous.status, 401)
        self.assertIn(b"Basic", anonymous.headers[b"www-authenticate"])

        wrong = b"Authorization: Basic " + base64.b64encode(b"operator:wrong")
        data = yield send(port, http_request(port, b"POST", body, wrong))
        self.assertEqual(parse_response(data).status, 401)

        right = b"Authorization: Basic " + base64.b64encode(b"operator:correct horse")
        data = yield send(port, http_request(port, b"POST", body, right))
        answers = parse_response(data).json()
        self.assertEqual(answers[0]["result"], 1)
        self.assertEqual(answers[1]["error"]["code"], -400)
        self.assertEqual(answers[1]["error"]["message"], "Access denied")
