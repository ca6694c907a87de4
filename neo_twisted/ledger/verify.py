# -*- test-case-name: tests.test_ledger_chain -*-
"""
Header rules of C{BlockBase.Verify}, as pure functions.

Linkage (previous hash, index, timestamp) is cheap and checked in order; witness
checks are independent of each other once the previous header of each is known,
so a batch of them can be handed to threads (see L{neo_twisted.ledger.service}).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import attrs

from neo_twisted.core.block import Header
from neo_twisted.crypto.witness import verify_witness

#: Maps a checking function over work items, maybe in parallel; results in input order.
Mapper = Callable[[Callable[["WitnessJob"], bool], Sequence["WitnessJob"]], Iterable[bool]]


@attrs.frozen
class WitnessJob:
    """
    One header witness to check: the signed bytes, the scripts, the required script hash.
    """

    message: bytes
    invocation: bytes
    verification: bytes
    expected_hash: bytes


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
    return verify_witness(job.message, job.invocation, job.verification, job.expected_hash)


def serial_map(check: Callable[[WitnessJob], bool], jobs: Sequence[WitnessJob]) -> list[bool]:
    """
    The plain, single-threaded L{Mapper}.
    """
    return [check(job) for job in jobs]


def verify_chain(headers: Sequence[Header], previous: Header,
                 mapper: Mapper = serial_map) -> tuple[int, str | None]:
    """
    How many of C{headers}, in order after C{previous}, are valid, and what stopped the rest.
    """
    jobs: list[WitnessJob] = []
    problem = None
    for header in headers:
        problem = linkage_problem(header, previous)
        if problem is not None:
            break
        jobs.append(witness_job(header, previous))
        previous = header
    for count, ok in enumerate(mapper(check_witness, jobs)):
        if not ok:
            return count, f"header {headers[count].index}: witness does not verify"
    return len(jobs), problem


class ThreadedMapper:
    """
    A L{Mapper} that splits the jobs into one chunk per worker thread.

    Signature checks in C{cryptography} release the GIL for most of their work, so
    two threads verify almost twice as fast as one on this kind of machine.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="verify")

    def __call__(self, check: Callable[[WitnessJob], bool],
                 jobs: Sequence[WitnessJob]) -> list[bool]:
        if self.workers == 1 or len(jobs) < 2 * self.workers:
            return serial_map(check, jobs)
        size = -(-len(jobs) // self.workers)
        futures = [self._executor.submit(serial_map, check, jobs[i: i + size])
                   for i in range(0, len(jobs), size)]
        return [ok for future in futures for ok in future.result()]

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)
