# -*- test-case-name: tests.unit.test_mempool_rules -*-
"""
The chain as the transaction rules see it: one LMDB read transaction, one height.

Verifying a transaction reads many records (its inputs, the assets, claimable
coins, system fees); reading them all from one read transaction means they all
come from the same block height, whatever the writer does meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

import lmdb

from neo_twisted.core.components import TransactionOutput
from neo_twisted.ledger.state import AssetState, read_i64
from neo_twisted.ledger.store import Databases, coin_key, fetch, height_key, read_u32
from neo_twisted.ledger.votestore import read_validator
from neo_twisted.mempool.view import SpentCoin
from neo_twisted.wire.binary import BinaryReader
from neo_twisted.wire.ecpoint import ECPoint

if TYPE_CHECKING:
    from neo_twisted.ledger.chain import Ledger


class LedgerView:
    """
    L{neo_twisted.mempool.view.ChainView} over one read transaction of a ledger.

    Asset states are kept once read: a chunk of transactions asks for the same few
    (NEO, GAS) over and over, and every LMDB read lets go of the GIL, which a
    thread then waits to get back while the reactor runs.
    """

    def __init__(self, txn: lmdb.Transaction, dbs: Databases) -> None:
        self._txn = txn
        self._dbs = dbs
        self._assets: dict[bytes, AssetState | None] = {}

    @cached_property
    def height(self) -> int:
        return read_u32(fetch(self._txn, b"block_height", db=self._dbs["meta"]) or bytes(4))

    def unspent(self, txid: bytes, index: int) -> TransactionOutput | None:
        raw = fetch(self._txn, coin_key(txid, index), db=self._dbs["unspent"])
        return None if raw is None else TransactionOutput.read(BinaryReader(raw))

    def has_transaction(self, txid: bytes) -> bool:
        return fetch(self._txn, txid, db=self._dbs["tx"]) is not None

    def asset(self, asset_id: bytes) -> AssetState | None:
        if asset_id not in self._assets:
            raw = fetch(self._txn, asset_id, db=self._dbs["asset"])
            self._assets[asset_id] = None if raw is None else AssetState.from_bytes(raw)
        return self._assets[asset_id]

    def unclaimed(self, txid: bytes, index: int) -> SpentCoin | None:
        raw = fetch(self._txn, coin_key(txid, index), db=self._dbs["spent"])
        if raw is None:
            return None
        output = TransactionOutput.read(BinaryReader(raw[:60]))
        return SpentCoin(output, read_u32(raw, 60), read_u32(raw, 64))

    def system_fee_total(self, index: int) -> int:
        raw = fetch(self._txn, height_key(index), db=self._dbs["sysfee"])
        if raw is None:
            raise KeyError(index)
        return read_i64(raw)

    def has_account(self, script_hash: bytes) -> bool:
        cursor = self._txn.cursor(db=self._dbs["balance"])
        if cursor.set_range(script_hash) and bytes(cursor.key()[:20]) == script_hash:
            return True
        votes = self._dbs.get("votes")  # absent from a schema-1 store opened read-only
        return votes is not None and fetch(self._txn, script_hash, db=votes) is not None

    def validator_registered(self, key: ECPoint) -> bool:
        validator = read_validator(self._txn, self._dbs, key)
        return validator is not None and validator.registered

    def balance(self, script_hash: bytes, asset_id: bytes) -> int:
        raw = fetch(self._txn, script_hash + asset_id, db=self._dbs["balance"])
        return 0 if raw is None else read_i64(raw)


@contextmanager
def ledger_view(ledger: Ledger) -> Iterator[LedgerView]:
    """
    A L{LedgerView} of C{ledger}, valid inside the C{with} block (any thread).
    """
    with ledger.store.read() as txn:
        yield LedgerView(txn, ledger.store.dbs)
