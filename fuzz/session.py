"""
The fuzz target of a whole connection: bytes from a peer fed to a real L{PeerProtocol}
(an inbound one, on a clock), through framing, the handshake machine and payload
decoding to its listener.

No input may raise out of the protocol. A connection the input made it close must be
closed on the transport, and reported to the listener once; one it did not close must
still be open. Then the timers run out, and the connection must end with no timer left.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from zope.interface import implementer

from fuzz import seeds
from fuzz.registry import CheckError, Target, register
from neo_twisted.network.frame import encode_frame
from neo_twisted.network.payloads import Payload, VersionPayload
from neo_twisted.p2p.factory import PeerFactory
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import IPeer, IPeerListener
from tests.support.samples import MAINNET_MAGIC

_PEER = IPv4Address("TCP", "10.0.0.9", 20333)
_THEIRS = VersionPayload(timestamp=1_600_000_000, port=20333, nonce=2, user_agent="/peer/",
                         start_height=10)


@implementer(IPeerListener)
class _Listener:
    """
    A node that takes every peer and counts what it is told.
    """

    def __init__(self) -> None:
        self.lost: list[tuple[str, Fault | None]] = []
        self.messages = 0

    def peer_connected(self, peer: IPeer) -> None:
        pass

    def local_version(self, peer: IPeer) -> VersionPayload:
        return VersionPayload(timestamp=1_600_000_000, port=20333, nonce=1,
                              user_agent="/fuzz/", start_height=0)

    def check_version(self, peer: IPeer, version: VersionPayload) -> str | None:
        return "connected to ourselves" if version.nonce == 1 else None

    def current_height(self) -> int:
        return 0

    def peer_established(self, peer: IPeer) -> None:
        pass

    def accepts_block_frame(self, peer: IPeer, index: int, hash: object) -> bool:
        return True  # every block decoded

    def message_received(self, peer: IPeer, command: str, payload: Payload) -> None:
        self.messages += 1

    def fault_ignored(self, peer: IPeer, fault: Fault, detail: str) -> None:
        pass

    def peer_lost(self, peer: IPeer, reason: str, fault: Fault | None) -> None:
        self.lost.append((reason, fault))


def session(data: bytes) -> Any:
    """
    Feed C{data} to a fresh connection, in chunks whose sizes the first byte picks.
    """
    clock = Clock()
    listener = _Listener()
    factory = PeerFactory(listener, MAINNET_MAGIC, clock, inbound=True)
    transport = StringTransportWithDisconnection(peerAddress=_PEER)  # type: ignore[no-untyped-call]
    protocol = factory.buildProtocol(_PEER)
    transport.protocol = protocol
    protocol.makeConnection(transport)  # type: ignore[no-untyped-call]
    step = 1 + (data[0] % 64 if data else 0)
    for start in range(1, len(data), step):
        protocol.dataReceived(data[start:start + step])
        if not transport.connected:
            break
    if transport.connected == protocol.disconnecting or len(listener.lost) > 1:
        raise CheckError(f"transport connected {transport.connected}, protocol closing "
                         f"{protocol.disconnecting}, losses {listener.lost}")
    clock.advance(10_000)  # the handshake or idle timeout ends whatever is left
    if transport.connected:
        transport.loseConnection()  # type: ignore[no-untyped-call]
    if clock.getDelayedCalls() or len(listener.lost) != 1:
        raise CheckError(f"timers left {clock.getDelayedCalls()}, losses {listener.lost}")
    return listener.messages


def _seeds() -> list[bytes]:
    """
    A handshake then each of the frame seeds, with a few chunk sizes.
    """
    version = encode_frame(MAINNET_MAGIC, "version", _THEIRS.to_bytes())
    verack = encode_frame(MAINNET_MAGIC, "verack")
    return [bytes([size]) + version + verack + stream
            for size in (0, 7, 63) for stream in seeds.frame_streams()]


register(Target("p2p.session", session, (), _seeds, max_len=8192))
