"""
Tests for L{neo_twisted.node.serving.Server}: what peers get for getheaders, getblocks, getdata.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.serializable import Serializable
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.service import LedgerService
from neo_twisted.network.payloads import (
    GetBlocksPayload,
    HeadersPayload,
    InventoryType,
    InvPayload,
    RawPayload,
    decode_payload,
)
from neo_twisted.node.serving import READS_IN_FLIGHT, READS_WAITING, Server
from neo_twisted.wire.uint import ZERO_UINT256, UInt256
from tests.support.ledger_samples import (
    PRIVNET,
    PRIVNET_GENESIS,
    accept_all,
    headers_of,
    make_blocks,
)
from tests.support.p2p_fakes import FakePeer, ledger_service, opened
from tests.support.runners import ManualRunner

LONG = make_blocks(PRIVNET_GENESIS.header, 2100, sign=False)
UNKNOWN = UInt256(b"\x07" * 32)


class ServerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.ledger = ledger_service(self)
        ledger = opened(self.ledger)
        self.assertEqual(ledger.add_headers(headers_of(LONG)).added, 2100)
        ledger.add_blocks(LONG[:600])
        self.memory: dict[UInt256, Serializable] = {}
        self.server = Server(self.ledger, lambda kind, h: self.memory.get(h))
        self.peer = FakePeer(height=0)
        self.served: set[UInt256] = set()

    def first_time(self, hash_: UInt256) -> bool:
        if hash_ in self.served:
            return False
        self.served.add(hash_)
        return True

    def sent(self) -> list[tuple[str, bytes]]:
        found = [(c, p.to_bytes() if p is not None else b"") for c, p in self.peer.sent]
        self.peer.sent = []
        return found

    def test_getheaders_from_first_start(self) -> None:
        """
        2000 headers follow the first start hash (later ones are ignored), as a valid
        C{headers} message.
        """
        request = GetBlocksPayload((PRIVNET_GENESIS.hash, LONG[5].hash), ZERO_UINT256)
        self.successResultOf(self.server.getheaders(self.peer, request))
        [(command, raw)] = self.sent()
        self.assertEqual(command, "headers")
        decoded = decode_payload("headers", raw)
        assert isinstance(decoded, HeadersPayload)
        self.assertEqual(list(decoded.headers), headers_of(LONG[:2000]))

    def test_getheaders_stop_and_nothing(self) -> None:
        """
        The stop hash ends the answer; an unknown start, or nothing after it, gets no reply.
        """
        request = GetBlocksPayload((LONG[9].hash,), LONG[13].hash)
        self.successResultOf(self.server.getheaders(self.peer, request))
        [(_, raw)] = self.sent()
        decoded = decode_payload("headers", raw)
        assert isinstance(decoded, HeadersPayload)
        self.assertEqual([h.index for h in decoded.headers], [11, 12, 13])
        for start in (UNKNOWN, LONG[-1].hash):
            self.successResultOf(self.server.getheaders(self.peer, GetBlocksPayload((start,))))
            self.assertEqual(self.sent(), [])

    def test_getblocks_never_above_block_height(self) -> None:
        """
        Block hashes stop at our block height (600) although headers go further.
        """
        request = GetBlocksPayload((LONG[299].hash,))
        self.successResultOf(self.server.getblocks(self.peer, request))
        [(command, raw)] = self.sent()
        self.assertEqual(command, "inv")
        self.assertEqual(decode_payload("inv", raw),
                         InvPayload(InventoryType.Block, tuple(b.hash for b in LONG[300:600])))
        self.successResultOf(self.server.getblocks(self.peer, GetBlocksPayload((LONG[599].hash,))))
        self.assertEqual(self.sent(), [])

    def test_getdata_blocks_once_per_connection(self) -> None:
        """
        Blocks come from the store as they travel; each at most once per connection;
        unknown and not yet persisted ones are skipped.
        """
        hashes = (LONG[0].hash, UNKNOWN, LONG[700].hash, LONG[1].hash, LONG[0].hash)
        self.successResultOf(self.server.getdata(
            self.peer, InvPayload(InventoryType.Block, hashes), self.first_time))
        self.assertEqual(self.sent(), [("block", LONG[0].to_bytes()),
                                       ("block", LONG[1].to_bytes())])
        self.successResultOf(self.server.getdata(
            self.peer, InvPayload(InventoryType.Block, (LONG[1].hash,)), self.first_time))
        self.assertEqual(self.sent(), [])

    def test_getdata_from_memory_first(self) -> None:
        """
        Items in memory (relay cache, pool) are served before the store is asked.
        """
        self.memory[LONG[2].hash] = RawPayload(b"cached")
        self.memory[UNKNOWN] = RawPayload(b"tx bytes")
        self.successResultOf(self.server.getdata(
            self.peer, InvPayload(InventoryType.Block, (LONG[2].hash,)), self.first_time))
        self.successResultOf(self.server.getdata(
            self.peer, InvPayload(InventoryType.TX, (UNKNOWN, LONG[3].hash)), self.first_time))
        self.assertEqual(self.sent(), [("block", b"cached"), ("tx", b"tx bytes")])

    def test_getdata_confirmed_transaction_from_the_store(self) -> None:
        """
        A transaction no longer in memory but in a block is served from the store (a
        peer may ask for one announced from a pool just before a block took it); one
        in no block is not, and neither is one past our block height.
        """
        confirmed = LONG[5].transactions[0]
        unstored = LONG[700].transactions[0]
        self.successResultOf(self.server.getdata(
            self.peer, InvPayload(InventoryType.TX, (confirmed.hash, unstored.hash, UNKNOWN)),
            self.first_time))
        self.assertEqual(self.sent(), [("tx", confirmed.to_bytes())])

    def test_nothing_sent_once_the_peer_is_gone(self) -> None:
        """
        A reply read after the connection went away is dropped, not sent.
        """
        self.peer.established = False
        self.successResultOf(self.server.getblocks(self.peer, GetBlocksPayload((LONG[0].hash,))))
        self.assertEqual(self.peer.sent, [])


class PerPeerLimitTests(SynchronousTestCase):
    """
    What one peer can make us read: two reads at a time, a bounded wait, nothing for
    a peer that has gone (issue 20, attack 8).
    """

    def setUp(self) -> None:
        self.runner = ManualRunner()
        self.ledger = LedgerService(self.mktemp(), PRIVNET, off_reactor=self.runner,
                                    mapper=accept_all)
        self.ledger.startService()
        self.addCleanup(self.stop)
        ledger = self.ledger.ledger
        assert ledger is not None
        ledger.add_headers(headers_of(LONG[:50]))
        ledger.add_blocks(LONG[:50])
        self.server = Server(self.ledger, lambda kind, h: None)
        self.peer = FakePeer("10.0.0.1", nonce=1)
        self.other = FakePeer("10.0.0.2", nonce=2)

    def stop(self) -> None:
        while self.runner.calls:
            self.runner.run_next()
        self.successResultOf(defer.ensureDeferred(self.ledger.stopService()))

    def flood(self, peer: FakePeer, count: int) -> list[defer.Deferred[None]]:
        return [self.server.getheaders(peer, GetBlocksPayload((PRIVNET_GENESIS.hash,)))
                for _ in range(count)]

    def test_two_in_flight_then_a_bounded_wait(self) -> None:
        """
        Of 25 requests, two are handed to the ledger, sixteen wait, the rest are
        ignored at once; all that were taken are answered in turn.
        """
        done = self.flood(self.peer, READS_IN_FLIGHT + READS_WAITING + 7)
        self.assertEqual(len(self.runner.calls), READS_IN_FLIGHT)
        self.assertEqual(self.server.reads_of(self.peer), (READS_IN_FLIGHT, READS_WAITING))
        self.assertEqual(self.server.stats.ignored, 7)  # a held peer cannot send these
        self.assertEqual((self.peer.holds, self.server.stats.held), (1, 1))
        for ignored in done[-7:]:
            self.successResultOf(ignored)
        while self.runner.calls:
            self.assertLessEqual(len(self.runner.calls), READS_IN_FLIGHT)
            self.runner.run_next()
        for taken in done:
            self.successResultOf(taken)
        answers = self.peer.take("headers")
        self.assertEqual(len(answers), READS_IN_FLIGHT + READS_WAITING)
        self.assertEqual(self.server.stats.started, READS_IN_FLIGHT + READS_WAITING)
        self.assertEqual(self.server.reads_of(self.peer), (0, 0))
        # room again: the next request is served
        self.flood(self.peer, 1)
        self.runner.run_next()
        self.assertEqual(len(self.peer.take("headers")), 1)

    def test_held_while_full(self) -> None:
        """
        The request that fills a peer's wait holds the peer (no more of its messages
        are handled); the first read done releases it, once.
        """
        self.flood(self.peer, READS_IN_FLIGHT + READS_WAITING - 1)
        self.assertEqual(self.peer.holds, 0)
        self.flood(self.peer, 1)
        self.assertEqual(self.peer.holds, 1)
        self.runner.run_next()
        self.assertEqual((self.peer.holds, self.server.stats.held), (0, 1))
        self.flood(self.peer, 1)  # full again
        self.assertEqual((self.peer.holds, self.server.stats.held), (1, 2))
        while self.runner.calls:
            self.runner.run_next()
        self.assertEqual(self.peer.holds, 0)
        self.assertEqual(self.server.stats.ignored, 0)

    def test_gone_peer_not_released(self) -> None:
        """
        A held peer that goes is not released (there is nothing left to release).
        """
        self.flood(self.peer, READS_IN_FLIGHT + READS_WAITING)
        self.assertEqual(self.peer.holds, 1)
        self.peer.disconnect("gone")
        while self.runner.calls:
            self.runner.run_next()
        self.assertEqual(self.server.reads_of(self.peer), (0, 0))

    def test_peers_take_turns(self) -> None:
        """
        A flooding peer holds no more than its two reads: another peer's read runs
        right after one of them, before the flooder's third.
        """
        self.flood(self.peer, 10)
        self.flood(self.other, 1)
        self.assertEqual(self.ledger.peer_reads.running, 3)
        for _ in range(3):
            self.runner.run_next()
        self.assertEqual((len(self.peer.take("headers")), len(self.other.take("headers"))),
                         (2, 1))
        self.assertEqual(self.server.reads_of(self.other), (0, 0))
        self.assertEqual(self.server.reads_of(self.peer), (2, 6))

    def test_reads_of_a_gone_peer_never_run(self) -> None:
        """
        Once the peer is gone, its waiting requests are dropped here and its reads
        handed to the ledger's threads are dropped there, as each starts: only the
        other peer's reads touch the store.
        """
        touched: list[object] = []
        read = Ledger.header_bytes_after

        def counted(ledger: Ledger, *args: Any) -> Any:
            touched.append(args)
            return read(ledger, *args)

        self.patch(Ledger, "header_bytes_after", counted)
        self.flood(self.other, 2)  # the other peer's reads come first
        self.flood(self.peer, 10)  # two handed to the ledger's threads, eight wait here
        self.assertEqual((self.ledger.peer_reads.running, self.server.reads_of(self.peer)),
                         (4, (2, 8)))
        self.peer.disconnect("gone")
        while self.runner.calls:
            self.runner.run_next()
        self.assertEqual(len(touched), 2)  # the other peer's only
        self.assertEqual(self.peer.sent, [])
        self.assertEqual(self.server.stats.dropped, 10)
        self.assertEqual(self.ledger.peer_reads.dropped, 2)
        self.assertEqual(self.server.reads_of(self.peer), (0, 0))
        self.assertEqual(len(self.other.take("headers")), 2)

    def test_getdata_past_the_bound_may_be_asked_again(self) -> None:
        """
        A getdata that finds the peer's wait full sends what is in memory only, and
        does not count the rest as sent: asked again later, it is served.
        """
        served: set[UInt256] = set()

        def first_time(hash_: UInt256) -> bool:
            if hash_ in served:
                return False
            served.add(hash_)
            return True

        self.flood(self.peer, READS_IN_FLIGHT + READS_WAITING)
        ask = InvPayload(InventoryType.Block, (LONG[3].hash,))
        self.successResultOf(self.server.getdata(self.peer, ask, first_time))
        self.assertEqual(served, set())
        self.assertEqual(self.server.stats.ignored, 1)
        while self.runner.calls:
            self.runner.run_next()
        self.peer.take()
        self.server.getdata(self.peer, ask, first_time)
        self.runner.run_next()
        self.assertEqual(self.sent_blocks(), [LONG[3].to_bytes()])

    def sent_blocks(self) -> list[bytes]:
        return [p.to_bytes() for p in self.peer.take("block")]
