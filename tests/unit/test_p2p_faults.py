"""
The fault table (L{neo_twisted.p2p.faults}): one response per fault, none harsher
than the table allows, and the README's copy the same as the code's.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.p2p.faults import Fault, Response, fault_table
from tests.support.ledger_samples import ROOT


class FaultTableTests(SynchronousTestCase):
    def test_labels_unique_and_metric_safe(self) -> None:
        labels = [fault.label for fault in Fault]
        self.assertEqual(len(labels), len(set(labels)))
        for label in labels:
            self.assertRegex(label, r"^[a-z][a-z-]*$")

    def test_no_fault_bans_at_once(self) -> None:
        """
        A ban comes only from the operator or from repeating an escalating fault.
        """
        for fault in Fault:
            self.assertLess(fault.response, Response.BAN, fault)
            if fault.escalates:
                self.assertEqual(fault.response, Response.DISCOURAGE, fault)

    def test_what_honest_versions_may_send_is_never_punished(self) -> None:
        """
        Faults an honest peer of some version (or on a fork) commits, or that depend on
        what each node has seen, at most close the connection.
        """
        for fault in (Fault.UNKNOWN_COMMAND, Fault.HEADERS_UNLINKED, Fault.INVALID_TX,
                      Fault.UNVERIFIED_CONSENSUS):
            self.assertIs(fault.response, Response.IGNORE, fault)
        for fault in (Fault.WRONG_MAGIC, Fault.MALFORMED, Fault.INVALID_BLOCK,
                      Fault.FOREIGN_BLOCK, Fault.HEADERS_REFUSED):
            self.assertIs(fault.response, Response.DISCONNECT, fault)

    def test_forgery_discourages_and_escalates(self) -> None:
        for fault in (Fault.BAD_HEADER_WITNESS, Fault.BAD_BLOCK_WITNESS):
            self.assertIs(fault.response, Response.DISCOURAGE)
            self.assertTrue(fault.escalates)

    def test_readme_has_the_table(self) -> None:
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        self.assertIn(fault_table(), readme)
