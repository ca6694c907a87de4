# -*- test-case-name: tests.unit.test_p2p_sendqueue -*-
"""
A connection's outgoing messages in two priorities, so consensus is never stuck
behind bulk traffic.

The transport buffers whatever is written to it. While its buffer is full it
pauses us (we are its streaming producer): from then on the bulk messages
(blocks, headers, transactions, inventories) wait here, in order, and urgent
ones (consensus, C{getaddr}, C{mempool}, filters and alerts, the reference
node's high-priority queue) still go straight to the transport, ahead of every
waiting bulk message. When the transport drains it resumes us and the bulk
messages follow, until it is full again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

#: Commands sent ahead of the others (the reference node's high-priority queue).
URGENT_COMMANDS = frozenset({"alert", "consensus", "filteradd", "filterclear", "filterload",
                             "getaddr", "mempool"})


@implementer(IPushProducer)
class SendQueue:
    """
    The bulk messages a full transport has not taken yet, and the urgent path past them.

    @ivar waiting_bytes: the size of the frames waiting.
    """

    def __init__(self, write: Callable[[bytes], None], *, limit: int | None = None,
                 overflow: Callable[[int], None] | None = None) -> None:
        """
        @param write: hands a frame to the transport.
        @param limit: the most bytes that may wait; a push past it calls C{overflow}
            with the size it would reach, and the frame is not kept.
        """
        self._write = write
        self._limit = limit
        self._overflow = overflow
        self._waiting: deque[bytes] = deque()
        self._paused = False
        self._stopped = False
        self.waiting_bytes = 0

    @property
    def paused(self) -> bool:
        return self._paused

    def __len__(self) -> int:
        return len(self._waiting)

    def push(self, frame: bytes, urgent: bool) -> None:
        """
        Write C{frame} now if it is urgent or nothing waits ahead of it; else queue it.
        """
        if self._stopped:
            return
        if urgent or not (self._paused or self._waiting):
            self._write(frame)
            return
        limit = self._limit
        if limit is not None and self.waiting_bytes + len(frame) > limit:
            if self._overflow is not None:
                self._overflow(self.waiting_bytes + len(frame))
            return
        self._waiting.append(frame)
        self.waiting_bytes += len(frame)

    # IPushProducer: the transport's side

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        """
        Hand the transport waiting frames until it is full again (it pauses us while we write).
        """
        self._paused = False
        waiting = self._waiting
        while waiting and not self._paused and not self._stopped:
            frame = waiting.popleft()
            self.waiting_bytes -= len(frame)
            self._write(frame)

    def stopProducing(self) -> None:
        """
        The connection is gone: nothing waiting will ever be sent.
        """
        self._stopped = True
        self._waiting.clear()
        self.waiting_bytes = 0
