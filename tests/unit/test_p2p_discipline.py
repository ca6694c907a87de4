"""
L{Discipline}: what faults cost an IP, who is protected, what the operator does.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.p2p.discipline import BAN_DURATION, DISCOURAGE_DURATION, Discipline
from neo_twisted.p2p.faults import ESCALATE_AFTER, ESCALATE_WITHIN, Fault, Response

HOST = "203.0.113.9"


class JudgedTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.discipline = Discipline()

    def test_disconnect_leaves_no_mark(self) -> None:
        self.assertIs(self.discipline.judged(HOST, Fault.MALFORMED, 0), Response.DISCONNECT)
        self.assertFalse(self.discipline.is_banned(HOST, 0))
        self.assertFalse(self.discipline.is_discouraged(HOST, 0))
        self.assertEqual(self.discipline.faults["malformed"], 1)
        self.assertEqual(self.discipline.responses["disconnect"], 1)

    def test_discouragement_expires(self) -> None:
        self.assertIs(self.discipline.judged(HOST, Fault.BAD_HEADER_WITNESS, 0),
                      Response.DISCOURAGE)
        self.assertTrue(self.discipline.is_discouraged(HOST, DISCOURAGE_DURATION - 1))
        self.assertEqual(self.discipline.shunned(1), {HOST})
        self.assertFalse(self.discipline.is_discouraged(HOST, DISCOURAGE_DURATION))
        self.assertEqual(self.discipline.shunned(DISCOURAGE_DURATION), set())

    def test_repeated_forgery_bans(self) -> None:
        """
        The third escalating fault within a day bans; spread out, they do not.
        """
        for n in range(ESCALATE_AFTER - 1):
            self.assertIs(self.discipline.judged(HOST, Fault.BAD_HEADER_WITNESS, n),
                          Response.DISCOURAGE)
        self.assertIs(self.discipline.judged(HOST, Fault.BAD_BLOCK_WITNESS, 10), Response.BAN)
        self.assertTrue(self.discipline.is_banned(HOST, BAN_DURATION))
        self.assertFalse(self.discipline.is_banned(HOST, 10 + BAN_DURATION))
        other = Discipline()
        for n in range(ESCALATE_AFTER):
            response = other.judged(HOST, Fault.BAD_HEADER_WITNESS, n * ESCALATE_WITHIN)
            self.assertIs(response, Response.DISCOURAGE)

    def test_escalation_counts_only_escalating_faults(self) -> None:
        for n in range(10):
            self.discipline.judged(HOST, Fault.MALFORMED, n)
        self.assertIs(self.discipline.judged(HOST, Fault.BAD_HEADER_WITNESS, 11),
                      Response.DISCOURAGE)

    def test_loopback_and_whitelist_protected(self) -> None:
        discipline = Discipline(whitelist=["10.1.0.0/16", "2001:db8::1"])
        for host in ("127.0.0.2", "::1", "10.1.2.3", "2001:db8::1"):
            for _ in range(ESCALATE_AFTER):
                self.assertIs(discipline.judged(host, Fault.BAD_HEADER_WITNESS, 0),
                              Response.DISCONNECT, host)
            self.assertEqual(discipline.shunned(0), set(), host)
        self.assertIs(discipline.judged("10.2.0.1", Fault.BAD_HEADER_WITNESS, 0),
                      Response.DISCOURAGE)
        exposed = Discipline(protect_loopback=False)
        self.assertIs(exposed.judged("127.0.0.2", Fault.BAD_HEADER_WITNESS, 0),
                      Response.DISCOURAGE)

    def test_bad_whitelist_entry(self) -> None:
        self.assertRaises(ValueError, Discipline, whitelist=["not an address"])

    def test_operator_ban_and_unban(self) -> None:
        self.discipline.ban("127.0.0.1", float("inf"))  # the operator may ban anyone
        self.assertTrue(self.discipline.is_banned("127.0.0.1", 1e12))
        self.assertEqual(self.discipline.bans(0), {"127.0.0.1": float("inf")})
        self.discipline.ban("10.0.0.1", 100)
        self.discipline.ban("10.0.0.1", 50)  # a shorter second ban cuts nothing short
        self.assertTrue(self.discipline.is_banned("10.0.0.1", 75))
        self.assertTrue(self.discipline.unban("127.0.0.1"))
        self.assertFalse(self.discipline.unban("127.0.0.1"))
        self.assertFalse(self.discipline.is_banned("127.0.0.1", 0))
