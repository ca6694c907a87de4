# -*- test-case-name: tests.unit.test_mempool_service -*-
"""
The memory pool as a service: verification in a bounded thread pool, the pool on the reactor.

A transaction handed to L{MempoolService.submit} (by RPC or by the node for a
peer's C{tx}) is first checked against the pool on the reactor (already there,
already being verified, an input another pool transaction spends), then
verified against one snapshot of the chain in the service's own threads
(L{neo_twisted.mempool.rules}), and finally added on the reactor, where the
rules that involve the other pool transactions run again: two transactions
verified at the same time can never both spend one output. Should a block
have been persisted since the snapshot, the verification runs again on the
newer chain.

After each persisted block the transactions it holds, and those that conflict
with it, leave the pool; the others are verified again, in the same threads,
without their signatures: the witnesses seen to verify are remembered
(L{WitnessCache}), and a witness's validity does not change with the chain.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from neo_twisted.core.block import Block
from neo_twisted.core.transaction import Transaction
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.verifiers import VerifierService
from neo_twisted.ledger.verify import ProcessMapper
from neo_twisted.mempool.latency import Latencies
from neo_twisted.mempool.outcome import Outcome, Refusal, refused
from neo_twisted.mempool.policy import is_low_priority, size_problem
from neo_twisted.mempool.pool import (
    DEFAULT_CAPACITY,
    DEFAULT_CAPACITY_BYTES,
    MemoryPool,
    PoolEntry,
)
from neo_twisted.mempool.rules import ChainCheck
from neo_twisted.mempool.signatures import ProcessSignatures, Verified, check_chunk
from neo_twisted.mempool.witness_cache import WitnessCache
from neo_twisted.offreactor import RunnerFactory, threads_on
from neo_twisted.reactors import INodeReactor, or_global
from neo_twisted.wire.uint import UInt256

if TYPE_CHECKING:
    from neo_twisted.p2p.interfaces import IPeer

T = TypeVar("T")

#: Transactions verified in one thread job: enough to make the hop to the thread cheap.
CHUNK = 64
#: Transactions being verified at once, at most; more are refused as the pool being full.
MAX_VERIFYING = 20_000

#: Called with the transactions the pool accepted from one verification job (in the
#: order they came) and who sent them (None: ourselves); so a relay can announce them
#: in one C{inv}.
AcceptListener = Callable[[Sequence[Transaction], "IPeer | None"], None]


class MempoolService(service.Service):
    """
    Owns the L{MemoryPool} and the threads that verify for it.

    @ivar pool: the verified transactions.
    @ivar witnesses: the witnesses seen to verify (not checked again).
    """

    _log = Logger()
    name = "mempool"

    def __init__(self, ledger: LedgerService, settings: ProtocolSettings, *,
                 capacity: int = DEFAULT_CAPACITY,
                 capacity_bytes: int = DEFAULT_CAPACITY_BYTES, threads_count: int | None = None,
                 reactor: INodeReactor | None = None, off_reactor: RunnerFactory | None = None,
                 max_verifying: int = MAX_VERIFYING,
                 verifiers: VerifierService | None = None) -> None:
        """
        @param threads_count: verification threads (default: one per core).
        @param reactor: the clock, and where the threads' and the verifier processes'
            results come back (default: the global reactor).
        @param off_reactor: makes the verification threads (tests:
            L{neo_twisted.offreactor.Synchronous}); by default a thread pool.
        @param verifiers: the node's verifier processes, where signatures are checked
            (held while the service runs); without them, on the verification threads.
        """
        self._reactor = or_global(reactor)
        self._ledger = ledger
        self._settings = settings
        make = off_reactor if off_reactor is not None else threads_on(self._reactor)
        self._threads = make("mempool", threads_count or os.cpu_count() or 1)
        self._max_verifying = max_verifying
        self._verifiers = verifiers
        self._processes: ProcessMapper | None = None
        self._holding_ledger = False
        self.pool = MemoryPool(capacity, capacity_bytes)
        self.witnesses = WitnessCache()
        #: Transactions being verified, by hash, with what their submitter waits on.
        self._verifying: dict[UInt256, defer.Deferred[Outcome]] = {}
        self._listeners: list[AcceptListener] = []
        #: Whether a re-verification of the pool is running, and whether another is due.
        self._reverifying = False
        self._reverify_again = False
        #: Each transaction's seconds from submission to verdict (the metrics).
        self.verify_times = Latencies()

    # -- lifecycle ---------------------------------------------------------------------------

    def startService(self) -> None:
        self._threads.start()
        if not self._holding_ledger:  # its store stays open while the threads may read it
            self._holding_ledger = True
            self._ledger.hold()
        if self._verifiers is not None:
            self._processes = self._verifiers.hold()
        super().startService()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped

    def stopService(self) -> defer.Deferred[None]:
        """
        Take no more jobs; fires once the jobs running (which are short) are done, and
        lets go of the ledger and the verifier processes then.
        """
        super().stopService()  # type: ignore[no-untyped-call]

        def let_go(_: object) -> None:
            # the jobs that ran on the threads may still have handed signatures over
            if self._processes is not None and self._verifiers is not None:
                self._processes = None
                self._verifiers.release()
            if self._holding_ledger:  # not if stopped twice
                self._holding_ledger = False
                self._ledger.release()

        return self._threads.stop().addCallback(let_go)

    def _check(self, txs: list[Transaction], *,
               again: bool = False) -> defer.Deferred[Verified]:
        """
        Verify C{txs} against the chain on a pool thread, and their signatures there
        too, or in the node's verifier processes when it has them; C{again} when
        they were verified before (their witnesses are then looked up in the cache).
        """
        ledger = self._ledger.ledger
        if ledger is None:
            return defer.fail(RuntimeError("the ledger is not open"))
        processes = self._processes
        known = self.witnesses if again else self.witnesses.remember_only()
        d = self._threads.run(check_chunk, ledger, self._settings, processes is None, txs,
                              known)
        if processes is not None:
            signatures = ProcessSignatures(processes, self._reactor, self._threads,
                                           self.witnesses)
            d.addCallback(signatures.check_pending)
        return d

    # -- what others read ----------------------------------------------------------------

    def add_listener(self, listener: AcceptListener) -> None:
        """
        Call C{listener(txs, sender)} for the transactions accepted from now on.
        """
        self._listeners.append(listener)

    @property
    def signature_processes(self) -> ProcessMapper | None:
        """
        The verifier processes signatures are checked in while the service runs
        (None: on its threads).
        """
        return self._processes

    def get(self, txid: bytes) -> Transaction | None:
        return self.pool.get(txid)

    def txids(self) -> list[UInt256]:
        return self.pool.txids()

    def __len__(self) -> int:
        return len(self.pool)

    def __contains__(self, txid: object) -> bool:
        return txid in self.pool

    def is_verifying(self, txid: bytes) -> bool:
        return txid in self._verifying

    def verifying_txids(self) -> list[UInt256]:
        """
        The transactions being verified now (C{getrawmempool}'s "unverified").
        """
        return list(self._verifying)

    @property
    def verifying(self) -> int:
        """
        How many transactions are being verified (the verification queue).
        """
        return len(self._verifying)

    # -- submitting ----------------------------------------------------------------------

    def submit(self, tx: Transaction, sender: IPeer | None = None) -> defer.Deferred[Outcome]:
        """
        Verify C{tx} and add it to the pool; fires with the outcome (never fails).

        @param sender: the peer it came from (None: RPC), given to the listeners.
        """
        return self.submit_many([tx], sender).addCallback(lambda outcomes: outcomes[0])

    def submit_many(self, txs: Iterable[Transaction],
                    sender: IPeer | None = None) -> defer.Deferred[list[Outcome]]:
        """
        L{submit} for several transactions at once, verified in chunks; outcomes in order.
        """
        return defer.gatherResults(self.submit_each(txs, sender), consumeErrors=True)

    def submit_each(self, txs: Iterable[Transaction], sender: IPeer | None = None,
                    waiters: Iterable[defer.Deferred[Outcome]] | None = None
                    ) -> list[defer.Deferred[Outcome]]:
        """
        L{submit_many}, with each transaction's outcome as soon as its chunk is verified.

        @param waiters: the Deferreds to fire with the outcomes (one per transaction),
            when the caller has them already; by default new ones.
        """
        waiting: list[defer.Deferred[Outcome]] = []
        fresh: list[Transaction] = []
        given = iter(waiters) if waiters is not None else None
        for tx in txs:
            d: defer.Deferred[Outcome] = defer.Deferred() if given is None else next(given)
            waiting.append(d)
            done = self._precheck(tx)
            if done is not None:
                d.callback(done)
                continue
            self._verifying[tx.hash] = d
            fresh.append(tx)
        for start in range(0, len(fresh), CHUNK):
            self._verify(fresh[start:start + CHUNK], sender)
        return waiting

    def _precheck(self, tx: Transaction) -> Outcome | None:
        """
        What can be said at once, on the reactor, without the chain (None: verify it).
        """
        txid = tx.hash
        if txid in self.pool:
            return refused(Refusal.ALREADY_EXISTS, f"transaction {txid} is in the pool")
        if txid in self._verifying:
            return refused(Refusal.ALREADY_EXISTS, f"transaction {txid} is being verified")
        problem = self.pool.conflict(tx)
        if problem is not None:
            return refused(Refusal.INVALID, problem)
        if len(self._verifying) >= self._max_verifying:
            return refused(Refusal.OUT_OF_MEMORY, f"{len(self._verifying)} transactions are "
                                                  "being verified already")
        return None

    def _verify(self, txs: list[Transaction], sender: IPeer | None) -> None:
        d = self._check(txs)
        d.addBoth(self._timed, self._reactor.seconds(), len(txs))
        d.addCallbacks(self._verified, self._verify_failed, callbackArgs=(txs, sender),
                       errbackArgs=(txs,))

    def _timed(self, result: T, started: float, count: int) -> T:
        self.verify_times.observe(self._reactor.seconds() - started, count)
        return result

    def _verified(self, result: Verified, txs: list[Transaction], sender: IPeer | None) -> None:
        height, checks = result
        ledger = self._ledger.ledger
        current = height if ledger is None else ledger.block_height
        again: list[Transaction] = []
        accepted: list[Transaction] = []
        for tx, check in zip(txs, checks, strict=True):
            if check is None:
                self._settle(tx, refused(Refusal.ALREADY_EXISTS,
                                         f"transaction {tx.hash} is already in a block"), sender)
            elif check.problem is not None:
                self._settle(tx, refused(check.refusal, check.problem, forged=check.forged),
                             sender)
            elif current != height:
                again.append(tx)  # a block came in meanwhile: check against it
            else:
                outcome, evicted = self._add(tx, check)
                for entry in evicted:
                    self._log.debug("pool full: {txid} evicted", txid=entry.tx.hash)
                self._settle(tx, outcome, sender)
                if outcome.accepted:
                    accepted.append(tx)
        if accepted:
            for listener in self._listeners:
                listener(accepted, sender)
        if again:
            self._verify(again, sender)

    def _add(self, tx: Transaction, check: ChainCheck) -> tuple[Outcome, list[PoolEntry]]:
        """
        The policy's size rules (they need the network fee), then the pool.
        """
        problem = size_problem(tx, tx.size, check.network_fee, self._settings)
        if problem is not None:
            return refused(Refusal.POLICY_FAIL, problem), []
        return self.pool.add(PoolEntry(
            tx, tx.size, check.network_fee, check.issues,
            low_priority=is_low_priority(tx, check.network_fee, self._settings)))

    def _verify_failed(self, failure: Failure, txs: list[Transaction]) -> None:
        self._log.failure("verifying {count} transactions failed", failure, count=len(txs))
        for tx in txs:
            self._settle(tx, refused(Refusal.UNKNOWN, "verification failed unexpectedly"), None)

    def _settle(self, tx: Transaction, outcome: Outcome, sender: IPeer | None) -> None:
        d = self._verifying.pop(tx.hash, None)
        if d is not None:
            d.callback(outcome)
        if not outcome.accepted:
            self._log.debug("transaction {txid} refused: {reason}", txid=tx.hash,
                            reason=outcome.reason)

    # -- blocks --------------------------------------------------------------------------

    def blocks_persisted(self, blocks: Sequence[Block]) -> None:
        """
        Blocks were persisted: their transactions and those conflicting with them
        leave the pool, and the rest is verified again against the new chain.
        """
        for block in blocks:
            self.pool.remove_for_block(block)
        if self._reverifying:
            self._reverify_again = True
        elif len(self.pool):
            self._reverify()

    def _reverify(self) -> None:
        """
        Verify every pooled transaction again, a chunk per job; drop those now invalid.
        """
        self._reverifying = True
        self._reverify_again = False
        entries = list(self.pool)
        jobs = []
        for start in range(0, len(entries), CHUNK):
            chunk = entries[start:start + CHUNK]
            d = self._check([entry.tx for entry in chunk], again=True)
            jobs.append(d.addCallback(self._reverified, chunk))
        done = defer.gatherResults(jobs, consumeErrors=True)
        done.addErrback(self._reverify_failed)
        done.addBoth(self._reverify_done)

    def _reverified(self, result: Verified, entries: list[PoolEntry]) -> None:
        _, checks = result
        for entry, check in zip(entries, checks, strict=True):
            if check is not None and check.problem is None:
                continue
            if self.pool.entry(entry.tx.hash) is entry:
                self.pool.remove(entry.tx.hash)
                self._log.debug("transaction {txid} left the pool: {reason}",
                                txid=entry.tx.hash,
                                reason="in a block" if check is None else check.problem)

    def _reverify_failed(self, failure: Failure) -> None:
        self._log.failure("verifying the pool again failed", failure)

    def _reverify_done(self, _: object) -> None:
        self._reverifying = False
        if self._reverify_again and len(self.pool):
            self._reverify()
