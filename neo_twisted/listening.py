# -*- test-case-name: tests.unit.test_endpoints,tests.integration.test_endpoints_node -*-
"""
Where the node listens: Twisted endpoint descriptions, and a service listening on one.

Every socket the node listens on (P2P, JSON-RPC, metrics) is given as a twistd
endpoint description (C{tcp:20333:interface=\\:\\:}, C{ssl:...}, C{unix:/run/neo/rpc.sock},
C{systemd:domain=INET:index=0}) and parsed by Twisted's L{serverFromString}, so
IPv6, UNIX sockets, TLS and systemd's socket activation come from Twisted rather
than from options of our own. The older port options build the same descriptions
(L{tcp_description}, L{tls_description}).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote as url_quote

import attrs
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import (
    IAddress,
    IListeningPort,
    IProtocolFactory,
    IStreamServerEndpoint,
)
from zope.interface import implementer

from neo_twisted.reactors import INodeReactor

__all__ = ["DEFAULT_BACKLOG", "Description", "ListeningService", "address_text",
           "server_endpoint", "tcp_description", "tls_description", "url_of"]

#: Connections the kernel may hold until the reactor accepts them, unless a description
#: says otherwise. Twisted's 50 overflowed when 200 RPC clients connected at once
#: (their handshakes were dropped, the others waited seconds to retransmit), and a
#: burst of inbound peers, refused one by one, dropped honest peers' handshakes with
#: theirs. Linux caps it at C{net.core.somaxconn}.
DEFAULT_BACKLOG = 1024
#: The endpoint types whose parser takes a C{backlog}, and where it does when not named.
_BACKLOG_POSITION = {"tcp": 2, "tcp6": 1, "ssl": 5, "unix": 2}
#: The types bound to a TCP port, and where their parser takes the interface.
_INTERFACE_POSITION = {"tcp": 1, "tcp6": 2, "ssl": 4}
#: An escaped C{=} while a description is taken apart (not an argument's separator).
_EQUALS = "\x00"


def _quote(text: str) -> str:
    """
    C{text} as one argument of a description (C{:}, C{=} and C{\\} escaped).
    """
    return "".join("\\" + c if c in ":=\\" else c for c in text)


def tcp_description(port: int, interface: str = "") -> str:
    """
    The description C{--port}/C{--interface} (and the RPC and metrics port options)
    stand for: C{port} on C{interface} (C{""}: every IPv4 address).
    """
    return f"tcp:{port}" + (f":interface={_quote(interface)}" if interface else "")


def tls_description(port: int, interface: str, cert: Path, key: Path) -> str:
    """
    The description of C{--rpc-tls-cert}/C{--rpc-tls-key}: TLS on C{port} with the PEM
    certificate C{cert} and its key. A certificate file that holds its chain after
    it (as C{fullchain.pem} does) is named as the chain too: Twisted's parser takes
    the first certificate of C{certKey} only, and the client needs the rest.
    """
    text = tcp_description(port, interface).replace("tcp:", "ssl:", 1)
    text += f":privateKey={_quote(str(key))}:certKey={_quote(str(cert))}"
    try:
        chained = cert.read_bytes().count(b"-----BEGIN CERTIFICATE-----") > 1
    except OSError:
        chained = False  # the parser says why it cannot read it
    return text + (f":extraCertChain={_quote(str(cert))}" if chained else "")


def _split(text: str) -> list[str]:
    """
    The arguments of a description, unescaped, split at the colons that are not.
    """
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(_EQUALS if char == "=" else char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


@attrs.frozen
class Description:
    """
    An endpoint description taken apart, to read what the node needs from it (the
    type, the TCP port and interface) and to check those before Twisted parses it.

    @ivar text: the description as given.
    @ivar kind: the endpoint type (C{tcp}, C{ssl}, C{unix}, C{systemd}...).
    @ivar args: its positional arguments; C{kwargs}: its keyword arguments.
    """

    text: str
    kind: str
    args: tuple[str, ...]
    kwargs: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Description:
        kind, *rest = _split(text)
        args: list[str] = []
        kwargs: dict[str, str] = {}
        for part in rest:
            key, equals, value = part.partition("=")
            if equals:
                kwargs[key.replace(_EQUALS, "=")] = value.replace(_EQUALS, "=")
            else:
                args.append(part.replace(_EQUALS, "="))
        return cls(text, kind, tuple(args), kwargs)

    def argument(self, name: str, position: int) -> str | None:
        """
        The argument C{name}, given by name or at C{position}, or None.
        """
        if name in self.kwargs:
            return self.kwargs[name]
        return self.args[position] if len(self.args) > position else None

    @property
    def is_tcp(self) -> bool:
        return self.kind in _INTERFACE_POSITION

    @property
    def is_tls(self) -> bool:
        return self.kind == "ssl"

    @property
    def interface(self) -> str | None:
        """
        The address a TCP description binds (C{""}: all), None for other types.
        """
        if not self.is_tcp:
            return None
        given = self.argument("interface", _INTERFACE_POSITION[self.kind])
        return given if given is not None else ("::" if self.kind == "tcp6" else "")

    def check(self) -> None:
        """
        @raise ValueError: a TCP port outside 0..65535 or an interface that is not an
            IP address, or no path for a UNIX socket, said in the operator's terms.
        """
        if self.is_tcp:
            port = self.argument("port", 0)
            if port is None or not port.strip().isdigit() or int(port) > 65535:
                raise ValueError(f"{self.text!r}: the port must be a number from 0 to "
                                 f"65535 (tcp:PORT:interface=ADDRESS), got {port!r}")
            interface = self.interface
            if interface == "" and "interface" in self.kwargs and len(self.args) > 1:
                raise ValueError(f"{self.text!r}: escape an IPv6 interface's colons "
                                 "(interface=\\:\\:1)")
            if interface:
                try:
                    ipaddress.ip_address(interface)
                except ValueError:
                    raise ValueError(f"{self.text!r}: interface {interface!r} is not an IP "
                                     "address (escape an IPv6 one's colons: "
                                     "interface=\\:\\:1)") from None
        elif self.kind == "unix" and not self.argument("address", 0):
            raise ValueError(f"{self.text!r}: no socket path (unix:/PATH/TO/SOCKET)")


def server_endpoint(reactor: INodeReactor, text: str) -> IStreamServerEndpoint:
    """
    The endpoint C{text} describes, with a backlog of L{DEFAULT_BACKLOG} unless it
    names one.

    @raise ValueError: a description Twisted cannot use now (an unknown type, a bad
        argument, a certificate file it cannot read, a systemd socket not passed to
        this process), with the reason.
    """
    description = Description.parse(text)
    description.check()
    position = _BACKLOG_POSITION.get(description.kind)
    if position is not None and description.argument("backlog", position) is None:
        text = f"{text}:backlog={DEFAULT_BACKLOG}"
    try:
        endpoint: IStreamServerEndpoint = serverFromString(  # type: ignore[no-untyped-call]
            reactor, text)
    except (IndexError, KeyError) as e:
        if description.kind != "systemd":
            raise ValueError(f"{description.text!r}: {e}") from None
        raise ValueError(f"{description.text!r}: systemd passed this process no such socket "
                         "(is it started by a .socket unit? LISTEN_FDS and LISTEN_FDNAMES "
                         "say what it passed)") from None
    except Exception as e:  # the parsers raise whatever their arguments cause
        raise ValueError(f"{description.text!r}: {type(e).__name__}: {e}") from None
    return endpoint


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def address_text(address: IAddress) -> str:
    """
    C{127.0.0.1:20333}, C{[::1]:20333} or C{unix:/run/neo/rpc.sock}: an address bound.
    """
    if isinstance(address, IPv4Address | IPv6Address):
        return _host_port(address.host, address.port)
    if isinstance(address, UNIXAddress):
        name = address.name
        return "unix:" + (name.decode("utf-8", "replace") if isinstance(name, bytes)
                          else str(name))
    return str(address)


@implementer(IStreamServerEndpoint)
@attrs.frozen
class _Reporting:
    """
    An endpoint that tells C{bound} which port it listens on, once it does.
    """

    endpoint: IStreamServerEndpoint
    bound: Callable[[IListeningPort], None]

    def listen(self, factory: IProtocolFactory) -> Deferred[IListeningPort]:
        def report(port: IListeningPort) -> IListeningPort:
            self.bound(port)
            return port
        return self.endpoint.listen(factory).addCallback(report)


class ListeningService(StreamServerEndpointService):
    """
    Listens on one described endpoint from start to stop, and knows what it bound
    (the real port when asked for 0).

    A socket that cannot be bound (in use, not permitted) stops the start with the
    system's reason, where Twisted's service would only log it and run deaf. Under
    twistd it is bound in C{privilegedStartService}, before privileges are dropped,
    and before the reactor runs; C{on_listening} is told only once the service has
    started (the reactor running, its signal handlers in place), so that what
    watches the log for "listening" finds a node that stops cleanly when told to.

    @ivar description: what it listens on, as given.
    @ivar listening: the port once bound, None before and after.
    """

    _raiseSynchronously = True

    def __init__(self, reactor: INodeReactor, description: str, factory: IProtocolFactory,
                 on_listening: Callable[[ListeningService], None] | None = None) -> None:
        """
        @param on_listening: called with this service once it is bound and started.
        @raise ValueError: see L{server_endpoint}.
        """
        endpoint = _Reporting(server_endpoint(reactor, description), self._bound)
        super().__init__(endpoint, factory)  # type: ignore[no-untyped-call]
        self.description = description
        self.listening: IListeningPort | None = None
        self._interface = Description.parse(description).interface
        self._on_listening = on_listening
        self._announced = False

    def _bound(self, port: IListeningPort) -> None:
        self.listening = port
        self._announced = False
        if self.running:  # bound by startService itself (not under twistd)
            self._tell_listening()

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]  # binds, unless bound already
        if self.listening is not None:
            self._tell_listening()

    def _tell_listening(self) -> None:
        if self._announced or self._on_listening is None:
            return
        self._announced = True
        self._on_listening(self)

    @property
    def address(self) -> IAddress | None:
        return None if self.listening is None else self.listening.getHost()

    @property
    def port(self) -> int | None:
        """
        The TCP port listened on, None before the start, after the stop, or when the
        endpoint is not TCP.
        """
        address = self.address
        return address.port if isinstance(address, IPv4Address | IPv6Address) else None

    @property
    def host(self) -> str | None:
        """
        The TCP address listened on, as the description names it (the bound one
        for a description naming none: C{0.0.0.0}, or a systemd socket's).
        """
        address = self.address
        if not isinstance(address, IPv4Address | IPv6Address):
            return None
        return self._interface or address.host

    @property
    def where(self) -> str | None:
        """
        C{127.0.0.1:20333}, C{[::1]:20333}, C{unix:/run/neo/rpc.sock}: what it
        listens on (None when it does not).
        """
        address, host, port = self.address, self.host, self.port
        if address is None:
            return None
        return address_text(address) if host is None or port is None else _host_port(host, port)

    def stopService(self) -> Deferred[None]:
        """
        Stop listening (or trying to); a service never started has nothing to stop
        (its parent stops every child, started or not).
        """
        if not self.running and self.listening is None:
            return succeed(None)
        self.listening = None
        stopped: Deferred[None] = super().stopService()  # type: ignore[no-untyped-call]
        return stopped


def url_of(where: str, tls: bool, path: str = "") -> str:
    """
    How an HTTP client reaches what is served on C{where} (see
    L{ListeningService.where}): C{http://127.0.0.1:20332/}, C{https://[::1]:20332/},
    or for a UNIX socket C{http+unix://%2Frun%2Fneo%2Frpc.sock/} (the form of
    C{requests-unixsocket}).
    """
    scheme = "https" if tls else "http"
    if where.startswith("unix:"):
        return f"{scheme}+unix://{url_quote(where[5:], safe='')}/{path}"
    return f"{scheme}://{where}/{path}"
