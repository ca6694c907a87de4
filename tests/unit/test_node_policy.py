"""
Tests for L{neo_twisted.node.policy.Node}: where an established peer's messages go, and
the version checks and local version the node gives its controller, with fake peers and
a clock. Block requests, relay and syncs are in L{tests.unit.test_node_requests},
L{tests.unit.test_node_relay} and L{tests.unit.test_node_sync_policy}.
"""

from __future__ import annotations

import ipaddress

from neo_twisted.network.payloads import (
    AddrPayload,
    EmptyPayload,
    GetBlocksPayload,
    HeadersPayload,
    InventoryType,
    InvPayload,
    NetworkAddressWithTime,
    decode_payload,
)
from neo_twisted.p2p.faults import Fault
from neo_twisted.wire.uint import ZERO_UINT256
from tests.support.ledger_samples import PRIVNET_GENESIS, headers_of
from tests.support.node_policy_helpers import LONG, NodeCase
from tests.support.p2p_fakes import FakePeer


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
