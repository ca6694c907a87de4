# -*- test-case-name: tests.test_ledger_votestore -*-
"""
Upgrading a chain store of schema 1 (no vote state) to schema 2, when a ledger opens it.

The vote state follows from the blocks alone (neo2-validators.md section 4), so
it is rebuilt from them, once, in one write transaction: a crash while it runs
leaves the store at schema 1, and the next start does it again. A chain that
never held a vote or a registration (a privnet, a generated chain) has an empty
vote state, and one pass over the transaction types shows it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

import lmdb
from twisted.logger import Logger

from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.transaction import TransactionType
from neo_twisted.core.transactions import NEO_ASSET_ID
from neo_twisted.ledger.store import StoreError, u32
from neo_twisted.ledger.votes import VoteBook
from neo_twisted.ledger.votestore import write_book

if TYPE_CHECKING:
    from neo_twisted.ledger.chain import Ledger

__all__ = ["upgrade_to_votes"]

_log = Logger()

#: Transaction types that start a vote state: nothing else does before them.
_VOTING_TYPES = frozenset({TransactionType.StateTransaction, TransactionType.EnrollmentTransaction})
#: Transactions kept decoded while replaying (inputs mostly spend recent ones).
_RECENT = 4096
_PROGRESS_EVERY = 100_000


def _holds_votes(ledger: Ledger) -> bool:
    """
    Whether any stored transaction votes or registers (a record is a u32 height, then
    the transaction, whose first byte is its type).
    """
    with ledger.store.read() as txn:
        for value in txn.cursor(db=ledger.store.dbs["tx"]).iternext(keys=False):
            if len(value) > 4 and value[4] in _VOTING_TYPES:
                return True
    return False


def _replay(ledger: Ledger) -> VoteBook:
    book = VoteBook()
    neo: dict[bytes, int] = {}
    recent: OrderedDict[bytes, tuple[TransactionOutput, ...]] = OrderedDict()

    def outputs_of(txid: bytes) -> tuple[TransactionOutput, ...]:
        outputs = recent.get(txid)
        if outputs is None:
            found = ledger.get_transaction(txid)
            if found is None:
                raise StoreError(f"{ledger.store.path}: damaged: transaction {txid.hex()} "
                                 "is missing")
            outputs = recent[txid] = found[0].outputs
            if len(recent) > _RECENT:
                recent.popitem(last=False)
        return outputs

    for index in range(ledger.block_height + 1):
        block = ledger.get_block(index)
        if block is None:
            raise StoreError(f"{ledger.store.path}: damaged: block {index} is missing")
        for tx in block.transactions:
            spent = [outputs_of(ref.prev_hash)[ref.prev_index] for ref in tx.inputs]
            for sign, outputs in ((1, tx.outputs), (-1, spent)):
                for output in outputs:
                    if output.asset_id == NEO_ASSET_ID:
                        neo[output.script_hash] = (neo.get(output.script_hash, 0)
                                                   + sign * output.value)
            book.apply(tx, spent, lambda script_hash: neo.get(script_hash, 0))
            recent[tx.hash] = tx.outputs
        if index and index % _PROGRESS_EVERY == 0:
            _log.info("upgrading the store: votes counted to block {index} of {height}",
                      index=index, height=ledger.block_height)
    return book


def upgrade_to_votes(ledger: Ledger) -> None:
    """
    Add the vote state to a store of schema 1 and mark it schema 2.
    """
    dbs = ledger.store.dbs
    book = _replay(ledger) if _holds_votes(ledger) else VoteBook()

    def batch(txn: lmdb.Transaction) -> None:
        write_book(txn, dbs, book, clear=False)  # the batch may run again
        txn.put(b"schema", u32(2), db=dbs["meta"])

    ledger.store.write(batch)
    _log.info("upgraded the chain store to schema 2: {voters} accounts vote, {keys} "
              "validator records", voters=sum(1 for votes in book.accounts.values() if votes),
              keys=len(book.validators))
