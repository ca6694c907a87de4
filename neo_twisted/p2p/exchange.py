# -*- test-case-name: tests.unit.test_p2p_connections,tests.unit.test_p2p_exchange -*-
"""
The address exchange: what we learn from C{addr} and what we answer to C{getaddr}.

A peer's C{addr} is the one input that fills the address book, so it is where
an eclipse starts: each peer may give us about 1,000 addresses per 10 minutes
(a token bucket; the rest of a flood is dropped unread), private, loopback and
reserved addresses are dropped unless the node runs on a local network
(C{--allow-private-addresses}), and what is left is filed under the sender's
network in the book (L{AddressBook.add}'s C{source}), so one source cannot
push out what the others taught us.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
from collections.abc import Callable

from twisted.logger import Logger

from neo_twisted.network.payloads import (
    MAX_ADDRESSES,
    AddrPayload,
    NetworkAddressWithTime,
    VersionPayload,
)
from neo_twisted.p2p.addresses import AddressBook, normalise_host
from neo_twisted.p2p.hosts import is_public_ip
from neo_twisted.p2p.interfaces import Endpoint, IPeer
from neo_twisted.p2p.ratelimit import ADDR_BURST, ADDR_RATE, TokenBucket

__all__ = ["AddressExchange"]


class AddressExchange:
    """
    C{addr} in, C{addr} out, for the connection service.

    @ivar dropped: addresses dropped, by reason (C{"rate"}, C{"private"}).
    """

    _log = Logger()

    def __init__(self, book: AddressBook, *, busy: Callable[[], set[Endpoint]],
                 established: Callable[[], list[IPeer]], rng: random.Random,
                 allow_private: bool = False) -> None:
        """
        @param busy: the endpoints being dialled or connected (not learnt again).
        @param established: the peers whose listeners C{getaddr} is answered with.
        @param allow_private: take private and reserved addresses too.
        """
        self._book = book
        self._busy = busy
        self._established = established
        self._rng = rng
        self.allow_private = allow_private
        self._buckets: dict[IPeer, TokenBucket] = {}
        self.dropped = {"rate": 0, "private": 0}

    def received(self, peer: IPeer, payload: AddrPayload, now: float) -> int:
        """
        Learn what C{peer}'s C{addr} may teach us; how many endpoints were new.
        """
        bucket = self._buckets.get(peer)
        if bucket is None:
            bucket = self._buckets[peer] = TokenBucket(ADDR_RATE, ADDR_BURST, now)
        addresses = payload.addresses
        allowed = bucket.take(len(addresses), now)
        if allowed < len(addresses):
            self.dropped["rate"] += len(addresses) - allowed
            addresses = addresses[:allowed]
        endpoints = []
        for entry in addresses:
            address = entry.address
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            if not self.allow_private and not is_public_ip(address):
                self.dropped["private"] += 1
                continue
            endpoints.append(Endpoint(str(address), entry.port))
        busy = self._busy()
        source = normalise_host(peer.remote.host)
        added = self._book.add([e for e in endpoints if e not in busy], now, source=source)
        self._log.debug("{added} of {count} addresses from {peer} are new", added=added,
                        count=len(payload.addresses), peer=str(peer.remote))
        return added

    def forget(self, peer: IPeer) -> None:
        self._buckets.pop(peer, None)

    def answer(self, peer: IPeer) -> None:
        """
        Answer C{getaddr} with up to 200 random established peers' listener endpoints,
        one per IP, not the asker's; nothing at all when there are none (2.9+ drops an
        empty C{addr}).
        """
        by_host: dict[str, list[tuple[VersionPayload, Endpoint]]] = {}
        for other in self._established():
            version, listener = other.version, other.listener
            if other is not peer and listener is not None and version is not None:
                by_host.setdefault(normalise_host(listener.host), []).append((version, listener))
        hosts = self._rng.sample(sorted(by_host), min(MAX_ADDRESSES, len(by_host)))
        entries = []
        for host in hosts:
            version, listener = self._rng.choice(by_host[host])
            with contextlib.suppress(ValueError):  # not an IP: a test transport
                entries.append(NetworkAddressWithTime(version.timestamp, version.services,
                                                      ipaddress.ip_address(host), listener.port))
        if entries:
            peer.send("addr", AddrPayload(tuple(entries)))
