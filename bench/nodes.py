"""
Real C{twistd neonode} processes for benchmarks: start, find the port, wait, stop, clean up.

Each node runs exactly as an operator runs it (C{twistd --nodaemon neonode}, on the bundled
privnet's protocol.json), listening on 127.0.0.1 on a port the system picks (its log says
which), logging to a file that is read while it runs. Stopping it never leaves a process
behind: its verifier processes are killed too if they outlive it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from neo_twisted.ledger.check import store_info
from neo_twisted.ledger.store import StoreError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PROTOCOL, child_pids, environment, proc_status  # bench/common.py

#: Seconds between two looks at a node's log (L{Node.wait_for}); for B's first peer, that is
#: the start of the clock.
LOG_EVERY = 0.02
#: Seconds a node may take to start listening, or B to connect to A.
START_TIMEOUT = 60.0
#: Seconds a node may take to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 60.0
#: The log line of a node listening, with its port.
LISTENING = re.compile(r"listening for peers on port (\d+)")
#: The log line of a node's peer established.
ESTABLISHED = re.compile(r"\bestablished\b")


def _start_time(pid: int) -> int | None:
    """
    When C{pid} started (in clock ticks since boot), to tell it from a later one with its id.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return int(f.read().rpartition(")")[2].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _kill_leftovers(processes: dict[int, int | None], grace: float) -> None:
    """
    Kill those of C{processes} (pid: start time) still running after C{grace} seconds.

    The verifier processes stop by themselves when their node's pipe closes; this is
    for a node that had to be killed, so that a run never leaves a process behind.
    """
    deadline = time.monotonic() + grace
    while True:
        alive = [pid for pid, started in processes.items()
                 if started is not None and _start_time(pid) == started]
        if not alive:
            return
        if time.monotonic() >= deadline:
            for pid in alive:
                with contextlib.suppress(OSError):  # it may have just exited
                    os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.05)


class Node:
    """
    A C{twistd neonode} child process, logging to a file read while it runs.
    """

    def __init__(self, name: str, datadir: Path, workdir: Path, seed: str,
                 extra: Sequence[str] = ()) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        self._output_path = workdir / f"{name}.out"
        twistd = Path(sys.executable).with_name("twistd")
        profile = os.environ.get("NEO_BENCH_PROFILE")  # a directory: cProfile each node
        profiling = ([f"--profile={Path(profile) / (name + '.prof')}", "--profiler=cprofile",
                      "--savestats"] if profile else [])
        command = [str(twistd), "--nodaemon", "--pidfile=", f"--logfile={self.log}", *profiling,
                   "neonode",
                   "--config", str(PROTOCOL), "--datadir", str(datadir), "--port", "0",
                   "--interface", "127.0.0.1", "--seed", seed, "--min-peers", "1",
                   "--max-per-address", "10", *extra]
        self._output: IO[bytes] = open(self._output_path, "wb")  # noqa: SIM115 (closed in stop)
        self.started = time.perf_counter()
        try:
            self.process = subprocess.Popen(command, stdout=self._output,
                                            stderr=subprocess.STDOUT, cwd=workdir,
                                            env=environment())
        except BaseException:
            self._output.close()
            raise
        self.pid = self.process.pid

    def text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def failure(self, what: str) -> RuntimeError:
        """
        An error saying C{what} went wrong, with the end of the node's log and output.
        """
        self._output.flush()
        output = self._output_path.read_text(encoding="utf-8", errors="replace")
        tail = "\n".join((self.text() + output).splitlines()[-30:])
        return RuntimeError(f"node {self.name}: {what}\n{tail}")

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """
        The first match of C{pattern} in the log, looking every L{LOG_EVERY} seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            match = pattern.search(self.text())
            if match is not None:
                return match
            if self.process.poll() is not None:
                raise self.failure(f"exited ({self.process.returncode}) before logging "
                                   f"{pattern.pattern!r}")
            if time.monotonic() >= deadline:
                raise self.failure(f"did not log {pattern.pattern!r} within {timeout:.0f} s")
            time.sleep(LOG_EVERY)

    def stop(self) -> str:
        """
        Stop the node as an operator does (SIGTERM), killing it if it takes too long.

        twistd re-raises the signal once the services have stopped, so a clean stop
        exits with 0 or -SIGTERM.
        """
        children = {pid: _start_time(pid) for pid in child_pids(self.pid)}
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
                    return "killed"
            code = self.process.returncode
            return "clean" if code in (0, -signal.SIGTERM) else f"exit {code}"
        finally:
            self._output.close()
            _kill_leftovers(children, grace=5.0)


def heights(datadir: Path) -> tuple[int, int] | None:
    """
    A node's header and block heights, read from its store while it runs (None before it
    exists).
    """
    try:
        info = store_info(datadir)
    except (StoreError, OSError):
        return None
    return info["header_height"], info["block_height"]


def workers_rss(pids: list[int]) -> int:
    """
    The sum of the resident sets (VmRSS) of C{pids}: a node's verifier processes.
    """
    return sum(proc_status(pid).get("VmRSS", 0) for pid in pids)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def stop_nodes_on_sigterm() -> None:
    """
    Make SIGTERM raise SystemExit in a benchmark script, so that its C{finally} blocks stop
    the nodes it started and remove their files.
    """
    signal.signal(signal.SIGTERM, _terminate)
