"""
Tests for the coins by account (schema 3): written with the coins, built from them
when an older store is opened, and compared by C{neonode check}.
"""

from __future__ import annotations

from typing import Any

import lmdb
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.transactions import NEO_ASSET_ID
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.check import check_store, store_info
from neo_twisted.ledger.store import (
    SCHEMA_VERSION,
    ChainStore,
    StoreError,
    coin_key,
    height_key,
    read_u32,
    u32,
)
from neo_twisted.ledger.votestore import COUNTS_KEY
from neo_twisted.wire.uint import UInt160
from tests.support.ledger_samples import PRIVNET, open_ledger
from tests.support.mempool_samples import sample_chain

ACCOUNT_DBS = ("account_unspent", "account_spent")


def account_key(owner: bytes, txid: bytes, index: int) -> bytes:
    return owner + coin_key(txid, index)


def u64(value: int) -> bytes:
    return value.to_bytes(8, "little")


def items(ledger: Ledger, name: str) -> list[tuple[bytes, bytes]]:
    with ledger.store.read() as txn:
        return [(bytes(k), bytes(v)) for k, v in txn.cursor(db=ledger.store.dbs[name])]


def schema(ledger: Ledger) -> bytes | None:
    with ledger.store.read() as txn:
        value = txn.get(b"schema", db=ledger.store.dbs["meta"])
        return None if value is None else bytes(value)


class AccountIndexCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.datadir = self.mktemp()
        self.ledger = sample_chain().open_ledger(self.datadir)
        self.addCleanup(self.ledger.close)

    def write(self, batch: Any) -> None:
        self.ledger.store.write(batch)

    def reopen(self) -> Ledger:
        self.ledger.close()
        self.ledger = open_ledger(self, self.datadir)
        return self.ledger


class WrittenWithTheCoinsTests(AccountIndexCase):
    def test_mirrors_the_coins(self) -> None:
        """
        Every unspent output, and every spent NEO output not claimed yet, once under
        its owner; the claimed genesis NEO under nobody.
        """
        unspent, spent = items(self.ledger, "unspent"), items(self.ledger, "spent")
        self.assertTrue(spent)
        self.assertEqual(items(self.ledger, "account_unspent"), sorted(
            (raw[40:60] + key, raw[:40] + u32(self.ledger.transaction_height(key[:32]) or 0))
            for key, raw in unspent))
        self.assertEqual(items(self.ledger, "account_spent"), sorted(
            (raw[40:60] + height_key(read_u32(raw, 64)) + key, raw[32:40] + raw[60:64])
            for key, raw in spent))
        claimed = coin_key(sample_chain().genesis_claim.prev_hash,
                           sample_chain().genesis_claim.prev_index)
        self.assertNotIn(claimed, [key[24:] for key, _ in items(self.ledger, "account_spent")])

    def test_read_in_transaction_then_output_order(self) -> None:
        """
        Keys hold the output index little-endian (as coin keys do): a reader still
        gives output 256 after output 1, as the plugin lists them.
        """
        owner, first, second = UInt160(b"\x01" * 20), b"\x02" * 32, b"\x03" * 32
        coins = ((first, 256), (first, 1), (second, 0), (first, 2))
        dbs = self.ledger.store.dbs

        def batch(txn: lmdb.Transaction) -> None:
            for spent_at, (txid, index) in enumerate(coins, 3):
                txn.put(account_key(owner, txid, index), NEO_ASSET_ID + u64(5) + u32(2),
                        db=dbs["account_unspent"])
                # spent records: by height spent first
                txn.put(owner + height_key(spent_at) + coin_key(txid, index), u64(5) + u32(2),
                        db=dbs["account_spent"])

        self.write(batch)
        with self.ledger.store.read() as txn:
            unspent = list(self.ledger.owned_unspent(txn, owner))
            unclaimed = list(self.ledger.owned_unclaimed(txn, owner))
        order = [(first, 1), (first, 2), (first, 256), (second, 0)]
        self.assertEqual([(bytes(c.txid), c.index) for c in unspent], order)
        self.assertEqual([(bytes(c.txid), c.index) for c in unclaimed], order)
        self.assertEqual({(c.output.asset_id, c.output.value, c.output.script_hash, c.height)
                          for c in unspent}, {(NEO_ASSET_ID, 5, owner, 2)})
        self.assertEqual([(c.coin.output.value, c.coin.start_height, c.coin.end_height)
                          for c in unclaimed], [(5, 2, 4), (5, 2, 6), (5, 2, 3), (5, 2, 5)])


class UpgradeTests(AccountIndexCase):
    def downgrade(self, version: int) -> None:
        """
        Make the store what an older schema left: no coins by account (but for a stale
        record a schema-3 node opened and an older one kept writing past), no vote
        state either for schema 1.
        """
        dbs = self.ledger.store.dbs

        def batch(txn: lmdb.Transaction) -> None:
            for name in ACCOUNT_DBS:
                txn.drop(dbs[name], delete=False)
            txn.put(b"\x05" * 54, b"stale", db=dbs["account_unspent"])
            if version == 1:
                for name in ("votes", "validator"):
                    txn.drop(dbs[name], delete=False)
                txn.delete(COUNTS_KEY, db=dbs["meta"])
            txn.put(b"schema", u32(version), db=dbs["meta"])

        self.write(batch)

    def test_from_schema_2(self) -> None:
        before = {name: items(self.ledger, name) for name in ACCOUNT_DBS}
        self.downgrade(2)
        ledger = self.reopen()
        self.assertEqual(schema(ledger), u32(SCHEMA_VERSION))
        self.assertEqual({name: items(ledger, name) for name in ACCOUNT_DBS}, before)
        ledger.close()
        self.assertEqual(check_store(self.datadir, PRIVNET), [])

    def test_from_schema_1(self) -> None:
        before = {name: items(self.ledger, name) for name in (*ACCOUNT_DBS, "votes")}
        self.downgrade(1)
        ledger = self.reopen()
        self.assertEqual(schema(ledger), u32(3))
        self.assertEqual({name: items(ledger, name) for name in (*ACCOUNT_DBS, "votes")},
                         before)

    def test_later_schema_refused(self) -> None:
        self.write(lambda txn: txn.put(b"schema", u32(4), db=self.ledger.store.dbs["meta"]))
        self.ledger.close()
        error = self.assertRaises(StoreError, Ledger.open, self.datadir, PRIVNET)
        self.assertIn("unknown store schema version 4 (this node reads 1 to 3)", str(error))

    def test_older_store_read_only(self) -> None:
        """
        A store that never had the account databases can still be looked at read-only
        (C{neonode info} while an older node runs).
        """
        def batch(txn: lmdb.Transaction) -> None:
            for name in ACCOUNT_DBS:
                txn.drop(self.ledger.store.dbs[name], delete=True)
            txn.put(b"schema", u32(2), db=self.ledger.store.dbs["meta"])

        self.write(batch)
        self.ledger.close()
        store = ChainStore(self.datadir, readonly=True)
        try:
            self.assertNotIn("account_unspent", store.dbs)
        finally:
            store.close()
        self.assertEqual(store_info(self.datadir)["block_height"], 8)


class CheckTests(AccountIndexCase):
    def damage(self, name: str, change: Any) -> bytes:
        """
        Apply C{change(txn, db, key, value)} to the first record of C{name}.
        """
        key, value = items(self.ledger, name)[0]
        db = self.ledger.store.dbs[name]
        self.write(lambda txn: change(txn, db, key, value))
        self.ledger.close()
        return key

    def assert_reported(self, name: str, key: bytes | None) -> None:
        """
        One difference, in C{name}, at C{key} (None: wherever the two part).
        """
        problems = check_store(self.datadir, PRIVNET)
        self.assertEqual(len(problems), 1, problems)
        where = f"{name}: the store and a replay of the blocks differ at key "
        self.assertTrue(problems[0].startswith(where), problems)
        if key is not None:
            self.assertEqual(problems[0], where + key.hex())

    def test_whole_store_passes(self) -> None:
        self.ledger.close()
        self.assertEqual(check_store(self.datadir, PRIVNET), [])

    def test_changed_value(self) -> None:
        key = self.damage("account_unspent", lambda txn, db, key, value: txn.put(
            key, value[:32] + bytes(8), db=db))
        self.assert_reported("account_unspent", key)

    def test_missing_record(self) -> None:
        self.damage("account_spent", lambda txn, db, key, value: txn.delete(key, db=db))
        self.assert_reported("account_spent", None)

    def test_extra_record(self) -> None:
        """
        A coin left under an owner after it was spent.
        """
        key = b"\x00" * 54
        self.damage("account_unspent", lambda txn, db, _, value: txn.put(key, value, db=db))
        self.assert_reported("account_unspent", key)
