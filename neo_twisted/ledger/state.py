# -*- test-case-name: tests.unit.test_ledger_chain -*-
"""
Applying a block to the chain state: coins, balances, assets, system fees.

As in the reference node, transactions inside an accepted block are not
re-verified (the validators' signatures vouch for the block); every type is
applied: inputs spent, outputs created, balances moved, assets registered and
issued, claimed coins retired, system fees summed, votes and validator
registrations counted (L{neo_twisted.ledger.votes}). Invocation scripts are not
executed (there is no VM here). Every coin record is kept twice, by coin and by
owner (the account databases): the owner's script hash is in the record at hand,
so the second copy costs no read, and its changes wait for the end of the batch
(L{OwnerIndex}).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping

import attrs
import lmdb

from neo_twisted.core.block import Block
from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.fees import system_fee
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    NEO_ASSET_ID,
    ClaimTransaction,
    IssueTransaction,
    RegisterTransaction,
)
from neo_twisted.ledger.store import (
    Database,
    Databases,
    coin_key,
    fetch,
    height_key,
    take,
    u32,
)
from neo_twisted.ledger.votes import VoteBook
from neo_twisted.ledger.votestore import write_book
from neo_twisted.wire.binary import BinaryReader, BinaryWriter
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160, UInt256

_I64 = struct.Struct("<q")
#: An asset registered at height h expires at h + 2 * 2,000,000 (C{Blockchain.Persist}).
ASSET_LIFETIME = 2 * 2_000_000


class LedgerStateError(Exception):
    """
    A block that cannot be applied to the state (for example, it spends a missing coin).
    """


@attrs.frozen(kw_only=True)
class AssetState:
    """
    A registered asset, as C{getassetstate} shows it.
    """

    asset_id: UInt256
    asset_type: int
    name: str
    amount: int
    available: int
    precision: int
    owner: ECPoint
    admin: UInt160
    issuer: UInt160
    expiration: int

    def to_bytes(self) -> bytes:
        writer = BinaryWriter()
        writer.write_bytes(self.asset_id)
        writer.write_u8(self.asset_type)
        writer.write_var_string(self.name)
        writer.write_i64(self.amount)
        writer.write_i64(self.available)
        writer.write_u8(self.precision)
        self.owner.write(writer)
        writer.write_bytes(self.admin)
        writer.write_bytes(self.issuer)
        writer.write_u32(self.expiration)
        return writer.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> AssetState:
        reader = BinaryReader(data)
        return cls(asset_id=reader.read_uint256(), asset_type=reader.read_u8(),
                   name=reader.read_var_string(1024), amount=reader.read_i64(),
                   available=reader.read_i64(), precision=reader.read_u8(),
                   owner=ECPoint.read(reader), admin=reader.read_uint160(),
                   issuer=reader.read_uint160(), expiration=reader.read_u32())


def read_i64(data: bytes, offset: int = 0) -> int:
    return int(_I64.unpack_from(data, offset)[0])


def write_cost(block: Block) -> int:
    """
    The records applying C{block} puts or deletes in the store, as an estimate of the
    pages it dirties: its keys are hashes, so each record lands on a page of its own
    once the store is large. A write transaction's dirty pages stay in memory until it
    commits, so writers bound this sum rather than a number of blocks (an empty block
    costs a few records, one of 500 transfers a few thousand). Coin records count
    twice, by coin and by owner, though the owner's records of a coin created and
    spent in one write never reach the store.
    """
    cost = 4  # header, block record, height and system-fee entries
    for tx in block.transactions:
        # the transaction; per input its coin taken and its spent record, per output a
        # coin, each by coin and by owner
        cost += 1 + 2 * (2 * len(tx.inputs) + len(tx.outputs))
        if isinstance(tx, ClaimTransaction):
            cost += 2 * len(tx.claims)
    return cost


class OwnerIndex:
    """
    The changes to one account database that a batch of blocks makes.

    Held in memory, by coin key, until the batch is written: a coin created and
    spent within the batch (most coins of a busy chain live a few blocks) never
    reaches the store, and no key by owner is built for it; the rest go in key
    order, so that neighbouring records share their pages.

    @param key: the account key of a coin (its coin key, its record).
    @param value: the account record of a coin record.
    """

    __slots__ = ("_added", "_key", "_removed", "_value")

    def __init__(self, key: Callable[[bytes, bytes], bytes],
                 value: Callable[[bytes], bytes]) -> None:
        self._key = key
        self._value = value
        self._added: dict[bytes, bytes] = {}
        self._removed: list[bytes] = []

    def add(self, coin: bytes, record: bytes) -> None:
        self._added[coin] = record

    def remove(self, coin: bytes, record: bytes) -> bytes | None:
        """
        Take a coin out; returns the record it was added with in this batch, if it was.
        """
        added = self._added.pop(coin, None)
        if added is None:  # a coin is added once (created once): it is stored
            self._removed.append(self._key(coin, record))
        return added

    def write(self, txn: lmdb.Transaction, db: Database) -> None:
        for removed in sorted(self._removed):
            txn.delete(removed, db=db)
        account_key, value = self._key, self._value
        for key, record in sorted((account_key(coin, record), value(record))
                                  for coin, record in self._added.items()):
            txn.put(key, record, db=db)
        self._added.clear()
        self._removed.clear()


def owned_key(coin: bytes, output: bytes) -> bytes:
    """
    The C{account_unspent} key of a coin (stored output, then its u32 height created).
    """
    return output[40:60] + coin


def owned_value(output: bytes) -> bytes:
    return output[:40] + output[60:64]


def owned_spent_key(coin: bytes, spent: bytes) -> bytes:
    """
    The C{account_spent} key of a coin (its C{spent} record).
    """
    # the height it was spent at, big-endian (stored little-endian): an account's
    # records of a batch go after its older ones, on its last pages
    return spent[40:60] + spent[64:68][::-1] + coin


def owned_spent_value(spent: bytes) -> bytes:
    return spent[32:40] + spent[60:64]


class StateWriter:
    """
    Applies blocks inside one write transaction.

    It must be the only writer of balances in that transaction: it remembers the
    balances it has written, so that a run of blocks reads each account once.

    @param batched: keep the balances in memory until L{flush}, so that a run of
        blocks writes each account once (block sync's runs of hundreds of blocks move
        the same few accounts; each block wrote ten balance records).
    @param votes: the vote state to change as well (its changes are written with
        the balances); None for a store that has none yet.
    """

    def __init__(self, txn: lmdb.Transaction, dbs: Databases,
                 fees: Mapping[str, int], *, batched: bool = False,
                 votes: VoteBook | None = None) -> None:
        self._txn = txn
        self._dbs = dbs
        self._fees = fees
        self._unspent = dbs["unspent"]
        self._spent = dbs["spent"]
        #: The coins by owner: unspent, and spent NEO not claimed yet.
        self._owned = OwnerIndex(owned_key, owned_value)
        self._owned_spent = OwnerIndex(owned_spent_key, owned_spent_value)
        self._tx = dbs["tx"]
        self._account_unspent = dbs["account_unspent"]
        self._balance = dbs["balance"]
        #: Balances as this writer last stored them (0: no record), by balance key.
        self._balances: dict[bytes, int] = {}
        self._batched = batched
        #: Balance keys changed since the last L{flush} (batched only).
        self._dirty: set[bytes] = set()
        self.votes = votes

    def _balance_of(self, key: bytes) -> int:
        value = self._balances.get(key)
        if value is None:
            old = fetch(self._txn, key, db=self._balance)
            value = read_i64(old) if old is not None else 0
        return value

    def _write_balances(self, deltas: Mapping[bytes, int]) -> None:
        """
        Add a block's balance changes (by script hash + asset id) to the stored balances.
        """
        for key, delta in deltas.items():
            if not delta:
                continue
            new = self._balance_of(key) + delta
            self._balances[key] = new
            if self._batched:
                self._dirty.add(key)
            else:
                self._store_balance(key, new)

    def _store_balance(self, key: bytes, value: int) -> None:
        if value:
            self._txn.put(key, _I64.pack(value), db=self._balance)
        else:
            self._txn.delete(key, db=self._balance)

    def flush(self) -> None:
        """
        Write the balances a batched writer holds (before its transaction commits).
        """
        for key in self._dirty:
            self._store_balance(key, self._balances[key])
        self._dirty.clear()
        self._write_owners()
        if self.votes is not None:
            write_book(self._txn, self._dbs, self.votes)

    def _write_owners(self) -> None:
        self._owned.write(self._txn, self._dbs["account_unspent"])
        self._owned_spent.write(self._txn, self._dbs["account_spent"])

    def _spend(self, tx: Transaction, height: int, deltas: dict[bytes, int]
               ) -> list[TransactionOutput]:
        """
        Take the coins C{tx} spends; returns the NEO ones of voting accounts when
        votes are counted (the only spends that change the vote state).
        """
        txn = self._txn
        neo_spent: list[TransactionOutput] = []
        for ref in tx.inputs:
            key = coin_key(ref.prev_hash, ref.prev_index)
            raw = take(txn, key, db=self._unspent)
            if raw is None:
                raise LedgerStateError(
                    f"transaction {tx.hash} spends {ref.prev_hash}:{ref.prev_index}, "
                    "which is not an unspent output")
            # a stored output: asset id (32), value (i64), script hash (20)
            asset_id, owner = raw[:32], raw[40:60]
            balance_key = owner + asset_id
            deltas[balance_key] = deltas.get(balance_key, 0) - read_i64(raw, 32)
            created = self._owned.remove(key, raw)
            if asset_id == NEO_ASSET_ID:
                if created is not None:  # created in this batch: its height is at hand
                    start = created[60:64]
                else:  # its account record ends with the height it was created at
                    record = fetch(txn, owner + key, db=self._account_unspent)
                    start = record[40:44] if record is not None else bytes(4)
                spent = raw + start + u32(height)
                txn.put(key, spent, db=self._spent)
                self._owned_spent.add(key, spent)
                # only a voter's NEO moves votes: most spends decode nothing more
                if self.votes is not None and self.votes.votes_of(owner):
                    neo_spent.append(TransactionOutput.read(BinaryReader(raw)))
        return neo_spent

    def _create(self, tx: Transaction, height: bytes, deltas: dict[bytes, int]) -> None:
        """
        Add C{tx}'s outputs, made in the block at C{height} (u32).
        """
        txn, db, owned = self._txn, self._unspent, self._owned
        txid = tx.hash
        for n, output in enumerate(tx.outputs):
            key, raw = coin_key(txid, n), output.to_bytes()
            txn.put(key, raw, db=db)
            owned.add(key, raw + height)
            balance_key = output.script_hash + output.asset_id
            deltas[balance_key] = deltas.get(balance_key, 0) + output.value

    def _apply_type(self, tx: Transaction, height: int, spent_values: dict[bytes, int]) -> None:
        assets = self._dbs["asset"]
        if isinstance(tx, RegisterTransaction):
            state = AssetState(asset_id=tx.hash, asset_type=tx.asset_type, name=tx.name,
                               amount=tx.amount, available=0, precision=tx.precision,
                               owner=tx.owner, admin=tx.admin, issuer=tx.admin,
                               expiration=height + ASSET_LIFETIME)
            self._txn.put(tx.hash, state.to_bytes(), db=assets)
        elif isinstance(tx, IssueTransaction):
            issued: dict[bytes, int] = {}
            for output in tx.outputs:
                issued[output.asset_id] = issued.get(output.asset_id, 0) + output.value
            for asset_id, value in issued.items():
                value -= spent_values.get(asset_id, 0)
                raw = fetch(self._txn, asset_id, db=assets)
                if value > 0 and raw is not None:
                    state = AssetState.from_bytes(raw)
                    state = attrs.evolve(state, available=state.available + value)
                    self._txn.put(asset_id, state.to_bytes(), db=assets)
        elif isinstance(tx, ClaimTransaction):
            for claim in tx.claims:
                key = coin_key(claim.prev_hash, claim.prev_index)
                raw = take(self._txn, key, db=self._spent)
                if raw is not None:
                    self._owned_spent.remove(key, raw)

    def _input_values(self, tx: Transaction) -> dict[bytes, int]:
        values: dict[bytes, int] = {}
        db = self._dbs["unspent"]
        for ref in tx.inputs:
            raw = fetch(self._txn, coin_key(ref.prev_hash, ref.prev_index), db=db)
            if raw is not None:
                output = TransactionOutput.read(BinaryReader(raw))
                values[output.asset_id] = values.get(output.asset_id, 0) + output.value
        return values

    def apply(self, block: Block, fee_total_before: int) -> int:
        """
        Apply C{block} at its height; returns the cumulative system fee after it.
        """
        height = block.index
        txn, tx_db = self._txn, self._tx
        prefix = u32(height)
        fee_total = fee_total_before
        deltas: dict[bytes, int] = {}
        votes = self.votes

        def neo_after(script_hash: bytes) -> int:
            key = script_hash + NEO_ASSET_ID
            return self._balance_of(key) + deltas.get(key, 0)

        for tx in block.transactions:
            spent_values = self._input_values(tx) if isinstance(tx, IssueTransaction) else {}
            neo_spent = self._spend(tx, height, deltas)
            self._create(tx, prefix, deltas)
            self._apply_type(tx, height, spent_values)
            if votes is not None:
                votes.apply(tx, neo_spent, neo_after)
            txn.put(tx.hash, prefix + tx.to_bytes(), db=tx_db)
            fee_total += system_fee(tx, self._fees)
        self._write_balances(deltas)
        if not self._batched:
            self._write_owners()
            if votes is not None:
                write_book(txn, self._dbs, votes)
        hashes = b"".join(tx.hash for tx in block.transactions)
        txn.put(block.hash, u32(len(block.transactions)) + hashes, db=self._dbs["block"])
        txn.put(height_key(height), _I64.pack(fee_total), db=self._dbs["sysfee"])
        return fee_total
