"""
L{InventoryFetcher}: announce, ask, time out, ask another; fan-out for consensus.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.network.payloads import InventoryType, InvPayload
from neo_twisted.node.fetcher import InventoryFetcher
from neo_twisted.wire.uint import UInt256
from tests.support.p2p_fakes import FakePeer

H = [UInt256(bytes([n]) * 32) for n in range(1, 8)]


def asked(peer: FakePeer) -> list[UInt256]:
    found: list[UInt256] = []
    for payload in peer.take("getdata"):
        assert isinstance(payload, InvPayload)
        found += payload.hashes
    return found


class FetcherTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.alive: set[Any] = set()
        self.a, self.b, self.c, self.d = (FakePeer(f"10.0.0.{n}", nonce=n) for n in range(1, 5))
        self.alive = {self.a, self.b, self.c, self.d}

    def fetcher(self, **options: Any) -> InventoryFetcher:
        return InventoryFetcher(InventoryType.TX, self.clock, timeout=10,
                                alive=lambda peer: peer in self.alive, **options)

    def test_one_announcer_at_a_time_then_the_next(self) -> None:
        fetcher = self.fetcher()
        self.assertEqual(fetcher.announced(self.a, H[:2]), H[:2])
        self.assertEqual(fetcher.announced(self.b, H[:3]), [H[2]])
        self.assertEqual((asked(self.a), asked(self.b)), (H[:2], [H[2]]))
        self.clock.advance(10)
        fetcher.tick()  # a did not answer: b announced them too
        self.assertEqual(asked(self.b), H[:2])
        self.assertTrue(fetcher.received(H[0]))
        self.assertFalse(fetcher.received(H[0]))
        fetcher.announced(self.c, [H[0]])
        self.assertEqual(asked(self.c), [])  # done: never asked again

    def test_peer_lost_hands_over(self) -> None:
        fetcher = self.fetcher()
        fetcher.announced(self.a, [H[0]])
        fetcher.announced(self.b, [H[0]])
        asked(self.a)
        fetcher.peer_lost(self.a)
        self.assertEqual(asked(self.b), [H[0]])

    def test_dead_source_not_asked(self) -> None:
        fetcher = self.fetcher()
        fetcher.announced(self.a, [H[0]])
        fetcher.announced(self.b, [H[0]])
        self.alive.discard(self.b)
        fetcher.peer_lost(self.a)
        self.assertEqual(self.b.sent, [])

    def test_getdata_in_groups_of_500(self) -> None:
        fetcher = self.fetcher(max_announced=None)
        many = [UInt256(n.to_bytes(32, "little")) for n in range(1200)]
        fetcher.announced(self.a, many)
        self.assertEqual([len(p.hashes) for p in self.a.take("getdata")], [500, 500, 200])

    def test_claim_asks_what_is_not_in_flight(self) -> None:
        fetcher = self.fetcher()
        fetcher.announced(self.a, [H[0]])
        self.assertEqual(fetcher.claim(self.b, H[:2]), [H[1]])

    def test_fan_out(self) -> None:
        """
        Consensus: a payload is asked of up to three announcers at once; the first answer
        ends it for all.
        """
        fetcher = self.fetcher(fan_out=3)
        for peer in (self.a, self.b, self.c, self.d):
            fetcher.announced(peer, [H[0]])
        self.assertEqual([asked(p) for p in (self.a, self.b, self.c, self.d)],
                         [[H[0]], [H[0]], [H[0]], []])
        fetcher.received(H[0])
        fetcher.announced(self.d, [H[0]])
        self.assertEqual(asked(self.d), [])

    def test_fan_out_must_be_positive(self) -> None:
        self.assertRaises(ValueError, self.fetcher, fan_out=0)
