# -*- test-case-name: tests.unit.test_sync_headers -*-
"""
Header sync: keep our header chain up with the best peer, 2000 headers at a time.

One peer at a time is asked (C{getheaders} with a locator from our highest
header, see L{neo_twisted.sync.locator}); its C{headers} reply goes to the
ledger, and while that peer is still ahead the next batch is asked for as soon
as the ledger has the previous one. A peer that does not answer within the
timeout is dropped and another is asked; its address is not asked again for a
while (L{Backoff}), so a peer that claims a great height and never answers costs
one timeout now and then, however often it reconnects. Headers nobody asked for
are ignored: verifying them costs signatures, so an unsolicited C{headers}
message is no way to make us work.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from neo_twisted.ledger.chain import HeaderProblem, HeaderResult
from neo_twisted.ledger.service import LedgerService
from neo_twisted.network.payloads import MAX_HEADERS, GetBlocksPayload, HeadersPayload
from neo_twisted.p2p.faults import Fault, Response
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.sync.backoff import Backoff
from neo_twisted.sync.locator import locator_for
from neo_twisted.wire.uint import ZERO_UINT256, UInt256

#: Batches of headers handed to the ledger and not yet added, at most: one being
#: written, one being verified ahead (see L{LedgerService.add_headers}).
PIPELINE = 2
#: Seconds a peer has to answer C{getheaders}.
HEADERS_TIMEOUT = 30.0
#: The fault of a peer whose headers the ledger refused, by kind of problem.
_HEADER_FAULTS = {
    HeaderProblem.UNLINKED: Fault.HEADERS_UNLINKED,
    HeaderProblem.FORGED: Fault.BAD_HEADER_WITNESS,
    HeaderProblem.REFUSED: Fault.HEADERS_REFUSED,
}


def peer_address(peer: IPeer) -> Hashable:
    """
    What a peer's back-off is kept under: the host of one that dialled us (it may
    come back from any port), the endpoint we dialled otherwise.
    """
    return peer.remote.host if peer.inbound else (peer.remote.host, peer.remote.port)


class HeaderSync:
    """
    Asks one peer at a time for the headers we lack; see the module docstring.

    @ivar peer: the peer asked last and not yet answered or done with (or None).
    """

    _log = Logger()

    def __init__(self, ledger: LedgerService, clock: IReactorTime,
                 peers: Callable[[], Iterable[IPeer]], *,
                 timeout: float = HEADERS_TIMEOUT,
                 on_progress: Callable[[], None] | None = None,
                 backoff: Backoff | None = None) -> None:
        """
        @param peers: the established peers to choose from, called each time.
        @param on_progress: called after each batch of headers the ledger appended.
        @param backoff: the addresses not to ask for a while (default: a L{Backoff}
            of its own).
        """
        self._ledger = ledger
        self._clock = clock
        self._peers = peers
        self._timeout = timeout
        self._on_progress = on_progress
        self.peer: IPeer | None = None
        self._timer: IDelayedCall | None = None
        #: Batches handed to the ledger and not yet added.
        self._adding = 0
        #: Whether a C{getheaders} to L{peer} is unanswered.
        self._waiting = False
        #: The last hash of a full batch whose successor is not asked for yet.
        self._more: UInt256 | None = None
        #: Peers that had nothing more for us: our header height and their claimed height
        #: when they said so. Either rising (a ping telling of a block whose C{inv} we
        #: missed, say) makes them worth asking again.
        self._exhausted: dict[IPeer, tuple[int, int]] = {}
        self._stopped = False
        self.backoff = Backoff(clock) if backoff is None else backoff
        #: The addresses of the peers that gave us headers taken on trust (under
        #: assume-valid) that are still unverified.
        self._provisional_sources: set[Hashable] = set()

    @property
    def header_height(self) -> int:
        ledger = self._ledger.ledger
        return -1 if ledger is None else ledger.header_height

    @property
    def adding(self) -> bool:
        """
        Whether headers are on their way to the ledger.
        """
        return self._adding > 0

    @property
    def busy(self) -> bool:
        """
        Whether headers are being asked for or added: some peer said it is ahead of us.
        """
        return self.peer is not None or self._adding > 0

    def poke(self) -> None:
        """
        Ask for headers if some peer is ahead of us and nobody is being asked already.
        Called when a peer is established, when a peer's height rises, and on a timer.
        """
        if self._stopped or self.peer is not None or self._adding:
            return
        height = self.header_height
        candidates = [p for p in self._peers()
                      if p.established and p.last_block_index > height
                      and self._exhausted.get(p) != (height, p.last_block_index)
                      and not self.backoff.waiting(peer_address(p))]
        if not candidates:
            return
        # The highest peer first; outbound peers (we chose them) before inbound ones.
        best = max(candidates, key=lambda p: (p.last_block_index, not p.inbound))
        self._ask(best)

    def announced(self, peer: IPeer) -> None:
        """
        C{peer} announced a block we have no header for: it may be ahead of what it told
        us, so ask it from our highest header (unless someone is being asked, or it had
        nothing more for us at our present height).
        """
        if self._stopped or self.peer is not None or self._adding or not peer.established:
            return
        if (self._exhausted.get(peer) == (self.header_height, peer.last_block_index)
                or self.backoff.waiting(peer_address(peer))):
            return
        self._ask(peer)

    def _ask(self, peer: IPeer, after: UInt256 | None = None) -> None:
        """
        Send C{getheaders} to C{peer} from C{after} (a header on its way to the ledger),
        or with the locator of our header chain.
        """
        ledger = self._ledger.ledger
        if ledger is None:
            return
        self.peer = peer
        self._waiting = True
        self._cancel_timer()
        self._timer = self._clock.callLater(self._timeout, self._timed_out, peer)
        starts = (locator_for(peer.version, ledger, ledger.header_height) if after is None
                  else (after,))
        peer.send("getheaders", GetBlocksPayload(starts, ZERO_UINT256))

    def _timed_out(self, peer: IPeer) -> None:
        self._timer = None
        if self.peer is peer:
            self._forget_peer()
            pause = self.backoff.failed(peer_address(peer))
            self._log.info("{peer} left getheaders unanswered: not asked again for "
                           "{pause:g} s", peer=peer, pause=pause)
            peer.disconnect(f"no headers within {self._timeout:g} s")
            self.poke()

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def headers_received(self, peer: IPeer, payload: HeadersPayload) -> defer.Deferred[None]:
        """
        Hand the headers of the peer we asked to the ledger. After a full batch from a
        peer that has more, the next one is asked for at once, so it travels while this
        one is verified; at most L{PIPELINE} batches wait for the ledger, so the headers
        held in memory stay bounded however long the chain.
        """
        if peer is not self.peer or not self._waiting:
            self._log.debug("ignoring {count} unasked-for headers from {peer}",
                            count=len(payload.headers), peer=peer)
            return defer.succeed(None)
        self._waiting = False
        self._cancel_timer()
        self.backoff.succeeded(peer_address(peer))
        headers = payload.headers
        if not headers:
            # It has nothing after our headers: its claim to be ahead is not believed.
            peer.last_block_index = min(peer.last_block_index, self.header_height)
            self._more = None
            if not self._adding:
                self._done_with(peer)
            return defer.succeed(None)
        # a full reply (MAX_HEADERS, as many as a peer sends) from a peer that has more
        full = len(headers) >= MAX_HEADERS and headers[-1].index < peer.last_block_index
        self._more = headers[-1].hash if full else None
        self._adding += 1
        self._ask_ahead(peer)
        return (self._ledger.add_headers(headers)
                .addCallback(self._added, peer, len(headers))
                .addErrback(self._failed, peer))

    def _ask_ahead(self, peer: IPeer) -> None:
        """
        Ask for the batch after the last one received, if there is room in the pipeline.
        """
        if self._more is not None and not self._waiting and self._adding < PIPELINE:
            after, self._more = self._more, None
            self._ask(peer, after)

    def _added(self, result: HeaderResult, peer: IPeer, offered: int) -> None:
        self._adding -= 1
        if self.peer is not peer:  # lost, stopped, or failed meanwhile
            self.poke()
            return
        if result.problem is not None:
            self._forget_peer()
            fault = (Fault.HEADERS_REFUSED if result.kind is None
                     else _HEADER_FAULTS[result.kind])
            if fault.response is Response.IGNORE:  # not asked again for a while
                self.backoff.failed(peer_address(peer))
            peer.fault(fault, f"sent headers we refuse: {result.problem}")
            self.poke()
            return
        if result.added:
            self._note_provisional(peer)
        if result.added and self._on_progress is not None:
            self._on_progress()
        self._ask_ahead(peer)
        if self._waiting or self._adding:
            return  # the next batch is asked for already, or on its way to the ledger
        if result.added and self.header_height < peer.last_block_index:
            self._ask(peer)
        else:
            self._log.debug("{peer} has no more headers ({added} of {offered} new)",
                            peer=peer, added=result.added, offered=offered)
            self._done_with(peer)

    def _note_provisional(self, peer: IPeer) -> None:
        """
        Remember who gave us headers taken on trust, until they are verified.
        """
        ledger = self._ledger.ledger
        if ledger is None or ledger.verified_height >= ledger.header_height:
            self._provisional_sources.clear()
        else:
            self._provisional_sources.add(peer_address(peer))

    def provisional_dropped(self) -> None:
        """
        The headers taken on trust were dropped (nobody extended them to the trusted
        block): pause the addresses that sent them, and ask again from what is left.
        """
        for address in self._provisional_sources:
            self.backoff.failed(address)
        self._provisional_sources.clear()
        self._exhausted.clear()
        if self.peer is not None and not self._adding:
            self._forget_peer()  # its answer would follow headers that are gone
        self.poke()

    def _failed(self, failure: Failure, peer: IPeer) -> None:
        self._adding -= 1
        if self.peer is peer:
            self._forget_peer()
        if not self._stopped:
            self._log.failure("adding headers from {peer} failed", failure, peer=peer)

    def _forget_peer(self) -> None:
        self.peer = None
        self._waiting = False
        self._more = None
        self._cancel_timer()

    def _done_with(self, peer: IPeer) -> None:
        self._exhausted[peer] = (self.header_height, peer.last_block_index)
        self.peer = None
        self.poke()

    def peer_lost(self, peer: IPeer) -> None:
        self._exhausted.pop(peer, None)
        if self.peer is peer:
            self._forget_peer()
            self.poke()

    def stop(self) -> None:
        self._stopped = True
        self._forget_peer()
