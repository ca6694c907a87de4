# -*- test-case-name: tests.unit.test_p2p_hold,tests.unit.test_p2p_session -*-
"""
How a connection reads: one message at a time, in order.

A connection reads nothing more (its transport paused) while a big payload of it
is decoded in the threads of the factory's L{neo_twisted.p2p.decoding.PayloadDecoder},
and while the node holds the peer (L{FlowControl.hold}: back-pressure on a peer that
asks faster than we answer), so its messages are handled in the order they came.
L{Phase} says where the connection is; each phase routes messages its own way.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer, ITransport
from twisted.logger import Logger
from twisted.python.failure import Failure

from neo_twisted.network.frame import Frame
from neo_twisted.network.payloads import Payload
from neo_twisted.p2p.decoding import ChecksumError
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.liveness import Liveness
from neo_twisted.wire.errors import FormatError

if TYPE_CHECKING:
    from neo_twisted.p2p.factory import PeerFactory

__all__ = ["ENDED", "OPEN", "FlowControl", "Phase"]


class Phase(enum.Enum):
    """
    Where a connection is: each phase routes messages its own way (see the C{_route_*}
    methods), and it moves forward only.
    """

    HANDSHAKING = "handshaking"
    ESTABLISHED = "established"
    CLOSING = "closing"
    LOST = "lost"


OPEN = frozenset({Phase.HANDSHAKING, Phase.ESTABLISHED})
ENDED = frozenset({Phase.CLOSING, Phase.LOST})


class FlowControl:
    """
    The reading side of L{PeerProtocol}: holds, decoding off the reactor, pausing.
    What it uses of the protocol is declared here.
    """

    _log: Logger
    transport: ITransport | None
    phase: Phase
    _factory: PeerFactory
    _liveness: Liveness
    #: The payload being decoded off the reactor, if one is.
    _decoding: Deferred[Payload | None] | None
    #: L{hold}s not yet released: while any, no frame is handled.
    _holds: int
    _paused: bool

    def _dispatch(self, command: str, payload: Payload | None) -> None:
        raise NotImplementedError

    def _read_frames(self) -> None:
        raise NotImplementedError

    def _end(self, reason: str, fault: Fault | None, *, abort: bool) -> None:
        raise NotImplementedError

    def fault(self, fault: Fault, detail: str) -> None:
        raise NotImplementedError

    def _decode_elsewhere(self, frame: Frame) -> None:
        """
        Hand a big payload to the decoder's threads, and read nothing more meanwhile.
        """
        decoding = self._factory.decoding
        assert decoding is not None
        self._reading(False)
        command = frame.command
        self._decoding = decoding.decode(frame)
        self._decoding.addCallbacks(self._decoded, self._decode_failed,
                                    callbackArgs=(command,), errbackArgs=(command,))

    def _decoded(self, payload: Payload | None, command: str) -> None:
        """
        A payload decoded off the reactor: route it (unless the connection closed
        meanwhile), then go on with the frames that came after it.
        """
        self._decoding = None
        if self.phase in ENDED:
            return
        try:
            self._dispatch(command, payload)
            self._read_frames()
        except Exception as error:  # as Twisted does when dataReceived raises
            self._log.failure("handling {command} from {peer} failed",
                              command=command, peer=self)
            self._end(f"connection closed: {error}", None, abort=True)
            return
        if self.phase in OPEN and self._decoding is None and not self._holds:
            self._reading(True)

    def hold(self) -> None:
        """
        Handle none of the peer's frames, nor read its socket, until released (see
        L{IPeer.hold}); the idle timer does not count the time held against it.
        """
        self._holds += 1
        self._liveness.forgive_silence()
        self._reading(False)

    def release(self) -> None:
        """
        Undo one L{hold}; the last one goes on with the frames waiting.
        """
        if not self._holds:
            return
        self._holds -= 1
        if self._holds or self.phase in ENDED or self._decoding is not None:
            return
        self._liveness.forgive_silence()
        self._read_frames()  # may stop again: a frame may hold, or go to be decoded
        if self.phase in OPEN and self._decoding is None and not self._holds:
            self._reading(True)

    def _decode_failed(self, failure: Failure, command: str) -> None:
        self._decoding = None
        if self.phase in ENDED:
            return
        if isinstance(failure.value, FormatError):
            self._undecodable(command, failure.value)
            return
        self._log.failure("decoding {command} from {peer} failed", failure,
                          command=command, peer=self)
        self._end(f"connection closed: {failure.getErrorMessage()}", None, abort=True)

    def _undecodable(self, command: str, error: FormatError) -> None:
        if isinstance(error, ChecksumError):
            self.fault(Fault.BAD_FRAME, f"bad frame: {error}")
        else:
            self.fault(Fault.MALFORMED, f"bad {command} payload: {error}")

    def _reading(self, on: bool) -> None:
        """
        Pause or resume reading from the transport (TCP: its socket).
        """
        producer = IPushProducer(self.transport, None)
        if producer is not None and self._paused == on:
            self._paused = not on
            if on:
                producer.resumeProducing()
            else:
                producer.pauseProducing()
