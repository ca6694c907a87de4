# -*- test-case-name: tests.unit.test_ledger_chain -*-
"""
The chain: headers and blocks accepted as the reference node accepts them, kept in LMDB.

L{Ledger} is synchronous and does its own I/O on the caller's thread; the Twisted
side (L{neo_twisted.ledger.service}) runs it in a thread pool. Only the tip
header, the two heights and a bounded buffer of blocks that arrived early live
in memory: everything else is read from the store, so memory stays flat however
long the chain grows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import lmdb
from twisted.logger import Logger

from neo_twisted.core.block import Block, Header
from neo_twisted.core.transaction import Transaction
from neo_twisted.ledger.genesis import genesis_block
from neo_twisted.ledger.headerchain import TRIM_EVERY_HEADERS, HeaderChain
from neo_twisted.ledger.results import BlockResult, HeaderProblem, HeaderResult, Verdict
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.state import LedgerStateError, StateWriter, write_cost
from neo_twisted.ledger.store import (
    SCHEMA_VERSION,
    ChainStore,
    StoreError,
    fetch,
    read_u32,
    u32,
)
from neo_twisted.ledger.upgrade import upgrade_to_accounts, upgrade_to_votes
from neo_twisted.ledger.validators import ValidatorTracker, VoteBatch
from neo_twisted.ledger.verify import (
    Mapper,
    check_witness,
    linkage_problem,
    serial_map,
    witness_job,
)
from neo_twisted.ledger.writebudget import WriteBudget
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt256

__all__ = [
    "MAX_PENDING_BLOCKS",
    "BlockResult",
    "HeaderProblem",
    "HeaderResult",
    "Ledger",
    "Verdict",
]

#: Blocks that arrive ahead of the next height wait here, up to this many.
MAX_PENDING_BLOCKS = 2000


class _ApplyError(Exception):
    """
    A block of a write batch whose state cannot be applied (the batch is rolled back).
    """

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(index, reason)
        self.index = index
        self.reason = reason


class Ledger(HeaderChain):
    """
    One chain in one data directory.
    """

    _log = Logger()

    def __init__(self, store: ChainStore, settings: ProtocolSettings,
                 mapper: Mapper = serial_map, create: bool = True, *,
                 drop_provisional: bool = True) -> None:
        """
        @param create: write the genesis block into an empty store (else an empty store
            is an error, for tools that must not make a data directory by accident).
        @param drop_provisional: delete at opening the headers taken on trust under an
            assume-valid setting that C{settings} no longer has (tools that only look,
            such as C{neonode check}, leave them).
        """
        self._create = create
        self._drop_provisional_at_open = drop_provisional
        self.store = store
        self.settings = settings
        self._mapper = mapper
        self._dbs = store.dbs
        self._pending: dict[int, Block] = {}
        self.genesis = genesis_block(settings.standby_validators)
        #: The vote state and the validators of the next block.
        self.validators = ValidatorTracker(settings)
        #: How many records the next write of blocks may hold (block sync sizes its
        #: batches by it).
        self.write_budget = WriteBudget(page_size=store.page_size)
        try:
            self._open()
        except BaseException:
            store.close()
            raise

    @classmethod
    def open(cls, datadir: str | Path, settings: ProtocolSettings,
             mapper: Mapper = serial_map, create: bool = True, *,
             drop_provisional: bool = True) -> Ledger:
        return cls(ChainStore(datadir, create=create), settings, mapper, create,
                   drop_provisional=drop_provisional)

    def close(self) -> None:
        self.store.close()

    @property
    def header_tip(self) -> Header:
        """
        The highest known header (what C{getheaders} starts from).
        """
        return self._tip

    def is_pending(self, hash_: bytes, index: int) -> bool:
        """
        Whether the block C{hash_} at C{index} waits in the early-block buffer.
        """
        waiting = self._pending.get(index)
        return waiting is not None and waiting.hash == hash_

    # -- opening --------------------------------------------------------------------------

    def _open(self) -> None:
        meta = self._dbs["meta"]
        with self.store.read() as txn:
            magic = fetch(txn, b"magic", db=meta)
            genesis = fetch(txn, b"genesis", db=meta)
            schema = fetch(txn, b"schema", db=meta)
        if magic is None:
            if not self._create:
                raise StoreError(f"{self.store.path}: no chain store here (it holds no chain)")
            self.store.write(self._initialize)
        elif read_u32(magic) != self.settings.magic or genesis != self.genesis.hash:
            raise StoreError(
                f"{self.store.path}: this data directory belongs to another network "
                f"(magic {read_u32(magic)}, genesis {UInt256(genesis or bytes(32))}), "
                f"not to magic {self.settings.magic}, genesis {self.genesis.hash}")
        elif schema is None or not 1 <= read_u32(schema) <= SCHEMA_VERSION:
            raise StoreError(f"{self.store.path}: unknown store schema version "
                             f"{'none' if schema is None else read_u32(schema)} (this node "
                             f"reads 1 to {SCHEMA_VERSION})")
        with self.store.read() as txn:
            self.header_height = read_u32(fetch(txn, b"header_height", db=meta) or bytes(4))
            self.block_height = read_u32(fetch(txn, b"block_height", db=meta) or bytes(4))
            verified = fetch(txn, b"verified_height", db=meta)
            tip = self.read_header_at(txn, self.header_height)
        if tip is None:
            raise StoreError(f"{self.store.path}: damaged: header {self.header_height} is missing")
        self._tip = tip
        #: Headers up to here are vouched for (witness checked, or an ancestor of the
        #: assume-valid block), so their blocks may be taken; the ones above it, taken
        #: on trust while syncing up to that block, are I{provisional}: no block of
        #: theirs is taken. It equals the header height but while those exist.
        self.verified_height = self.header_height if verified is None else read_u32(verified)
        if (self._drop_provisional_at_open and self.verified_height < self.header_height
                and not self._provisional_allowed()):
            dropped = self._drop_provisional()
            self._log.warn("dropped {count} unverified headers above {height}: the "
                           "assume-valid setting they were taken under has changed",
                           count=dropped, height=self.header_height)
        self._fee_total = self.system_fee_total(self.block_height)
        version = SCHEMA_VERSION if schema is None else read_u32(schema)
        if version == 1:
            self._log.info("upgrading the chain store from schema 1: counting votes")
            upgrade_to_votes(self)
        if version < 3:
            self._log.info("upgrading the chain store from schema {version}: indexing "
                           "coins by account", version=max(version, 2))
            upgrade_to_accounts(self.store)
        with self.store.read() as txn:
            self.validators.load(txn, self._dbs)

    def _initialize(self, txn: lmdb.Transaction) -> None:
        meta = self._dbs["meta"]
        txn.put(b"magic", u32(self.settings.magic), db=meta)
        txn.put(b"genesis", self.genesis.hash, db=meta)
        txn.put(b"schema", u32(SCHEMA_VERSION), db=meta)
        self._put_header(txn, self.genesis.header)
        StateWriter(txn, self._dbs, self.settings.system_fees,
                    votes=self.validators.begin(txn, self._dbs).book).apply(self.genesis, 0)
        txn.put(b"header_height", u32(0), db=meta)
        txn.put(b"block_height", u32(0), db=meta)

    # -- blocks ---------------------------------------------------------------------------

    def add_block(self, block: Block) -> BlockResult:
        return self.add_blocks([block])[0]

    def add_blocks(self, blocks: Iterable[Block]) -> list[BlockResult]:
        """
        C{OnNewBlock} for a batch: verify the headers the batch adds (witnesses through
        the mapper), then persist every block that is next in line, in one write
        transaction. Blocks that arrived early wait; each time the chain grows, the
        waiting ones that are now next go through the same checks.
        """
        results = self._add_round(list(blocks))
        while self._pending:
            height = self.block_height
            run = []
            index = self.block_height + 1
            while index in self._pending:
                run.append(self._pending.pop(index))
                index += 1
            if not run:
                break
            self._add_round(run)
            if self.block_height == height:
                break
        return results

    def _add_round(self, blocks: list[Block]) -> list[BlockResult]:
        results: list[BlockResult | None] = []
        new_headers: list[Header] = []
        ready: list[tuple[int, Block]] = []
        for block in blocks:
            tip = new_headers[-1] if new_headers else self._tip
            results.append(self._classify(block, tip, new_headers, ready, len(results)))
        ready, new_headers = self._check_new_header_witnesses(new_headers, ready, results)
        self._persist(ready, new_headers, results)
        return [r if r is not None else BlockResult(Verdict.ACCEPTED) for r in results]

    def _classify(self, block: Block, tip: Header, new_headers: list[Header],
                  ready: list[tuple[int, Block]], position: int) -> BlockResult | None:
        """
        The verdict that needs no signature check, or None when the block goes on.
        """
        index = block.index
        if index <= self.block_height:
            return BlockResult(Verdict.ALREADY_EXISTS)
        waiting = self._pending.get(index)
        if waiting is not None and waiting.hash == block.hash:
            return BlockResult(Verdict.ALREADY_EXISTS)
        problem = block.problem()
        if problem is not None:
            return BlockResult(Verdict.INVALID, problem)
        if self.verified_height < self.header_height and index > self.verified_height:
            return BlockResult(Verdict.UNABLE_TO_VERIFY,
                               f"it is above the verified height {self.verified_height} (headers"
                               " are taken on trust up to the assume-valid block)")
        if index > tip.index + 1:
            if waiting is None and len(self._pending) >= MAX_PENDING_BLOCKS:
                return BlockResult(Verdict.UNABLE_TO_VERIFY, "the early-block buffer is full")
            self._pending[index] = block  # a newer block at the same height replaces it
            return BlockResult(Verdict.UNABLE_TO_VERIFY, "its header is not known yet")
        if index == tip.index + 1:
            problem = linkage_problem(block.header, tip)
            if problem is not None:
                return BlockResult(Verdict.INVALID, problem)
            new_headers.append(block.header)
        else:
            known = (new_headers[index - self.header_height - 1].hash
                     if index > self.header_height else self.get_block_hash(index))
            if known != block.hash:
                return BlockResult(Verdict.INVALID, f"block {index} is not the known header")
        ready.append((position, block))
        return None

    def _check_new_header_witnesses(self, new_headers: list[Header],
                                    ready: list[tuple[int, Block]],
                                    results: list[BlockResult | None],
                                    ) -> tuple[list[tuple[int, Block]], list[Header]]:
        """
        Check the witnesses of the headers a round adds; reject the blocks from the first
        failure on. Returns the blocks still going on and the headers to append.
        """
        previous = [self._tip, *new_headers][: len(new_headers)]
        jobs = [witness_job(h, p) for h, p in zip(new_headers, previous, strict=True)]
        for i, ok in enumerate(self._mapper(check_witness, jobs)):
            if not ok:
                failed = new_headers[i].index
                self._reject_from(failed, "witness does not verify", ready, results,
                                  forged=True)
                return ([(p, b) for p, b in ready if b.index < failed], new_headers[:i])
        return ready, new_headers

    @staticmethod
    def _reject_from(failed: int, reason: str, blocks: list[tuple[int, Block]],
                     results: list[BlockResult | None], *, forged: bool = False) -> None:
        for position, block in blocks:
            if block.index == failed:
                results[position] = BlockResult(Verdict.INVALID, reason, forged)
            elif block.index > failed:
                results[position] = BlockResult(
                    Verdict.INVALID, f"follows block {failed}, which was rejected")

    def _persist(self, ready: list[tuple[int, Block]], headers: list[Header],
                 results: list[BlockResult | None]) -> None:
        """
        Append C{headers} and persist the blocks now next in line, in one write transaction;
        ready blocks further ahead wait. A block whose state cannot be applied is rejected
        with everything after it, and the rest is written again without them.
        """
        by_index = {block.index: block for _, block in ready}
        run: list[Block] = []
        index = self.block_height + 1
        while index in by_index:
            run.append(by_index.pop(index))
            index += 1
        for block in by_index.values():
            self._pending[block.index] = block
        if not run and not headers:
            return
        try:
            self._write(run, headers)
        except _ApplyError as failure:
            self._reject_from(failure.index, failure.reason, ready, results)
            for block in run:
                self._pending.pop(block.index, None)
            self._write([b for b in run if b.index < failure.index],
                        [h for h in headers if h.index < failure.index])

    def _write(self, run: list[Block], headers: list[Header]) -> None:
        if not run and not headers:
            return
        fees = self.settings.system_fees
        header_height = headers[-1].index if headers else self.header_height

        def batch(txn: lmdb.Transaction) -> tuple[int, VoteBatch]:
            # Headers and blocks land all over the store (keys are hashes): without a
            # bound on the resident map, a long batch would map the whole file.
            for count, header in enumerate(headers, 1):
                self._put_header(txn, header)
                if count % TRIM_EVERY_HEADERS == 0:
                    self.store.trim_mapped_pages()
            votes = self.validators.begin(txn, self._dbs)
            writer = StateWriter(txn, self._dbs, fees, batched=True, votes=votes.book)
            total = self._fee_total
            for block in run:
                try:
                    total = writer.apply(block, total)
                except LedgerStateError as e:
                    raise _ApplyError(block.index, str(e)) from e
                self.validators.block_written(votes, block)
                self.store.trim_mapped_pages()
            writer.flush()
            meta = self._dbs["meta"]
            txn.put(b"header_height", u32(header_height), db=meta)
            if headers:  # no provisional headers here: blocks above them are refused
                txn.put(b"verified_height", u32(header_height), db=meta)
            if run:
                txn.put(b"block_height", u32(run[-1].index), db=meta)
            return total, votes

        self._fee_total, votes = self.store.write(batch)
        if run:
            records = sum(write_cost(block) for block in run) + 2 * len(headers)
            self.write_budget.observe(records, self.store.last_written)
        self.validators.commit(votes)
        self.store.trim_mapped_pages()
        if headers:
            self._tip = headers[-1]
            self.verified_height = header_height
        self.header_height = header_height
        if run:
            self.block_height = run[-1].index

    # -- validators -----------------------------------------------------------------------

    def validators_after(self, transactions: Sequence[Transaction]) -> tuple[ECPoint, ...]:
        """
        C{GetValidators(transactions)}: who would validate the block after one holding
        C{transactions} on top of the tip (a proposal's C{NextConsensus}).
        """
        with self.store.read() as txn:
            return self.validators.validators_after(txn, self._dbs, transactions)

    def stats(self) -> Mapping[str, int]:
        return {"header_height": self.header_height, "block_height": self.block_height,
                "pending_blocks": len(self._pending)}
