"""
Tests for L{neo_twisted.p2p.admission}: the L{Admission} decisions alone, on plain
records and times; then as L{neo_twisted.p2p.connections.ConnectionService} applies
them to inbound connections (limits, eviction) and to what a fault costs an IP, with
fake peers on a L{MemoryReactorClock}.
"""

from __future__ import annotations

from typing import Any

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.p2p.admission import Admission, Verdict
from neo_twisted.p2p.connections import ConnectionService
from neo_twisted.p2p.controller import PeerRecord
from neo_twisted.p2p.discipline import BAN_DURATION, DISCOURAGE_DURATION, Discipline
from neo_twisted.p2p.faults import ESCALATE_WITHIN, Fault, Response
from neo_twisted.p2p.interfaces import Endpoint, IPeer
from tests.support.p2p_connection_helpers import FakePeer, ServiceCase, many


def records(*connections: PeerRecord) -> dict[IPeer, PeerRecord]:
    """
    The service's records of C{connections}, each with a peer of its own.
    """
    return {FakePeer(c.host, inbound=c.inbound): c for c in connections}


def inbound(host: str, since: float = 0.0, **fields: Any) -> PeerRecord:
    return PeerRecord(inbound=True, host=host, since=since, **fields)


def outbound(host: str, **fields: Any) -> PeerRecord:
    return PeerRecord(inbound=False, host=host, dialled=Endpoint(host, 20333), **fields)


class AdmissionTests(SynchronousTestCase):
    """
    L{Admission} alone: 10 peers, 4 outbound (so 6 inbound), 2 per IP.
    """

    def setUp(self) -> None:
        self.discipline = Discipline()
        self.admission = Admission(self.discipline, min_peers=4, max_peers=10,
                                   max_per_address=2)

    def test_limits_checked(self) -> None:
        """
        Contradicting limits are refused when the admission is made.
        """
        for limits in ({"min_peers": 0}, {"min_peers": 5, "max_peers": 4},
                       {"max_per_address": 0}):
            with self.assertRaises(ValueError):
                Admission(self.discipline, **limits)

    def test_max_inbound(self) -> None:
        """
        Inbound connections may take the slots outbound ones do not keep, and at
        least one.
        """
        self.assertEqual(self.admission.max_inbound, 6)
        self.assertEqual(Admission(self.discipline, min_peers=8, max_peers=8).max_inbound, 1)

    def test_refusal(self) -> None:
        """
        A banned host is refused; so is one more connection with a host at its
        per-address limit, and a non-inbound one once every slot is taken.
        """
        others = [outbound(f"10.1.0.{n}") for n in range(9)] + [inbound("10.2.0.1")]
        self.discipline.ban("10.3.0.1", 100)
        self.assertEqual(self.admission.refusal("10.3.0.1", [], 0, inbound=True),
                         "10.3.0.1 is banned")
        self.assertIsNone(self.admission.refusal("10.3.0.1", [], 100, inbound=True))
        self.assertEqual(self.admission.refusal("10.4.0.1", others, 0, inbound=False),
                         "too many connections (10)")
        self.assertIsNone(self.admission.refusal("10.4.0.1", others, 0, inbound=True))
        pair = [inbound("10.2.0.1"), inbound("10.2.0.1")]
        self.assertEqual(self.admission.refusal("10.2.0.1", pair, 0, inbound=True),
                         "too many connections with 10.2.0.1")
        self.assertIsNone(self.admission.refusal("10.2.0.1", pair[:1], 0, inbound=False))

    def test_inbound_let_in_while_slots_free(self) -> None:
        """
        With inbound slots free a newcomer is let in and nobody is evicted.
        """
        connections = records(*[inbound(f"10.1.0.{n}") for n in range(5)],
                              *[outbound(f"10.2.0.{n}") for n in range(4)])
        self.assertEqual(self.admission.inbound("10.9.0.1", connections, 0), Verdict())

    def test_inbound_evicts_when_full(self) -> None:
        """
        With the inbound slots full a newcomer is let in and the youngest inbound
        peer (none useful, one per /16) is evicted to make room.
        """
        connections = records(*[inbound(f"10.{n}.0.1", since=n) for n in range(1, 7)])
        youngest = list(connections)[-1]
        self.assertEqual(self.admission.inbound("10.9.0.1", connections, 10),
                         Verdict(evict=youngest))

    def test_evicted_slot_free(self) -> None:
        """
        An evicted connection's slot is the newcomer's already: the next one is let
        in without another eviction; its host is still counted per address.
        """
        connections = records(*[inbound(f"10.{n}.0.1", since=n) for n in range(1, 6)],
                              inbound("10.6.0.1", since=6, evicted=True))
        self.assertEqual(self.admission.inbound("10.9.0.1", connections, 10), Verdict())
        connections.update(records(inbound("10.6.0.1")))
        self.assertEqual(self.admission.inbound("10.6.0.1", connections, 10),
                         Verdict("too many connections with 10.6.0.1"))

    def test_full_by_total(self) -> None:
        """
        Inbound slots are full when every connection slot is, though fewer than
        C{max_inbound} are inbound.
        """
        admission = Admission(self.discipline, min_peers=2, max_peers=4)
        connections = records(inbound("10.1.0.1"), inbound("10.2.0.1", since=1),
                              *[outbound(f"10.3.0.{n}") for n in range(2)])
        verdict = admission.inbound("10.9.0.1", connections, 10)
        self.assertIsNone(verdict.refusal)
        self.assertIsNotNone(verdict.evict)

    def test_discouraged_refused_when_full(self) -> None:
        """
        A discouraged host is let in while slots are free; with them full it is
        refused and evicts nobody.
        """
        self.discipline.judged("10.9.0.1", Fault.BAD_HEADER_WITNESS, 0)
        free = records(inbound("10.1.0.1"))
        self.assertEqual(self.admission.inbound("10.9.0.1", free, 1), Verdict())
        full = records(*[inbound(f"10.{n}.0.1", since=n) for n in range(1, 7)])
        self.assertEqual(self.admission.inbound("10.9.0.1", full, 1), Verdict(
            "10.9.0.1 is discouraged and the inbound slots are full"))

    def test_nobody_to_evict(self) -> None:
        """
        With every inbound peer protected the newcomer is refused.
        """
        admission = Admission(Discipline(whitelist=["10.0.0.0/8"]), min_peers=4,
                              max_peers=10)
        full = records(*[inbound(f"10.{n}.0.1", since=n) for n in range(1, 7)])
        self.assertEqual(admission.inbound("192.0.2.1", full, 10),
                         Verdict("inbound slots full (6), nobody to evict"))

    def test_after_version_duplicate(self) -> None:
        """
        A second connection with the same IP and nonce is refused; the peer itself,
        an evicted connection, another nonce or another IP are no duplicate.
        """
        connections = records(inbound("10.1.0.1", nonce=5),
                              inbound("10.2.0.1", nonce=6, evicted=True))
        peer = FakePeer("10.1.0.1")
        self.assertEqual(self.admission.after_version(peer, "10.1.0.1", 5, connections, 0),
                         "already connected to node 5 at 10.1.0.1")
        [first, _] = connections
        self.assertIsNone(self.admission.after_version(first, "10.1.0.1", 5, connections, 0))
        self.assertIsNone(self.admission.after_version(peer, "10.2.0.1", 6, connections, 0))
        self.assertIsNone(self.admission.after_version(peer, "10.1.0.1", 7, connections, 0))
        self.assertIsNone(self.admission.after_version(peer, "10.3.0.1", 5, connections, 0))

    def test_after_version_limits(self) -> None:
        """
        After its version a peer is refused when banned or over the limits, counted
        without itself and without evicted connections.
        """
        connections = records(*[inbound(f"10.1.0.{n}") for n in range(9)],
                              inbound("10.2.0.1", evicted=True))
        peer = FakePeer("10.3.0.1")
        self.assertIsNone(self.admission.after_version(peer, "10.3.0.1", 1, connections, 0))
        connections[peer] = inbound("10.3.0.1")
        self.assertIsNone(self.admission.after_version(peer, "10.3.0.1", 1, connections, 0))
        self.assertEqual(
            self.admission.after_version(FakePeer("10.4.0.1"), "10.4.0.1", 1, connections, 0),
            "too many connections (10)")
        self.discipline.ban("10.3.0.1", 10)
        self.assertEqual(self.admission.after_version(peer, "10.3.0.1", 1, connections, 0),
                         "10.3.0.1 is banned")

    def test_undiallable(self) -> None:
        """
        Hosts at the per-address limit are not dialled, nor banned or discouraged
        ones until that ends.
        """
        self.discipline.ban("10.3.0.1", 100)
        self.discipline.judged("10.4.0.1", Fault.BAD_HEADER_WITNESS, 0)
        per_host = {"10.1.0.1": 2, "10.2.0.1": 1}
        self.assertEqual(self.admission.undiallable(per_host, 50),
                         {"10.1.0.1", "10.3.0.1", "10.4.0.1"})
        self.assertEqual(self.admission.undiallable(per_host, DISCOURAGE_DURATION),
                         {"10.1.0.1"})

    def test_verdict_frozen(self) -> None:
        """
        A verdict is a value: it cannot be changed once given.
        """
        with self.assertRaises(attrs.exceptions.FrozenInstanceError):
            Verdict().refusal = "late"  # type: ignore[misc]


def commit(peer: FakePeer, fault: Fault) -> None:
    """
    C{peer} commits C{fault} (one that closes the connection), and the loss is
    reported as the protocol reports it.
    """
    peer.fault(fault, f"committed {fault.label}")
    peer.connectionLost()


class InboundCase(ServiceCase):
    """
    A listening service and inbound connections to it.
    """

    def listening(self, **options: Any) -> ConnectionService:
        """
        A listening service with 6 inbound slots (10 peers, 4 outbound).
        """
        return self.make(factory_in=self.inbound, listen_port=0, min_peers=4, max_peers=10,
                         **options)

    def fill(self, count: int, base: str = "10.9") -> list[FakePeer]:
        """
        C{count} inbound connections from IPs of C{base}/16, a second apart.
        """
        peers = []
        for i in range(count):
            self.reactor.advance(1)
            peers.append(self.accepted(f"{base}.0.{i + 1}"))
        return peers


class FaultResponseTests(InboundCase):
    """
    What a fault costs the IP of the peer that committed it, seen at accept time, at
    the dial tick and at eviction: the fault table's response, never more.
    """

    def test_disconnecting_fault_costs_nothing_more(self) -> None:
        """
        After a fault whose response is to disconnect, the same IP is accepted
        again at once, its version too, and its listener stays in the book.
        """
        service = self.listening()
        faults = [f for f in Fault if f.response is Response.DISCONNECT]
        self.assertIn(Fault.WRONG_MAGIC, faults)
        for n, fault in enumerate(faults, 1):
            host = f"10.7.0.{n}"
            peer = self.accepted(host)
            self.assertIsNone(peer.handshake(service, n, port=10333))
            commit(peer, fault)
            self.assertEqual(peer.dropped, (f"committed {fault.label}", fault))
            again = self.accepted(host)
            self.assertIsNone(again.handshake(service, 100 + n), fault)
            self.assertIn(Endpoint(host, 10333), service.book.snapshot())
            again.disconnect("done")
            again.connectionLost()
        now = self.reactor.seconds()
        self.assertEqual(service.discipline.shunned(now), set())
        self.assertEqual(service.discipline.responses, {"disconnect": len(faults)})

    def test_discouraged_accepted_only_while_slots_free(self) -> None:
        """
        A discouraged IP is accepted while inbound slots are free; when they are
        full it is refused, and evicts nobody.
        """
        service = self.listening()
        commit(self.accepted("10.7.0.1"), Fault.BAD_HEADER_WITNESS)
        self.assertTrue(service.discipline.is_discouraged("10.7.0.1", self.reactor.seconds()))
        first = self.accepted("10.7.0.1")
        others = self.fill(5)
        self.assertIsNone(self.accept("10.7.0.1"))
        self.assertEqual([p.dropped for p in [first, *others]], [None] * 6)
        self.assertEqual(service.inbound_count, 6)

    def test_discouraged_not_dialled(self) -> None:
        """
        The dial tick skips book candidates of a discouraged IP until the
        discouragement ends.
        """
        service = self.make(min_peers=3, start=False)
        commit(self.established(service, "10.7.0.1", port=0), Fault.BAD_HEADER_WITNESS)
        service.book.add([Endpoint("10.7.0.1", 20333), Endpoint("10.7.0.1", 20334),
                          Endpoint("10.7.0.2", 20333)], 0)
        service.startService()
        self.assertEqual(self.dials(), [Endpoint("10.7.0.2", 20333)])
        self.reactor.advance(DISCOURAGE_DURATION - 5)
        self.assertEqual(len(self.dials()), 1)
        self.reactor.advance(5)
        self.assertEqual(sorted(self.dials()[1:]),
                         [Endpoint("10.7.0.1", 20333), Endpoint("10.7.0.1", 20334)])

    def test_discouraged_evicted_first(self) -> None:
        """
        When a newcomer needs a slot, a discouraged peer gives way first, though it
        is the longest connected and recently useful.
        """
        service = self.listening()
        commit(self.accepted("10.7.0.1"), Fault.BAD_HEADER_WITNESS)
        discouraged = self.accepted("10.7.0.1")
        others = self.fill(5)
        service.controller.note_useful(discouraged)
        newcomer = self.accepted("10.8.0.1")
        self.assertEqual(discouraged.dropped, ("evicted for a new inbound connection", None))
        self.assertEqual([p.dropped for p in others], [None] * 5)
        self.assertIsNone(newcomer.handshake(service, 9))
        self.assertEqual(service.inbound_count, 6)

    def test_escalating_fault_bans_on_the_third_within_a_day(self) -> None:
        """
        Two forged headers from one IP within 24 h discourage it; the third bans it:
        refused at accept and at version, and not dialled, after its discouragement
        is over too, until the ban ends.
        """
        service = self.listening()
        for _ in range(2):
            commit(self.accepted("10.7.0.1"), Fault.BAD_HEADER_WITNESS)
            self.reactor.advance(3600)
        self.assertEqual(service.discipline.bans(self.reactor.seconds()), {})
        self.assertIsInstance(self.accept("10.7.0.1"), FakePeer)
        commit(self.inbound.built[-1], Fault.BAD_HEADER_WITNESS)
        self.assertEqual(service.discipline.responses, {"discourage": 2, "ban": 1})
        banned_at = self.reactor.seconds()
        service.book.add([Endpoint("10.7.0.1", 20333)], banned_at)
        self.reactor.advance(DISCOURAGE_DURATION)
        self.assertFalse(service.discipline.is_discouraged("10.7.0.1", self.reactor.seconds()))
        self.assertIsNone(self.accept("10.7.0.1"))
        self.assertIn("banned", FakePeer("10.7.0.1").handshake(service, 2) or "")
        self.assertEqual(self.dials(), [])
        self.reactor.advance(banned_at + BAN_DURATION - self.reactor.seconds())
        self.assertIsInstance(self.accept("10.7.0.1"), FakePeer)
        self.assertEqual(self.dials(), [Endpoint("10.7.0.1", 20333)])

    def test_escalating_faults_spread_over_more_than_a_day(self) -> None:
        """
        Three forged headers spread over more than 24 h do not ban (each discourages).
        """
        service = self.listening()
        for at in (0.0, ESCALATE_WITHIN / 2, ESCALATE_WITHIN + 1):
            self.reactor.advance(at - self.reactor.seconds())
            commit(self.accepted("10.7.0.1"), Fault.BAD_HEADER_WITNESS)
        self.assertFalse(service.discipline.is_banned("10.7.0.1", self.reactor.seconds()))
        self.assertIsInstance(self.accept("10.7.0.1"), FakePeer)

    def test_loopback_never_discouraged_or_banned(self) -> None:
        """
        By default a loopback host is only disconnected for any fault, however often;
        the operator's ban applies to it all the same, open connections included.
        """
        service = self.listening()
        for _ in range(3):
            commit(self.accepted("127.0.0.1"), Fault.BAD_HEADER_WITNESS)
        self.assertEqual(service.discipline.shunned(self.reactor.seconds()), set())
        self.assertEqual(service.discipline.responses, {"disconnect": 3})
        peer = self.accepted("127.0.0.1")
        service.ban("127.0.0.1")
        self.assertEqual(peer.dropped, ("127.0.0.1 banned by the operator", None))
        self.assertIsNone(self.accept("127.0.0.1"))

    def test_loopback_unprotected_when_asked(self) -> None:
        """
        With loopback protection off, a 127.x host is discouraged and banned like any.
        """
        service = self.listening(discipline=Discipline(protect_loopback=False))
        commit(self.accepted("127.0.0.2"), Fault.BAD_HEADER_WITNESS)
        self.assertTrue(service.discipline.is_discouraged("127.0.0.2", self.reactor.seconds()))
        for _ in range(2):
            commit(self.accepted("127.0.0.2"), Fault.BAD_HEADER_WITNESS)
        self.assertIsNone(self.accept("127.0.0.2"))


class InboundLimitTests(InboundCase):
    """
    Inbound connections take at most C{max_peers - min_peers} slots; a newcomer
    evicts one (L{eviction_candidate}) or is refused.
    """

    def test_inbound_limit(self) -> None:
        """
        With 10 peers and 4 outbound, the 7th inbound connection evicts one of the
        6; outbound dials go on while the inbound slots are full, up to 10 in all.
        """
        service = self.listening()
        self.assertEqual(service.max_inbound, 6)
        inbound = self.fill(6)
        service.book.add(many(8, "10.2"), self.reactor.seconds())
        self.reactor.advance(5)
        self.assertEqual(len(self.dials()), 4)
        for n in range(4):
            self.assertIsNone(self.connect(n).handshake(service, 50 + n))
        self.assertEqual((service.inbound_count, service.outbound_count), (6, 4))
        seventh = self.accepted("10.8.0.1")
        self.assertIsNone(seventh.handshake(service, 99))
        evicted = [p for p in inbound if p.dropped is not None]
        self.assertEqual([p.dropped for p in evicted],
                         [("evicted for a new inbound connection", None)])
        self.assertEqual((service.inbound_count, service.peer_count), (6, 10))

    def test_the_eclipse_of_issue_21(self) -> None:
        """
        The attack as issue 21 found it: 14 addresses dial us 3 times each, with the
        defaults (40 peers, 10 outbound). Before, they took all 40 slots and nothing
        was dialled in 1,000 s. Now they hold at most 30 (inbound), and the dial tick
        keeps 10 outbound connections to the book's honest endpoints.
        """
        service = self.make(factory_in=self.inbound, listen_port=0, min_peers=10,
                            max_peers=40, max_per_address=3)
        self.assertEqual(service.max_inbound, 30)
        for n in range(14 * 3):
            self.reactor.advance(1)
            peer = self.accept(f"10.{66 + n % 14}.0.1", 50000 + n)
            if peer is not None:
                self.assertIsNone(peer.handshake(service, 1000 + n))
        self.assertEqual(service.inbound_count, 30)
        service.book.add(many(20, "10.2"), self.reactor.seconds())
        self.reactor.advance(1000)
        dials = self.dials()
        self.assertGreaterEqual(len(dials), 10)
        for n in range(10):
            self.assertIsNone(self.connect(n).handshake(service, 5000 + n))
        self.assertEqual((service.outbound_count, service.inbound_count), (10, 30))

    def test_evicted_listener_back_in_book(self) -> None:
        """
        The listener endpoint of an evicted peer goes back into the book once its
        connection is lost, as any lost peer's does.
        """
        service = self.listening()
        inbound = self.fill(6)
        for n, peer in enumerate(inbound):
            self.assertIsNone(peer.handshake(service, n, port=10333))
        self.accepted("10.8.0.1")
        [evicted] = [p for p in inbound if p.dropped is not None]
        evicted.connectionLost()
        self.assertEqual(service.book.snapshot(), [Endpoint(evicted.remote.host, 10333)])

    def test_refused_when_nobody_can_be_evicted(self) -> None:
        """
        With every inbound peer protected (whitelisted), the 7th is refused.
        """
        service = self.listening(discipline=Discipline(whitelist=["10.9.0.0/16"]))
        inbound = self.fill(6)
        self.assertIsNone(self.accept("10.8.0.1"))
        self.assertEqual([p.dropped for p in inbound], [None] * 6)
        self.assertEqual(service.inbound_count, 6)

    #: Six hosts, one per /16.
    DISTINCT = ["10.1.0.1", "10.2.0.1", "10.3.0.1", "10.4.0.1", "10.5.0.1", "10.6.0.1"]

    def evicted_for_newcomer(self, hosts: list[str], useful: str | None = None) -> str:
        """
        Fill the slots from C{hosts} (oldest first), mark C{useful}'s peer useful,
        let a newcomer in: the host of the peer evicted.
        """
        service = self.listening()
        peers = {}
        for host in hosts:
            self.reactor.advance(1)
            peers[host] = self.accepted(host)
        if useful is not None:
            service.controller.note_useful(peers[useful])
        self.accepted("10.99.0.1")
        [evicted] = [host for host, peer in peers.items() if peer.dropped is not None]
        self.assertEqual(peers[evicted].dropped, ("evicted for a new inbound connection", None))
        return evicted

    def test_evicts_from_the_most_crowded_group(self) -> None:
        """
        Of the younger half, the youngest of the most crowded /16 goes, not the
        youngest of all.
        """
        hosts = ["10.1.0.1", "10.2.0.1", "10.3.0.1", "10.4.0.1", "10.4.0.2", "10.5.0.1"]
        self.assertEqual(self.evicted_for_newcomer(hosts), "10.4.0.2")

    def test_keeps_the_longest_connected_half(self) -> None:
        """
        The longest connected half stays, even when it is the most crowded /16.
        """
        hosts = ["10.4.0.1", "10.4.0.2", "10.4.0.3", "10.5.0.1", "10.6.0.1", "10.7.0.1"]
        self.assertEqual(self.evicted_for_newcomer(hosts), "10.7.0.1")

    def test_evicts_the_youngest(self) -> None:
        """
        With one peer per /16 and none useful, the youngest goes.
        """
        self.assertEqual(self.evicted_for_newcomer(self.DISTINCT), "10.6.0.1")

    def test_keeps_a_recently_useful_peer(self) -> None:
        """
        A peer that recently sent us something new stays, though it is the youngest.
        """
        self.assertEqual(self.evicted_for_newcomer(self.DISTINCT, useful="10.6.0.1"),
                         "10.5.0.1")
