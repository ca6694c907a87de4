"""
Tests for L{neo_twisted.p2p.liveness.Liveness} alone, on a L{Clock}: when the
handshake, idle and keep-alive timers fire, what postpones them, and that none is
left behind. How the protocol uses it is in L{tests.unit.test_p2p_session}.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.p2p.liveness import Liveness

HANDSHAKE = 30.0
IDLE = 90.0
PING = 20.0


class LivenessCase(SynchronousTestCase):
    """
    A L{Liveness} whose callbacks record C{(event, time)} in C{self.events}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.events: list[tuple[str, float]] = []
        self.holds = 0
        self.liveness = Liveness(
            self.clock, handshake_timeout=HANDSHAKE, idle_timeout=IDLE, ping_interval=PING,
            on_handshake_timeout=lambda: self.record("handshake"),
            on_idle=lambda silent: self.record(f"idle {silent:.0f}"),
            on_quiet=self.quiet, held=lambda: self.holds > 0)
        #: What the next C{on_quiet} does besides recording (e.g. send, stop).
        self.on_quiet = self.liveness.sent
        self.addCleanup(self.assert_no_timer_after_stop)

    def record(self, event: str) -> None:
        self.events.append((event, self.clock.seconds()))

    def quiet(self) -> None:
        self.record("quiet")
        self.on_quiet()

    def assert_no_timer_after_stop(self) -> None:
        self.liveness.stop()
        self.assertFalse(self.liveness.running)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def started(self, *, established: bool = False) -> None:
        self.liveness.start()
        if established:
            self.liveness.established()


class HandshakeTimerTests(LivenessCase):
    """
    The handshake must end within its timeout.
    """

    def test_times_out(self) -> None:
        """
        Without L{Liveness.established}, the handshake times out once, on time.
        """
        self.started()
        self.clock.advance(HANDSHAKE - 1)
        self.assertEqual(self.events, [])
        self.clock.advance(1)
        self.assertEqual(self.events, [("handshake", HANDSHAKE)])
        self.clock.advance(HANDSHAKE)
        self.assertEqual(self.events, [("handshake", HANDSHAKE)])

    def test_established_in_time(self) -> None:
        """
        A handshake that ends in time stops its timer.
        """
        self.started()
        self.clock.advance(HANDSHAKE - 1)
        self.liveness.established()
        self.clock.advance(1)
        self.assertNotIn("handshake", [event for event, _ in self.events])

    def test_nothing_before_start(self) -> None:
        """
        No timer runs before L{Liveness.start}.
        """
        self.assertFalse(self.liveness.running)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class IdleTimerTests(LivenessCase):
    """
    The peer must send a whole message within the idle timeout.
    """

    def test_silent_peer(self) -> None:
        """
        A peer silent since the start is reported idle after the timeout, once; the
        idle timer is not armed again (the connection is to close).
        """
        self.started(established=True)
        self.on_quiet = lambda: None  # we never send: no ping either
        self.clock.advance(IDLE)
        self.assertIn(("idle 90", IDLE), self.events)
        self.clock.advance(IDLE * 2)
        self.assertEqual([e for e in self.events if e[0].startswith("idle")],
                         [("idle 90", IDLE)])

    def test_received_postpones(self) -> None:
        """
        Each message received starts the peer's silence again; what we send does not.
        """
        self.started()
        self.clock.advance(60)
        self.liveness.received()
        self.liveness.sent()
        self.clock.advance(IDLE - 1)
        self.assertNotIn("idle", [e[0][:4] for e in self.events])
        self.clock.advance(1)
        self.assertEqual(self.events[-1], ("idle 90", 60 + IDLE))

    def test_not_idle_while_held(self) -> None:
        """
        While held, the peer's silence is ours: it is not idle however long; once
        released (its silence forgiven), the full timeout runs again.
        """
        self.started()
        self.holds = 1
        self.liveness.forgive_silence()
        self.clock.advance(IDLE * 3)
        self.assertNotIn("idle", [e[0][:4] for e in self.events])
        self.holds = 0
        self.liveness.forgive_silence()
        released = self.clock.seconds()
        self.clock.advance(IDLE - 1)
        self.assertNotIn("idle", [e[0][:4] for e in self.events])
        self.clock.advance(1)
        self.assertEqual(self.events[-1], ("idle 90", released + IDLE))


class KeepAliveTests(LivenessCase):
    """
    After C{ping_interval} of our silence, once established, a ping is asked for.
    """

    def quiets(self) -> list[float]:
        return [at for event, at in self.events if event == "quiet"]

    def test_none_during_handshake(self) -> None:
        """
        Before the handshake ends nothing is asked, however quiet we are.
        """
        self.started()
        self.clock.advance(HANDSHAKE - 1)
        self.assertEqual(self.quiets(), [])

    def test_every_interval(self) -> None:
        """
        Once established and quiet, a ping is asked every C{ping_interval}.
        """
        self.started(established=True)
        self.clock.advance(PING - 1)
        self.assertEqual(self.quiets(), [])
        for _ in range(3):
            self.clock.advance(1)
            self.clock.advance(PING - 1)
        self.assertEqual(self.quiets(), [PING, 2 * PING, 3 * PING])

    def test_sent_postpones(self) -> None:
        """
        Sending anything postpones the ping to C{ping_interval} after it.
        """
        self.started(established=True)
        self.clock.advance(15)
        self.liveness.sent()
        self.clock.advance(PING - 1)
        self.assertEqual(self.quiets(), [])
        self.clock.advance(1)
        self.assertEqual(self.quiets(), [15 + PING])

    def test_received_does_not_postpone(self) -> None:
        """
        Hearing from the peer does not make us less quiet.
        """
        self.started(established=True)
        self.clock.advance(PING / 2)
        self.liveness.received()
        self.clock.advance(PING / 2)
        self.assertEqual(self.quiets(), [PING])

    def test_stopped_while_asking(self) -> None:
        """
        A connection closed by the ping it was asked for (its send buffer full,
        say) keeps no timer.
        """
        self.started(established=True)
        self.on_quiet = self.liveness.stop
        self.clock.advance(PING)
        self.assertEqual(self.quiets(), [PING])
        self.assertFalse(self.liveness.running)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class StopTests(LivenessCase):
    """
    Stopping cancels every timer, for good.
    """

    def test_stop_in_every_phase(self) -> None:
        """
        Stopped while handshaking or established, nothing fires any more and no
        timer is left; starting or establishing again arms nothing.
        """
        self.started()
        self.assertTrue(self.liveness.running)
        self.liveness.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.liveness.start()
        self.liveness.established()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(IDLE * 2)
        self.assertEqual(self.events, [])

    def test_stop_established(self) -> None:
        """
        Stopped once established (twice, as a closing connection may), no ping or
        idle report follows.
        """
        self.started(established=True)
        self.clock.advance(PING)
        self.liveness.stop()
        self.liveness.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(IDLE * 2)
        self.assertEqual(self.events, [("quiet", PING)])
