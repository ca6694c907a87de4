"""
Tests for L{neo_twisted.rpc.access}: the Host check, CORS, content types, the GET
form and basic auth, through the real site and channel on a L{StringTransport}.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.rpc.access import (
    AccessPolicy,
    RpcAccess,
    bind_hosts,
    check_host_name,
    normal_origin,
)
from neo_twisted.rpc.server import JsonRpcResource
from neo_twisted.rpc.site import make_site
from tests.support.rpc_server_helpers import CLIENT, Response, parse_response

BODY = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "echo", "params": ["x"]}).encode()


class AccessCase(SynchronousTestCase):
    def serve(self, access: RpcAccess | None = None, bind: str = "127.0.0.1") -> None:
        self.resource = JsonRpcResource({"echo": lambda params: params},
                                        access=AccessPolicy(access, bind))
        self.site = make_site(self.resource, reactor=MemoryReactorClock())

    def setUp(self) -> None:
        self.serve()

    def send(self, method: bytes = b"POST", *headers: bytes, body: bytes = BODY,
             host: bytes | None = b"127.0.0.1:10332",
             content_type: bytes | None = b"application/json") -> Response:
        lines = [method + b" / HTTP/1.1"]
        if host is not None:
            lines.append(b"Host: " + host)
        if content_type is not None:
            lines.append(b"Content-Type: " + content_type)
        lines += [*headers, b"Content-Length: %d" % len(body)]
        protocol = self.site.buildProtocol(CLIENT)
        transport = StringTransport(peerAddress=CLIENT)
        protocol.makeConnection(transport)
        protocol.dataReceived(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        return parse_response(transport.value())

    def assert_answered(self, response: Response) -> None:
        self.assertEqual((response.status, response.json().get("result")), (200, ["x"]))

    def assert_refused(self, response: Response, status: int, code: int) -> dict[str, Any]:
        self.assertEqual(response.status, status)
        error: dict[str, Any] = response.json()["error"]
        self.assertEqual(error["code"], code)
        return error


class HostTests(AccessCase):
    def test_loopback_names(self) -> None:
        for host in (b"127.0.0.1:10332", b"localhost:10332", b"[::1]:10332", b"localhost",
                     b"LOCALHOST.", b"127.0.0.1"):
            self.assert_answered(self.send(host=host))

    def test_rebinding_name_refused(self) -> None:
        """
        A page of evil.example whose name now resolves to 127.0.0.1 sends its Host.
        """
        for host in (b"evil.example:10332", b"127.0.0.1.evil.example", b"10.0.0.1:10332"):
            error = self.assert_refused(self.send(host=host), 403, -400)
            self.assertIn("--rpc-allow-host", error["data"])

    def test_no_host_is_no_browser(self) -> None:
        self.assert_answered(self.send(host=None))

    def test_allowed_names(self) -> None:
        self.serve(RpcAccess(allowed_hosts=frozenset({"node.lan"})))
        self.assert_answered(self.send(host=b"node.lan:10332"))
        self.assert_answered(self.send(host=b"localhost"))
        self.assert_refused(self.send(host=b"other.lan"), 403, -400)
        self.serve(RpcAccess(allowed_hosts=frozenset({"*"})))
        self.assert_answered(self.send(host=b"other.lan"))

    def test_specific_address(self) -> None:
        self.serve(bind="192.0.2.5")
        self.assert_answered(self.send(host=b"192.0.2.5:10332"))
        self.assert_refused(self.send(host=b"localhost:10332"), 403, -400)

    def test_wildcard_bind(self) -> None:
        for bind in ("0.0.0.0", "::", ""):
            self.serve(bind=bind)
            self.assert_answered(self.send(host=b"anything.example"))

    def test_bind_hosts(self) -> None:
        self.assertEqual(bind_hosts("127.0.0.2"),
                         frozenset({"localhost", "127.0.0.1", "::1", "127.0.0.2"}))
        self.assertEqual(bind_hosts("::1"), frozenset({"localhost", "127.0.0.1", "::1"}))
        self.assertEqual(bind_hosts("2001:db8::0:1"), frozenset({"2001:db8::1"}))
        self.assertIsNone(bind_hosts("0.0.0.0"))


class CorsTests(AccessCase):
    ORIGIN = b"Origin: https://wallet.example"

    def test_no_allowance_by_default(self) -> None:
        response = self.send(b"POST", self.ORIGIN)
        self.assert_answered(response)  # a browser will not let the page read it
        self.assertNotIn(b"access-control-allow-origin", response.headers)

    def test_allowed_origin_echoed(self) -> None:
        self.serve(RpcAccess(cors_origins=frozenset({"https://wallet.example"})))
        response = self.send(b"POST", self.ORIGIN)
        self.assertEqual(response.headers[b"access-control-allow-origin"],
                         b"https://wallet.example")
        self.assertEqual(response.headers[b"vary"], b"Origin")
        other = self.send(b"POST", b"Origin: https://evil.example")
        self.assertNotIn(b"access-control-allow-origin", other.headers)

    def test_preflight(self) -> None:
        self.serve(RpcAccess(cors_origins=frozenset({"https://wallet.example"}),
                             user="u", password="p"))
        response = self.send(b"OPTIONS", self.ORIGIN,
                             b"Access-Control-Request-Method: POST", body=b"",
                             content_type=None)
        self.assertEqual(response.status, 204)  # no credentials needed for a preflight
        self.assertEqual(response.headers[b"access-control-allow-origin"],
                         b"https://wallet.example")
        self.assertEqual(response.headers[b"access-control-allow-methods"], b"POST")
        self.assertIn(b"Authorization", response.headers[b"access-control-allow-headers"])
        refused = self.send(b"OPTIONS", b"Origin: https://evil.example", body=b"",
                            content_type=None)
        self.assertNotIn(b"access-control-allow-origin", refused.headers)

    def test_any_origin_when_asked(self) -> None:
        self.serve(RpcAccess(cors_origins=frozenset({"*"})))
        response = self.send(b"POST", b"Origin: https://evil.example")
        self.assertEqual(response.headers[b"access-control-allow-origin"],
                         b"https://evil.example")

    def test_normal_origin(self) -> None:
        self.assertEqual(normal_origin("HTTPS://Wallet.Example:8443"),
                         "https://wallet.example:8443")
        self.assertEqual(normal_origin("http://a.example/"), "http://a.example")
        for bad in ("wallet.example", "ftp://a", "http://a/path", "http://a:99999", "http://"):
            self.assertRaises(ValueError, normal_origin, bad)

    def test_check_host_name(self) -> None:
        self.assertEqual(check_host_name("Node.LAN"), "node.lan")
        self.assertEqual(check_host_name("[::1]"), "::1")
        for bad in ("", "a b", "a/b", "user@host"):
            self.assertRaises(ValueError, check_host_name, bad)


class ContentTypeTests(AccessCase):
    def test_json_types(self) -> None:
        for media in (b"application/json", b"application/json; charset=utf-8",
                      b"application/json-rpc", b"text/json", b"Application/JSON"):
            self.assert_answered(self.send(content_type=media))

    def test_form_types_refused(self) -> None:
        """
        What a page may POST cross-origin without a preflight: refused.
        """
        for media in (b"text/plain", b"application/x-www-form-urlencoded", None):
            error = self.assert_refused(self.send(content_type=media), 415, -32600)
            self.assertIn("application/json", error["data"])
        # Twisted parses a form itself and refuses this malformed one first
        response = self.send(content_type=b"multipart/form-data; boundary=x")
        self.assertIn(response.status, (400, 415))

    def test_get_off_by_default(self) -> None:
        response = self.send(b"GET", body=b"", content_type=None)
        self.assert_refused(response, 405, -32600)
        self.assertEqual(response.headers[b"allow"], b"POST, OPTIONS")

    def test_get_when_allowed(self) -> None:
        self.serve(RpcAccess(allow_get=True))
        protocol = self.site.buildProtocol(CLIENT)
        transport = StringTransport(peerAddress=CLIENT)
        protocol.makeConnection(transport)
        protocol.dataReceived(b"GET /?method=echo&params=%5B%22x%22%5D&id=1 HTTP/1.1\r\n"
                              b"Host: localhost\r\n\r\n")
        self.assert_answered(parse_response(transport.value()))


class AuthTests(AccessCase):
    def setUp(self) -> None:
        self.serve(RpcAccess(user="neo", password="s3cret:with colon"))

    @staticmethod
    def basic(text: bytes) -> bytes:
        return b"Authorization: Basic " + base64.b64encode(text)

    def test_no_credentials(self) -> None:
        response = self.send()
        self.assert_refused(response, 401, -400)
        self.assertTrue(response.headers[b"www-authenticate"].startswith(b"Basic realm="))

    def test_wrong_credentials(self) -> None:
        for header in (self.basic(b"neo:wrong"), self.basic(b"other:s3cret:with colon"),
                       self.basic(b"neo"), b"Authorization: Basic !!!",
                       b"Authorization: Bearer abc"):
            self.assert_refused(self.send(b"POST", header), 401, -400)

    def test_right_credentials(self) -> None:
        self.assert_answered(self.send(b"POST", self.basic(b"neo:s3cret:with colon")))

    def test_host_checked_first(self) -> None:
        self.assert_refused(self.send(b"POST", self.basic(b"neo:s3cret:with colon"),
                                     host=b"evil.example"), 403, -400)

    def test_both_or_neither(self) -> None:
        self.assertRaises(ValueError, RpcAccess, user="neo")
        self.assertNotIn("s3cret", repr(RpcAccess(user="neo", password="s3cret")))
