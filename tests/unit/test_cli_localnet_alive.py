"""
Tests for L{neo_twisted.cli.localnet._check_alive}: a node of the local network that
exits ends the run at once, saying why.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.cli.errors import CommandError
from neo_twisted.cli.localnet import _check_alive
from neo_twisted.cli.localnet_nodes import LocalNode


class CheckAliveTests(SynchronousTestCase):
    def node(self, name: str) -> LocalNode:
        base = Path(self.mktemp())
        base.mkdir()
        return LocalNode(name=name, datadir=base / name, port=1, rpc_port=2, seeds=[],
                         min_peers=1)

    def test_exited_node_ends_the_run(self) -> None:
        """
        A node that exited (here before its log opened) ends the run with its exit
        status and the last line it wrote to stderr.
        """
        node = self.node("node3")
        with open(node.datadir.parent / "node3.err", "wb") as errors:
            node.process = subprocess.Popen(
                [sys.executable, "-c", "import sys; sys.stderr.write('x\\nno neonode\\n');"
                 " sys.exit(3)"], stderr=errors)
        node.process.wait()
        error = self.assertRaises(CommandError, _check_alive, [node])
        self.assertIn("node3 stopped (exit 3): no neonode", str(error))

    def test_waiting_and_running_nodes_pass(self) -> None:
        """
        A node not started yet, or still running, is no reason to stop.
        """
        waiting = self.node("node1")
        running = self.node("node2")
        running.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        self.addCleanup(running.process.wait)
        self.addCleanup(running.process.kill)
        _check_alive([waiting, running])
