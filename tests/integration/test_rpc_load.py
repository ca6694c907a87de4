"""
RPC under load: 200 concurrent clients against a real node's JSON-RPC server on
loopback, sending valid, invalid and malformed requests, and some that stall.

Every valid request must get the ledger's answer (a client retries on the documented
503 "server busy"), every invalid one its JSON-RPC error code, every malformed one a
4xx or a close. Every connection must end (stalled ones by the site's timeouts,
injected short here), no channel may stay in memory, and the process's RSS must stay
under a bound. C{NEO_RPC_LOAD_SCALE=N} runs N rounds of the 200 clients (a soak run,
a few seconds a round) under the same bound.
"""

from __future__ import annotations

import gc
import json
import os
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from io import BytesIO
from typing import Any
from urllib.parse import quote

import attrs
from twisted.internet import defer, reactor, task
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.logger import Logger
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers

from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.transactions import NEO_ASSET_ID
from neo_twisted.crypto.keys import address_from_script_hash
from neo_twisted.ledger.generator import ChainGenerator, signed_transfer
from neo_twisted.node.service import NodeService
from neo_twisted.rpc.access import RpcAccess
from neo_twisted.rpc.server import JsonRpcResource
from neo_twisted.rpc.site import RpcSite
from tests.support.ledger_samples import DEV_KEYS, PRIVNET
from tests.support.node_cluster import CHAIN_SEED, Cluster, wait_until
from tests.support.rpc_client import rpc_call
from tests.support.rpc_raw_clients import ABORT, CHAIN, TIMEOUT, Build, RawClient, raw_cases, rpc

SCALE = max(1, int(os.environ.get("NEO_RPC_LOAD_SCALE", "1")))
#: Agent clients (each on its keep-alive connection), and clients of each raw case.
VALID_CLIENTS, INVALID_CLIENTS, RAW_REPEATS = 100, 37, 3
CLIENTS = 200
#: Requests each Agent client sends, one after the other.
ROUNDS = 8
#: Growth of the process's resident memory allowed (generous: the clients run here
#: too, and three of them send 11 MB bodies).
RSS_LIMIT = 200 * 1024 * 1024
#: Growth allowed after the first round: a soak run must level off.
SOAK_GROWTH = 32 * 1024 * 1024
BUSY_RETRIES = 500
UNKNOWN_HASH = "0x" + "42" * 32
PEER = IPv4Address("TCP", "127.0.0.1", 40000)

#: (request id, HTTP status, decoded answer) -> what is wrong (None: nothing).
Expect = Callable[[str, int, Any], "str | None"]


@attrs.frozen
class Call:
    """
    One kind of request and what must come back.
    """

    name: str
    build: Build
    expect: Expect
    get: bool = False


def result_is(value: Any) -> Expect:
    def check(id_: str, status: int, answer: Any) -> str | None:
        wanted = {"jsonrpc": "2.0", "id": id_, "result": value}
        return None if (status, answer) == (200, wanted) else (
            f"got {status} {answer!r:.300}, wanted {wanted!r:.300}")
    return check


def error_is(*codes: int, echoed: bool = True) -> Expect:
    """
    A JSON-RPC error with one of C{codes}, and the request's id (null if not C{echoed}).
    """
    def check(id_: str, status: int, answer: Any) -> str | None:
        ok = (status == 200 and isinstance(answer, dict) and "result" not in answer
              and answer.get("id") == (id_ if echoed else None)
              and answer.get("error", {}).get("code") in codes)
        return None if ok else f"got {status} {answer!r:.300}, wanted error {codes}"
    return check


def ok(name: str, result: Any, method: str, *params: Any) -> Call:
    return Call(name, rpc(method, *params), result_is(result))


def refused(name: str, code: int, method: str, *params: Any) -> Call:
    return Call(name, rpc(method, *params), error_is(code))


def shaped(name: str, code: int, echoed: bool = True, **fields: Any) -> Call:
    """
    A request object with C{fields} (over the usual ones) refused with C{code}.
    """
    return Call(name, lambda id_: {"jsonrpc": "2.0", "id": id_, **fields},
                error_is(code, echoed=echoed))


def batch(name: str, *items: tuple[Build, Expect | None]) -> Call:
    """
    A batch of C{items}; those expecting None are notifications (no id, no answer).
    """
    def build(id_: str) -> list[Any]:
        documents = [make(f"{id_}.{k}") for k, (make, _) in enumerate(items)]
        for document, (_, expect) in zip(documents, items, strict=True):
            if expect is None:
                del document["id"]
        return documents

    def check(id_: str, status: int, answer: Any) -> str | None:
        wanted = [(f"{id_}.{k}", expect) for k, (_, expect) in enumerate(items) if expect]
        if status != 200 or not isinstance(answer, list) or len(answer) != len(wanted):
            return f"got {status} {answer!r:.300}"
        problems = [problem for (item_id, expect), item in zip(wanted, answer, strict=True)
                    if (problem := expect(item_id, 200, item)) is not None]
        return problems[0] if problems else None
    return Call(name, build, check)


@attrs.frozen
class Facts:
    """
    What the ledger holds, read before the load: the answers valid requests must get.
    """

    hashes: list[str]
    raw: list[str]
    txids: list[list[str]]
    tx_raw: dict[str, str]
    verbose: list[Any]
    version: dict[str, Any]
    unsigned_tx: str
    address: str

    @property
    def height(self) -> int:
        return len(self.hashes) - 1


def read_facts(node: NodeService) -> Facts:
    """
    The answers, from the node's ledger (and the generator, for an unsigned transfer).
    """
    ledger = node.node.ledger.ledger
    assert ledger is not None and node.node.connections.listening_port is not None
    blocks: list[Any] = [ledger.get_block(i) for i in range(ledger.block_height + 1)]
    generator = ChainGenerator(PRIVNET, DEV_KEYS, 1, CHAIN_SEED)
    for _ in range(CHAIN):
        generator.next_block()
    (ref, value, key), (_, _, payee) = generator.coins()[:2]
    transfer = signed_transfer([ref], [TransactionOutput(NEO_ASSET_ID, value, payee.script_hash)],
                               [key])
    assert all(block is not None for block in blocks)
    return Facts(
        hashes=[str(block.hash) for block in blocks], raw=[b.to_bytes().hex() for b in blocks],
        txids=[[str(tx.hash) for tx in block.transactions] for block in blocks],
        tx_raw={str(tx.hash): tx.to_bytes().hex() for block in blocks
                for tx in block.transactions},
        verbose=[], version={"port": node.node.connections.listening_port,
                             "nonce": node.node.nonce, "useragent": node.node.user_agent},
        unsigned_tx=attrs.evolve(transfer, witnesses=()).to_bytes().hex(),
        address=address_from_script_hash(key.script_hash))


def valid_calls(facts: Facts, i: int) -> list[Call]:
    """
    The valid request kinds, about block C{i}.
    """
    top, txid, address = facts.height, facts.txids[i][-1], facts.address
    wrong = address[:-1] + ("a" if address[-1] != "a" else "b")
    return [
        ok("getblockcount", top + 1, "getblockcount"),
        ok("getbestblockhash", facts.hashes[top], "getbestblockhash"),
        ok("getblockhash", facts.hashes[i], "getblockhash", i),
        ok("getblock by index", facts.raw[i], "getblock", i),
        ok("getblock by hash", facts.raw[i], "getblock", facts.hashes[i], 0),
        ok("getblock verbose", facts.verbose[i], "getblock", i, True),
        ok("getblock verbose by hash", facts.verbose[i], "getblock", facts.hashes[i], 1),
        ok("getrawtransaction", facts.tx_raw[txid], "getrawtransaction", txid),
        ok("getconnectioncount", 0, "getconnectioncount"),
        ok("getpeers", {"unconnected": [], "bad": [], "connected": []}, "getpeers"),
        ok("getversion", facts.version, "getversion"),
        ok("getrawmempool", [], "getrawmempool"),
        ok("validateaddress", {"address": address, "isvalid": True}, "validateaddress", address),
        ok("validateaddress (bad)", {"address": wrong, "isvalid": False}, "validateaddress",
           wrong),
        batch("batch", (rpc("getblockcount"), result_is(top + 1)),
              (rpc("getblockhash", i), result_is(facts.hashes[i])),
              (rpc("getblockcount"), None),
              (rpc("getblock", i, True), result_is(facts.verbose[i]))),
        # longer than a slice (50): started a reactor turn at a time
        batch("long batch", *[(rpc("getblockhash", k % (top + 1)),
                               result_is(facts.hashes[k % (top + 1)])) for k in range(60)]),
        Call("GET form", lambda id_: f"jsonrpc=2.0&method=getblockhash&params="
                                     f"{quote(json.dumps([i]))}&id={id_}",
             result_is(facts.hashes[i]), get=True),
    ]


def invalid_calls(facts: Facts, i: int) -> list[Call]:
    """
    Well-formed JSON-RPC that must be refused, each with its code.
    """
    tx = facts.tx_raw[facts.txids[i][-1]]  # a confirmed transaction
    return [
        refused("unknown method", -32601, "getnothing"),
        refused("negative index", -32602, "getblockhash", -1),
        refused("getblock without params", -32602, "getblock"),
        refused("height over the tip", -100, "getblockhash", facts.height + 1),
        refused("unknown block", -100, "getblock", UNKNOWN_HASH, True),
        refused("unknown transaction", -100, "getrawtransaction", UNKNOWN_HASH),
        refused("txid not hex", -32602, "getrawtransaction", "nothex"),
        refused("transaction not hex", -32602, "sendrawtransaction", "zz"),
        refused("transaction truncated", -32602, "sendrawtransaction", tx[:-2]),
        refused("transaction confirmed", -501, "sendrawtransaction", tx),
        # -501 while the same transaction from another client is being verified
        Call("transaction unsigned", rpc("sendrawtransaction", facts.unsigned_tx),
             error_is(-504, -501)),
        # params may be left out (as neo-go allows): the method takes none
        Call("no params", lambda id_: {"jsonrpc": "2.0", "id": id_, "method": "getblockcount"},
             result_is(facts.height + 1)),
        shaped("params an object", -32600, method="getblock", params={"index": 1}),
        shaped("id a list", -32600, echoed=False, id=[1], method="getblockcount", params=[]),
        Call("empty batch", lambda id_: [], error_is(-32600, echoed=False)),
        Call("batch over the limit", lambda id_: [rpc("getblockcount")(f"{id_}.{k}")
                                                  for k in range(1001)],
             error_is(-32600, echoed=False)),
        batch("mixed batch", (rpc("getblockcount"), result_is(facts.height + 1)),
              (rpc("nosuchmethod"), error_is(-32601)),
              (rpc("getblockhash", "x"), error_is(-32602)),
              (lambda id_: {"id": id_, "method": 5, "params": []}, error_is(-32600))),
        Call("not JSON", lambda id_: b'{"jsonrpc": "2.0", "id": "' + id_.encode(),
             error_is(-32700, echoed=False)),
    ]


@defer.inlineCallbacks
def send(agent: Agent, url: bytes, call: Call, id_: str, stats: Counter[str]) -> Any:
    """
    Send one request (again while the server answers 503 busy); fires with (status, answer).
    """
    document = call.build(id_)
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    for _ in range(BUSY_RETRIES):
        stats["requests"] += 1
        if call.get:
            response = yield agent.request(b"GET", url + b"?" + document.encode())
        else:
            response = yield agent.request(
                b"POST", url, Headers({b"Content-Type": [b"application/json"]}),
                FileBodyProducer(BytesIO(body)))
        answer = json.loads((yield readBody(response)) or b"null")
        if response.code != 503 or answer["error"]["code"] != -32000:
            return response.code, answer
        stats["busy"] += 1  # the documented answer to too many requests at once
        yield task.deferLater(reactor, 0.01, lambda: None)
    raise AssertionError(f"busy {BUSY_RETRIES} times")


@defer.inlineCallbacks
def http_client(number: int, url: bytes, calls: Sequence[Call], stats: Counter[str],
                pools: list[HTTPConnectionPool]) -> Any:
    """
    One client on one keep-alive connection: ROUNDS requests, one after the other;
    fires with what went wrong.
    """
    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 1
    pools.append(pool)
    agent, problems = Agent(reactor, pool=pool), []
    for round_ in range(ROUNDS):
        call, id_ = calls[(number * 7 + round_) % len(calls)], f"{number}-{round_}"
        try:
            status, answer = yield send(agent, url, call, id_, stats)
            problem = call.expect(id_, status, answer)
        except Exception as e:  # one more problem to report
            problem = repr(e)
        if problem is not None:
            problems.append(f"{call.name}: {problem}")
    return problems


def rss() -> int:
    """
    The resident memory of this process, in bytes.
    """
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Watch:
    """
    The server's channels (each HTTP connection it accepted) and the peak RSS, sampled.
    """

    def __init__(self, site: RpcSite) -> None:
        self.channels: list[Any] = []
        self.peak_open = 0
        self.start_rss = self.peak_rss = rss()
        build = site.buildProtocol

        def track(addr: Any) -> Any:
            self.channels.append(build(addr))
            return self.channels[-1]

        site.buildProtocol = track  # type: ignore[method-assign]
        self._sampling = task.LoopingCall(self.sample)
        self._sampling.start(0.05)

    def open(self) -> list[Any]:
        return [c for c in self.channels if c.transport is not None and c.transport.connected]

    def sample(self) -> None:
        self.peak_open = max(self.peak_open, len(self.open()))
        self.peak_rss = max(self.peak_rss, rss())

    def alive_after_gc(self) -> int:
        """
        Channels of ended connections still in memory (they would add up in a node).
        """
        refs = [weakref.ref(channel) for channel in self.channels]
        self.channels.clear()
        gc.collect()
        return sum(ref() is not None for ref in refs)

    def stop(self) -> None:
        if self._sampling.running:
            self.sample()
            self._sampling.stop()


class LoadTests(TestCase):
    timeout = 60 + 30 * SCALE
    _log = Logger()

    @defer.inlineCallbacks
    def test_two_hundred_clients(self) -> Any:
        """
        SCALE rounds of 200 clients at once; after each, every connection has ended, no
        request is still being answered and no channel is left in memory.
        """
        # the GET form is an option now: on, to be loaded as well
        node = Cluster(self).start("rpc", chain=CHAIN, rpc_port=0, peers_file=False,
                                   rpc_access=RpcAccess(allow_get=True))
        assert node.rpc is not None and node.rpc.port is not None
        site = node.rpc.site
        assert isinstance(site, RpcSite)
        site.timeOut, site.abort_timeout = TIMEOUT, ABORT  # before any connection
        resource = site.resource.original
        assert isinstance(resource, JsonRpcResource)
        facts = read_facts(node)
        for index, hash_ in enumerate(facts.hashes):  # one at a time, before the load
            verbose = (yield rpc_call(node.rpc.port, "getblock", index, True))["result"]
            self.assertEqual((verbose["hash"], verbose["index"], verbose["confirmations"]),
                             (hash_, index, facts.height - index + 1))
            self.assertEqual([tx["txid"] for tx in verbose["tx"]], facts.txids[index])
            facts.verbose.append(verbose)
        gc.collect()
        watch = Watch(site)
        self.addCleanup(watch.stop)
        for round_ in range(SCALE):
            started = reactor.seconds()
            stats = yield self.load_round(node.rpc.port, facts, watch)
            self.assertEqual(resource.active, 0)
            self.assertGreaterEqual(len(watch.channels), CLIENTS)
            self.assertEqual(watch.alive_after_gc(), 0)
            self.assertLess(watch.peak_rss - watch.start_rss, RSS_LIMIT)
            if round_ == 0:
                first_rss = rss()
            self.assertLess(rss() - first_rss, SOAK_GROWTH, f"growing after {round_} rounds")
            self._log.info(
                "round {round}: {clients} clients, {peak} connections at once, {stats}, "
                "all closed after {seconds:.1f} s, RSS +{rss} MiB (peak +{peak_rss} MiB)",
                round=round_, clients=CLIENTS, peak=watch.peak_open, stats=dict(stats),
                seconds=reactor.seconds() - started, rss=(rss() - watch.start_rss) >> 20,
                peak_rss=(watch.peak_rss - watch.start_rss) >> 20)

    @defer.inlineCallbacks
    def load_round(self, port: int, facts: Facts, watch: Watch) -> Any:
        """
        The 200 clients at once, then what each got; fires with the HTTP requests sent.
        """
        url = f"http://127.0.0.1:{port}/".encode()
        stats: Counter[str] = Counter()
        pools: list[HTTPConnectionPool] = []
        self.addCleanup(lambda: defer.gatherResults(
            [pool.closeCachedConnections() for pool in pools]))
        clients = [http_client(n, url, valid_calls(facts, n % (facts.height + 1)), stats, pools)
                   for n in range(VALID_CLIENTS)]
        clients += [http_client(n, url, invalid_calls(facts, n % (facts.height + 1)), stats,
                                pools) for n in range(INVALID_CLIENTS)]
        cases = raw_cases(json.dumps(rpc("getblockcount")("raw")).encode()) * RAW_REPEATS
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
        raw = yield defer.gatherResults([
            connectProtocol(endpoint, RawClient(case.parts, case.gap, case.read))
            for case in cases])
        self.addCleanup(lambda: [client.transport.abortConnection() for client in raw
                                 if not client.closed.called])
        problems = yield defer.gatherResults(clients)
        yield defer.gatherResults([pool.closeCachedConnections() for pool in pools])
        yield wait_until(lambda: not watch.open(), "every server channel closed",
                         timeout=30, describe=lambda: f"{len(watch.open())} open")
        for client in raw:
            if not client.read:  # it sees the close only when it reads again
                client.transport.resumeProducing()
        yield wait_until(lambda: all(client.closed.called for client in raw),
                         "every raw client closed", timeout=10, describe=lambda: ", ".join(
                             case.name for case, client in zip(cases, raw, strict=True)
                             if not client.closed.called))
        problems = [p for client_problems in problems for p in client_problems] + [
            f"{case.name}: {problem}" for case, client in zip(cases, raw, strict=True)
            if (problem := case.problem(client)) is not None]
        self.assertEqual(problems, [], "\n".join(problems[:20]))
        del raw[:], pools[:]  # what the cleanups hold: the next round must not see it
        return stats
