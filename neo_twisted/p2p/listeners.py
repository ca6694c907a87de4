# -*- test-case-name: tests.unit.test_p2p_connections,tests.unit.test_endpoints -*-
"""
Listening for peers on every endpoint the operator describes (IPv4 and IPv6 at
once, a systemd socket...), and knowing our own addresses from what was bound.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.application.service import MultiService
from twisted.internet.interfaces import IProtocolFactory
from twisted.logger import Logger

from neo_twisted.listening import ListeningService
from neo_twisted.p2p.addresses import AddressBook, normalise_host
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.reactors import INodeReactor

__all__ = ["PeerListeners"]


class PeerListeners(MultiService):
    """
    A listener (L{ListeningService}) for each description, all serving one factory.
    What each binds is ours: the address book never takes it for a peer's.
    """

    _log = Logger()

    def __init__(self, reactor: INodeReactor, descriptions: Sequence[str],
                 factory: IProtocolFactory, book: AddressBook) -> None:
        """
        @raise ValueError: a description that cannot be used.
        """
        super().__init__()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped
        self._book = book
        self.listeners = [ListeningService(reactor, text, factory, self._bound)
                          for text in descriptions]
        for listener in self.listeners:
            listener.setServiceParent(self)  # type: ignore[no-untyped-call]

    @property
    def port(self) -> int | None:
        """
        The TCP port listened on (the real one when asked for 0; the first listener's,
        when several): the port our C{version} gives.
        """
        return next((p for p in (x.port for x in self.listeners) if p is not None), None)

    @property
    def addresses(self) -> list[str]:
        """
        Where we listen: C{127.0.0.1:20333}, C{[::1]:20333}...
        """
        return [where for where in (x.where for x in self.listeners) if where is not None]

    def _bound(self, listener: ListeningService) -> None:
        host, port = listener.host, listener.port
        if host is None or port is None:
            self._log.info("listening for peers on {address}", address=listener.where)
            return
        if self._book.own_port is None:
            self._book.own_port = port
        host = normalise_host(host)
        if host not in ("0.0.0.0", "::"):
            self._book.add_own(Endpoint(host, port))
        self._log.info("listening for peers on port {port} ({address})", port=port,
                       address=listener.where)
