"""
Many peers: one node holding 500 established connections, what each idle one costs
it in memory, and how fast a new block's C{inv} reaches all of them.

A C{twistd neonode} process (the bundled privnet, an empty chain, JSON-RPC on) is
dialled 500 times by bench/swarm_peers.py, one helper process that only
handshakes and answers pings. The figures:

  - memory per idle peer: the node's growth (VmRSS, and its anonymous part) from
    before the first connection to 10 s after the last is established, over the
    connections (target <= 64 KB);
  - relay latency: from handing a new block to the node (RPC C{submitblock}) to
    the moment the last of the 500 connections has its C{inv} (target <= 1 s); the
    median of 5 blocks, and the first connection's time beside it.

Usage::

    python bench/bench_peers.py            # print the results
    python bench/bench_peers.py --write    # also rewrite its section of BENCHMARKS.md
    python bench/bench_peers.py --quick    # 50 peers, 2 blocks (never written)
"""

from __future__ import annotations

import http.client
import json
import queue
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nodes  # bench/nodes.py: the twistd neonode processes
import report  # bench/report.py
from common import PROTOCOL, environment, proc_status, scratch_directory

from neo_twisted.ledger.generator import ChainGenerator, load_dev_keys
from neo_twisted.ledger.settings import load_protocol

COMMAND = "make bench"
PEERS = 500
BLOCKS = 5
TARGET_PEER_BYTES = 64 * 1000
TARGET_LATENCY = 1.0
#: Seconds the node is left alone before each memory reading.
SETTLE = 10.0
RPC = re.compile(r"JSON-RPC on http://127\.0\.0\.1:(\d+)/")
SWARM = Path(__file__).resolve().parent / "swarm_peers.py"


class Swarm:
    """
    The helper process, its output read line by line in a thread.
    """

    def __init__(self, magic: int, port: int, count: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SWARM), str(magic), str(port), str(count)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment())
        self.lines: queue.Queue[str] = queue.Queue()
        self.lost: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("lost"):
                self.lost.append(line.strip())
            self.lines.put(line.strip())

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"the swarm did not print {prefix!r} within {timeout:.0f} s"
                                   f" (lost: {self.lost[:5]})") from None
            if line.startswith(prefix):
                return line

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def submit(port: int, block_hex: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "submitblock",
                       "params": [block_hex]})
    connection.request("POST", "/", body, {"Content-Type": "application/json"})
    answer = json.loads(connection.getresponse().read())
    connection.close()
    if answer.get("result") is not True:
        raise RuntimeError(f"submitblock refused the block: {answer}")


def run(count: int, blocks: int) -> dict[str, float | int]:
    settings = load_protocol(PROTOCOL)
    generator = ChainGenerator(settings, load_dev_keys(report.ROOT / "devkeys" / "privnet.json",
                                                       settings), 0, seed=1)
    chain = [generator.next_block() for _ in range(blocks)]
    workdir = scratch_directory("peers-")
    limit = str(count + 10)
    node = nodes.Node("hub", workdir / "data", workdir, seed="127.0.0.1:1",
                      extra=["--max-peers", limit, "--max-per-address", limit,
                             "--rpc-port", "0", "--no-peers-file"])
    swarm: Swarm | None = None
    try:
        port = int(node.wait_for(nodes.LISTENING, nodes.START_TIMEOUT).group(1))
        rpc_port = int(node.wait_for(RPC, nodes.START_TIMEOUT).group(1))
        time.sleep(SETTLE)
        before = proc_status(node.pid)
        started = time.perf_counter()
        swarm = Swarm(settings.magic, port, count)
        swarm.wait_for("established", 300)
        connect_seconds = time.perf_counter() - started
        time.sleep(SETTLE)
        after = proc_status(node.pid)
        latencies, firsts = [], []
        for block in chain:
            sent = time.perf_counter()
            submit(rpc_port, block.to_bytes().hex())
            *_, first, last = swarm.wait_for(f"inv {block.hash}", 60).split()
            latencies.append(float(last) - sent)
            firsts.append(float(first) - sent)
        if swarm.lost:
            raise RuntimeError(f"{len(swarm.lost)} connections lost: {swarm.lost[:5]}")
        return {
            "peers": count,
            "connect_seconds": connect_seconds,
            "rss_before": before["VmRSS"], "rss_after": after["VmRSS"],
            "anon_before": before["RssAnon"], "anon_after": after["RssAnon"],
            "bytes_per_peer": (after["VmRSS"] - before["VmRSS"]) / count,
            "anon_bytes_per_peer": (after["RssAnon"] - before["RssAnon"]) / count,
            "latency": statistics.median(latencies),
            "latency_max": max(latencies),
            "first_latency": statistics.median(firsts),
            "blocks": len(chain),
        }
    finally:
        if swarm is not None:
            swarm.stop()
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def section(figures: dict[str, float | int]) -> str:
    count = figures["peers"]
    per_peer = figures["bytes_per_peer"]
    latency = figures["latency"]
    return f"""## Many peers

One node with {count:,} established peer connections (`bench/bench_peers.py --write`).

- Date: {report.now()}; commit {report.commit()}
- Machine: {report.machine()}. The node and the helper holding the connections share it.
- Command: `{COMMAND}` (runs `.venv/bin/python bench/bench_peers.py --write`)
- Method: a `twistd neonode` process on the bundled privnet (empty chain, JSON-RPC on,
  `--max-peers` and `--max-per-address` above {count:,}) is dialled {count:,} times by
  `bench/swarm_peers.py`, one process of our own `PeerProtocol`s that handshake and then
  only answer pings. *Memory per idle peer* is the growth of the node's VmRSS from before
  the first connection to {SETTLE:.0f} s after the last handshake, over the connections
  (its anonymous part, RssAnon, beside it). *Relay latency* runs from sending a new block
  by RPC `submitblock` to the last connection receiving its `inv` (the add to the ledger
  included); median of {figures['blocks']} blocks.

**Target: memory per idle peer <= 64 KB: {report.met(per_peer <= TARGET_PEER_BYTES)}** \
({per_peer / 1000:,.1f} KB).

**Target: a new block's `inv` reaches all {count:,} peers within 1 s: \
{report.met(latency <= TARGET_LATENCY)}** (median {latency * 1000:,.0f} ms).

| measurement | value |
|---|---:|
| connections established | {count:,} in {figures['connect_seconds']:.1f} s |
| node VmRSS before / after | {report.mib(figures['rss_before'])} / \
{report.mib(figures['rss_after'])} |
| node RssAnon before / after | {report.mib(figures['anon_before'])} / \
{report.mib(figures['anon_after'])} |
| memory per idle peer (VmRSS) | {per_peer / 1000:,.1f} KB |
| memory per idle peer (RssAnon) | {figures['anon_bytes_per_peer'] / 1000:,.1f} KB |
| block to last peer's `inv`, median of {figures['blocks']} | {latency * 1000:,.0f} ms |
| block to last peer's `inv`, slowest | {figures['latency_max'] * 1000:,.0f} ms |
| block to first peer's `inv`, median | {figures['first_latency'] * 1000:,.0f} ms |
"""


def main(argv: list[str] | None = None) -> int:
    parser = report.command_line(__doc__, "rewrite this section of BENCHMARKS.md",
                                 "50 peers and 2 blocks, a smoke run")
    args = report.arguments(parser, argv)
    figures = run(50, 2) if args.quick else run(PEERS, BLOCKS)
    text = section(figures)
    print(text)
    if args.write:
        report.publish("bench_peers", text, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
