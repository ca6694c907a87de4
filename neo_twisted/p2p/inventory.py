# -*- test-case-name: tests.unit.test_p2p_inventory -*-
"""
Inventory bookkeeping: which hashes a peer knows, which we asked for, what we relayed.

These are plain data structures with no I/O and no clock of their own: every method that
depends on time takes C{now} (seconds, e.g. C{reactor.seconds()}), which must not go
backwards by more than a little (a backward step only delays expiry, it never breaks the
structures). They follow the rules of the reference node (neo2-network.md section 5.2):

  - L{FifoSet}: the per-peer known/sent hash sets of 2.10.2+ (C{FIFOSet}, 100,000 entries).
  - L{RequestTracker}: the global table of hashes asked for with C{getdata}. Unlike 2.9.3+,
    which asks up to three peers at once, we ask B{one} peer at a time and move on to another
    peer that announced the hash only after a timeout (60 s, like C{MissionExpiration}) or
    a disconnect.
  - L{RelayFilter}: never re-broadcast a hash relayed in the last 30 s (C{KnownHashes}).
  - L{RelayCache}: the last 100 relayed items, served to C{getdata} (C{RelayCache(100)}).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from itertools import islice
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
P = TypeVar("P", bound=Hashable)
H = TypeVar("H", bound=Hashable)

#: Per-peer known/sent hashes, and completed requests (C{MemPool.Capacity} x 2 in 2.10.2+).
HASH_SET_CAPACITY = 100_000
#: The share of a full L{FifoSet} forgotten at once (the reference drops the oldest 10 %).
DROP_FRACTION = 0.1
#: Requests one peer may have in flight (in one table) before what else it announces is
#: not asked for: block sync's segments (3 of 500) and a mempool's worth of transaction
#: announcements fit well within it.
MAX_ANNOUNCED_REQUESTS = 5_000
#: Seconds before an unanswered C{getdata} request may go to another peer (C{MissionExpiration}).
REQUEST_TIMEOUT = 60.0
#: Seconds during which a relayed hash is not relayed again (C{HashesExpiration}).
RELAY_WINDOW = 30.0
#: Hard bound on the hashes L{RelayFilter} remembers (the reference prunes above 1,000,000).
RELAY_FILTER_ENTRIES = 1_000_000
#: Relayed items kept to answer C{getdata} (C{new RelayCache(100)}).
RELAY_CACHE_CAPACITY = 100


class FifoSet(Generic[T]):
    """
    A set bounded to C{capacity} items that forgets its oldest items when full.

    When an item is added to a full set, the oldest C{max(1, int(capacity * drop_fraction))}
    items are dropped first, as the reference C{FIFOSet} does. Dropping a batch rather than
    one item keeps C{add} amortised O(1): the items live in a C{dict} (insertion order), and
    each batch costs one scan of its head. Re-adding a present item does not refresh its age.
    """

    __slots__ = ("_batch", "_capacity", "_items")

    def __init__(self, capacity: int = HASH_SET_CAPACITY,
                 drop_fraction: float = DROP_FRACTION) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        if not 0.0 < drop_fraction <= 1.0:
            raise ValueError(f"drop_fraction must be in (0, 1], got {drop_fraction}")
        self._capacity = capacity
        self._batch = max(1, int(capacity * drop_fraction))
        self._items: dict[T, None] = {}

    @property
    def capacity(self) -> int:
        return self._capacity

    def add(self, item: T) -> bool:
        """
        Remember C{item}; return C{True} if it was not already present.
        """
        items = self._items
        if item in items:
            return False
        if len(items) >= self._capacity:
            for old in list(islice(items, self._batch)):
                del items[old]
        items[item] = None
        return True

    def discard(self, item: T) -> None:
        self._items.pop(item, None)

    def clear(self) -> None:
        self._items.clear()

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        """
        Oldest first.
        """
        return iter(self._items)


class RequestTracker(Generic[P, H]):
    """
    The global table of hashes requested from peers: each hash is in flight at no more
    than one peer at a time, and completed hashes are never asked for again.

    A request made at time C{t} is alive while C{now < t + timeout}; at C{now == t + timeout}
    it has expired (a boundary that is easy to test and errs towards moving on).

    Peers that announce a hash already in flight elsewhere are remembered, in announcement
    order, as I{sources} of it. When the request is given up (timeout or disconnect), the
    hash is handed over at once to the source with the fewest requests in flight (the
    earliest announcer on a tie): it is recorded as in flight there and the caller only has
    to send the C{getdata}. With no source left the hash is forgotten, so the next C{inv}
    for it is requested again. Sources only exist for hashes in flight.

    @param timeout: seconds a request may stay unanswered.
    @param known_capacity: how many completed hashes are remembered (a L{FifoSet}).
    @param on_timeout: called with C{(peer, hash)} for every request that timed out, so the
        caller can penalise slow peers; also when a timed-out request not yet swept by
        L{expire} is taken over by L{claim} or L{announce}.
    @param max_announced: what L{announce} grants a peer that has this many requests in
        flight: nothing. A peer announcing hashes by the hundred thousand would
        otherwise fill the table with requests it never answers.
    """

    def __init__(self, timeout: float = REQUEST_TIMEOUT,
                 known_capacity: int = HASH_SET_CAPACITY,
                 on_timeout: Callable[[P, H], None] | None = None,
                 max_announced: int | None = MAX_ANNOUNCED_REQUESTS) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._timeout = timeout
        self._max_announced = max_announced
        self._on_timeout = on_timeout
        # hash -> (peer, deadline); claim order, so deadlines ascend while `now` does.
        self._requests: OrderedDict[H, tuple[P, float]] = OrderedDict()
        self._by_peer: dict[P, dict[H, None]] = {}
        self._sources: dict[H, dict[P, None]] = {}
        self._offers: dict[P, dict[H, None]] = {}  # the reverse of _sources
        self._done: FifoSet[H] = FifoSet(known_capacity)
        self._last_now = float("-inf")

    @property
    def timeout(self) -> float:
        return self._timeout

    # -- recording -------------------------------------------------------------------------

    def claim(self, peer: P, hashes: Iterable[H], now: float) -> list[H]:
        """
        Record the C{hashes} that may be requested from C{peer} now, and return them: those
        neither completed nor in flight (at any peer, C{peer} included) with an unexpired
        request. The others are skipped; C{peer} is not remembered as their source.
        """
        return self._request(peer, hashes, now, remember=False)

    def announce(self, peer: P, hashes: Iterable[H], now: float) -> list[H]:
        """
        C{peer} announced C{hashes} (an C{inv}): like L{claim}, but C{peer} is also
        remembered as a source of the hashes in flight at another peer, and it is granted
        none past C{max_announced} requests in flight.
        """
        return self._request(peer, hashes, now, remember=True)

    def complete(self, hash_: H, remember: bool = True) -> bool:
        """
        The item arrived (from anyone): stop tracking it and ignore it from now on.
        Return C{True} if it was not already completed.

        @param remember: whether to keep it among the completed hashes; callers that
            know their items by other means (blocks: the store) spare the memory.
        """
        if hash_ in self._requests:
            self._unassign(hash_)
        self._drop_sources(hash_)
        if not remember:
            return hash_ not in self._done
        return self._done.add(hash_)

    def release_peer(self, peer: P, now: float | None = None) -> list[tuple[H, P | None]]:
        """
        C{peer} disconnected: forget it as a source and give up its requests.

        Return C{(hash, next_peer)} for each request given up, where C{next_peer} now has
        the hash in flight, or is C{None} if no other peer announced it. Handed-over
        requests expire C{timeout} after C{now}; without C{now}, after the latest time this
        tracker was given.
        """
        when = self._last_now if now is None else self._tick(now)
        for hash_ in self._offers.pop(peer, {}):
            self._remove_source(hash_, peer, from_offers=False)
        handed: list[tuple[H, P | None]] = []
        for hash_ in list(self._by_peer.get(peer, ())):
            self._unassign(hash_)
            handed.append((hash_, self._hand_over(hash_, when)))
        return handed

    def expire(self, now: float) -> list[tuple[H, P | None]]:
        """
        Give up the requests whose deadline is C{<= now}, oldest first, reporting each to
        C{on_timeout}. Return C{(hash, next_peer)} pairs as L{release_peer} does.
        """
        self._tick(now)
        expired: list[tuple[H, P | None]] = []
        requests = self._requests
        while requests:
            hash_, (_, deadline) = next(iter(requests.items()))
            if now < deadline:
                break
            self._time_out(hash_)
            expired.append((hash_, self._hand_over(hash_, now)))
        return expired

    # -- queries ---------------------------------------------------------------------------

    def in_flight(self, peer: P) -> int:
        """
        How many requests C{peer} has not answered (expired ones not yet swept included).
        """
        return len(self._by_peer.get(peer, ()))

    @property
    def total_in_flight(self) -> int:
        return len(self._requests)

    def requests_of(self, peer: P) -> list[H]:
        """
        The hashes in flight at C{peer}, oldest request first.
        """
        return list(self._by_peer.get(peer, ()))

    def requested_from(self, hash_: H) -> P | None:
        """
        The peer C{hash_} is in flight at, if any.
        """
        request = self._requests.get(hash_)
        return None if request is None else request[0]

    def deadline(self, hash_: H) -> float | None:
        request = self._requests.get(hash_)
        return None if request is None else request[1]

    def sources(self, hash_: H) -> list[P]:
        """
        The other peers that announced C{hash_} while it was in flight, in order.
        """
        return list(self._sources.get(hash_, ()))

    def is_done(self, hash_: H) -> bool:
        return hash_ in self._done

    # -- internals -------------------------------------------------------------------------

    def _tick(self, now: float) -> float:
        self._last_now = max(self._last_now, now)
        return now

    def _request(self, peer: P, hashes: Iterable[H], now: float, remember: bool) -> list[H]:
        self._tick(now)
        granted: list[H] = []
        limit = self._max_announced if remember else None
        for hash_ in hashes:
            if limit is not None and self.in_flight(peer) >= limit:
                break
            if hash_ in self._done:
                continue
            request = self._requests.get(hash_)
            if request is not None:
                holder, deadline = request
                if now < deadline:
                    if remember and holder != peer:
                        self._add_source(hash_, peer)
                    continue
                self._time_out(hash_)
            self._remove_source(hash_, peer)
            self._assign(hash_, peer, now)
            granted.append(hash_)
        return granted

    def _assign(self, hash_: H, peer: P, now: float) -> None:
        self._requests[hash_] = (peer, now + self._timeout)
        self._requests.move_to_end(hash_)
        self._by_peer.setdefault(peer, {})[hash_] = None

    def _unassign(self, hash_: H) -> P:
        peer, _ = self._requests.pop(hash_)
        hashes = self._by_peer[peer]
        del hashes[hash_]
        if not hashes:
            del self._by_peer[peer]
        return peer

    def _time_out(self, hash_: H) -> None:
        peer = self._unassign(hash_)
        if self._on_timeout is not None:
            self._on_timeout(peer, hash_)

    def _hand_over(self, hash_: H, now: float) -> P | None:
        """
        Move the request for C{hash_} (no longer in flight) to its least busy source.
        """
        candidates = self._sources.get(hash_)
        if not candidates:
            return None
        # min() keeps the first of equals: the earliest announcer wins a tie.
        chosen = min(candidates, key=self.in_flight)
        self._remove_source(hash_, chosen)
        self._assign(hash_, chosen, now)
        return chosen

    def _add_source(self, hash_: H, peer: P) -> None:
        self._sources.setdefault(hash_, {})[peer] = None
        self._offers.setdefault(peer, {})[hash_] = None

    def _remove_source(self, hash_: H, peer: P, from_offers: bool = True) -> None:
        peers = self._sources.get(hash_)
        if peers is None or peer not in peers:
            return
        del peers[peer]
        if not peers:
            del self._sources[hash_]
        if from_offers:
            offered = self._offers[peer]
            del offered[hash_]
            if not offered:
                del self._offers[peer]

    def _drop_sources(self, hash_: H) -> None:
        for peer in self._sources.pop(hash_, ()):
            offered = self._offers[peer]
            del offered[hash_]
            if not offered:
                del self._offers[peer]


class RelayFilter(Generic[K]):
    """
    Relay suppression: a hash relayed at time C{t} is not relayed again while
    C{now - t <= window} (the reference's C{<= HashesExpiration}: still suppressed at exactly
    C{window} seconds, relayed again after).

    Stamps are kept in relay order, so expired ones are pruned from the head on every call
    (amortised O(1)); memory is thus bounded by the hashes relayed within one window, and
    hard-capped at C{max_entries} (beyond it the oldest stamps are forgotten early, which at
    worst relays a hash twice).
    """

    def __init__(self, window: float = RELAY_WINDOW,
                 max_entries: int = RELAY_FILTER_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be positive, got {max_entries}")
        self._window = window
        self._max_entries = max_entries
        self._stamps: OrderedDict[K, float] = OrderedDict()

    @property
    def window(self) -> float:
        return self._window

    def should_relay(self, key: K, now: float) -> bool:
        """
        Return C{True}, and stamp C{key} with C{now}, if it was not relayed in the window.
        """
        stamps = self._stamps
        self._prune(now)
        stamp = stamps.get(key)
        if stamp is not None and now - stamp <= self._window:
            return False
        stamps[key] = now
        stamps.move_to_end(key)
        if len(stamps) > self._max_entries:
            stamps.popitem(last=False)
        return True

    def _prune(self, now: float) -> None:
        stamps = self._stamps
        window = self._window
        while stamps:
            key, stamp = next(iter(stamps.items()))
            if now - stamp <= window:
                return
            del stamps[key]

    def __len__(self) -> int:
        """
        How many stamps are held (expired ones are dropped on the next call).
        """
        return len(self._stamps)


class RelayCache(Generic[K, V]):
    """
    The last C{capacity} relayed items by hash, to answer C{getdata} for them (the only
    source for consensus payloads). Oldest first out; putting a present key replaces its
    item and makes it the newest (it was just relayed again).
    """

    def __init__(self, capacity: int = RELAY_CACHE_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self._capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()

    @property
    def capacity(self) -> int:
        return self._capacity

    def put(self, key: K, item: V) -> None:
        items = self._items
        items[key] = item
        items.move_to_end(key)
        while len(items) > self._capacity:
            items.popitem(last=False)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)
