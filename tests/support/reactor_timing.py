"""
How long a victim's reactor spends on each message of an attacker: the bound every
hostile-peer case checks (issue 20: no single message may hold the reactor past
about 50 ms).

The time is the reactor thread's CPU time (immune to the other processes sharing
the machine) inside the protocol's handling of one frame (its decoding there, if
small, and its routing to the node) and of one payload decoded off the reactor.
The cyclic garbage collector's passes that fall inside are left out: they are
triggered by the allocations of the whole process (the honest node, the attacker,
the test) and would land in whatever runs at the time.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any

from twisted.logger import Logger
from twisted.trial.unittest import TestCase

from neo_twisted.node.service import NodeService
from neo_twisted.p2p.protocol import PeerProtocol
from tests.support.attacker import ATTACKER_HOST

#: The longest the victim's reactor may spend on one message of the attacker
#: (thread CPU seconds, the collector's passes left out).
MESSAGE_BOUND = 0.05

_log = Logger()


class MessageTimer:
    """
    Times, on the reactor thread, every message of C{host}'s connections to C{victim}.

    @ivar steps: (command, CPU seconds) of each message timed, in order.
    """

    #: The methods of L{PeerProtocol} that handle one message: a frame (decoded there
    #: or not), and a payload decoded off the reactor being routed.
    ENTRIES = ("_frame_received", "_dispatch")

    def __init__(self, case: TestCase, victim: NodeService, host: str = ATTACKER_HOST) -> None:
        self.steps: list[tuple[str, float]] = []
        self._victim = victim
        self._host = host
        self._thread = threading.get_ident()
        self._collecting = 0.0
        self._collected = 0.0
        for name in self.ENTRIES:
            case.patch(PeerProtocol, name, self._timed(getattr(PeerProtocol, name)))
        gc.callbacks.append(self._gc)
        case.addCleanup(gc.callbacks.remove, self._gc)

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if threading.get_ident() != self._thread:
            return
        if phase == "start":
            self._collecting = time.thread_time()
        else:
            self._collected += time.thread_time() - self._collecting

    def _timed(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(protocol: PeerProtocol, *args: Any) -> Any:
            if (protocol.factory.listener is not self._victim.node.controller
                    or protocol.remote.host != self._host):
                return method(protocol, *args)
            started, collected = time.thread_time(), self._collected
            try:
                return method(protocol, *args)
            finally:
                spent = time.thread_time() - started - (self._collected - collected)
                command = args[0] if isinstance(args[0], str) else args[0].command
                self.steps.append((command, spent))

        return timed

    @property
    def longest(self) -> tuple[str, float]:
        """
        The message that took longest: (command, CPU seconds); ("", 0.0) when none.
        """
        return max(self.steps, key=lambda step: step[1], default=("", 0.0))

    def check(self, case: TestCase) -> None:
        command, spent = self.longest
        _log.info("{case}: longest of {count} attacker messages on the reactor: {command}, "
                  "{ms:.1f} ms", case=case.id(), count=len(self.steps), command=command,
                  ms=spent * 1000)
        case.assertLessEqual(spent, MESSAGE_BOUND,
                             f"the reactor spent {spent * 1000:.1f} ms on one {command} "
                             f"of the attacker ({len(self.steps)} messages timed)")
