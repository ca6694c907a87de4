"""
Child processes of a test as C{/proc} shows them: what a killed node leaves running.
"""

from __future__ import annotations

import os
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """
    The fields of C{/proc/<pid>/stat} after the command name (state, ppid, ...), or None.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def descendants(pid: int) -> set[int]:
    """
    The live processes below C{pid} (its verifier workers), from C{/proc}; empty elsewhere.
    """
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        fields = _stat(int(entry)) if entry.isdigit() else None
        if fields is not None and fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def running(pids: set[int]) -> set[int]:
    """
    Those of C{pids} still running (an exited orphan may stay a zombie: it does not count).
    """
    return {pid for pid in pids if (_stat(pid) or ["Z"])[0] != "Z"}
