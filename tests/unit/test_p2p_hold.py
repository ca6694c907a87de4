"""
Tests for L{neo_twisted.p2p.protocol.PeerProtocol.hold} and C{release}: back-pressure
on a peer that asks faster than the node answers.
"""

from __future__ import annotations

from neo_twisted.network.payloads import InventoryType, InvPayload
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.wire.uint import UInt256
from tests.support.p2p_protocol_helpers import ProtocolCase, frame


def inv(n: int) -> InvPayload:
    return InvPayload(InventoryType.TX, (UInt256(n.to_bytes(32, "little")),))


class HoldTests(ProtocolCase):
    def setUp(self) -> None:
        super().setUp()
        self.establish()

    def delivered(self) -> list[int]:
        delivered = []
        for call in self.listener.named("message_received"):
            payload = call[3]
            assert isinstance(payload, InvPayload)
            delivered.append(int.from_bytes(payload.hashes[0], "little"))
        return delivered

    def test_held_peer_waits(self) -> None:
        """
        While held, no frame is handled and the socket is not read; released, the
        frames that waited are handled in order.
        """
        self.protocol.hold()
        self.assertEqual(self.transport.producerState, "paused")
        self.receive(frame("inv", inv(1)) + frame("inv", inv(2)))
        self.assertEqual(self.delivered(), [])
        self.protocol.release()
        self.assertEqual(self.delivered(), [1, 2])
        self.assertEqual(self.transport.producerState, "producing")

    def test_holds_count(self) -> None:
        self.protocol.hold()
        self.protocol.hold()
        self.receive(frame("inv", inv(1)))
        self.protocol.release()
        self.assertEqual(self.delivered(), [])
        self.protocol.release()
        self.assertEqual(self.delivered(), [1])
        self.protocol.release()  # one too many: nothing happens
        self.assertEqual(self.transport.producerState, "producing")

    def test_held_by_a_message(self) -> None:
        """
        A listener holding the peer on one message stops the frames after it, even
        those already received in the same read.
        """
        held: list[IPeer] = []
        original = self.listener.message_received

        def received(peer: IPeer, command: str, payload: object) -> None:
            original(peer, command, payload)  # type: ignore[arg-type]
            if not held:
                held.append(peer)
                peer.hold()

        self.listener.message_received = received  # type: ignore[method-assign]
        self.receive(frame("inv", inv(1)) + frame("inv", inv(2)) + frame("inv", inv(3)))
        self.assertEqual(self.delivered(), [1])
        held[0].release()
        self.assertEqual(self.delivered(), [1, 2, 3])

    def test_not_idle_while_held(self) -> None:
        """
        The idle timer does not count the time a peer is held: its silence is ours.
        """
        timeout = self.factory.idle_timeout
        self.protocol.hold()
        self.clock.advance(timeout * 3)
        self.assertTrue(self.transport.connected)
        self.protocol.release()
        self.clock.advance(timeout + 1)
        self.assertFalse(self.transport.connected)

    def test_release_after_close(self) -> None:
        self.protocol.hold()
        self.protocol.disconnect("gone")
        self.protocol.release()
        self.assertEqual(self.delivered(), [])
