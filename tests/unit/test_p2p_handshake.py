"""
Tests for L{neo_twisted.p2p.handshake}: the handshake machine on its own, with
recorded effects and no transport.
"""

from __future__ import annotations

from collections.abc import Callable

from automat import NoTransition
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.network.payloads import (
    InventoryType,
    InvPayload,
    PingPayload,
    VersionPayload,
)
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.handshake import Handshake, HandshakeEffects, new_handshake

VERSION = VersionPayload(timestamp=1_500_000_000, port=10333, nonce=7, user_agent="/peer/",
                         start_height=42)
INV = InvPayload(InventoryType.TX, ())
PING = PingPayload(5, 1_500_000_000, 99)

Event = tuple[object, ...]


class Recorder:
    """
    Effects that append C{(name, args...)} tuples to one list.

    @ivar refusal: what C{check_version} answers.
    @ivar on_drop: called after recording a drop or a fault (to imitate the
        protocol's re-entrant close).
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.refusal: str | None = None
        self.on_drop: Callable[[], None] | None = None

    def effects(self) -> HandshakeEffects:
        return HandshakeEffects(check_version=self.check_version, send_verack=self.send_verack,
                                complete=self.complete, drop=self.drop,
                                fault=self.fault)

    def check_version(self, version: VersionPayload) -> str | None:
        self.events.append(("check_version", version))
        return self.refusal

    def send_verack(self) -> None:
        self.events.append(("send_verack",))

    def complete(self) -> None:
        self.events.append(("complete",))


    def drop(self, reason: str) -> None:
        self.events.append(("drop", reason))
        if self.on_drop is not None:
            self.on_drop()

    def fault(self, fault: Fault, detail: str) -> None:
        self.events.append(("fault", fault, detail))
        if self.on_drop is not None:
            self.on_drop()

    def take(self) -> list[Event]:
        events, self.events = self.events, []
        return events


#: Ways to feed each input, by name.
INPUTS: dict[str, Callable[[Handshake], None]] = {
    "version": lambda machine: machine.version_received(VERSION),
    "verack": lambda machine: machine.verack_received(),
    "inv": lambda machine: machine.message_received("inv", INV),
    "ping": lambda machine: machine.message_received("ping", PING),
    "unknown": lambda machine: machine.message_received("alert", None),
    "timed_out": lambda machine: machine.timed_out(),
    "closed": lambda machine: machine.closed(),
}

#: The inputs that bring a fresh machine to each state.
PREFIXES: dict[str, tuple[str, ...]] = {
    "AwaitingVersion": (),
    "AwaitingVerack": ("version",),
    "Established": ("version", "verack"),
}


class HandshakeTests(SynchronousTestCase):
    """
    The legal path, and every illegal input in every state.
    """

    def setUp(self) -> None:
        self.recorder = Recorder()
        self.machine = new_handshake(self.recorder.effects())

    def feed(self, *names: str) -> list[Event]:
        """
        Feed the named inputs and return (and forget) the effects they had.
        """
        for name in names:
            INPUTS[name](self.machine)
        return self.recorder.take()

    def in_state(self, state: str) -> None:
        self.feed(*PREFIXES[state])

    def assert_absorbs_everything(self) -> None:
        """
        The machine is closed: no input has any effect any more.
        """
        for name in INPUTS:
            self.assertEqual(self.feed(name), [], name)

    def test_version_is_checked_then_acknowledged(self) -> None:
        """
        The peer's version is handed to C{check_version}, then acknowledged with verack.
        """
        self.assertEqual(self.feed("version"),
                         [("check_version", VERSION), ("send_verack",)])

    def test_refused_version_is_not_acknowledged(self) -> None:
        """
        When C{check_version} gives a reason, the peer is dropped (no fault of its
        own: a duplicate, a full node) and gets no verack.
        """
        self.recorder.refusal = "connected to self"
        self.assertEqual(self.feed("version"),
                         [("check_version", VERSION), ("drop", "connected to self")])

    def test_verack_completes_the_handshake(self) -> None:
        """
        verack after version completes the handshake, once.
        """
        self.in_state("AwaitingVerack")
        self.assertEqual(self.feed("verack"), [("complete",)])

    def test_established_hears_only_the_end(self) -> None:
        """
        Once established the machine's work is done: the connection routes messages
        past it (see tests.unit.test_p2p_protocol), and it is only told of the close. No
        message input is declared there, so none can be fed by mistake.
        """
        for name in ("version", "verack", "inv", "timed_out"):
            self.setUp()
            self.in_state("Established")
            self.assertRaises(NoTransition, INPUTS[name], self.machine)
        self.setUp()
        self.in_state("Established")
        self.assertEqual(self.feed("closed"), [])
        self.assert_absorbs_everything()

    def test_verack_before_version(self) -> None:
        """
        verack as the first message is a handshake-order fault, and closes the machine.
        """
        self.assertEqual(self.feed("verack"),
                         [("fault", Fault.HANDSHAKE_ORDER, "verack before version")])
        self.assert_absorbs_everything()

    def test_message_before_version(self) -> None:
        """
        Any other message (inv, ping, an unknown command) before version is a
        handshake-order fault.
        """
        for name, command in (("inv", "inv"), ("ping", "ping"), ("unknown", "alert")):
            self.setUp()
            self.assertEqual(self.feed(name),
                             [("fault", Fault.HANDSHAKE_ORDER, f"{command} before version")])
            self.assert_absorbs_everything()

    def test_version_twice(self) -> None:
        """
        A second version while waiting for verack is a handshake-again fault.
        """
        self.in_state("AwaitingVerack")
        self.assertEqual(self.feed("version"),
                         [("fault", Fault.HANDSHAKE_AGAIN, "version received twice")])
        self.assert_absorbs_everything()

    def test_message_before_verack(self) -> None:
        """
        Any message other than verack after version is a handshake-order fault.
        """
        for name, command in (("inv", "inv"), ("ping", "ping"), ("unknown", "alert")):
            self.setUp()
            self.in_state("AwaitingVerack")
            self.assertEqual(self.feed(name),
                             [("fault", Fault.HANDSHAKE_ORDER, f"{command} before verack")])
            self.assert_absorbs_everything()

    def test_timeout_during_handshake(self) -> None:
        """
        The handshake timer drops the peer, not as a fault (a slow link is not
        one), in either waiting state.
        """
        for state in ("AwaitingVersion", "AwaitingVerack"):
            self.setUp()
            self.in_state(state)
            self.assertEqual(self.feed("timed_out"), [("drop", "handshake timed out")])
            self.assert_absorbs_everything()

    def test_closed_in_every_state(self) -> None:
        """
        Closing has no effect of its own in any state, and nothing is handled after it.
        """
        for state in PREFIXES:
            self.setUp()
            self.in_state(state)
            self.assertEqual(self.feed("closed"), [], state)
            self.assert_absorbs_everything()

    def test_reentrant_close(self) -> None:
        """
        A drop that closes the machine from inside the transition (as the protocol
        does) leaves it closed: a refused version is never followed by a handshake.
        """
        self.recorder.refusal = "duplicate"
        self.recorder.on_drop = self.machine.closed
        self.assertEqual(self.feed("version"),
                         [("check_version", VERSION), ("drop", "duplicate")])
        self.assert_absorbs_everything()

    def test_reentrant_close_on_fault(self) -> None:
        """
        A fault that closes the machine from inside the transition leaves it closed:
        the verack that follows a second version completes nothing.
        """
        self.in_state("AwaitingVerack")
        self.recorder.on_drop = self.machine.closed
        self.assertEqual(self.feed("version"),
                         [("fault", Fault.HANDSHAKE_AGAIN, "version received twice")])
        self.assert_absorbs_everything()

    def test_every_input_has_a_transition_in_every_state(self) -> None:
        """
        While the handshake runs, and once closed, the machine is total: no input
        raises (illegal ones are declared transitions, not C{NoTransition}).
        """
        for state in ("AwaitingVersion", "AwaitingVerack", "Closed"):
            for name in INPUTS:
                self.setUp()
                self.feed(*PREFIXES.get(state, ("closed",)))
                self.feed(name)

    def test_effects_are_not_shared_between_machines(self) -> None:
        """
        Each connection gets its own machine: one peer's progress is not another's.
        """
        other = Recorder()
        second = new_handshake(other.effects())
        self.in_state("AwaitingVerack")
        second.verack_received()
        self.assertEqual(other.take(),
                         [("fault", Fault.HANDSHAKE_ORDER, "verack before version")])
        self.assertEqual(self.feed("verack"), [("complete",)])
