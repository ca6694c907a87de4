# -*- test-case-name: tests.unit.test_consensus_context -*-
"""
One consensus round as plain data: what the reference calls C{ConsensusContext}.

The state is the reference's set of flags; which message a state ignores is
spelled out in L{ignored}, so each illegal message in a state is a visible
case. The transitions (L{ConsensusContext.reset}, L{ConsensusContext.change_view})
and what is built from a round (its header, its block) are pure: the service
owns the timers, the keys and the network.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from neo_twisted.core.block import Block, Header
from neo_twisted.core.components import Witness
from neo_twisted.core.consensus import (
    ChangeView,
    ConsensusMessage,
    ConsensusPayload,
    PrepareRequest,
)
from neo_twisted.core.jsonify import JSON
from neo_twisted.core.merkle import merkle_root
from neo_twisted.core.transaction import Transaction
from neo_twisted.crypto.ecdsa import load_public_key, verify_signature
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.crypto.scripts import bft_threshold, multisig_redeem_script, push_data
from neo_twisted.mempool.pool import PoolEntry
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160, UInt256

if TYPE_CHECKING:
    from neo_twisted.consensus.proposal import Proposal

#: The highest view a round can reach (the view number is one byte on the wire).
MAX_VIEW = 255


class ConsensusState(enum.Flag):
    """
    C{ConsensusState}: a round's role and progress.
    """

    INITIAL = 0
    PRIMARY = 0x01
    BACKUP = 0x02
    REQUEST_SENT = 0x04
    REQUEST_RECEIVED = 0x08
    SIGNATURE_SENT = 0x10
    BLOCK_SENT = 0x20
    VIEW_CHANGING = 0x40


def ignored(state: ConsensusState, message: ConsensusMessage, from_primary: bool) -> str | None:
    """
    Why a message that belongs to this round is ignored in C{state}, or None.
    """
    if ConsensusState.BLOCK_SENT in state:
        return "the block of this round is already made"
    if isinstance(message, PrepareRequest):
        if ConsensusState.REQUEST_RECEIVED in state:
            return "a proposal was already received"
        if not from_primary:
            return "a proposal from a validator that is not the primary"
        if ConsensusState.BACKUP not in state:
            return "a proposal sent to the primary"
    return None


def primary_index(block_index: int, view: int, count: int) -> int:
    """
    C{GetPrimaryIndex}: (BlockIndex - view) mod N, never negative.
    """
    return (block_index - view) % count


def sign_payload(payload: ConsensusPayload, key: KeyPair) -> ConsensusPayload:
    """
    C{payload} with C{key}'s single-signature witness.
    """
    signature = key.sign(payload.unsigned_bytes())
    return attrs.evolve(payload, witness=Witness(invocation_script=push_data(signature),
                                                 verification_script=key.verification_script))


def signature_valid(message: bytes, signature: bytes, key: ECPoint) -> bool:
    public_key = load_public_key(key.encode())
    return public_key is not None and verify_signature(public_key, message, signature)


@attrs.define
class ConsensusContext:
    """
    The round for block C{block_index} on top of C{prev_hash}, at view C{view}.

    @ivar my_index: this node's index among the validators, -1 when it is none of them.
    @ivar signatures: per validator, its signature of the proposed header, if known.
    @ivar expected_view: per validator, the view it asked to change to.
    @ivar transactions: the proposal's transactions at hand, the MinerTransaction included.
    @ivar entries: the others as the pool verified them (their network fees).
    """

    validators: tuple[ECPoint, ...]
    my_index: int
    prev_hash: UInt256
    prev_timestamp: int
    block_index: int
    view: int = 0
    state: ConsensusState = ConsensusState.INITIAL
    primary_index: int = 0
    timestamp: int = 0
    nonce: int = 0
    next_consensus: UInt160 = attrs.field(factory=lambda: UInt160(bytes(20)))
    transaction_hashes: tuple[UInt256, ...] | None = None
    transactions: dict[UInt256, Transaction] = attrs.field(factory=dict)
    entries: dict[UInt256, PoolEntry] = attrs.field(factory=dict)
    signatures: list[bytes | None] = attrs.field(factory=list)
    expected_view: list[int] = attrs.field(factory=list)

    @classmethod
    def start(cls, validators: Sequence[ECPoint], my_key: ECPoint | None,
              tip: Header) -> ConsensusContext:
        """
        C{Reset}: view 0 of the round for the block after C{tip}.
        """
        ordered = tuple(validators)
        count = len(ordered)
        my_index = ordered.index(my_key) if my_key in ordered else -1
        block_index = tip.index + 1
        return cls(validators=ordered, my_index=my_index, prev_hash=tip.hash,
                   prev_timestamp=tip.timestamp, block_index=block_index,
                   primary_index=primary_index(block_index, 0, count),
                   signatures=[None] * count, expected_view=[0] * count)

    @property
    def count(self) -> int:
        return len(self.validators)

    @property
    def m(self) -> int:
        return bft_threshold(self.count)

    @property
    def is_primary(self) -> bool:
        return self.my_index == self.primary_index

    @property
    def signature_count(self) -> int:
        return sum(1 for signature in self.signatures if signature is not None)

    def change_view(self, view: int) -> None:
        """
        C{ChangeView}: move to C{view}; a node that signed keeps its proposal and signatures.
        """
        self.state &= ConsensusState.SIGNATURE_SENT
        self.view = view
        self.primary_index = primary_index(self.block_index, view, self.count)
        if self.state == ConsensusState.INITIAL:
            self.transaction_hashes = None
            self.signatures = [None] * self.count
        if self.my_index >= 0:
            self.expected_view[self.my_index] = view

    def propose(self, timestamp: int, proposal: Proposal, entries: Sequence[PoolEntry],
                key: KeyPair) -> None:
        """
        The primary's proposal becomes the round's, signed by us.
        """
        self.take_proposal(timestamp, proposal.nonce, proposal.next_consensus,
                           proposal.hashes, proposal.miner)
        for entry in entries:
            self.add_entry(entry)
        header = self.header()
        assert header is not None
        self.signatures[self.my_index] = key.sign(header.unsigned_bytes())

    def take_proposal(self, timestamp: int, nonce: int, next_consensus: UInt160,
                      hashes: tuple[UInt256, ...], miner: Transaction) -> None:
        """
        A proposal's fields become the round's (the primary's own, or a received one).
        """
        self.timestamp = timestamp
        self.nonce = nonce
        self.next_consensus = next_consensus
        self.transaction_hashes = hashes
        self.transactions = {miner.hash: miner}
        self.entries = {}

    def add_entry(self, entry: PoolEntry) -> None:
        self.entries[entry.tx.hash] = entry
        self.transactions[entry.tx.hash] = entry.tx

    @property
    def miner(self) -> Transaction:
        assert self.transaction_hashes is not None
        return self.transactions[self.transaction_hashes[0]]

    def header(self) -> Header | None:
        """
        C{MakeHeader}: the unsigned header of the proposal, None before there is one.
        """
        if self.transaction_hashes is None:
            return None
        return Header(prev_hash=self.prev_hash, merkle_root=merkle_root(self.transaction_hashes),
                      timestamp=self.timestamp, index=self.block_index,
                      consensus_data=self.nonce, next_consensus=self.next_consensus)

    def has_all_transactions(self) -> bool:
        hashes = self.transaction_hashes
        return hashes is not None and all(h in self.transactions for h in hashes)

    def missing_transactions(self) -> list[UInt256]:
        hashes = self.transaction_hashes or ()
        return [h for h in hashes if h not in self.transactions]

    def drop_invalid_signatures(self, message: bytes) -> None:
        """
        Forget the signatures that came before the proposal and do not sign its header.
        """
        for i, signature in enumerate(self.signatures):
            if signature is not None and not signature_valid(message, signature,
                                                             self.validators[i]):
                self.signatures[i] = None

    def block(self) -> Block:
        """
        C{CreateBlock}: the header with the first M signatures in validator order, and
        the transactions in the proposal's order.
        """
        header = self.header()
        assert header is not None and self.transaction_hashes is not None
        chosen = [s for s in self.signatures if s is not None][: self.m]
        witness = Witness(invocation_script=b"".join(push_data(s) for s in chosen),
                          verification_script=multisig_redeem_script(self.m, self.validators))
        return Block(header=attrs.evolve(header, witness=witness),
                     transactions=tuple(self.transactions[h] for h in self.transaction_hashes))

    def change_view_message(self) -> ChangeView:
        assert self.my_index >= 0
        return ChangeView(view_number=self.view,
                          new_view_number=self.expected_view[self.my_index])

    def payload(self, message: ConsensusMessage, timestamp: int) -> ConsensusPayload:
        """
        C{MakePayload}: our unsigned payload of C{message} for this round.
        """
        return ConsensusPayload(prev_hash=self.prev_hash, block_index=self.block_index,
                                validator_index=self.my_index, timestamp=timestamp,
                                data=message.to_bytes())

    def block_out_of_reach(self) -> bool:
        """
        Whether this view's block can no longer get M signatures: more than N - M others
        asked to leave the view, and a validator that asked never signs it.
        """
        leaving = sum(1 for i, view in enumerate(self.expected_view)
                      if i != self.my_index and view > self.view)
        return leaving > self.count - self.m

    def view_to_join(self) -> int | None:
        """
        When more than f others ask for views beyond ours, the lowest of those f + 1: at
        least one honest validator wants it, so asking for it too beats climbing one
        timeout at a time (the PBFT rule; the reference lacks it, which keeps a validator
        that rejoins out of the round for minutes). None otherwise.
        """
        me = self.my_index
        ahead = sorted((v for i, v in enumerate(self.expected_view)
                        if i != me and v > self.expected_view[me]), reverse=True)
        faults = self.count - self.m
        return ahead[faults] if len(ahead) > faults else None

    def summary(self, block: UInt256, seconds: float) -> JSON:
        """
        A finished round, for the operator: its height, final view, primary, length,
        whether we made its block, and the block.
        """
        return {"height": self.block_index, "view": self.view, "primary": self.primary_index,
                "seconds": round(seconds, 3), "ours": ConsensusState.BLOCK_SENT in self.state,
                "block": str(block)}

    def describe(self) -> JSON:
        """
        The round as an operator reads it (part of RPC C{getconsensusstate}).
        """
        hashes = self.transaction_hashes
        return {
            "index": self.my_index,
            "height": self.block_index,
            "view": self.view,
            "primary": self.primary_index,
            "state": [flag.name.lower() for flag in ConsensusState
                      if flag and flag in self.state and flag.name is not None],
            "signatures": self.signature_count,
            "needed": self.m,
            "expectedviews": list(self.expected_view),
            "transactions": None if hashes is None else len(hashes),
            "missing": None if hashes is None else len(self.missing_transactions()),
        }

    def views_agreeing(self, view: int) -> int:
        return sum(1 for v in self.expected_view if v == view)
