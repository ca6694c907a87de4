"""
Tests for L{neo_twisted.node.policy.Node}: which announced and unasked blocks the node
fetches, from which peer, and what it keeps of them, with fake peers and a clock.
"""

from __future__ import annotations

import attrs

from neo_twisted.ledger.settings import AssumeValid
from neo_twisted.network.payloads import HeadersPayload, InventoryType, InvPayload
from neo_twisted.node.policy import PEER_BLOCK_HASHES
from neo_twisted.p2p.faults import Fault, Response
from tests.support.ledger_samples import PRIVNET, PRIVNET_GENESIS, headers_of, make_block
from tests.support.node_policy_helpers import LONG, UNKNOWN, NodeCase, make_policy
from tests.support.p2p_fakes import FakePeer, ledger_service


class RequestTests(NodeCase):
    """
    Announced blocks are asked of one announcer at a time (the node is at its tip).
    """

    def test_one_announcer_at_a_time(self) -> None:
        """
        A block announced by three peers is asked of the first; when it is lost the next
        announcer is asked, when that one times out the third; once it arrives, nobody.
        """
        a, b, c = (FakePeer(f"10.0.0.{i}", nonce=i) for i in (1, 2, 3))
        self.join(a, b, c)
        wanted = LONG[0]
        for peer in (a, b, c):
            self.inv(peer, wanted.hash)
        self.assertEqual([self.getdata(p) for p in (a, b, c)], [[(wanted.hash,)], [], []])

        self.node.controller.peer_lost(a, "gone", None)
        self.assertEqual(self.connections.named("peer_lost"), [(a, "gone", None)])
        self.assertEqual([self.getdata(p) for p in (b, c)], [[(wanted.hash,)], []])

        self.clock.advance(59)
        self.node.tick()
        self.assertEqual([self.getdata(p) for p in (b, c)], [[], []])
        self.clock.advance(2)
        self.node.tick()
        self.assertEqual([self.getdata(p) for p in (b, c)], [[], [(wanted.hash,)]])

        self.node.controller.message_received(c, "block", wanted)
        self.assertEqual(self.node.block_height, 1)
        self.clock.advance(61)
        self.node.tick()
        self.node.controller.peer_lost(c, "gone", None)
        self.inv(b, wanted.hash)
        self.assertEqual([self.getdata(p) for p in (b, c)], [[], []])

    def test_hand_over_gets_a_full_timeout(self) -> None:
        """
        The announcer a lost peer's request is handed to has the whole timeout from the
        moment it is asked, however long ago the hash was announced.
        """
        a, b, c = (FakePeer(f"10.0.0.{i}", nonce=i) for i in (1, 2, 3))
        self.join(a, b, c)
        for peer in (a, b, c):
            self.inv(peer, LONG[0].hash)
        self.getdata(a)
        self.clock.advance(50)
        self.node.controller.peer_lost(a, "gone", None)
        self.assertEqual(self.getdata(b), [(LONG[0].hash,)])
        self.clock.advance(59)
        self.node.tick()
        self.assertEqual(self.getdata(c), [])
        self.clock.advance(1)
        self.node.tick()
        self.assertEqual(self.getdata(c), [(LONG[0].hash,)])

    def test_handed_over_requests_in_batches_of_500(self) -> None:
        """
        The requests of a lost peer go to the other announcer in getdata of 500 at most.
        """
        self.node, _ = self.make_node(2100, 0)
        a, b = FakePeer("10.0.0.1", nonce=1), FakePeer("10.0.0.2", nonce=2)
        self.join(a, b)
        many = [block.hash for block in LONG[:600]]
        for peer in (a, b):
            self.inv(peer, *many[:300])
            self.inv(peer, *many[300:])
        self.assertEqual(self.getdata(a), [tuple(many[:300]), tuple(many[300:])])
        self.assertEqual(self.getdata(b), [])
        self.node.controller.peer_lost(a, "gone", None)
        self.assertEqual(self.getdata(b), [tuple(many[:500]), tuple(many[500:])])

    def test_repeats_and_transactions_ignored(self) -> None:
        """
        A block announced again by the same peer is not asked for again; transaction
        and consensus announcements are not fetched (no mempool yet), nor make the node
        ask for headers.
        """
        a = FakePeer("10.0.0.1")
        self.join(a)
        for kind in (InventoryType.TX, InventoryType.Consensus):
            self.inv(a, UNKNOWN, kind=kind)
        self.assertEqual(a.sent, [])
        self.inv(a, LONG[0].hash)
        self.inv(a, LONG[0].hash)
        self.assertEqual(self.getdata(a), [(LONG[0].hash,)])


class UnwantedTests(NodeCase):
    """
    A node far behind its header chain only fetches blocks of that chain near its height.
    """

    HEADERS = 2100
    BLOCKS = 5

    def test_unknown_hash_not_asked_when_behind(self) -> None:
        """
        A block that is not in the header chain is not asked for while the node is more
        than one block behind its headers; the announcer is asked for headers instead.
        """
        a = FakePeer("10.0.0.1", 2100)
        self.join(a)
        a.take()
        self.inv(a, UNKNOWN)
        self.assertEqual(self.getdata(a), [])
        [request] = a.take("getheaders")
        self.assertEqual(request.hash_start[0], LONG[2099].hash)  # a locator from our tip
        self.assertEqual(request.hash_start[-1], PRIVNET_GENESIS.hash)

    def test_stored_block_not_asked(self) -> None:
        a = FakePeer("10.0.0.1", 2100)
        self.join(a)
        self.inv(a, LONG[2].hash, PRIVNET_GENESIS.hash)
        self.assertEqual(self.getdata(a), [])

    def test_only_headers_within_window_asked(self) -> None:
        """
        Blocks of the header chain are fetched up to 2000 above our height, not beyond;
        the announcer's height rises to the highest of them.
        """
        a = FakePeer("10.0.0.1", 0)
        self.join(a)
        self.inv(a, LONG[5].hash, LONG[2004].hash, LONG[2005].hash)
        self.assertEqual(self.getdata(a), [(LONG[5].hash, LONG[2004].hash)])
        self.assertEqual(a.last_block_index, 2006)


class ProvisionalHeadersTests(NodeCase):
    """
    Blocks of headers taken on trust (assume-valid, its block not reached) are not fetched.
    """

    def test_not_asked(self) -> None:
        settings = attrs.evolve(PRIVNET, assume_valid=AssumeValid(2100, LONG[-1].hash))
        ledger = ledger_service(self, settings=settings)
        assert ledger.ledger is not None
        ledger.ledger.add_headers(headers_of(LONG[:100]))
        self.node, _ = make_policy(ledger, self.clock, user_agent="/t/", nonce=7)
        a = FakePeer("10.0.0.1", 2100)
        self.join(a)
        self.inv(a, LONG[0].hash, LONG[1].hash)
        self.assertEqual(self.getdata(a), [])
        ledger.ledger.add_headers(headers_of(LONG[100:]))
        self.inv(a, LONG[0].hash, LONG[1].hash)
        self.assertEqual(self.getdata(a), [(LONG[0].hash, LONG[1].hash)])


class ReannouncedTests(NodeCase):
    """
    A block announced while it could not be taken is fetched when announced again.
    """

    HEADERS = 10
    BLOCKS = 5

    def test_announced_again_after_its_header(self) -> None:
        """
        A live chain: the peer relays block 12 while we are behind and lack its
        header, so it is not fetched; its answer to our getblocks, once the headers
        came, names it again, and then it is fetched (the node stalled forever on
        this before).
        """
        a = FakePeer("10.0.0.1", 12)
        self.join(a)
        a.take()
        self.inv(a, LONG[11].hash)
        self.assertEqual(self.getdata(a), [])
        chain = self.node.ledger.ledger
        assert chain is not None
        chain.add_headers(headers_of(LONG[10:12]))
        self.inv(a, LONG[5].hash, LONG[6].hash, LONG[11].hash)
        self.assertEqual(self.getdata(a), [(LONG[5].hash, LONG[6].hash, LONG[11].hash)])
        self.inv(a, LONG[11].hash)  # in flight now: not asked twice
        self.assertEqual(self.getdata(a), [])


class SyncMemoryTests(NodeCase):
    """
    A syncing node keeps no long record of the blocks it fetched: the store knows them.
    """

    HEADERS = 2100
    BLOCKS = 0

    def test_synced_blocks_not_kept_in_memory(self) -> None:
        a = FakePeer("10.0.0.1", 2100)
        self.join(a)
        a.take()
        hashes = [block.hash for block in LONG[:500]]
        self.inv(a, *hashes)
        self.assertEqual(self.getdata(a), [tuple(hashes)])
        for block in LONG[:500]:
            self.node.controller.message_received(a, "block", block)
        self.assertEqual(self.node.block_height, 500)
        session = self.node.sessions[a]
        self.assertEqual(len(session.known), 0)
        self.assertEqual(session.known_blocks.capacity, PEER_BLOCK_HASHES)
        self.assertLess(PEER_BLOCK_HASHES, 10_000)
        self.assertFalse(any(self.node.requests.is_done(h) for h in hashes))
        # stored: announced again, not asked again
        self.inv(a, *hashes[:10])
        self.assertEqual(self.getdata(a), [])

    def test_block_above_the_header_tip_waits_for_its_header(self) -> None:
        """
        A block fetched at the tip that turns out not to be the next one is not placed
        (no verified header vouches for it yet), nor remembered as done: its sender is
        asked for headers, and the block, kept aside meanwhile, is placed once they
        are in, without asking anyone for it again (its sender would not serve it
        twice on one connection: a late node stalled until another peer was asked).
        """
        node, _ = self.make_node(0, 0)
        a, b = FakePeer("10.0.0.1", 3, nonce=1), FakePeer("10.0.0.2", 3, nonce=2)
        self.join(a, b, node=node)
        node.controller.message_received(a, "inv", InvPayload(InventoryType.Block, (LONG[1].hash,)))
        self.assertEqual(self.getdata(a), [(LONG[1].hash,)])
        node.controller.message_received(a, "block", LONG[1])
        self.assertIsNone(a.dropped)
        self.assertFalse(node.block_sync.holds(LONG[1].hash))
        self.assertFalse(node.requests.is_done(LONG[1].hash))
        self.assertEqual(len(a.take("getheaders")), 1)  # asked when it joined
        self.assertEqual(len(node.awaiting_header), 1)
        node.controller.message_received(a, "headers", HeadersPayload(tuple(headers_of(LONG[:3]))))
        self.assertEqual(len(node.awaiting_header), 0)
        self.assertTrue(node.block_sync.holds(LONG[1].hash))
        node.controller.message_received(b, "inv", InvPayload(InventoryType.Block, (LONG[1].hash,)))
        self.assertEqual(self.getdata(b), [])


class UnrequestedBlockTests(NodeCase):
    """
    A block nobody asked for is taken only when it is the next one; otherwise its
    sender is disconnected (issue 20, attack 5).
    """

    HEADERS = 2100
    BLOCKS = 5

    def test_next_block_taken(self) -> None:
        a = FakePeer("10.0.0.1", 2100)
        self.join(a)
        self.node.controller.message_received(a, "block", LONG[5])
        self.assertEqual(self.node.block_height, 6)

    def test_far_ahead_block_ignored(self) -> None:
        """
        A block beyond the sync window is not kept, and its sender is dropped (a
        disconnection only: nothing shows the block invalid).
        """
        a = FakePeer("10.0.0.1", 2100)
        self.join(a)
        self.node.controller.message_received(a, "block", LONG[2050])
        ledger = self.node.ledger.ledger
        assert ledger is not None
        self.assertFalse(self.node.block_sync.holds(LONG[2050].hash))
        self.assertFalse(ledger.is_pending(LONG[2050].hash, 2051))
        self.assertEqual(a.last_block_index, 2100)
        self.assertEqual(a.dropped, ("sent block 2051 unasked, which cannot be next",
                                     Fault.UNASKED_BLOCK))
        self.assertIs(Fault.UNASKED_BLOCK.response, Response.DISCONNECT)

    def test_block_of_our_headers_not_next(self) -> None:
        """
        Even a block of our verified headers is not taken unasked unless it is next.
        """
        a = FakePeer("10.0.0.1", 2100)
        self.join(a)
        self.node.controller.message_received(a, "block", LONG[10])
        self.assertFalse(self.node.block_sync.holds(LONG[10].hash))
        assert a.dropped is not None
        self.assertIs(a.dropped[1], Fault.UNASKED_BLOCK)

    def test_stored_block_ignored(self) -> None:
        a = FakePeer("10.0.0.1", 2100)
        self.join(a)
        self.node.controller.message_received(a, "block", LONG[2])
        self.assertIsNone(a.dropped)

    def test_next_block_of_another_chain(self) -> None:
        """
        A next block that is not our verified header at its height is another chain's:
        its sender is dropped (not discouraged: it may be honest on a fork).
        """
        a = FakePeer("10.0.0.1", 2100)
        self.join(a)
        self.node.controller.message_received(
            a, "block", make_block(LONG[4].header, sign=False, nonce=99))
        assert a.dropped is not None
        self.assertIs(a.dropped[1], Fault.FOREIGN_BLOCK)
        self.assertIs(Fault.FOREIGN_BLOCK.response, Response.DISCONNECT)
        self.assertEqual(self.node.block_height, 5)


class AtTheTipTests(NodeCase):
    """
    At the tip an announced block we have no header for may be the next one: the
    first is fetched at once, the others wait for their headers (issue 20, attack 5).
    """

    HEADERS = 5
    BLOCKS = 5

    def test_one_unknown_block_fetched_at_once(self) -> None:
        a = FakePeer("10.0.0.1", 5)
        self.join(a)
        a.take()
        self.inv(a, LONG[5].hash, LONG[6].hash, UNKNOWN)
        self.assertEqual(self.getdata(a), [(LONG[5].hash,)])
        self.assertEqual(len(a.take("getheaders")), 1)
        self.inv(a, LONG[6].hash)  # one in flight already
        self.assertEqual(self.getdata(a), [])
        self.node.controller.message_received(a, "block", LONG[5])
        self.assertEqual(self.node.block_height, 6)
        self.inv(a, LONG[6].hash)
        self.assertEqual(self.getdata(a), [(LONG[6].hash,)])

    def test_fetched_block_far_ahead_drops_its_sender(self) -> None:
        """
        A block fetched as a possible next one that lies beyond the window is a made-up
        chain's: its sender is dropped.
        """
        a = FakePeer("10.0.0.1", 5)
        self.join(a)
        self.inv(a, LONG[2090].hash)
        self.assertEqual(self.getdata(a), [(LONG[2090].hash,)])
        self.node.controller.message_received(a, "block", LONG[2090])
        assert a.dropped is not None
        self.assertIn("beyond the window", a.dropped[0])
        self.assertIs(a.dropped[1], Fault.BLOCK_BEYOND)
        self.assertEqual(self.node.block_sync.buffered, 0)


class RefetchTests(NodeCase):
    """
    A block refused for a full early-block buffer is asked for again through the
    request table, so that its answer counts as requested.
    """

    HEADERS = 2100
    BLOCKS = 0

    def test_refused_block_asked_again(self) -> None:
        self.node.block_sync._early.max_bytes = 3 * LONG[0].size
        a = FakePeer("10.0.0.1", 2100)
        self.join(a)
        hashes = [block.hash for block in LONG[:6]]
        self.inv(a, *hashes)
        self.assertEqual(self.getdata(a), [tuple(hashes)])
        for block in LONG[1:6]:
            self.node.controller.message_received(a, "block", block)
        self.assertEqual(self.node.block_sync.buffered, 3)
        self.assertFalse(self.node.requests.is_done(LONG[5].hash))
        self.node.controller.message_received(a, "block", LONG[0])
        self.assertEqual(self.node.block_height, 3)
        self.assertEqual(self.getdata(a), [(LONG[3].hash, LONG[4].hash, LONG[5].hash)])
        self.assertIs(self.node.requests.requested_from(LONG[5].hash), a)
        for block in LONG[3:6]:
            self.node.controller.message_received(a, "block", block)
        self.assertEqual(self.node.block_height, 6)
        self.assertIsNone(a.dropped)
