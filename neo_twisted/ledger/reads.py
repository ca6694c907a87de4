# -*- test-case-name: tests.unit.test_ledger_reads -*-
"""
What the rest of the node reads from the chain: blocks, headers, transactions, state.

Every read opens its own LMDB read transaction, so reads run on any thread and
never wait for (nor hold up) the writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast

import attrs
import lmdb

from neo_twisted.core.block import Block, Header
from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import NEO_ASSET_ID
from neo_twisted.ledger.state import AssetState, read_i64
from neo_twisted.ledger.store import (
    ChainStore,
    Database,
    StoreError,
    fetch,
    height_key,
    read_u32,
)
from neo_twisted.ledger.view import LedgerView
from neo_twisted.ledger.votestore import read_votes
from neo_twisted.mempool.view import SpentCoin
from neo_twisted.wire.binary import encode_var_int
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160, UInt256

MAX_HEADERS_PER_REPLY = 2000
MAX_BLOCK_HASHES_PER_REPLY = 500
#: Where a stored header keeps its index: after version, previous hash, merkle root, time.
_HEADER_INDEX_OFFSET = 4 + 32 + 32 + 4


@attrs.frozen
class OwnedCoin:
    """
    An unspent output of an account, named by its transaction and index.

    @ivar height: the height of the block that created it.
    """

    txid: UInt256
    index: int
    output: TransactionOutput
    height: int


@attrs.frozen
class UnclaimedCoin:
    """
    A spent NEO output of an account whose GAS is not claimed yet.
    """

    txid: UInt256
    index: int
    coin: SpentCoin


def _account_records(txn: lmdb.Transaction, db: Database, script_hash: bytes, coin_at: int
                     ) -> list[tuple[bytes, int, bytes, bytes]]:
    """
    An account's records as (txid, output index, key, value), by txid in wire order
    then index, the plugin's order: keys hold the index little-endian, and the coin
    key starts at C{coin_at}, after what else orders the records.
    """
    found = []
    cursor = txn.cursor(db=db)
    if cursor.set_range(script_hash):
        for key, value in cursor:
            if key[:20] != script_hash:
                break
            coin = key[coin_at:]
            found.append((bytes(coin[:32]), int.from_bytes(coin[32:34], "little"), bytes(key),
                          bytes(value)))
    found.sort()
    return found


class ChainReads:
    """
    The reads of L{neo_twisted.ledger.chain.Ledger}, kept apart from its writes.
    """

    store: ChainStore
    _dbs: dict[str, Database]
    block_height: int
    header_height: int

    def read_header_at(self, txn: lmdb.Transaction, index: int) -> Header | None:
        hash_ = fetch(txn, height_key(index), db=self._dbs["height"])
        if hash_ is None:
            return None
        return self._read_header(txn, hash_)

    def _read_header(self, txn: lmdb.Transaction, hash_: bytes) -> Header | None:
        raw = fetch(txn, hash_, db=self._dbs["header"])
        return None if raw is None else Header.from_bytes(raw)

    def get_block_hash(self, index: int) -> UInt256 | None:
        """
        The hash of the header at C{index} (a block may not be persisted yet).
        """
        with self.store.read() as txn:
            hash_ = fetch(txn, height_key(index), db=self._dbs["height"])
        return None if hash_ is None else UInt256(hash_)

    def get_block_hashes(self, start: int, end: int) -> list[UInt256]:
        """
        The hashes of the headers from C{start} to C{end} (inclusive) in one read, as
        far as they go without a gap.
        """
        with self.store.read() as txn:
            return [UInt256(hash_) for hash_ in self._hashes_at(txn, start, end)]

    def _hashes_at(self, txn: lmdb.Transaction, start: int, end: int) -> Iterator[bytes]:
        """
        The header chain's hashes from height C{start} to C{end}, by one cursor walk of
        the height table, until the first height missing.
        """
        cursor = txn.cursor(db=self._dbs["height"])
        if not cursor.set_key(height_key(start)):
            return
        # read transactions never hand out buffers: keys and values are bytes
        for index, (key, value) in enumerate(
                cast("Iterator[tuple[bytes, bytes]]", cursor), start):
            if index > end or key != height_key(index):
                return
            yield value

    def get_header(self, hash_or_index: bytes | int) -> Header | None:
        with self.store.read() as txn:
            if isinstance(hash_or_index, int):
                return self.read_header_at(txn, hash_or_index)
            return self._read_header(txn, hash_or_index)

    def get_block(self, hash_or_index: bytes | int) -> Block | None:
        """
        A persisted block, rebuilt from its header and its stored transactions.
        """
        with self.store.read() as txn:
            if isinstance(hash_or_index, int):
                hash_ = fetch(txn, height_key(hash_or_index), db=self._dbs["height"])
                if hash_ is None:
                    return None
            else:
                hash_ = hash_or_index
            hashes = fetch(txn, hash_, db=self._dbs["block"])
            header = self._read_header(txn, hash_)
            if hashes is None or header is None:
                return None
            count = read_u32(hashes)
            txs = []
            for i in range(count):
                raw = fetch(txn, hashes[4 + 32 * i: 36 + 32 * i], db=self._dbs["tx"])
                if raw is None:
                    raise StoreError(f"damaged store: block {header.index} misses a transaction")
                txs.append(Transaction.from_bytes(raw[4:]))
        return Block(header, tuple(txs))

    def get_block_bytes(self, hash_: bytes) -> bytes | None:
        """
        A persisted block as it travels in a C{block} message, straight from the stored
        bytes (peers asking for blocks need no parsing on our side).
        """
        with self.store.read() as txn:
            hashes = fetch(txn, hash_, db=self._dbs["block"])
            header = fetch(txn, hash_, db=self._dbs["header"])
            if hashes is None or header is None:
                return None
            count = read_u32(hashes)
            parts = [header[:-1], encode_var_int(count)]  # the header's 00 count replaced
            tx_db = self._dbs["tx"]
            for i in range(count):
                raw = fetch(txn, hashes[4 + 32 * i: 36 + 32 * i], db=tx_db)
                if raw is None:
                    raise StoreError(f"damaged store: block {hash_.hex()} misses a transaction")
                parts.append(raw[4:])
        return b"".join(parts)

    def has_block(self, hash_: bytes) -> bool:
        """
        Whether the block C{hash_} is persisted.
        """
        with self.store.read() as txn:
            return fetch(txn, hash_, db=self._dbs["block"]) is not None

    def has_header(self, hash_: bytes) -> bool:
        with self.store.read() as txn:
            return fetch(txn, hash_, db=self._dbs["header"]) is not None

    def has_transaction(self, txid: bytes) -> bool:
        with self.store.read() as txn:
            return fetch(txn, txid, db=self._dbs["tx"]) is not None

    def get_transaction(self, txid: bytes) -> tuple[Transaction, int] | None:
        """
        A confirmed transaction and the height of its block.
        """
        raw = self._transaction_record(txid)
        return None if raw is None else (Transaction.from_bytes(raw[4:]), read_u32(raw))

    def get_transaction_bytes(self, txid: bytes) -> bytes | None:
        """
        A confirmed transaction as stored, which is its wire form (for serving peers).
        """
        raw = self._transaction_record(txid)
        return None if raw is None else raw[4:]

    def _transaction_record(self, txid: bytes) -> bytes | None:
        """
        The stored record of a confirmed transaction: its block height, then its bytes.
        """
        with self.store.read() as txn:
            return fetch(txn, txid, db=self._dbs["tx"])

    def get_unspent(self, txid: bytes, index: int) -> TransactionOutput | None:
        with self.store.read() as txn:
            return LedgerView(txn, self._dbs).unspent(txid, index)

    def get_balances(self, script_hash: bytes) -> dict[UInt256, int]:
        """
        Non-zero balances of an account, by asset id (raw Fixed8).
        """
        balances: dict[UInt256, int] = {}
        with self.store.read() as txn:
            cursor = txn.cursor(db=self._dbs["balance"])
            if cursor.set_range(script_hash):
                for key, value in cursor:
                    if bytes(key[:20]) != script_hash:
                        break
                    balances[UInt256(bytes(key[20:]))] = read_i64(bytes(value))
        return balances

    def owned_unspent(self, txn: lmdb.Transaction, script_hash: UInt160) -> Iterator[OwnedCoin]:
        """
        The unspent outputs of an account, by transaction hash (wire order) then index.
        """
        records = _account_records(txn, self._dbs["account_unspent"], script_hash, 20)
        for txid, index, _, value in records:
            output = TransactionOutput(UInt256(value[:32]), read_i64(value, 32), script_hash)
            yield OwnedCoin(UInt256(txid), index, output, read_u32(value, 40))

    def owned_unclaimed(self, txn: lmdb.Transaction, script_hash: UInt160
                        ) -> Iterator[UnclaimedCoin]:
        """
        The spent NEO outputs of an account that may still claim GAS, in the same order.
        """
        records = _account_records(txn, self._dbs["account_spent"], script_hash, 24)
        for txid, index, key, value in records:
            output = TransactionOutput(NEO_ASSET_ID, read_i64(value), script_hash)
            coin = SpentCoin(output, read_u32(value, 8), int.from_bytes(key[20:24], "big"))
            yield UnclaimedCoin(UInt256(txid), index, coin)

    def transaction_height(self, txid: bytes) -> int | None:
        """
        The height of the block holding a confirmed transaction, without decoding it.
        """
        raw = self._transaction_record(txid)
        return None if raw is None else read_u32(raw)

    def get_votes(self, script_hash: bytes) -> tuple[ECPoint, ...]:
        """
        The keys an account votes for, in the order cast (C{AccountState.Votes}).
        """
        with self.store.read() as txn:
            return read_votes(txn, self._dbs, script_hash)

    def get_asset(self, asset_id: bytes) -> AssetState | None:
        with self.store.read() as txn:
            return LedgerView(txn, self._dbs).asset(asset_id)

    def system_fee_total(self, index: int) -> int:
        """
        The system fees of blocks 0..C{index}, summed (C{getblocksysfee}).
        """
        with self.store.read() as txn:
            return LedgerView(txn, self._dbs).system_fee_total(index)

    def headers_after(self, hash_: bytes, stop: bytes = bytes(32),
                      limit: int = MAX_HEADERS_PER_REPLY) -> list[Header]:
        """
        Headers following the known header C{hash_}, up to (not including) C{stop}, as the
        reference node serves C{getheaders}; nothing when C{hash_} is unknown or is C{stop}.
        """
        with self.store.read() as txn:
            start = self._read_header(txn, hash_)
            if start is None or hash_ == stop:
                return []
            result = []
            for index in range(start.index + 1, start.index + 1 + limit):
                header = self.read_header_at(txn, index)
                if header is None or header.hash == stop:
                    break
                result.append(header)
        return result

    def block_hashes_after(self, starts: bytes | Sequence[bytes], stop: bytes = bytes(32),
                           limit: int = MAX_BLOCK_HASHES_PER_REPLY) -> list[UInt256]:
        """
        Hashes of persisted blocks following the first known of C{starts} (a locator, or
        one hash), up to (not including) C{stop}, as the reference node serves
        C{getblocks}; never above the block height.
        """
        with self.store.read() as txn:
            start = self._first_known(txn, starts, stop)
            if start is None:
                return []
            first = read_u32(start, _HEADER_INDEX_OFFSET) + 1
            result = []
            last = min(first - 1 + limit, self.block_height)
            for found in self._hashes_at(txn, first, last):
                if found == stop:
                    break
                result.append(UInt256(found))
        return result

    def header_index(self, hash_: bytes) -> int | None:
        """
        The height of the known header C{hash_}, read without parsing the header.
        """
        with self.store.read() as txn:
            raw = fetch(txn, hash_, db=self._dbs["header"])
        return None if raw is None else read_u32(raw, _HEADER_INDEX_OFFSET)

    def header_indexes(self, hashes: Sequence[bytes]) -> list[int | None]:
        """
        L{header_index} of many hashes, in one read transaction.

        An C{inv} lists consecutive blocks: once one hash is found at height i, the
        next is first compared with the height index at i + 1, a lookup by height
        (neighbouring keys, neighbouring pages) rather than by hash (a random page
        of the header table each, and the map's resident size with it).
        """
        found: list[int | None] = []
        heights, headers = self._dbs["height"], self._dbs["header"]
        with self.store.read() as txn:
            previous: int | None = None
            for hash_ in hashes:
                index = None
                if previous is not None and fetch(txn, height_key(previous + 1),
                                                  db=heights) == hash_:
                    index = previous + 1
                elif previous is not None and previous >= self.header_height:
                    pass  # past our highest header: unknown, no need to look
                else:
                    raw = fetch(txn, hash_, db=headers)
                    if raw is not None:
                        index = read_u32(raw, _HEADER_INDEX_OFFSET)
                found.append(index)
                previous = index
        # random lookups map pages of the header table on the reactor's thread: they
        # count against the same bound as the writer's
        self.store.trim_mapped_pages()
        return found

    def header_bytes_after(self, starts: bytes | Sequence[bytes], stop: bytes = bytes(32),
                           limit: int = MAX_HEADERS_PER_REPLY) -> list[bytes]:
        """
        L{headers_after} as stored bytes, each already in its C{headers} message form,
        for serving peers without parsing anything. C{starts} is one hash or a locator:
        the headers follow the first of them we know (Bitcoin Core's rule; a reference
        node sends one hash, for which it is the reference's rule).
        """
        with self.store.read() as txn:
            start = self._first_known(txn, starts, stop)
            if start is None:
                return []
            first = read_u32(start, _HEADER_INDEX_OFFSET) + 1
            result = []
            for index in range(first, first + limit):
                found = fetch(txn, height_key(index), db=self._dbs["height"])
                if found is None or found == stop:
                    break
                raw = fetch(txn, found, db=self._dbs["header"])
                if raw is None:
                    raise StoreError(f"damaged store: no header {found.hex()} at {index}")
                result.append(raw)
        return result

    def _first_known(self, txn: lmdb.Transaction, starts: bytes | Sequence[bytes],
                     stop: bytes) -> bytes | None:
        """
        The stored header of the first of C{starts} we know, or None when we know none
        of them or the first known is C{stop} (then nothing is to be sent).
        """
        for hash_ in (starts,) if isinstance(starts, bytes) else starts:
            raw = fetch(txn, hash_, db=self._dbs["header"])
            if raw is not None:
                return None if hash_ == stop else raw
        return None
