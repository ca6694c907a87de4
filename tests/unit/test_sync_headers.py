"""
Tests for L{neo_twisted.sync.headers.HeaderSync}: one peer at a time, 2000 headers a batch.
"""

from __future__ import annotations

import attrs
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Header
from neo_twisted.ledger.chain import HeaderProblem, HeaderResult
from neo_twisted.ledger.settings import AssumeValid
from neo_twisted.network.payloads import GetBlocksPayload, HeadersPayload
from neo_twisted.p2p.faults import Fault
from neo_twisted.sync.headers import HeaderSync
from neo_twisted.wire.uint import ZERO_UINT256
from tests.support.ledger_samples import PRIVNET, PRIVNET_GENESIS, headers_of, make_blocks
from tests.support.p2p_fakes import FakePeer, ledger_service, opened

LONG = make_blocks(PRIVNET_GENESIS.header, 2100, sign=False)
HEADERS = headers_of(LONG)


class HeaderSyncTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.ledger = ledger_service(self)
        self.peers: list[FakePeer] = []
        self.progress = 0
        self.sync = HeaderSync(self.ledger, self.clock, lambda: self.peers, timeout=30,
                               on_progress=self.count_progress)

    def count_progress(self) -> None:
        self.progress += 1

    def deliver(self, peer: FakePeer, first: int, end: int) -> None:
        payload = HeadersPayload(tuple(HEADERS[first:end]))
        self.successResultOf(self.sync.headers_received(peer, payload))

    def asked(self, peer: FakePeer) -> list[GetBlocksPayload]:
        return peer.take("getheaders")

    def test_asks_the_highest_peer_from_our_tip(self) -> None:
        """
        C{getheaders} goes to the peer with the greatest height, from our highest header.
        """
        low, high = FakePeer("10.0.0.1", 5), FakePeer("10.0.0.2", 2100)
        self.peers = [low, high]
        self.sync.poke()
        self.assertEqual(self.asked(low), [])
        self.assertEqual(self.asked(high),
                         [GetBlocksPayload((PRIVNET_GENESIS.hash,), ZERO_UINT256)])
        self.assertIs(self.sync.peer, high)

    def test_nobody_ahead(self) -> None:
        """
        Peers at or below our header height are not asked.
        """
        peer = FakePeer(height=0)
        self.peers = [peer]
        self.sync.poke()
        self.assertEqual(peer.sent, [])

    def test_one_request_at_a_time(self) -> None:
        """
        While a peer is being asked, nobody else is, however often it is poked.
        """
        first, second = FakePeer("10.0.0.1", 2100), FakePeer("10.0.0.2", 2100)
        self.peers = [first, second]
        self.sync.poke()
        self.sync.poke()
        self.assertEqual(len(self.asked(first)) + len(self.asked(second)), 1)

    def test_batches_until_caught_up(self) -> None:
        """
        Each batch goes to the ledger and the next is asked for from the new tip until
        we reach the peer's height; then the peer is left alone.
        """
        peer = FakePeer(height=2100)
        self.peers = [peer]
        self.sync.poke()
        self.asked(peer)
        self.deliver(peer, 0, 2000)
        self.assertEqual(opened(self.ledger).header_height, 2000)
        self.assertEqual(self.asked(peer),
                         [GetBlocksPayload((HEADERS[1999].hash,), ZERO_UINT256)])
        self.deliver(peer, 2000, 2100)
        self.assertEqual(opened(self.ledger).header_height, 2100)
        self.assertEqual(self.asked(peer), [])
        self.assertIsNone(self.sync.peer)
        self.assertEqual(self.progress, 2)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_unasked_headers_ignored(self) -> None:
        """
        Headers from a peer nobody asked do not reach the ledger.
        """
        asked, other = FakePeer("10.0.0.1", 2100), FakePeer("10.0.0.2", 0)
        self.peers = [asked, other]
        self.sync.poke()
        self.successResultOf(self.sync.headers_received(other, HeadersPayload(tuple(HEADERS[:5]))))
        self.assertEqual(opened(self.ledger).header_height, 0)
        self.assertIs(self.sync.peer, asked)

    def test_timeout_drops_peer_and_asks_another(self) -> None:
        """
        A peer that does not answer in time is dropped (a slow link is no fault), and
        the next best is asked.
        """
        slow, other = FakePeer("10.0.0.1", 2100), FakePeer("10.0.0.2", 100)
        self.peers = [slow, other]
        self.sync.poke()
        self.clock.advance(29)
        self.assertIsNone(slow.dropped)
        self.clock.advance(1)
        self.assertEqual(slow.dropped, ("no headers within 30 s", None))
        self.assertEqual(slow.faults, [])
        self.peers.remove(slow)
        self.sync.peer_lost(slow)
        self.assertEqual(len(self.asked(other)), 1)
        self.assertIs(self.sync.peer, other)

    def test_unlinked_headers_ignored_and_the_peer_backed_off(self) -> None:
        """
        Headers that do not extend ours (an answer to an old locator, a fork) are an
        ignored fault: the peer stays connected, but is not asked again for a while.
        """
        peer = FakePeer(height=2100)
        self.peers = [peer]
        self.sync.poke()
        self.asked(peer)
        self.successResultOf(self.sync.headers_received(peer, HeadersPayload(tuple(HEADERS[5:10]))))
        self.assertEqual(peer.faults, [
            (Fault.HEADERS_UNLINKED, "sent headers we refuse: header 6 leaves a gap after 0")])
        self.assertIsNone(peer.dropped)
        self.assertEqual(opened(self.ledger).header_height, 0)
        self.assertIsNone(self.sync.peer)
        self.assertEqual(self.asked(peer), [])
        self.clock.advance(29)
        self.sync.poke()
        self.assertEqual(self.asked(peer), [])
        self.clock.advance(1)
        self.sync.poke()
        self.assertEqual(self.asked(peer),
                         [GetBlocksPayload((PRIVNET_GENESIS.hash,), ZERO_UINT256)])

    def test_unlinked_headers_let_another_peer_be_asked(self) -> None:
        """
        While the peer that sent unlinked headers is backed off, the next best is asked.
        """
        first, second = FakePeer("10.0.0.1", 2100), FakePeer("10.0.0.2", 2000)
        self.peers = [first, second]
        self.sync.poke()
        unlinked = HeadersPayload(tuple(HEADERS[5:10]))
        self.successResultOf(self.sync.headers_received(first, unlinked))
        self.assertIs(self.sync.peer, second)
        self.assertEqual(len(self.asked(second)), 1)

    def test_forged_headers_discourage(self) -> None:
        """
        A header whose witness does not verify closes the connection for a
        bad-header-witness fault (the connection service discourages the IP).
        """
        ledger = ledger_service(self, mapper=lambda check, jobs: [False] * len(jobs))
        sync = HeaderSync(ledger, self.clock, lambda: self.peers, timeout=30)
        peer = FakePeer(height=2100)
        self.peers = [peer]
        sync.poke()
        self.successResultOf(sync.headers_received(peer, HeadersPayload(tuple(HEADERS[:10]))))
        self.assertEqual(peer.dropped, ("sent headers we refuse: header 1: witness does not "
                                        "verify", Fault.BAD_HEADER_WITNESS))
        self.assertEqual(opened(ledger).header_height, 0)
        self.assertIsNone(sync.peer)

    def test_refused_headers_disconnect(self) -> None:
        """
        Headers that link but break a rule close the connection for a headers-refused
        fault (another chain or version: nothing more); those before it are kept.
        """
        peer = FakePeer(height=2100)
        self.peers = [peer]
        self.sync.poke()
        late = [attrs.evolve(h, timestamp=0) if h.index == 4 else h for h in HEADERS[:10]]
        self.successResultOf(self.sync.headers_received(peer, HeadersPayload(tuple(late))))
        assert peer.dropped is not None
        self.assertEqual(peer.dropped[1], Fault.HEADERS_REFUSED)
        self.assertIn("header 4 timestamp 0", peer.dropped[0])
        self.assertEqual(opened(self.ledger).header_height, 3)

    def test_empty_reply_ends_with_that_peer(self) -> None:
        """
        An empty (or all-known) reply means the peer has nothing more: it is not asked
        again until our header height changes.
        """
        peer = FakePeer(height=2100)
        self.peers = [peer]
        self.sync.poke()
        self.asked(peer)
        self.successResultOf(self.sync.headers_received(peer, HeadersPayload(())))
        self.sync.poke()
        self.assertEqual(self.asked(peer), [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_exhausted_peer_asked_again_when_its_height_rises(self) -> None:
        """
        A missed tip block (its C{inv} lost): the peer that had nothing more is asked
        again once it tells of a greater height (a 2.11+ ping), though ours stayed put.
        """
        peer = FakePeer(height=2100)
        self.peers = [peer]
        self.sync.poke()
        self.asked(peer)
        self.successResultOf(self.sync.headers_received(peer, HeadersPayload(())))
        self.assertEqual(peer.last_block_index, opened(self.ledger).header_height)
        self.sync.poke()
        self.assertEqual(self.asked(peer), [])
        peer.last_block_index += 1  # its ping
        self.sync.poke()
        self.assertEqual(len(self.asked(peer)), 1)

    def test_lost_peer_replaced(self) -> None:
        """
        When the peer being asked goes away, another one is asked at once.
        """
        first, second = FakePeer("10.0.0.1", 2100), FakePeer("10.0.0.2", 2000)
        self.peers = [first, second]
        self.sync.poke()
        self.peers.remove(first)
        self.sync.peer_lost(first)
        self.assertEqual(len(self.asked(second)), 1)

    def test_stop_cancels_timer(self) -> None:
        peer = FakePeer(height=2100)
        self.peers = [peer]
        self.sync.poke()
        self.sync.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.sync.poke()
        self.assertEqual(len(self.asked(peer)), 1)


class PipelineTests(SynchronousTestCase):
    """
    A full batch is followed by the next request before the ledger has added it.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.ledger = ledger_service(self)
        self.writes: list[tuple[list[Header], Deferred[HeaderResult]]] = []
        self.patch(self.ledger, "add_headers", self.queue_write)
        self.peer = FakePeer("10.0.0.1", 2100)
        self.sync = HeaderSync(self.ledger, self.clock, lambda: [self.peer], timeout=30)

    def queue_write(self, headers: list[Header]) -> Deferred[HeaderResult]:
        d: Deferred[HeaderResult] = Deferred()
        self.writes.append((headers, d))
        return d

    def finish(self, write: int) -> None:
        headers, d = self.writes[write]
        d.callback(opened(self.ledger).add_headers(headers))

    def test_next_batch_asked_while_adding(self) -> None:
        self.sync.poke()
        self.peer.take("getheaders")
        self.sync.headers_received(self.peer, HeadersPayload(tuple(HEADERS[:2000])))
        self.assertEqual(len(self.writes), 1)
        self.assertEqual(self.peer.take("getheaders"),
                         [GetBlocksPayload((HEADERS[1999].hash,), ZERO_UINT256)])
        # the second batch arrives before the first is written: it is queued behind it
        self.sync.headers_received(self.peer, HeadersPayload(tuple(HEADERS[2000:])))
        self.assertEqual([len(h) for h, _ in self.writes], [2000, 100])
        self.assertEqual(self.peer.take("getheaders"), [], "a short batch is the last")
        self.finish(0)
        self.assertEqual(self.peer.take("getheaders"), [])
        self.finish(1)
        self.assertEqual(opened(self.ledger).header_height, 2100)
        self.assertEqual(self.peer.take("getheaders"), [])
        self.assertIsNone(self.sync.peer, "done with the peer once both are written")

    def test_second_unasked_batch_ignored(self) -> None:
        """
        Only one reply per request: a second C{headers} while nothing is asked is ignored.
        """
        self.peer.last_block_index = 1500
        self.sync.poke()
        self.sync.headers_received(self.peer, HeadersPayload(tuple(HEADERS[:1500])))
        self.sync.headers_received(self.peer, HeadersPayload(tuple(HEADERS[1500:1600])))
        self.assertEqual(len(self.writes), 1)

    def test_bad_first_batch_drops_the_peer_despite_the_request_ahead(self) -> None:
        self.sync.poke()
        self.sync.headers_received(self.peer, HeadersPayload(tuple(HEADERS[:2000])))
        self.writes[0][1].callback(HeaderResult(10, "header 11: witness does not verify",
                                                HeaderProblem.FORGED))
        self.assertEqual(self.peer.dropped, ("sent headers we refuse: header 11: witness "
                                             "does not verify", Fault.BAD_HEADER_WITNESS))
        self.sync.headers_received(self.peer, HeadersPayload(tuple(HEADERS[2000:])))
        self.assertEqual(len(self.writes), 1, "nothing more is taken from it")

    def test_problem_of_no_kind_is_a_refusal(self) -> None:
        """
        A problem the ledger gives no kind for closes the connection as a refusal
        (never more: nothing says the peer forged anything).
        """
        self.sync.poke()
        self.sync.headers_received(self.peer, HeadersPayload(tuple(HEADERS[:100])))
        self.writes[0][1].callback(HeaderResult(0, "no reason given"))
        self.assertEqual(self.peer.dropped, ("sent headers we refuse: no reason given",
                                             Fault.HEADERS_REFUSED))

    def test_at_most_two_batches_wait_for_the_ledger(self) -> None:
        """
        With two batches queued, the next request waits until one of them is written.
        """
        self.peer.last_block_index = 100_000
        self.sync.poke()
        self.peer.take("getheaders")
        full = HeadersPayload(tuple(HEADERS[:2000]))
        self.sync.headers_received(self.peer, full)
        self.assertEqual(len(self.peer.take("getheaders")), 1)
        self.sync.headers_received(self.peer, full)
        self.assertEqual(len(self.writes), 2)
        self.assertEqual(self.peer.take("getheaders"), [], "two batches wait already")
        self.finish(0)
        self.assertEqual(self.peer.take("getheaders"),
                         [GetBlocksPayload((HEADERS[1999].hash,), ZERO_UINT256)])


class ClaimTests(SynchronousTestCase):
    """
    A claimed height is a reason to ask, once in a while: a peer that never answers is
    paused by address (issue 20, attack 2), and one that answers nothing is not believed.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.ledger = ledger_service(self)
        self.peers: list[FakePeer] = []
        self.sync = HeaderSync(self.ledger, self.clock, lambda: self.peers, timeout=30)

    def liar(self, nonce: int, *, inbound: bool = True) -> FakePeer:
        peer = FakePeer("10.6.6.6", 0xFFFFFFFF, inbound=inbound, nonce=nonce)
        self.peers.append(peer)
        return peer

    def time_out(self, peer: FakePeer) -> None:
        self.clock.advance(30)
        self.assertEqual(peer.dropped, ("no headers within 30 s", None))
        self.peers.remove(peer)
        self.sync.peer_lost(peer)

    def test_unanswered_address_paused_and_doubling(self) -> None:
        """
        After a timeout the liar, reconnecting from another port, is not asked for 30 s,
        then 60 s after its next timeout; an honest peer is asked meanwhile.
        """
        first = self.liar(1)
        self.sync.poke()
        self.assertEqual(len(first.take("getheaders")), 1)
        self.time_out(first)
        again = self.liar(2)
        honest = FakePeer("10.0.0.9", 2100, nonce=9)
        self.peers.append(honest)
        self.sync.poke()
        self.assertEqual(again.take("getheaders"), [])
        self.assertEqual(len(honest.take("getheaders")), 1)
        self.peers.remove(honest)
        self.sync.peer_lost(honest)
        self.clock.advance(29)  # honest's request was forgotten with it; the liar waits
        self.sync.poke()
        self.sync.announced(again)
        self.assertEqual(again.take("getheaders"), [])
        self.clock.advance(1)
        self.sync.poke()
        self.assertEqual(len(again.take("getheaders")), 1)
        self.time_out(again)
        third = self.liar(3)
        self.clock.advance(59)
        self.sync.poke()
        self.assertEqual(third.take("getheaders"), [])
        self.clock.advance(1)
        self.sync.poke()
        self.assertEqual(len(third.take("getheaders")), 1)

    def test_outbound_paused_by_endpoint(self) -> None:
        """
        A peer we dialled is paused by its endpoint: another node on the same host is not.
        """
        dialled = self.liar(1, inbound=False)
        self.sync.poke()
        self.time_out(dialled)
        neighbour = FakePeer("10.6.6.6", 2100, port=20334, nonce=2)
        self.peers.append(neighbour)
        self.sync.poke()
        self.assertEqual(len(neighbour.take("getheaders")), 1)

    def test_empty_answer_ends_the_claim(self) -> None:
        """
        A peer that answers it has nothing after our headers is believed no higher.
        """
        liar = self.liar(1)
        self.sync.poke()
        self.successResultOf(self.sync.headers_received(liar, HeadersPayload(())))
        self.assertEqual(liar.last_block_index, 0)
        self.assertIsNone(liar.dropped)

    def test_provisional_dropped_pauses_their_sources(self) -> None:
        """
        When headers taken on trust are dropped, the peers that sent them are paused and
        another peer is asked from what is left.
        """
        ledger = ledger_service(self, settings=attrs.evolve(
            PRIVNET, assume_valid=AssumeValid(300, LONG[299].hash)))
        sync = HeaderSync(ledger, self.clock, lambda: self.peers, timeout=30)
        liar = self.liar(1)
        sync.poke()
        self.successResultOf(sync.headers_received(liar, HeadersPayload(tuple(HEADERS[:299]))))
        self.assertEqual((opened(ledger).header_height, opened(ledger).verified_height), (299, 0))
        liar.take("getheaders")
        self.clock.advance(30)  # it never sends the rest
        self.peers.remove(liar)
        sync.peer_lost(liar)
        honest = FakePeer("10.0.0.9", 2100, nonce=9)
        self.peers.append(honest)
        sync.poke()
        self.assertEqual(honest.take("getheaders")[0].hash_start[0], LONG[298].hash)
        self.successResultOf(sync.headers_received(honest, HeadersPayload(())))
        self.assertEqual(opened(ledger).drop_provisional(), 299)
        back = self.liar(2)
        self.clock.advance(30)  # the liar's timeout pause is over, the new one is not
        honest.last_block_index = 2100
        sync.provisional_dropped()
        self.assertEqual(back.take("getheaders"), [])
        [request] = honest.take("getheaders")
        self.assertEqual(request.hash_start, (PRIVNET_GENESIS.hash,))
