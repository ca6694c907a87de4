# -*- test-case-name: tests.unit.test_ledger_validators -*-
"""
The validators of the next block, kept up to date as blocks are written, and the
C{NextConsensus} check (neo2-validators.md sections 1 and 7.1).

The ledger writes blocks in batches inside one LMDB write transaction; a batch
changes a copy of the vote state (L{VoteBatch}) that replaces the kept one only
once the transaction has committed, so a batch rolled back or run again leaves
nothing behind. Readers on other threads see one kept state or the next, never
half of one.

A block whose C{NextConsensus} is not the computed one is logged and counted,
never refused: nobody checks that field when accepting a block, blocks before
2.6 were made by other rules, and 2.6-2.10 and 2.11+ nodes count validators by
two formulas (section 5.2), so either formula's address is taken as a match.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import lmdb
from twisted.logger import Logger

from neo_twisted.core.block import Block
from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.jsonify import JSON
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import NEO_ASSET_ID
from neo_twisted.ledger.election import enrollments
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.state import read_i64
from neo_twisted.ledger.store import Databases, coin_key, fetch
from neo_twisted.ledger.votes import Election, NeoBalances, VoteBook
from neo_twisted.ledger.votestore import load_book, read_votes
from neo_twisted.wire.binary import BinaryReader
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160

__all__ = ["Mismatch", "ValidatorTracker", "VoteBatch"]


@attrs.frozen
class Mismatch:
    """
    A block whose C{NextConsensus} is neither formula's consensus address.
    """

    index: int
    found: UInt160
    expected: UInt160


@attrs.define
class VoteBatch:
    """
    The vote state a write batch changes, and what it found.
    """

    book: VoteBook
    election: Election
    elected_at: int = 0
    mismatches: list[Mismatch] = attrs.Factory(list)


class ValidatorTracker:
    """
    The kept vote state and its election, for one ledger.

    @ivar mismatches: blocks since start whose C{NextConsensus} did not match.
    """

    _log = Logger()

    def __init__(self, settings: ProtocolSettings) -> None:
        self._standby = settings.standby_validators
        self._plus_one = settings.validator_count_plus_one
        book = VoteBook()
        #: The kept state and its election, replaced together (readers on other
        #: threads take both from one tuple).
        self._kept = (book, self._elect(book))
        self.mismatches = 0
        self.last_mismatch: Mismatch | None = None
        self._last_logged: tuple[UInt160, UInt160] | None = None

    def _elect(self, book: VoteBook) -> Election:
        return book.election(self._standby, plus_one=self._plus_one)

    def load(self, txn: lmdb.Transaction, dbs: Databases) -> None:
        book = load_book(txn, dbs).committed()
        self._kept = (book, self._elect(book))

    @property
    def next_validators(self) -> tuple[ECPoint, ...]:
        """
        C{GetValidators()} after the persisted tip: who signs the next block.
        """
        return self._kept[1].validators

    @property
    def election(self) -> Election:
        return self._kept[1]

    def enrollments(self) -> list[JSON]:
        """
        RPC C{getvalidators}'s list (section 8).
        """
        book, election = self._kept
        return enrollments(book.candidates(), self._standby, election.validators)

    # -- writing --------------------------------------------------------------------------

    def begin(self, txn: lmdb.Transaction, dbs: Databases) -> VoteBatch:
        """
        A copy of the kept state for a write batch, reading accounts through C{txn}.
        """
        book, election = self._kept
        return VoteBatch(book.copy(lambda script_hash: read_votes(txn, dbs, script_hash)),
                         election)

    def block_written(self, batch: VoteBatch, block: Block) -> None:
        """
        After C{block} was applied in C{batch}: elect again if the votes changed, and
        compare the block's C{NextConsensus}.
        """
        if batch.book.revision != batch.elected_at:
            batch.election = self._elect(batch.book)
            batch.elected_at = batch.book.revision
        if block.header.next_consensus not in batch.election.addresses:
            batch.mismatches.append(Mismatch(block.index, block.header.next_consensus,
                                             batch.election.address))

    def commit(self, batch: VoteBatch) -> None:
        """
        The batch's transaction committed: its state is the kept one now.
        """
        book = batch.book.committed()
        book.revision = 0
        self._kept = (book, batch.election)
        for mismatch in batch.mismatches:
            # a chain whose set we cannot reproduce would say so at every block: the
            # warning comes once per pair of addresses, every block is counted
            pair = (mismatch.found, mismatch.expected)
            log = self._log.debug if pair == self._last_logged else self._log.warn
            self._last_logged = pair
            log("block {index}: NextConsensus {found} is not the consensus address "
                "{expected} of the validators elected by the votes (the block is "
                "accepted: it may follow rules of before 2.6, or ones this node does not "
                "know)", index=mismatch.index, found=mismatch.found,
                expected=mismatch.expected)
        if batch.mismatches:
            self.mismatches += len(batch.mismatches)
            self.last_mismatch = batch.mismatches[-1]

    # -- proposals ------------------------------------------------------------------------

    def validators_after(self, txn: lmdb.Transaction, dbs: Databases,
                         transactions: Sequence[Transaction]) -> tuple[ECPoint, ...]:
        """
        C{GetValidators(transactions)}: the validators after the tip and then
        C{transactions} (a proposal's NextConsensus). An input that spends nothing
        known is skipped: the proposal is refused for it elsewhere.
        """
        kept, election = self._kept
        book = kept.copy(lambda script_hash: read_votes(txn, dbs, script_hash))
        created: dict[bytes, TransactionOutput] = {}

        def stored(script_hash: bytes) -> int:
            raw = fetch(txn, script_hash + NEO_ASSET_ID, db=dbs["balance"])
            return 0 if raw is None else read_i64(raw)

        neo = NeoBalances(stored)
        for tx in transactions:
            spent = []
            for ref in tx.inputs:
                key = coin_key(ref.prev_hash, ref.prev_index)
                output = created.pop(key, None)
                if output is None:
                    raw = fetch(txn, key, db=dbs["unspent"])
                    output = None if raw is None else TransactionOutput.read(BinaryReader(raw))
                if output is not None:
                    spent.append(output)
            txid = tx.hash
            for n, output in enumerate(tx.outputs):
                created[coin_key(txid, n)] = output
            neo.move(tx, spent)
            book.apply(tx, spent, neo)
        if book.revision == 0:
            return election.validators
        return book.elect(self._standby, plus_one=self._plus_one)

