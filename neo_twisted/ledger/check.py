# -*- test-case-name: tests.unit.test_cli_chain_errors,tests.unit.test_ledger_accounts -*-
"""
C{neonode check} and C{neonode info}: what a data directory holds, and whether it is whole.

The check walks the header chain (every height present and linked), the blocks
(every persisted block and its transactions present), then replays every block
into a scratch store with the same state code (vote state and coins by account
included) and compares the two stores database by database. A crash that left
anything half-written, or a damaged file, shows up as a difference. Memory stays
flat: the replay lives on disk.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import lmdb

from neo_twisted.core.block import Block
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.state import StateWriter
from neo_twisted.ledger.store import ChainStore, Database, StoreError, fetch, height_key, read_u32
from neo_twisted.ledger.votestore import COUNTS_KEY, load_book

#: The state databases a replay must reproduce exactly.
REPLAYED = ("tx", "block", "unspent", "spent", "balance", "asset", "sysfee", "votes",
            "validator", "account_unspent", "account_spent")
MAX_REPORTED = 20
REPLAY_BATCH = 1000


class StoreInfo(TypedDict):
    """
    What L{store_info} reads of a store.
    """

    magic: int
    genesis: str
    header_height: int
    block_height: int
    size_on_disk: int


def store_info(datadir: str | Path) -> StoreInfo:
    """
    Magic, genesis, heights and size, read without writing (safe while a node runs).
    """
    store = ChainStore(datadir, readonly=True)
    try:
        meta = store.dbs["meta"]
        with store.read() as txn:
            values = {key: fetch(txn, key.encode(), db=meta)
                      for key in ("magic", "genesis", "header_height", "block_height")}
        if any(value is None for value in values.values()):
            raise StoreError(f"{datadir}: the chain store has no metadata")
        return {
            "magic": read_u32(values["magic"] or b""),
            "genesis": "0x" + (values["genesis"] or b"")[::-1].hex(),
            "header_height": read_u32(values["header_height"] or b""),
            "block_height": read_u32(values["block_height"] or b""),
            "size_on_disk": store.disk_size(),
        }
    finally:
        store.close()


def _items(txn: lmdb.Transaction, db: Database) -> Iterator[tuple[bytes, bytes]]:
    for key, value in txn.cursor(db=db):
        yield bytes(key), bytes(value)


def _chain_problems(ledger: Ledger) -> Iterator[str]:
    if ledger.block_height > ledger.header_height:
        yield f"block height {ledger.block_height} is above header height {ledger.header_height}"
    if not ledger.block_height <= ledger.verified_height <= ledger.header_height:
        yield (f"verified height {ledger.verified_height} is outside block height "
               f"{ledger.block_height} .. header height {ledger.header_height}")
    dbs = ledger.store.dbs
    previous = None
    with ledger.store.read() as txn:
        for index in range(ledger.header_height + 1):
            header = ledger.read_header_at(txn, index)
            if header is None:
                yield f"header {index} is missing"
                previous = None
                continue
            if header.index != index:
                yield f"the header stored at height {index} says index {header.index}"
            if previous is not None and (header.prev_hash != previous.hash
                                         or header.timestamp <= previous.timestamp):
                yield f"header {index} does not follow header {index - 1}"
            previous = header
            has_block = fetch(txn, header.hash, db=dbs["block"]) is not None
            if has_block != (index <= ledger.block_height):
                state = "has" if has_block else "lacks"
                yield f"height {index} {state} a block (block height {ledger.block_height})"
        extra = fetch(txn, height_key(ledger.header_height + 1), db=dbs["height"])
        if extra is not None:
            yield f"a header is stored above header height {ledger.header_height}"


def _replay(ledger: Ledger, scratch: ChainStore) -> None:
    fees = ledger.settings.system_fees
    total = 0
    for start in range(0, ledger.block_height + 1, REPLAY_BATCH):
        blocks = []
        for index in range(start, min(start + REPLAY_BATCH, ledger.block_height + 1)):
            block = ledger.get_block(index)
            if block is None:
                raise StoreError(f"block {index} cannot be read")
            blocks.append(block)

        def batch(txn: lmdb.Transaction, blocks: list[Block] = blocks, first: int = total
                  ) -> int:
            running = first
            # the vote state as this batch's transaction has it (the batch may run again)
            writer = StateWriter(txn, scratch.dbs, fees, votes=load_book(txn, scratch.dbs))
            for block in blocks:
                running = writer.apply(block, running)
            return running

        total = scratch.write(batch)


def _differences(ledger: Ledger, scratch: ChainStore) -> Iterator[str]:
    with ledger.store.read() as ours, scratch.read() as replayed:
        for name in REPLAYED:
            left = _items(ours, ledger.store.dbs[name])
            right = _items(replayed, scratch.dbs[name])
            for mine, theirs in itertools.zip_longest(left, right):
                if mine != theirs:
                    key = (mine or theirs or (b"", b""))[0].hex()
                    yield f"{name}: the store and a replay of the blocks differ at key {key}"
                    break
        if (fetch(ours, COUNTS_KEY, db=ledger.store.dbs["meta"])
                != fetch(replayed, COUNTS_KEY, db=scratch.dbs["meta"])):
            yield "meta: the store and a replay of the blocks differ in ValidatorsCount"


def check_store(datadir: str | Path, settings: ProtocolSettings) -> list[str]:
    """
    Every broken invariant of the data directory, in words; empty when it is whole.
    """
    # headers taken on trust (assume-valid) stay: checking writes nothing
    ledger = Ledger.open(datadir, settings, create=False, drop_provisional=False)
    try:
        problems = list(itertools.islice(_chain_problems(ledger), MAX_REPORTED))
        if problems:
            return problems
        with tempfile.TemporaryDirectory(prefix="neonode-check-") as scratch_dir:
            scratch = ChainStore(scratch_dir)
            try:
                try:
                    _replay(ledger, scratch)
                except Exception as e:  # a replay that cannot finish is itself the finding
                    return [f"the blocks cannot be replayed: {e}"]
                return list(itertools.islice(_differences(ledger, scratch), MAX_REPORTED))
            finally:
                scratch.close()
    finally:
        ledger.close()
