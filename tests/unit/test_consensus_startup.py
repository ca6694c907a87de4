"""
A validator just started waits for its peers before its first rounds
(L{neo_twisted.consensus.startup}): the fork C{neonode localnet} once made when
three empty validators agreed on blocks before the node holding the chain answered.
"""

from __future__ import annotations

from typing import Any

import attrs
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.consensus.startup import STARTUP_HOLD, StartupHold
from tests.support.consensus_network import CHAIN, Member, Network
from tests.support.ledger_samples import DEV_KEYS, PRIVNET
from tests.support.p2p_fakes import FakePeer


@attrs.define
class Connections:
    dialling_count: int = 0
    peer_count: int = 0


@attrs.define
class FakeNode:
    """
    What the hold reads of a node: its height, its established peers, its connections.
    """

    block_height: int = 10
    peers: list[FakePeer] = attrs.Factory(list)
    connections: Connections = attrs.Factory(Connections)

    def established_peers(self) -> list[Any]:
        return list(self.peers)


class StartupHoldTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.hold = StartupHold(self.clock)
        self.node = FakeNode()

    def reason(self) -> str | None:
        return self.hold.reason(self.node)  # type: ignore[arg-type]

    def test_dials_in_progress(self) -> None:
        self.node.connections.dialling_count = 1
        self.assertEqual(self.reason(), "still connecting to peers")

    def test_handshakes_in_progress(self) -> None:
        self.node.peers = [FakePeer("10.0.0.1", 10)]
        self.node.connections.peer_count = 2
        self.assertEqual(self.reason(), "still connecting to peers")

    def test_a_peer_reports_a_longer_chain(self) -> None:
        self.node.peers = [FakePeer("10.0.0.1", 10), FakePeer("10.0.0.2", 11, nonce=2)]
        self.node.connections.peer_count = 2
        self.assertEqual(self.reason(), "a peer reports a longer chain")
        self.node.block_height = 11  # the blocks came: nothing to wait for
        self.assertIsNone(self.reason())

    def test_over_for_good_once_peers_agree(self) -> None:
        """
        Peers heard, none ahead: a later claim (from a liar, say) holds nothing.
        """
        self.node.peers = [FakePeer("10.0.0.1", 10)]
        self.node.connections.peer_count = 1
        self.assertIsNone(self.reason())
        self.node.peers.append(FakePeer("10.6.6.6", 0xFFFFFFFF, nonce=2))
        self.node.connections.peer_count = 2
        self.assertIsNone(self.reason())

    def test_alone_the_hold_goes_on_for_peers_to_come(self) -> None:
        """
        No peer yet and none being dialled: no reason to wait now, but a peer that comes
        in the first seconds with a longer chain still holds the rounds.
        """
        self.assertIsNone(self.reason())
        self.node.peers = [FakePeer("10.0.0.1", 20)]
        self.node.connections.peer_count = 1
        self.assertEqual(self.reason(), "a peer reports a longer chain")

    def test_bounded(self) -> None:
        """
        A peer lying about its height holds a restarting validator L{STARTUP_HOLD}
        seconds, once.
        """
        self.node.peers = [FakePeer("10.6.6.6", 0xFFFFFFFF)]
        self.node.connections.peer_count = 1
        self.clock.advance(STARTUP_HOLD - 0.5)
        self.assertIsNotNone(self.reason())
        self.clock.advance(0.5)
        self.assertIsNone(self.reason())
        self.clock.advance(-STARTUP_HOLD)  # the hold never comes back
        self.assertIsNone(self.reason())


class EmptyValidatorsTests(SynchronousTestCase):
    """
    Four validators on a one-second chain, in memory on one clock: three of them (M)
    hear from a peer that reports a longer chain it has not shown yet.
    """

    def start(self, claim: int | None) -> tuple[Network, list[Member]]:
        settings = attrs.evolve(PRIVNET, seconds_per_block=1)
        net = Network(self)
        members = [Member(self, net.clock, i + 1, key, CHAIN, settings=settings)
                   for i, key in enumerate(DEV_KEYS)]
        net.mesh(members[1:])
        if claim is not None:
            for member in members[1:]:
                member.node.controller.peer_established(
                    FakePeer("10.0.0.1", claim, inbound=True, nonce=50 + member.number))
        for member in members[1:]:
            member.start()
        return net, members

    def test_they_wait_for_the_longer_chain(self) -> None:
        """
        Before: the three agreed on block 4 within two seconds, on their own tip, and a
        chain the first node already held past it was forked for good. Now they wait.
        """
        net, members = self.start(len(CHAIN) + 300)
        net.run(members[1:], STARTUP_HOLD - 1, step=0.5)
        self.assertEqual([m.height for m in members[1:]], [len(CHAIN)] * 3)

    def test_the_wait_is_bounded(self) -> None:
        """
        A claim nobody shows (a liar, or a peer that went away) holds them
        L{STARTUP_HOLD} seconds, then they go on.
        """
        net, members = self.start(len(CHAIN) + 300)
        net.run(members[1:], STARTUP_HOLD + 5, step=0.5)
        self.assertGreater(min(m.height for m in members[1:]), len(CHAIN))

    def test_without_a_claim_no_wait(self) -> None:
        net, members = self.start(None)
        net.run(members[1:], 3, step=0.5,
                until=lambda: min(m.height for m in members[1:]) > len(CHAIN))
        self.assertGreater(min(m.height for m in members[1:]), len(CHAIN))
