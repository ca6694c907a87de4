# -*- test-case-name: tests.unit.test_consensus_network,tests.unit.test_consensus_startup -*-
"""
dBFT 1.0 for a validator node: the reference's C{ConsensusService}, on Twisted.

A round starts for the block after our tip each time blocks are persisted
(view 0) and again at each view change. The primary proposes when
SecondsPerBlock has passed since the last block arrived; backups check the
proposal and sign it; whoever holds M signatures first makes the block and
hands it to the node, which adds and relays it like any new block. A backup
that sees no block in time (SecondsPerBlock << (view + 1)) asks for the next
view; M validators asking for one view move the round there. Every timer runs
on the injected clock. Payloads come from L{neo_twisted.node.consensus} already
checked (height, validator, signature); ours go out through it too.

Two rules the reference lacks keep two blocks from being made at one height (a
local network under load made such forks): a validator that asked to leave a
view never signs that view's block; one that signed it asks to leave only once
more than N - M others did, when the block can no longer get M signatures.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from twisted.application import service
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from neo_twisted.consensus.context import (
    MAX_VIEW,
    ConsensusContext,
    ConsensusState,
    ignored,
    sign_payload,
    signature_valid,
)
from neo_twisted.consensus.proposal import (
    choose,
    make_proposal,
    proposal_problem,
)
from neo_twisted.consensus.report import round_status
from neo_twisted.consensus.startup import StartupHold
from neo_twisted.core.block import Block
from neo_twisted.core.consensus import (
    ChangeView,
    ConsensusMessage,
    ConsensusPayload,
    PrepareRequest,
    PrepareResponse,
)
from neo_twisted.core.jsonify import JSON
from neo_twisted.core.transaction import Transaction
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.chain import BlockResult, Verdict
from neo_twisted.mempool.pool import PoolEntry
from neo_twisted.network.payloads import InventoryType
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.errors import FormatError

if TYPE_CHECKING:
    from neo_twisted.node.policy import Node
    from neo_twisted.p2p.interfaces import IPeer

#: A proposal's timestamp may be this far ahead of our clock, at most.
MAX_CLOCK_AHEAD = 600
#: Timer exponents stop growing here (SecondsPerBlock << 20 is months).
MAX_TIMER_SHIFT = 20
#: Finished rounds remembered for L{ConsensusService.status}.
RECENT_ROUNDS = 10

_S = ConsensusState


class ConsensusService(service.Service):
    """
    Runs rounds as validator C{key} of the node's chain.

    @ivar context: the current round (None before the service starts).
    @ivar blocks_made: blocks this node assembled from M signatures.
    @ivar recent: the last rounds, newest last: height, final view, primary, seconds
        taken and whether this node made the block.
    """

    _log = Logger()
    name = "consensus"

    def __init__(self, node: Node, key: KeyPair, clock: IReactorTime, *,
                 rng: random.Random | None = None) -> None:
        self._node = node
        self._key = self.key = key
        self._clock = clock
        self._rng = rng if rng is not None else random.SystemRandom()
        self._policy = node.ledger.settings.policy
        self._seconds = node.ledger.settings.seconds_per_block
        self.context: ConsensusContext | None = None
        self._timer: IDelayedCall | None = None
        self._block_received = 0.0
        self.round_started = 0.0
        self.blocks_made = 0
        self.recent: deque[JSON] = deque(maxlen=RECENT_ROUNDS)
        self._listening = False
        self._hold = StartupHold(clock)

    # -- lifecycle ---------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped
        validators = self._next_validators()
        if self._key.public_key not in validators:
            self._log.warn("consensus: {key} is not one of the {count} validators of the "
                           "next block; this node relays, and takes part once elected",
                           key=self._key.public_key, count=len(validators))
        self._node.consensus.listener = self._payload_received
        if not self._listening:  # the node and the pool keep listeners for good
            self._listening = True
            self._node.add_block_listener(self._blocks_persisted)
            if self._node.mempool is not None:
                self._node.mempool.add_listener(self._transactions_accepted)
        self._block_received = self._clock.seconds()
        self._hold = StartupHold(self._clock)
        self._initialize(0)

    def stopService(self) -> None:
        self._cancel_timer()
        if self._node.consensus.listener == self._payload_received:
            self._node.consensus.listener = None
        super().stopService()  # type: ignore[no-untyped-call]

    # -- rounds and timers -------------------------------------------------------------------

    def _initialize(self, view: int) -> None:
        """
        C{InitializeConsensus}: view 0 of a new round, or view C{view} of this one.
        """
        now = self._clock.seconds()
        if view == 0 or self.context is None:
            ledger = self._node.ledger.ledger
            if ledger is None:
                return
            tip = ledger.get_header(ledger.block_height)
            assert tip is not None
            # the round's validators: elected by the votes up to the tip (issue 22)
            self.context = ConsensusContext.start(ledger.validators.next_validators,
                                                  self._key.public_key, tip)
            self.round_started = now
        else:
            self.context.change_view(view)
        ctx = self.context
        if ctx.my_index < 0:
            return
        if ctx.is_primary:
            ctx.state |= _S.PRIMARY
            delay = max(0.0, self._seconds - (now - self._block_received))
        else:
            ctx.state = _S.BACKUP
            delay = self._view_timeout(view)
        log = self._log.debug if self._behind() else self._log.info  # quiet while syncing
        log("consensus height {height} view {view}: primary {primary}, we are {role} {index}",
            height=ctx.block_index, view=ctx.view, primary=ctx.primary_index,
            index=ctx.my_index, role="primary" if ctx.is_primary else "backup")
        self._arm(delay)
        for payload in self._node.consensus.for_block(ctx.block_index):
            if self.context is not ctx or ctx.view != view:
                break  # a replayed payload moved the round on
            self._payload_received(payload)

    def _view_timeout(self, view: int) -> float:
        return float(self._seconds << min(view + 1, MAX_TIMER_SHIFT))

    def _arm(self, delay: float) -> None:
        self._cancel_timer()
        ctx = self.context
        assert ctx is not None
        self._timer = self._clock.callLater(delay, self._timed_out, ctx.block_index, ctx.view)

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _timed_out(self, block_index: int, view: int) -> None:
        ctx = self.context
        self._timer = None
        if ctx is None or (ctx.block_index, ctx.view) != (block_index, view):
            return
        if _S.BLOCK_SENT in ctx.state:
            return  # our block is out: the round ends when it is persisted, not by a view
        if _S.PRIMARY in ctx.state and _S.REQUEST_SENT not in ctx.state:
            if self._behind():
                self._log.info("consensus height {height}: syncing; proposing once synced",
                               height=ctx.block_index)
                self._arm(float(self._seconds))
                return
            self._send_proposal()
        elif _S.SIGNATURE_SENT in ctx.state and not ctx.block_out_of_reach():
            self._signed_and_waiting()
        elif _S.PRIMARY in ctx.state or _S.BACKUP in ctx.state:
            self._request_change_view()

    def _signed_and_waiting(self) -> None:
        """
        We signed this view's block and it has not come: send our signature (or proposal)
        again rather than ask to move on (see the module's docstring).
        """
        ctx = self.context
        assert ctx is not None
        self._log.info("consensus height {height} view {view}: signed, waiting for the "
                       "block; sending our signature again", height=ctx.block_index,
                       view=ctx.view)
        if _S.PRIMARY in ctx.state:
            self._send_proposal()
            return
        signature = ctx.signatures[ctx.my_index]
        assert signature is not None
        self._send(PrepareResponse(view_number=ctx.view, signature=signature))
        self._arm(self._view_timeout(ctx.view))

    def _blocks_persisted(self, blocks: list[Block]) -> None:
        """
        C{PersistCompleted}: the round is over, whoever made its block.
        """
        ctx = self.context
        if not self.running or ctx is None or blocks[-1].index < ctx.block_index:
            return
        now = self._clock.seconds()
        if ctx.my_index >= 0 and blocks[-1].index == ctx.block_index:
            self._log.info("consensus height {height} done at view {view}: block {hash} "
                           "persisted", height=ctx.block_index, view=ctx.view,
                           hash=blocks[-1].hash)
            self.recent.append(ctx.summary(blocks[-1].hash, now - self.round_started))
        self._block_received = now
        self._initialize(0)

    def _request_change_view(self, view: int | None = None) -> None:
        """
        C{RequestChangeView}: ask for the next view (or for C{view}) and wait twice as
        long for it.
        """
        ctx = self.context
        assert ctx is not None
        ctx.state |= _S.VIEW_CHANGING
        me = ctx.my_index
        if ctx.expected_view[me] >= MAX_VIEW:
            self._arm(self._view_timeout(MAX_VIEW))
            return
        wanted = ctx.expected_view[me] + 1 if view is None else view
        ctx.expected_view[me] = wanted
        self._log.info("consensus height {height} view {view}: no block in time, asking for "
                       "view {wanted}", height=ctx.block_index, view=ctx.view, wanted=wanted)
        self._arm(self._view_timeout(wanted))
        self._send(ctx.change_view_message())
        self._check_expected_view(wanted)

    def _check_expected_view(self, view: int) -> None:
        ctx = self.context
        assert ctx is not None
        if ctx.view != view and ctx.views_agreeing(view) >= ctx.m:
            self._initialize(view)

    # -- what we send ------------------------------------------------------------------------

    def _send(self, message: ConsensusMessage) -> None:
        """
        C{SignAndRelay}: wrap, sign and send one message of ours to every peer.
        """
        ctx = self.context
        assert ctx is not None
        timestamp = ctx.timestamp or max(int(self._clock.seconds()), ctx.prev_timestamp + 1)
        payload = sign_payload(ctx.payload(message, timestamp), self._key)
        self._node.consensus.send_own(payload)

    def _send_proposal(self) -> None:
        """
        The primary's turn: fill and sign a proposal (or re-send the one it signed).
        """
        ctx = self.context
        assert ctx is not None
        ctx.state |= _S.REQUEST_SENT
        if _S.SIGNATURE_SENT not in ctx.state:
            entries = []
            if self._node.mempool is not None:
                entries = choose(self._node.mempool.pool, self._policy)
            proposal = make_proposal(entries, self._validators_after(entries),
                                     self._key.script_hash, self._on_chain, self._rng)
            ctx.propose(max(int(self._clock.seconds()), ctx.prev_timestamp + 1), proposal,
                        entries, self._key)
            ctx.state |= _S.SIGNATURE_SENT  # the proposal carries our signature
        hashes = ctx.transaction_hashes
        signature = ctx.signatures[ctx.my_index]
        assert hashes is not None and signature is not None
        self._log.info("consensus height {height} view {view}: proposing {count} transactions",
                       height=ctx.block_index, view=ctx.view, count=len(hashes) - 1)
        self._send(PrepareRequest(view_number=ctx.view, nonce=ctx.nonce,
                                  next_consensus=ctx.next_consensus, transaction_hashes=hashes,
                                  miner_transaction=ctx.miner, signature=signature))
        if len(hashes) > 1:
            self._node.relay_many(InventoryType.TX, hashes[1:], None)
        self._arm(self._view_timeout(ctx.view))
        self._check_signatures()

    def _next_validators(self) -> tuple[ECPoint, ...]:
        ledger = self._node.ledger.ledger
        return () if ledger is None else ledger.validators.next_validators

    def _validators_after(self, entries: Sequence[PoolEntry]) -> tuple[ECPoint, ...]:
        """
        The validators after a proposal's transactions (its C{NextConsensus}).
        """
        ledger = self._node.ledger.ledger
        assert ledger is not None  # rounds only run with a ledger
        return ledger.validators_after([entry.tx for entry in entries])

    def _behind(self) -> bool:
        """
        Whether syncing, or just started and not yet heard from peers: a block made on
        our tip could fork a chain past it (L{Node.syncing}, L{StartupHold}).
        """
        return self._node.syncing or self._hold.reason(self._node) is not None

    def _on_chain(self, txid: bytes) -> bool:
        ledger = self._node.ledger.ledger
        return ledger is not None and ledger.has_transaction(txid)

    # -- what we receive ---------------------------------------------------------------------

    def _payload_received(self, payload: ConsensusPayload) -> None:
        """
        C{OnConsensusPayload}: one checked payload; anything not for this round is ignored.
        """
        ctx = self.context
        if not self.running or ctx is None or ctx.my_index < 0:
            return
        index = payload.validator_index
        if (index == ctx.my_index or payload.version != 0 or index >= ctx.count
                or payload.prev_hash != ctx.prev_hash or payload.block_index != ctx.block_index):
            return
        try:
            message = payload.message()
        except FormatError as error:
            self._log.debug("validator {index}: unreadable consensus message: {error}",
                            index=index, error=error)
            return
        if message.view_number != ctx.view and not isinstance(message, ChangeView):
            return
        reason = ignored(ctx.state, message, index == ctx.primary_index)
        if reason is not None:
            self._log.debug("consensus: ignoring {kind} of validator {index}: {reason}",
                            kind=type(message).__name__, index=index, reason=reason)
            return
        if isinstance(message, ChangeView):
            self._change_view_received(index, message)
        elif isinstance(message, PrepareRequest):
            self._proposal_received(payload, message)
        elif isinstance(message, PrepareResponse):
            self._signature_received(index, message)

    def _change_view_received(self, index: int, message: ChangeView) -> None:
        ctx = self.context
        assert ctx is not None
        if message.new_view_number <= ctx.expected_view[index]:
            return
        self._log.info("consensus height {height} view {view}: validator {index} asks for "
                       "view {wanted}", height=ctx.block_index, view=ctx.view, index=index,
                       wanted=message.new_view_number)
        ctx.expected_view[index] = message.new_view_number
        self._check_expected_view(message.new_view_number)
        if self.context is ctx and ctx.view < message.new_view_number:
            self._join_view_change()

    def _join_view_change(self) -> None:
        """
        More than f others ask for views beyond ours: ask for the lowest of those f + 1
        too (L{ConsensusContext.view_to_join}), unless we signed (L{_signed_and_waiting}).
        """
        ctx = self.context
        assert ctx is not None
        target = ctx.view_to_join()
        if target is not None and (_S.SIGNATURE_SENT not in ctx.state
                                   or ctx.block_out_of_reach()):
            self._request_change_view(target)

    def _proposal_received(self, payload: ConsensusPayload, request: PrepareRequest) -> None:
        """
        A backup checks the primary's proposal, then gathers its transactions.
        """
        ctx = self.context
        assert ctx is not None
        now = self._clock.seconds()
        if not ctx.prev_timestamp < payload.timestamp <= now + MAX_CLOCK_AHEAD:
            self._refuse(f"its timestamp {payload.timestamp} is outside the window")
            return
        if any(self._on_chain(h) for h in request.transaction_hashes):
            self._refuse("it holds a transaction already on the chain")
            return
        most = self._policy.max_transactions_per_block
        if len(request.transaction_hashes) > most:
            # refused before a single transaction is fetched for it
            self._refuse(f"it holds {len(request.transaction_hashes)} transactions, more than "
                         f"the policy's {most}")
            self._request_change_view()
            return
        ctx.state |= _S.REQUEST_RECEIVED
        ctx.take_proposal(payload.timestamp, request.nonce, request.next_consensus,
                          request.transaction_hashes, request.miner_transaction)
        header = ctx.header()
        assert header is not None
        signed = header.unsigned_bytes()
        if not signature_valid(signed, request.signature, ctx.validators[payload.validator_index]):
            self._refuse("the primary's signature does not sign its header")
            return
        ctx.drop_invalid_signatures(signed)
        ctx.signatures[payload.validator_index] = request.signature
        pool = self._node.mempool.pool if self._node.mempool is not None else None
        for txid in request.transaction_hashes[1:]:
            entry = None if pool is None else pool.entry(txid)
            if entry is not None:
                ctx.add_entry(entry)
        missing = ctx.missing_transactions()
        self._log.info("consensus height {height} view {view}: proposal of {count} "
                       "transactions, {missing} to fetch", height=ctx.block_index,
                       view=ctx.view, count=len(request.transaction_hashes) - 1,
                       missing=len(missing))
        if missing and self._node.transactions is not None:
            self._node.transactions.fetch(missing)
        elif not missing:
            self._check_proposal()

    def _refuse(self, reason: str) -> None:
        ctx = self.context
        assert ctx is not None
        self._log.warn("consensus height {height} view {view}: ignoring the proposal: "
                       "{reason}", height=ctx.block_index, view=ctx.view, reason=reason)

    def _transactions_accepted(self, txs: Sequence[Transaction], sender: IPeer | None) -> None:
        """
        The pool took transactions: those the proposal waits for join it.
        """
        ctx = self.context
        if not self.running or ctx is None or ctx.transaction_hashes is None:
            return
        state = ctx.state
        if _S.BACKUP not in state or _S.REQUEST_RECEIVED not in state or state & (
                _S.SIGNATURE_SENT | _S.VIEW_CHANGING | _S.BLOCK_SENT):
            return
        wanted = set(ctx.missing_transactions())
        pool = self._node.mempool.pool if self._node.mempool is not None else None
        tx: Transaction
        for tx in txs:
            entry = None if pool is None or tx.hash not in wanted else pool.entry(tx.hash)
            if entry is not None:
                ctx.add_entry(entry)
        if wanted and ctx.has_all_transactions():
            self._check_proposal()

    def _check_proposal(self) -> None:
        """
        C{VerifyRequest}: sign a complete proposal, or ask for another view.
        """
        ctx = self.context
        assert ctx is not None and ctx.transaction_hashes is not None
        if self._behind():
            self._refuse("we are syncing: this round may not be on the tip")
            return
        if _S.VIEW_CHANGING in ctx.state:
            self._refuse("we asked for another view")
            return
        entries = [ctx.entries[h] for h in ctx.transaction_hashes[1:]]
        problem = proposal_problem(ctx.next_consensus, ctx.miner, entries,
                                   self._validators_after(entries), self._policy)
        if problem is not None:
            self._refuse(problem)
            self._request_change_view()
            return
        header = ctx.header()
        assert header is not None
        signature = self._key.sign(header.unsigned_bytes())
        ctx.state |= _S.SIGNATURE_SENT
        ctx.signatures[ctx.my_index] = signature
        self._send(PrepareResponse(view_number=ctx.view, signature=signature))
        self._check_signatures()

    def _signature_received(self, index: int, response: PrepareResponse) -> None:
        ctx = self.context
        assert ctx is not None
        if ctx.signatures[index] is not None:
            return
        header = ctx.header()
        if header is None:
            ctx.signatures[index] = response.signature  # checked when the proposal comes
            return
        if not signature_valid(header.unsigned_bytes(), response.signature,
                               ctx.validators[index]):
            self._log.warn("consensus height {height} view {view}: validator {index}'s "
                           "signature does not sign the proposal", height=ctx.block_index,
                           view=ctx.view, index=index)
            return
        ctx.signatures[index] = response.signature
        self._check_signatures()

    def _check_signatures(self) -> None:
        """
        With M signatures and every transaction, make the block and hand it to the node.
        """
        ctx = self.context
        assert ctx is not None
        if ctx.signature_count < ctx.m or not ctx.has_all_transactions():
            return
        block = ctx.block()
        ctx.state |= _S.BLOCK_SENT
        self.blocks_made += 1
        self._log.info("consensus height {height} view {view}: block {hash} made with "
                       "{count} transactions", height=ctx.block_index, view=ctx.view,
                       hash=block.hash, count=len(block.transactions))
        d = self._node.submit_block(block)
        d.addCallback(self._submitted, block)
        d.addErrback(lambda f: self._log.failure("adding our block failed", f))

    def _submitted(self, result: BlockResult, block: Block) -> None:
        if result.verdict not in (Verdict.ACCEPTED, Verdict.ALREADY_EXISTS):
            self._log.error("our block {index} was refused: {verdict} {reason}",
                            index=block.index, verdict=result.verdict, reason=result.reason)

    def status(self) -> JSON:
        """
        The round as an operator sees it (RPC C{getconsensusstate}): where it is stuck.
        """
        return round_status(self, self._clock.seconds(), self._timer)
