"""
Honest peers of every NEO 2.x version are kept (issue 21, acceptance): a node syncs
from a peer that behaves as neo 2.8, 2.10, 2.11/2.12, neo-go 0.78 or neo-python
would (../shared/docs/neo2-versions.md, sections 5 and 6), and keeps it for ten
simulated minutes.

Each scripted peer is a real node holding the chain (it serves headers and blocks
as ours does), whose connection also sends what that version sends and stays
silent where that version is: its quirks are written onto its side of an
in-memory connection, on one clock.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

from twisted.internet.address import IPv4Address
from twisted.test.iosim import FakeTransport, connect

from neo_twisted.network.frame import encode_frame
from neo_twisted.network.payloads import PingPayload
from neo_twisted.p2p.factory import PeerFactory
from neo_twisted.p2p.protocol import PeerProtocol
from tests.support.iosim_nodes import LENGTH, NetworkCase, Peer
from tests.support.ledger_samples import PRIVNET

#: Simulated seconds each peer is kept.
MINUTES = 10

#: What a scripted peer writes at second C{t}, as raw frames.
Script = Callable[[int], list[bytes]]


def raw(command: str, payload: bytes = b"") -> bytes:
    return encode_frame(PRIVNET.magic, command, payload)


def ping(height: int, nonce: int) -> bytes:
    return raw("ping", PingPayload(height, 1_600_000_000, nonce).to_bytes())


def hashes(rng: random.Random, count: int) -> bytes:
    return b"".join(rng.randbytes(32) for _ in range(count))


def var_int(n: int) -> bytes:
    return bytes([n]) if n < 0xFD else b"\xfd" + struct.pack("<H", n)


def state_root(index: int) -> bytes:
    """
    An unsigned C{StateRoot} (2.11+): version, index, previous root hash, root, no witness.
    """
    return bytes([0]) + struct.pack("<I", index) + bytes(32) + bytes(range(32)) + b"\x00"


class MutedTransport(FakeTransport):
    """
    A connection side that never sends some commands (2.8 answers no ping).
    """

    muted: frozenset[str] = frozenset()

    def write(self, data: bytes) -> None:
        if len(data) >= 16 and data[4:16].rstrip(b"\0").decode("ascii", "replace") in self.muted:
            return
        super().write(data)


def neo28(rng: random.Random) -> Script:
    """
    2.8: answers getaddr with an empty addr, sends its whole pool as one inv (1,000
    hashes: its mempool answer), never pings, never answers ping: long silences.
    """
    def script(t: int) -> list[bytes]:
        if t == 3:
            return [raw("addr", b"\x00")]
        if t == 7:
            return [raw("inv", b"\x01" + var_int(1000) + hashes(rng, 1000))]
        return []
    return script


def neo210(rng: random.Random) -> Script:
    """
    2.10.1+: 12-byte pings, which want a pong.
    """
    return lambda t: [ping(LENGTH, rng.getrandbits(32))] if t % 60 == 0 else []


def neo212(rng: random.Random) -> Script:
    """
    2.11/2.12: a stateroot push per block, state-root inventories, getroots every
    minute, pings every 60-90 s.
    """
    def script(t: int) -> list[bytes]:
        frames = []
        if t % 15 == 0:
            frames.append(raw("stateroot", state_root(t // 15)))
        if t % 40 == 0:
            frames.append(raw("inv", b"\x03\x01" + hashes(rng, 1)))
        if t % 60 == 30:
            frames.append(raw("getroots", struct.pack("<II", 1, 200)))
        if t % 75 == 0:
            frames.append(ping(LENGTH, rng.getrandbits(32)))
        return frames
    return script


def neogo078(rng: random.Random) -> Script:
    """
    neo-go 0.78: an empty addr, empty roots, getroots, pings every 30 s.
    """
    def script(t: int) -> list[bytes]:
        frames = []
        if t == 4:
            frames.append(raw("addr", b"\x00"))
        if t % 60 == 10:
            frames += [raw("roots", b"\x00"), raw("getroots", struct.pack("<II", 0, 1))]
        if t % 30 == 0:
            frames.append(ping(LENGTH, rng.getrandbits(32)))
        return frames
    return script


def neopython(rng: random.Random) -> Script:
    """
    neo-python 0.8/0.9: empty pings, and its misspelt answer to getaddr.
    """
    def script(t: int) -> list[bytes]:
        frames = []
        if t % 30 == 0:
            frames.append(raw("ping"))
        if t == 5:
            frames.append(raw("address", hashes(rng, 1)[:30]))
        return frames
    return script


class MixedVersionTests(NetworkCase):
    def keep(self, script: Script, *, muted: frozenset[str] = frozenset(),
             pings: bool = True) -> tuple[PeerProtocol, Peer]:
        """
        Our empty node dials a scripted peer holding the chain; ten simulated minutes
        go by. Returns our side of the connection, and our node.
        """
        server = Peer(self, self.clock, 1, LENGTH)
        if not pings:  # 2.8 and earlier send no keep-alive at all
            server.accepting = PeerFactory(server.node.controller, PRIVNET.magic, self.clock,
                                           inbound=True, ping_interval=10 * 3600)
        ours = Peer(self, self.clock, 2)
        outbound = ours.dialling.buildProtocol(None)
        inbound = server.accepting.buildProtocol(None)
        ours_at = IPv4Address("TCP", ours.address, 40000)
        server_at = IPv4Address("TCP", server.address, 20333)
        theirs = MutedTransport(inbound, True, server_at, ours_at)
        theirs.muted = muted
        self.pumps.append(connect(inbound, theirs,
                                  outbound, FakeTransport(outbound, False, ours_at, server_at),
                                  greet=False, clock=self.clock))
        self.settle()
        self.assertTrue(outbound.established and inbound.established)
        for second in range(1, MINUTES * 60 + 1):
            self.clock.advance(1)
            for frame in script(second):
                assert inbound.transport is not None
                inbound.transport.write(frame)
            if second % 5 == 0:
                ours.node.tick()
                server.node.tick()
            self.settle()
            self.assertTrue(outbound.established, f"dropped at {second} s")
        self.assertEqual(ours.connections.named("peer_lost"), [])
        self.assertEqual((ours.ledger.header_height, ours.ledger.block_height),
                         (LENGTH, LENGTH))
        self.assertIn(outbound, ours.node.sessions)
        return outbound, ours

    def sent_by_us(self, outbound: PeerProtocol) -> dict[str, int]:
        return dict(outbound.messages_out)

    def test_neo28(self) -> None:
        outbound, _ = self.keep(neo28(random.Random(28)), muted=frozenset({"pong"}),
                                pings=False)
        self.assertEqual(outbound.messages_in.get("addr"), 1)
        self.assertEqual(outbound.messages_in.get("pong", 0), 0)

    def test_neo210(self) -> None:
        outbound, _ = self.keep(neo210(random.Random(210)))
        # its pings, and those of the real node behind it when it has been silent 30 s
        pings = outbound.messages_in.get("ping", 0)
        self.assertGreaterEqual(pings, MINUTES)
        self.assertEqual(outbound.messages_out.get("pong", 0), pings)

    def test_neo212(self) -> None:
        outbound, _ = self.keep(neo212(random.Random(212)))
        self.assertEqual(outbound.messages_in.get("stateroot"), MINUTES * 4)
        self.assertEqual(outbound.messages_in.get("getroots"), MINUTES)
        sent = self.sent_by_us(outbound)
        for never in ("roots", "getroots", "stateroot"):
            self.assertNotIn(never, sent)

    def test_neogo078(self) -> None:
        outbound, _ = self.keep(neogo078(random.Random(78)))
        self.assertEqual(outbound.messages_in.get("roots"), MINUTES)
        self.assertGreaterEqual(outbound.messages_out.get("pong", 0), MINUTES * 2)

    def test_neopython(self) -> None:
        outbound, _ = self.keep(neopython(random.Random(8)))
        # the empty pings are not answered (nor punished); 12-byte ones are
        pings = outbound.messages_in.get("ping", 0)
        self.assertGreaterEqual(pings, MINUTES * 2)
        self.assertEqual(outbound.messages_out.get("pong", 0), pings - MINUTES * 2)
        self.assertEqual(outbound.messages_in.get("other"), 1)  # "address"
