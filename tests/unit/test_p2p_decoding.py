"""
Tests for how L{neo_twisted.p2p.protocol.PeerProtocol} decodes what an established peer
sends: a block judged on its raw header before it is read, big payloads decoded off the
reactor in order, and the threads of L{neo_twisted.p2p.decoding.PayloadDecoder}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import TestCase

from neo_twisted.core.block import UNSIGNED_HEADER_SIZE
from neo_twisted.crypto.hashes import checksum
from neo_twisted.network.frame import HEADER_SIZE, Frame, FrameDecoder, encode_frame
from neo_twisted.network.payloads import EmptyPayload
from neo_twisted.p2p.decoding import OFF_REACTOR_SIZE, ChecksumError, PayloadDecoder
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.reactors import global_reactor
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt256
from tests.support.ledger_samples import CHAIN
from tests.support.p2p_decoding_helpers import FakeDecoding, big_tx, truncated_tx
from tests.support.p2p_protocol_helpers import INV, MAGIC, ProtocolCase, frame


class BlockJudgeTests(ProtocolCase):
    """
    A block is judged on its raw header (index, hash) before it is buffered or decoded.
    """

    def setUp(self) -> None:
        super().setUp()
        self.establish()

    def test_judged_on_its_header(self) -> None:
        """
        The listener is asked with the index and hash the raw header gives; a block
        it wants is decoded and delivered.
        """
        block = CHAIN[0]
        self.receive(frame("block", block))
        self.assertEqual(self.listener.named("accepts_block_frame"),
                         [("accepts_block_frame", self.protocol, block.index, block.hash)])
        self.assertEqual(self.listener.named("message_received"),
                         [("message_received", self.protocol, "block", block)])

    def test_refused_block_skipped_unread(self) -> None:
        """
        A block the listener does not want is not decoded (its garbage is no fault)
        nor buffered: its payload is dropped as it streams in, from the moment its
        header is in; the messages after it are handled; the counters count it.
        """
        self.listener.block_verdict = lambda peer, index, hash_: False
        payload = CHAIN[0].to_bytes()[:UNSIGNED_HEADER_SIZE] + b"\xff" * 200_000
        data = encode_frame(MAGIC, "block", payload)
        self.receive(data[:HEADER_SIZE + UNSIGNED_HEADER_SIZE])
        self.assertEqual(len(self.listener.named("accepts_block_frame")), 1)
        for at in range(HEADER_SIZE + UNSIGNED_HEADER_SIZE, len(data), 65536):
            self.receive(data[at:at + 65536])
            self.assertEqual(self.protocol._decoder.buffered, 0)
        self.receive(frame("inv", INV))
        self.assertEqual(self.listener.named("message_received"),
                         [("message_received", self.protocol, "inv", INV)])
        self.assertTrue(self.transport.connected)
        self.assertEqual(self.listener.named("fault_ignored"), [])
        self.assertEqual(self.protocol.messages_in["block"], 1)
        self.assertEqual(self.protocol.bytes_in["block"], len(data))

    def test_listener_may_drop_the_sender(self) -> None:
        """
        A listener that drops the peer while judging its block ends the connection
        there: nothing after the block is handled, the loss is reported once.
        """
        def refuse(peer: IPeer, index: int, hash_: UInt256) -> bool:
            peer.disconnect(f"block {index} cannot be next")
            return False

        self.listener.block_verdict = refuse
        self.receive(frame("block", CHAIN[3]) + frame("inv", INV))
        self.assert_dropped("block 4 cannot be next", fault=None)
        self.assertEqual(self.listener.named("message_received"), [])

    def test_listener_may_fault_the_sender(self) -> None:
        """
        A listener that reports a fault for a block while judging it ends the
        connection there too, aborted, with that fault.
        """
        def refuse(peer: IPeer, index: int, hash_: UInt256) -> bool:
            peer.fault(Fault.UNASKED_BLOCK, f"block {index} was not asked for")
            return False

        self.listener.block_verdict = refuse
        self.receive(frame("block", CHAIN[3]) + frame("inv", INV))
        self.assert_dropped("block 4 was not asked for", fault=Fault.UNASKED_BLOCK)
        self.assertEqual(self.listener.named("message_received"), [])

    def test_short_block_is_malformed(self) -> None:
        """
        A block payload shorter than a header is not judged: it fails to decode.
        """
        self.receive(encode_frame(MAGIC, "block", bytes(50)))
        self.assertEqual(self.listener.named("accepts_block_frame"), [])
        self.assertTrue(self.transport.disconnected)
        [(_, _, reason, fault)] = self.listener.named("peer_lost")
        self.assertTrue(str(reason).startswith("bad block payload:"), reason)
        self.assertIs(fault, Fault.MALFORMED)


class OffReactorTests(ProtocolCase):
    """
    Payloads over L{OFF_REACTOR_SIZE} go to the factory's decoder; the connection reads
    nothing more, and handles nothing after them, until they are back.
    """

    def setUp(self) -> None:
        self.decoding = FakeDecoding()
        super().setUp()

    def connect(self, **options: Any) -> None:
        super().connect(**options)
        self.factory.decoding = self.decoding  # type: ignore[assignment]
        self.protocol._decoder = FrameDecoder(  # as the factory's decoding makes it
            MAGIC, judge=self.protocol._judge, head_size=UNSIGNED_HEADER_SIZE,
            verify_up_to=OFF_REACTOR_SIZE)
        self.establish()

    def test_order_kept(self) -> None:
        """
        Messages after a big one wait for it, the transport paused meanwhile; then all
        are delivered in order and reading resumes. Small ones never leave the reactor.
        """
        tx = big_tx()
        self.receive(frame("inv", INV) + frame("tx", tx) + frame("getaddr"))
        self.assertEqual([call[2] for call in self.listener.named("message_received")],
                         ["inv"])
        self.assertEqual(self.transport.producerState, "paused")
        [(sent, _)] = self.decoding.pending
        self.assertEqual(sent.command, "tx")
        self.assertIsNotNone(sent.check)  # verified with the decoding, off the reactor
        self.receive(frame("inv", INV))  # read before the pause took effect
        self.assertEqual(len(self.listener.named("message_received")), 1)
        self.decoding.finish()
        self.assertEqual(self.listener.named("message_received"), [
            ("message_received", self.protocol, "inv", INV),
            ("message_received", self.protocol, "tx", tx),
            ("message_received", self.protocol, "getaddr", EmptyPayload()),
            ("message_received", self.protocol, "inv", INV)])
        self.assertEqual(self.transport.producerState, "producing")

    def test_two_big_in_a_row(self) -> None:
        """
        A second big message goes out only once the first is back; reading resumes
        after both.
        """
        first, second = big_tx(), big_tx(OFF_REACTOR_SIZE + 2000)
        self.receive(frame("tx", first) + frame("tx", second))
        self.assertEqual(len(self.decoding.pending), 1)
        self.decoding.finish()
        self.assertEqual(len(self.decoding.pending), 1)
        self.assertEqual(self.transport.producerState, "paused")
        self.decoding.finish()
        self.assertEqual([call[3] for call in self.listener.named("message_received")],
                         [first, second])
        self.assertEqual(self.transport.producerState, "producing")

    def test_closed_meanwhile(self) -> None:
        """
        A peer that went away while its message was decoded gets nothing delivered.
        """
        self.receive(frame("tx", big_tx()) + frame("inv", INV))
        self.transport.loseConnection()
        self.decoding.finish()
        self.assertEqual(self.listener.named("message_received"), [])
        self.assertEqual(len(self.listener.named("peer_lost")), 1)

    def test_bad_payload(self) -> None:
        """
        A big payload that does not decode is malformed, reported when it is back.
        """
        self.receive(encode_frame(MAGIC, "tx", truncated_tx(20_000)))
        self.assertTrue(self.transport.connected)
        self.decoding.finish()
        [(_, _, reason, fault)] = self.listener.named("peer_lost")
        self.assertTrue(str(reason).startswith("bad tx payload:"), reason)
        self.assertIs(fault, Fault.MALFORMED)
        self.assertTrue(self.transport.disconnected)

    def test_bad_checksum(self) -> None:
        """
        The checksum of a big payload, left to the decoding, is still a bad frame.
        """
        data = bytearray(frame("tx", big_tx()))
        data[-1] ^= 0xFF
        self.receive(bytes(data))
        self.decoding.finish()
        self.assert_dropped("bad frame: payload checksum mismatch (at offset 20)",
                            fault=Fault.BAD_FRAME)

    def test_listener_failure(self) -> None:
        """
        An exception from the listener for a message decoded off the reactor is logged
        and drops the connection, as one from dataReceived would.
        """
        self.listener.disconnect_on = None
        self.patch(self.listener, "message_received", lambda *args: 1 / 0)
        self.receive(frame("tx", big_tx()))
        self.decoding.finish()
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertTrue(self.transport.disconnected)
        [(_, _, reason, fault)] = self.listener.named("peer_lost")
        self.assertIn("division by zero", str(reason))
        self.assertIsNone(fault)

    def test_not_running_decodes_here(self) -> None:
        """
        With the decoder stopped, a big payload is decoded (and checked) on the reactor.
        """
        self.decoding.available = False
        tx = big_tx()
        self.receive(frame("tx", tx))
        self.assertEqual(self.listener.named("message_received"),
                         [("message_received", self.protocol, "tx", tx)])


class PayloadDecoderTests(TestCase):
    """
    The real decoder's threads.
    """

    def setUp(self) -> None:
        self.decoder = PayloadDecoder(global_reactor())
        self.decoder.startService()
        self.addCleanup(self.decoder.stopService)

    @inlineCallbacks
    def test_decodes(self) -> Any:
        tx = big_tx()
        payload = yield self.decoder.decode(Frame("tx", tx.to_bytes(), checksum(tx.to_bytes())))
        self.assertEqual(payload, tx)

    def test_bad_checksum(self) -> Any:
        return self.assertFailure(self.decoder.decode(Frame("tx", b"x", b"\0\0\0\0")),
                                  ChecksumError)

    def test_bad_payload(self) -> Any:
        return self.assertFailure(self.decoder.decode(Frame("tx", b"\xff")), FormatError)

    @inlineCallbacks
    def test_stop_waits_for_decodings(self) -> Any:
        """
        Stopping lets the decodings under way finish; it takes no more after.
        """
        tx = big_tx()
        pending = self.decoder.decode(Frame("tx", tx.to_bytes()))
        yield self.decoder.stopService()
        self.assertTrue(pending.called)
        self.assertFalse(self.decoder.available)
        self.assertRaises(RuntimeError, self.decoder.decode, Frame("tx", b""))
        self.assertEqual((yield pending), tx)
