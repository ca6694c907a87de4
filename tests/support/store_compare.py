"""
Reading a whole chain store, to compare two data directories database by database.

Used by the command-line and crash tests: two imports of the same blocks must leave
byte-identical contents in every LMDB sub-database, whatever route they took.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from neo_twisted.ledger.store import ChainStore

#: Sub-database name -> its (key, value) pairs in key order.
StoreDump = dict[str, list[tuple[bytes, bytes]]]


def dump_store(datadir: str | Path) -> StoreDump:
    """
    Every key and value of every sub-database of C{datadir}'s store, opened read-only.

    The names come from the environment's main database, so a sub-database that
    L{neo_twisted.ledger.store.DATABASES} does not list is compared too.
    """
    store = ChainStore(datadir, readonly=True)
    try:
        with store.read() as txn:
            names = [bytes(key).decode() for key, _ in txn.cursor()]
        dump: StoreDump = {}
        for name in names:
            db = store.dbs.get(name)
            if db is None:
                db = store.env.open_db(name.encode(), create=False)
            with store.read() as txn:
                dump[name] = [(bytes(k), bytes(v)) for k, v in txn.cursor(db=db)]
        return dump
    finally:
        store.close()


def store_differences(left: StoreDump, right: StoreDump) -> list[str]:
    """
    The first difference of each sub-database, in words; empty when the stores are equal.
    """
    problems = []
    for name in sorted(set(left) | set(right)):
        if name not in left or name not in right:
            problems.append(f"{name}: only in the {'right' if name not in left else 'left'} store")
            continue
        for index, (mine, theirs) in enumerate(itertools.zip_longest(left[name], right[name])):
            if mine != theirs:
                key = (mine or theirs or (b"", b""))[0].hex()
                problems.append(f"{name}: entry {index} differs (key {key}; "
                                f"{len(left[name])} vs {len(right[name])} entries)")
                break
    return problems


def heights(dump: StoreDump) -> tuple[int, int]:
    """
    The (header height, block height) a dump's C{meta} database records.
    """
    meta = dict(dump["meta"])
    return (int.from_bytes(meta[b"header_height"], "little"),
            int.from_bytes(meta[b"block_height"], "little"))
