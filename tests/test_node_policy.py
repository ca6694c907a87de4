"""
Tests for L{neo_twisted.node.policy.Node}: what the node does with each message of an
established peer (requests, relay, routing, versions, syncs), with fake peers and a clock.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import attrs
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import AssumeValid
from neo_twisted.network.payloads import (
    AddrPayload,
    EmptyPayload,
    GetBlocksPayload,
    HeadersPayload,
    InventoryType,
    InvPayload,
    NetworkAddressWithTime,
    Payload,
    RawPayload,
    decode_payload,
)
from neo_twisted.node.policy import PEER_BLOCK_HASHES, Node
from neo_twisted.p2p.controller import PeerController, PeerRecord
from neo_twisted.p2p.faults import Fault, Response
from neo_twisted.p2p.interfaces import Endpoint, IAdmission, IPeer, IPeerObserver
from neo_twisted.wire.uint import ZERO_UINT256, UInt256
from tests.ledger_samples import (
    PRIVNET,
    PRIVNET_GENESIS,
    headers_of,
    make_block,
    make_blocks,
)
from tests.p2p_fakes import FakePeer, ledger_service

LONG = make_blocks(PRIVNET_GENESIS.header, 2100, sign=False)
UNKNOWN = UInt256(b"\x07" * 32)


class FakeBook:
    def __init__(self) -> None:
        self.own: list[Endpoint] = []

    def add_own(self, endpoint: Endpoint) -> None:
        self.own.append(endpoint)


@implementer(IAdmission, IPeerObserver)
class FakeConnections:
    """
    Stands in for the node's L{neo_twisted.p2p.connections.ConnectionService}: subscribes
    to the controller as the service does, records what it is asked and told, and
    refuses versions with L{verdict}.
    """

    def __init__(self, controller: PeerController, listening_port: int | None = 20333) -> None:
        controller.use_admission(self)
        controller.subscribe(self)
        self.listening_port = listening_port
        self.book = FakeBook()
        self.verdict: str | None = None
        self.calls: list[tuple[Any, ...]] = []
        self.dialling_count = 0
        self.peer_count = 0

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [call[1:] for call in self.calls if call[0] == name]

    def check_version(self, peer: IPeer, version: object) -> str | None:
        self.calls.append(("check_version", peer, version))
        return self.verdict

    def connected_to_self(self, peer: IPeer) -> None:
        self.book.add_own(peer.remote)

    def peer_established(self, peer: IPeer) -> None:
        self.calls.append(("peer_established", peer))

    def message_received(self, peer: IPeer, command: str, payload: Payload) -> None:
        if command == "getaddr":
            self.getaddr_received(peer)
        elif command == "addr":
            assert isinstance(payload, AddrPayload)
            self.addresses_received(peer, payload)

    def peer_lost(self, peer: IPeer, record: PeerRecord, reason: str,
                  fault: Fault | None) -> None:
        self.calls.append(("peer_lost", peer, reason, fault))

    def fault_ignored(self, peer: IPeer, fault: Fault) -> None:
        self.calls.append(("fault_ignored", peer, fault))

    def addresses_received(self, peer: IPeer, payload: AddrPayload) -> None:
        self.calls.append(("addresses_received", peer, payload))

    def getaddr_received(self, peer: IPeer) -> None:
        self.calls.append(("getaddr_received", peer))


def make_policy(ledger: LedgerService, clock: IReactorTime, *, port: int | None = 20333,
                **options: Any) -> tuple[Node, FakeConnections]:
    """
    A node wired as L{neo_twisted.node.service.make_node_service} wires one: a
    controller, then the (fake) connection service, then the node.
    """
    controller = PeerController(clock)
    connections = FakeConnections(controller, port)
    node = Node(ledger, clock, controller, connections,  # type: ignore[arg-type]
                **options)
    return node, connections


class NodeCase(SynchronousTestCase):
    """
    A node on a fresh privnet ledger holding C{HEADERS} headers and C{BLOCKS} blocks.
    """

    HEADERS = 0
    BLOCKS = 0

    def setUp(self) -> None:
        self.clock = Clock()
        self.node, self.connections = self.make_node(self.HEADERS, self.BLOCKS)

    def make_node(self, headers: int, blocks: int) -> tuple[Node, FakeConnections]:
        ledger = ledger_service(self)
        chain = ledger.ledger
        assert chain is not None
        self.assertEqual(chain.add_headers(headers_of(LONG[:headers])).added, headers)
        chain.add_blocks(LONG[:blocks])
        self.assertEqual((chain.header_height, chain.block_height), (headers, blocks))
        return make_policy(ledger, self.clock, user_agent="/t/", nonce=7)

    def join(self, *peers: FakePeer, node: Node | None = None) -> None:
        for peer in peers:
            (node or self.node).controller.peer_established(peer)

    def inv(self, peer: FakePeer, *items: UInt256,
            kind: InventoryType = InventoryType.Block) -> None:
        self.node.controller.message_received(peer, "inv", InvPayload(kind, items))

    def getdata(self, peer: FakePeer) -> list[tuple[UInt256, ...]]:
        """
        The hashes of each C{getdata} C{peer} was sent, forgetting them.
        """
        found = []
        for payload in peer.take("getdata"):
            self.assertIsInstance(payload, InvPayload)
            self.assertIs(payload.type, InventoryType.Block)
            found.append(payload.hashes)
        return found

    def invs(self, peer: FakePeer) -> list[tuple[UInt256, ...]]:
        return [payload.hashes for payload in peer.take("inv")]


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


class RelayTests(NodeCase):
    """
    Blocks accepted near the tip are announced to the peers that lack them.
    """

    def setUp(self) -> None:
        super().setUp()
        self.sender, self.plain, self.quiet, self.announcer = (
            FakePeer(f"10.0.0.{i}", nonce=i) for i in (1, 2, 3, 4))
        assert self.quiet.version is not None
        self.quiet.version = attrs.evolve(self.quiet.version, relay=False)
        self.join(self.sender, self.plain, self.quiet, self.announcer)
        self.block = LONG[0]
        self.inv(self.sender, self.block.hash)
        self.inv(self.announcer, self.block.hash)
        self.assertEqual(self.getdata(self.sender), [(self.block.hash,)])
        self.node.controller.message_received(self.sender, "block", self.block)
        self.assertEqual(self.node.block_height, 1)

    def test_relayed_to_peers_that_lack_it(self) -> None:
        """
        Not to the sender, nor to a peer that does not want relays, nor to one that
        announced the block to us.
        """
        self.assertEqual(self.invs(self.plain), [(self.block.hash,)])
        for peer in (self.sender, self.quiet, self.announcer):
            self.assertEqual(self.invs(peer), [], peer)

    def test_not_relayed_twice_within_30_s(self) -> None:
        """
        A block accepted again is not relayed again for 30 s, and never twice to a peer.
        """
        self.invs(self.plain)
        late = FakePeer("10.0.0.5", nonce=5)
        self.join(late)
        self.clock.advance(30)
        self.node._blocks_accepted([self.block], None)
        self.assertEqual((self.invs(late), self.invs(self.plain)), ([], []))
        self.clock.advance(0.5)
        self.node._blocks_accepted([self.block], None)
        self.assertEqual(self.invs(late), [(self.block.hash,)])
        self.assertEqual(self.invs(self.plain), [])

    def test_relayed_block_served(self) -> None:
        """
        getdata for the relayed block gets it (from the relay cache), and a stored block
        from the store, each once per connection.
        """
        self.assertIn(self.block.hash, self.node.relay_cache)
        request = InvPayload(InventoryType.Block, (self.block.hash, PRIVNET_GENESIS.hash))
        self.node.controller.message_received(self.plain, "getdata", request)
        self.node.controller.message_received(self.plain, "getdata", request)
        self.assertEqual(self.plain.take("block"), [RawPayload(self.block.to_bytes()),
                                                    RawPayload(PRIVNET_GENESIS.to_bytes())])


class NearTipTests(NodeCase):
    HEADERS = 150

    def test_only_blocks_near_the_tip_relayed(self) -> None:
        """
        Of blocks persisted through the block path, only those within 100 of the header
        tip are relayed.
        """
        a, b = FakePeer("10.0.0.1", 150, nonce=1), FakePeer("10.0.0.2", 150, nonce=2)
        self.join(a, b)
        for block in LONG[:60]:
            self.node.controller.message_received(a, "block", block)
        self.assertEqual(self.node.block_height, 60)
        relayed = [h for hashes_ in self.invs(b) for h in hashes_]
        self.assertEqual(relayed, [block.hash for block in LONG[49:60]])
        self.assertEqual(self.invs(a), [])

    def test_only_newest_of_a_batch_relayed(self) -> None:
        a, b = FakePeer("10.0.0.1", 150, nonce=1), FakePeer("10.0.0.2", 150, nonce=2)
        self.join(a, b)
        self.node._blocks_accepted(LONG[140:150], a)
        self.assertEqual(self.invs(b), [(LONG[148].hash,), (LONG[149].hash,)])
        self.assertEqual(self.invs(a), [])


class RoutingTests(NodeCase):
    BLOCKS = HEADERS = 5

    def test_addresses_go_to_connections(self) -> None:
        a = FakePeer("10.0.0.1")
        self.join(a)
        addr = AddrPayload((NetworkAddressWithTime(
            1, 1, ipaddress.IPv4Address("10.1.2.3"), 20333),))
        self.node.controller.message_received(a, "getaddr", EmptyPayload())
        self.node.controller.message_received(a, "addr", addr)
        self.assertEqual([c[0] for c in self.connections.calls],
                         ["peer_established", "getaddr_received", "addresses_received"])
        self.assertEqual(self.connections.named("getaddr_received"), [(a,)])
        self.assertEqual(self.connections.named("addresses_received"), [(a, addr)])

    def test_unknown_peer_ignored(self) -> None:
        """
        Messages of a peer the node was not told is established do nothing; a lost
        peer's loss still reaches the connections.
        """
        stranger = FakePeer("10.0.0.9")
        for command, payload in (
                ("getaddr", EmptyPayload()),
                ("inv", InvPayload(InventoryType.Block, (LONG[5].hash,))),
                ("getheaders", GetBlocksPayload((PRIVNET_GENESIS.hash,))),
                ("getdata", InvPayload(InventoryType.Block, (LONG[0].hash,)))):
            self.node.controller.message_received(stranger, command, payload)
        self.assertEqual((stranger.sent, self.connections.calls), ([], []))
        self.node.controller.peer_lost(stranger, "refused", Fault.HANDSHAKE_ORDER)
        self.assertEqual(self.connections.calls,
                         [("peer_lost", stranger, "refused", Fault.HANDSHAKE_ORDER)])

    def test_getheaders_and_getblocks_answered(self) -> None:
        a = FakePeer("10.0.0.1", 5)
        self.join(a)
        a.take()
        start = GetBlocksPayload((LONG[1].hash,), ZERO_UINT256)
        self.node.controller.message_received(a, "getheaders", start)
        self.node.controller.message_received(a, "getblocks", start)
        [raw] = a.take("headers")
        headers = decode_payload("headers", raw.to_bytes())
        assert isinstance(headers, HeadersPayload)
        self.assertEqual(list(headers.headers), headers_of(LONG[2:5]))
        self.assertEqual(self.invs(a), [tuple(block.hash for block in LONG[2:5])])
        self.assertEqual(a.sent, [])


class VersionTests(NodeCase):
    BLOCKS = HEADERS = 5

    def test_self_connection_outbound(self) -> None:
        """
        Our own nonce: refused, and the endpoint we dialled is recorded as our own.
        """
        me = FakePeer("10.0.0.1", nonce=7)
        assert me.version is not None
        self.assertIsNotNone(self.node.controller.check_version(me, me.version))
        self.assertEqual(self.connections.book.own, [me.remote])
        self.assertEqual(self.connections.calls, [])

    def test_self_connection_inbound(self) -> None:
        me = FakePeer("10.0.0.1", nonce=7, inbound=True)
        assert me.version is not None
        self.assertIsNotNone(self.node.controller.check_version(me, me.version))
        self.assertEqual((self.connections.book.own, self.connections.calls), ([], []))

    def test_other_nonce_delegated(self) -> None:
        other = FakePeer("10.0.0.1", nonce=8)
        assert other.version is not None
        self.assertIsNone(self.node.controller.check_version(other, other.version))
        self.connections.verdict = "too many"
        self.assertEqual(self.node.controller.check_version(other, other.version), "too many")
        self.assertEqual(self.connections.named("check_version"),
                         [(other, other.version)] * 2)
        self.assertEqual(self.connections.book.own, [])

    def test_local_version(self) -> None:
        self.clock.advance(1234.5)
        version = self.node.controller.local_version(FakePeer())
        self.assertEqual((version.nonce, version.user_agent, version.port,
                          version.start_height, version.timestamp, version.relay),
                         (7, "/t/", 20333, 5, 1234, True))
        self.assertEqual(self.node.current_height(), 5)
        self.connections.listening_port = None
        self.assertEqual(self.node.controller.local_version(FakePeer()).port, 0)


class SyncTests(NodeCase):
    HEADERS = 20

    def test_taller_peer_asked_for_headers(self) -> None:
        """
        A peer above our header height is asked for headers with a locator from our
        header tip; one that is not, is not.
        """
        low = FakePeer("10.0.0.1", 20, nonce=1)
        self.join(low)
        self.assertEqual(low.take("getheaders"), [])
        tall = FakePeer("10.0.0.2", 30, nonce=2)
        self.join(tall)
        self.assertEqual(tall.take("getheaders"),
                         [GetBlocksPayload((*(LONG[i - 1].hash for i in (20, 19, 18, 16, 12, 4)),
                                            PRIVNET_GENESIS.hash), ZERO_UINT256)])
        self.assertEqual(self.connections.named("peer_established"), [(low,), (tall,)])

    def test_headers_first(self) -> None:
        """
        Blocks are asked for once the headers are near the tip: not while full batches
        of headers keep coming.
        """
        node, _ = self.make_node(0, 0)
        tall = FakePeer("10.0.0.2", 2100, nonce=2)
        self.join(tall, node=node)
        self.assertEqual(len(tall.take("getheaders")), 1)
        node.controller.message_received(
            tall, "headers", HeadersPayload(tuple(headers_of(LONG[:2000]))))
        self.assertEqual(node.header_height, 2000)
        self.assertEqual(tall.take("getblocks"), [])
        node.controller.message_received(tall, "headers",
                              HeadersPayload(tuple(headers_of(LONG[2000:2100]))))
        self.assertEqual(node.header_height, 2100)
        self.assertEqual(len(tall.take("getblocks")), 1)  # one at a time: then the next
        node.controller.message_received(tall, "inv", InvPayload(InventoryType.Block,
                                                      tuple(b.hash for b in LONG[:500])))
        self.assertEqual(len(tall.take("getblocks")), 1)

    def test_stop(self) -> None:
        """
        After C{stop} nobody is asked for headers, blocks or announced items, not even
        when a peer holding a request is lost or a request times out.
        """
        node, _ = self.make_node(20, 0)
        a, b = FakePeer("10.0.0.1", 30, nonce=1), FakePeer("10.0.0.2", 30, nonce=2)
        self.join(a, b, node=node)
        self.assertEqual({c for c, _ in a.sent}, {"getheaders", "getblocks"})
        for peer in (a, b):
            node.controller.message_received(
                peer, "inv", InvPayload(InventoryType.Block, (LONG[3].hash,)))
        self.assertEqual(self.getdata(a), [(LONG[3].hash,)])
        a.take()
        b.take()
        node.stop()
        late = FakePeer("10.0.0.3", 30, nonce=3)
        self.join(late, node=node)
        for peer in (b, late):
            node.controller.message_received(
                peer, "inv", InvPayload(InventoryType.Block, (LONG[4].hash,)))
        node.controller.peer_lost(a, "gone", None)
        self.clock.advance(100)
        node.tick()
        self.assertEqual((b.sent, late.sent), ([], []))


class SyncingGateTests(NodeCase):
    """
    C{Node.syncing} (what keeps a validator from proposing and signing) believes proof,
    not claims (issue 20, attack 2).
    """

    HEADERS = 20
    BLOCKS = 20

    def liar(self, nonce: int = 1) -> FakePeer:
        return FakePeer("10.6.6.6", 0xFFFFFFFF, inbound=True, nonce=nonce)

    def test_claims_prove_nothing(self) -> None:
        """
        A peer claiming height 0xFFFFFFFF (version, ping) and announcing unknown blocks is
        asked for headers, but the node is not syncing for it, before or after the timeout.
        """
        liar = self.liar()
        self.join(liar)
        self.inv(liar, UNKNOWN)
        self.assertEqual(len(liar.take("getheaders")), 1)
        self.assertFalse(self.node.syncing)
        self.clock.advance(30)
        self.assertIsNotNone(liar.dropped)
        self.assertFalse(self.node.syncing)

    def test_verified_headers_ahead(self) -> None:
        """
        Headers whose witnesses were checked past our blocks make the node syncing, until
        their blocks come, or for the gate's limit if nothing comes at all.
        """
        node, _ = self.make_node(20, 18)
        self.assertTrue(node.syncing)
        node.ledger.ledger.add_blocks(LONG[18:19])  # type: ignore[union-attr]
        self.clock.advance(119)
        node.tick()
        self.assertTrue(node.syncing)
        self.clock.advance(1)
        self.assertTrue(node.syncing, "a block came 1 s ago")
        self.clock.advance(120)
        node.tick()
        self.assertFalse(node.syncing, "nothing new for the limit")
        node.ledger.ledger.add_blocks(LONG[19:20])  # type: ignore[union-attr]
        self.assertFalse(node.syncing, "level")

    def test_liar_reconnecting_is_paused(self) -> None:
        """
        A liar dropped for leaving getheaders unanswered is not asked again from its
        address for a while, however often it comes back.
        """
        liar = self.liar(1)
        self.join(liar)
        self.clock.advance(30)
        self.node.controller.peer_lost(liar, "no headers", None)
        for nonce in range(2, 5):
            again = self.liar(nonce)
            self.join(again)
            self.inv(again, UNKNOWN)
            self.assertEqual(again.take("getheaders"), [])
            self.node.controller.peer_lost(again, "gone", None)
            self.clock.advance(5)
