"""
Real nodes (policy, connections, ledgers) over L{twisted.test.iosim} connections on one
L{Clock}: a chain the first node holds, one node of a test, and a test case joining them.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.test.iosim import FakeTransport, IOPump, connect
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.ledger.chain import Ledger
from neo_twisted.p2p.factory import PeerFactory
from neo_twisted.p2p.protocol import PeerProtocol
from tests.support.ledger_samples import PRIVNET, PRIVNET_GENESIS, headers_of, make_blocks
from tests.support.node_policy_helpers import make_policy
from tests.support.p2p_fakes import FakePeer, ledger_service

CHAIN = make_blocks(PRIVNET_GENESIS.header, 1203, sign=False)
#: The chain the first node holds; the blocks after it are mined during the tests.
LENGTH = 1200


class Peer:
    """
    One node of a test: its policy, its fake connection service, its two factories.
    """

    def __init__(self, case: SynchronousTestCase, clock: Clock, number: int,
                 blocks: int = 0) -> None:
        self.address = f"10.0.0.{number}"
        self.service = ledger_service(case)
        ledger = self.ledger
        if blocks:
            ledger.add_headers(headers_of(CHAIN[:blocks]))
            ledger.add_blocks(CHAIN[:blocks])
            case.assertEqual(ledger.block_height, blocks)
        self.node, self.connections = make_policy(self.service, clock,
                                                  user_agent=f"/node{number}/", nonce=number)
        self.dialling = PeerFactory(self.node.controller, PRIVNET.magic, clock, inbound=False)
        self.accepting = PeerFactory(self.node.controller, PRIVNET.magic, clock, inbound=True)

    @property
    def ledger(self) -> Ledger:
        ledger = self.service.ledger
        assert ledger is not None
        return ledger


class NetworkCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.pumps: list[IOPump] = []
        self.ports = iter(range(40000, 41000))

    def dial(self, client: Peer, server: Peer) -> tuple[PeerProtocol, PeerProtocol]:
        """
        Connect C{client} (outbound) to C{server} (inbound); return both ends, the
        client's first, with the handshake done.
        """
        outbound = client.dialling.buildProtocol(None)
        inbound = server.accepting.buildProtocol(None)
        client_address = IPv4Address("TCP", client.address, next(self.ports))
        server_address = IPv4Address("TCP", server.address, 20333)
        self.pumps.append(connect(
            inbound, FakeTransport(inbound, True, server_address, client_address),
            outbound, FakeTransport(outbound, False, client_address, server_address),
            greet=False, clock=self.clock))
        self.settle()
        self.assertTrue(outbound.established and inbound.established)
        return outbound, inbound

    def settle(self) -> None:
        """
        Pump every connection until no byte moves on any.
        """
        for _ in range(10_000):
            if not any([pump.pump() for pump in self.pumps]):
                return
        self.fail("the connections never went quiet")

    def assert_same_chain(self, ours: Peer, theirs: Peer, height: int) -> None:
        self.assertEqual((ours.ledger.header_height, ours.ledger.block_height),
                         (height, height))
        self.assertEqual((theirs.ledger.header_height, theirs.ledger.block_height),
                         (height, height))
        for index in (0, 1, 499, 500, 501, 1000, 1001, height - 1, height):
            self.assertEqual(ours.ledger.get_block_hash(index),
                             theirs.ledger.get_block_hash(index), index)
        self.assertEqual(ours.ledger.get_block(height), theirs.ledger.get_block(height))

    def mine(self, node: Peer, block: Block) -> FakePeer:
        """
        C{block} reaches C{node} from a fake peer (as a newly mined block would); return
        that peer.
        """
        miner = FakePeer("10.9.9.9", block.index, nonce=99)
        node.node.controller.peer_established(miner)
        node.node.controller.message_received(miner, "block", block)
        self.assertEqual(node.ledger.block_height, block.index)
        return miner
