# -*- test-case-name: tests.unit.test_node_fetcher -*-
"""
One way to fetch announced inventory, for blocks, transactions and consensus alike.

A peer announces hashes (C{inv}); we ask (C{getdata}, at most 500 hashes per
message) one peer per hash (L{RequestTracker}); when the item comes, from anyone,
the request is done; when the peer leaves or the request times out, the next peer
that announced the hash is asked at once. Before issue 21 the node had three
copies of this, one per inventory type, that had drifted apart.

Consensus payloads cannot wait a request timeout (a round lasts a block time):
with C{fan_out} above one, a hash is asked of up to that many announcers at once,
and whoever answers first wins.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable

from twisted.internet.interfaces import IReactorTime

from neo_twisted.network.payloads import InventoryType, inv_groups
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.p2p.inventory import MAX_ANNOUNCED_REQUESTS, REQUEST_TIMEOUT, RequestTracker
from neo_twisted.wire.uint import UInt256

__all__ = ["FAN_OUT_TRACKED", "InventoryFetcher"]

#: Hashes whose extra (fanned-out) requests are remembered at most, oldest forgotten.
FAN_OUT_TRACKED = 1024


class InventoryFetcher:
    """
    Announce, ask, time out, ask another, for one inventory type.

    @ivar requests: the request table (each hash in flight at one peer).
    """

    def __init__(self, kind: InventoryType, clock: IReactorTime, *,
                 timeout: float = REQUEST_TIMEOUT, fan_out: int = 1,
                 alive: Callable[[IPeer], bool] | None = None,
                 max_announced: int | None = MAX_ANNOUNCED_REQUESTS) -> None:
        """
        @param fan_out: announcers asked for one hash at once, at most.
        @param alive: whether a peer may still be asked (default: any).
        """
        if fan_out < 1:
            raise ValueError(f"fan_out must be at least 1, not {fan_out}")
        self.kind = kind
        self._clock = clock
        self._fan_out = fan_out
        self._alive = alive if alive is not None else (lambda peer: True)
        self.requests: RequestTracker[IPeer, UInt256] = RequestTracker(
            timeout, max_announced=max_announced)
        #: Peers asked for a hash besides the one the tracker holds it at (fan-out).
        self._also: OrderedDict[UInt256, set[IPeer]] = OrderedDict()

    def _now(self) -> float:
        return float(self._clock.seconds())

    def _send(self, peer: IPeer, hashes: Iterable[UInt256]) -> None:
        for group in inv_groups(self.kind, list(hashes)):
            peer.send("getdata", group)

    # -- asking ------------------------------------------------------------------------

    def announced(self, peer: IPeer, hashes: Iterable[UInt256]) -> list[UInt256]:
        """
        C{peer} announced C{hashes} we want: ask it for those nobody else is asked for
        (and, with fan-out, for those asked of fewer peers than that). The hashes asked.
        """
        hashes = list(hashes)
        ask = self.requests.announce(peer, hashes, self._now())
        if self._fan_out > 1:
            granted = set(ask)
            for hash_ in hashes:
                holder = self.requests.requested_from(hash_)
                if hash_ in granted or holder is None or holder is peer:
                    continue
                also = self._also.setdefault(hash_, set())
                if len(also) + 1 < self._fan_out and peer not in also:
                    also.add(peer)
                    ask.append(hash_)
            while len(self._also) > FAN_OUT_TRACKED:
                self._also.popitem(last=False)
        self._send(peer, ask)
        return ask

    def claim(self, peer: IPeer, hashes: Iterable[UInt256]) -> list[UInt256]:
        """
        Ask C{peer} for C{hashes} it did not announce (it sent them before): those not
        in flight anywhere.
        """
        ask = self.requests.claim(peer, hashes, self._now())
        self._send(peer, ask)
        return ask

    def received(self, hash_: UInt256, *, remember: bool = True) -> bool:
        """
        The item came (from anyone): not asked for again. Whether it was new.
        """
        self._also.pop(hash_, None)
        return self.requests.complete(hash_, remember=remember)

    # -- peers and time ----------------------------------------------------------------

    def peer_lost(self, peer: IPeer) -> None:
        for also in self._also.values():
            also.discard(peer)
        self._ask_again(self.requests.release_peer(peer, self._now()))

    def tick(self) -> None:
        """
        Give up the requests that timed out, and ask their next announcers.
        """
        self._ask_again(self.requests.expire(self._now()))

    def _ask_again(self, handed_over: list[tuple[UInt256, IPeer | None]]) -> None:
        by_peer: dict[IPeer, list[UInt256]] = {}
        for hash_, source in handed_over:
            also = self._also.get(hash_, ())
            if source is not None and self._alive(source) and source not in also:
                by_peer.setdefault(source, []).append(hash_)  # (fanned-out: asked already)
        for peer, hashes in by_peer.items():
            self._send(peer, hashes)
