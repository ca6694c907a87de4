# -*- test-case-name: tests.unit.test_node_consensus -*-
"""
The node's consensus-payload policy: which payloads it takes, keeps and passes on.

Every node relays consensus, validator or not. A payload (a C{consensus}
message, sent directly by a validator or fetched after an C{inv}) is taken when
it is for a block above our height, names a validator that exists, and carries
that validator's signature. A taken payload is kept in memory (the relay cache
serves C{getdata}; a per-height buffer lets a round that starts late catch up
on what it missed), announced by C{inv} to every other peer at most once per
30 s, and handed to this node's own consensus, if it runs one. Nothing of it
is ever stored. A payload we cannot verify is not relayed, and is no fault of
the relayer's: the validators may have changed by rules we do not know (blocks
before 2.6 were made by other ones).

The validators of the next block are those the ledger elects from the votes up
to our tip; and, when the tip's C{NextConsensus} is its parent's (the set did
not change), those that signed the tip (neo2-validators.md section 7.2), which
keeps payloads verifiable should our count ever differ from the chain's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from twisted.logger import Logger

from neo_twisted.core.consensus import ChangeView, ConsensusPayload
from neo_twisted.core.jsonify import JSON
from neo_twisted.crypto.scripts import (
    parse_multisig_contract,
    script_hash,
    signature_redeem_script,
)
from neo_twisted.crypto.witness import verify_witness
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.network.payloads import InventoryType
from neo_twisted.node.fetcher import InventoryFetcher
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160, UInt256

if TYPE_CHECKING:
    from neo_twisted.node.policy import Node

#: Payloads kept for rounds that have not started here yet, at most.
MAX_BUFFERED = 256
#: Announcers of one consensus payload asked for it at once.
CONSENSUS_FAN_OUT = 3

PayloadListener = Callable[[ConsensusPayload], None]


def _signature_script(key: ECPoint) -> UInt160:
    return script_hash(signature_redeem_script(key))


class ConsensusRelay:
    """
    Everything one node does with consensus payloads that come and go over P2P.

    @ivar listener: this node's consensus, told of every payload taken.
    """

    _log = Logger()

    def __init__(self, node: Node, settings: ProtocolSettings) -> None:
        self._node = node
        # a round lasts a block time: three announcers are asked at once, and a request
        # is given up well before the next view
        self.fetcher = InventoryFetcher(
            InventoryType.Consensus, node.clock, fan_out=CONSENSUS_FAN_OUT,
            timeout=max(1.0, settings.seconds_per_block / 3),
            alive=lambda peer: peer in node.sessions)
        self.requests = self.fetcher.requests
        self.listener: PayloadListener | None = None
        #: Taken payloads by hash, oldest first, for rounds to replay (L{for_block}).
        self._buffer: OrderedDict[UInt256, ConsensusPayload] = OrderedDict()
        #: Per tip hash: the elected validators' signature script hashes, and the tip's
        #: signers' when they are the next block's too.
        self._tip: tuple[UInt256 | None, list[UInt160], list[UInt160]] = (None, [], [])

    def _now(self) -> float:
        return self._node.clock.seconds()

    def problem(self, payload: ConsensusPayload) -> str | None:
        """
        C{ConsensusPayload.Verify}, with the validator index checked first: why
        C{payload} is not taken, or None.
        """
        if payload.block_index <= self._node.block_height:
            return "late"
        index = payload.validator_index
        elected = self._elected_scripts()
        candidates = {scripts[index] for scripts in (elected, self._tip_scripts())
                      if index < len(scripts)}
        if not candidates:
            return f"validator {index} of {len(elected)}"
        witness = payload.witness
        if not any(verify_witness(payload.unsigned_bytes(), witness.invocation_script,
                                  witness.verification_script, expected)
                   for expected in candidates):
            return f"not signed by validator {index}"
        return None

    def _elected_scripts(self) -> list[UInt160]:
        """
        The signature script hash of each validator of the next block, in their order.
        """
        self._read_tip()
        return self._tip[1]

    def _tip_scripts(self) -> list[UInt160]:
        """
        The signature script hash of each validator that signed our tip (the keys of its
        witness's multisig, in their order: the validators' order), when the tip kept
        its parent's C{NextConsensus}; else none.
        """
        self._read_tip()
        return self._tip[2]

    def _read_tip(self) -> None:
        ledger = self._node.ledger.ledger
        tip = None if ledger is None else ledger.get_header(ledger.block_height)
        if ledger is None or tip is None:
            self._tip = (None, [], [])
            return
        if self._tip[0] == tip.hash:
            return
        elected = [_signature_script(key) for key in ledger.validators.next_validators]
        parent = ledger.get_header(tip.index - 1) if tip.index else None
        signers: list[UInt160] = []
        if parent is not None and parent.next_consensus == tip.next_consensus:
            parsed = parse_multisig_contract(tip.witness.verification_script)
            signers = [] if parsed is None else [
                _signature_script(ECPoint.from_bytes(key)) for key in parsed[1]]
        self._tip = (tip.hash, elected, signers)

    # -- messages --------------------------------------------------------------------------

    def inv_received(self, peer: IPeer, hashes: list[UInt256]) -> None:
        """
        C{hashes}: consensus payloads C{peer} announced that it had not announced before.
        """
        wanted = [h for h in hashes if h not in self._node.relay_cache and h not in self._buffer]
        self.fetcher.announced(peer, wanted)

    def payload_received(self, peer: IPeer, payload: ConsensusPayload) -> None:
        hash_ = payload.hash
        self.fetcher.received(hash_)
        if hash_ in self._node.relay_cache or hash_ in self._buffer:
            return  # taken already: its signature is not checked twice
        problem = self.problem(payload)
        if problem == "late":
            return
        if problem is not None:
            # never the relayer's fault: the validators may have changed by a vote we
            # have not seen, or the payload may be for a height we are not at
            peer.fault(Fault.UNVERIFIED_CONSENSUS, f"consensus payload {hash_}: {problem}")
            return
        self._take(payload, peer)

    def send_own(self, payload: ConsensusPayload) -> None:
        """
        A payload this node signed: straight to every peer that wants relays (its
        version's Relay flag, as 2.9+'s C{SendDirectly}) as C{consensus}, and kept.
        """
        node = self._node
        hash_ = payload.hash
        node.relay_cache.put(hash_, payload)
        self._keep(payload)
        node.relay_filter.should_relay(hash_, self._now())
        for peer, session in node.sessions.items():
            if peer.version is not None and not peer.version.relay:
                continue
            if peer.established and session.announced.add(hash_):
                peer.send("consensus", payload)

    def _take(self, payload: ConsensusPayload, sender: IPeer | None) -> None:
        node = self._node
        hash_ = payload.hash
        node.relay_cache.put(hash_, payload)
        self._keep(payload)
        if node.relay_filter.should_relay(hash_, self._now()):
            node.relay(InventoryType.Consensus, hash_, sender)
        if self.listener is not None:
            self.listener(payload)

    def _keep(self, payload: ConsensusPayload) -> None:
        self._buffer[payload.hash] = payload
        while len(self._buffer) > MAX_BUFFERED:
            self._buffer.popitem(last=False)

    def for_block(self, block_index: int) -> list[ConsensusPayload]:
        """
        The payloads taken for C{block_index}, in arrival order (a round starting late
        replays them); older ones are forgotten.
        """
        for hash_, payload in list(self._buffer.items()):
            if payload.block_index < block_index:
                del self._buffer[hash_]
        return [p for p in self._buffer.values() if p.block_index == block_index]

    def seen(self, block_index: int) -> list[JSON]:
        """
        What the payloads taken for C{block_index} say (RPC C{getconsensusstate}).
        """
        summaries: list[JSON] = []
        for payload in self._buffer.values():
            if payload.block_index != block_index:
                continue
            summary: JSON = {"validator": payload.validator_index}
            try:
                message = payload.message()
            except FormatError:
                summary["type"] = "unreadable"
            else:
                summary.update(type=type(message).__name__, view=message.view_number)
                if isinstance(message, ChangeView):
                    summary["newview"] = message.new_view_number
            summaries.append(summary)
        return summaries

    # -- peers and time --------------------------------------------------------------------

    def peer_established(self, peer: IPeer) -> None:
        """
        A new peer gets the payloads of the rounds in progress, so a validator that
        (re)joins learns at once where they stand.
        """
        session = self._node.sessions.get(peer)
        height = self._node.block_height
        for hash_, payload in list(self._buffer.items()):
            if payload.block_index > height and (session is None or session.announced.add(hash_)):
                peer.send("consensus", payload)

    def peer_lost(self, peer: IPeer) -> None:
        self.fetcher.peer_lost(peer)

    def tick(self) -> None:
        self.fetcher.tick()
