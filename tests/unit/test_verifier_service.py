"""
Tests for L{neo_twisted.ledger.verifiers}: one set of verifier processes, held by the
ledger and the memory pool, stopped only when both have let go.
"""

from __future__ import annotations

from pathlib import Path

from twisted.application.service import MultiService
from twisted.trial import unittest

from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.ledger.store import StoreError
from neo_twisted.ledger.verifiers import VerifierService
from neo_twisted.ledger.verify import ProcessMapper
from neo_twisted.mempool.service import MempoolService
from neo_twisted.node.service import NodeConfig, make_node_service
from neo_twisted.offreactor import Synchronous

PRIVNET = load_protocol(Path(__file__).resolve().parents[2] / "protocol.json")


class RecordingService(VerifierService):
    """
    A L{VerifierService} whose processes never start; it records when they stop.
    """

    def __init__(self) -> None:
        super().__init__(1)
        self.shutdowns = 0
        self.ledger: LedgerService | None = None
        #: Whether the ledger's store was still open when the processes stopped.
        self.open_at_shutdown: list[bool] = []

    def _shutdown(self) -> None:
        self.shutdowns += 1
        if self.ledger is not None:
            self.open_at_shutdown.append(self.ledger.ledger is not None)
        super()._shutdown()


class HoldingTests(unittest.TestCase):
    def test_stop_without_holders(self) -> None:
        """
        Nobody holding the processes, stopping stops them at once.
        """
        verifiers = RecordingService()
        verifiers.startService()
        d = verifiers.stopService()
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(verifiers.shutdowns, 1)

    def test_stop_waits_for_every_holder(self) -> None:
        """
        The processes stop when the last holder lets go, not before.
        """
        verifiers = RecordingService()
        verifiers.startService()
        self.assertIs(verifiers.hold(), verifiers.processes)
        verifiers.hold()
        d = verifiers.stopService()
        self.assertNoResult(d)
        verifiers.release()
        self.assertNoResult(d)
        self.assertEqual(verifiers.shutdowns, 0)
        verifiers.release()
        self.successResultOf(d)
        self.assertEqual((verifiers.shutdowns, verifiers.holders), (1, 0))

    def test_release_unheld(self) -> None:
        """
        Letting go of processes nobody holds is a bug in the caller, said at once.
        """
        verifiers = RecordingService()
        self.assertRaises(RuntimeError, verifiers.release)
        verifiers.hold()
        verifiers.release()
        self.assertRaises(RuntimeError, verifiers.release)


class SharingTests(unittest.TestCase):
    def test_ledger_and_pool_share_one_set(self) -> None:
        """
        The ledger checks with the service's processes and the pool hands its
        signatures to the same ones; each holds them while it runs.
        """
        verifiers = RecordingService()
        ledger = LedgerService(self.mktemp(), PRIVNET, off_reactor=Synchronous,
                               verifiers=verifiers)
        mempool = MempoolService(ledger, PRIVNET, off_reactor=Synchronous,
                                 verifiers=verifiers)
        top = MultiService()
        for child in (verifiers, ledger, mempool):
            child.setServiceParent(top)
        top.startService()
        self.assertEqual(verifiers.holders, 2)
        self.assertIs(mempool.signature_processes, verifiers.processes)
        assert ledger.ledger is not None
        self.assertIs(ledger.ledger._mapper, verifiers.processes)
        self.successResultOf(top.stopService())
        self.assertEqual((verifiers.holders, verifiers.shutdowns), (0, 1))

    def test_processes_outlive_the_last_write(self) -> None:
        """
        However a L{MultiService} orders the stops, the processes stop after the
        ledger closed its store (its last write may still need them).
        """
        for order in ((0, 1), (1, 0)):
            verifiers = RecordingService()
            ledger = LedgerService(self.mktemp(), PRIVNET, off_reactor=Synchronous,
                                   verifiers=verifiers)
            verifiers.ledger = ledger
            top = MultiService()
            for i in order:
                (verifiers, ledger)[i].setServiceParent(top)
            top.startService()
            self.successResultOf(top.stopService())
            self.assertEqual(verifiers.open_at_shutdown, [False], order)

    def test_ledger_that_cannot_open_lets_go(self) -> None:
        """
        A store that cannot be opened does not keep the processes held.
        """
        datadir = Path(self.mktemp())
        datadir.write_bytes(b"not a directory")
        verifiers = RecordingService()
        ledger = LedgerService(datadir, PRIVNET, off_reactor=Synchronous,
                               verifiers=verifiers)
        self.assertRaises(StoreError, ledger.startService)
        self.assertEqual(verifiers.holders, 0)


class NodeWiringTests(unittest.TestCase):
    def test_node_owns_one_set(self) -> None:
        """
        A node built on its data directory has one verifier service, started before
        the ledger and given to both the ledger and the memory pool.
        """
        config = NodeConfig(datadir=Path(self.mktemp()), port=0, seeds=(),
                            peers_file=False)
        top = make_node_service(PRIVNET, config)
        assert top.verifiers is not None
        self.assertIsInstance(top.verifiers.processes, ProcessMapper)
        names = [child.name for child in top]
        self.assertLess(names.index("verifiers"), names.index("ledger"))
        mempool = top.getServiceNamed("mempool")
        ledger = top.getServiceNamed("ledger")
        self.assertIs(mempool._verifiers, top.verifiers)
        self.assertIs(ledger._verifiers, top.verifiers)
