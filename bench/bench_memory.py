"""
Flat memory: a node's peak memory while syncing 200,000 blocks against 20,000.

For each chain length, node A serves a generated privnet chain (5 transfers a block,
the chains of bench_import.py, cached in bench/.cache/) and an empty node B syncs it
over loopback; both are real C{twistd neonode} processes (syncrun.py's run). B's
memory is read from /proc while it syncs: the peak resident set (VmHWM) and, sampled,
its private (anonymous) part and its file-backed part, which is the pages of the
LMDB store's memory map that the sync touched: those grow with the store and are the
kernel's to drop, so the private part is what shows whether the node itself stays flat.

Usage::

    python bench/bench_memory.py            # print the results
    python bench/bench_memory.py --write    # also rewrite its section of BENCHMARKS.md
    python bench/bench_memory.py --quick    # 5,000 against 20,000 blocks (never written)

Standard library and L{neo_twisted} only.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_import  # bench/bench_import.py: the chains and the import
import nodes  # bench/nodes.py: the twistd neonode processes
import report  # bench/report.py
import syncrun  # bench/syncrun.py: one measured sync of an empty node
from common import scratch_directory  # bench/common.py

COMMAND = "make bench"
#: The long sync's peak may exceed the short one's by this much (30 MB).
TARGET_SPREAD = 30_000_000
TXS_PER_BLOCK = 5
SEED = 1
FULL = (20_000, 200_000)
QUICK = (5_000, 20_000)


@dataclass(frozen=True)
class Run:
    blocks: int
    sync: syncrun.Sync
    store: int


def sync_once(blocks: int, progress: Callable[[str], None]) -> Run:
    """
    Make A (an import of the chain), start it, and measure one sync of an empty B.
    """
    chain = bench_import.chain_file(blocks, TXS_PER_BLOCK, SEED, progress)
    workdir = scratch_directory("memory-")
    a: nodes.Node | None = None
    try:
        served = workdir / "a"
        progress(f"import of {blocks:,} blocks (node A's data directory)")
        imported = bench_import.run_import(chain, blocks, TXS_PER_BLOCK, datadir=served)
        a = nodes.Node("a", served, workdir, seed="127.0.0.1:1")
        a_port = int(a.wait_for(nodes.LISTENING, nodes.START_TIMEOUT).group(1))
        progress(f"node B syncs {blocks:,} blocks from A (port {a_port})")
        sync = syncrun.run_sync(a_port, workdir / "b", workdir, blocks)
        progress(f"  {sync.block_rate:,.0f} blocks/s, peak RSS {report.mib(sync.peak_rss)}, "
                 f"private {report.mib(sync.peak_anon)}")
        a.stop()
        a = None
        return Run(blocks, sync, imported.store_size)
    finally:
        if a is not None:
            a.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def verdicts(short: Run, long: Run) -> str:
    mib = report.mib
    spread = long.sync.peak_rss - short.sync.peak_rss
    private = long.sync.peak_anon - short.sync.peak_anon
    return (f"**Target: peak RSS syncing {long.blocks:,} blocks at most 30 MB above "
            f"{short.blocks:,}: {report.met(spread <= TARGET_SPREAD)}** "
            f"({mib(short.sync.peak_rss)} and {mib(long.sync.peak_rss)}: "
            f"{spread / 1e6:,.0f} MB apart). Private memory: {mib(short.sync.peak_anon)} and "
            f"{mib(long.sync.peak_anon)}, {private / 1e6:,.0f} MB apart: "
            f"{report.met(private <= TARGET_SPREAD)}; the rest of the resident set is the "
            f"store's memory map ({mib(short.sync.peak_file)} and {mib(long.sync.peak_file)}).")


def table(runs: list[Run]) -> str:
    lines = ["| chain | full sync s | blocks/s | peak RSS | private / map (sampled) "
             "| verifier processes | store |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in runs:
        s = run.sync
        lines.append(f"| {run.blocks:,} | {s.block_seconds:,.1f} | {s.block_rate:,.0f} "
                     f"| {report.mib(s.peak_rss)} | {report.mib(s.peak_anon)} / "
                     f"{report.mib(s.peak_file)} | {report.mib(s.peak_workers)} "
                     f"| {report.mib(run.store)} |")
    return "\n".join(lines)


def report_section(runs: list[Run], pressure: tuple[str, str]) -> str:
    short, long = runs
    return f"""## Flat memory while syncing

An empty node's memory while it syncs {short.blocks:,} and then {long.blocks:,} blocks from a
peer on loopback (`bench/bench_memory.py --write`).

- Date: {report.now()}; commit {report.commit()}
- Machine: {report.shared_machine(pressure)}
- Command: `{COMMAND}` (runs `.venv/bin/python bench/bench_memory.py --write`)
- Method: for each length, node A is made by `neonode import` of the generated chain
  ({TXS_PER_BLOCK} transfers a block, seed {SEED}, cached in `bench/.cache/`) and serves it; an
  empty node B syncs it as in the two-node sync benchmark (one sync each). *Peak RSS* is B's
  VmHWM just before its SIGTERM; *private / map* are the largest RssAnon and RssFile of B
  seen in samples about a second apart; the verifier processes (one per core) are counted
  apart.

{verdicts(short, long)}

{table(runs)}
"""


def results_json(runs: list[Run]) -> dict[str, Any]:
    return {
        "runs": [{"blocks": run.blocks, "block_rate": round(run.sync.block_rate, 1),
                  "peak_rss": run.sync.peak_rss, "peak_anon": run.sync.peak_anon,
                  "peak_file": run.sync.peak_file, "peak_workers": run.sync.peak_workers,
                  "store": run.store} for run in runs],
        "spread_rss": runs[1].sync.peak_rss - runs[0].sync.peak_rss,
        "spread_anon": runs[1].sync.peak_anon - runs[0].sync.peak_anon,
    }


def main(argv: list[str] | None = None) -> int:
    parser = report.command_line(__doc__, write="rewrite this script's section of "
                                 "BENCHMARKS.md and its key of bench/results.json",
                                 quick=f"{QUICK[0]:,} against {QUICK[1]:,} blocks")
    args = report.arguments(parser, argv)
    nodes.stop_nodes_on_sigterm()
    pressure_before = report.cpu_pressure()

    def progress(text: str) -> None:
        print(f"... {text}", file=sys.stderr)

    runs = [sync_once(blocks, progress) for blocks in (QUICK if args.quick else FULL)]
    pressure = (pressure_before, report.cpu_pressure())
    print(table(runs), verdicts(*runs), sep="\n\n")
    if args.write:
        report.publish("bench_memory", report_section(runs, pressure), results_json(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
