# -*- test-case-name: tests.integration.test_cli_backup -*-
"""
C{neonode backup}: a consistent copy of a data directory's chain store, taken
while the node runs.

LMDB copies an environment from one read transaction (C{mdb_env_copy2}): the
copy is the store as of one commit, whatever the writer does meanwhile, and the
running node is not stopped or slowed beyond the disk reads. With C{--compact}
free pages are left out. The copy is written to a new directory beside the
target and renamed into place once complete, so an interrupted backup never
leaves something that looks like one. Restoring is copying the directory back
(the node stopped): see README.md, "Backups".
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import lmdb

from neo_twisted.cli.errors import CommandError
from neo_twisted.ledger.check import StoreInfo, store_info
from neo_twisted.ledger.store import ChainStore, StoreError

if TYPE_CHECKING:
    from neo_twisted.cli.errors import Subcommands

__all__ = ["add_parser", "backup"]


def backup(datadir: Path, target: Path, *, compact: bool = False) -> StoreInfo:
    """
    Copy C{datadir}'s chain store into C{target}/chain (C{target} must not exist);
    returns what the copy holds (L{store_info}).

    @raise CommandError: no store there, the target exists, or the copy failed.
    """
    if target.exists():
        raise CommandError(f"{target}: exists already (a backup goes to a new directory)")
    try:
        store = ChainStore(datadir, readonly=True)
    except StoreError as e:
        raise CommandError(str(e)) from None
    partial = target.with_name(target.name + ".partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)  # a backup interrupted before
        (partial / "chain").mkdir(parents=True)
        try:
            store.env.copy(str(partial / "chain"), compact=compact)
        finally:
            store.close()
        partial.rename(target)
    except (lmdb.Error, OSError) as e:
        shutil.rmtree(partial, ignore_errors=True)
        raise CommandError(f"backup of {datadir} failed: {e}") from None
    try:
        return store_info(target)
    except StoreError as e:
        raise CommandError(f"{target}: the copy cannot be read: {e}") from None


def _run(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    info = backup(args.datadir, args.target, compact=args.compact)
    json.dump({"backup": str(args.target), **info}, stdout, indent=2)
    stdout.write("\n")


def add_parser(commands: Subcommands) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "backup", help="copy a data directory's chain store, also while the node runs")
    parser.add_argument("--datadir", required=True, type=Path,
                        help="the node's data directory")
    parser.add_argument("--compact", action="store_true",
                        help="leave free pages out (smaller, a little slower)")
    parser.add_argument("target", type=Path, metavar="DIRECTORY",
                        help="a new directory to hold the copy (DIRECTORY/chain)")
    parser.set_defaults(run=_run)
