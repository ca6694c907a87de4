"""
Hostile peers, framing and connections: real nodes over loopback, a scripted attacker.

Each case attacks a victim node while it syncs from an honest one (or once it has),
then checks that the attacker got the fault table's response and that
the victim still syncs, answers RPC and keeps its tables bounded (L{HostileCase}).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Generator
from typing import Any

from twisted.internet import defer, reactor, task

from neo_twisted.network.frame import MAX_PAYLOAD_SIZE, encode_frame
from neo_twisted.network.payloads import InventoryType, InvPayload, PingPayload, VersionPayload
from neo_twisted.p2p.faults import Fault, Response
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.wire.uint import UInt256
from tests.support.attacker import Attacker, attack
from tests.support.hostile_helpers import HOSTILE_CHAIN, HostileCase
from tests.support.ledger_samples import PRIVNET
from tests.support.node_cluster import stop_if_running, wait_until
from tests.support.optional import present

#: One of our inventories, a valid payload to send in the cases that need one.
INV = InvPayload(InventoryType.TX, (UInt256(b"\x07" * 32),))


class FramingTests(HostileCase):
    """
    Frames a node must refuse: each closes the connection (a TCP reset), and no more:
    each could be a bug or a version difference, and a ban would also catch every
    honest peer behind the same address. (Before issue 21 each banned the IP for 24 h.)
    """

    @defer.inlineCallbacks
    def attack_and_check(self, script: Callable[[Attacker], None], fault: Fault, *,
                         handshake: bool = True) -> Generator[defer.Deferred[Any], Any, None]:
        honest = self.honest()
        victim = self.victim(honest)
        attacker = yield self.attacker(victim, handshake=handshake)
        script(attacker)
        self.assertIs(fault.response, Response.DISCONNECT)
        yield self.assert_dropped(victim, attacker, response=Response.DISCONNECT, fault=fault)
        yield self.assert_healthy(victim, honest)

    def test_wrong_magic(self) -> defer.Deferred[None]:
        """
        A version for another network (a testnet node dialling a mainnet port): dropped
        before any handshake.
        """
        def script(attacker: Attacker) -> None:
            attacker.send("version", VersionPayload(timestamp=0, port=0, nonce=1,
                                                    user_agent="", start_height=0),
                          magic=PRIVNET.magic ^ 1)

        return self.attack_and_check(script, Fault.WRONG_MAGIC, handshake=False)

    def test_bad_checksum(self) -> defer.Deferred[None]:
        def script(attacker: Attacker) -> None:
            frame = bytearray(encode_frame(PRIVNET.magic, "inv", INV.to_bytes()))
            frame[20] ^= 0xFF  # the checksum's first byte
            attacker.send_raw(bytes(frame))

        return self.attack_and_check(script, Fault.BAD_FRAME)

    def test_length_over_the_maximum(self) -> defer.Deferred[None]:
        """
        A header claiming more than the maximum payload is refused on the header alone:
        nothing waits for a payload that may never come.
        """
        def script(attacker: Attacker) -> None:
            attacker.send_raw(struct.pack("<I12sII", PRIVNET.magic, b"block".ljust(12, b"\0"),
                                          MAX_PAYLOAD_SIZE + 1, 0))

        return self.attack_and_check(script, Fault.BAD_FRAME)

    def test_payload_that_does_not_parse(self) -> defer.Deferred[None]:
        def script(attacker: Attacker) -> None:
            # an inventory type, then a count whose bytes end too soon
            attacker.send("inv", b"\x01\xfd\xff")

        return self.attack_and_check(script, Fault.MALFORMED)

    def test_version_twice(self) -> defer.Deferred[None]:
        def script(attacker: Attacker) -> None:
            version = VersionPayload(timestamp=0, port=0, nonce=12345, user_agent="/x/",
                                     start_height=0)
            attacker.send("version", version)
            attacker.send("version", version)

        return self.attack_and_check(script, Fault.HANDSHAKE_AGAIN, handshake=False)

    def test_data_before_the_handshake(self) -> defer.Deferred[None]:
        return self.attack_and_check(lambda attacker: attacker.send("inv", INV),
                                     Fault.HANDSHAKE_ORDER, handshake=False)

    def test_version_after_the_handshake(self) -> defer.Deferred[None]:
        def script(attacker: Attacker) -> None:
            attacker.send("version", VersionPayload(timestamp=0, port=0, nonce=99,
                                                    user_agent="", start_height=0))

        return self.attack_and_check(script, Fault.HANDSHAKE_AGAIN)

    @defer.inlineCallbacks
    def test_inv_over_500_hashes_kept(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        An C{inv} of 501 hashes is what a neo 2.8 node sends as its C{mempool} answer:
        honest, so the peer stays (2.9+ would abort it; before issue 21 we banned it).
        """
        honest = self.honest()
        victim = self.victim(honest)
        attacker = yield self.attacker(victim)
        hashes = b"".join(i.to_bytes(32, "little") for i in range(501))
        attacker.send("inv", b"\x01" + b"\xfd" + (501).to_bytes(2, "little") + hashes)
        attacker.send("ping", PingPayload(0, 0, 7))
        yield attacker.message("pong")  # handled in order: the inv did not end the link
        self.assertTrue(attacker.connected)
        self.assertIsNotNone(self.session_of(victim))
        yield self.assert_healthy(victim, honest)


class SlowPeerTests(HostileCase):
    """
    Peers that hold a connection without using it: dropped, not banned (a slow link
    looks the same).
    """

    @defer.inlineCallbacks
    def test_frame_dripped_one_byte_at_a_time(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Bytes of a frame that never completes do not keep the peer: it is dropped once
        the idle timeout passes without a whole message, though a byte came every 0.1 s.
        """
        honest = self.honest()
        victim = self.victim(honest, idle_timeout=2.0)
        attacker = yield self.attacker(victim)
        frame = iter(encode_frame(PRIVNET.magic, "inv", b"\x01" + b"\x00" * 2000))
        drip = task.LoopingCall(lambda: attacker.send_raw(bytes([next(frame)])))
        drip.start(0.1)
        self.addCleanup(stop_if_running, drip)
        started = reactor.seconds()
        yield self.assert_dropped(victim, attacker, response=Response.DISCONNECT)
        self.assertLess(reactor.seconds() - started, 10.0)
        # the victim's silent link with the honest node may end the same way after sync
        yield self.assert_healthy(victim, honest, linked=False)

    @defer.inlineCallbacks
    def test_peer_that_never_reads(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        A peer asking for the chain again and again without reading the answers is
        dropped once they pile up past the backlog; the victim serves others as before.
        """
        honest = self.honest()
        victim = self.victim(honest, max_send_backlog=1 << 20)
        yield self.assert_healthy(victim, honest)
        attacker = yield self.attacker(victim)
        attacker.stop_reading()
        genesis = present(present(victim.node.ledger.ledger).get_block_hash(0))
        request = bytes([1]) + genesis + bytes(32)

        def flood() -> None:
            attacker.send("getheaders", request)
            attacker.send("getblocks", request)

        pump = task.LoopingCall(flood)
        pump.start(0.01)
        self.addCleanup(stop_if_running, pump)
        yield self.assert_dropped(victim, attacker, response=Response.DISCONNECT, timeout=60)
        pump.stop()
        late = self.cluster.start("late", seeds=[victim], min_peers=1)
        yield wait_until(lambda: late.node.block_height == HOSTILE_CHAIN,
                         "a new node to sync from the victim")
        yield self.assert_healthy(victim, honest)


class ConnectionTests(HostileCase):
    @defer.inlineCallbacks
    def test_500_connections_from_one_address(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Of 500 connections from one address, the victim keeps its per-address limit;
        the others are closed at once, and the honest node keeps its place.
        """
        honest = self.honest()
        victim = self.victim(honest, max_per_address=3)
        host = "127.0.0.3"
        attackers = [Attacker() for _ in range(500)]
        results = yield defer.DeferredList(
            [attack(victim, a, host) for a in attackers], consumeErrors=True)
        for attacker in attackers:
            self.addCleanup(attacker.abort)
        connected = [a for ok, a in results if ok]
        self.assertGreater(len(connected), 3)
        for attacker in connected:
            if attacker.connected:
                attacker.send("version", VersionPayload(
                    timestamp=0, port=0, nonce=id(attacker) & 0xFFFFFFFF,
                    user_agent="/flood/", start_height=0))
        yield wait_until(lambda: sum(a.connected for a in attackers) <= 3,
                         "the victim to close all but 3 connections", timeout=60,
                         describe=lambda: f"{sum(a.connected for a in attackers)} open")
        self.assertLessEqual(
            sum(1 for peer in victim.node.established_peers() if peer.remote.host == host), 3)
        self.assertFalse(self.banned(victim, host))
        yield self.assert_healthy(victim, honest)

    @defer.inlineCallbacks
    def test_self_connection(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        A peer that mirrors the victim's own version back (a loop through a proxy or a
        NAT looks the same) is the victim itself: dropped without a ban. The victim's
        own endpoints it knows already and never dials (its port on loopback).
        """
        honest = self.honest()
        victim = self.victim(honest)
        attacker = yield self.attacker(victim, handshake=False)
        version = yield attacker.message("version")
        attacker.send("version", version)
        yield self.assert_dropped(victim, attacker, response=Response.DISCONNECT)
        self.assertNotIn("verack", attacker.commands())
        port = victim.node.connections.listening_port
        assert port is not None
        self.assertTrue(victim.node.connections.book.is_own(Endpoint("127.0.0.1", port)))
        yield self.assert_healthy(victim, honest)
