# -*- test-case-name: tests.unit.test_p2p_liveness,tests.unit.test_p2p_session,tests.unit.test_p2p_hold -*-  # noqa: E501
"""
The timers that decide whether one P2P connection is still worth keeping.

Three deadlines run per connection: the handshake must end within its timeout;
the peer must send a whole message within the idle timeout (30 minutes by
default, as neo 2.8 allows); and after C{ping_interval} of our own silence we
ping, so 2.9+ peers (which drop a peer silent for 60 s) keep us.

L{Liveness} owns these timers on an injected clock and knows no frame, payload
or transport: it acts through the callables it is given, as the handshake
machine does (L{neo_twisted.p2p.handshake}), so its timing is tested alone on a
L{twisted.internet.task.Clock} and the protocol only reports what happened.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IDelayedCall, IReactorTime

__all__ = ["Liveness"]


def _never() -> bool:
    return False


def _cancel(call: IDelayedCall | None) -> None:
    if call is not None and call.active():
        call.cancel()


class Liveness:
    """
    The handshake, idle and keep-alive timers of one connection.

    Each callback fires at most once per expiry, and none after L{stop}; the
    connection is expected to close (and so L{stop} this) when told the
    handshake timed out or the peer is idle.
    """

    def __init__(self, clock: IReactorTime, *, handshake_timeout: float, idle_timeout: float,
                 ping_interval: float, on_handshake_timeout: Callable[[], None],
                 on_idle: Callable[[float], None], on_quiet: Callable[[], None],
                 held: Callable[[], bool] = _never) -> None:
        """
        @param clock: where the timers run (the factory's, a C{Clock} in tests).
        @param handshake_timeout: seconds from L{start} to L{established}.
        @param idle_timeout: seconds the peer may send no whole message.
        @param ping_interval: seconds of our silence, once established, before a ping.
        @param on_handshake_timeout: the handshake did not end in time.
        @param on_idle: the peer was silent this many seconds, the idle timeout or more.
        @param on_quiet: we sent nothing for C{ping_interval}: send a ping now (which
            L{sent} reports like any message).
        @param held: whether we are not reading the peer now (see
            L{neo_twisted.p2p.interfaces.IPeer.hold}): its silence meanwhile is
            ours, so it is not counted against it.
        """
        self._clock = clock
        self._handshake_timeout = handshake_timeout
        self._idle_timeout = idle_timeout
        self._ping_interval = ping_interval
        self._on_handshake_timeout = on_handshake_timeout
        self._on_idle = on_idle
        self._on_quiet = on_quiet
        self._held = held
        self._last_received = self._last_sent = 0.0
        self._stopped = False
        self._handshake_timer: IDelayedCall | None = None
        self._idle_timer: IDelayedCall | None = None
        self._keepalive_timer: IDelayedCall | None = None

    @property
    def running(self) -> bool:
        """
        Whether any timer is pending (the connection is being watched).
        """
        return any(call is not None and call.active() for call in (
            self._handshake_timer, self._idle_timer, self._keepalive_timer))

    def start(self) -> None:
        """
        The connection is up (and our version on its way): the handshake and idle
        timers start now, counting both sides as having just spoken.
        """
        if self._stopped:
            return
        self._last_received = self._last_sent = self._clock.seconds()
        self._handshake_timer = self._clock.callLater(self._handshake_timeout,
                                                      self._handshake_expired)
        self._idle_timer = self._clock.callLater(self._idle_timeout, self._check_idle)

    def established(self) -> None:
        """
        The handshake is over: its timer stops and the keep-alive starts.
        """
        _cancel(self._handshake_timer)
        self._handshake_timer = None
        if not self._stopped:
            self._keepalive_timer = self._clock.callLater(self._ping_interval,
                                                          self._keep_alive)

    def received(self) -> None:
        """
        A whole message came in: the peer's silence starts again now. (Bytes of an
        unfinished frame do not count: a frame dripped a byte at a time must not
        hold a connection longer than silence does.)
        """
        self._last_received = self._clock.seconds()

    def forgive_silence(self) -> None:
        """
        We stop or start reading the peer again (a hold): its silence so far was
        ours, so the idle count starts again now.
        """
        self._last_received = self._clock.seconds()

    def sent(self) -> None:
        """
        We sent a message: no keep-alive is needed for another C{ping_interval}.
        """
        self._last_sent = self._clock.seconds()

    def stop(self) -> None:
        """
        The connection is closing: cancel every timer, for good.
        """
        self._stopped = True
        for call in (self._handshake_timer, self._idle_timer, self._keepalive_timer):
            _cancel(call)
        self._handshake_timer = self._idle_timer = self._keepalive_timer = None

    def _handshake_expired(self) -> None:
        self._handshake_timer = None
        self._on_handshake_timeout()

    def _check_idle(self) -> None:
        """
        Report a peer silent for the idle timeout; else look again when it would be.
        """
        self._idle_timer = None
        now = self._clock.seconds()
        if self._held():
            self._last_received = now
        silent = now - self._last_received
        if silent >= self._idle_timeout:
            self._on_idle(silent)
        elif not self._stopped:
            self._idle_timer = self._clock.callLater(self._idle_timeout - silent,
                                                     self._check_idle)

    def _keep_alive(self) -> None:
        """
        Ask for a ping if we were quiet for C{ping_interval}; look again when we
        would be.
        """
        self._keepalive_timer = None
        quiet = self._clock.seconds() - self._last_sent
        if quiet >= self._ping_interval:
            self._on_quiet()
            quiet = 0.0
        if not self._stopped:
            self._keepalive_timer = self._clock.callLater(self._ping_interval - quiet,
                                                          self._keep_alive)
