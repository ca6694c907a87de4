"""
A mainnet-shaped sync: how long an empty node takes to catch up with a chain shaped
like NEO 2's mainnet, with and without assume-valid (neo-cli took days for mainnet).

The chain is C{neonode makechain --shape mainnet}: seven validators (M = 5 signatures
a block, C{devkeys/protocol.mainnet-shape.json}), block 1 fanning the genesis NEO out,
then 90 % of the blocks holding only the MinerTransaction and the others 1 to 199
transfers (about 3.7 a block; L{neo_twisted.ledger.generator_shape}). It is made once
and cached in bench/.cache/, keyed by its parameters and the generator's sources. Node
A's data directory is made by C{neonode import} of it (that import's rate is reported
too); then an empty node B syncs it from A, checking every witness, and another empty
B syncs it with C{--assume-valid <N>:<hash of block N>}. Both nodes are real
C{twistd neonode} processes on loopback (bench/syncrun.py's measured sync).

Making, importing and syncing 1,000,000 blocks takes a while: the first blocks (a chain
of L{PROBE_BLOCKS}) are made, imported and synced first, and if their rates say N blocks
would not fit C{--time-budget}, the run shrinks N to what fits, saying so in the report.
The time of a mainnet-length chain of this shape is then extrapolated at the rates
measured on N.

Usage::

    python bench/bench_mainnet.py                     # 1,000,000 blocks, or what fits
    python bench/bench_mainnet.py --write             # also its section of BENCHMARKS.md
                                                      # and its key of bench/results.json
    python bench/bench_mainnet.py --blocks 20000      # another length
    python bench/bench_mainnet.py --time-budget 3600  # seconds the whole run may take
    python bench/bench_mainnet.py --quick             # 5,000 blocks (never written)

Standard library and L{neo_twisted} only. Delete bench/.cache/ to regenerate the chains.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nodes  # bench/nodes.py: the twistd neonode processes
import report  # bench/report.py
from common import scratch_directory  # bench/common.py
from mainnet_chain import (  # bench/mainnet_chain.py: the chains and the import
    NETWORK,
    Chain,
    Import,
    chain_file,
    is_cached,
    run_import,
    tip_hash,
)
from syncrun import Sync, run_sync  # bench/syncrun.py: one measured sync

COMMAND = "make bench"
#: The height the full chain's time is extrapolated to: on mainnet, neo-cli 2.12.2 set its
#: free-GAS change (FreeGasChangeHeight) for block 6,195,000, which mainnet reached and
#: went on past (docs: neo2-vm.md); the real chain is longer, so this is a lower bound.
MAINNET_HEIGHT = 6_195_000
CORES = os.cpu_count() or 1
#: Blocks made, imported and synced first to plan the run (a shorter N is not probed).
PROBE_BLOCKS = 20_000
#: The estimate is multiplied by this before it is held against the budget: rates fall
#: as the store grows.
MARGIN = 1.25
#: A shrunk N is a multiple of this.
ROUND = 10_000


@attrs.frozen
class Settings:
    blocks: int  # asked for, after genesis
    seed: int
    time_budget: float  # seconds the whole run may take


FULL = Settings(blocks=1_000_000, seed=1, time_budget=2400)
QUICK = Settings(blocks=5_000, seed=1, time_budget=2400)


# -- the plan -----------------------------------------------------------------------------


@attrs.frozen
class Plan:
    """
    How many blocks the run syncs, and why: the probe's measured rates.
    """

    asked: int
    blocks: int
    estimate: float | None  # seconds the run was expected to take (None: not probed)
    probe: Chain | None = None
    probe_import: Import | None = None
    probe_sync: Sync | None = None

    @property
    def shrunk(self) -> bool:
        return self.blocks < self.asked


def serve_and_sync(served: Path, workdir: Path, blocks: int, runs: list[tuple[str, ...]],
                   progress: Callable[[str], None]) -> list[Sync]:
    """
    Start node A on the data directory C{served} and sync a fresh empty B from it once
    per entry of C{runs} (B's extra options), each B removed after its sync.
    """
    a = nodes.Node("a", served, workdir, seed="127.0.0.1:1", extra=NETWORK)
    try:
        a_port = int(a.wait_for(nodes.LISTENING, nodes.START_TIMEOUT).group(1))
        syncs = []
        for i, extra in enumerate(runs):
            progress(f"sync of {blocks:,} blocks" + (f" with {' '.join(extra)}" if extra else ""))
            datadir = workdir / f"b{i + 1}"
            try:
                syncs.append(run_sync(a_port, datadir, workdir, blocks, (*NETWORK, *extra),
                                      a_pid=a.pid))
            finally:
                shutil.rmtree(datadir, ignore_errors=True)
            run = syncs[-1]
            progress(f"  headers {run.header_seconds:,.1f} s, full sync {run.block_seconds:,.1f} s "
                     f"({run.block_rate:,.0f} blocks/s)")
    finally:
        a_stop = a.stop()
    if a_stop != "clean":
        progress(f"node A did not stop cleanly: {a_stop}")
    return syncs


def plan(blocks: int, seed: int, time_budget: float, progress: Callable[[str], None]) -> Plan:
    """
    The blocks to sync: C{blocks}, or fewer if the rates of the first L{PROBE_BLOCKS}
    say they would not fit C{time_budget} seconds (the probe's own time counted in it).

    The probe makes those blocks (or finds them cached), imports them and syncs them
    once, checking every witness; the assume-valid sync is taken to run at that rate
    too (it runs faster).
    """
    if blocks <= PROBE_BLOCKS:
        return Plan(asked=blocks, blocks=blocks, estimate=None)
    started = time.perf_counter()
    probe = chain_file(PROBE_BLOCKS, seed, progress)
    workdir = scratch_directory("mainnet-probe-")
    try:
        progress(f"probe: import of {PROBE_BLOCKS:,} blocks")
        imported = run_import(probe, workdir / "a")
        progress(f"  {imported.rate:,.0f} blocks/s")
        [synced] = serve_and_sync(workdir / "a", workdir, PROBE_BLOCKS, [()], progress)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def estimate(count: int) -> float:
        making = 0.0 if is_cached(count, seed) else probe.make_seconds / probe.blocks
        return count * (making + 1 / imported.rate + 2 / synced.block_rate) * MARGIN

    left = time_budget - (time.perf_counter() - started)
    fits = blocks
    if estimate(blocks) > left:
        fits = max(PROBE_BLOCKS, int(left / estimate(1)) // ROUND * ROUND)
    return Plan(asked=blocks, blocks=fits, estimate=estimate(fits), probe=probe,
                probe_import=imported, probe_sync=synced)


# -- the run ------------------------------------------------------------------------------


@attrs.frozen
class Results:
    settings: Settings
    plan: Plan
    chain: Chain
    imported: Import
    full: Sync
    assumed: Sync
    assume_valid: str
    pressure: tuple[str, str]
    seconds: float  # the whole run

    @property
    def blocks(self) -> int:
        return self.chain.blocks

    @property
    def speedup(self) -> float:
        return self.full.block_seconds / self.assumed.block_seconds

    def extrapolated(self, rate: float) -> float:
        """
        Seconds for a chain of L{MAINNET_HEIGHT} blocks of this shape at C{rate} blocks/s.
        """
        return MAINNET_HEIGHT / rate


def measure(s: Settings, progress: Callable[[str], None]) -> Results:
    started = time.perf_counter()
    pressure_before = report.cpu_pressure()
    the_plan = plan(s.blocks, s.seed, s.time_budget, progress)
    if the_plan.shrunk:
        progress(f"{s.blocks:,} blocks would not fit {s.time_budget:,.0f} s: "
                 f"{the_plan.blocks:,} instead")
    chain = chain_file(the_plan.blocks, s.seed, progress)
    workdir = scratch_directory("mainnet-")
    try:
        served = workdir / "a"
        progress(f"import of {chain.blocks:,} blocks (node A's data directory)")
        imported = run_import(chain, served)
        progress(f"  {imported.rate:,.0f} blocks/s, store {report.mib(imported.store_size)}")
        assume_valid = f"{chain.blocks}:{tip_hash(served, chain.blocks)}"
        full, assumed = serve_and_sync(served, workdir, chain.blocks,
                                       [(), ("--assume-valid", assume_valid)], progress)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return Results(settings=s, plan=the_plan, chain=chain, imported=imported, full=full,
                   assumed=assumed, assume_valid=assume_valid,
                   pressure=(pressure_before, report.cpu_pressure()),
                   seconds=time.perf_counter() - started)


# -- report -------------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """
    C{seconds} as an operator reads a long wait: seconds, minutes, hours or days.
    """
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 86400:,.1f} days"


def plan_text(r: Results) -> str:
    p = r.plan
    if p.probe is None or p.probe_import is None:
        return f"{p.blocks:,} blocks, as asked (no more than the probe's {PROBE_BLOCKS:,})."
    probe, imported, synced = p.probe, p.probe_import, p.probe_sync
    assert synced is not None
    rates = (f"the first {probe.blocks:,} blocks were made at "
             f"{probe.blocks / probe.make_seconds:,.0f} blocks/s, imported at "
             f"{imported.rate:,.0f} blocks/s and synced at {synced.block_rate:,.0f} blocks/s; "
             f"both syncs were taken to run at that rate, and the estimate multiplied by "
             f"{MARGIN}")
    assert p.estimate is not None
    if p.shrunk:
        return (f"**{p.asked:,} blocks would not fit the time budget of "
                f"{r.settings.time_budget:,.0f} s, so this run has {p.blocks:,}** ({rates}; "
                f"estimate for {p.blocks:,}: {p.estimate:,.0f} s; the run took "
                f"{r.seconds:,.0f} s).")
    return (f"{p.blocks:,} blocks, as asked: they fit the time budget of "
            f"{r.settings.time_budget:,.0f} s ({rates}; estimate {p.estimate:,.0f} s; the "
            f"run took {r.seconds:,.0f} s).")


def chain_table(r: Results) -> str:
    c, i, mib = r.chain, r.imported, report.mib
    return "\n".join([
        "| chain | value |",
        "|---|---:|",
        f"| blocks after genesis | {c.blocks:,} |",
        f"| transactions (genesis's 4 included) | {c.transactions:,} |",
        f"| transactions a block (the miner's included) | {(c.transactions - 4) / c.blocks:.2f} |",
        f"| chain file | {mib(c.size)} |",
        f"| `neonode makechain` | {c.make_seconds:,.1f} s "
        f"({c.blocks / c.make_seconds:,.0f} blocks/s) |",
        f"| store after the import (node A) | {mib(i.store_size)} |",
        f"| `neonode import` (node A) | {i.seconds:,.1f} s, {i.rate:,.0f} blocks/s, "
        f"{i.transactions / i.seconds:,.0f} tx/s |",
        f"| import: CPU s (with its verifier processes), peak RSS | {i.cpu:,.1f}, "
        f"{mib(i.peak_rss)} |",
    ])


def sync_table(r: Results) -> str:
    mib = report.mib
    lines = [
        "| sync of B | headers s | full sync s | blocks/s | CPU B s | peak RSS B "
        f"| verifier processes | {CORES}-core use | stop |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, run in (("every witness checked", r.full),
                      (f"`--assume-valid {r.blocks}:...`", r.assumed)):
        lines.append(f"| {name} | {run.header_seconds:,.1f} | {run.block_seconds:,.1f} "
                     f"| {run.block_rate:,.0f} | {run.b_cpu:,.1f} | {mib(run.peak_rss)} "
                     f"| {mib(run.peak_workers)} | {run.utilisation(CORES):.0%} | {run.stop} |")
    return "\n".join(lines)


def extrapolation(r: Results) -> str:
    full, assumed, imported = r.full.block_rate, r.assumed.block_rate, r.imported.rate
    return (
        f"**Extrapolation** (not a measurement): at the rates measured here, a chain of this "
        f"shape as long as mainnet's {MAINNET_HEIGHT:,} blocks would take "
        f"**{duration(r.extrapolated(full))}** to sync checking every witness, "
        f"**{duration(r.extrapolated(assumed))}** with assume-valid "
        f"({r.speedup:.2f}x faster), and {duration(r.extrapolated(imported))} to import. "
        f"{MAINNET_HEIGHT:,} is the height neo-cli 2.12.2 scheduled mainnet's free-GAS change "
        f"for, which the chain went past: the real mainnet is longer, and its blocks carry "
        f"InvocationTransactions and claims this chain has not. Rates measured on "
        f"{r.blocks:,} blocks may not hold for a chain {MAINNET_HEIGHT / r.blocks:,.0f} times "
        f"longer.")


def report_section(r: Results) -> str:
    return f"""## Mainnet-shaped sync

An empty node syncing a chain shaped like mainnet from another over loopback, with and
without assume-valid (`bench/bench_mainnet.py --write`): the wait an operator weighs
(neo-cli took days for mainnet).

- Date: {report.now()}
- Machine: {report.shared_machine(r.pressure)} Both nodes run on it, so they share its cores.
- Command: `{COMMAND}` (runs `.venv/bin/python bench/bench_mainnet.py --write`)
- Chain: `neonode makechain --shape mainnet`, seed {r.settings.seed}: seven validators of
  `devkeys/protocol.mainnet-shape.json` (M = 5 signatures a block, a random 5 each block),
  block 1 fanning the genesis NEO out, then 90 % of the blocks holding only the
  MinerTransaction and the others 1 to 199 ContractTransactions, log-uniformly
  (`neo_twisted/ledger/generator_shape.py`); made once and cached in `bench/.cache/`.
- Blocks: {plan_text(r)}
- Method: node A's data directory is made by `neonode import` of the chain (every witness
  verified). A and B are `twistd --nodaemon neonode` processes on 127.0.0.1 with the
  shape's protocol file, B seeded with A alone; the clock starts when B's log says a peer
  is established, and B's heights are read from its store (as in the two-node sync above).
  *Headers s* is the time to all the headers, *full sync s* to all the blocks; *CPU B s*
  counts B and its verifier processes, *peak RSS B* is VmHWM of B's process. A first B
  checks every witness; a second, fresh B runs with `--assume-valid {r.assume_valid}`.

{chain_table(r)}

{sync_table(r)}

Assume-valid speed-up (full sync time without / with): **{r.speedup:.2f}x**.

{extrapolation(r)}
"""


def results_json(r: Results) -> dict[str, Any]:
    def sync(run: Sync) -> dict[str, Any]:
        return {"header_seconds": run.header_seconds, "block_seconds": run.block_seconds,
                "block_rate": run.block_rate, "b_cpu": run.b_cpu, "a_cpu": run.a_cpu,
                "peak_rss": run.peak_rss, "verifier_processes_rss": run.peak_workers,
                "stop": run.stop}

    p = r.plan
    return {
        "blocks_asked": p.asked,
        "blocks": r.blocks,
        "shrunk_to_fit": p.shrunk,
        "time_budget": r.settings.time_budget,
        "estimate_seconds": p.estimate,
        "run_seconds": r.seconds,
        "seed": r.settings.seed,
        "transactions": r.chain.transactions,
        "chain_bytes": r.chain.size,
        "make_seconds": r.chain.make_seconds,
        "store_bytes": r.imported.store_size,
        "import_seconds": r.imported.seconds,
        "import_rate": r.imported.rate,
        "full_sync": sync(r.full),
        "assume_valid_sync": sync(r.assumed),
        "assume_valid_speedup": r.speedup,
        "extrapolated_height": MAINNET_HEIGHT,
        "extrapolated_full_sync_seconds": r.extrapolated(r.full.block_rate),
        "extrapolated_assume_valid_seconds": r.extrapolated(r.assumed.block_rate),
        "extrapolated_import_seconds": r.extrapolated(r.imported.rate),
    }


# -- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = report.command_line(__doc__, write="rewrite this script's section of BENCHMARKS.md "
                                 "and its key of bench/results.json",
                                 quick=f"a smoke run: {QUICK.blocks:,} blocks")
    parser.add_argument("--blocks", type=int, help=f"blocks after genesis ({FULL.blocks:,})")
    parser.add_argument("--seed", type=int, help=f"the chain's seed ({FULL.seed})")
    parser.add_argument("--time-budget", type=float, metavar="SECONDS",
                        help=f"seconds the run may take; fewer blocks if they would not fit "
                        f"({FULL.time_budget:,.0f})")
    args = report.arguments(parser, argv)
    settings = QUICK if args.quick else FULL
    if args.blocks is not None:
        if args.blocks < 1:
            parser.error("--blocks must be at least 1")
        settings = attrs.evolve(settings, blocks=args.blocks)
    if args.seed is not None:
        settings = attrs.evolve(settings, seed=args.seed)
    if args.time_budget is not None:
        settings = attrs.evolve(settings, time_budget=args.time_budget)
    nodes.stop_nodes_on_sigterm()
    results = measure(settings, lambda text: print(f"... {text}", file=sys.stderr))
    print(f"Blocks: {plan_text(results)}", chain_table(results), sync_table(results),
          f"Assume-valid speed-up: {results.speedup:.2f}x", extrapolation(results), sep="\n\n")
    if args.write:
        report.publish("bench_mainnet", report_section(results), results_json(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
