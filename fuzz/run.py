"""
Fuzz every target (or those named) for a set time each: C{python -m fuzz.run [NAME ...]
[--seconds N]}, which C{make fuzz} runs.

atheris is used when it imports (the C{fuzz} extra), hypothesis otherwise. Seeds are each
target's real encodings (tests/data/vectors or C{$NEO_VECTORS}, and the repository samples)
plus valid encodings drawn from the test strategies. The run prints, per target, the
executions, seconds and crashes, saves every crashing input in C{fuzz/crashes/TARGET/} and
exits non-zero if any target crashed.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from fuzz.engines import (
    DEFAULT_TIMEOUT,
    Result,
    atheris_available,
    clear_corpus,
    fuzz_with_atheris,
    fuzz_with_hypothesis,
)
from fuzz.registry import Target
from fuzz.targets import TARGETS

#: Valid encodings drawn from a target's strategy to seed it.
DEFAULT_GENERATED = 40


def generated_seeds(target: Target, count: int) -> list[bytes]:
    """
    C{count} valid inputs drawn from the target's strategy (none without one).
    """
    if target.strategy is None or count <= 0:
        return []
    from hypothesis import HealthCheck, Phase, given, settings

    found: list[bytes] = []

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(target.strategy())
    def collect(data: bytes) -> None:
        found.append(data)

    collect()
    return found


def select(patterns: Sequence[str]) -> list[Target]:
    """
    The targets matching any of C{patterns} (shell wildcards: C{'payload.*'}), in order.
    """
    if not patterns:
        return list(TARGETS.values())
    unknown = [p for p in patterns if not fnmatch.filter(TARGETS, p)]
    if unknown:
        raise SystemExit(f"no fuzz target matches {', '.join(unknown)}; "
                         f"--list shows them")
    return [t for name, t in TARGETS.items() if any(fnmatch.fnmatch(name, p) for p in patterns)]


def fuzz_one(target: Target, engine: str, seconds: int, generated: int,
             timeout: int) -> Result:
    seeds = [*target.seeds(), *generated_seeds(target, generated)]
    if engine == "atheris":
        return fuzz_with_atheris(target, seconds, seeds, timeout)
    return fuzz_with_hypothesis(target, seconds, seeds, timeout)


def _row(result: Result) -> str:
    rate = result.executions / result.seconds if result.seconds else 0.0
    return (f"{result.name:<28} {result.engine:<10} {result.executions:>11,} "
            f"{result.seconds:>8.1f} {rate:>9,.0f} {len(result.crashes):>7}")


HEADER = (f"{'target':<28} {'engine':<10} {'executions':>11} {'seconds':>8} "
          f"{'exec/s':>9} {'crashes':>7}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split(
        "\n\n")[0].strip())
    parser.add_argument("targets", nargs="*", metavar="NAME",
                        help="targets to run (wildcards allowed; default: all)")
    parser.add_argument("--seconds", type=int, default=60,
                        help="fuzzing time per target (default 60)")
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    parser.add_argument("--jobs", type=int, default=1,
                        help="targets fuzzed at once (atheris: one process each)")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                        help="seconds one input may take before it is a hang (default 10)")
    parser.add_argument("--generated", type=int, default=DEFAULT_GENERATED,
                        help="strategy-drawn seeds per target (default 40)")
    parser.add_argument("--fresh", action="store_true",
                        help="forget the saved atheris corpora of these targets first")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    args = parser.parse_args(argv)

    targets = select(args.targets)
    if args.list:
        for target in targets:
            allowed = ", ".join(e.__name__ for e in target.allowed) or "nothing"
            print(f"{target.name:<28} allows {allowed}")
        return 0
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if atheris_available() else "hypothesis"
    if engine == "atheris" and not atheris_available():
        raise SystemExit("atheris does not import: pip install -e '.[fuzz]'")
    jobs = max(1, args.jobs) if engine == "atheris" else 1  # hypothesis runs in-process
    if args.fresh:
        for target in targets:
            clear_corpus(target.name)

    print(f"fuzzing {len(targets)} targets with {engine}, {args.seconds} s each"
          f"{f', {jobs} at a time' if jobs > 1 else ''}", flush=True)
    print(HEADER, flush=True)
    started = time.monotonic()

    def run(target: Target) -> Result:
        result = fuzz_one(target, engine, args.seconds, args.generated, args.timeout)
        print(_row(result), flush=True)
        for path in result.crashes:
            print(f"  crash saved: {path}", flush=True)
        if result.detail:
            print("  " + result.detail.replace("\n", "\n  "), flush=True)
        return result

    if jobs == 1:
        results = [run(target) for target in targets]  # hypothesis's alarm needs this thread
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(run, targets))
    crashed = [r for r in results if r.crashes]
    total = sum(r.executions for r in results)
    print(f"{len(results)} targets, {total:,} executions in "
          f"{time.monotonic() - started:.0f} s; "
          f"{len(crashed)} crashed{': ' + ', '.join(r.name for r in crashed) if crashed else ''}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
