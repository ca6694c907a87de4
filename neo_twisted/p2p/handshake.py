# -*- test-case-name: tests.unit.test_p2p_handshake,tests.unit.test_p2p_protocol,tests.unit.test_p2p_session -*-  # noqa: E501
"""
The per-connection handshake as an explicit, sans-IO state machine.

Both sides send C{version} as soon as the TCP connection exists, so the machine
starts in L{AwaitingVersion}. The peer's first message must be C{version} (we
answer C{verack}), its second C{verack}; only then is the connection
L{Established}: the machine's work is done, and the connection routes every
later message itself (a version or verack again is a fault there). Anything else
before is a fault
(C2.10.3 C{ProtocolHandler.OnReceive} aborts; the table in
L{neo_twisted.p2p.faults} says what we do).

While the handshake runs the machine is total: every input has a declared
transition in both waiting states, so an illegal message is a visible row of the
table below, not an unexpected C{NoTransition}. Once established it is only told
that the connection closed (messages no longer reach it: no dead rows)::

    state           | version          | verack           | other message  | timed_out | closed
    ----------------+------------------+------------------+----------------+-----------+-------
    AwaitingVersion | -> AwaitingVerack| fault: order     | fault: order   | drop      | Closed
    AwaitingVerack  | fault: again     | -> Established   | fault: order   | drop      | Closed
    Established     |                  |                  |                |           | Closed
    Closed          | (ignored)        | (ignored)        | (ignored)      | (ignored) | Closed

It knows no transport, clock or listener: it acts only through the callables
of L{HandshakeEffects}, which L{neo_twisted.p2p.protocol.PeerProtocol} supplies
and tests record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import attrs
from automat import TypeMachineBuilder

from neo_twisted.network.payloads import Payload, VersionPayload
from neo_twisted.p2p.faults import Fault

__all__ = ["Handshake", "HandshakeEffects", "new_handshake"]


class Handshake(Protocol):
    """
    The events a connection feeds to its handshake machine.

    Every input returns None, so a behaviour may feed another input re-entrantly
    (for instance C{drop} leads the protocol to call L{closed}); automat runs it
    right after the current transition.
    """

    def version_received(self, version: VersionPayload) -> None:
        """
        The peer sent C{version}.
        """

    def verack_received(self) -> None:
        """
        The peer sent C{verack}.
        """

    def message_received(self, command: str, payload: Payload | None) -> None:
        """
        The peer sent any other command; C{payload} is None when it was not decoded
        (an unknown command, an oversized C{tx}).
        """

    def timed_out(self) -> None:
        """
        The handshake timer expired.
        """

    def closed(self) -> None:
        """
        The connection is going away (we dropped it, or it was lost).
        """


@attrs.frozen
class HandshakeEffects:
    """
    What the machine may do to the world, as plain callables.

    @ivar check_version: record the peer's version; return why the peer must be
        dropped, or None to go on.
    @ivar send_verack: acknowledge the peer's version.
    @ivar complete: the handshake is over (stop its timer, flush, tell the node, and
        route the peer's messages past the machine from now on).
    @ivar drop: close the connection for a reason that is no fault of the peer's.
    @ivar fault: the peer committed a fault (L{neo_twisted.p2p.faults.Fault}).
    """

    check_version: Callable[[VersionPayload], str | None]
    send_verack: Callable[[], None]
    complete: Callable[[], None]
    drop: Callable[[str], None]
    fault: Callable[[Fault, str], None]


_builder = TypeMachineBuilder(Handshake, HandshakeEffects)

AwaitingVersion = _builder.state("AwaitingVersion")
AwaitingVerack = _builder.state("AwaitingVerack")
Established = _builder.state("Established")
Closed = _builder.state("Closed")


# AwaitingVersion: the first message must be version.

@AwaitingVersion.upon(Handshake.version_received).to(AwaitingVerack)
def _accept_version(
    inputs: Handshake, effects: HandshakeEffects, version: VersionPayload
) -> None:
    """
    Ask whether to keep the peer; acknowledge its version only if so.

    A refusal (self-connection, duplicate, too many peers) is a plain drop, not a
    fault: the peer did nothing wrong.
    """
    reason = effects.check_version(version)
    if reason is None:
        effects.send_verack()
    else:
        effects.drop(reason)


@AwaitingVersion.upon(Handshake.verack_received).to(Closed)
def _verack_before_version(inputs: Handshake, effects: HandshakeEffects) -> None:
    effects.fault(Fault.HANDSHAKE_ORDER, "verack before version")


@AwaitingVersion.upon(Handshake.message_received).to(Closed)
def _message_before_version(
    inputs: Handshake, effects: HandshakeEffects, command: str, payload: Payload | None
) -> None:
    effects.fault(Fault.HANDSHAKE_ORDER, f"{command} before version")


# AwaitingVerack: the second message must be verack.

@AwaitingVerack.upon(Handshake.version_received).to(Closed)
def _version_again(
    inputs: Handshake, effects: HandshakeEffects, version: VersionPayload
) -> None:
    effects.fault(Fault.HANDSHAKE_AGAIN, "version received twice")


@AwaitingVerack.upon(Handshake.verack_received).to(Established)
def _establish(inputs: Handshake, effects: HandshakeEffects) -> None:
    effects.complete()


@AwaitingVerack.upon(Handshake.message_received).to(Closed)
def _message_before_verack(
    inputs: Handshake, effects: HandshakeEffects, command: str, payload: Payload | None
) -> None:
    effects.fault(Fault.HANDSHAKE_ORDER, f"{command} before verack")


# Both handshake states: the timer and the end of the connection.

@AwaitingVersion.upon(Handshake.timed_out).to(Closed)
@AwaitingVerack.upon(Handshake.timed_out).to(Closed)
def _handshake_timed_out(inputs: Handshake, effects: HandshakeEffects) -> None:
    effects.drop("handshake timed out")


AwaitingVersion.upon(Handshake.closed).to(Closed).returns(None)
AwaitingVerack.upon(Handshake.closed).to(Closed).returns(None)


# Established: the connection routes its messages itself; the machine only hears the end.

Established.upon(Handshake.closed).to(Closed).returns(None)


# Closed absorbs whatever still arrives (late bytes, late timers, a second close).

Closed.upon(Handshake.version_received).loop().returns(None)
Closed.upon(Handshake.verack_received).loop().returns(None)
Closed.upon(Handshake.message_received).loop().returns(None)
Closed.upon(Handshake.timed_out).loop().returns(None)
Closed.upon(Handshake.closed).loop().returns(None)

_machine = _builder.build()


def new_handshake(effects: HandshakeEffects) -> Handshake:
    """
    A machine for one connection whose C{version} has just been sent.
    """
    return _machine(effects)
