"""
C{neonode localnet}: real node processes on loopback sync a generated chain.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.ledger_samples import ROOT


def free_ports(count: int) -> list[int]:
    """
    Ports nothing listens on now (bound and released at once: a race we can live with).
    """
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class LocalnetTests(TestCase):
    timeout = 240

    def localnet(self, directory: Path, ports: list[int], *options: str,
                 config: Path = ROOT / "protocol.json") -> tuple[str, str]:
        done = subprocess.run(
            [sys.executable, "-m", "neo_twisted.cli", "localnet", "--config",
             str(config), "--keys", str(ROOT / "devkeys" / "privnet.json"),
             "--dir", str(directory), "--blocks", "600", "--nodes", str(len(ports)),
             "--ports", ",".join(map(str, ports)), "--timeout", "120", *options],
            capture_output=True, text=True, timeout=200, cwd=str(ROOT), check=False)
        self.assertEqual(done.returncode, 0, done.stderr + done.stdout[-2000:])
        return done.stdout, done.stderr

    def test_nodes_sync_and_a_second_run_resumes(self) -> None:
        directory = Path(self.mktemp()).resolve()
        ports = free_ports(3)
        first, setup = self.localnet(directory, ports, "--until-synced", "--no-consensus")
        self.assertIn("generating 600 blocks", setup)
        self.assertIn("every node holds the whole chain", first)
        last_table = first.rsplit("node      port", 1)[1]
        for name in ("node1", "node2", "node3"):
            self.assertRegex(last_table, rf"{name}\s+\d+\s+600\s+600\s")
        for name in ("node2", "node3"):
            self.assertTrue((directory / name / "peers.dat").exists())
        second, setup = self.localnet(directory, ports, "--until-synced", "--no-consensus")
        self.assertIn("every node holds the whole chain", second)
        self.assertEqual(setup, "", "the second run reuses the chain and the data")

    def test_validators_extend_the_chain(self) -> None:
        """
        By default each of four nodes is a validator: after the sync the chain grows
        (here with one second per block).
        """
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        document = json.loads((ROOT / "protocol.json").read_text())
        document["ProtocolConfiguration"]["SecondsPerBlock"] = 1
        config = directory / "protocol.json"
        config.write_text(json.dumps(document))
        out, _ = self.localnet(directory / "run", free_ports(4), "--until-height", "603",
                               config=config)
        self.assertIn("every node holds block 603", out)
        last_table = out.rsplit("node      port", 1)[1]
        self.assertEqual(last_table.count("validator"), 4)
        key = (directory / "run" / "node2" / "validator.wif")
        self.assertEqual(key.read_text().strip(), (ROOT / "devkeys" / "privnet-validator-2.wif")
                         .read_text().strip())
        self.assertEqual(key.stat().st_mode & 0o077, 0)
