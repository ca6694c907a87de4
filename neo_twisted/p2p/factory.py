# -*- test-case-name: tests.unit.test_p2p_protocol,tests.unit.test_p2p_session -*-
"""
The factory of P2P connections, for listening and for dialling alike.

The same class serves C{reactor.listenTCP(port, PeerFactory(..., inbound=True))}
and C{TCP4ClientEndpoint(reactor, host, port).connect(PeerFactory(...,
inbound=False))}: it only carries what every connection it builds shares (the
node's listener, the network magic, the clock and the timeouts). It keeps no
set of connections: the listener (the node's
L{neo_twisted.p2p.controller.PeerController}) is the one registry of live peers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import Factory

from neo_twisted.p2p.decoding import PayloadDecoder
from neo_twisted.p2p.interfaces import IPeerListener
from neo_twisted.p2p.protocol import PeerProtocol

__all__ = [
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_PING_INTERVAL",
    "DEFAULT_SEND_BACKLOG",
    "PeerFactory",
]

#: Seconds for the peer to complete version + verack (the 2.8- reference waits 30 s).
DEFAULT_HANDSHAKE_TIMEOUT = 30.0
#: Seconds without a whole message before we drop a peer: 30 minutes, as neo 2.8 allows,
#: for 2.8 sends no keep-alive and answers no ping (2.9+ drops after 60 s of silence,
#: and so would lose every 2.8 peer); what we ask for has timeouts of its own. Bytes of
#: an unfinished frame do not count, so a frame dripped a byte at a time holds a
#: connection no longer than silence does.
DEFAULT_IDLE_TIMEOUT = 30 * 60.0
#: Seconds of sending nothing before we ping, well inside the 60 s a 2.9+ peer allows.
DEFAULT_PING_INTERVAL = 30.0
#: Bytes of messages that may wait for a peer that does not read them (its socket and
#: our transport's buffer full) before we drop it: 64 blocks of the largest size, or a
#: few hundred thousand of the usual ones. A peer that keeps asking and never reads
#: would otherwise grow them without end.
DEFAULT_SEND_BACKLOG = 32 * 1024 * 1024


if TYPE_CHECKING:
    _ProtocolFactory = Factory[PeerProtocol]
else:  # Factory takes a type argument at run time only from Twisted 26.4 on
    _ProtocolFactory = Factory


class PeerFactory(_ProtocolFactory):
    """
    Builds L{PeerProtocol}s wired to one listener and one configuration.
    """

    noisy = False

    def __init__(self, listener: IPeerListener, magic: int, clock: IReactorTime, *,
                 inbound: bool, handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 ping_interval: float = DEFAULT_PING_INTERVAL,
                 max_send_backlog: int = DEFAULT_SEND_BACKLOG,
                 decoding: PayloadDecoder | None = None) -> None:
        """
        @param listener: the node's controller, told about every connection's events.
        @param magic: the network magic every frame carries.
        @param clock: where every connection's timers run.
        @param inbound: whether the connections built were dialled by the other side.
        @param handshake_timeout: seconds from connecting to the peer's verack.
        @param idle_timeout: seconds without a whole message before dropping the peer.
        @param ping_interval: seconds of sending nothing before a keep-alive ping.
        @param max_send_backlog: bytes waiting for a peer that does not read, at most.
        @param decoding: the threads big payloads are decoded in (None: all on the reactor).
        @raise ValueError: a timeout, interval or limit that is not positive.
        """
        for name, value in (("handshake_timeout", handshake_timeout),
                            ("idle_timeout", idle_timeout), ("ping_interval", ping_interval),
                            ("max_send_backlog", max_send_backlog)):
            if not value > 0:
                raise ValueError(f"{name} must be positive, not {value!r}")
        self.listener = listener
        self.magic = magic
        self.clock = clock
        self.inbound = inbound
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        self.ping_interval = ping_interval
        self.max_send_backlog = max_send_backlog
        self.decoding = decoding

    def buildProtocol(self, addr: IAddress | None) -> PeerProtocol:
        """
        A new connection to or from C{addr}.
        """
        return PeerProtocol(self, addr)

    def __repr__(self) -> str:
        direction = "inbound" if self.inbound else "outbound"
        return f"<PeerFactory {direction} magic=0x{self.magic:08x}>"
