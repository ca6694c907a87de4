"""
Locate and load the NEO 2 conformance vectors (see their README.md and PROVENANCE.md).

The vectors are part of the repository, in C{tests/data/vectors/}, so a clone with
nothing beside it tests itself; C{$NEO_VECTORS} points the tests at another copy (a
newer set, say). A missing folder or file is a test failure, never a skip: a
conformance suite that quietly skips proves nothing.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from twisted.trial.unittest import FailTest

#: The environment variable that overrides the vectors folder.
VECTORS_ENV = "NEO_VECTORS"

#: Where the vectors are when C{$NEO_VECTORS} is not set: the repository's copy.
DEFAULT_VECTORS_DIR = Path(__file__).resolve().parents[1] / "data" / "vectors"

#: One record: C{{source, network, kind, hex, expect, derived, note, ...}}.
Vector = dict[str, Any]


class VectorsUnavailable(FailTest):
    """
    The vectors cannot be read; a L{FailTest}, so trial reports it as a failure.
    """


def vectors_dir() -> Path:
    """
    The folder to read, from C{$NEO_VECTORS} if set (and not empty).
    """
    override = os.environ.get(VECTORS_ENV)
    return Path(override) if override else DEFAULT_VECTORS_DIR


def load_vectors(name: str) -> list[Vector]:
    """
    The records of C{name} (e.g. C{"blocks.json"}), read once per process.

    @raise VectorsUnavailable: the folder or the file is missing, or the file is not
        a JSON list of records.
    """
    return list(_read(vectors_dir(), name))


@functools.cache
def _read(folder: Path, name: str) -> tuple[Vector, ...]:
    if not folder.is_dir():
        raise VectorsUnavailable(
            f"NEO 2 test vectors not found: {folder} is not a folder. Restore "
            f"tests/data/vectors/ or set {VECTORS_ENV} to a copy of it.")
    path = folder / name
    if not path.is_file():
        raise VectorsUnavailable(f"NEO 2 test vector file missing: {path}")
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise VectorsUnavailable(f"cannot read {path}: {e}") from None
    if not isinstance(records, list) or not records:
        raise VectorsUnavailable(f"{path} does not hold a non-empty list of records")
    for i, record in enumerate(records):
        for field in ("kind", "expect"):
            if not isinstance(record, dict) or field not in record:
                raise VectorsUnavailable(f"{path} record {i} has no {field!r}")
    return tuple(records)


def label(name: str, index: int, record: Vector) -> str:
    """
    A one-line name for failure messages: file and position, kind, network, source and note.
    """
    source = str(record.get("source", "?")).split("@", 1)[0]
    note = str(record.get("note", ""))
    if len(note) > 70:
        note = note[:67] + "..."
    return (f"{name}[{index}] {record['kind']} ({record.get('network', '?')}; {source}"
            f"{'; ' + note if note else ''})")


def full_bytes(record: Vector) -> bytes:
    """
    The complete serialization of a record: its hex, plus the empty witness array
    (C{00}) when the record holds only the unsigned part of a transaction.
    """
    data = bytes.fromhex(record["hex"])
    return data + b"\x00" if record.get("unsigned_only") else data
