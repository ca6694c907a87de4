"""
Tests for L{neo_twisted.sync.blocks.BlockSync}: segments of 500 from several peers.

The buffer of blocks that come ahead of the next one is in L{tests.unit.test_sync_early}.
"""

from __future__ import annotations

import attrs
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.ledger.settings import AssumeValid
from neo_twisted.ledger.state import write_cost
from neo_twisted.ledger.writebudget import FALLBACK_RECORDS
from neo_twisted.network.payloads import GetBlocksPayload
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.sync.blocks import BlockSync
from neo_twisted.sync.early import Placement
from neo_twisted.wire.uint import ZERO_UINT256, UInt256
from tests.support.ledger_samples import (
    PRIVNET,
    PRIVNET_GENESIS,
    headers_of,
    make_block,
    make_blocks,
)
from tests.support.optional import present
from tests.support.p2p_fakes import FakePeer, ledger_service, opened
from tests.support.sync_samples import LONG


class BlockSyncTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.ledger = ledger_service(self)
        self.assertEqual(opened(self.ledger).add_headers(headers_of(LONG)).added, 2100)
        self.peers: list[FakePeer] = []
        self.persisted: list[tuple[list[Block], IPeer | None]] = []
        self.sync = BlockSync(self.ledger, self.clock, lambda: self.peers,
                              on_persisted=lambda blocks, peer: self.persisted.append(
                                  (blocks, peer)),
                              segment_timeout=30, stall_timeout=20)

    def starts(self, peer: FakePeer, *, answer: bool = True) -> list[int]:
        """
        The heights of the segments C{peer} was asked for. Unless told not to, it
        answers each C{getblocks} with the C{inv} of the whole segment as it comes, which
        lets it be asked the next (one C{getblocks} at a time per peer).
        """
        found: list[int] = []
        while payloads := peer.take("getblocks"):
            for payload in payloads:
                assert isinstance(payload, GetBlocksPayload)
                self.assertEqual(payload.hash_stop, ZERO_UINT256)
                (start,) = payload.hash_start  # one hash, as the reference sends
                first = present(opened(self.ledger).get_header(start)).index + 1
                found.append(first)
                if answer:
                    last = min(first + 499, peer.last_block_index, len(LONG))
                    self.sync.inventory(peer, list(range(first, last + 1)))
            if not answer:
                break
        return found

    def deliver(self, peer: FakePeer | None, first: int, last: int) -> None:
        for block in LONG[first - 1:last]:
            self.sync.block_received(peer, block)

    def test_segments_spread_over_peers_within_window(self) -> None:
        """
        Segments of 500 go to the least busy peers, three at most each, never beyond the
        window above our height.
        """
        a, b = FakePeer("10.0.0.1", 2100), FakePeer("10.0.0.2", 2100)
        self.peers = [a, b]
        self.sync.poke()
        self.assertEqual(self.starts(a), [1, 1001])
        self.assertEqual(self.starts(b), [501])
        self.assertEqual(set(self.sync.segments), {1, 501, 1001})

    def _record_writes(self) -> list[int]:
        sizes: list[int] = []
        add_blocks = self.ledger.add_blocks

        def recording(blocks: list[Block]) -> object:
            sizes.append(len(blocks))
            return add_blocks(blocks)
        self.patch(self.ledger, "add_blocks", recording)
        return sizes

    def test_writes_bounded_by_their_cost(self) -> None:
        """
        Blocks that piled up during a write go to the ledger in order, in writes that
        cost at most the write budget (records, so LMDB's dirty pages stay bounded).
        """
        cost = write_cost(LONG[0])
        self.assertEqual({write_cost(b) for b in LONG[:350]}, {cost})
        self.sync = BlockSync(self.ledger, self.clock, lambda: self.peers,
                              on_persisted=lambda blocks, peer: self.persisted.append(
                                  (blocks, peer)),
                              write_budget=100 * cost + cost - 1)
        sizes = self._record_writes()
        a = FakePeer("10.0.0.1", 2100)
        self.peers = [a]
        self.sync.poke()
        self.sync._adding = True  # a write in progress: the blocks wait
        self.deliver(a, 1, 350)
        self.assertEqual(sizes, [])
        self.sync._adding = False
        self.sync._flush()
        self.assertEqual(sizes, [100, 100, 100, 50])
        self.assertEqual(opened(self.ledger).block_height, 350)
        self.assertEqual([len(blocks) for blocks, _ in self.persisted], sizes)

    def test_block_over_the_budget_written_alone(self) -> None:
        """
        A block that costs more than a whole write may is written on its own, not held back.
        """
        self.sync = BlockSync(self.ledger, self.clock, lambda: self.peers,
                              write_budget=write_cost(LONG[0]) - 1)
        sizes = self._record_writes()
        self.sync._adding = True
        self.deliver(None, 1, 3)
        self.sync._adding = False
        self.sync._flush()
        self.assertEqual(sizes, [1, 1, 1])
        self.assertEqual(opened(self.ledger).block_height, 3)

    def test_default_budget_takes_many_small_blocks(self) -> None:
        """
        The default budget is in records, not blocks: 300 nearly empty blocks go in one
        write, before any commit was measured.
        """
        self.assertIsNone(opened(self.ledger).write_budget.pages_per_record)
        self.assertEqual(opened(self.ledger).write_budget.records, FALLBACK_RECORDS)
        sizes = self._record_writes()
        self.sync._adding = True
        self.deliver(None, 1, 300)
        self.sync._adding = False
        self.sync._flush()
        self.assertEqual(sizes, [300])

    def test_default_budget_follows_the_ledger(self) -> None:
        """
        Without a budget of its own, each write holds what the ledger's write budget
        allows at that moment (it changes as commits are measured).
        """
        cost = write_cost(LONG[0])
        budgets = iter([300 * cost, 100 * cost])

        class Budget:
            records = 200 * cost

            def observe(self, records: int, written: int | None) -> None:
                pass

        opened(self.ledger).write_budget = Budget()  # type: ignore[assignment]
        sizes: list[int] = []
        add_blocks = self.ledger.add_blocks

        def recording(blocks: list[Block]) -> object:
            sizes.append(len(blocks))
            Budget.records = next(budgets, 1000 * cost)  # as if this commit was measured
            return add_blocks(blocks)
        self.patch(self.ledger, "add_blocks", recording)
        self.sync._adding = True
        self.deliver(None, 1, 700)
        self.sync._adding = False
        self.sync._flush()
        self.assertEqual(sizes, [200, 300, 100, 100])
        self.assertEqual(opened(self.ledger).block_height, 700)

    def test_nothing_asked_above_the_verified_height(self) -> None:
        """
        Headers taken on trust below an assume-valid block get no block asked for
        until that block's header is in.
        """
        settings = attrs.evolve(PRIVNET, assume_valid=AssumeValid(2100, LONG[-1].hash))
        self.ledger = ledger_service(self, settings=settings)
        ledger = opened(self.ledger)
        ledger.add_headers(headers_of(LONG[:1000]))
        self.assertEqual((ledger.header_height, ledger.verified_height), (1000, 0))
        self.sync = BlockSync(self.ledger, self.clock, lambda: self.peers)
        a = FakePeer("10.0.0.1", 2100)
        self.peers = [a]
        self.sync.poke()
        self.assertEqual(self.starts(a), [])
        ledger.add_headers(headers_of(LONG[1000:]))
        self.sync.poke()
        self.assertEqual(self.starts(a), [1, 501, 1001])

    def test_peer_must_have_the_segment(self) -> None:
        """
        A peer is only asked for segments that start at or below its height; one whose
        answer stops short of its segment (it is syncing itself: 400 blocks of 500) is
        relieved of it at once, and the rest is asked of a peer that has it (issue 21:
        a node waited 21 s on such a peer while another held the blocks).
        """
        short, tall = FakePeer("10.0.0.1", 400), FakePeer("10.0.0.2", 2100)
        self.peers = [short, tall]
        self.sync.poke()
        self.assertEqual(self.starts(short), [1])
        self.assertEqual(self.starts(tall), [501, 1, 1001])
        self.assertIs(self.sync.segments[1], tall)
        self.clock.advance(10)
        self.sync.tick()
        self.assertEqual(self.starts(short), [])  # nothing else it could have

    def test_blocks_persist_in_order_and_window_moves(self) -> None:
        """
        Blocks arriving out of order end up persisted in order; as the height rises,
        the next segments are asked for.
        """
        a = FakePeer("10.0.0.1", 2100)
        self.peers = [a]
        self.sync.poke()
        self.assertEqual(self.starts(a), [1, 501, 1001])
        self.deliver(a, 501, 1000)
        self.assertEqual(opened(self.ledger).block_height, 0)
        self.deliver(a, 1, 500)
        self.assertEqual(opened(self.ledger).block_height, 1000)
        self.assertEqual(self.starts(a), [1501, 2001])
        accepted = [block for blocks, _ in self.persisted for block in blocks]
        self.assertEqual(sorted(b.index for b in accepted), list(range(1, 1001)))
        self.assertEqual(self.persisted[-1][1], a)

    def test_header_hashes_read_a_segment_at_a_time(self) -> None:
        """
        Blocks are checked against their verified headers' hashes, read from the store
        once per segment rather than once per block; those below the height are let go.
        """
        reads: list[tuple[int, int]] = []
        ledger = opened(self.ledger)
        get_block_hashes = ledger.get_block_hashes

        def recording(start: int, end: int) -> list[UInt256]:
            reads.append((start, end))
            return get_block_hashes(start, end)
        self.patch(ledger, "get_block_hashes", recording)
        a = FakePeer("10.0.0.1", 2100)
        self.peers = [a]
        self.sync.poke()
        self.sync._adding = True  # a write in progress: the blocks wait
        self.deliver(a, 501, 1000)
        self.deliver(a, 1, 500)
        self.assertEqual(reads, [(501, 1000), (1, 500)])
        self.sync._adding = False
        self.sync._flush()
        self.assertEqual(ledger.block_height, 1000)
        self.assertEqual(self.sync._header_hashes, {})

    def test_known_and_repeated_blocks_ignored(self) -> None:
        a = FakePeer("10.0.0.1", 2100)
        self.peers = [a]
        self.deliver(a, 1, 3)
        self.deliver(a, 1, 3)
        self.assertEqual(opened(self.ledger).block_height, 3)
        self.assertEqual(len(self.persisted), 3)
        self.assertFalse(self.sync.holds(LONG[0].hash))

    def test_block_not_of_the_known_header(self) -> None:
        """
        A block that is not the verified header at its height is not taken (its sender
        is judged by the node's policy).
        """
        liar = FakePeer("10.0.0.9", 2100)
        forged = make_block(PRIVNET_GENESIS.header, sign=False, nonce=99)
        self.assertIs(self.sync.block_received(liar, forged), Placement.FOREIGN)
        self.assertEqual((self.sync.buffered, opened(self.ledger).block_height), (0, 0))

    def test_invalid_block_disconnects(self) -> None:
        """
        A next block the ledger refuses for a rule (its merkle root, here) gets its
        sender disconnected for an invalid-block fault, nothing more: a rule may
        differ between versions.
        """
        self.ledger = ledger_service(self)
        self.sync = BlockSync(self.ledger, self.clock, lambda: self.peers)
        liar = FakePeer("10.0.0.9", 2100)
        bad = make_block(PRIVNET_GENESIS.header, sign=False, merkle_root=ZERO_UINT256)
        self.assertIs(self.sync.block_received(liar, bad), Placement.NEXT)
        self.assertEqual(liar.dropped, ("sent invalid block 1: the merkle root does not "
                                        "match the transactions", Fault.INVALID_BLOCK))
        self.assertEqual((self.sync.buffered, opened(self.ledger).block_height), (0, 0))

    def test_block_with_a_bad_witness_discourages(self) -> None:
        """
        A next block whose header's witness does not verify gets its sender dropped
        for a bad-block-witness fault (the connection service discourages the IP).
        """
        self.ledger = ledger_service(self, mapper=lambda check, jobs: [False] * len(jobs))
        self.sync = BlockSync(self.ledger, self.clock, lambda: self.peers)
        liar = FakePeer("10.0.0.9", 2100)
        self.assertIs(self.sync.block_received(liar, LONG[0]), Placement.NEXT)
        self.assertEqual(liar.dropped, ("sent invalid block 1: witness does not verify",
                                        Fault.BAD_BLOCK_WITNESS))
        self.assertEqual((self.sync.buffered, opened(self.ledger).block_height), (0, 0))

    def test_quiet_segment_asked_of_another_peer(self) -> None:
        """
        A segment with no block for the timeout goes to another peer, while the peer
        delivering the next blocks keeps its own.
        """
        a, b, c = (FakePeer(f"10.0.0.{i}", 2100) for i in (1, 2, 3))
        self.peers = [a, b]
        self.sync.poke()
        self.assertEqual((self.starts(a), self.starts(b)), ([1, 1001], [501]))
        self.peers.append(c)
        self.deliver(a, 1, 400)
        self.clock.advance(25)
        self.deliver(a, 401, 450)
        self.clock.advance(4)
        self.sync.tick()
        self.assertEqual(self.sync.segments[501], b)
        self.clock.advance(1)
        self.sync.tick()
        self.assertEqual((a.dropped, b.dropped), (None, None))
        # c got 1501 when the window moved at 400 and did nothing with it either
        self.assertEqual(self.starts(c), [1501, 501])
        self.assertEqual(self.starts(b), [1501])
        self.assertEqual(self.sync.segments, {1: a, 501: c, 1001: a, 1501: b})

    def test_stalling_peer_dropped(self) -> None:
        """
        The peer holding up the next block is dropped once nothing has moved for the
        stall timeout, and its segment goes to someone else.
        """
        slow, b = FakePeer("10.0.0.1", 2100), FakePeer("10.0.0.2", 2100)
        self.peers = [slow, b]
        self.sync.poke()
        self.assertEqual(self.sync.segments[1], slow)
        self.starts(slow)  # it answers, then sends no block
        self.deliver(b, 501, 600)
        self.clock.advance(19)
        self.sync.tick()
        self.assertIsNone(slow.dropped)
        self.clock.advance(1)
        self.sync.tick()
        assert slow.dropped is not None
        self.assertIn("stalled block sync at 1", slow.dropped[0])
        self.assertIsNone(slow.dropped[1])
        self.assertEqual(slow.faults, [])
        self.peers.remove(slow)
        self.sync.peer_lost(slow)
        self.assertIs(self.sync.segments[1], b)

    def test_relayed_blocks_do_not_keep_a_segment(self) -> None:
        """
        A peer that answered part of its segment and then only relays blocks beyond
        the window (a live chain's new blocks) loses the segment to another peer.
        """
        a, b = FakePeer("10.0.0.1", 2100), FakePeer("10.0.0.2", 2100)
        self.peers = [a]
        self.sync.poke()
        self.assertEqual(self.starts(a), [1, 501, 1001])
        self.deliver(a, 1, 1)
        self.peers.append(b)
        for step in range(30):
            self.clock.advance(1)
            self.sync.block_received(a, LONG[2000 + step])  # new blocks, far ahead
            self.sync.tick()
        self.assertIsNot(self.sync.segments.get(1), a)
        self.assertIn(1, self.starts(b))

    def test_short_answer_asked_again(self) -> None:
        """
        A peer that sent the start of the next segment and then only later blocks of it
        (it had fewer when asked, and relays new ones) is asked again from our tip
        once the chain stalls, not dropped.
        """
        a = FakePeer("10.0.0.1", 2100)
        self.peers = [a]
        self.sync.poke()
        self.assertEqual(self.starts(a), [1, 501, 1001])
        self.deliver(a, 1, 5)
        for step in range(20):
            self.clock.advance(1)
            self.sync.block_received(a, LONG[300 + step])  # inside the segment, not next
            self.sync.tick()
        self.assertIsNone(a.dropped)
        self.assertEqual(self.starts(a), [1])
        self.assertEqual(opened(self.ledger).block_height, 5)

    def test_lost_peer_segments_reassigned(self) -> None:
        a, b = FakePeer("10.0.0.1", 2100), FakePeer("10.0.0.2", 2100)
        self.peers = [a, b]
        self.sync.poke()
        self.assertEqual(self.starts(b), [501, 1001])
        self.peers.remove(a)
        self.sync.peer_lost(a)
        self.assertEqual(self.starts(b), [1])
        self.assertEqual({s: p for s, p in self.sync.segments.items()},
                         {1: b, 501: b, 1001: b})

    def test_silent_peer_replaced_in_seconds(self) -> None:
        """
        A peer that does not answer C{getblocks} at all (it lacks the block we start
        from, or dropped our request) is relieved of the segment after 5 s, not 30.
        """
        mute, b = FakePeer("10.0.0.1", 2100), FakePeer("10.0.0.2", 2100)
        self.peers = [mute, b]
        self.sync.poke()
        self.assertEqual(self.starts(mute, answer=False), [1])
        self.assertEqual(self.starts(b), [501, 1001])
        self.clock.advance(4)
        self.sync.tick()
        self.assertIs(self.sync.segments[1], mute)
        self.clock.advance(1)
        self.sync.tick()
        self.assertEqual(self.starts(b), [1])
        self.assertIsNone(mute.dropped)

    def test_one_getblocks_at_a_time(self) -> None:
        """
        A peer has one C{getblocks} unanswered at most: a 2.9+ node drops a second one
        while the first waits in its mailbox, and that segment would wait for nothing.
        """
        a = FakePeer("10.0.0.1", 2100)
        self.peers = [a]
        self.sync.poke()
        self.assertEqual(self.starts(a, answer=False), [1])
        self.sync.poke()
        self.assertEqual(self.starts(a, answer=False), [])
        self.sync.inventory(a, list(range(1, 501)))
        self.assertEqual(self.starts(a, answer=False), [501])

    def test_stop(self) -> None:
        a = FakePeer("10.0.0.1", 2100)
        self.peers = [a]
        self.successResultOf(self.sync.stop())
        self.sync.poke()
        self.deliver(a, 1, 3)
        self.assertEqual(a.sent, [])
        self.assertEqual(opened(self.ledger).block_height, 0)


class TipTests(SynchronousTestCase):
    """
    At the header tip there is no segment to ask for, and none is left to time out.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.ledger = ledger_service(self)
        self.peer = FakePeer("10.0.0.1", 10)
        self.sync = BlockSync(self.ledger, self.clock, lambda: [self.peer],
                              segment_timeout=30, stall_timeout=20)

    def test_nothing_asked_at_the_tip(self) -> None:
        blocks = make_blocks(PRIVNET_GENESIS.header, 10, sign=False)
        opened(self.ledger).add_blocks(blocks)
        self.sync.poke()
        self.assertEqual(self.peer.take("getblocks"), [])

    def test_last_segment_done_at_the_header_tip(self) -> None:
        """
        A segment reaching past the header tip is done once the tip's block is stored:
        its peer is not dropped as stalling afterwards.
        """
        blocks = make_blocks(PRIVNET_GENESIS.header, 10, sign=False)
        opened(self.ledger).add_headers(headers_of(blocks))
        self.sync.poke()
        self.assertEqual(len(self.peer.take("getblocks")), 1)
        for block in blocks:
            self.sync.block_received(self.peer, block)
        self.assertEqual(opened(self.ledger).block_height, 10)
        self.assertEqual(self.sync.segments, {})
        for _ in range(10):
            self.clock.advance(5)
            self.sync.tick()
        self.assertIsNone(self.peer.dropped)
