# -*- test-case-name: tests.unit.test_cli -*-
"""
The C{neonode} command line.

Each subcommand lives in its own module and registers its parser here. Bad
input exits with status 1 and one line on standard error that says what is
wrong (and where); it never shows a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from neo_twisted import version_text
from neo_twisted.cli import backup, chain, decode, localnet, status, vm
from neo_twisted.cli.errors import CommandError

__all__ = ["CommandError", "main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neonode", description="A NEO 2.x node on Twisted.")
    parser.add_argument("--version", action="version", version=version_text())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    decode.add_parser(commands)
    chain.add_parsers(commands)
    backup.add_parser(commands)
    localnet.add_parser(commands)
    status.add_parser(commands)
    vm.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """
    Run the command line; returns the exit status (streams are injectable for tests).
    """
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    args.stderr = stderr
    try:
        status: int | None = args.run(args, stdin, stdout)
    except CommandError as e:
        stderr.write(f"neonode: error: {e}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (say, `head`) went away: not an error of ours, and nothing more to say.
        return 0
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
