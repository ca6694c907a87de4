"""
Attack 1 of issue 20 against real nodes over loopback: free 100 KB transactions.

Before the pool policy, a ContractTransaction with no inputs, outputs or
witnesses and ~100 KB of Remarks passed every pool rule (fee 0); the victim
pooled and relayed every one (about 98 KiB of memory each), and a validator
holding 500 of them proposed a 50 MB block no peer could fetch (the consensus
side is L{tests.unit.test_consensus_policy}).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import defer

from tests.support.hostile_helpers import HostileCase
from tests.support.node_cluster import wait_until
from tests.support.rpc_client import rpc_call
from tests.support.transaction_samples import remarks


class FreeTransactionTests(HostileCase):
    @defer.inlineCallbacks
    def test_large_free_transactions(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        A peer sending 50 free 100 KB transactions: none is pooled or relayed, the peer
        is kept (another node's policy may differ: this is no violation), and RPC
        answers C{sendrawtransaction} with the reference's -505 and the reason.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield self.assert_healthy(victim, honest)
        attacker = yield self.attacker(victim)
        for n in range(50):
            attacker.send("tx", remarks(n, 100_000))
        small = remarks(999, 500)
        attacker.send("tx", small)  # the same peer's honest, small free transaction
        mempool = victim.node.mempool
        assert mempool is not None
        yield wait_until(lambda: small.hash in mempool.pool, "the small transaction to be pooled")
        self.assertEqual(len(mempool.pool), 1)
        self.assertIsNotNone(self.session_of(victim))
        self.assertFalse(self.banned(victim))
        assert victim.rpc is not None and victim.rpc.port is not None
        answer: Any = yield rpc_call(victim.rpc.port, "sendrawtransaction",
                                     remarks(7, 100_000).to_bytes().hex())
        self.assertEqual(answer["error"]["code"], -505)
        self.assertIn("low-priority", str(answer["error"]))
        yield self.assert_healthy(victim, honest)
