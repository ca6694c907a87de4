"""
What the benchmark scripts share besides their report: where they keep their files, and
the C{neonode} child processes they run: command line, environment, and what /proc says
of them.

Standard library only.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from report import ROOT  # bench/report.py, next to this module

PROTOCOL = ROOT / "protocol.json"
CACHE = ROOT / "bench" / ".cache"


def scratch_directory(prefix: str) -> Path:
    """
    A new directory in L{CACHE} (on the repository's disk) named from C{prefix}; the
    caller removes it.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=CACHE))


def neonode(*args: object) -> list[str]:
    return [sys.executable, "-m", "neo_twisted.cli", *map(str, args)]


def environment() -> dict[str, str]:
    """
    Ours, with this checkout first on the path, whatever is installed.
    """
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), path) if p)}


def proc_status(pid: int) -> dict[str, int]:
    """
    The memory lines of /proc/<pid>/status, in bytes (empty once the process is gone).
    """
    values = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                    values[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError):
        return {}
    return values


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """
    The CPU seconds (user + system) a process has used so far (0 once it is gone).
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def tree_cpu_seconds(pid: int) -> float:
    """
    The CPU seconds of a process and of its children alive now (its verifier processes).
    """
    return cpu_seconds(pid) + sum(cpu_seconds(child) for child in child_pids(pid))


def child_pids(pid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found
