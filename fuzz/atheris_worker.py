"""
One fuzz target under atheris, in a process of its own (atheris takes the process over):
C{python -m fuzz.atheris_worker NAME [libFuzzer flags and corpus folders]}.

L{fuzz.run} starts it; libFuzzer does the rest: it mutates the corpus guided by the
coverage of L{neo_twisted} (the only package instrumented), and on an exception the target
does not allow, or an input slower than C{-timeout}, it saves the input under
C{-artifact_prefix} and exits non-zero.
"""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped]


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(f"usage: {argv[0]} TARGET [libFuzzer flags] [corpus folders]")
    with atheris.instrument_imports(include=["neo_twisted"]):
        from fuzz.targets import TARGETS
    target = TARGETS[argv[1]]
    target.check(b"")  # builds what the target needs (the RPC ledger) before the clock runs
    atheris.Setup([argv[0], *argv[2:]], target.check)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
