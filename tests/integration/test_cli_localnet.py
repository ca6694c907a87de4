"""
C{neonode localnet}: real node processes on loopback sync a generated chain.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.support.ledger_samples import ROOT


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
    timeout = 600

    def localnet(self, directory: Path, nodes: int, *options: str) -> tuple[str, str]:
        ports = free_ports(2 * nodes)
        done = subprocess.run(
            [sys.executable, "-m", "neo_twisted.cli", "localnet", "--config",
             str(ROOT / "protocol.json"), "--keys", str(ROOT / "devkeys" / "privnet.json"),
             "--dir", str(directory), "--blocks", "600", "--nodes", str(nodes),
             "--ports", ",".join(map(str, ports[:nodes])),
             # a run takes 35-60 s; the rest is margin for a loaded machine
             "--rpc-ports", ",".join(map(str, ports[nodes:])), "--timeout", "200", *options],
            capture_output=True, text=True, timeout=250, cwd=str(ROOT), check=False)
        self.assertEqual(done.returncode, 0, done.stderr + done.stdout[-3000:])
        return done.stdout, done.stderr

    def last_table(self, out: str) -> str:
        return out.rsplit("node      port", 1)[1]

    def check_stores(self, directory: Path, names: list[str]) -> None:
        """
        After the clean stop, every data directory passes C{neonode check}.
        """
        for name in names:
            done = subprocess.run([sys.executable, "-m", "neo_twisted.cli", "check",
                                   "--config", str(directory / "protocol.json")
                                   if (directory / "protocol.json").exists()
                                   else str(ROOT / "protocol.json"),
                                   "--datadir", str(directory / name)],
                                  capture_output=True, text=True, timeout=120, check=False)
            self.assertEqual(done.returncode, 0, f"{name}: {done.stdout}{done.stderr}")

    def test_nodes_sync_and_a_second_run_resumes(self) -> None:
        """
        Without consensus the nodes only sync; the late node too. A second run
        reuses the chain and the data.
        """
        directory = Path(self.mktemp()).resolve()
        first, setup = self.localnet(directory, 3, "--until-synced", "--no-consensus")
        self.assertIn("generating 600 blocks", setup)
        self.assertIn("-- node3 (a relay knowing only 127.0.0.1:", first)
        self.assertIn("every node holds the whole chain", first)
        for name in ("node1", "node2", "node3"):
            self.assertRegex(self.last_table(first), rf"{name}\s+\d+\s+\d+\s+600\s+600\s")
        for name in ("node2", "node3"):
            self.assertTrue((directory / name / "peers.dat").exists())
        second, setup = self.localnet(directory, 3, "--until-synced", "--no-consensus")
        self.assertIn("every node holds the whole chain", second)
        self.assertEqual(setup, "", "the second run reuses the chain and the data")
        self.check_stores(directory, ["node1", "node2", "node3"])

    def test_validators_late_node_and_demo_transaction(self) -> None:
        """
        What C{make run} does, with one second per block: four validators extend the
        chain, the late relay (knowing one seed) catches up and finds the others, the
        demo transaction sent to it reaches a block on every node; after the clean
        stop every store passes C{neonode check}, and a second run resumes and does
        it again.
        """
        directory = Path(self.mktemp()).resolve()
        out, _ = self.localnet(directory, 5, "--seconds-per-block", "1", "--until-demo")
        lines = [line for line in out.splitlines() if line.startswith("-- ")]
        # the pool line only when every pool was seen holding it before the block came
        self.assertIn(len(lines), (4, 5), out[-3000:])
        if len(lines) == 5:
            self.assertEqual(lines[3], "-- demo transaction in the pool of every node (5)")
        self.assertRegex(lines[0], r"^-- node5 \(a relay knowing only 127\.0\.0\.1:\d+\) starts$")
        self.assertRegex(lines[1], r"^-- node5 caught up at block \d+$")
        self.assertRegex(lines[2], r"^-- demo transaction 0x[0-9a-f]{64} sent to node5 by "
                                   r"sendrawtransaction$")
        self.assertRegex(lines[-1], r"^-- demo transaction in block \d+ on every node")
        self.assertIn("the demo transaction is in a block on every node", out)
        table = self.last_table(out)
        self.assertEqual(table.count("validator"), 4)
        self.assertIn("relay (late)", table)
        key = directory / "node2" / "validator.wif"
        self.assertEqual(key.read_text().strip(), (ROOT / "devkeys" / "privnet-validator-2.wif")
                         .read_text().strip())
        self.assertEqual(key.stat().st_mode & 0o077, 0)
        self.assertFalse((directory / "node5" / "validator.wif").exists())
        names = [f"node{i}" for i in range(1, 6)]
        self.check_stores(directory, names)
        first_txid = lines[2].split()[3]
        again, setup = self.localnet(directory, 5, "--seconds-per-block", "1", "--until-demo")
        self.assertEqual(setup, "")
        second_txid = next(line for line in again.splitlines()
                           if " sent to node5 " in line).split()[3]
        self.assertNotEqual(first_txid, second_txid)
        self.assertIn("the demo transaction is in a block on every node", again)
        self.check_stores(directory, names)

    def test_a_fifth_validator_elected_while_running(self) -> None:
        """
        C{--elect}: the generated chain registers the candidate, the late node runs
        with its key, and a vote sent after the demo elects it: every node lists it
        active, it proposes a block of its own, blocks keep coming with five
        validators, and every store passes C{neonode check} (votes included).
        """
        directory = Path(self.mktemp()).resolve()
        out, _ = self.localnet(directory, 5, "--seconds-per-block", "1", "--elect",
                               "--until-elected")
        lines = [line for line in out.splitlines() if line.startswith("-- ")]
        self.assertRegex(lines[-3], r"^-- vote 0x[0-9a-f]{64} for the 4 standby validators "
                                    r"and node5's key sent to node1$")
        voted = re.fullmatch(r"-- vote in block (\d+): node5 is a validator of every node "
                             r"from block (\d+) on \(five validators\)", lines[-2])
        assert voted is not None, lines[-2]
        proposed = re.fullmatch(r"-- node5 proposed block (\d+); blocks keep coming",
                                lines[-1])
        assert proposed is not None, lines[-1]
        self.assertGreater(int(proposed[1]), int(voted[1]))
        self.assertIn(f"node5 was elected, proposed block {proposed[1]}, and every node "
                      "holds 5 blocks more", out)
        table = self.last_table(out)
        self.assertIn("validator (late)", table)
        key = directory / "node5" / "validator.wif"
        self.assertEqual(key.read_text().strip(),
                         (ROOT / "devkeys" / "privnet-candidate.wif").read_text().strip())
        self.check_stores(directory, [f"node{i}" for i in range(1, 6)])
