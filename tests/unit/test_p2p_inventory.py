"""
Tests for L{neo_twisted.p2p.inventory}: bounded hash sets, request de-duplication, relay
suppression and the relay cache.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.p2p.inventory import (
    HASH_SET_CAPACITY,
    RELAY_CACHE_CAPACITY,
    RELAY_WINDOW,
    REQUEST_TIMEOUT,
    FifoSet,
    RelayCache,
    RelayFilter,
    RequestTracker,
)
from neo_twisted.wire.uint import UInt256
from tests.support.property_settings import FUZZ, ROUND_TRIP


def h(n: int) -> UInt256:
    """
    A distinct hash for each C{n}.
    """
    return UInt256(n.to_bytes(32, "little"))


class FifoSetTests(SynchronousTestCase):
    def test_add_reports_new_items(self) -> None:
        items: FifoSet[UInt256] = FifoSet()
        self.assertTrue(items.add(h(1)))
        self.assertFalse(items.add(h(1)))
        self.assertIn(h(1), items)
        self.assertNotIn(h(2), items)
        self.assertEqual(len(items), 1)

    def test_defaults(self) -> None:
        self.assertEqual(HASH_SET_CAPACITY, 100_000)
        self.assertEqual(FifoSet[int]().capacity, 100_000)

    def test_full_set_drops_oldest_tenth(self) -> None:
        items: FifoSet[int] = FifoSet(100)
        for i in range(100):
            items.add(i)
        self.assertEqual(len(items), 100)
        self.assertTrue(items.add(100))
        self.assertEqual(len(items), 91)
        self.assertEqual(list(items), list(range(10, 101)))
        for i in range(10):
            self.assertNotIn(i, items)

    def test_small_capacity_drops_one(self) -> None:
        items: FifoSet[int] = FifoSet(3)
        for i in range(5):
            items.add(i)
        self.assertEqual(list(items), [2, 3, 4])

    def test_drop_fraction(self) -> None:
        items: FifoSet[int] = FifoSet(10, drop_fraction=0.5)
        for i in range(11):
            items.add(i)
        self.assertEqual(list(items), [5, 6, 7, 8, 9, 10])

    def test_readding_does_not_refresh(self) -> None:
        items: FifoSet[int] = FifoSet(3)
        for i in (1, 2, 3, 1, 4):
            items.add(i)
        self.assertEqual(list(items), [2, 3, 4])

    def test_forgotten_item_is_new_again(self) -> None:
        items: FifoSet[int] = FifoSet(2)
        for i in (1, 2, 3):
            items.add(i)
        self.assertTrue(items.add(1))

    def test_discard_and_clear(self) -> None:
        items: FifoSet[int] = FifoSet(5)
        items.add(1)
        items.add(2)
        items.discard(1)
        items.discard(7)
        self.assertEqual(list(items), [2])
        items.clear()
        self.assertEqual(len(items), 0)

    def test_stays_bounded_over_many_adds(self) -> None:
        items: FifoSet[int] = FifoSet(1000)
        for i in range(50_000):
            items.add(i)
            self.assertLessEqual(len(items), 1000)
        self.assertIn(49_999, items)
        self.assertNotIn(48_000, items)

    def test_invalid_arguments(self) -> None:
        self.assertRaises(ValueError, FifoSet, 0)
        self.assertRaises(ValueError, FifoSet, 10, 0.0)
        self.assertRaises(ValueError, FifoSet, 10, 1.5)

    @given(capacity=st.integers(1, 20), adds=st.lists(st.integers(0, 40), max_size=200))
    @ROUND_TRIP
    def test_keeps_newest_items(self, capacity: int, adds: list[int]) -> None:
        """
        The set always holds the newest distinct items, oldest first, never above capacity.
        """
        items: FifoSet[int] = FifoSet(capacity)
        order: list[int] = []
        for item in adds:
            if items.add(item):
                order.append(item)
            self.assertLessEqual(len(items), capacity)
            self.assertIn(item, items)
            self.assertEqual(list(items), order[len(order) - len(items):])


class RequestTrackerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.timeouts: list[tuple[str, UInt256]] = []
        self.tracker: RequestTracker[str, UInt256] = RequestTracker(
            on_timeout=lambda peer, hash_: self.timeouts.append((peer, hash_)))

    def test_default_timeout(self) -> None:
        self.assertEqual(REQUEST_TIMEOUT, 60.0)
        self.assertEqual(self.tracker.timeout, 60.0)
        self.assertRaises(ValueError, RequestTracker, 0)

    def test_same_hash_from_three_peers_requested_once(self) -> None:
        t = self.tracker
        self.assertEqual(t.announce("a", [h(1)], 0), [h(1)])
        self.assertEqual(t.announce("b", [h(1)], 1), [])
        self.assertEqual(t.announce("c", [h(1)], 2), [])
        self.assertEqual(t.total_in_flight, 1)
        self.assertEqual(t.requested_from(h(1)), "a")
        self.assertEqual(t.sources(h(1)), ["b", "c"])
        self.assertEqual([t.in_flight(p) for p in "abc"], [1, 0, 0])

    def test_announce_returns_new_hashes_in_order(self) -> None:
        t = self.tracker
        t.announce("a", [h(2)], 0)
        self.assertEqual(t.announce("b", [h(3), h(2), h(1), h(3)], 0), [h(3), h(1)])
        self.assertEqual(t.requests_of("b"), [h(3), h(1)])
        self.assertEqual(t.in_flight("b"), 2)
        self.assertEqual(t.total_in_flight, 3)

    def test_holder_reannouncing_is_not_asked_twice(self) -> None:
        t = self.tracker
        t.announce("a", [h(1)], 0)
        self.assertEqual(t.announce("a", [h(1)], 30), [])
        self.assertEqual(t.claim("a", [h(1)], 30), [])
        self.assertEqual(t.sources(h(1)), [])
        self.assertEqual(t.deadline(h(1)), 60)

    def test_claim_does_not_remember_sources(self) -> None:
        t = self.tracker
        t.claim("a", [h(1)], 0)
        self.assertEqual(t.claim("b", [h(1)], 0), [])
        self.assertEqual(t.sources(h(1)), [])

    def test_timeout_hands_over_to_next_source(self) -> None:
        t = self.tracker
        t.announce("a", [h(1)], 0)
        t.announce("b", [h(1)], 10)
        t.announce("c", [h(1)], 20)
        self.assertEqual(t.expire(59.9), [])
        self.assertEqual(t.expire(60), [(h(1), "b")])
        self.assertEqual(self.timeouts, [("a", h(1))])
        self.assertEqual(t.requested_from(h(1)), "b")
        self.assertEqual(t.deadline(h(1)), 120)
        self.assertEqual(t.sources(h(1)), ["c"])
        self.assertEqual(t.in_flight("a"), 0)
        self.assertEqual(t.total_in_flight, 1)

    def test_timed_out_peer_is_not_asked_again(self) -> None:
        t = self.tracker
        t.announce("a", [h(1)], 0)
        t.announce("b", [h(1)], 0)
        self.assertEqual(t.expire(60), [(h(1), "b")])
        self.assertEqual(t.expire(120), [(h(1), None)])
        self.assertEqual(self.timeouts, [("a", h(1)), ("b", h(1))])
        self.assertEqual(t.total_in_flight, 0)

    def test_expiry_boundary(self) -> None:
        """
        A request made at C{t} is alive while C{now < t + timeout}: at exactly the deadline
        it has expired.
        """
        t = self.tracker
        t.claim("a", [h(1)], 100)
        self.assertEqual(t.deadline(h(1)), 160)
        self.assertEqual(t.claim("b", [h(1)], 159.999), [])
        self.assertEqual(t.expire(159.999), [])
        self.assertEqual(t.expire(160), [(h(1), None)])
        self.assertIsNone(t.requested_from(h(1)))

    def test_unswept_expired_request_is_taken_over(self) -> None:
        t = self.tracker
        t.announce("a", [h(1)], 100)
        self.assertEqual(t.announce("b", [h(1)], 160), [h(1)])
        self.assertEqual(self.timeouts, [("a", h(1))])
        self.assertEqual(t.requested_from(h(1)), "b")
        self.assertEqual(t.in_flight("a"), 0)
        self.assertEqual(t.expire(200), [])

    def test_takeover_removes_new_holder_from_sources(self) -> None:
        t = self.tracker
        t.announce("a", [h(1)], 0)
        t.announce("b", [h(1)], 0)
        self.assertEqual(t.claim("b", [h(1)], 60), [h(1)])
        self.assertEqual(t.sources(h(1)), [])
        self.assertEqual(t.release_peer("b", 61), [(h(1), None)])

    def test_timeout_without_source_forgets_the_hash(self) -> None:
        t = self.tracker
        t.announce("a", [h(1)], 0)
        self.assertEqual(t.expire(60), [(h(1), None)])
        self.assertEqual(t.total_in_flight, 0)
        self.assertFalse(t.is_done(h(1)))
        self.assertEqual(t.announce("b", [h(1)], 61), [h(1)])

    def test_expire_is_oldest_first_and_stops_at_live_requests(self) -> None:
        t = self.tracker
        t.claim("a", [h(1)], 0)
        t.claim("b", [h(2)], 10)
        t.claim("a", [h(3)], 20)
        self.assertEqual(t.expire(75), [(h(1), None), (h(2), None)])
        self.assertEqual(t.requests_of("a"), [h(3)])

    def test_release_hands_over_to_next_source(self) -> None:
        t = self.tracker
        for peer in "abc":
            t.announce(peer, [h(1)], 0)
        self.assertEqual(t.release_peer("a", 5), [(h(1), "b")])
        self.assertEqual(t.deadline(h(1)), 65)
        self.assertEqual(t.sources(h(1)), ["c"])
        self.assertEqual(t.release_peer("b", 6), [(h(1), "c")])
        self.assertEqual(t.release_peer("c", 7), [(h(1), None)])
        self.assertEqual(t.total_in_flight, 0)
        self.assertEqual(self.timeouts, [])

    def test_release_forgets_peer_as_source(self) -> None:
        t = self.tracker
        t.announce("a", [h(1)], 0)
        t.announce("b", [h(1)], 0)
        self.assertEqual(t.release_peer("b", 1), [])
        self.assertEqual(t.sources(h(1)), [])
        self.assertEqual(t.release_peer("a", 2), [(h(1), None)])

    def test_release_without_now_uses_latest_time(self) -> None:
        t = self.tracker
        t.announce("a", [h(1)], 10)
        t.announce("b", [h(1)], 20)
        t.expire(30)
        self.assertEqual(t.release_peer("a"), [(h(1), "b")])
        self.assertEqual(t.deadline(h(1)), 90)

    def test_release_unknown_peer(self) -> None:
        self.assertEqual(self.tracker.release_peer("nobody", 0), [])

    def test_handover_prefers_least_busy_source(self) -> None:
        t = self.tracker
        t.announce("a", [h(1), h(2)], 0)
        t.announce("b", [h(3), h(1), h(2)], 0)
        t.announce("c", [h(1), h(2)], 0)
        # b has h(3) in flight, c nothing: h(1) goes to c; then both have one, b came first.
        self.assertEqual(t.release_peer("a", 1), [(h(1), "c"), (h(2), "b")])
        self.assertEqual(t.sources(h(1)), ["b"])
        self.assertEqual(t.sources(h(2)), ["c"])

    def test_completed_hashes_are_never_requested_again(self) -> None:
        t = self.tracker
        t.announce("a", [h(1)], 0)
        t.announce("b", [h(1)], 0)
        self.assertTrue(t.complete(h(1)))
        self.assertTrue(t.is_done(h(1)))
        self.assertEqual(t.total_in_flight, 0)
        self.assertEqual(t.in_flight("a"), 0)
        self.assertEqual(t.sources(h(1)), [])
        self.assertEqual(t.announce("c", [h(1)], 100), [])
        self.assertEqual(t.claim("c", [h(1)], 100), [])
        self.assertEqual(t.release_peer("b", 100), [])
        self.assertEqual(t.expire(1000), [])
        self.assertFalse(t.complete(h(1)))

    def test_unsolicited_item_is_done(self) -> None:
        t = self.tracker
        self.assertTrue(t.complete(h(7)))
        self.assertEqual(t.announce("a", [h(7)], 0), [])

    def test_complete_without_remembering(self) -> None:
        """
        An item completed with C{remember=False} stops being tracked (its request and
        sources go) but is not kept among the done: its caller knows it by other means.
        """
        t = self.tracker
        self.assertEqual(t.announce("a", [h(1)], 0), [h(1)])
        self.assertEqual(t.announce("b", [h(1)], 0), [])
        self.assertTrue(t.complete(h(1), remember=False))
        self.assertFalse(t.is_done(h(1)))
        self.assertEqual((t.in_flight("a"), t.sources(h(1))), (0, []))
        self.assertEqual(t.announce("b", [h(1)], 1), [h(1)])
        t.complete(h(1))
        self.assertFalse(t.complete(h(1), remember=False))

    def test_completed_memory_is_bounded(self) -> None:
        t: RequestTracker[str, int] = RequestTracker(known_capacity=2)
        for i in range(3):
            t.complete(i)
        self.assertFalse(t.is_done(0))
        self.assertEqual(t.announce("a", [0, 1, 2], 0), [0])

    def test_announced_requests_per_peer_are_capped(self) -> None:
        """
        Past C{max_announced} in flight a peer's announcements are not asked for (nor is
        it remembered as their source); claims, block sync's, are not capped.
        """
        t: RequestTracker[str, int] = RequestTracker(max_announced=3)
        self.assertEqual(t.announce("a", [1, 2, 3, 4, 5], 0), [1, 2, 3])
        self.assertEqual(t.announce("a", [6], 0), [])
        self.assertEqual(t.claim("a", [7, 8], 0), [7, 8])
        t.announce("b", [9], 0)
        self.assertEqual((t.announce("a", [9], 0), t.sources(9)), ([], []))
        for done in (1, 2, 3, 7, 8):
            t.complete(done)
        self.assertEqual(t.announce("a", [4, 5, 6, 10], 1), [4, 5, 6])


#: One step of a random interleaving: (operation, peer, hashes, seconds to advance first).
_STEP = st.tuples(st.sampled_from(["announce", "claim", "complete", "release", "expire"]),
                  st.sampled_from("abcd"), st.lists(st.integers(0, 7), max_size=5),
                  st.sampled_from([0.0, 0.0, 1.0, 10.0, 30.0, 59.0, 60.0]))


class RequestTrackerPropertyTests(SynchronousTestCase):
    @given(st.lists(_STEP, max_size=60))
    @FUZZ
    def test_random_interleavings(self, steps: list[tuple[str, str, list[int], float]]) -> None:
        """
        Against a model of who holds what: no hash is ever in flight at two peers, an
        unexpired or completed hash is never requested again, hand-overs go to a peer that
        announced the hash, and the counts agree.
        """
        timeouts: list[tuple[str, int]] = []
        t: RequestTracker[str, int] = RequestTracker(
            timeout=60, on_timeout=lambda peer, hash_: timeouts.append((peer, hash_)))
        held: dict[int, tuple[str, float]] = {}  # the model: hash -> (peer, deadline)
        done: set[int] = set()
        now = 0.0
        for op, peer, hashes, advance in steps:
            now += advance
            sources = {x: t.sources(x) for x in range(8)}
            timeouts.clear()
            if op in ("announce", "claim"):
                granted = (t.announce if op == "announce" else t.claim)(peer, hashes, now)
                self.assertEqual(len(granted), len(set(granted)))
                for x in granted:
                    self.assertIn(x, hashes)
                    self.assertNotIn(x, done)
                    if x in held:
                        self.assertLessEqual(held[x][1], now)  # only after a timeout
                        self.assertIn((held[x][0], x), timeouts)
                    held[x] = (peer, now + 60)
                for x in set(hashes) - set(granted):
                    self.assertTrue(x in done or (x in held and now < held[x][1]))
            elif op == "complete":
                for x in hashes:
                    self.assertEqual(t.complete(x), x not in done)
                    held.pop(x, None)
                    done.add(x)
            else:
                if op == "release":
                    gone = sorted(x for x, (p, _) in held.items() if p == peer)
                    handed = t.release_peer(peer, now)
                    self.assertEqual(sorted(x for x, _ in handed), gone)
                else:
                    handed = t.expire(now)
                    for x, _ in handed:
                        self.assertLessEqual(held[x][1], now)
                        self.assertIn((held[x][0], x), timeouts)
                    self.assertFalse([x for x, (_, d) in held.items()
                                      if d <= now and x not in dict(handed)])
                for x, nxt in handed:
                    del held[x]
                    if nxt is not None:
                        self.assertIn(nxt, sources[x])
                        self.assertNotEqual(nxt, peer if op == "release" else None)
                        held[x] = (nxt, now + 60)
            self.assert_consistent(t, held)

    def assert_consistent(self, t: RequestTracker[str, int],
                          held: dict[int, tuple[str, float]]) -> None:
        seen: dict[int, str] = {}
        for peer in "abcd":
            mine = t.requests_of(peer)
            self.assertEqual(t.in_flight(peer), len(mine))
            for x in mine:
                self.assertNotIn(x, seen)  # never in flight at two peers at once
                seen[x] = peer
        self.assertEqual(t.total_in_flight, len(seen))
        self.assertEqual(seen, {x: p for x, (p, _) in held.items()})
        for x in range(8):
            self.assertEqual(t.requested_from(x), seen.get(x))
            self.assertEqual(t.deadline(x), held[x][1] if x in held else None)
            alternatives = t.sources(x)
            self.assertEqual(len(alternatives), len(set(alternatives)))
            self.assertNotIn(seen.get(x), alternatives)
            if x not in seen:
                self.assertEqual(alternatives, [])


class RelayFilterTests(SynchronousTestCase):
    def test_default_window(self) -> None:
        self.assertEqual(RELAY_WINDOW, 30.0)
        self.assertEqual(RelayFilter[int]().window, 30.0)

    def test_relayed_once_within_window(self) -> None:
        relays: RelayFilter[UInt256] = RelayFilter()
        self.assertTrue(relays.should_relay(h(1), 100))
        self.assertFalse(relays.should_relay(h(1), 100))
        self.assertFalse(relays.should_relay(h(1), 120))
        self.assertTrue(relays.should_relay(h(2), 120))

    def test_boundary(self) -> None:
        """
        Still suppressed at exactly C{window} seconds (the reference's C{<=}), relayed after.
        """
        relays: RelayFilter[UInt256] = RelayFilter()
        relays.should_relay(h(1), 100)
        self.assertFalse(relays.should_relay(h(1), 130))
        self.assertTrue(relays.should_relay(h(1), 130.001))
        self.assertFalse(relays.should_relay(h(1), 160))
        self.assertTrue(relays.should_relay(h(1), 161))

    def test_memory_stays_bounded(self) -> None:
        relays: RelayFilter[int] = RelayFilter()
        for i in range(100_000):
            self.assertTrue(relays.should_relay(i, i * 0.01))
            self.assertLessEqual(len(relays), 3001)  # 30 s at 100 relays a second
        relays.should_relay(-1, 10_000)
        self.assertEqual(len(relays), 1)

    def test_hard_bound(self) -> None:
        relays: RelayFilter[int] = RelayFilter(max_entries=10)
        for i in range(100):
            relays.should_relay(i, 0)
        self.assertEqual(len(relays), 10)
        self.assertFalse(relays.should_relay(99, 0))
        self.assertTrue(relays.should_relay(0, 0))  # forgotten early: relayed twice at worst
        self.assertRaises(ValueError, RelayFilter, 30, 0)

    def test_clock_stepping_back_still_suppresses(self) -> None:
        relays: RelayFilter[int] = RelayFilter()
        relays.should_relay(1, 100)
        self.assertFalse(relays.should_relay(1, 90))

    @given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([0.0, 1.0, 15.0, 30.0, 31.0])),
                    max_size=80))
    @FUZZ
    def test_matches_model(self, steps: list[tuple[int, float]]) -> None:
        relays: RelayFilter[int] = RelayFilter()
        last: dict[int, float] = {}
        now = 0.0
        for key, advance in steps:
            now += advance
            expected = key not in last or now - last[key] > 30
            self.assertEqual(relays.should_relay(key, now), expected)
            if expected:
                last[key] = now
            self.assertEqual(len(relays), sum(now - s <= 30 for s in last.values()))


class RelayCacheTests(SynchronousTestCase):
    def test_put_get(self) -> None:
        cache: RelayCache[UInt256, bytes] = RelayCache()
        cache.put(h(1), b"block")
        self.assertEqual(cache.get(h(1)), b"block")
        self.assertIsNone(cache.get(h(2)))
        self.assertIn(h(1), cache)

    def test_default_capacity(self) -> None:
        cache: RelayCache[int, int] = RelayCache()
        self.assertEqual(cache.capacity, RELAY_CACHE_CAPACITY)
        self.assertEqual(RELAY_CACHE_CAPACITY, 100)
        for i in range(250):
            cache.put(i, i)
        self.assertEqual(len(cache), 100)
        self.assertIsNone(cache.get(149))
        self.assertEqual(cache.get(150), 150)

    def test_eviction_order(self) -> None:
        cache: RelayCache[int, str] = RelayCache(3)
        for i in range(1, 5):
            cache.put(i, str(i))
        self.assertEqual([cache.get(i) for i in range(1, 5)], [None, "2", "3", "4"])
        cache.put(2, "two")  # replaced and made newest
        cache.put(5, "5")
        self.assertEqual([cache.get(i) for i in range(1, 6)], [None, "two", None, "4", "5"])
        self.assertEqual(len(cache), 3)

    def test_invalid_capacity(self) -> None:
        self.assertRaises(ValueError, RelayCache, 0)
