# -*- test-case-name: tests.test_p2p_connections,tests.test_p2p_dialling -*-
"""
Admission of connections, for L{neo_twisted.p2p.connections.ConnectionService}.

L{Connection} is what the service records of each connection it counts against
its limits; L{AcceptingFactory} is the listening factory that lets the service
refuse an inbound connection at accept time, before a protocol is built or a
byte read.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
from twisted.internet.interfaces import IAddress, ILoggingContext, IProtocol, IProtocolFactory
from zope.interface import implementer

from neo_twisted.p2p.interfaces import Endpoint

__all__ = ["Accept", "AcceptingFactory", "Connection"]

#: Decides on an accepted connection: the protocol built by the wrapped factory, or None.
Accept = Callable[[IAddress, IProtocolFactory], "IProtocol | None"]


@attrs.define
class Connection:
    """
    What the service knows of one connection, from TCP connect (or accept) to loss.
    """

    inbound: bool
    host: str
    dialled: Endpoint | None = None
    nonce: int | None = None
    established: bool = False
    listener: Endpoint | None = None


@implementer(IProtocolFactory, ILoggingContext)
class AcceptingFactory:
    """
    Wraps the inbound factory to refuse connections over the limits at accept time.

    Every C{buildProtocol} goes to C{accept} with the wrapped factory, which builds
    the protocol only for connections it lets in.
    """

    def __init__(self, wrapped: IProtocolFactory, accept: Accept) -> None:
        self._wrapped = wrapped
        self._accept = accept

    def doStart(self) -> None:
        self._wrapped.doStart()

    def doStop(self) -> None:
        self._wrapped.doStop()

    def logPrefix(self) -> str:
        return type(self._wrapped).__name__

    def buildProtocol(self, addr: IAddress) -> IProtocol | None:
        return self._accept(addr, self._wrapped)
