# -*- test-case-name: tests.unit.test_p2p_admission,tests.unit.test_p2p_dialling -*-
"""
Admission of connections, for L{neo_twisted.p2p.connections.ConnectionService}.

L{Admission} decides, from the registry's records of the live connections
(L{neo_twisted.p2p.controller.PeerRecord}), the limits and the
L{Discipline}, whom to let in, refuse or evict; the service only applies its
decisions (it logs, records and disconnects). Inbound connections take at most
C{max_peers - min_peers} slots, so the outbound ones stay ours (an attacker
dialling us many times cannot take them); when those are full a newcomer evicts
the inbound peer L{eviction_candidate} picks (after Bitcoin Core's inbound
eviction: whoever fills the slots cannot push out the peers that have proven
useful or stayed long), or is refused. L{AcceptingFactory} is the listening
factory that lets the service refuse an inbound connection at accept time,
before a protocol is built or a byte read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

import attrs
from twisted.internet.interfaces import IAddress, ILoggingContext, IProtocol, IProtocolFactory
from zope.interface import implementer

from neo_twisted.p2p.hosts import address_group

if TYPE_CHECKING:
    from neo_twisted.p2p.controller import PeerRecord
    from neo_twisted.p2p.discipline import Discipline
    from neo_twisted.p2p.interfaces import IPeer

__all__ = ["Accept", "AcceptingFactory", "Admission", "Verdict",
           "eviction_candidate"]

#: Inbound peers that sent us something new most recently, kept from eviction.
PROTECT_USEFUL = 4
#: Of the rest, this share of the longest connected is kept from eviction.
PROTECT_OLDEST_SHARE = 0.5

#: Decides on an accepted connection: the protocol built by the wrapped factory, or None.
Accept = Callable[[IAddress, IProtocolFactory], "IProtocol | None"]


def eviction_candidate(inbound: Mapping[IPeer, PeerRecord], now: float,
                       discipline: Discipline) -> IPeer | None:
    """
    The inbound peer to drop for a newcomer, or None when every one is kept.

    Protected hosts (loopback, whitelist) stay. A discouraged peer goes first. Then
    the L{PROTECT_USEFUL} that sent us something new most recently and the longest
    connected half of the others are kept, and the youngest of the most crowded
    address group goes: to take slots an attacker must come from many networks and
    stay long, and still cannot push out peers that serve us.
    """
    candidates = [(peer, c) for peer, c in inbound.items() if not discipline.protected(c.host)]
    discouraged = [(peer, c) for peer, c in candidates
                   if discipline.is_discouraged(c.host, now)]
    if discouraged:
        return max(discouraged, key=lambda item: item[1].since)[0]
    useful = sorted((item for item in candidates if item[1].useful_at > 0),
                    key=lambda item: item[1].useful_at, reverse=True)[:PROTECT_USEFUL]
    kept = {id(peer) for peer, _ in useful}
    rest = [item for item in candidates if id(item[0]) not in kept]
    rest.sort(key=lambda item: item[1].since)
    rest = rest[int(len(rest) * PROTECT_OLDEST_SHARE):]
    if not rest:
        return None
    groups = Counter(address_group(c.host) for _, c in rest)
    crowded = max(groups.values())
    group = [item for item in rest if groups[address_group(item[1].host)] == crowded]
    return max(group, key=lambda item: item[1].since)[0]


@attrs.frozen
class Verdict:
    """
    What to do with a new inbound connection: refuse it, or let it in (after
    evicting C{evict}, when set, to make room).

    @ivar refusal: why the connection is refused; None: it is let in.
    @ivar evict: the inbound peer that gives way for it, if one must.
    """

    refusal: str | None = None
    evict: IPeer | None = None


class Admission:
    """
    The service's limits and discipline, as decisions on connections.

    Plain and clock-free: every method takes C{now} and the service's records
    (L{PeerRecord}s by peer), and returns a decision, so each rule is tested
    alone and the service keeps one place that acts on them.

    @ivar discipline: the IPs discouraged and banned.
    @ivar min_peers: outbound connections to keep.
    @ivar max_peers: connections in all.
    @ivar max_per_address: connections with one IP.
    """

    def __init__(self, discipline: Discipline, *, min_peers: int = 10, max_peers: int = 40,
                 max_per_address: int = 3) -> None:
        """
        @raise ValueError: unless 0 < C{min_peers} <= C{max_peers} and 0 < C{max_per_address}.
        """
        if not 0 < min_peers <= max_peers or max_per_address < 1:
            raise ValueError("need 0 < min_peers <= max_peers, 0 < max_per_address")
        self.discipline = discipline
        self.min_peers = min_peers
        self.max_peers = max_peers
        self.max_per_address = max_per_address

    @property
    def max_inbound(self) -> int:
        """
        Inbound connections at most: the slots outbound ones do not keep.
        """
        return max(1, self.max_peers - self.min_peers)

    def refusal(self, host: str, others: Collection[PeerRecord], now: float, *,
                inbound: bool) -> str | None:
        """
        Why one more connection with C{host} is refused next to C{others}, if it is; an
        inbound one over the inbound limit is not refused here (it may evict: see
        L{inbound}).
        """
        if self.discipline.is_banned(host, now):
            return f"{host} is banned"
        if len(others) >= self.max_peers and not inbound:
            return f"too many connections ({len(others)})"
        if sum(1 for c in others if c.host == host) >= self.max_per_address:
            return f"too many connections with {host}"
        return None

    def inbound(self, host: str, connections: Mapping[IPeer, PeerRecord],
                now: float) -> Verdict:
        """
        Whether a connection from C{host}, just accepted, is let in next to
        C{connections} (all the service records, evicted ones too), and whom it
        evicts when the inbound slots are full. A discouraged host evicts nobody.
        """
        reason = self.refusal(host, list(connections.values()), now, inbound=True)
        if reason is not None:
            return Verdict(reason)
        counted = {p: c for p, c in connections.items() if not c.evicted}
        inbound = {p: c for p, c in counted.items() if c.inbound}
        if len(inbound) < self.max_inbound and len(counted) < self.max_peers:
            return Verdict()
        if self.discipline.is_discouraged(host, now):
            return Verdict(f"{host} is discouraged and the inbound slots are full")
        victim = eviction_candidate(inbound, now, self.discipline)
        if victim is None:
            return Verdict(f"inbound slots full ({len(inbound)}), nobody to evict")
        return Verdict(evict=victim)

    def after_version(self, peer: IPeer, host: str, nonce: int,
                      connections: Mapping[IPeer, PeerRecord], now: float) -> str | None:
        """
        Why C{peer} (with C{host}) must be dropped once its version gave C{nonce}:
        a duplicate (same IP and nonce), banned, or over a limit; None to keep it.

        The limits were checked at accept time; they are checked again here for
        connections that raced each other, and for the ones we dialled.
        """
        others = [c for p, c in connections.items() if p is not peer and not c.evicted]
        if any(c.host == host and c.nonce == nonce for c in others):
            return f"already connected to node {nonce} at {host}"
        return self.refusal(host, others, now, inbound=False)

    def undiallable(self, per_host: Mapping[str, int], now: float) -> set[str]:
        """
        The IPs not to dial now: banned, discouraged, or at C{max_per_address}
        with the connections and dials counted in C{per_host}.
        """
        full = {host for host, count in per_host.items() if count >= self.max_per_address}
        return full | self.discipline.shunned(now)


@implementer(IProtocolFactory, ILoggingContext)
class AcceptingFactory:
    """
    Wraps the inbound factory to refuse connections over the limits at accept time.

    Every C{buildProtocol} goes to C{accept} with the wrapped factory, which builds
    the protocol only for connections it lets in.
    """

    def __init__(self, wrapped: IProtocolFactory, accept: Accept) -> None:
        self._wrapped = wrapped
        self._accept = accept

    def doStart(self) -> None:
        self._wrapped.doStart()

    def doStop(self) -> None:
        self._wrapped.doStop()

    def logPrefix(self) -> str:
        return type(self._wrapped).__name__

    def buildProtocol(self, addr: IAddress) -> IProtocol | None:
        return self._accept(addr, self._wrapped)
