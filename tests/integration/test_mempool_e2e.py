"""
End to end: a transaction sent by RPC crosses a line of three nodes (A-B-C) over
loopback TCP, each link carrying it once; a double spend is refused; the next
block empties every pool.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import defer, reactor, task
from twisted.trial.unittest import TestCase

from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import NEO_ASSET_ID
from neo_twisted.ledger.generator import ChainGenerator, account_keys, signed_transfer
from neo_twisted.node.service import NodeService
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.support.ledger_samples import DEV_KEYS, PRIVNET, make_block
from tests.support.node_cluster import CHAIN_SEED, Cluster, heights, wait_until
from tests.support.rpc_client import rpc_call

BLOCKS = 60
PAYEE = account_keys(1234, 1)[0]


def tx_messages_in(node: NodeService) -> dict[int, int]:
    """
    C{tx} messages each of the node's connections received, by the peer's listening port.
    """
    return {peer.listener.port: peer.messages_in.get("tx", 0)
            for peer in node.node.established_peers() if peer.listener is not None}


class TransactionRelayTests(TestCase):
    timeout = 120

    def coins(self) -> list[tuple[Any, int, Any]]:
        generator = ChainGenerator(PRIVNET, DEV_KEYS, 1, CHAIN_SEED)
        for _ in range(BLOCKS):
            generator.next_block()
        return generator.coins()

    @staticmethod
    def pay(coin: tuple[Any, int, Any], back: int = 0) -> Transaction:
        ref, value, key = coin
        outputs = [TransactionOutput(NEO_ASSET_ID, value - back * FIXED8_ONE, PAYEE.script_hash)]
        if back:
            outputs.append(TransactionOutput(NEO_ASSET_ID, back * FIXED8_ONE, key.script_hash))
        return signed_transfer([ref], outputs, [key])

    @defer.inlineCallbacks
    def test_line_of_three(self) -> Generator[defer.Deferred[Any], Any, None]:
        cluster = Cluster(self)
        a = cluster.start("a", chain=BLOCKS, max_peers=1, min_peers=1, rpc_port=0)
        b = cluster.start("b", chain=BLOCKS, seeds=[a], min_peers=1, max_peers=3)
        c = cluster.start("c", chain=BLOCKS, seeds=[b], min_peers=1, max_peers=1, rpc_port=0)
        yield wait_until(lambda: len(b.node.established_peers()) == 2
                         and len(c.node.established_peers()) == 1, "the line A-B-C")
        assert a.rpc is not None and c.rpc is not None
        assert a.rpc.port is not None and c.rpc.port is not None
        coin = self.coins()[0]
        tx = self.pay(coin)
        answer = yield rpc_call(a.rpc.port, "sendrawtransaction", tx.to_bytes().hex())
        self.assertEqual(answer, {"jsonrpc": "2.0", "id": 1, "result": True})

        def pools() -> list[int]:
            return [len(n.node.mempool or ()) for n in (a, b, c)]

        yield wait_until(lambda: pools() == [1, 1, 1], "the transaction in every pool",
                         describe=lambda: f"pools {pools()}")
        for node in (a, b, c):
            self.assertIn(tx.hash, node.node.mempool)
        port = {name: n.node.connections.listening_port for name, n in
                (("a", a), ("b", b), ("c", c))}
        # give a stray second copy the time to show up before counting
        yield task.deferLater(reactor, 0.5, lambda: None)
        self.assertEqual(tx_messages_in(a), {port["b"]: 0})
        self.assertEqual(tx_messages_in(b), {port["a"]: 1, port["c"]: 0})
        self.assertEqual(tx_messages_in(c), {port["b"]: 1})

        rival = self.pay(coin, back=1)
        answer = yield rpc_call(c.rpc.port, "sendrawtransaction", rival.to_bytes().hex())
        self.assertEqual(answer["error"]["code"], -504)
        self.assertIn("already spent", answer["error"]["data"])
        self.assertNotIn(rival.hash, c.node.mempool)

        ledger = a.node.ledger.ledger
        assert ledger is not None
        block = make_block(ledger.header_tip, [tx])
        answer = yield rpc_call(a.rpc.port, "submitblock", block.to_bytes().hex())
        self.assertEqual(answer["result"], True)
        yield wait_until(lambda: all(heights(n) == (BLOCKS + 1, BLOCKS + 1) for n in (a, b, c))
                         and pools() == [0, 0, 0], "the block everywhere, every pool empty",
                         describe=lambda: f"heights {[heights(n) for n in (a, b, c)]}, "
                                          f"pools {pools()}")


class NodeRpcTests(TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_peer_methods(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        C{getconnectioncount}, C{getpeers} and C{getversion} of a node with one peer.
        """
        cluster = Cluster(self)
        a = cluster.start("a", chain=BLOCKS, rpc_port=0, min_peers=1)
        b = cluster.start("b", chain=BLOCKS, seeds=[a], min_peers=1)
        yield wait_until(lambda: len(a.node.established_peers()) == 1, "a connected")
        assert a.rpc is not None and a.rpc.port is not None
        count = yield rpc_call(a.rpc.port, "getconnectioncount")
        self.assertEqual(count["result"], 1)
        peers = (yield rpc_call(a.rpc.port, "getpeers"))["result"]
        self.assertEqual(peers["connected"], [
            {"address": "127.0.0.1", "port": b.node.connections.listening_port}])
        self.assertEqual(peers["bad"], [])
        version = (yield rpc_call(a.rpc.port, "getversion"))["result"]
        self.assertEqual(version, {"port": a.node.connections.listening_port,
                                   "nonce": a.node.nonce, "useragent": a.node.user_agent})
        height = yield rpc_call(a.rpc.port, "getblockcount")
        self.assertEqual(height["result"], BLOCKS + 1)
