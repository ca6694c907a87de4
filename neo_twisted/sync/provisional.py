# -*- test-case-name: tests.unit.test_sync_provisional -*-
"""
Headers taken on trust under assume-valid are dropped when nobody extends them.

Below the assume-valid block, headers are taken without checking their witnesses
(L{neo_twisted.ledger.chain.Ledger.add_headers}): anyone can make them up. A
peer that sends made-up headers stopping one short of the trusted block would
leave us for ever on a tip no honest peer knows, no block fetched (blocks wait
for the trusted one), and a restart would not help. So when such I{provisional}
headers go L{PROVISIONAL_TIMEOUT} seconds without growing, they are deleted and
header sync starts again from the last verified header, asking other peers first
(the peers that sent them are paused, see L{neo_twisted.sync.headers}).
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from neo_twisted.ledger.service import LedgerService

#: Seconds provisional headers may go without growing before they are dropped.
PROVISIONAL_TIMEOUT = 120.0


class ProvisionalWatch:
    """
    Watches the provisional headers' growth; see the module docstring.
    """

    _log = Logger()

    def __init__(self, ledger: LedgerService, clock: IReactorTime, *,
                 timeout: float = PROVISIONAL_TIMEOUT,
                 busy: Callable[[], bool] = lambda: False,
                 on_dropped: Callable[[int], None] | None = None) -> None:
        """
        @param busy: whether headers are on their way to the ledger (then nothing is
            dropped: they may link to the provisional ones).
        @param on_dropped: called with the number of headers dropped.
        """
        self._ledger = ledger
        self._clock = clock
        self._timeout = timeout
        self._busy = busy
        self._on_dropped = on_dropped
        #: The header height last seen with provisional headers, and since when.
        self._seen: tuple[int, float] | None = None
        self._dropping = False

    def check(self) -> defer.Deferred[int] | None:
        """
        Called every few seconds: drop the provisional headers once they have not grown
        for the timeout. Returns the drop under way, if one was started.
        """
        ledger = self._ledger.ledger
        if ledger is None or self._dropping:
            return None
        if ledger.verified_height >= ledger.header_height:
            self._seen = None
            return None
        now = self._clock.seconds()
        if self._seen is None or self._seen[0] != ledger.header_height:
            self._seen = (ledger.header_height, now)
            return None
        if now - self._seen[1] < self._timeout or self._busy():
            return None
        self._dropping = True
        self._log.info("headers {low} to {high} taken on trust have not grown for "
                       "{seconds:.0f} s: dropping them", low=ledger.verified_height + 1,
                       high=ledger.header_height, seconds=now - self._seen[1])
        self._seen = None
        return self._ledger.drop_provisional().addCallbacks(self._dropped, self._failed)

    def _dropped(self, count: int) -> int:
        self._dropping = False
        if count and self._on_dropped is not None:
            self._on_dropped(count)
        return count

    def _failed(self, failure: Failure) -> int:
        self._dropping = False
        self._log.failure("dropping unverified headers failed", failure)
        return 0
