# -*- test-case-name: tests.unit.test_ledger_validators,tests.unit.test_ledger_accounts -*-
"""
The vote state in the chain store (schema 2): how a L{VoteBook} is read and written.

  =========  ========================  ===================================================
  database   key                       value
  =========  ========================  ===================================================
  votes      script hash (20)          the account's votes: var-int count + compressed
                                       keys, in the order cast (only accounts that vote)
  validator  compressed key (33)       u8 registered + i64 votes (C{ValidatorState})
  meta       C{validators_count}       the non-zero C{ValidatorsCount} buckets: u16 index
                                       + i64 NEO, in index order
  =========  ========================  ===================================================

The reference keeps an account that votes with no NEO (its votes count again when
NEO comes back) and drops one with neither: here the C{votes} record exists
exactly while the account votes, and its balances are in C{balance} as before.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator

import lmdb

from neo_twisted.ledger.store import Databases, fetch
from neo_twisted.ledger.votes import MAX_VALIDATORS, Validator, VoteBook
from neo_twisted.wire.binary import BinaryReader, BinaryWriter
from neo_twisted.wire.ecpoint import ECPoint

__all__ = ["VOTE_DATABASES", "load_book", "read_validator", "read_votes", "write_book"]

#: The sub-databases schema 2 added.
VOTE_DATABASES = ("votes", "validator")
COUNTS_KEY = b"validators_count"

_VALIDATOR = struct.Struct("<?q")
_BUCKET = struct.Struct("<Hq")


@functools.lru_cache(maxsize=4096)
def _point(encoded: bytes) -> ECPoint:
    """
    A stored key (decompressing one costs a field square root: a few keys recur).
    """
    return ECPoint.from_bytes(encoded)


def encode_votes(votes: tuple[ECPoint, ...]) -> bytes:
    writer = BinaryWriter()
    writer.write_array(votes)
    return writer.to_bytes()


def decode_votes(raw: bytes) -> tuple[ECPoint, ...]:
    reader = BinaryReader(raw)
    count = reader.read_count(1 << 24)
    return tuple(_point(reader.read_bytes(1 if raw[reader.pos] == 0 else 33))
                 for _ in range(count))


def read_votes(txn: lmdb.Transaction, dbs: Databases, script_hash: bytes
               ) -> tuple[ECPoint, ...]:
    raw = fetch(txn, script_hash, db=dbs["votes"])
    return () if raw is None else decode_votes(raw)


def read_validator(txn: lmdb.Transaction, dbs: Databases, key: ECPoint
                   ) -> Validator | None:
    """
    The C{ValidatorState} of C{key}, None when it has none (or the store predates them).
    """
    validators = dbs.get("validator")  # absent from a schema 1 store opened read-only
    raw = None if validators is None else fetch(txn, key.encode(), db=validators)
    if raw is None:
        return None
    registered, votes = _VALIDATOR.unpack(raw)
    return Validator(registered, votes)


def encode_counts(counts: list[int]) -> bytes:
    return b"".join(_BUCKET.pack(i, weight) for i, weight in enumerate(counts) if weight)


def decode_counts(raw: bytes | None) -> list[int]:
    counts = [0] * MAX_VALIDATORS
    for i, weight in _BUCKET.iter_unpack(raw or b""):
        counts[i] = weight
    return counts


def _validators(txn: lmdb.Transaction, dbs: Databases
                ) -> Iterator[tuple[ECPoint, Validator]]:
    for key, value in txn.cursor(db=dbs["validator"]):
        registered, votes = _VALIDATOR.unpack(bytes(value))
        yield _point(bytes(key)), Validator(registered, votes)


def load_book(txn: lmdb.Transaction, dbs: Databases) -> VoteBook:
    """
    The validators and counts as stored, accounts' votes read from C{txn} when needed
    (so the book lives no longer than C{txn}; L{VoteBook.committed} keeps the rest).
    """
    return VoteBook(dict(_validators(txn, dbs)),
                    decode_counts(fetch(txn, COUNTS_KEY, db=dbs["meta"])),
                    lambda script_hash: read_votes(txn, dbs, script_hash))


def write_book(txn: lmdb.Transaction, dbs: Databases, book: VoteBook, *,
               clear: bool = True) -> None:
    """
    Store what changed in C{book} (inside the write transaction that applied it), and
    then forget that it changed unless C{clear} is false (a batch that may run again).
    """
    for script_hash in book.changed_accounts:
        votes = book.accounts[script_hash]
        if votes:
            txn.put(script_hash, encode_votes(votes), db=dbs["votes"])
        else:
            txn.delete(script_hash, db=dbs["votes"])
    for key in book.changed_validators:
        validator = book.validators.get(key)
        if validator is None:
            txn.delete(key.encode(), db=dbs["validator"])
        else:
            txn.put(key.encode(), _VALIDATOR.pack(validator.registered, validator.votes),
                    db=dbs["validator"])
    if book.counts_changed:
        txn.put(COUNTS_KEY, encode_counts(book.counts), db=dbs["meta"])
    if not clear:
        return
    book.changed_accounts.clear()
    book.changed_validators.clear()
    book.counts_changed = False
