# -*- test-case-name: tests.unit.test_p2p_decoding,tests.integration.test_hostile_decode -*-
"""
Big payloads decoded off the reactor, on a small thread pool of their own.

Decoding is Python work proportional to the bytes: a 32 MiB C{block} of 65,536
transactions takes seconds, during which a reactor would serve nobody. Payloads
over L{OFF_REACTOR_SIZE} (blocks, headers, big transactions) are therefore
decoded, and their frame checksum verified, in L{PayloadDecoder}'s threads; a
connection waits for its own (reading nothing more meanwhile, so its messages stay
in order) while the reactor goes on with every other one. The threads share the
GIL with the reactor, which the node's short switch interval hands back within a
millisecond.
"""

from __future__ import annotations

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.interfaces import IReactorFromThreads

from neo_twisted.crypto.hashes import checksum
from neo_twisted.network.frame import Frame
from neo_twisted.network.payloads import Payload, decode_payload
from neo_twisted.offreactor import RunnerFactory, threads_on
from neo_twisted.wire.errors import FormatError

__all__ = ["DECODE_THREADS", "OFF_REACTOR_SIZE", "ChecksumError", "PayloadDecoder",
           "decode_frame"]

#: Payloads longer than this are decoded off the reactor: about a millisecond of
#: decoding, below which a thread's round trip costs more than it spares.
OFF_REACTOR_SIZE = 8 * 1024
#: Threads decoding at once: two, so one peer's 32 MiB block does not hold up
#: another's headers (the GIL makes more pointless).
DECODE_THREADS = 2


class ChecksumError(FormatError):
    """
    A payload whose frame checksum, verified with its decoding, is wrong.
    """


def decode_frame(frame: Frame) -> Payload | None:
    """
    The payload of C{frame}, its checksum verified first if the frame decoder left
    that to us.

    @raise ChecksumError: the payload is not the one the header announced.
    @raise FormatError: the payload does not decode as its command's.
    """
    if frame.check is not None and checksum(frame.payload) != frame.check:
        raise ChecksumError("payload checksum mismatch", 20)
    return decode_payload(frame.command, frame.payload)


class PayloadDecoder(Service):
    """
    The threads that decode big payloads for every connection of a node.
    """

    name = "p2p-decoding"

    def __init__(self, reactor: IReactorFromThreads | None = None,
                 threads_count: int = DECODE_THREADS,
                 off_reactor: RunnerFactory | None = None) -> None:
        """
        @param reactor: where the decoded payloads come back (default: the global one).
        @param off_reactor: makes the threads (tests:
            L{neo_twisted.offreactor.Synchronous}); by default a thread pool.
        """
        if threads_count < 1:
            raise ValueError(f"threads_count must be positive, not {threads_count!r}")
        make = off_reactor if off_reactor is not None else threads_on(reactor)
        self._threads = make("p2p-decode", threads_count)

    @property
    def available(self) -> bool:
        """
        Whether decodings can be handed over (the service is running).
        """
        return self._threads.running

    def startService(self) -> None:
        self._threads.start()
        super().startService()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped

    def stopService(self) -> defer.Deferred[None]:
        """
        Take no more work; stop the threads once the decodings under way are done
        (their connections are closed by then, and get nothing), without waiting
        for them on the reactor.
        """
        super().stopService()  # type: ignore[no-untyped-call]
        return self._threads.stop()

    def decode(self, frame: Frame) -> defer.Deferred[Payload | None]:
        """
        L{decode_frame} in a thread; the result (or its L{FormatError}) comes back
        on the reactor.

        @raise RuntimeError: the service is not running (see L{available}).
        """
        if not self._threads.running:
            raise RuntimeError("the payload decoder is not running")
        return self._threads.run(decode_frame, frame)
