# -*- test-case-name: tests.integration.test_rpc_tls,tests.integration.test_rpc_load -*-
"""
The JSON-RPC listener as a service: HTTP, or HTTPS when given a certificate and key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from OpenSSL import SSL, crypto
from twisted.application import service
from twisted.internet import ssl
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger
from twisted.web.server import Site

#: Connections the kernel may hold until the reactor accepts them. Twisted's 50
#: overflowed when 200 clients connected at once: their handshakes were dropped, a
#: client that sent nothing stayed half open, the others waited seconds to retransmit.
#: Linux caps it at C{net.core.somaxconn}.
DEFAULT_BACKLOG = 1024

_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def load_tls_options(cert_path: Path, key_path: Path) -> ssl.CertificateOptions:
    """
    TLS server options from PEM files: the certificate (then its chain, if the file
    has more) and its private key.

    @raise ValueError: a file is missing or unreadable, is not PEM, or the key is
        not the certificate's; the message says which.
    """
    try:
        cert_data = cert_path.read_bytes()
        key_data = key_path.read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read the TLS files: {e}") from None
    blocks = _PEM_CERTIFICATE.findall(cert_data)
    if not blocks:
        raise ValueError(f"{cert_path} holds no PEM certificate")
    try:
        chain = [ssl.Certificate.loadPEM(block).original for block in blocks]
    except (crypto.Error, SSL.Error, ValueError) as e:
        raise ValueError(f"{cert_path}: not a valid certificate ({e})") from None
    try:
        key = ssl.KeyPair.load(key_data, crypto.FILETYPE_PEM).original
    except (crypto.Error, SSL.Error, ValueError) as e:
        raise ValueError(f"{key_path}: not a PEM private key ({e})") from None
    options = ssl.CertificateOptions(privateKey=key, certificate=chain[0],
                                     extraCertChain=chain[1:])
    try:
        options.getContext()  # loads both into OpenSSL, which checks they match
    except SSL.Error as e:
        raise ValueError(f"{key_path} is not the key of {cert_path} ({e})") from None
    return options


class RpcService(service.Service):
    """
    Listens for JSON-RPC on one address; the port is bound in L{startService}, so a
    port in use stops the node at start with the operating system's reason.

    The metrics endpoint is served the same way, with its own C{label} and C{name}.
    """

    _log = Logger()

    def __init__(self, site: Site, *, port: int, bind: str = "127.0.0.1",
                 tls_cert: Path | None = None, tls_key: Path | None = None,
                 reactor: Any = None, label: str = "JSON-RPC", name: str = "rpc",
                 backlog: int = DEFAULT_BACKLOG) -> None:
        if reactor is None:
            from twisted.internet import reactor as global_reactor
            reactor = global_reactor
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("HTTPS needs both a certificate and a key")
        self._reactor = reactor
        self.site = site
        self.label = label
        self.name = name
        self._port_number = port
        self._bind = bind
        self._backlog = backlog
        self._tls = None if tls_cert is None or tls_key is None else (
            load_tls_options(tls_cert, tls_key))
        self._listening: IListeningPort | None = None

    @property
    def port(self) -> int | None:
        """
        The port being served (the real one when asked for 0), None when stopped.
        """
        if self._listening is None:
            return None
        number: int = self._listening.getHost().port  # type: ignore[attr-defined]
        return number

    @property
    def scheme(self) -> str:
        return "http" if self._tls is None else "https"

    def startService(self) -> None:
        if self._tls is None:
            self._listening = self._reactor.listenTCP(self._port_number, self.site,
                                                      backlog=self._backlog,
                                                      interface=self._bind)
        else:
            self._listening = self._reactor.listenSSL(self._port_number, self.site, self._tls,
                                                      backlog=self._backlog,
                                                      interface=self._bind)
        self._log.info("{label} on {scheme}://{bind}:{port}/", label=self.label,
                       scheme=self.scheme,
                       bind=self._bind, port=self.port)
        super().startService()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped

    def stopService(self) -> Any:
        super().stopService()  # type: ignore[no-untyped-call]
        listening, self._listening = self._listening, None
        if listening is None:
            return None
        return listening.stopListening()
