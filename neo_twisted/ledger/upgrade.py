# -*- test-case-name: tests.unit.test_ledger_validators -*-
"""
Upgrading a chain store of an older schema, step by step, when a ledger opens it.

1 to 2: the vote state. 2 to 3: the coins by account, copied from the coin
databases (each record names its owner), in one write transaction as well.

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
from neo_twisted.ledger.state import (
    owned_key,
    owned_spent_key,
    owned_spent_value,
    owned_value,
)
from neo_twisted.ledger.store import ChainStore, StoreError, fetch, u32
from neo_twisted.ledger.votes import NeoBalances, VoteBook
from neo_twisted.ledger.votestore import write_book

if TYPE_CHECKING:
    from neo_twisted.ledger.chain import Ledger

__all__ = ["upgrade_to_accounts", "upgrade_to_votes"]

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
    neo = NeoBalances()
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
            neo.move(tx, spent)
            book.apply(tx, spent, neo)
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


def upgrade_to_accounts(store: ChainStore) -> None:
    """
    Add the coins by account to a store of schema 2 and mark it schema 3.

    A stored output holds its owner at bytes 40:60 and a C{spent} record is that
    output followed by its two heights: only the heights of the unspent coins are
    read, from their transactions' records.
    """
    dbs = store.dbs

    def batch(txn: lmdb.Transaction) -> tuple[int, int]:
        for name in ("account_unspent", "account_spent"):
            txn.drop(dbs[name], delete=False)  # an older node may have left them stale
        unspent = spent = 0
        txid, height = b"", b""
        for stored_key, stored in txn.cursor(db=dbs["unspent"]):
            coin, output = bytes(stored_key), bytes(stored)
            if coin[:32] != txid:  # a transaction's outputs are neighbours
                txid, record = coin[:32], fetch(txn, coin[:32], db=dbs["tx"])
                if record is None:
                    raise StoreError(f"{store.path}: damaged: transaction {txid.hex()} "
                                     "is missing")
                height = record[:4]
            txn.put(owned_key(coin, output), owned_value(output + height),
                    db=dbs["account_unspent"])
            unspent += 1
        for stored_key, stored in txn.cursor(db=dbs["spent"]):
            coin, record = bytes(stored_key), bytes(stored)
            txn.put(owned_spent_key(coin, record), owned_spent_value(record),
                    db=dbs["account_spent"])
            spent += 1
        txn.put(b"schema", u32(3), db=dbs["meta"])
        return unspent, spent

    unspent, spent = store.write(batch)
    _log.info("upgraded the chain store to schema 3: {unspent} unspent and {spent} "
              "unclaimed coins indexed by account", unspent=unspent, spent=spent)
