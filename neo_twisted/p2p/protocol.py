# -*- test-case-name: tests.unit.test_p2p_protocol,tests.unit.test_p2p_session,tests.unit.test_p2p_decoding -*-  # noqa: E501
"""
One P2P connection: framing, the handshake, keep-alive, and nothing else.

L{PeerProtocol} turns bytes into frames and frames into payloads, feeds them to
its L{neo_twisted.p2p.handshake} machine, answers C{ping}, and hands every
other message of an established peer to the node's L{IPeerListener}. Its timers
(handshake, idle, keep-alive) are a L{Liveness} on the factory's injected clock.

Each frame is judged on its first bytes before it is buffered or decoded
(L{neo_twisted.p2p.judging}). Big payloads are decoded in the threads of the
factory's L{neo_twisted.p2p.decoding.PayloadDecoder}; meanwhile, and while the
node holds the peer (L{hold}), the connection reads nothing (its transport
paused), so messages are handled in the order they came (L{neo_twisted.p2p.flow}).

A connection moves through its L{Phase}s once each: while handshaking every
message feeds the handshake machine; once established they are delivered (a
version or verack again is a fault); once closing, dropped. The route switches
with the phase, so no message asks which phase it is in.

Listener exceptions are not caught here: they leave C{dataReceived}, and
Twisted logs them and drops the connection, which is reported by C{peer_lost}.
Those of a message decoded off the reactor are logged here and drop it alike.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress, IConsumer
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from neo_twisted.core.serializable import Serializable
from neo_twisted.network.frame import (
    HEADER_SIZE,
    Frame,
    FrameDecoder,
    SkippedFrame,
    WrongMagicError,
    encode_frame,
)
from neo_twisted.network.payloads import (
    PEER_COMMANDS,
    EmptyPayload,
    Payload,
    PingPayload,
    VersionPayload,
)
from neo_twisted.p2p.decoding import OFF_REACTOR_SIZE, decode_frame
from neo_twisted.p2p.faults import Fault, Response
from neo_twisted.p2p.flow import ENDED as _ENDED
from neo_twisted.p2p.flow import OPEN as _OPEN
from neo_twisted.p2p.flow import FlowControl, Phase
from neo_twisted.p2p.handshake import Handshake, HandshakeEffects, new_handshake
from neo_twisted.p2p.interfaces import Endpoint, IPeer
from neo_twisted.p2p.judging import (
    HANDSHAKE_COMMANDS,
    HEAD_SIZE,
    MAX_TX_SIZE,
    worth_reading,
)
from neo_twisted.p2p.liveness import Liveness
from neo_twisted.p2p.sendqueue import URGENT_COMMANDS, SendQueue
from neo_twisted.p2p.traffic import counted
from neo_twisted.wire.errors import FormatError

if TYPE_CHECKING:
    from neo_twisted.p2p.factory import PeerFactory

__all__ = ["HANDSHAKE_COMMANDS", "MAX_TX_SIZE", "PeerProtocol"]

_UINT32 = 0xFFFFFFFF




@implementer(IPeer)
class PeerProtocol(FlowControl, Protocol):
    """
    A connection to one NEO 2.x node, inbound or outbound.

    C{send} before the handshake completes queues the message; the queue is
    flushed, in order, the moment the peer's C{verack} arrives and before the
    listener hears of the new peer. Only C{version} and C{verack} are ever sent
    earlier, as the reference node requires.

    @ivar bytes_in: bytes received per command (headers included).
    @ivar messages_in: messages received per command.
    @ivar bytes_out: bytes sent per command (headers included).
    @ivar messages_out: messages sent per command.
    """

    _log = Logger()

    def __init__(self, factory: PeerFactory, address: IAddress | None = None) -> None:
        """
        @param factory: the configuration, clock and listener this connection uses.
        @param address: the other side, as C{buildProtocol} was told; the
            transport's C{getPeer()} replaces it on connection.
        """
        self.factory = factory
        self._factory = factory
        self._node = factory.listener
        self._clock = factory.clock
        self.inbound = factory.inbound
        self.remote = Endpoint.of_address(address)
        self.version: VersionPayload | None = None
        self.last_block_index = 0
        #: Where the connection is; its C{route} for messages switches with it, once.
        self.phase = Phase.HANDSHAKING
        self._route: Callable[[str, Payload | None], None] = self._route_handshake
        self.bytes_in: dict[str, int] = {}
        self.messages_in: dict[str, int] = {}
        self.bytes_out: dict[str, int] = {}
        self.messages_out: dict[str, int] = {}
        decoding = factory.decoding
        self._decoder = FrameDecoder(
            factory.magic, judge=self._judge, head_size=HEAD_SIZE,
            verify_up_to=None if decoding is None else OFF_REACTOR_SIZE)
        #: The payload being decoded off the reactor, if one is.
        self._decoding: Deferred[Payload | None] | None = None
        #: L{hold}s not yet released: while any, no frame is handled.
        self._holds = 0
        self._paused = False
        self._handshake: Handshake = new_handshake(HandshakeEffects(
            check_version=self._check_version, send_verack=self._send_verack,
            complete=self._complete, drop=self.disconnect, fault=self.fault))
        self._pending: list[tuple[str, Serializable | None]] = []
        #: Bulk messages wait here while the transport is full; urgent ones pass them.
        self.send_queue = SendQueue(self._to_transport, limit=factory.max_send_backlog,
                                    overflow=self._backlog_full)
        #: Why the connection is closing, once it is (the state data of CLOSING).
        self._why: tuple[str, Fault | None] = ("", None)
        self._liveness = Liveness(
            self._clock, handshake_timeout=factory.handshake_timeout,
            idle_timeout=factory.idle_timeout, ping_interval=factory.ping_interval,
            on_handshake_timeout=self._handshake.timed_out,
            on_idle=lambda silent: self.disconnect(f"no message received for {silent:.0f} s"),
            on_quiet=lambda: self._keep_alive("ping", secrets.randbits(32)),
            held=lambda: self._holds > 0)

    @property
    def listener(self) -> Endpoint | None:
        """
        Where the peer accepts connections: its IP and its version's port.
        """
        version = self.version
        if version is None or version.port <= 0:
            return None
        return Endpoint(self.remote.host, version.port)

    @property
    def established(self) -> bool:
        """
        Both sides have sent and received verack, and the connection is not closing.
        """
        return self.phase is Phase.ESTABLISHED

    @property
    def disconnecting(self) -> bool:
        """
        Whether L{disconnect} was called or the connection was lost.
        """
        return self.phase in _ENDED

    # Twisted's side

    def connectionMade(self) -> None:
        """
        Send our version at once and start the handshake and idle timers.
        """
        assert self.transport is not None
        self.remote = Endpoint.of_address(self.transport.getPeer())
        consumer = IConsumer(self.transport, None)
        if consumer is not None:  # every TCP and TLS transport is one
            consumer.registerProducer(self.send_queue, True)
        self._node.peer_connected(self)
        self._liveness.start()
        self._write("version", self._node.local_version(self))

    def dataReceived(self, data: bytes) -> None:
        """
        Decode whole frames and handle them in order until one ends the connection
        (or goes to be decoded off the reactor: the rest wait for it).
        """
        if self.phase in _ENDED:
            return
        self._decoder.push(data)
        self._read_frames()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Stop every timer and report the loss to the listener exactly once.
        """
        if self.phase is Phase.LOST:
            return
        if self.phase is not Phase.CLOSING:
            self._close(f"connection closed: {reason.getErrorMessage()}", None)
        self.phase = Phase.LOST
        message, fault = self._why
        self._liveness.stop()
        self._node.peer_lost(self, message, fault)

    # IPeer

    def send(self, command: str, payload: Serializable | None = None) -> None:
        """
        Send one message now, or queue it until the handshake completes.

        @raise ValueError: for C{version} or C{verack}, which only the handshake sends.
        """
        if command in HANDSHAKE_COMMANDS:
            raise ValueError(f"{command} is sent by the handshake only")
        if self.phase in _ENDED:
            return
        if self.phase is Phase.HANDSHAKING:
            self._pending.append((command, payload))
            return
        self._write(command, payload)

    def disconnect(self, reason: str) -> None:
        """
        Close the connection once, after what is buffered has been sent.
        """
        self._end(reason, None, abort=False)

    def fault(self, fault: Fault, detail: str) -> None:
        """
        The table's response to C{fault}: the listener counts one that is ignored; any
        other closes the connection, aborted (a TCP reset) as 2.9+ nodes do, and the
        listener applies the rest (L{IPeerListener.peer_lost}).
        """
        if self.phase in _ENDED:
            return
        if fault.response is Response.IGNORE:
            self._node.fault_ignored(self, fault, detail)
        else:
            self._end(detail, fault, abort=True)

    def _end(self, reason: str, fault: Fault | None, *, abort: bool) -> None:
        """
        Close the connection once: aborted (a TCP reset, nothing more flushed) when
        C{abort} and the transport can, else after what is buffered has been sent.
        """
        if self.phase in _ENDED:
            return
        self._close(reason, fault)
        transport = self.transport
        if transport is None:
            return
        aborting: Callable[[], None] | None = (
            getattr(transport, "abortConnection", None) if abort else None)
        if aborting is not None:
            aborting()
        else:
            transport.loseConnection()

    # Internals

    def _close(self, reason: str, fault: Fault | None) -> None:
        """
        Remember why we are closing, stop everything, and settle the machine.
        """
        self.phase, self._why = Phase.CLOSING, (reason, fault)
        self._route = self._route_closing
        self._pending.clear()
        self._liveness.stop()
        if fault is not None:
            self._log.warn("dropping {peer} ({fault}): {reason}",
                           peer=self, fault=fault.label, reason=reason)
        else:
            self._log.info("dropping {peer}: {reason}", peer=self, reason=reason)
        self._handshake.closed()

    def _read_frames(self) -> None:
        """
        Handle the frames buffered, in order, while the connection is open and no
        payload of it is being decoded elsewhere.
        """
        decoder = self._decoder
        received = False
        while self.phase in _OPEN and self._decoding is None and not self._holds:
            try:
                frame = decoder.next_frame()
            except FormatError as error:
                wrong_magic = isinstance(error, WrongMagicError)
                self.fault(Fault.WRONG_MAGIC if wrong_magic else Fault.BAD_FRAME,
                           f"bad frame: {error}")
                return
            if frame is None:
                break
            if not received:  # a frame's bytes alone (dripped, say) do not keep a peer
                received = True
                self._liveness.received()
            self._frame_received(frame)

    def _judge(self, command: str, length: int, head: bytes) -> bool:
        """
        Whether a frame is worth reading, from its first bytes (L{worth_reading}).
        """
        return worth_reading(command, length, head, established=self.established,
                             block_wanted=lambda index, hash_: bool(
                                 self._node.accepts_block_frame(self, index, hash_)))

    def _frame_received(self, frame: Frame | SkippedFrame) -> None:
        """
        Count one frame; decode it (here, or elsewhere if big) and route it.
        """
        command = frame.command
        size = frame.length if isinstance(frame, SkippedFrame) else len(frame.payload)
        label = counted(command)
        self.messages_in[label] = self.messages_in.get(label, 0) + 1
        self.bytes_in[label] = self.bytes_in.get(label, 0) + HEADER_SIZE + size
        if isinstance(frame, SkippedFrame):
            if self.phase in _OPEN:  # the listener may have dropped the peer for it
                self._dispatch(command, None)
            return
        decoding = self._factory.decoding
        if (decoding is not None and decoding.available
                and (frame.check is not None or size > OFF_REACTOR_SIZE)):
            self._decode_elsewhere(frame)
            return
        try:
            payload = decode_frame(frame)
        except FormatError as error:
            self._undecodable(command, error)
            return
        self._dispatch(command, payload)

    def _dispatch(self, command: str, payload: Payload | None) -> None:
        """
        Handle one message the way the connection's phase routes it.
        """
        self._route(command, payload)

    # The three routes of a message; the connection switches from one to the next once.

    def _route_handshake(self, command: str, payload: Payload | None) -> None:
        """
        Before the handshake completes: every message feeds its machine.
        """
        if isinstance(payload, VersionPayload):
            self._handshake.version_received(payload)
        elif command == "verack":
            self._handshake.verack_received()
        else:
            self._handshake.message_received(command, payload)

    def _route_established(self, command: str, payload: Payload | None) -> None:
        """
        Once established: a handshake message again is a fault; the rest is delivered.
        """
        if command in HANDSHAKE_COMMANDS:
            self.fault(Fault.HANDSHAKE_AGAIN, f"{command} after the handshake")
        else:
            self._deliver(command, payload)

    def _route_closing(self, command: str, payload: Payload | None) -> None:
        """
        Closing: whatever still arrives is dropped.
        """

    def _write(self, command: str, payload: Serializable | None) -> None:
        """
        Frame one message and hand it to the send queue (the counters count it as sent).
        """
        if self.phase in _ENDED or self.transport is None:
            return
        data = encode_frame(self._factory.magic, command,
                            b"" if payload is None else payload.to_bytes())
        self.send_queue.push(data, command in URGENT_COMMANDS)
        self._liveness.sent()
        self.messages_out[command] = self.messages_out.get(command, 0) + 1
        self.bytes_out[command] = self.bytes_out.get(command, 0) + len(data)

    def _backlog_full(self, size: int) -> None:
        """
        The peer does not read what it asks for: drop it (a slow link, not a violation),
        at once: a closing transport would wait for it to read what is buffered.
        """
        self._end(f"not reading: {size} bytes would wait to be sent", None, abort=True)

    def _to_transport(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def _check_version(self, version: VersionPayload) -> str | None:
        self.version = version
        self.last_block_index = version.start_height
        return self._node.check_version(self, version)

    def _send_verack(self) -> None:
        self._write("verack", EmptyPayload())

    def _complete(self) -> None:
        """
        The peer acknowledged us: flush what the node queued, then tell it.
        """
        self.phase, self._route = Phase.ESTABLISHED, self._route_established
        self._liveness.established()
        pending, self._pending = self._pending, []
        for command, payload in pending:
            self._write(command, payload)
        self._node.peer_established(self)

    def _deliver(self, command: str, payload: Payload | None) -> None:
        """
        Answer keep-alives; pass everything else that was decoded to the node.
        """
        if payload is None:
            if command in PEER_COMMANDS:  # judged not worth reading, or a short ping
                self._log.debug("skipped {command} from {peer}", command=command, peer=self)
            else:
                self.fault(Fault.UNKNOWN_COMMAND, f"{command} is not handled")
        elif isinstance(payload, PingPayload) and command in ("ping", "pong"):
            self.last_block_index = max(self.last_block_index, payload.last_block_index)
            if command == "ping":
                self._keep_alive("pong", payload.nonce)
        else:
            self._node.message_received(self, command, payload)

    def _keep_alive(self, command: str, nonce: int) -> None:
        """
        Send C{ping} or C{pong}: our height, the time and C{nonce}, as every 2.x node does.
        """
        self._write(command, PingPayload(self._node.current_height() & _UINT32,
                                         int(self._clock.seconds()) & _UINT32, nonce))

    def __repr__(self) -> str:
        return f"peer {self.remote} {'in' if self.inbound else 'out'}"

    __str__ = __repr__
