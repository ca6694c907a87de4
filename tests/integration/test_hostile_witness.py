"""
Hostile peers, costly witnesses (issue 20, attack 6): real nodes over loopback, a
scripted attacker, and RPC.

A witness runs, in the reference, in a VM that stops at 10 free GAS; CHECKMULTISIG
costs 0.1 GAS a key, so no multisig wider than 100 keys ever verifies there. This
node checks standard witnesses without a VM, and used to check any width a wallet
can make (1024 keys) key by key.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import defer, reactor

from neo_twisted.core.components import AttributeUsage, TransactionAttribute
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import ContractTransaction
from neo_twisted.crypto import witness as witness_module
from neo_twisted.ledger.generator import account_keys
from neo_twisted.ledger.verify import WitnessJob
from neo_twisted.mempool.outcome import Outcome, Refusal
from neo_twisted.network.payloads import PingPayload
from neo_twisted.node.service import NodeService
from neo_twisted.node.transactions import MAX_INVALID
from tests.support.hostile_helpers import HOSTILE_CHAIN, HostileCase
from tests.support.mempool_samples import signed
from tests.support.node_cluster import heights, wait_until
from tests.support.rpc_client import rpc_call
from tests.support.witness_samples import wide_transaction

#: How long refusing one such transaction may take, from its submission to its
#: outcome (a thread hop on a busy machine); checking one took 169 ms before.
QUICK = 0.1


class Watch:
    """
    What the victim's pool does: each outcome and how long it took, and every
    signature checked, on a thread or in a verifier process.
    """

    def __init__(self, case: HostileCase, victim: NodeService) -> None:
        self.outcomes: list[tuple[Transaction, Outcome, float]] = []
        self.signatures = 0
        mempool = victim.node.transactions.mempool  # type: ignore[union-attr]
        started: dict[bytes, float] = {}
        submit_each, settle = mempool.submit_each, mempool._settle

        def submitting(txs: Any, *args: Any, **kwargs: Any) -> Any:
            txs = list(txs)
            for tx in txs:
                started[tx.hash] = reactor.seconds()
            return submit_each(txs, *args, **kwargs)

        def settling(tx: Transaction, outcome: Outcome, sender: Any) -> None:
            self.outcomes.append((tx, outcome, reactor.seconds() - started[tx.hash]))
            settle(tx, outcome, sender)

        case.patch(mempool, "submit_each", submitting)
        case.patch(mempool, "_settle", settling)
        verify = witness_module.verify_signature  # type: ignore[attr-defined]

        def counting(*args: Any) -> bool:
            self.signatures += 1
            return verify(*args)

        case.patch(witness_module, "verify_signature", counting)
        processes = mempool.signature_processes
        if processes is not None:
            submit = processes.submit

            def to_processes(jobs: list[WitnessJob]) -> Any:
                self.signatures += len(jobs)
                return submit(jobs)

            case.patch(processes, "submit", to_processes)


class CostlyWitnessTests(HostileCase):
    @defer.inlineCallbacks
    def test_wide_multisig_refused_unchecked(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Transactions that a validly signed 1-of-1024 multisig must sign (no coins, a
        Script attribute), sent by a peer and by RPC C{sendrawtransaction}.

        Before: each was accepted after checking all 1024 keys (169 ms of a
        verifier), stayed in the pool and was checked again after every block. Now:
        each is refused as the reference's VM would (102.4 GAS of the 10 free),
        before any signature is checked, within L{QUICK}; the peer that sends them
        is kept (a node whose rules differ, 2.12's 50 free GAS say, could relay one
        honestly, and refusing one costs us little), and the node goes on syncing,
        answering RPC and taking honest transactions.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield wait_until(lambda: heights(victim) == (HOSTILE_CHAIN, HOSTILE_CHAIN),
                         "the victim to sync", timeout=90)
        watch = Watch(self, victim)
        attacker = yield self.attacker(victim)
        for n in range(MAX_INVALID):
            attacker.send("tx", wide_transaction(1024, f"peer {n}".encode()))
        attacker.send("ping", PingPayload(0, 0, 7))
        yield attacker.message("pong")  # the transactions were handled before the ping
        self.assertTrue(attacker.connected)
        self.assertEqual(victim.node.connections.discipline.faults["invalid-tx-flood"], 0)

        assert victim.rpc is not None and victim.rpc.port is not None
        raw = wide_transaction(1024, b"rpc").to_bytes().hex()
        answer = yield rpc_call(victim.rpc.port, "sendrawtransaction", raw)
        self.assertEqual(answer["error"]["code"], Refusal.INVALID.code)
        self.assertIn("a multisig of 1024 keys costs 102.4 GAS", answer["error"]["data"])

        self.assertEqual(len(watch.outcomes), MAX_INVALID + 1)
        for _, outcome, took in watch.outcomes:
            self.assertIs(outcome.refusal, Refusal.INVALID)
            self.assertIn("1024 keys costs 102.4 GAS to verify, more than the 10 GAS free",
                          outcome.reason)
            self.assertLess(took, QUICK)
        self.assertEqual(watch.signatures, 0)
        self.assertEqual(len(victim.node.transactions.mempool), 0)  # type: ignore[union-attr]

        key = account_keys(2021, 1)[0]
        plain = ContractTransaction(attributes=(
            TransactionAttribute(AttributeUsage.Script, key.script_hash),
            TransactionAttribute(AttributeUsage.Remark, b"honest")))
        answer = yield rpc_call(victim.rpc.port, "sendrawtransaction",
                                signed(plain, [key]).to_bytes().hex())
        self.assertEqual(answer.get("result"), True, answer)
        self.assertEqual(watch.signatures, 1)
        yield self.assert_healthy(victim, honest)
