"""
Validators and relays in memory: real nodes (policy, mempool, ledger with real
witness checks, consensus) over L{twisted.test.iosim} connections, on one L{Clock}.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import cast

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.test.iosim import FakeTransport, IOPump, connect
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.consensus.service import ConsensusService
from neo_twisted.core.block import Block
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.generator import ChainGenerator
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.verify import serial_map
from neo_twisted.mempool.service import MempoolService
from neo_twisted.offreactor import Synchronous
from neo_twisted.p2p.factory import PeerFactory
from neo_twisted.p2p.protocol import PeerProtocol
from neo_twisted.reactors import INodeReactor
from tests.support.ledger_samples import DEV_KEYS, PRIVNET
from tests.support.node_policy_helpers import make_policy

#: Where the shared clock starts: after any generated chain's timestamps.
START = 1_700_000_000.0
SECONDS = PRIVNET.seconds_per_block
#: The chain the members start from (three generated blocks), and the coins after it.
GENERATOR = ChainGenerator(PRIVNET, DEV_KEYS, 2, seed=9)
CHAIN = [GENERATOR.next_block() for _ in range(3)]
COINS = GENERATOR.coins()


class Member:
    """
    One node of a test network: a validator when it has a key, else a plain relay.
    """

    def __init__(self, case: SynchronousTestCase, clock: Clock, number: int,
                 key: KeyPair | None, chain: Sequence[Block] = (), *,
                 settings: ProtocolSettings = PRIVNET) -> None:
        self.number = number
        self.address = f"10.0.0.{number}"
        self.service = LedgerService(case.mktemp(), settings, off_reactor=Synchronous,
                                     mapper=serial_map)
        self.service.startService()
        case.addCleanup(self.service.stopService)
        if chain:
            self.ledger.add_blocks(chain)
        self.mempool = MempoolService(self.service, settings, off_reactor=Synchronous,
                                      reactor=cast(INodeReactor, clock))
        self.mempool.startService()
        case.addCleanup(self.mempool.stopService)
        self.node, _ = make_policy(self.service, clock, user_agent=f"/member{number}/",
                                   nonce=number, mempool=self.mempool)
        controller = self.node.controller
        self.dialling = PeerFactory(controller, settings.magic, clock, inbound=False)
        self.accepting = PeerFactory(controller, settings.magic, clock, inbound=True)
        self.consensus = None if key is None else ConsensusService(
            self.node, key, clock, rng=random.Random(number))
        case.addCleanup(self.stop)

    @property
    def ledger(self) -> Ledger:
        ledger = self.service.ledger
        assert ledger is not None
        return ledger

    @property
    def height(self) -> int:
        return self.ledger.block_height

    def start(self) -> None:
        if self.consensus is not None and not self.consensus.running:
            self.consensus.startService()

    def stop(self) -> None:
        if self.consensus is not None and self.consensus.running:
            self.consensus.stopService()

    def __repr__(self) -> str:
        return f"<Member {self.number}>"


class Network:
    """
    The members' connections, pumped by hand, and the clock they share.
    """

    def __init__(self, case: SynchronousTestCase) -> None:
        self.case = case
        self.clock = Clock()
        self.clock.advance(START)
        self.links: dict[tuple[Member, Member], tuple[IOPump, PeerProtocol, PeerProtocol]] = {}
        self._ports = iter(range(40000, 50000))

    def dial(self, client: Member, server: Member) -> tuple[PeerProtocol, PeerProtocol]:
        outbound = client.dialling.buildProtocol(None)
        inbound = server.accepting.buildProtocol(None)
        client_address = IPv4Address("TCP", client.address, next(self._ports))
        server_address = IPv4Address("TCP", server.address, 20333)
        pump = connect(
            inbound, FakeTransport(inbound, True, server_address, client_address),
            outbound, FakeTransport(outbound, False, client_address, server_address),
            greet=False, clock=self.clock)
        self.links[(client, server)] = (pump, outbound, inbound)
        self.settle()
        self.case.assertTrue(outbound.established and inbound.established)
        return outbound, inbound

    def mesh(self, members: Sequence[Member]) -> None:
        for i, client in enumerate(members):
            for server in members[i + 1:]:
                self.dial(client, server)

    def cut(self, member: Member) -> None:
        """
        Drop every connection of C{member}.
        """
        for (a, b), (_, outbound, _) in list(self.links.items()):
            if member in (a, b):
                outbound.disconnect("cut by the test")
        self.settle()
        for key in [k for k in self.links if member in k]:
            del self.links[key]

    def settle(self) -> None:
        for _ in range(100_000):
            if not any([pump.pump() for pump, _, _ in list(self.links.values())]):
                return
        self.case.fail("the connections never went quiet")

    def run(self, members: Sequence[Member], seconds: float, *,
            until: Callable[[], bool] | None = None, step: float = 1.0) -> None:
        """
        Let C{seconds} pass in steps, delivering everything after each (ticks every 5 s),
        stopping early once C{until()} holds.
        """
        elapsed = 0.0
        while elapsed < seconds:
            self.clock.advance(step)
            elapsed += step
            if int(elapsed) % 5 == 0:
                for member in members:
                    member.node.tick()
            self.settle()
            if until is not None and until():
                return

    def messages(self, command: str) -> dict[tuple[Member, Member], tuple[int, int]]:
        """
        Per link: C{command} messages received by the dialling side and by the other.
        """
        return {pair: (outbound.messages_in.get(command, 0), inbound.messages_in.get(command, 0))
                for pair, (_, outbound, inbound) in self.links.items()}

