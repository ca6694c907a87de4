"""
Shared pieces of the tests of L{neo_twisted.node.policy.Node}: a long privnet chain, a
fake connection service standing in for L{neo_twisted.p2p.connections.ConnectionService},
L{make_policy} wiring a node as the node service does, and a test case holding a node on a
fresh ledger.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from neo_twisted.ledger.service import LedgerService
from neo_twisted.network.payloads import AddrPayload, InventoryType, InvPayload, Payload
from neo_twisted.node.policy import Node
from neo_twisted.p2p.controller import PeerController, PeerRecord
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import Endpoint, IAdmission, IPeer, IPeerObserver
from neo_twisted.wire.uint import UInt256
from tests.support.ledger_samples import PRIVNET_GENESIS, headers_of, make_blocks
from tests.support.p2p_fakes import FakePeer, ledger_service

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
