"""
Many peers in one process: the far side of bench_peers.py.

It dials one node COUNT times (our own L{PeerProtocol}, at most 50 connections
being set up at once, so the node's listen backlog never overflows), prints
C{established N} once all are established, then stays quiet: it answers
nothing but pings (the protocol does that), so each connection costs the node
what an idle peer costs. Each connection notes when a block C{inv} first
reaches it; once every connection has heard of a block it prints C{inv HASH
FIRST LAST} (two C{time.perf_counter} readings, which on Linux are the
system's monotonic clock, comparable across processes). A lost connection prints C{lost REASON}.

Usage: python bench/swarm_peers.py MAGIC PORT COUNT
"""

from __future__ import annotations

import itertools
import sys
import time
from typing import Any

from twisted.internet import reactor
from twisted.internet.protocol import ClientFactory
from zope.interface import implementer

from neo_twisted.network.payloads import InventoryType, VersionPayload
from neo_twisted.p2p.factory import PeerFactory
from neo_twisted.p2p.interfaces import IPeer, IPeerListener

#: Connections being set up at once, at most.
CONCURRENT = 50


@implementer(IPeerListener)
class Swarm:
    def __init__(self, host: str, port: int, count: int) -> None:
        self.host, self.port, self.count = host, port, count
        self.factory: PeerFactory | None = None
        self.dialled = 0
        self.established = 0
        #: Each connection its own nonce, or the node takes them for one peer.
        self._nonces = itertools.count(10_000)
        #: Per announced block hash, when each connection first heard of it.
        self.inv_times: dict[Any, dict[IPeer, float]] = {}

    def dial_more(self) -> None:
        assert self.factory is not None
        while self.dialled < self.count and self.dialled - self.established < CONCURRENT:
            self.dialled += 1
            reactor.connectTCP(self.host, self.port, _Dialler(self.factory))  # type: ignore[attr-defined]

    def peer_connected(self, peer: IPeer) -> None:
        pass

    def local_version(self, peer: IPeer) -> VersionPayload:
        return VersionPayload(timestamp=int(time.time()), port=0, nonce=next(self._nonces),
                              user_agent="/bench-swarm/", start_height=0)

    def check_version(self, peer: IPeer, version: VersionPayload) -> str | None:
        return None

    def current_height(self) -> int:
        return 0

    def peer_established(self, peer: IPeer) -> None:
        self.established += 1
        if self.established == self.count:
            print(f"established {self.established}", flush=True)
        self.dial_more()

    def accepts_block_frame(self, peer: IPeer, index: int, hash: object) -> bool:
        return True  # every block decoded

    def message_received(self, peer: IPeer, command: str, payload: Any) -> None:
        if command != "inv" or payload.type is not InventoryType.Block:
            return
        now = time.perf_counter()
        for hash_ in payload.hashes:
            heard = self.inv_times.setdefault(hash_, {})
            if peer in heard:
                continue
            heard[peer] = now
            if len(heard) == self.count:
                print(f"inv {hash_} {min(heard.values()):.6f} {max(heard.values()):.6f}",
                      flush=True)

    def peer_lost(self, peer: IPeer, reason: str, violation: bool) -> None:
        print(f"lost {reason}", flush=True)


class _Dialler(ClientFactory):
    """
    One connection's client factory: the protocol comes from the shared peer factory.
    """

    def __init__(self, factory: PeerFactory) -> None:
        self._factory = factory

    def buildProtocol(self, addr: Any) -> Any:
        return self._factory.buildProtocol(addr)

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        print(f"lost connect failed: {reason.getErrorMessage()}", flush=True)


def main() -> None:
    magic, port, count = (int(arg) for arg in sys.argv[1:4])
    swarm = Swarm("127.0.0.1", port, count)
    swarm.factory = PeerFactory(swarm, magic, reactor, inbound=False)
    swarm.dial_more()
    reactor.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
