"""
A scripted attacker peer for the hostile-peer tests: raw frames over loopback TCP.

The attacker connects from an address of its own in 127.0.0.0/8 (every address there
is the loopback interface), so a ban the node puts on it does not touch the honest
nodes of the test, which all use 127.0.0.1. It sends whatever bytes a case calls for,
records every frame the node sends back, and says when the node closed the connection.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from neo_twisted.core.serializable import Serializable
from neo_twisted.network.frame import FrameDecoder, encode_frame
from neo_twisted.network.payloads import VersionPayload
from neo_twisted.node.service import NodeService
from tests.support.ledger_samples import PRIVNET

#: Where attackers connect from; honest nodes of a test are on 127.0.0.1.
ATTACKER_HOST = "127.0.0.2"


class Attacker(Protocol):
    """
    One attacking connection.

    @ivar received: (command, payload bytes) of each frame the node sent, in order.
    @ivar closed: fires once the connection is gone, whoever closed it.
    @ivar answers: by command, what the script does with each such frame's payload.
    """

    def __init__(self, magic: int = PRIVNET.magic, *, read: bool = True) -> None:
        self.magic = magic
        self.received: list[tuple[str, bytes]] = []
        self.closed: defer.Deferred[None] = defer.Deferred()
        self.connected = False
        self._decoder = FrameDecoder(magic)
        self._waiting: list[tuple[str, defer.Deferred[bytes]]] = []
        self._read = read
        self.answers: dict[str, Callable[[bytes], None]] = {}

    # Twisted's side

    def connectionMade(self) -> None:
        self.connected = True
        if not self._read:
            self.stop_reading()

    def dataReceived(self, data: bytes) -> None:
        for frame in self._decoder.feed(data):
            self.received.append((frame.command, frame.payload))
            answer = self.answers.get(frame.command)
            if answer is not None:
                answer(frame.payload)
            for entry in list(self._waiting):
                if entry[0] == frame.command:
                    self._waiting.remove(entry)
                    entry[1].callback(frame.payload)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.connected = False
        for _, waiting in self._waiting:
            waiting.errback(AssertionError("connection closed while waiting"))
        self._waiting.clear()
        self.closed.callback(None)

    # The script's side

    def stop_reading(self) -> None:
        """
        Never read again: what the node sends piles up in the sockets, then in the node.
        """
        assert self.transport is not None
        self.transport.pauseProducing()  # type: ignore[attr-defined]

    def send(self, command: str, payload: Serializable | bytes = b"", *,
             magic: int | None = None) -> None:
        data = payload if isinstance(payload, bytes) else payload.to_bytes()
        self.send_raw(encode_frame(self.magic if magic is None else magic, command, data))

    def send_raw(self, data: bytes) -> None:
        if self.connected:
            assert self.transport is not None
            self.transport.write(data)

    def commands(self) -> list[str]:
        return [command for command, _ in self.received]

    def message(self, command: str, timeout: float = 30.0) -> defer.Deferred[bytes]:
        """
        The payload of the first C{command} frame received, now or when it comes.
        """
        for name, payload in self.received:
            if name == command:
                return defer.succeed(payload)
        waiting: defer.Deferred[bytes] = defer.Deferred()
        self._waiting.append((command, waiting))
        return waiting.addTimeout(timeout, reactor)

    @defer.inlineCallbacks
    def handshake(self, start_height: int = 0, nonce: int | None = None,
                  port: int = 0) -> Any:
        """
        Complete version/verack as a node at C{start_height} would.
        """
        self.send("version", VersionPayload(
            timestamp=int(reactor.seconds()), port=port,
            nonce=random.randrange(1 << 31) if nonce is None else nonce,
            user_agent="/attacker/", start_height=start_height))
        yield self.message("version")
        yield self.message("verack")
        self.send("verack")

    def wait_closed(self, timeout: float = 30.0) -> defer.Deferred[None]:
        """
        Fires when the node has closed the connection; fails after C{timeout} seconds.
        """
        if not self.connected:
            return defer.succeed(None)
        done: defer.Deferred[None] = defer.Deferred()

        def finish(_: object) -> None:
            if not done.called:
                done.callback(None)

        self.closed.addBoth(finish)
        return done.addTimeout(timeout, reactor)

    def abort(self) -> None:
        if self.connected and self.transport is not None:
            self.transport.abortConnection()  # type: ignore[attr-defined]


def attack(node: NodeService, attacker: Attacker | None = None,
           host: str = ATTACKER_HOST) -> defer.Deferred[Attacker]:
    """
    Connect C{attacker} (a new reading one by default) from C{host} to C{node}'s P2P port.
    """
    port = node.node.connections.listening_port
    assert port is not None
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port, bindAddress=(host, 0))
    connected: defer.Deferred[Attacker] = connectProtocol(
        endpoint, attacker if attacker is not None else Attacker())
    return connected
