"""
One measured sync: an empty node B, seeded with a serving node A, watched until it holds
every block (bench_sync.py and bench_memory.py).

Standard library and L{neo_twisted} only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import nodes  # bench/nodes.py: the twistd neonode processes
from common import child_pids, proc_status, tree_cpu_seconds  # bench/common.py

#: Seconds between two looks at B's heights (and its verifier processes' memory).
POLL_EVERY = 0.1
#: Seconds B's heights may stay still before the run is given up.
STALL_TIMEOUT = 120.0


@dataclass(frozen=True)
class Sync:
    """
    One sync of an empty node B from A, as measured.

    Times are seconds from B's first established peer (t0), which leaves out twistd's
    start-up and the handshake; C{spawn} is from starting B's process to t0.

    @ivar blocks_at_headers: B's block height when its header height reached the tip.
    @ivar peak_rss: VmHWM of B's process just before it was stopped, in bytes.
    @ivar end_rss: VmRSS of B's process then.
    @ivar peak_anon, peak_file: the largest private (anonymous) and file-backed (the
        store's memory map) parts of B's resident set seen while sampling.
    @ivar peak_workers: the largest sum of B's verifier processes' resident sets seen.
    @ivar workers: how many verifier processes B had.
    @ivar stop: how B stopped: "clean", "exit N" or "killed".
    @ivar a_cpu, b_cpu: CPU seconds A (serving) and B (with its verifier processes)
        used from t0 to the full sync (0 when not measured).
    """

    blocks: int
    spawn: float
    header_seconds: float
    block_seconds: float
    blocks_at_headers: int
    peak_rss: int
    end_rss: int
    peak_workers: int
    workers: int
    stop: str
    peak_anon: int = 0
    peak_file: int = 0
    a_cpu: float = 0.0
    b_cpu: float = 0.0

    @property
    def block_phase_seconds(self) -> float:
        """
        From the last header to the last block.
        """
        return self.block_seconds - self.header_seconds

    def utilisation(self, cores: int) -> float:
        """
        The share of the machine's cores A and B kept busy until the full sync.
        """
        return (self.a_cpu + self.b_cpu) / (cores * self.block_seconds)

    @property
    def header_rate(self) -> float:
        return self.blocks / self.header_seconds

    @property
    def block_rate(self) -> float:
        return self.blocks / self.block_seconds

    @property
    def after_headers_rate(self) -> float | None:
        """
        Blocks/s once the headers were all in: block sync no longer shares the node.
        """
        seconds = self.block_seconds - self.header_seconds
        if seconds <= 0:
            return None  # both seen in the same look
        return (self.blocks - self.blocks_at_headers) / seconds


def run_sync(a_port: int, datadir: Path, workdir: Path, blocks: int,
             extra: tuple[str, ...] = (), a_pid: int | None = None) -> Sync:
    """
    Start an empty node B with A as its seed and measure it until it holds every block
    (and the CPU both used meanwhile, when A's process id is given).
    """
    b = nodes.Node(datadir.name, datadir, workdir, seed=f"127.0.0.1:{a_port}", extra=extra)
    stop = "not stopped"
    try:
        b.wait_for(nodes.ESTABLISHED, nodes.START_TIMEOUT)
        t0 = time.perf_counter()
        a_cpu0 = tree_cpu_seconds(a_pid) if a_pid is not None else 0.0
        b_cpu0 = tree_cpu_seconds(b.pid)
        t_headers = t_blocks = None
        blocks_at_headers = 0
        children: list[int] = []
        peak_workers = looks = peak_anon = peak_file = 0
        last, moved = (-1, -1), t0
        while t_blocks is None:
            time.sleep(POLL_EVERY)
            heights = nodes.heights(datadir)
            now = time.perf_counter()
            if b.process.poll() is not None:
                raise b.failure(f"exited ({b.process.returncode}) while syncing")
            if looks % 10 == 0:  # the verifier processes start with the first headers
                children = child_pids(b.pid)
                memory = proc_status(b.pid)
                peak_anon = max(peak_anon, memory.get("RssAnon", 0))
                peak_file = max(peak_file, memory.get("RssFile", 0))
            looks += 1
            peak_workers = max(peak_workers, nodes.workers_rss(children))
            if heights is None:
                continue
            header_height, block_height = heights
            if t_headers is None and header_height >= blocks:
                t_headers, blocks_at_headers = now, block_height
            if block_height >= blocks:
                t_blocks = now
                b_cpu = tree_cpu_seconds(b.pid) - b_cpu0
                a_cpu = tree_cpu_seconds(a_pid) - a_cpu0 if a_pid is not None else 0.0
            if heights != last:
                last, moved = heights, now
            elif now - moved > STALL_TIMEOUT:
                raise b.failure(f"stuck at headers {header_height}, blocks {block_height} "
                                f"for {STALL_TIMEOUT:.0f} s")
        assert t_headers is not None
        status = proc_status(b.pid)
        children = child_pids(b.pid)
        peak_workers = max(peak_workers, nodes.workers_rss(children))
        stop = b.stop()
        return Sync(blocks=blocks, spawn=t0 - b.started, header_seconds=t_headers - t0,
                    block_seconds=t_blocks - t0, blocks_at_headers=blocks_at_headers,
                    peak_rss=status.get("VmHWM", 0), end_rss=status.get("VmRSS", 0),
                    peak_workers=peak_workers, workers=len(children), stop=stop,
                    peak_anon=max(peak_anon, status.get("RssAnon", 0)),
                    peak_file=max(peak_file, status.get("RssFile", 0)),
                    a_cpu=a_cpu, b_cpu=b_cpu)
    finally:
        if stop == "not stopped":
            b.stop()
