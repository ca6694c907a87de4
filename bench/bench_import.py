"""
Chain import: blocks/s, transactions/s and peak memory of C{neonode import}.

A chain of the bundled privnet (its 4 validators from protocol.json and
devkeys/privnet.json, so M = 3 signatures per block, and K = 5 transfers per
block) is generated once by C{neonode makechain} and cached in bench/.cache/.
Each import is a C{neonode import} child process on a fresh data directory,
verifying every block witness, exactly as an operator runs it:

  - speed: the median of several imports of a 20,000-block chain;
  - memory: the peak resident set (VmHWM, from wait4) of a 20,000-block and a
    100,000-block import, which should not grow with the chain, split (sampled
    from /proc) into private memory and pages of the store's memory map;
  - the bound signatures set: the single-core rate of
    C{neo_twisted.crypto.ecdsa.verify_signature} on P-256, times the cores,
    over the signatures per block.

Usage::

    python bench/bench_import.py            # print the results
    python bench/bench_import.py --write    # also rewrite its section of BENCHMARKS.md
    python bench/bench_import.py --quick    # a small smoke run (never written)

Standard library and L{neo_twisted} only. Delete bench/.cache/ to regenerate the chains.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

import neo_twisted
import neo_twisted.crypto.witness as witness_module
from neo_twisted.cli.chain import IMPORT_BATCH
from neo_twisted.core.block import Header
from neo_twisted.crypto.ecdsa import load_public_key, verify_signature
from neo_twisted.crypto.scripts import bft_threshold
from neo_twisted.ledger.chainacc import ChainReader
from neo_twisted.ledger.generator import load_dev_keys
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.ledger.verify import check_witness, witness_job

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # bench/report.py, next to this script
from common import CACHE, PROTOCOL, child_pids, environment, neonode, proc_status, scratch_directory

ROOT = report.ROOT
KEYS = ROOT / "devkeys" / "privnet.json"
#: What the chains are made from: a change to any of these makes new ones.
CHAIN_SOURCES = (PROTOCOL, KEYS, ROOT / "neo_twisted" / "ledger" / "generator.py",
                 ROOT / "neo_twisted" / "ledger" / "genesis.py")
COMMAND = "make bench"
#: Blocks per second a 2-core machine should import.
TARGET_RATE = 2_000
#: How far apart the peak RSS of the short and the long import may be, in MiB.
TARGET_RSS_SPREAD = 30
#: Seconds between two looks at /proc while an import runs.
SAMPLE_EVERY = 0.05


@attrs.frozen
class Settings:
    """
    What one run of this script measures.
    """

    blocks: int  # the speed chain
    runs: int  # imports of it
    long_blocks: int  # the chain compared with it for memory
    txs_per_block: int
    seed: int
    verify_passes: int
    verify_per_pass: int


FULL = Settings(blocks=20_000, runs=3, long_blocks=100_000, txs_per_block=5, seed=1,
                verify_passes=7, verify_per_pass=3_000)
QUICK = Settings(blocks=2_000, runs=1, long_blocks=5_000, txs_per_block=5, seed=1,
                 verify_passes=3, verify_per_pass=500)


@attrs.frozen
class Import:
    """
    One C{neonode import} of a chain, as measured.

    @ivar seconds: the import proper, as the command reports it (after start-up).
    @ivar wall: from spawning the command to its exit.
    @ivar cpu: user + system seconds of the command and its verifier processes.
    @ivar peak_rss: the command's peak resident set (VmHWM), from wait4, in bytes.
    @ivar peak_anon, peak_file: the largest private / file-backed parts seen by sampling.
    @ivar peak_workers: the largest sum of the verifier processes' resident sets seen.
    """

    blocks: int
    transactions: int
    seconds: float
    wall: float
    cpu: float
    peak_rss: int
    peak_anon: int
    peak_file: int
    peak_workers: int
    store_size: int

    @property
    def rate(self) -> float:
        return self.blocks / self.seconds

    @property
    def tx_rate(self) -> float:
        return self.transactions / self.seconds


# -- chains -------------------------------------------------------------------------------


def chain_file(blocks: int, txs_per_block: int, seed: int,
               progress: Callable[[str], None]) -> Path:
    """
    The cached chain.acc of C{blocks} blocks after genesis, generated first if need be.
    """
    digest = hashlib.sha256(f"{neo_twisted.__version__} {blocks} {txs_per_block} {seed}".encode())
    for source in CHAIN_SOURCES:
        digest.update(source.read_bytes())
    path = CACHE / f"chain-{blocks}b-{txs_per_block}tx-seed{seed}-{digest.hexdigest()[:12]}"
    path /= "chain.acc"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    progress(f"generating a {blocks:,}-block chain (once; cached in {path.parent})")
    subprocess.run(neonode("makechain", "--config", PROTOCOL, "--keys", KEYS,
                           "--blocks", blocks, "--txs-per-block", txs_per_block,
                           "--seed", seed, path),
                   check=True, stdout=subprocess.DEVNULL, env=environment())
    return path


def headers(chain: Path, count: int) -> Iterator[Header]:
    with ChainReader(chain) as reader:
        for record in reader.records():
            if record.height > count:
                return
            yield record.block().header


# -- imports ------------------------------------------------------------------------------


class _Sampler:
    """
    Looks at an import's memory every L{SAMPLE_EVERY} seconds until it exits.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.anon = self.file = self.workers = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        children: list[int] = []
        looks = 0
        while not self._done.wait(SAMPLE_EVERY):
            main = proc_status(self.pid)
            self.anon = max(self.anon, main.get("RssAnon", 0))
            self.file = max(self.file, main.get("RssFile", 0))
            if looks % 5 == 0:  # the verifier processes start with the first batch
                children = child_pids(self.pid)
            looks += 1
            self.workers = max(self.workers,
                               sum(proc_status(child).get("VmRSS", 0) for child in children))

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def store_size(datadir: Path) -> int:
    return sum(f.stat().st_size for f in datadir.rglob("*") if f.is_file())


def run_import(chain: Path, blocks: int, txs_per_block: int,
               datadir: Path | None = None, *, config: Path = PROTOCOL,
               transactions: int | None = None) -> Import:
    """
    C{neonode import} of C{chain} into a fresh data directory, measured; the directory
    is removed afterwards, unless it is C{datadir} (new or empty): the caller keeps that
    one, say to serve the chain from it (bench_sync.py).

    @param config: the chain's network (the privnet of C{protocol.json} by default).
    @param transactions: those of the chain, when not C{txs_per_block} in every block.
    """
    keep = datadir is not None
    if datadir is None:
        datadir = scratch_directory("import-")
    try:
        with tempfile.TemporaryFile() as errors:
            started = time.perf_counter()
            process = subprocess.Popen(
                neonode("import", "--config", config, "--datadir", datadir, chain),
                stdout=subprocess.PIPE, stderr=errors, env=environment())
            sampler = _Sampler(process.pid)
            assert process.stdout is not None
            output = process.stdout.read()
            process.stdout.close()
            _, status, usage = os.wait4(process.pid, 0)  # the rusage of this child alone
            wall = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            sampler.stop()
            if process.returncode != 0:
                errors.seek(0)
                raise RuntimeError(f"neonode import failed ({process.returncode}): "
                                   f"{errors.read().decode(errors='replace')}")
        result = json.loads(output)
        if result["imported"] != blocks:
            raise RuntimeError(f"imported {result['imported']} blocks, expected {blocks}")
        if transactions is None:
            transactions = blocks * (txs_per_block + 1)
        return Import(blocks=blocks, transactions=transactions,
                      seconds=float(result["seconds"]), wall=wall,
                      cpu=usage.ru_utime + usage.ru_stime, peak_rss=usage.ru_maxrss * 1024,
                      peak_anon=sampler.anon, peak_file=sampler.file,
                      peak_workers=sampler.workers, store_size=store_size(datadir))
    finally:
        if not keep:
            shutil.rmtree(datadir, ignore_errors=True)


# -- signatures ---------------------------------------------------------------------------


def signers() -> tuple[int, int]:
    """
    The validators of the privnet, and the signatures (M of them) each block carries.
    """
    validators = len(load_protocol(PROTOCOL).standby_validators)
    return validators, bft_threshold(validators)


def verify_rate(message: bytes, passes: int, per_pass: int) -> float:
    """
    C{verify_signature} calls per second on one core (median pass), by a validator key.
    """
    pair = load_dev_keys(KEYS)[0]
    public_key = load_public_key(pair.public_key.encode())
    assert public_key is not None
    signature = pair.sign(message)
    assert verify_signature(public_key, message, signature)
    times = []
    for _ in range(passes + 1):
        started = time.perf_counter()
        for _ in range(per_pass):
            verify_signature(public_key, message, signature)
        times.append(time.perf_counter() - started)
    return per_pass / statistics.median(times[1:])  # the first pass warms up


def verifications_per_block(chain: Path, count: int) -> float:
    """
    How many C{verify_signature} calls checking a block witness takes, on average.

    CHECKMULTISIG walks the keys in order and tries the next signature against
    each: when a validator before the last did not sign, a signature is first
    tried against its key, and fails.
    """
    calls = 0
    original = witness_module.verify_signature

    def counting(*args: object) -> bool:
        nonlocal calls
        calls += 1
        return original(*args)  # type: ignore[arg-type]

    previous = None
    checked = 0
    witness_module.verify_signature = counting  # type: ignore[assignment]
    try:
        for header in headers(chain, count):
            if previous is not None:
                if not check_witness(witness_job(header, previous)):
                    raise RuntimeError(f"block {header.index}: witness does not verify")
                checked += 1
            previous = header
    finally:
        witness_module.verify_signature = original
    return calls / checked


# -- report -------------------------------------------------------------------------------


@attrs.frozen
class Results:
    settings: Settings
    speed: list[Import]
    long: Import
    verify_rate: float
    validators: int
    signatures: int
    calls_per_block: float
    pressure: tuple[str, str]

    @property
    def median(self) -> Import:
        return sorted(self.speed, key=lambda run: run.rate)[len(self.speed) // 2]

    @property
    def short_peak(self) -> Import:
        return max(self.speed, key=lambda run: run.peak_rss)

    def bound(self, per_block: float) -> float:
        return (os.cpu_count() or 1) * self.verify_rate / per_block


def verdicts(r: Results) -> str:
    median, short, long = r.median, r.short_peak, r.long
    mib = report.mib
    rate_met = report.met(median.rate >= TARGET_RATE)
    spread = abs(long.peak_rss - short.peak_rss)
    rss_met = report.met(spread <= TARGET_RSS_SPREAD * report.MIB)
    anon_spread = abs(long.peak_anon - short.peak_anon)
    anon_met = report.met(anon_spread <= TARGET_RSS_SPREAD * report.MIB)
    runs = f"{len(r.speed)} imports" if len(r.speed) > 1 else "1 import"
    return (
        f"**Target: >= {TARGET_RATE:,} blocks/s on this {os.cpu_count()}-core machine: "
        f"{rate_met}** (median of {runs} of {median.blocks:,} blocks: {median.rate:,.0f} "
        f"blocks/s).\n\n"
        f"**Target: peak RSS of a {long.blocks:,}-block import within {TARGET_RSS_SPREAD} MiB "
        f"of a {short.blocks:,}-block one: {rss_met}** ({mib(short.peak_rss)} and "
        f"{mib(long.peak_rss)}: {mib(spread)} apart). Their private (anonymous) memory: "
        f"{mib(short.peak_anon)} and {mib(long.peak_anon)}, {mib(anon_spread)} apart: "
        f"{anon_met}; the rest is pages of the store's memory map (see below).")


def import_table(r: Results) -> str:
    mib = report.mib
    lines = [
        "| import | run | seconds | blocks/s | tx/s | wall s | CPU s (all processes) "
        "| CPU ms per block | peak RSS | private / map (sampled) | verifier processes | store |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [(f"{run.blocks:,} blocks", f"{i + 1} of {len(r.speed)}", run)
            for i, run in enumerate(r.speed)]
    rows.append((f"{r.long.blocks:,} blocks", "1 of 1", r.long))
    for name, which, run in rows:
        lines.append(
            f"| {name} | {which} | {run.seconds:.2f} | {run.rate:,.0f} | {run.tx_rate:,.0f} "
            f"| {run.wall:.2f} | {run.cpu:.1f} | {1000 * run.cpu / run.blocks:.2f} "
            f"| {mib(run.peak_rss)} "
            f"| {mib(run.peak_anon)} / {mib(run.peak_file)} | {mib(run.peak_workers)} "
            f"| {mib(run.store_size)} |")
    return "\n".join(lines)


def signature_table(r: Results) -> str:
    cores = os.cpu_count() or 1
    return "\n".join([
        "| measurement | value |",
        "|---|---:|",
        f"| `verify_signature` (P-256), one core, median of {r.settings.verify_passes} passes "
        f"of {r.settings.verify_per_pass:,} | {r.verify_rate:,.0f} /s |",
        f"| signatures per block (M of {r.validators} validators) | {r.signatures} |",
        f"| bound: {cores} cores x rate / {r.signatures} signatures "
        f"| {r.bound(r.signatures):,.0f} blocks/s |",
        f"| `verify_signature` calls per block, measured (CHECKMULTISIG walk) "
        f"| {r.calls_per_block:.2f} |",
        f"| bound with the measured calls | {r.bound(r.calls_per_block):,.0f} blocks/s |",
        f"| median import / bound with the measured calls "
        f"| {r.median.rate / r.bound(r.calls_per_block):.0%} |",
    ])


def report_section(r: Results) -> str:
    s = r.settings
    return f"""## Chain import

`neonode import` of a generated chain into a fresh data directory
(`bench/bench_import.py --write`).

- Date: {report.now()}
- Machine: {report.shared_machine(r.pressure)}
- Command: `{COMMAND}` (runs `.venv/bin/python bench/bench_import.py --write`)
- Chains: the privnet of `protocol.json`, blocks signed by M = {r.signatures} of its
  validators (`devkeys/privnet.json`), {s.txs_per_block} ContractTransactions per block plus
  the MinerTransaction, seed {s.seed}; made by `neonode makechain` once and cached in
  `bench/.cache/`.
- Method: each import is `python -m neo_twisted.cli import` in a child process, on a fresh
  data directory in `bench/.cache/` (the repository's disk), every block witness verified.
  *seconds* is the import proper as the command reports it; *wall* adds the start-up.
  *Peak RSS* is the child's `ru_maxrss` from `wait4` (its VmHWM; the verifier processes it
  starts are smaller). The private / map split and the verifier processes' total are the
  largest values seen in `/proc/<pid>/status`, read every {SAMPLE_EVERY * 1000:.0f} ms.

{verdicts(r)}

{import_table(r)}

{signature_table(r)}

How the import works, and what the figures mean:

- The importer decodes a batch of {IMPORT_BATCH:,} blocks and hands its header witnesses to
  one verifier process per core, then writes the previous batch: the signatures of one batch
  are checked while the one before it is applied and committed. The ledger still asks for
  every check itself; each batch is one LMDB write transaction, synced when it commits.
- `cryptography` holds the GIL while it verifies an ECDSA signature, so threads would not
  check two at once: the verifiers are processes.
- Peak RSS counts the pages of the store's memory map that the import has touched: clean
  pages of the kernel's file cache (the kernel maps up to 64 KiB around each page read, more
  with large folios), spread over the whole of the transaction, spent-output and header
  tables, so left alone they grow with the store. The ledger bounds them: after each block
  applied, every 32 headers and each commit it reads its file-backed RSS from
  `/proc/self/statm` and, when the map holds more than 16 MiB above what it held after the
  last release, tells the kernel (`madvise`) it may drop them; they stay in the page cache,
  so nothing is read again from disk. The private memory (decoded batches, LMDB's dirty
  pages, Python itself) is what the process holds.
"""


# -- main ---------------------------------------------------------------------------------


def measure(s: Settings, progress: Callable[[str], None]) -> Results:
    pressure_before = report.cpu_pressure()
    short_chain = chain_file(s.blocks, s.txs_per_block, s.seed, progress)
    long_chain = chain_file(s.long_blocks, s.txs_per_block, s.seed, progress)
    speed = []
    for i in range(s.runs):
        progress(f"import {i + 1} of {s.runs}: {s.blocks:,} blocks")
        speed.append(run_import(short_chain, s.blocks, s.txs_per_block))
        progress(f"  {speed[-1].rate:,.0f} blocks/s, peak RSS {report.mib(speed[-1].peak_rss)}")
    progress(f"import of {s.long_blocks:,} blocks")
    long = run_import(long_chain, s.long_blocks, s.txs_per_block)
    progress(f"  {long.rate:,.0f} blocks/s, peak RSS {report.mib(long.peak_rss)}")
    progress("signature verification")
    first = next(headers(short_chain, 1))
    rate = verify_rate(first.unsigned_bytes(), s.verify_passes, s.verify_per_pass)
    calls = verifications_per_block(short_chain, min(s.blocks, 2_000))
    validators, signatures = signers()
    return Results(settings=s, speed=speed, long=long, verify_rate=rate, validators=validators,
                   signatures=signatures,
                   calls_per_block=calls, pressure=(pressure_before, report.cpu_pressure()))


def main(argv: list[str] | None = None) -> int:
    parser = report.command_line(
        __doc__, write="rewrite this script's section of BENCHMARKS.md",
        quick=f"a smoke run: {QUICK.blocks:,} and {QUICK.long_blocks:,} blocks, one import each")
    parser.add_argument("--runs", type=int, help=f"imports of the speed chain ({FULL.runs})")
    args = report.arguments(parser, argv)
    settings = QUICK if args.quick else FULL
    if args.runs is not None:
        settings = attrs.evolve(settings, runs=max(1, args.runs))
    results = measure(settings, lambda text: print(f"... {text}", file=sys.stderr))
    print(import_table(results), signature_table(results), verdicts(results), sep="\n\n")
    if args.write:
        report.write_section("bench_import", report_section(results))
        print(f"wrote its section of {report.PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
