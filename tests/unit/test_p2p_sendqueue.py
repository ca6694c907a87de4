"""
Tests for L{neo_twisted.p2p.sendqueue}: urgent messages pass bulk traffic waiting
for a full transport, on a real connection.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.consensus import ConsensusPayload
from neo_twisted.network.payloads import RawPayload
from neo_twisted.p2p.sendqueue import SendQueue
from neo_twisted.wire.uint import UInt256
from tests.support.ledger_samples import PRIVNET_GENESIS
from tests.support.p2p_protocol_helpers import INV, ProtocolCase

CONSENSUS = ConsensusPayload(prev_hash=UInt256(b"\x02" * 32), block_index=5,
                             validator_index=1, timestamp=1_600_000_000, data=b"\x21\x00")


class QueueTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.written: list[bytes] = []
        self.queue = SendQueue(self.written.append)

    def test_straight_through_while_running(self) -> None:
        self.queue.push(b"a", False)
        self.queue.push(b"b", True)
        self.assertEqual(self.written, [b"a", b"b"])
        self.assertEqual(len(self.queue), 0)

    def test_bulk_waits_while_paused(self) -> None:
        """
        Paused: bulk frames wait in order, urgent ones go out; resuming sends the rest.
        """
        self.queue.pauseProducing()
        self.queue.push(b"bulk1", False)
        self.queue.push(b"urgent", True)
        self.queue.push(b"bulk2", False)
        self.assertEqual(self.written, [b"urgent"])
        self.assertEqual((len(self.queue), self.queue.waiting_bytes), (2, 10))
        self.queue.resumeProducing()
        self.assertEqual(self.written, [b"urgent", b"bulk1", b"bulk2"])
        self.assertEqual(self.queue.waiting_bytes, 0)

    def test_bulk_keeps_its_order_after_resuming(self) -> None:
        """
        A bulk frame pushed while others still wait goes behind them even when not paused.
        """
        pause_after_one = [True]

        def write(frame: bytes) -> None:
            self.written.append(frame)
            if pause_after_one and frame == b"1":
                pause_after_one.clear()
                self.queue.pauseProducing()  # the transport fills up again

        self.queue = SendQueue(write)
        self.queue.pauseProducing()
        for frame in (b"1", b"2"):
            self.queue.push(frame, False)
        self.queue.resumeProducing()
        self.assertEqual(self.written, [b"1"])
        self.queue.push(b"3", False)
        self.queue.resumeProducing()
        self.assertEqual(self.written, [b"1", b"2", b"3"])

    def test_stopped_drops_everything(self) -> None:
        self.queue.pauseProducing()
        self.queue.push(b"bulk", False)
        self.queue.stopProducing()
        self.queue.resumeProducing()
        self.queue.push(b"urgent", True)
        self.assertEqual((self.written, len(self.queue)), ([], 0))


class LimitTests(SynchronousTestCase):
    """
    The bytes waiting are bounded: a push past the limit is reported, not kept.
    """

    def setUp(self) -> None:
        self.written: list[bytes] = []
        self.overflows: list[int] = []
        self.queue = SendQueue(self.written.append, limit=10, overflow=self.overflows.append)

    def test_up_to_the_limit_waits(self) -> None:
        self.queue.pauseProducing()
        self.queue.push(b"12345", False)
        self.queue.push(b"67890", False)
        self.assertEqual((self.queue.waiting_bytes, self.overflows), (10, []))

    def test_past_the_limit_overflows(self) -> None:
        self.queue.pauseProducing()
        self.queue.push(b"123456", False)
        self.queue.push(b"78901", False)
        self.assertEqual(self.overflows, [11])
        self.assertEqual((len(self.queue), self.queue.waiting_bytes), (1, 6))

    def test_urgent_and_running_frames_are_not_counted(self) -> None:
        """
        Only what waits counts: frames written straight through never overflow.
        """
        self.queue.push(b"x" * 50, False)
        self.queue.pauseProducing()
        self.queue.push(b"y" * 50, True)
        self.assertEqual((self.overflows, self.written), ([], [b"x" * 50, b"y" * 50]))


class ConnectionTests(ProtocolCase):
    def test_registered_as_the_transport_producer(self) -> None:
        self.assertIs(self.transport.producer, self.protocol.send_queue)
        self.assertTrue(self.transport.streaming)

    def test_consensus_overtakes_blocks(self) -> None:
        """
        With the transport full, a consensus payload is written before the blocks and
        inventories sent ahead of it; they follow once the transport drains.
        """
        self.establish()
        self.protocol.send_queue.pauseProducing()
        self.protocol.send("block", PRIVNET_GENESIS)
        self.protocol.send("inv", INV)
        self.protocol.send("consensus", CONSENSUS)
        self.assertEqual(self.sent(), [("consensus", CONSENSUS)])
        self.protocol.send_queue.resumeProducing()
        self.assertEqual([command for command, _ in self.sent()], ["block", "inv"])

    def test_getaddr_is_urgent_too(self) -> None:
        self.establish()
        self.protocol.send_queue.pauseProducing()
        self.protocol.send("headers", RawPayload(b"\x00"))
        self.protocol.send("getaddr")
        self.assertEqual([command for command, _ in self.sent()], ["getaddr"])

    def test_peer_not_reading_is_dropped(self) -> None:
        """
        Past the factory's backlog a peer that reads nothing is dropped at once (aborted:
        closing would wait for it to read), but for no fault: it may only be slow.
        """
        self.connect(max_send_backlog=3_000)
        self.establish()
        self.protocol.send_queue.pauseProducing()
        for _ in range(20):
            self.protocol.send("headers", RawPayload(b"\x00" * 199))
        self.assertFalse(self.transport.connected)
        self.assertTrue(self.transport.disconnected)
        [(_, _, reason, fault)] = self.listener.named("peer_lost")
        # 14 frames of 223 bytes: 13 fitted
        self.assertEqual((reason, fault),
                         ("not reading: 3122 bytes would wait to be sent", None))
