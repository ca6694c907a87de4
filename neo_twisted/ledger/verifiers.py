# -*- test-case-name: tests.unit.test_verifier_service -*-
"""
The node's verifier processes as one service, shared by the ledger and the memory pool.

C{cryptography} holds the GIL while it checks a signature, so a node checks
witnesses in worker processes, one per core (L{ProcessMapper}). Headers, blocks
and transactions all need them, and two sets of processes would fight over the
same cores; so the node owns one set and hands it to both users.

The users hold the service while they run: the ledger finishes its last write
before it lets go, and that write may still need the processes. Stopping the
service therefore waits for every holder to let go before the processes stop,
whatever order a L{MultiService} stops its children in.
"""

from __future__ import annotations

import os

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

from neo_twisted.holders import Holders
from neo_twisted.ledger.verify import ProcessMapper

__all__ = ["VerifierService"]


class VerifierService(service.Service):
    """
    Owns the verifier processes (started on first use) for all who check witnesses.

    @ivar processes: the processes' mapper; the processes themselves start when the
        first jobs come, and stop when the service has stopped and every holder
        has let go. It may be used again after that (it restarts them).
    """

    _log = Logger()
    name = "verifiers"

    def __init__(self, workers: int | None = None) -> None:
        """
        @param workers: processes (default: one per core).
        """
        self.processes = ProcessMapper(workers or os.cpu_count() or 1)
        self._holders = Holders("the verifier processes")

    @property
    def holders(self) -> int:
        """
        How many users hold the processes now.
        """
        return self._holders.count

    def hold(self) -> ProcessMapper:
        """
        Use the processes until L{release}: the service does not stop them before.
        """
        self._holders.hold()
        return self.processes

    def release(self) -> None:
        """
        One holder is done with the processes.

        @raise RuntimeError: nobody holds them.
        """
        self._holders.release()

    def stopService(self) -> defer.Deferred[None]:
        """
        Stop the processes once every holder has let go (at once if none holds them).
        """
        super().stopService()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped
        return self._holders.all_released().addCallback(lambda _: self._shutdown())

    def _shutdown(self) -> None:
        self.processes.shutdown()
        self._log.debug("verifier processes stopped")
