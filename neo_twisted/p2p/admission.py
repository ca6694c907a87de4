# -*- test-case-name: tests.test_p2p_connections,tests.test_p2p_dialling -*-
"""
Admission of connections, for L{neo_twisted.p2p.connections.ConnectionService}.

L{Connection} is what the service records of each connection it counts against
its limits; L{AcceptingFactory} is the listening factory that lets the service
refuse an inbound connection at accept time, before a protocol is built or a
byte read; L{eviction_candidate} picks the inbound peer that gives way when the
inbound slots are full (after Bitcoin Core's inbound eviction: whoever fills
the slots cannot push out the peers that have proven useful or stayed long).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import attrs
from twisted.internet.interfaces import IAddress, ILoggingContext, IProtocol, IProtocolFactory
from zope.interface import implementer

from neo_twisted.p2p.interfaces import Endpoint

if TYPE_CHECKING:
    from neo_twisted.p2p.discipline import Discipline
    from neo_twisted.p2p.interfaces import IPeer

__all__ = ["Accept", "AcceptingFactory", "Connection", "eviction_candidate"]

#: Inbound peers that sent us something new most recently, kept from eviction.
PROTECT_USEFUL = 4
#: Of the rest, this share of the longest connected is kept from eviction.
PROTECT_OLDEST_SHARE = 0.5

#: Decides on an accepted connection: the protocol built by the wrapped factory, or None.
Accept = Callable[[IAddress, IProtocolFactory], "IProtocol | None"]


@attrs.define
class Connection:
    """
    What the service knows of one connection, from TCP connect (or accept) to loss.
    """

    inbound: bool
    host: str
    dialled: Endpoint | None = None
    nonce: int | None = None
    established: bool = False
    listener: Endpoint | None = None
    #: When it connected (reactor seconds).
    since: float = 0.0
    #: When it last sent us a block or transaction we did not have (0: never).
    useful_at: float = 0.0
    #: Being closed to make room for another: its slot is no longer counted.
    evicted: bool = False


def address_group(host: str) -> str:
    """
    The network a host belongs to for diversity: its /16 (IPv4) or /32 (IPv6).
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    prefix = 16 if address.version == 4 else 32
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def eviction_candidate(inbound: Mapping[IPeer, Connection], now: float,
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
