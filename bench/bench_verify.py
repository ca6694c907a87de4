"""
Parallel verification: header witnesses checked per second by each way the node can
check them, against the signature bound, and how they scale from one worker to two.

The jobs are the witnesses of the first 6,000 headers of the benchmark chain
(bench/bench_import.py's, cached in bench/.cache/): each is one CHECKMULTISIG of 3
signatures over 4 keys. The ways: on the calling thread (serial), a thread pool
(L{ThreadedMapper} below: the threads only overlap while C{cryptography} releases
the GIL; the node has none), and worker processes (L{ProcessMapper}, what the node
runs), with 1 and 2 workers. Each figure is the median of 5 passes over all the
jobs, after a warm-up pass. The bound is the cores times the single-core rate of
C{verify_signature}, over the calls one witness takes (measured on the same headers).

Usage::

    python bench/bench_verify.py            # print the results
    python bench/bench_verify.py --write    # also rewrite its section of BENCHMARKS.md
    python bench/bench_verify.py --quick    # 1,000 headers, 2 passes (never written)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_import  # bench/bench_import.py: the chain, the verify rate, calls per witness
import report  # bench/report.py

from neo_twisted.ledger.verify import (
    ProcessMapper,
    WitnessJob,
    check_witness,
    serial_map,
    witness_job,
)

COMMAND = "make bench"
HEADERS = 6000
PASSES = 5
CHAIN_BLOCKS = 20_000  # bench_import's chain: made once, shared
TXS_PER_BLOCK = 5
SEED = 1

Mapper = Callable[[Callable[[WitnessJob], bool], Sequence[WitnessJob]], list[bool]]


class ThreadedMapper:
    """
    A mapper that splits the jobs into one chunk per thread: what threads would
    give the node, measured against its processes.
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


def jobs_of(chain: Path, count: int) -> list[WitnessJob]:
    found, previous = [], None
    for header in bench_import.headers(chain, count):
        if previous is not None:
            found.append(witness_job(header, previous))
        previous = header
    return found


def rate(mapper: Mapper, jobs: list[WitnessJob], passes: int) -> float:
    """
    Jobs per second, the median of C{passes} after one warm-up pass; every job must pass.
    """
    times = []
    for _ in range(passes + 1):
        started = time.perf_counter()
        results = mapper(check_witness, jobs)
        times.append(time.perf_counter() - started)
        if not all(results):
            raise RuntimeError("a witness of the benchmark chain did not verify")
    return len(jobs) / statistics.median(times[1:])


def measure(count: int, passes: int) -> dict[str, float]:
    chain = bench_import.chain_file(CHAIN_BLOCKS, TXS_PER_BLOCK, SEED,
                                    lambda text: print(text, file=sys.stderr))
    jobs = jobs_of(chain, count)
    figures: dict[str, float] = {"jobs": len(jobs), "cores": os.cpu_count() or 1,
                                 "passes": passes}
    figures["verify_rate"] = bench_import.verify_rate(jobs[0].message, 7, 3000)
    figures["calls_per_witness"] = bench_import.verifications_per_block(chain, min(count, 2000))
    figures["serial"] = rate(serial_map, jobs, passes)
    for workers in (1, 2):
        threads = ThreadedMapper(workers)
        try:
            figures[f"threads_{workers}"] = rate(threads, jobs, passes)
        finally:
            threads.shutdown()
        processes = ProcessMapper(workers, min_jobs=1)
        try:
            figures[f"processes_{workers}"] = rate(processes, jobs, passes)
        finally:
            processes.shutdown()
    figures["bound"] = figures["cores"] * figures["verify_rate"] / figures["calls_per_witness"]
    figures["one_core_bound"] = figures["verify_rate"] / figures["calls_per_witness"]
    return figures


def section(f: dict[str, float]) -> str:
    cores, bound = int(f["cores"]), f["bound"]
    best = max(f["processes_2"], f["threads_2"])
    scaling = f["processes_2"] / f["processes_1"]
    python_share = 1 - f["serial"] / f["one_core_bound"]
    threads = f["threads_2"] / f["threads_1"]
    if threads < 1.2:
        why_threads = ("this `cryptography` holds the GIL while it verifies, so threads take "
                       "turns; the node checks in worker processes.")
    elif threads < 1.8:
        why_threads = ("this `cryptography` lets go of the GIL for part of each check, but the "
                       "Python around it takes turns; the node checks in worker processes.")
    else:
        why_threads = ("this `cryptography` releases the GIL inside verify, so threads scale "
                       "too; the node's worker processes also keep the Python around the "
                       "checks off the core that runs the reactor.")
    rows = "\n".join(
        f"| {name} | {f[key]:,.0f} | {f[key] / bound:.0%} |"
        for name, key in (("serial (the calling thread)", "serial"),
                          ("1 thread", "threads_1"), ("2 threads", "threads_2"),
                          ("1 worker process", "processes_1"),
                          ("2 worker processes", "processes_2")))
    return f"""## Parallel verification

Header witnesses checked per second, by thread and by process (`bench/bench_verify.py --write`).

- Date: {report.now()}; commit {report.commit()}
- Machine: {report.machine()}
- Command: `{COMMAND}` (runs `.venv/bin/python bench/bench_verify.py --write`)
- Jobs: the witnesses of {int(f['jobs']):,} headers of the 5-tx benchmark chain (3 of 4
  validators sign each), checked with `check_witness` by each mapper of
  `neo_twisted.ledger.verify`; median of {int(f['passes'])} passes after a warm-up.
- Bound: {cores} cores x {f['verify_rate']:,.0f} `verify_signature`/s (one core) /
  {f['calls_per_witness']:.2f} calls per witness (CHECKMULTISIG tries a signature against a
  key that did not sign when that validator comes before the last signer) =
  **{bound:,.0f} witnesses/s**.

| mapper | witnesses/s | of the bound |
|---|---:|---:|
{rows}

- Scaling of the worker processes from 1 to 2: **{scaling:.2f}x**. The best way reaches
  {best / bound:.0%} of the bound.
- Python work around the C call: one witness on the calling thread takes
  {1e6 / f['serial']:,.0f} us, of which the {f['calls_per_witness']:.2f} signature checks are
  {1e6 * f['calls_per_witness'] / f['verify_rate']:,.0f} us: {python_share:.0%} is the
  script parsing, key loading and hashing around them.
- Threads: {threads:.2f}x from 1 to 2: {why_threads}
"""


def main(argv: list[str] | None = None) -> int:
    parser = report.command_line(__doc__, "rewrite this section of BENCHMARKS.md",
                                 "1,000 headers and 2 passes, a smoke run")
    args = report.arguments(parser, argv)
    figures = measure(1000, 2) if args.quick else measure(HEADERS, PASSES)
    text = section(figures)
    print(text)
    if args.write:
        report.publish("bench_verify", text, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
