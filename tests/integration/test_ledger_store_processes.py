"""
L{neo_twisted.ledger.store.ChainStore} shared between processes: C{neonode info} reads a
store another process holds open for writing. The store alone is in
L{tests.unit.test_ledger_store}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.settings import load_protocol

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_protocol(ROOT / "protocol.json")


class SharedStoreTests(SynchronousTestCase):
    def test_info_while_the_ledger_is_open(self) -> None:
        """
        Another process reads the heights while this one holds the store open for writing.
        """
        path = self.mktemp()
        ledger = Ledger.open(path, SETTINGS)
        self.addCleanup(ledger.close)
        neonode = [sys.executable, "-m", "neo_twisted.cli", "info", "--datadir", path]
        done = subprocess.run(neonode, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.assertEqual(done.returncode, 0, done.stderr)
        info = json.loads(done.stdout)
        self.assertEqual((info["magic"], info["block_height"]), (56753, 0))
        self.assertEqual(info["genesis"], str(ledger.genesis.hash))
        self.assertGreater(info["size_on_disk"], 0)
