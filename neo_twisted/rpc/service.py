# -*- test-case-name: tests.integration.test_rpc_tls,tests.integration.test_rpc_load,tests.unit.test_endpoints -*-  # noqa: E501
"""
The JSON-RPC listener as a service: HTTP, or HTTPS when given a certificate and key,
on any endpoint Twisted describes (TCP, TLS, a UNIX socket, systemd's).
"""

from __future__ import annotations

import re
from pathlib import Path

from OpenSSL import SSL, crypto
from twisted.internet import ssl
from twisted.logger import Logger
from twisted.web.server import Site

from neo_twisted.listening import (
    DEFAULT_BACKLOG,
    Description,
    ListeningService,
    tcp_description,
    tls_description,
    url_of,
)
from neo_twisted.reactors import INodeReactor, or_global

__all__ = ["DEFAULT_BACKLOG", "RpcService", "load_tls_options"]

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


class RpcService(ListeningService):
    """
    Serves JSON-RPC on one endpoint; it is bound at the start, so a port in use stops
    the node at start with the operating system's reason.

    The metrics endpoint is served the same way, with its own C{label} and C{name}.

    @ivar site: the HTTP site served.
    """

    _log = Logger()

    def __init__(self, site: Site, listen: str | None = None, *, port: int | None = None,
                 bind: str = "127.0.0.1", tls_cert: Path | None = None,
                 tls_key: Path | None = None, reactor: INodeReactor | None = None,
                 label: str = "JSON-RPC", name: str = "rpc") -> None:
        """
        @param listen: the endpoint description to serve on; or, as its shorthand,
            C{port} on C{bind}, over TLS with C{tls_cert} and C{tls_key}.
        @raise ValueError: a description that cannot be used, or half of the TLS pair.
        """
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("HTTPS needs both a certificate and a key")
        if listen is None:
            if port is None:
                raise ValueError("RpcService needs an endpoint description or a port")
            listen = (tcp_description(port, bind) if tls_cert is None or tls_key is None
                      else tls_description(port, bind, tls_cert, tls_key))
        super().__init__(or_global(reactor), listen, site, self._announce)
        self.site = site
        self.label = label
        self.name = name
        self._tls = Description.parse(listen).is_tls

    @property
    def scheme(self) -> str:
        return "https" if self._tls else "http"

    def url(self, path: str = "") -> str | None:
        """
        Where clients reach C{path} (None when not listening), as the log says.
        """
        where = self.where
        return None if where is None else url_of(where, self._tls, path)

    def _announce(self, service: ListeningService) -> None:
        self._log.info("{label} on {url}", label=self.label, url=self.url(),
                       description=self.description)
