"""
C{neonode backup}: a copy of a data directory taken while a ledger writes to it
is a whole store (C{neonode check} passes) at one commit.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.ledger.check import check_store
from tests.support.ledger_samples import CHAIN, PRIVNET, accept_all, open_ledger


class BackupTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.datadir = Path(self.mktemp())
        self.ledger = open_ledger(self, str(self.datadir), mapper=accept_all)
        self.ledger.add_blocks(CHAIN[:6])

    def run_backup(self, *args: str) -> tuple[int, str, str]:
        """
        C{neonode backup} in its own process, as an operator runs it beside the node.
        """
        done = subprocess.run([sys.executable, "-m", "neo_twisted.cli", "backup", "--datadir",
                               str(self.datadir), *args], capture_output=True, text=True,
                              timeout=120, check=False)
        return done.returncode, done.stdout, done.stderr

    def test_copy_while_open(self) -> None:
        """
        With the ledger open (as a running node holds it), the copy holds the store
        as committed, passes the check, and the ledger goes on writing.
        """
        target = Path(self.mktemp()).resolve()
        status, out, err = self.run_backup("--compact", str(target))
        self.assertEqual((status, err), (0, ""))
        self.assertIn('"block_height": 6', out)
        self.ledger.add_blocks(CHAIN[6:])
        self.assertEqual(self.ledger.block_height, len(CHAIN))
        self.assertEqual(check_store(target, PRIVNET), [])
        copy = open_ledger(self, str(target), mapper=accept_all)
        self.assertEqual(copy.block_height, 6)
        self.assertFalse(target.with_name(target.name + ".partial").exists())

    def test_refusals(self) -> None:
        """
        An existing target and a directory without a store are refused in one line.
        """
        target = Path(self.mktemp())
        target.mkdir()
        status, _, err = self.run_backup(str(target))
        self.assertEqual(status, 1)
        self.assertIn("exists already", err)
        self.datadir = Path(self.mktemp())
        status, _, err = self.run_backup(str(Path(self.mktemp())))
        self.assertEqual(status, 1)
        self.assertIn("no chain store here", err)
