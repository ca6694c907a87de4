"""
Tests for L{neo_twisted.rpc.service}: JSON-RPC over loopback HTTP and HTTPS, the server
certificate issued by a test CA and verified by the client with service-identity.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet import defer, ssl
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import RequestTransmissionFailed, ResponseNeverReceived
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

from neo_twisted.rpc.server import JsonRpcResource
from neo_twisted.rpc.service import RpcService, load_tls_options
from neo_twisted.rpc.site import make_site
from tests.support.rpc_client import rpc_post
from tests.support.tls_samples import TestCA, make_test_ca

#: How a failed handshake shows (depending on when it fails relative to the request).
HANDSHAKE_FAILED = (RequestTransmissionFailed, ResponseNeverReceived)
REQUEST = {"jsonrpc": "2.0", "id": 1, "method": "getblockcount", "params": []}


@implementer(IPolicyForHTTPS)
class TrustOnly:
    """
    Trust one CA, and check the certificate names C{hostname} (whatever the URL's host).
    """

    def __init__(self, ca_pem: bytes, hostname: str = "localhost") -> None:
        self._ca = ssl.Certificate.loadPEM(ca_pem)
        self._hostname = hostname

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        return ssl.optionsForClientTLS(self._hostname, trustRoot=self._ca)


class ServiceTestCase(TestCase):
    timeout = 30

    def serve(self, ca: TestCA | None = None) -> RpcService:
        site = make_site(JsonRpcResource({"getblockcount": lambda params: 42}))
        cert = key = None
        if ca is not None:
            cert, key = ca.write(Path(self.mktemp()))
        rpc = RpcService(site, port=0, tls_cert=cert, tls_key=key)
        rpc.startService()
        self.addCleanup(rpc.stopService)
        return rpc


class HttpTests(ServiceTestCase):
    @defer.inlineCallbacks
    def test_serves_on_loopback(self) -> Generator[defer.Deferred[Any], Any, None]:
        rpc = self.serve()
        self.assertEqual(rpc.scheme, "http")
        status, answer = yield rpc_post(f"http://127.0.0.1:{rpc.port}/", REQUEST)
        self.assertEqual((status, answer), (200, {"jsonrpc": "2.0", "id": 1, "result": 42}))

    @defer.inlineCallbacks
    def test_stop_closes_the_port(self) -> Generator[defer.Deferred[Any], Any, None]:
        rpc = self.serve()
        port = rpc.port
        yield rpc.stopService()
        self.assertIsNone(rpc.port)
        failure = yield self.assertFailure(
            rpc_post(f"http://127.0.0.1:{port}/", REQUEST), Exception)
        self.assertIn("refused", str(failure).lower())


class HttpsTests(ServiceTestCase):
    def setUp(self) -> None:
        self.ca = make_test_ca()

    def url(self, rpc: RpcService) -> str:
        return f"https://127.0.0.1:{rpc.port}/"

    @defer.inlineCallbacks
    def test_verified_by_the_client(self) -> Generator[defer.Deferred[Any], Any, None]:
        rpc = self.serve(self.ca)
        self.assertEqual(rpc.scheme, "https")
        status, answer = yield rpc_post(self.url(rpc), REQUEST, TrustOnly(self.ca.ca_pem))
        self.assertEqual((status, answer["result"]), (200, 42))

    @defer.inlineCallbacks
    def test_untrusted_ca_refused(self) -> Generator[defer.Deferred[Any], Any, None]:
        rpc = self.serve(self.ca)
        stranger = make_test_ca("another CA")
        error = yield self.assertFailure(
            rpc_post(self.url(rpc), REQUEST, TrustOnly(stranger.ca_pem)), *HANDSHAKE_FAILED)
        self.assertTrue(error.reasons[0].check(SSL.Error))
        # the server is unharmed
        status, _ = yield rpc_post(self.url(rpc), REQUEST, TrustOnly(self.ca.ca_pem))
        self.assertEqual(status, 200)

    @defer.inlineCallbacks
    def test_wrong_name_refused(self) -> Generator[defer.Deferred[Any], Any, None]:
        rpc = self.serve(self.ca)
        error = yield self.assertFailure(
            rpc_post(self.url(rpc), REQUEST, TrustOnly(self.ca.ca_pem, "rpc.example")),
            *HANDSHAKE_FAILED)
        self.assertTrue(error.reasons[0].check(VerificationError))

    @defer.inlineCallbacks
    def test_plain_http_to_the_tls_port(self) -> Generator[defer.Deferred[Any], Any, None]:
        rpc = self.serve(self.ca)
        yield self.assertFailure(rpc_post(f"http://127.0.0.1:{rpc.port}/", REQUEST), Exception)


class LoadTlsTests(SynchronousTestCase):
    def files(self) -> tuple[Path, Path]:
        return make_test_ca().write(Path(self.mktemp()))

    def test_loads(self) -> None:
        cert, key = self.files()
        self.assertIsInstance(load_tls_options(cert, key), ssl.CertificateOptions)

    def test_chain_in_the_certificate_file(self) -> None:
        ca = make_test_ca()
        cert, key = ca.write(Path(self.mktemp()))
        cert.write_bytes(ca.cert_pem + ca.ca_pem)
        load_tls_options(cert, key)

    def test_errors(self) -> None:
        cert, key = self.files()
        _, other_key = self.files()
        broken = Path(self.mktemp())
        broken.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        for args, message in (((cert, other_key), "is not the key of"),
                              ((cert, Path("/nonexistent")), "cannot read"),
                              ((key, key), "no PEM certificate"),
                              ((broken, key), "not a valid certificate"),
                              ((cert, cert), "not a PEM private key")):
            error = self.assertRaises(ValueError, load_tls_options, *args)
            self.assertIn(message, str(error))

    def test_service_needs_both(self) -> None:
        cert, _ = self.files()
        site = make_site(JsonRpcResource({}))
        self.assertRaises(ValueError, RpcService, site, port=0, tls_cert=cert)
