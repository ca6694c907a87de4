"""
Tests for L{neo_twisted.mempool.service}: submitting, concurrent verifications,
blocks leaving the pool, and re-verification.
"""

from __future__ import annotations

from typing import Any, ParamSpec, TypeVar

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.components import TransactionOutput, Witness
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import NEO_ASSET_ID, MinerTransaction
from neo_twisted.ledger.generator import ChainGenerator, account_keys, signed_transfer
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.verifiers import VerifierService
from neo_twisted.ledger.verify import WitnessJob
from neo_twisted.mempool.outcome import Outcome, Refusal
from neo_twisted.mempool.service import MempoolService
from neo_twisted.offreactor import NotRunningError, RunnerFactory, Synchronous
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.support.ledger_samples import DEV_KEYS, PRIVNET, make_block
from tests.support.p2p_fakes import FakePeer
from tests.support.runners import Deferring
from tests.support.witness_samples import count_witness_checks

BLOCKS = 12
PAYEE = account_keys(99, 1)[0]

P = ParamSpec("P")
T = TypeVar("T")


class MempoolCase(SynchronousTestCase):
    """
    A ledger of L{BLOCKS} generated blocks, and pools over it.
    """

    def setUp(self) -> None:
        self.generator = ChainGenerator(PRIVNET, DEV_KEYS, 2, seed=3)
        self.blocks = [self.generator.next_block() for _ in range(BLOCKS)]
        self.ledger = LedgerService(self.mktemp(), PRIVNET, off_reactor=Synchronous)
        self.ledger.startService()
        self.addCleanup(self.ledger.stopService)
        assert self.ledger.ledger is not None
        self.ledger.ledger.add_blocks(self.blocks)
        self.assertEqual(self.ledger.ledger.block_height, BLOCKS)
        self.coins = self.generator.coins()

    def mempool(self, runner: RunnerFactory = Synchronous, **options: Any) -> MempoolService:
        mempool = MempoolService(self.ledger, PRIVNET, off_reactor=runner, **options)
        mempool.startService()
        self.addCleanup(mempool.stopService)
        return mempool

    def spend(self, n: int, tag: int = 0) -> Transaction:
        """
        A valid transfer of coin C{n} (its whole value, less C{tag} NEO sent back).
        """
        ref, value, key = self.coins[n]
        outputs = [TransactionOutput(NEO_ASSET_ID, value - tag * FIXED8_ONE, PAYEE.script_hash)]
        if tag:
            outputs.append(TransactionOutput(NEO_ASSET_ID, tag * FIXED8_ONE, key.script_hash))
        return signed_transfer([ref], outputs, [key])

    def outcome(self, d: defer.Deferred[Outcome]) -> Outcome:
        return self.successResultOf(d)

    def next_block(self, txs: list[Transaction]) -> None:
        ledger = self.ledger.ledger
        assert ledger is not None
        block = make_block(ledger.header_tip, txs)
        self.assertEqual(ledger.add_blocks([block])[0].reason, "")
        self.block = block


class MempoolServiceTests(MempoolCase):
    def test_valid_accepted_and_announced(self) -> None:
        mempool = self.mempool()
        heard: list[tuple[list[Transaction], object]] = []
        mempool.add_listener(lambda txs, sender: heard.append((list(txs), sender)))
        tx, peer = self.spend(0), FakePeer("10.0.0.1")
        self.assertTrue(self.outcome(mempool.submit(tx, peer)).accepted)
        self.assertIn(tx.hash, mempool)
        self.assertIs(mempool.get(tx.hash), tx)
        self.assertEqual(mempool.txids(), [tx.hash])
        self.assertEqual(heard, [([tx], peer)])

    def test_accepted_together_announced_together(self) -> None:
        mempool = self.mempool()
        heard: list[tuple[list[Transaction], object]] = []
        mempool.add_listener(lambda txs, sender: heard.append((list(txs), sender)))
        txs = [self.spend(0), self.spend(1), self.spend(0, tag=1)]
        outcomes = self.successResultOf(mempool.submit_many(txs))
        self.assertEqual([o.accepted for o in outcomes], [True, True, False])
        self.assertEqual(heard, [(txs[:2], None)])

    def test_again_already_exists(self) -> None:
        mempool = self.mempool()
        tx = self.spend(0)
        mempool.submit(tx)
        outcome = self.outcome(mempool.submit(tx))
        self.assertIs(outcome.refusal, Refusal.ALREADY_EXISTS)

    def test_confirmed_already_exists(self) -> None:
        mempool = self.mempool()
        confirmed = self.blocks[-1].transactions[1]
        self.assertIs(self.outcome(mempool.submit(confirmed)).refusal, Refusal.ALREADY_EXISTS)

    def test_miner_invalid(self) -> None:
        outcome = self.outcome(self.mempool().submit(MinerTransaction(nonce=5)))
        self.assertIs(outcome.refusal, Refusal.INVALID)
        self.assertIn("consensus", outcome.reason)

    def test_bad_signature_invalid(self) -> None:
        tx = self.spend(0)
        witness = tx.witnesses[0]
        signature = bytearray(witness.invocation_script)
        signature[10] ^= 1
        forged = type(tx)(inputs=tx.inputs, outputs=tx.outputs, attributes=tx.attributes,
                          witnesses=(Witness(bytes(signature), witness.verification_script),))
        outcome = self.outcome(self.mempool().submit(forged))
        self.assertIs(outcome.refusal, Refusal.INVALID)
        self.assertNotIn(forged.hash, self.mempool())

    def test_concurrent_double_spend(self) -> None:
        """
        Two spends of one coin verified at the same time: only the first gets in.
        """
        runner = Deferring()
        mempool = self.mempool(runner)
        first, second = self.spend(0, tag=0), self.spend(0, tag=1)
        d = mempool.submit_many([first, second])
        self.assertNoResult(d)
        self.assertEqual(mempool.verifying, 2)
        runner.run_all()
        one, two = self.successResultOf(d)
        self.assertTrue(one.accepted)
        self.assertIs(two.refusal, Refusal.INVALID)
        self.assertIn("already spent by pool transaction", two.reason)
        self.assertEqual(mempool.verifying, 0)

    def test_pool_double_spend_refused_at_once(self) -> None:
        runner = Deferring()
        mempool = self.mempool(runner)
        mempool.submit(self.spend(0))
        runner.run_all()
        d = mempool.submit(self.spend(0, tag=1))
        self.assertIs(self.outcome(d).refusal, Refusal.INVALID)
        self.assertEqual(runner.jobs, [])  # no thread job for it

    def test_capacity(self) -> None:
        """
        A full pool of fee-less transactions refuses another fee-less one.
        """
        mempool = self.mempool(capacity=2)
        self.assertTrue(self.outcome(mempool.submit(self.spend(0))).accepted)
        self.assertTrue(self.outcome(mempool.submit(self.spend(1))).accepted)
        self.assertIs(self.outcome(mempool.submit(self.spend(2))).refusal, Refusal.OUT_OF_MEMORY)

    def test_verification_queue_bound(self) -> None:
        runner = Deferring()
        mempool = self.mempool(runner, max_verifying=1)
        mempool.submit(self.spend(0))
        outcome = self.outcome(mempool.submit(self.spend(1)))
        self.assertIs(outcome.refusal, Refusal.OUT_OF_MEMORY)
        self.assertIn("being verified", outcome.reason)

    def test_block_persisted_meanwhile_verifies_again(self) -> None:
        """
        A verification made on a snapshot older than the chain is made again.
        """
        runner = Deferring()
        mempool = self.mempool(runner)
        d = mempool.submit(self.spend(0))
        function, args, job = runner.jobs.pop(0)
        result = function(*args)       # checked on the old chain
        self.next_block([self.spend(1)])
        job.callback(result)
        self.assertNoResult(d)
        self.assertEqual(len(runner.jobs), 1)  # checked again, on the new chain
        runner.run_all()
        self.assertTrue(self.outcome(d).accepted)

    def test_block_spending_input_meanwhile(self) -> None:
        """
        A block confirming a rival spend while the check ran: the second check refuses.
        """
        runner = Deferring()
        mempool = self.mempool(runner)
        d = mempool.submit(self.spend(0))
        function, args, job = runner.jobs.pop(0)
        result = function(*args)       # checked on the old chain: valid
        self.next_block([self.spend(0, tag=2)])
        job.callback(result)
        runner.run_all()
        outcome = self.outcome(d)
        self.assertIs(outcome.refusal, Refusal.INVALID)
        self.assertEqual(len(mempool), 0)

    def test_blocks_persisted(self) -> None:
        """
        The block's transactions and their rivals leave; the rest stay, verified again.
        """
        mempool = self.mempool()
        included, rival, bystander = self.spend(0), self.spend(1), self.spend(2)
        for tx in (included, rival, bystander):
            self.assertTrue(self.outcome(mempool.submit(tx)).accepted)
        self.next_block([included, self.spend(1, tag=3)])
        mempool.blocks_persisted([self.block])
        self.assertEqual(mempool.txids(), [bystander.hash])

    def test_reverification_drops_invalid(self) -> None:
        """
        A block the pool was not told about: re-verification finds what it spent.
        """
        mempool = self.mempool()
        kept, spent = self.spend(0), self.spend(1)
        mempool.submit(kept)
        mempool.submit(spent)
        self.next_block([self.spend(1, tag=4)])
        mempool.blocks_persisted([])
        self.assertEqual(mempool.txids(), [kept.hash])

    def test_reverification_during_reverification(self) -> None:
        runner = Deferring()
        mempool = self.mempool(runner)
        tx = self.spend(0)
        mempool.submit(tx)
        runner.run_all()
        mempool.blocks_persisted([])
        mempool.blocks_persisted([])   # a second block while the first re-check runs
        self.assertEqual(len(runner.jobs), 1)
        runner.run_all()               # the first re-check, then the second one
        self.assertEqual(runner.jobs, [])
        self.assertEqual(mempool.txids(), [tx.hash])


class LifecycleTests(MempoolCase):
    def test_ledger_store_open_until_the_pool_stops(self) -> None:
        """
        The pool's threads read the ledger's store: stopping the ledger (a node stops
        its services without waiting for one another) closes the store only once the
        pool has stopped, and so its threads.
        """
        mempool = MempoolService(self.ledger, PRIVNET, off_reactor=Synchronous)
        mempool.startService()
        ledger_stopped = self.ledger.stopService()
        self.assertNoResult(ledger_stopped)
        self.assertIsNotNone(self.ledger.ledger)
        self.assertTrue(self.outcome(mempool.submit(self.spend(0))).accepted)
        self.successResultOf(mempool.stopService())
        self.successResultOf(ledger_stopped)
        self.assertIsNone(self.ledger.ledger)
        self.ledger.startService()  # for the cleanup

    def test_stopped_twice(self) -> None:
        """
        A node that stops itself (a storage failure) is stopped again at shutdown: the
        pool lets go of the ledger once.
        """
        mempool = MempoolService(self.ledger, PRIVNET, off_reactor=Synchronous)
        mempool.startService()
        self.successResultOf(mempool.stopService())
        self.successResultOf(mempool.stopService())
        self.successResultOf(self.ledger.stopService())
        self.ledger.startService()  # for the cleanup

    def test_stopped_pool_runs_no_job(self) -> None:
        """
        Once stopped, the pool hands its threads nothing: a submission is refused
        (an unexpected failure, logged) instead of reading the store.
        """
        mempool = self.mempool()
        self.successResultOf(mempool.stopService())
        outcome = self.outcome(mempool.submit(self.spend(0)))
        self.assertIs(outcome.refusal, Refusal.UNKNOWN)
        self.assertEqual(len(self.flushLoggedErrors(NotRunningError)), 1)
        mempool.startService()  # for the cleanup


class NoProcesses:
    """
    A node's verifier processes that cannot run: the jobs given them are recorded,
    then checked on the pool's thread.
    """

    def __init__(self) -> None:
        self.jobs: list[WitnessJob] = []

    def submit(self, jobs: list[WitnessJob]) -> None:
        self.jobs.extend(jobs)


class WitnessCacheTests(MempoolCase):
    """
    The pool's re-verification after a block does not check known witnesses again.
    """

    def count_checks(self) -> list[WitnessJob]:
        return count_witness_checks(self)

    def test_reverification_does_not_check_signatures(self) -> None:
        """
        Before, every witness of the pool was checked again after every block (a
        1024-key multisig: 169 ms each time); now each is checked once, on arrival.
        """
        checked = self.count_checks()
        mempool = self.mempool()
        txs = [self.spend(n) for n in range(4)]
        for tx in txs:
            self.assertTrue(self.outcome(mempool.submit(tx)).accepted)
        self.assertEqual(len(checked), 4)
        for n in range(2):
            self.next_block([self.spend(4 + n)])
            mempool.blocks_persisted([self.block])
        self.assertEqual(mempool.txids(), [tx.hash for tx in txs])
        self.assertEqual(len(checked), 4)
        self.assertEqual(mempool.witnesses.hits, 8)

    def test_reverification_still_applies_chain_rules(self) -> None:
        """
        A known witness does not keep a transaction whose input a block spent.
        """
        checked = self.count_checks()
        mempool = self.mempool()
        kept, spent = self.spend(0), self.spend(1)
        mempool.submit(kept)
        mempool.submit(spent)
        self.next_block([self.spend(1, tag=4)])
        mempool.blocks_persisted([])
        self.assertEqual(mempool.txids(), [kept.hash])
        self.assertEqual(len(checked), 2)

    def test_failures_are_not_remembered(self) -> None:
        """
        Only witnesses that verified are remembered: a forged one is checked each time.
        """
        checked = self.count_checks()
        mempool = self.mempool()
        tx = self.spend(0)
        invocation = bytearray(tx.witnesses[0].invocation_script)
        invocation[10] ^= 1
        forged = type(tx)(inputs=tx.inputs, outputs=tx.outputs, attributes=tx.attributes,
                          witnesses=(Witness(bytes(invocation),
                                             tx.witnesses[0].verification_script),))
        for _ in range(2):
            self.assertIs(self.outcome(mempool.submit(forged)).refusal, Refusal.INVALID)
        self.assertEqual((len(checked), len(mempool.witnesses)), (2, 0))
        self.assertTrue(self.outcome(mempool.submit(tx)).accepted)
        self.assertEqual((len(checked), len(mempool.witnesses)), (3, 1))

    def test_processes_not_asked_again(self) -> None:
        """
        With verifier processes, the witnesses sent to them are not sent again after a block.
        """
        processes = NoProcesses()
        verifiers = VerifierService(1)
        self.patch(verifiers, "processes", processes)
        mempool = self.mempool(verifiers=verifiers)
        self.assertEqual(verifiers.holders, 1)
        txs = [self.spend(n) for n in range(3)]
        for tx in txs:
            self.assertTrue(self.outcome(mempool.submit(tx)).accepted)
        self.assertEqual(len(processes.jobs), 3)
        self.next_block([self.spend(3)])
        mempool.blocks_persisted([self.block])
        self.assertEqual(mempool.txids(), [tx.hash for tx in txs])
        self.assertEqual(len(processes.jobs), 3)
