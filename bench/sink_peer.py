"""
A peer that only takes transactions: the far end of bench_mempool.py's relay.

It listens on a loopback port (printed first, as C{port N}), handshakes with
whoever dials it (our own L{PeerProtocol}), answers every C{inv} of
transactions with a C{getdata} and counts the C{tx} messages that follow,
printing C{tx N} each time the count moves (at most every 50 ms) and once more
on SIGTERM. It verifies nothing, so it costs the machine little.

Usage: python bench/sink_peer.py MAGIC
"""

from __future__ import annotations

import sys
import time
from typing import Any

from twisted.internet import reactor, task
from zope.interface import implementer

from neo_twisted.network.payloads import InventoryType, InvPayload, VersionPayload
from neo_twisted.p2p.factory import PeerFactory
from neo_twisted.p2p.interfaces import IPeer, IPeerListener


@implementer(IPeerListener)
class Sink:
    def __init__(self) -> None:
        self.received = 0
        self._printed = -1

    def peer_connected(self, peer: IPeer) -> None:
        pass

    def local_version(self, peer: IPeer) -> VersionPayload:
        return VersionPayload(timestamp=int(time.time()), port=0, nonce=424242,
                              user_agent="/bench-sink/", start_height=0)

    def check_version(self, peer: IPeer, version: VersionPayload) -> str | None:
        return None

    def current_height(self) -> int:
        return 0

    def peer_established(self, peer: IPeer) -> None:
        print("established", flush=True)

    def accepts_block_frame(self, peer: IPeer, index: int, hash: object) -> bool:
        return True  # every block decoded

    def message_received(self, peer: IPeer, command: str, payload: Any) -> None:
        if command == "inv" and payload.type is InventoryType.TX:
            peer.send("getdata", InvPayload(InventoryType.TX, payload.hashes))
        elif command == "tx":
            self.received += 1

    def peer_lost(self, peer: IPeer, reason: str, violation: bool) -> None:
        print(f"lost {reason}", flush=True)

    def report(self) -> None:
        if self.received != self._printed:
            self._printed = self.received
            print(f"tx {self.received} {time.perf_counter():.6f}", flush=True)


def main() -> None:
    sink = Sink()
    factory = PeerFactory(sink, int(sys.argv[1]), reactor, inbound=True)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")  # type: ignore[attr-defined]
    print(f"port {port.getHost().port}", flush=True)
    task.LoopingCall(sink.report).start(0.05)
    reactor.addSystemEventTrigger("before", "shutdown", sink.report)  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
