"""
The common ground of the hostile-peer tests: an honest node with a chain, a victim
node syncing from it (with RPC), attackers, and what must hold after every attack.

Each case attacks the victim from L{ATTACKER_HOST}, then checks that the victim
answered as the fault table says (L{neo_twisted.p2p.faults}: disconnected,
discouraged or banned the attacker; the victim does not protect loopback
addresses, as a node does by default, so the table's response shows), that it still syncs the honest
node's whole chain, still answers RPC, and that its bounded tables stayed bounded.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from neo_twisted.ledger.chain import Ledger
from neo_twisted.network.payloads import (
    GetBlocksPayload,
    InventoryType,
    InvPayload,
    RawPayload,
    decode_payload,
)
from neo_twisted.node.service import NodeService
from neo_twisted.node.transactions import MAX_PENDING
from neo_twisted.p2p.addresses import BOOK_CAPACITY
from neo_twisted.p2p.faults import Fault, Response
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.sync.blocks import SEGMENT, WINDOW
from neo_twisted.sync.early import MAX_EARLY_BYTES
from neo_twisted.wire.binary import encode_var_int
from tests.support.attacker import ATTACKER_HOST, Attacker, attack
from tests.support.ledger_samples import PRIVNET
from tests.support.node_cluster import Cluster, heights, peer_ports, wait_until
from tests.support.reactor_timing import MessageTimer
from tests.support.rpc_client import rpc_call

#: Blocks of the honest node's chain.
HOSTILE_CHAIN = 800


def private_memory() -> int:
    """
    This process's private (anonymous) resident bytes: what a flood would grow.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")


class HostileCase(TestCase):
    """
    A victim, an honest node, attackers, and the checks after an attack.
    """

    timeout = 180

    def setUp(self) -> None:
        self.cluster = Cluster(self)

    def honest(self, **options: Any) -> NodeService:
        options.setdefault("min_peers", 1)
        return self.cluster.start("honest", chain=HOSTILE_CHAIN, max_peers=5, **options)

    def victim(self, *seeds: NodeService, **options: Any) -> NodeService:
        """
        The node attacked; every message of the attacker to it is timed (see
        L{assert_healthy}).
        """
        options.setdefault("min_peers", 1)
        options.setdefault("protect_loopback", False)
        node = self.cluster.start("victim", seeds=seeds, rpc_port=0, **options)
        self.timer = MessageTimer(self, node)
        return node

    @defer.inlineCallbacks
    def attacker(self, node: NodeService, attacker: Attacker | None = None, *,
                 host: str = ATTACKER_HOST, handshake: bool = True,
                 start_height: int = 0) -> Any:
        """
        An attacker connected to C{node} (aborted at the test's end), handshaken if asked.
        """
        connected = yield attack(node, attacker, host)
        self.addCleanup(connected.abort)
        if handshake:
            yield connected.handshake(start_height)
        return connected

    @staticmethod
    def banned(node: NodeService, host: str = ATTACKER_HOST) -> bool:
        return node.node.connections.discipline.is_banned(host, reactor.seconds())

    @staticmethod
    def discouraged(node: NodeService, host: str = ATTACKER_HOST) -> bool:
        return node.node.connections.discipline.is_discouraged(host, reactor.seconds())

    @staticmethod
    def session_of(node: NodeService, host: str = ATTACKER_HOST) -> IPeer | None:
        """
        C{node}'s established connection with the attacker at C{host}, if there is one.
        """
        for peer in node.node.established_peers():
            if peer.remote.host == host:
                return peer
        return None

    @defer.inlineCallbacks
    def assert_dropped(self, node: NodeService, attacker: Attacker, *, response: Response,
                       fault: Fault | None = None, timeout: float = 15.0) -> Any:
        """
        C{node} closed the attacker's connection, for C{fault} if given, and its address
        got C{response}: after a disconnection or a discouragement a new connection from
        it is accepted (slots are free), after a ban it is closed before a word is said.
        """
        yield attacker.wait_closed(timeout)
        discipline = node.node.connections.discipline
        if fault is not None:
            self.assertGreaterEqual(discipline.faults[fault.label], 1, dict(discipline.faults))
        self.assertEqual(self.banned(node), response is Response.BAN, "banned")
        self.assertEqual(self.discouraged(node), response is Response.DISCOURAGE, "discouraged")
        again = yield attack(node)
        self.addCleanup(again.abort)
        if response is Response.BAN:
            yield again.wait_closed(5)
            self.assertEqual(again.received, [])
        else:
            yield again.handshake()
            again.abort()

    @defer.inlineCallbacks
    def assert_healthy(self, victim: NodeService, honest: NodeService, *,
                       height: int = HOSTILE_CHAIN, linked: bool = True) -> Any:
        """
        The victim holds the honest node's whole chain, is connected to it (when
        C{linked}), answers RPC, its bounded tables are within their bounds, and no
        message of the attacker held its reactor past L{MESSAGE_BOUND}.
        """
        yield wait_until(lambda: heights(victim) == (height, height),
                         "the victim to sync from the honest node", timeout=90,
                         describe=lambda: f"heights {heights(victim)}")
        for index in (1, height // 2, height):
            self.assertEqual(victim.node.ledger.ledger.get_block_hash(index),  # type: ignore
                             honest.node.ledger.ledger.get_block_hash(index))  # type: ignore
        if linked:
            yield wait_until(
                lambda: honest.node.connections.listening_port in peer_ports(victim)
                or victim.node.connections.listening_port in peer_ports(honest),
                "the victim and the honest node to be connected", timeout=30)
        assert victim.rpc is not None and victim.rpc.port is not None
        answer = yield rpc_call(victim.rpc.port, "getblockcount")
        self.assertEqual(answer["result"], height + 1)
        self.assert_bounded(victim)
        timer: MessageTimer | None = getattr(self, "timer", None)
        if timer is not None:
            timer.check(self)

    def assert_bounded(self, node: NodeService) -> None:
        """
        What a peer can make the node hold stays within the limits the code sets.
        """
        policy = node.node
        self.assertLessEqual(len(policy.connections.book), BOOK_CAPACITY)
        self.assertLessEqual(policy.block_sync.buffered, WINDOW + SEGMENT)
        self.assertLessEqual(policy.block_sync.buffered_bytes, MAX_EARLY_BYTES)
        if policy.transactions is not None:
            self.assertLessEqual(len(policy.transactions.pending), MAX_PENDING)
        for session in policy.sessions.values():
            for hashes in (session.known, session.known_blocks, session.announced,
                           session.served):
                self.assertLessEqual(len(hashes), hashes.capacity)


def serve_headers(attacker: Attacker, source: Ledger) -> None:
    """
    Make C{attacker} answer C{getheaders} from C{source}, as an honest node would.
    """
    def answer(data: bytes) -> None:
        request = decode_payload("getheaders", data)
        assert isinstance(request, GetBlocksPayload)
        headers = source.header_bytes_after(request.hash_start[0], request.hash_stop)
        if headers:
            attacker.send("headers",
                          RawPayload(encode_var_int(len(headers)) + b"".join(headers)))

    attacker.answers["getheaders"] = answer


def open_source(case: HostileCase) -> Ledger:
    """
    A store of the honest node's chain for an attacker to read from (closed at the end).
    """
    ledger = Ledger.open(case.cluster.datadir("source", chain=HOSTILE_CHAIN), PRIVNET)
    case.addCleanup(ledger.close)
    return ledger


def inventory_hashes(attacker: Attacker, command: str) -> Counter[InventoryType]:
    """
    How many hashes of each type the node sent the attacker in C{command} messages
    (C{getdata}, C{inv}).
    """
    total: Counter[InventoryType] = Counter()
    for name, data in attacker.received:
        if name == command:
            payload = decode_payload(command, data)
            assert isinstance(payload, InvPayload)
            total[payload.type] += len(payload.hashes)
    return total
