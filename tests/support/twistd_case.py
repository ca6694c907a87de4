"""
A test case running C{twistd neonode} processes as an operator does.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from tests.support.ledger_samples import ROOT
from tests.support.node_cluster import wait_until

TWISTD = Path(sys.executable).with_name("twistd")
_LISTENING = re.compile(r"listening for peers on port (\d+)")


class TwistdCase(TestCase):
    """
    Runs C{twistd neonode} processes (the tests are in subclasses).
    """

    timeout = 180
    config = ROOT / "protocol.json"

    def spawn(self, name: str, datadir: Path, *options: str) -> tuple[subprocess.Popen[bytes],
                                                                        Path]:
        """
        Start C{twistd neonode} on C{self.config} in the foreground, logging to a file of
        the test.
        """
        log = Path(self.mktemp() + f"-{name}.log").resolve()
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        process = subprocess.Popen(
            [str(TWISTD), "--nodaemon", "--pidfile=", f"--logfile={log}", "neonode",
             "--config", str(self.config), "--datadir", str(datadir),
             "--port", "0", "--interface", "127.0.0.1", "--min-peers", "1",
             "--max-per-address", "10", *options],
            env=env, cwd=str(datadir.parent), stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)

        def stop() -> None:
            if process.poll() is None:
                process.kill()
                process.wait()
            assert process.stderr is not None
            process.stderr.close()

        self.addCleanup(stop)
        return process, log

    @staticmethod
    def text(log: Path) -> str:
        return log.read_text(errors="replace") if log.exists() else ""

    @defer.inlineCallbacks
    def listening_port(self, process: subprocess.Popen[bytes],
                       log: Path) -> Generator[defer.Deferred[Any], Any, int]:
        def found() -> bool:
            return _LISTENING.search(self.text(log)) is not None or process.poll() is not None

        yield wait_until(found, f"{log.name} to say its port", timeout=60)
        match = _LISTENING.search(self.text(log))
        if match is None:
            assert process.stderr is not None
            self.fail(f"twistd exited: {process.stderr.read().decode(errors='replace')}"
                      f"{self.text(log)[-2000:]}")
        assert match is not None
        return int(match.group(1))

    @defer.inlineCallbacks
    def terminate(self, process: subprocess.Popen[bytes],
                  log: Path) -> Generator[defer.Deferred[Any], Any, None]:
        process.send_signal(signal.SIGTERM)
        yield wait_until(lambda: process.poll() is not None, f"{log.name} to exit", timeout=60)
        # twistd re-raises the signal it stopped on, so a clean stop reads as killed by
        # SIGTERM (which systemd counts as success); anything else is a crash
        self.assertIn(process.returncode, (0, -signal.SIGTERM), self.text(log)[-2000:])
        self.assertIn("Server Shut Down", self.text(log))
