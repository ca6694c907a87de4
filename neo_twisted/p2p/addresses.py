# -*- test-case-name: tests.unit.test_p2p_addresses,tests.unit.test_p2p_addrbook -*-
"""
Where the node may dial: the address book, which one peer cannot fill.

L{AddressBook} is a plain data structure: every method that depends on time takes
C{now} (the reactor's C{seconds()}), so it is tested without a clock. It never does
I/O (C{peers.dat} is L{neo_twisted.p2p.peersfile}, re-exported here).

Eclipse resistance, after Bitcoin Core's address manager: every entry is filed by
its I{source group}, the /16 (IPv4) or /32 (IPv6) of the peer whose C{addr} carried
it (L{TRUSTED} for seeds, C{peers.dat} and our own connections), and counted by its
own I{address group} (same prefixes). Counts are kept up to date on every change, so
no operation walks the book: an C{addr} of 200 costs 200 steps however full it is.

Those indexes are L{neo_twisted.p2p.addrindex}; what a host text means (its group,
whether it is public) is L{neo_twisted.p2p.hosts}, whose public names are re-exported.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Collection, Iterable

from neo_twisted.p2p.addrindex import Bag, Entry, Shelf, Tally
from neo_twisted.p2p.hosts import (
    address_group,
    dial_candidate,
    group_of,
    is_dialable,
    is_public_address,
    normalise_host,
    parse_ip,
)
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.p2p.peersfile import (
    PEERS_FILE_MAX,
    decode_peers,
    encode_peers,
    load_peers,
    save_peers,
)

__all__ = [
    "ADDRESS_GROUP_SHARE",
    "BOOK_CAPACITY",
    "FORGET_AFTER",
    "PEERS_FILE_MAX",
    "RETRY_BASE",
    "RETRY_CAP",
    "TRUSTED",
    "AddressBook",
    "address_group",
    "decode_peers",
    "encode_peers",
    "is_public_address",
    "load_peers",
    "normalise_host",
    "save_peers",
]

#: Unconnected endpoints kept (C{UnconnectedMax} of both eras).
BOOK_CAPACITY = 1000
#: Seconds before an endpoint is offered again after its first failure or a clean disconnect.
RETRY_BASE = 15.0
#: The back-off doubles per consecutive failure up to this many seconds.
RETRY_CAP = 3600.0
#: Consecutive failures after which an endpoint is forgotten (until advertised again).
FORGET_AFTER = 10
#: One address group holds at most 1/8 of the book's capacity in entries learnt from
#: peers: what we dial then lies in 8 /16s at least, so one hosting network or one
#: operator's /16 cannot be all we know, while a /16 full of honest nodes (a cloud
#: region) still has 125 places. Trusted entries are exempt: a localnet is one /16.
ADDRESS_GROUP_SHARE = 8
#: The source group of entries from a trusted source (seeds, C{peers.dat}, connections).
TRUSTED = "trusted"

class AddressBook:
    """
    Known listener endpoints to dial, with reconnect back-off, resisting floods of
    advertised addresses. Who may not be dialled (bans, discouragements) is the
    connection service's L{Discipline}'s to say: it passes them to L{take}.

    Endpoints are either I{idle} (candidates for L{take} once their back-off has
    passed) or I{in use} (being dialled or connected: L{mark_connected}); only idle
    ones count towards the capacity and L{__len__}.

    When the book is full a new endpoint takes the place of a random one from the
    most represented source group, preferring one that failed or was never tried;
    if its own source group is already (one of) the largest, it may only replace
    one of its own group's failed endpoints, and is refused otherwise. So a flooding
    peer may take the free room, but in a full book it stops growing once no other
    group is larger, and while it is the largest every newcomer from elsewhere
    evicts from it. A returning connection (in use, then idle again) always gets
    back in, evicting the same way.

    @ivar own: endpoints we listen on, never stored.
    @ivar own_port: our listening port: a loopback or unspecified address with this
        port is us too.
    @ivar max_per_address_group: entries learnt from peers per address group, at most.
    """

    def __init__(self, capacity: int = BOOK_CAPACITY, *, own: Iterable[Endpoint] = (),
                 own_port: int | None = None, retry_base: float = RETRY_BASE,
                 retry_cap: float = RETRY_CAP, forget_after: int = FORGET_AFTER,
                 rng: random.Random | None = None,
                 max_per_address_group: int | None = None) -> None:
        """
        @param capacity: idle endpoints kept at most.
        @param rng: the source of randomness for L{take} and eviction (tests seed it).
        @param max_per_address_group: defaults to C{capacity} / L{ADDRESS_GROUP_SHARE}.
        """
        if capacity < 1 or forget_after < 1 or not 0 < retry_base <= retry_cap:
            raise ValueError("capacity, forget_after and retry_base must be positive, "
                             "retry_base at most retry_cap")
        self.capacity = capacity
        self.own: set[Endpoint] = set(own)
        self.own_port = own_port
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.forget_after = forget_after
        self.max_per_address_group = (max(1, capacity // ADDRESS_GROUP_SHARE)
                                      if max_per_address_group is None
                                      else max_per_address_group)
        self._rng = rng or random.Random()
        self._entries: dict[Endpoint, Entry] = {}
        self._in_use: set[Endpoint] = set()
        self._by_host: dict[str, set[Entry]] = {}
        self._shelves: dict[str, Shelf] = {}
        self._sources = Tally()
        self._groups: dict[str, int] = {}  # idle entries per address group
        self._ready: Bag[Entry] = Bag()
        self._waiting: list[tuple[float, int, Entry]] = []
        self._tickets = 0
        self._idle = 0

    # -- own endpoints and bans --------------------------------------------------------------

    def is_own(self, endpoint: Endpoint) -> bool:
        """
        Whether C{endpoint} is (very probably) this node.
        """
        if endpoint in self.own:
            return True
        if self.own_port is None or endpoint.port != self.own_port:
            return False
        address = parse_ip(endpoint.host)
        return address is not None and (address.is_loopback or address.is_unspecified)

    def add_own(self, endpoint: Endpoint) -> None:
        """
        Learn one more endpoint of ours, and forget it as a candidate.
        """
        self.own.add(endpoint)
        self._forget(self._entries.get(endpoint))

    def forget_host(self, host: str) -> None:
        """
        Forget every idle endpoint of the IP C{host} (it was banned: its room is others').
        """
        for entry in list(self._by_host.get(normalise_host(host), ())):
            self._forget(entry)

    # -- learning and offering endpoints -----------------------------------------------------

    def add(self, endpoints: Iterable[Endpoint], now: float, source: str | None = None) -> int:
        """
        Learn endpoints; known ones keep their back-off, own and undialable ones are
        skipped. A full book makes room as the class says, or refuses.

        @param source: the IP text of the peer whose C{addr} carried them; None for a
            trusted source (seeds, C{peers.dat}, our own connections), exempt from
            L{max_per_address_group}.
        @return: how many were new.
        """
        origin = TRUSTED if source is None else address_group(source)
        limit = None if source is None else self.max_per_address_group
        added = 0
        for offered in endpoints:
            candidate = dial_candidate(offered)
            if candidate is None:
                continue
            endpoint, group = candidate
            if (endpoint in self._entries or endpoint in self._in_use
                    or self.is_own(endpoint)):
                continue
            if limit is not None and self._groups.get(group, 0) >= limit:
                continue
            if self._idle >= self.capacity:
                victim = self._victim(origin)
                if victim is None:
                    break  # the same holds for the rest of this source's endpoints
                self._forget(victim)
            entry = Entry(endpoint, endpoint.host, origin, group)
            self._store(entry)
            self._index(entry, now)
            added += 1
        return added

    def take(self, count: int, now: float, *, exclude: Collection[Endpoint] = (),
             exclude_hosts: Collection[str] = ()) -> list[Endpoint]:
        """
        Up to C{count} distinct random idle endpoints whose back-off has passed.

        Nothing is reserved: call L{mark_connected} for each one dialled. A few
        candidates are drawn at random from those ready; the ready set is walked only
        when most of it is wanted or excluded.
        """
        self._promote(now)
        ready = self._ready
        wanted = min(max(count, 0), len(ready))
        if not wanted:
            return []

        def offerable(entry: Entry) -> bool:
            return (entry.retry_at <= now and entry.endpoint not in exclude
                    and entry.host not in exclude_hosts)

        chosen: list[Endpoint] = []
        seen: set[Entry] = set()
        if 2 * wanted < len(ready):
            for _ in range(4 * (wanted + len(exclude) + len(exclude_hosts)) + 16):
                entry = ready.choice(self._rng)
                if entry in seen:
                    continue
                seen.add(entry)
                if offerable(entry):
                    chosen.append(entry.endpoint)
                    if len(chosen) == wanted:
                        return chosen
        rest = [e.endpoint for e in ready if e not in seen and offerable(e)]
        return chosen + self._rng.sample(rest, min(wanted - len(chosen), len(rest)))

    def retry_at(self, endpoint: Endpoint) -> float | None:
        """
        When C{endpoint} may be offered again (0: now), or None when it is not known.
        """
        entry = self._entries.get(endpoint)
        return None if entry is None else entry.retry_at

    def is_ready(self, endpoint: Endpoint, now: float) -> bool:
        """
        Whether C{endpoint} may be dialled now: not in use, own or backing off.
        """
        entry = self._entries.get(endpoint)
        return (endpoint not in self._in_use and self._acceptable(endpoint)
                and (entry is None or entry.retry_at <= now))

    # -- the life of a connection ------------------------------------------------------------

    def mark_connected(self, endpoint: Endpoint) -> None:
        """
        C{endpoint} is being dialled or is connected: not a candidate until released.
        """
        self._in_use.add(endpoint)
        entry = self._entries.get(endpoint)
        if entry is not None:
            self._unindex(entry)

    def mark_failed(self, endpoint: Endpoint, now: float) -> None:
        """
        Dialling or handshaking with C{endpoint} failed: back off exponentially,
        forgetting it after L{FORGET_AFTER} failures in a row.
        """
        self._in_use.discard(endpoint)
        entry = self._release(endpoint, now)
        if entry is None:
            return
        entry.failures += 1
        if entry.failures >= self.forget_after:
            self._forget(entry)
            return
        delay = self.retry_base * 2 ** (entry.failures - 1)
        entry.retry_at = now + min(delay, self.retry_cap)
        self._settle(entry, now)

    def mark_disconnected(self, endpoint: Endpoint, now: float) -> None:
        """
        A working connection to C{endpoint} ended: it may be dialled again after
        L{retry_base} seconds, its failures forgiven.
        """
        self._in_use.discard(endpoint)
        entry = self._release(endpoint, now)
        if entry is not None:
            entry.failures = 0
            entry.worked = True
            entry.retry_at = now + self.retry_base
            self._settle(entry, now)

    # -- inspection --------------------------------------------------------------------------

    def snapshot(self) -> list[Endpoint]:
        """
        The idle endpoints, fewest failures first (what C{peers.dat} should keep).
        """
        idle = [(entry.failures, e) for e, entry in self._entries.items() if entry.idle]
        return [e for _, e in sorted(idle)]

    def count_from(self, source: str | None) -> int:
        """
        How many idle endpoints were learnt from C{source}'s group (None: trusted).
        """
        return self._sources[TRUSTED if source is None else address_group(source)]

    def __len__(self) -> int:
        return self._idle

    def __contains__(self, endpoint: object) -> bool:
        entry = self._entries.get(endpoint) if isinstance(endpoint, Endpoint) else None
        return entry is not None and entry.idle

    def __repr__(self) -> str:
        return f"<AddressBook {len(self)} idle, {len(self._in_use)} in use>"

    # -- the indexes -------------------------------------------------------------------------

    def _acceptable(self, endpoint: Endpoint) -> bool:
        return is_dialable(parse_ip(endpoint.host), endpoint.port) and not self.is_own(endpoint)

    def _victim(self, origin: str, force: bool = False) -> Entry | None:
        """
        The idle entry to forget so that one more from source group C{origin} fits, or
        None: C{origin} is the largest group and has no failed entry (with C{force},
        one of its others then).
        """
        largest = self._sources.largest()
        if largest is None:
            return None
        if self._sources[origin] < self._sources.top:
            return self._shelves[largest].weakest(self._rng)
        shelf = self._shelves[origin]
        if shelf.failed:
            return shelf.failed.choice(self._rng)
        return shelf.weakest(self._rng) if force else None

    def _store(self, entry: Entry) -> None:
        self._entries[entry.endpoint] = entry
        self._by_host.setdefault(entry.host, set()).add(entry)

    def _forget(self, entry: Entry | None) -> None:
        if entry is None:
            return
        del self._entries[entry.endpoint]
        self._unindex(entry)
        hosts = self._by_host[entry.host]
        hosts.discard(entry)
        if not hosts:
            del self._by_host[entry.host]

    def _index(self, entry: Entry, now: float) -> None:
        """
        Make a stored entry idle: counted, evictable, and offered once its back-off passes.
        """
        entry.idle = True
        self._idle += 1
        self._sources.add(entry.source, 1)
        self._groups[entry.group] = self._groups.get(entry.group, 0) + 1
        shelf = self._shelves.get(entry.source)
        if shelf is None:
            shelf = self._shelves[entry.source] = Shelf()
        shelf.of(entry).add(entry)
        if entry.retry_at <= now:
            entry.ready = True
            self._ready.add(entry)
            return
        self._tickets += 1
        entry.ticket = self._tickets
        heapq.heappush(self._waiting, (entry.retry_at, entry.ticket, entry))
        if len(self._waiting) > 2 * self._idle + 64:  # forgotten entries leave stale tickets
            self._waiting = [item for item in self._waiting if _waits(*item)]
            heapq.heapify(self._waiting)

    def _unindex(self, entry: Entry) -> None:
        """
        Take an entry out of the counts and offers (its waiting ticket goes stale).
        """
        if not entry.idle:
            return
        entry.idle = False
        self._idle -= 1
        self._sources.add(entry.source, -1)
        left = self._groups.pop(entry.group) - 1
        if left:
            self._groups[entry.group] = left
        self._shelves[entry.source].of(entry).discard(entry)
        if not self._sources[entry.source]:
            del self._shelves[entry.source]
        if entry.ready:
            entry.ready = False
            self._ready.discard(entry)

    def _promote(self, now: float) -> None:
        """
        Move the idle entries whose back-off is over at C{now} to the ready set.
        """
        while self._waiting and self._waiting[0][0] <= now:
            item = heapq.heappop(self._waiting)
            if _waits(*item):
                item[2].ready = True
                self._ready.add(item[2])

    def _release(self, endpoint: Endpoint, now: float) -> Entry | None:
        """
        The entry of an endpoint out of the indexes, to be changed and L{_settle}d; made
        (trusted) if there is room, None if it is not kept.
        """
        entry = self._entries.get(endpoint)
        address = parse_ip(endpoint.host)
        if (address is None or not is_dialable(address, endpoint.port)
                or self.is_own(endpoint)):
            self._forget(entry)
            return None
        if entry is not None:
            self._unindex(entry)
            return entry
        if self._idle >= self.capacity:
            victim = self._victim(TRUSTED)
            if victim is None:
                return None
            self._forget(victim)
        entry = Entry(endpoint, str(address), TRUSTED, group_of(address))
        self._store(entry)
        return entry

    def _settle(self, entry: Entry, now: float) -> None:
        """
        Index a released entry, evicting one if an endpoint back from use overfills the book.
        """
        if self._idle >= self.capacity:
            self._forget(self._victim(entry.source, force=True))
        self._index(entry, now)


def _waits(retry_at: float, ticket: int, entry: Entry) -> bool:
    """
    Whether a waiting-heap item is current: its entry is still idle, not yet ready, and
    has not been pushed again since.
    """
    return entry.idle and not entry.ready and entry.ticket == ticket
