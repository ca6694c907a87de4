# -*- test-case-name: tests.unit.test_collector -*-
"""
The interpreter-wide settings a node process runs with, in one place.

They belong to the process, not to a service: C{twistd neonode} applies them for
the reactor's run (L{tune_for_run}, called by L{neo_twisted.node.tap.makeService}),
while a program or a test that starts a L{neo_twisted.node.service.NodeService}
in-process keeps its interpreter as it was. C{neonode import} sets the collector
part itself (L{neo_twisted.collector.few_collections}).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from twisted.internet.interfaces import IReactorCore

from neo_twisted.collector import few_collections

__all__ = ["SWITCH_INTERVAL", "tune_for_run", "tuned_interpreter"]

#: The GIL switch interval while a node runs (Python's default: 5 ms). The pool's
#: threads let go of the GIL at every LMDB read and each time wait for the reactor
#: to hand it back; at 5 ms a chunk of transactions spends most of its time waiting.
#: Measured in bench/bench_mempool.py.
SWITCH_INTERVAL = 0.001


@contextlib.contextmanager
def tuned_interpreter() -> Iterator[None]:
    """
    Within the block, what a node process changes in its interpreter:

      - the GIL switch interval is L{SWITCH_INTERVAL} (see there why);
      - the cyclic collector runs seldom and leaves out what exists already
        (L{few_collections}: blocks stream through a syncing node as through an
        import, freed by reference counting, and the default thresholds cost a
        tenth of the time in collector passes over them).

    Both come back as they were when the block ends.
    """
    saved = sys.getswitchinterval()
    with few_collections():
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            yield
        finally:
            sys.setswitchinterval(saved)


def tune_for_run(reactor: IReactorCore) -> None:
    """
    Apply L{tuned_interpreter} from when C{reactor} starts running (the services
    exist by then, and are frozen out of the collector's passes) until it has shut
    down.
    """
    settings = contextlib.ExitStack()

    def enter() -> None:
        settings.enter_context(tuned_interpreter())
        reactor.addSystemEventTrigger("after", "shutdown", settings.close)

    reactor.callWhenRunning(enter)
