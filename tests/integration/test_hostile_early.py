"""
Hostile peers and the early-block buffer: made-up blocks far ahead of the tip, real
nodes over loopback, a scripted attacker (see L{tests.support.hostile_helpers}).
"""

from __future__ import annotations

import random
from typing import Any

from twisted.internet import defer, task

from neo_twisted.core.block import Block, Header
from neo_twisted.core.components import AttributeUsage, TransactionAttribute
from neo_twisted.core.transactions import ContractTransaction
from neo_twisted.network.payloads import InventoryType, InvPayload, decode_payload, inv_groups
from neo_twisted.p2p.controller import PeerRecord
from neo_twisted.p2p.faults import Fault, Response
from neo_twisted.sync.early import MAX_EARLY_BYTES
from neo_twisted.wire.uint import UInt256
from tests.support.attacker import Attacker
from tests.support.hostile_helpers import HOSTILE_CHAIN, HostileCase, inventory_hashes
from tests.support.ledger_samples import make_block
from tests.support.node_cluster import stop_if_running, wait_until

#: Made-up blocks the attacker announces and sends, and the size of each.
FLOOD_BLOCKS = 2000
FLOOD_BLOCK_SIZE = 60_000


def made_up_blocks(tip: Header, count: int, size: int, ahead: int) -> list[Block]:
    """
    C{count} well-formed blocks of about C{size} bytes each, from C{ahead} above C{tip},
    that follow nothing anybody has (unsigned: no peer could check them without their
    header).
    """
    rng = random.Random(5)
    remarks = tuple(TransactionAttribute(AttributeUsage.Remark + i, rng.randbytes(size // 4))
                    for i in range(4))
    filler = ContractTransaction(attributes=remarks)
    blocks = []
    for i in range(count):
        blocks.append(make_block(tip, (filler,), sign=False, index=tip.index + ahead + i,
                                 prev_hash=UInt256(rng.randbytes(32))))
    return blocks


def serve_blocks(attacker: Attacker, blocks: dict[UInt256, Block]) -> None:
    """
    Make C{attacker} answer C{getdata} with the made-up blocks asked for.
    """
    def answer(data: bytes) -> None:
        request = decode_payload("getdata", data)
        assert isinstance(request, InvPayload)
        for hash_ in request.hashes:
            block = blocks.get(hash_)
            if block is not None:
                attacker.send("block", block)

    attacker.answers["getdata"] = answer


class EarlyBlockFloodTests(HostileCase):
    """
    Before (issue 20, attack 5): at the tip every announced unknown hash was fetched
    and every block buffered before any check. 2,000 made-up blocks of 60 KB filled
    the ledger's early-block buffer (120 MB; measured here: 2,000 blocks held), the
    attacker stayed connected, and an honest block refused for the full buffer was
    never fetched again. Now at most one block without a known header is asked for,
    nothing without a verified header is buffered, and the attacker is disconnected
    (not banned: nothing it sent is provably invalid). The honest node's next blocks
    are then fetched and taken.
    """

    @defer.inlineCallbacks
    def flood(self, ahead: int, reason: str) -> Any:
        """
        An attacker at the tip announces 2,000 made-up blocks from C{ahead} above the
        tip, sends the one asked for and pushes all of them; the victim drops it for
        C{reason}, holds none of them, and goes on with the honest chain.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield self.assert_healthy(victim, honest)
        ledger = victim.node.ledger.ledger
        assert ledger is not None
        tip = ledger.get_header(HOSTILE_CHAIN)
        assert tip is not None
        flood = made_up_blocks(tip, FLOOD_BLOCKS, FLOOD_BLOCK_SIZE, ahead)
        self.assertGreater(flood[0].size, FLOOD_BLOCK_SIZE)

        # the most the buffers held
        peak = {"bytes": 0, "pending": 0}

        def sample() -> None:
            peak["bytes"] = max(peak["bytes"], victim.node.block_sync.buffered_bytes)
            peak["pending"] = max(peak["pending"], ledger.stats()["pending_blocks"])
        sampler = task.LoopingCall(sample)
        sampler.start(0.005)
        self.addCleanup(stop_if_running, sampler)

        reasons: list[str] = []
        lost = victim.node.connections.peer_lost

        def record(peer: Any, record: PeerRecord, why: str, fault: Fault | None) -> None:
            reasons.append(why)
            lost(peer, record, why, fault)
        self.patch(victim.node.connections, "peer_lost", record)
        attacker = yield self.attacker(victim, start_height=HOSTILE_CHAIN)
        serve_blocks(attacker, {block.hash: block for block in flood})
        for group in inv_groups(InventoryType.Block, [block.hash for block in flood]):
            attacker.send("inv", group)
        for block in flood:
            attacker.send("block", block)
        yield self.assert_dropped(victim, attacker, response=Response.DISCONNECT)
        sample()
        sampler.stop()
        self.assertTrue(any(reason in r for r in reasons), reasons)
        asked = sum(inventory_hashes(attacker, "getdata").values())
        self.assertLessEqual(asked, 1)
        self.assertLessEqual(peak["bytes"], MAX_EARLY_BYTES)
        self.assertEqual(peak["pending"], 0)
        self.assertEqual(victim.node.block_sync.buffered, 0)
        self.assertEqual(victim.node.block_height, HOSTILE_CHAIN)

        # the honest chain goes on: its next blocks are announced, fetched and taken
        honest_ledger = honest.node.ledger.ledger
        assert honest_ledger is not None
        for _ in range(2):
            header = honest_ledger.get_header(honest_ledger.block_height)
            assert header is not None
            result = yield honest.node.submit_block(make_block(header))
            self.assertEqual(result.verdict.value, "accepted")
        yield self.assert_healthy(victim, honest, height=HOSTILE_CHAIN + 2)
        yield wait_until(lambda: victim.node.block_sync.buffered == 0, "the buffer to drain")
        return peak

    def test_far_future_blocks(self) -> defer.Deferred[Any]:
        """
        Blocks 10,000 above the tip: the one fetched lies beyond the window.
        """
        return self.flood(10_000, "beyond the window")

    def test_blocks_just_above_the_tip(self) -> defer.Deferred[Any]:
        """
        Blocks from 2 above the tip: the one fetched has no header (not a fault: an
        honest peer may announce a block we missed the one before of), the pushed ones
        could not be next.
        """
        return self.flood(2, "unasked, which cannot be next")
