# -*- test-case-name: tests.unit.test_mempool_service -*-
"""
The signature checks of the pool's transactions, apart from the chain rules.

Signatures are most of a transaction's verification, and C{cryptography} holds
the GIL while it checks one, so threads cannot check them in parallel. A node
has verifier processes (L{neo_twisted.ledger.verifiers.VerifierService}); a
chunk's chain rules run on a pool thread, then its signatures go to those
processes without holding the thread, so the next chunk's rules run meanwhile
and every core checks signatures. Without processes (tests, tools) the thread checks them.

Either way, a witness seen to verify goes into the service's L{WitnessCache}, and
is not checked again when the pool is verified again after a block.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import CancelledError

from twisted.internet import defer
from twisted.internet.interfaces import IReactorFromThreads
from twisted.python.failure import Failure

from neo_twisted.core.transaction import Transaction
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.verify import ProcessMapper, WitnessJob, WorkerError, check_serially
from neo_twisted.ledger.view import ledger_view
from neo_twisted.mempool.rules import ChainCheck, check_against_chain, signature_problem
from neo_twisted.mempool.witness_cache import WitnessCache
from neo_twisted.offreactor import Runner, deferred_from_future

#: What a verification job yields: the height checked against, and per transaction
#: its check (None: already in a block).
Verified = tuple[int, list[ChainCheck | None]]


def check_chunk(ledger: Ledger, settings: ProtocolSettings, with_signatures: bool,
                txs: Sequence[Transaction], known: WitnessCache | None = None) -> Verified:
    """
    Verify C{txs} against one snapshot (on a pool thread); None for one already
    confirmed. Without C{with_signatures}, the checks that passed carry their
    signatures, for L{check_pending}. Witnesses in C{known} are not checked again.
    """
    checks: list[ChainCheck | None] = []
    with ledger_view(ledger) as view:
        for tx in txs:
            checks.append(None if view.has_transaction(tx.hash) else check_against_chain(
                tx, view, settings, verify_signatures=with_signatures, known=known))
        return view.height, checks


def _pending(checks: Sequence[ChainCheck | None]) -> tuple[list[WitnessJob],
                                                            list[tuple[int, int]]]:
    """
    The signatures still to check, and for each (which check, which witness).
    """
    jobs: list[WitnessJob] = []
    owners: list[tuple[int, int]] = []
    for n, check in enumerate(checks):
        if check is not None and check.problem is None:
            for i, job in check.signatures:
                jobs.append(job)
                owners.append((n, i))
    return jobs, owners


def _settle(checks: list[ChainCheck | None], jobs: Sequence[WitnessJob],
            owners: Sequence[tuple[int, int]], results: Sequence[bool]) -> list[WitnessJob]:
    """
    Refuse each transaction at its first witness that did not verify; returns the
    witnesses that did.
    """
    good = []
    for ok, job, (n, i) in zip(results, jobs, owners, strict=True):
        check = checks[n]
        if ok:
            good.append(job)
        elif check is not None and check.problem is None:
            checks[n] = ChainCheck(signature_problem(i, job), forged=True)
    return good


class ProcessSignatures:
    """
    Checks the pending signatures of verified chunks in the verifier processes.
    """

    def __init__(self, processes: ProcessMapper, reactor: IReactorFromThreads,
                 threads: Runner, known: WitnessCache | None = None) -> None:
        """
        @param threads: the pool's threads: where the checks of a worker that failed
            are redone.
        @param known: where the witnesses found good are remembered.
        """
        self._processes = processes
        self._reactor = reactor
        self._threads = threads
        self._known = known

    def check_pending(self, verified: Verified) -> defer.Deferred[Verified]:
        height, checks = verified
        jobs, owners = _pending(checks)
        if not jobs:
            return defer.succeed(verified)
        requests = self._processes.submit(jobs)
        if requests is None:  # the processes cannot run: check them on a thread
            results = self._threads.run(check_serially, jobs)
        else:
            parts = [deferred_from_future(future, self._reactor).addErrback(self._redo, chunk)
                     for chunk, future in requests]
            results = defer.gatherResults(parts, consumeErrors=True).addCallback(
                lambda lists: [ok for part in lists for ok in part])

        def settle(results: list[bool]) -> Verified:
            good = _settle(checks, jobs, owners, results)
            if self._known is not None and good:
                # on a pool thread: remembering a witness hashes it, work the reactor
                # should not do for every transaction it takes in; best effort (not
                # once the pool stops)
                self._threads.run(self._known.add_all, good).addErrback(lambda _: None)
            return height, checks

        return results.addCallback(settle)

    def _redo(self, failure: Failure, chunk: Sequence[WitnessJob]) -> defer.Deferred[list[bool]]:
        failure.trap(WorkerError, CancelledError)  # type: ignore[no-untyped-call]
        return self._threads.run(check_serially, chunk)

