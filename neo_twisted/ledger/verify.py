# -*- test-case-name: tests.unit.test_ledger_chain -*-
"""
Header rules of C{BlockBase.Verify}, as pure functions.

Linkage (previous hash, index, timestamp) is cheap and checked in order; witness
checks are independent of each other once the previous header of each is known,
so a batch of them can be handed to worker processes (L{ProcessMapper}: the node's
L{neo_twisted.ledger.verifiers.VerifierService}, and C{neonode import}), which can
start on a batch before the ledger asks for it. Threads would not help:
C{cryptography} holds the GIL while it verifies (C{bench/bench_verify.py}).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO

import attrs

from neo_twisted.core.block import Header
from neo_twisted.crypto.budget import FREE_VERIFICATION_GAS
from neo_twisted.crypto.witness import verify_witness

#: Maps a checking function over work items, maybe in parallel; results in input order.
Mapper = Callable[[Callable[["WitnessJob"], bool], Sequence["WitnessJob"]], Iterable[bool]]


@attrs.frozen
class WitnessJob:
    """
    One witness to check: the signed bytes, the scripts, the required script hash,
    and the Fixed8 GAS the reference's VM would let it spend (its budget, see
    L{neo_twisted.crypto.budget}).
    """

    message: bytes
    invocation: bytes
    verification: bytes
    expected_hash: bytes
    free_gas: int = FREE_VERIFICATION_GAS


def linkage_problem(header: Header, previous: Header) -> str | None:
    """
    What is wrong with C{header} as the successor of C{previous}, or None.
    """
    if header.prev_hash != previous.hash:
        return f"header {header.index} does not follow {previous.hash}"
    if header.index != previous.index + 1:
        return f"header index {header.index} does not follow {previous.index}"
    if header.timestamp <= previous.timestamp:
        return (f"header {header.index} timestamp {header.timestamp} is not after "
                f"{previous.timestamp}")
    return None


def witness_job(header: Header, previous: Header) -> WitnessJob:
    """
    The witness of C{header} must satisfy the previous header's NextConsensus.
    """
    return WitnessJob(header.unsigned_bytes(), header.witness.invocation_script,
                      header.witness.verification_script, previous.next_consensus)


def check_witness(job: WitnessJob) -> bool:
    return verify_witness(job.message, job.invocation, job.verification, job.expected_hash,
                          job.free_gas)


def check_serially(jobs: Sequence[WitnessJob]) -> list[bool]:
    """
    Check C{jobs} one after the other on the calling thread.
    """
    return [check_witness(job) for job in jobs]


def serial_map(check: Callable[[WitnessJob], bool], jobs: Sequence[WitnessJob]) -> list[bool]:
    """
    The plain, single-threaded L{Mapper}.
    """
    return [check(job) for job in jobs]


def verify_chain(headers: Sequence[Header], previous: Header,
                 mapper: Mapper = serial_map, trusted_to: int = -1
                 ) -> tuple[int, str | None, bool]:
    """
    How many of C{headers}, in order after C{previous}, are valid, what stopped the
    rest, and whether that was a witness that does not verify.

    @param trusted_to: headers at or below this height are only checked for linkage, not
        for their witnesses (assume-valid: see L{neo_twisted.ledger.settings.AssumeValid}).
    """
    jobs: list[WitnessJob] = []
    positions: list[int] = []  # of each job's header in C{headers}
    problem = None
    linked = 0
    for header in headers:
        problem = linkage_problem(header, previous)
        if problem is not None:
            break
        if header.index > trusted_to:
            jobs.append(witness_job(header, previous))
            positions.append(linked)
        linked += 1
        previous = header
    for position, ok in zip(positions, mapper(check_witness, jobs), strict=True):
        if not ok:
            return position, f"header {headers[position].index}: witness does not verify", True
    return linked, problem, False


# -- worker processes ---------------------------------------------------------------------

#: A witness check as sent to a worker process: the fields of a L{WitnessJob}.
_JobTuple = tuple[bytes, bytes, bytes, bytes, int]
#: Fewer jobs than this are checked on the calling thread, which takes about as long
#: (0.15 s) as starting the worker processes.
MIN_PROCESS_JOBS = 500
#: Jobs per request to a worker: small enough to share a batch out evenly.
JOBS_PER_REQUEST = 100
#: Prefetched results waiting to be asked for, at most (the oldest are dropped).
MAX_PREFETCHED = 20_000


def serve(requests: IO[bytes] | None = None, replies: IO[bytes] | None = None) -> None:
    """
    A worker process's loop: each request a pickled list of job tuples, each reply the
    pickled list of their results; it ends when the requests end (the parent closed
    the pipe, or died).
    """
    requests = sys.stdin.buffer if requests is None else requests
    replies = sys.stdout.buffer if replies is None else replies
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is for the parent, which then closes
    try:
        while True:
            try:
                jobs: list[_JobTuple] = pickle.load(requests)
            except EOFError:
                return
            pickle.dump([verify_witness(*job) for job in jobs], replies)
            replies.flush()
    except BrokenPipeError:
        return


class WorkerError(Exception):
    """
    A worker process died or answered nonsense; its jobs are checked on the calling thread.
    """


def _worker_command() -> list[str]:
    return [sys.executable, "-c", "from neo_twisted.ledger.verify import serve; serve()"]


def _worker_environment() -> dict[str, str]:
    """
    The environment of a worker: ours, with this package importable whatever the cwd.
    """
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root if not path else os.pathsep.join((root, path))}


#: How much lower the verifier processes' scheduling priority is than the node's (Unix
#: niceness). The node's main process is the bound of a sync (it applies what the
#: verifiers checked, and they check ahead of it): when the cores are short, it goes
#: first. Syncing 50,000 blocks: 23.5 and 22.0 s against 24.3 and 24.1 s at equal
#: priority; the verifiers still take every cycle the main process leaves.
VERIFIER_NICENESS = 10


def _lower_priority(pid: int) -> None:
    # not Unix, or not allowed: equal priority then
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0)
                       + VERIFIER_NICENESS)


class _Worker:
    """
    One verifier process and the thread that feeds it requests from the shared queue.
    """

    def __init__(self, requests: queue.SimpleQueue[_Request | None]) -> None:
        self._requests = requests
        self.process = subprocess.Popen(_worker_command(), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=_worker_environment())
        _lower_priority(self.process.pid)
        self.thread = threading.Thread(target=self._run, name="verify-process", daemon=True)
        self.thread.start()

    def _ask(self, jobs: list[_JobTuple]) -> list[bool]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        pickle.dump(jobs, stdin)
        stdin.flush()
        answer = pickle.load(stdout)
        if not (isinstance(answer, list) and len(answer) == len(jobs)
                and all(isinstance(ok, bool) for ok in answer)):
            raise WorkerError(f"worker {self.process.pid} answered {type(answer).__name__}")
        return answer

    def _run(self) -> None:
        alive = True
        while True:
            request = self._requests.get()
            if request is None:
                return
            jobs, future = request
            if not future.set_running_or_notify_cancel():
                continue
            if not alive:  # keep taking requests, so that none waits for a dead worker
                future.set_exception(WorkerError(f"worker {self.process.pid} is gone"))
                continue
            try:
                future.set_result(self._ask(jobs))
            except (OSError, EOFError, pickle.UnpicklingError, WorkerError) as e:
                alive = False
                future.set_exception(e if isinstance(e, WorkerError) else
                                     WorkerError(f"worker {self.process.pid}: {e!r}"))

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # the worker sees the end of its requests

    def wait(self) -> None:
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


#: Jobs sent in one request, and where their results will be.
_Request = tuple[list[_JobTuple], "Future[list[bool]]"]


class ProcessMapper:
    """
    A L{Mapper} that checks witnesses in worker processes, so on every core.

    The ledger asks for a batch's checks when it is about to persist the batch;
    L{prefetch} starts them earlier (say, while the previous batch is being
    written), and the ledger then finds them done. A result is only ever reused
    for the very same job (message, scripts and expected script hash), so what is
    accepted does not change, only when the work is done. Small batches are
    checked on the calling thread, and so are the jobs of a worker that failed.
    Each worker stops when its pipe closes: when L{shutdown} is called or this
    process dies, even by C{kill -9}.
    """

    def __init__(self, workers: int, min_jobs: int | None = None,
                 max_prefetched: int = MAX_PREFETCHED) -> None:
        """
        @param min_jobs: the fewest jobs worth sending to the workers (default:
            L{MIN_PROCESS_JOBS}).
        """
        self.workers = max(1, workers)
        self._min_jobs = MIN_PROCESS_JOBS if min_jobs is None else min_jobs
        self._max_prefetched = max_prefetched
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._pool: list[_Worker] = []
        self._cannot_start = False
        #: Held while starting the workers and while touching L{_prefetched}: the
        #: ledger's thread and the memory pool's threads share this mapper.
        self._lock = threading.RLock()
        #: Results asked for ahead: the request holding each job, and its place in it.
        self._prefetched: dict[WitnessJob, tuple[Future[list[bool]], int]] = {}

    def _start(self) -> bool:
        """
        Whether the workers run, starting them if need be (never again once that failed).
        """
        with self._lock:
            if not self._pool and not self._cannot_start:
                try:
                    for _ in range(self.workers):
                        self._pool.append(_Worker(self._requests))
                except OSError:
                    self._cannot_start = True  # the checks run on the calling thread instead
                    self.shutdown()
            return bool(self._pool)

    def submit(self, jobs: Sequence[WitnessJob]
               ) -> list[tuple[Sequence[WitnessJob], Future[list[bool]]]] | None:
        """
        Start checking C{jobs} in the workers now, however few, split evenly between
        them (the memory pool's chunks are small and come often); None when the
        workers cannot run. Each part's future fails with L{WorkerError} when its
        worker dies.
        """
        if not jobs or not self._start():
            return None
        size = -(-len(jobs) // self.workers)
        return [(jobs[start:start + size], self._put(jobs[start:start + size]))
                for start in range(0, len(jobs), size)]

    def _put(self, jobs: Sequence[WitnessJob]) -> Future[list[bool]]:
        """
        Queue one request for the next free worker; its future gets the results.
        """
        future: Future[list[bool]] = Future()
        self._requests.put(([(job.message, job.invocation, job.verification, job.expected_hash,
                              job.free_gas) for job in jobs], future))
        return future

    def prefetch(self, jobs: Sequence[WitnessJob]) -> None:
        """
        Start checking C{jobs} in the workers, when they are enough to be worth it: a
        later call will probably ask for their results.
        """
        if len(jobs) < self._min_jobs or not self._start():
            return
        with self._lock:
            for start in range(0, len(jobs), JOBS_PER_REQUEST):
                chunk = jobs[start:start + JOBS_PER_REQUEST]
                future = self._put(chunk)
                for i, job in enumerate(chunk):
                    self._prefetched[job] = (future, i)
            while len(self._prefetched) > self._max_prefetched:
                del self._prefetched[next(iter(self._prefetched))]

    def pending(self, jobs: Sequence[WitnessJob]) -> list[Future[list[bool]]]:
        """
        The requests checking the prefetched ones among C{jobs} (to wait for them
        without holding anything else up).
        """
        with self._lock:
            entries = [self._prefetched.get(job) for job in jobs]
        return list({entry[0] for entry in entries if entry is not None})

    def __call__(self, check: Callable[[WitnessJob], bool],
                 jobs: Sequence[WitnessJob]) -> list[bool]:
        if check is not check_witness:
            return serial_map(check, jobs)
        prefetched = self._prefetched
        with self._lock:
            self.prefetch([job for job in jobs if job not in prefetched])
            entries = [prefetched.pop(job, None) for job in jobs]
        results = []
        for job, entry in zip(jobs, entries, strict=True):
            if entry is None:
                results.append(check(job))
                continue
            future, i = entry
            try:
                results.append(future.result()[i])
            except WorkerError:
                results.append(check(job))
        return results

    def shutdown(self) -> None:
        """
        Stop the workers; the requests they have not started on are dropped.
        """
        with self._lock:
            self._prefetched.clear()
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                break
            if request is not None:
                request[1].cancel()
        for _ in self._pool:
            self._requests.put(None)
        for worker in self._pool:
            worker.thread.join()
            worker.close()
        for worker in self._pool:
            worker.wait()
        self._pool = []
