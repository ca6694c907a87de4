"""
Stand-ins for the P2P layer's collaborators, for tests of the node's policy objects.
"""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from neo_twisted.core.serializable import Serializable
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.verify import Mapper
from neo_twisted.network.payloads import VersionPayload
from neo_twisted.offreactor import Synchronous
from neo_twisted.p2p.faults import Fault, Response
from neo_twisted.p2p.interfaces import Endpoint, IPeer
from tests.support.ledger_samples import PRIVNET, accept_all


@implementer(IPeer)
class FakePeer:
    """
    An established peer that records what it is sent and whether it was dropped.
    """

    def __init__(self, name: str = "10.0.0.1", height: int = 0, *, inbound: bool = False,
                 port: int = 20333, nonce: int = 1) -> None:
        self.inbound = inbound
        self.remote = Endpoint(name, 40000 + nonce)
        self.version: VersionPayload | None = VersionPayload(
            timestamp=1_500_000_000, port=port, nonce=nonce, user_agent="/fake/",
            start_height=height)
        self.listener: Endpoint | None = Endpoint(name, port)
        self.last_block_index = height
        self.established = True
        self.sent: list[tuple[str, Serializable | None]] = []
        #: Why it was dropped, and for which fault (None: for none).
        self.dropped: tuple[str, Fault | None] | None = None
        #: Every fault reported, ignored ones too.
        self.faults: list[tuple[Fault, str]] = []
        #: L{hold}s not released.
        self.holds = 0
        #: What the controller folds into its traffic totals at loss (nothing here).
        self.messages_in: dict[str, int] = {}
        self.bytes_in: dict[str, int] = {}
        self.messages_out: dict[str, int] = {}
        self.bytes_out: dict[str, int] = {}

    def send(self, command: str, payload: Serializable | None = None) -> None:
        if self.dropped is None:
            self.sent.append((command, payload))

    def hold(self) -> None:
        self.holds += 1

    def release(self) -> None:
        assert self.holds > 0, "released more than held"
        self.holds -= 1

    def disconnect(self, reason: str) -> None:
        if self.dropped is None:
            self.dropped = (reason, None)
            self.established = False

    def fault(self, fault: Fault, detail: str) -> None:
        if self.dropped is not None:
            return
        self.faults.append((fault, detail))
        if fault.response is not Response.IGNORE:
            self.dropped = (detail, fault)
            self.established = False

    def take(self, command: str | None = None) -> list[Any]:
        """
        The payloads sent so far (of one command, if given), forgetting them.
        """
        found = [p for c, p in self.sent if command is None or c == command]
        self.sent = [(c, p) for c, p in self.sent if command is not None and c != command]
        return found

    def __repr__(self) -> str:
        return f"<FakePeer {self.remote}>"


def ledger_service(case: SynchronousTestCase, mapper: Mapper = accept_all,
                   settings: ProtocolSettings = PRIVNET) -> LedgerService:
    """
    A running ledger service on a fresh privnet store that works synchronously.
    """
    service = LedgerService(case.mktemp(), settings, off_reactor=Synchronous, mapper=mapper)
    service.startService()
    case.addCleanup(service.stopService)
    return service


def opened(service: LedgerService) -> Ledger:
    """
    The ledger of a started service (None before it starts, for the type checker).
    """
    assert service.ledger is not None
    return service.ledger
