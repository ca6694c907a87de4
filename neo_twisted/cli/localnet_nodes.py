# -*- test-case-name: tests.integration.test_cli_localnet -*-
"""
The processes of C{neonode localnet}: one C{twistd neonode} per node, what each
reports over JSON-RPC, and the table of them all.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import attrs

from neo_twisted.cli.errors import CommandError
from neo_twisted.cli.rpcclient import RpcClient
from neo_twisted.ledger.check import store_info
from neo_twisted.ledger.store import StoreError

#: Seconds a node has to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 30.0
#: Seconds to wait for one node's status answer (the table must keep its pace).
STATUS_TIMEOUT = 2.0


@attrs.define
class LocalNode:
    """
    One node of the local network: where it lives, how it is started, what it said last.

    @ivar state: its last C{getnodestate} answer (None while it does not answer).
    """

    name: str
    datadir: Path
    port: int
    rpc_port: int
    seeds: list[str]
    min_peers: int
    key_file: Path | None = None
    late: bool = False
    process: subprocess.Popen[bytes] | None = None
    state: dict[str, Any] | None = None
    last_blocks: int | None = None
    rate: float = 0.0

    @property
    def role(self) -> str:
        return "validator" if self.key_file is not None else "relay"

    @property
    def rpc(self) -> RpcClient:
        return RpcClient(f"http://127.0.0.1:{self.rpc_port}/", timeout=STATUS_TIMEOUT)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def heights(self) -> tuple[int, int] | None:
        """
        (headers, blocks): from the node while it answers, else from its store.
        """
        if self.state is not None:
            return int(self.state["headerheight"]), int(self.state["blockheight"])
        try:
            info = store_info(self.datadir)
        except (StoreError, OSError):
            return None
        return int(info["header_height"]), int(info["block_height"])

    @property
    def block_height(self) -> int:
        heights = self.heights()
        return -1 if heights is None else heights[1]

    def poll(self, interval: float) -> None:
        """
        Ask the node how it is, and work out its blocks per second since last time.
        """
        self.state = None
        if self.running:
            try:
                self.state = self.rpc.call("getnodestate")
            except CommandError:
                self.state = None
        blocks = self.block_height
        if self.last_blocks is not None and blocks >= 0:
            self.rate = max(0, blocks - self.last_blocks) / interval
        self.last_blocks = blocks if blocks >= 0 else self.last_blocks

    def start(self, config: Path, log_dir: Path) -> None:
        log = log_dir / f"{self.name}.log"
        command = [str(Path(sys.executable).with_name("twistd")), "--nodaemon", "--pidfile=",
                   f"--logfile={log}", "neonode", "--config", str(config),
                   "--datadir", str(self.datadir), "--port", str(self.port),
                   "--interface", "127.0.0.1", "--rpc-port", str(self.rpc_port),
                   "--min-peers", str(self.min_peers),
                   "--max-per-address", "64", "--progress-interval", "5",
                   "--allow-private-addresses"]
        for seed in self.seeds:
            command += ["--seed", seed]
        if self.key_file is not None:
            command += ["--validator-key", str(self.key_file)]
        # what a node says before its log opens (a usage error, a failed import) is kept
        with open(log_dir / f"{self.name}.err", "wb") as errors:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                            stderr=errors, start_new_session=True)


def stop_all(nodes: list[LocalNode]) -> None:
    """
    SIGTERM every node (a clean stop), then wait; kill what is still there after the timeout.
    """
    for node in nodes:
        if node.running:
            assert node.process is not None
            node.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for node in nodes:
        if node.process is None:
            continue
        try:
            node.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()


def table_text(nodes: list[LocalNode], elapsed: float) -> str:
    """
    One line per node: heights, peers, pool, rate, whether it runs, its role (after
    a blank line and the header).
    """
    lines = [f"\n{elapsed:6.1f} s  node      port   rpc  headers   blocks  peers  pool  "
             f"blocks/s  state    role\n"]
    for node in nodes:
        heights = node.heights()
        headers, blocks = ("-", "-") if heights is None else map(str, heights)
        state = node.state
        peers = "-" if state is None else str(len(state["peers"]))
        pool = "-" if state is None else str(state["mempool"]["verified"])
        rate = f"{node.rate:,.0f}" if heights is not None else "-"
        running = ("running" if node.running else
                   "waiting" if node.process is None else "stopped")
        role = node.role + (" (late)" if node.late else "")
        lines.append(f"         {node.name:<8} {node.port:>5} {node.rpc_port:>5} {headers:>8} "
                     f"{blocks:>8} {peers:>6} {pool:>5} {rate:>9}  {running:<8} {role}\n")
    return "".join(lines)


class Screen:
    """
    Where C{localnet} writes: the table each refresh, and the run's messages.

    On a terminal the table is redrawn where it stands (ANSI: cursor up to its
    first line, clear to the end of the screen), so the screen does not scroll;
    messages go above it. Anywhere else (a pipe, a file: what tests and logs read)
    each table and message follows the last as plain lines.
    """

    def __init__(self, out: TextIO, *, live: bool | None = None,
                 columns: int | None = None) -> None:
        """
        @param live: redraw in place (default: when C{out} is a terminal).
        @param columns: the terminal's width, which a redrawn line may not exceed
            (default: the terminal's own, read at each redraw).
        """
        self.out = out
        self.live = out.isatty() if live is None else live
        self._columns = columns
        #: The table on the screen now (live only).
        self._table = ""

    def table(self, nodes: list[LocalNode], elapsed: float) -> None:
        text = table_text(nodes, elapsed)
        if self.live:
            text = self._fit(text)
            self.out.write(self._erase() + text)
            self._table = text
        else:
            self.out.write(text)
        self.out.flush()

    def message(self, line: str) -> None:
        """
        One line above the table (on a terminal the table is drawn again below it).
        """
        if self.live and self._table:
            self.out.write(self._erase() + line + "\n" + self._table)
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def _erase(self) -> str:
        lines = self._table.count("\n")
        return f"\x1b[{lines}F\x1b[J" if lines else ""

    def _fit(self, text: str) -> str:
        """
        Lines cut to the terminal's width: a wrapped line would take two rows, and
        the next redraw would go up one row short.
        """
        columns = self._columns or shutil.get_terminal_size().columns
        return "".join(line[:columns] + "\n" for line in text.split("\n")[:-1])
