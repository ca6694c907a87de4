# -*- test-case-name: tests.unit.test_rpc_access,tests.integration.test_hostile_rpc -*-
"""
Who may call the JSON-RPC server over HTTP: the checks made before a body is parsed.

A browser is the danger: any web page the operator opens can send requests to a
127.0.0.1 RPC port, and with DNS rebinding even read the answers. So the server
gives no CORS allowance unless the operator names origins, takes POST only with a
JSON content type (which a page cannot send cross-origin without a preflight),
answers the GET form only when asked to, and checks the Host header against the
address it is bound to. Basic auth and disabled methods are what neo-cli's
RpcSecurity plugin offers.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

import attrs
from twisted.web import http
from twisted.web.iweb import IRequest

#: The content types a POST may carry (parameters such as C{charset} are allowed).
JSON_TYPES = frozenset({"application/json", "application/json-rpc", "text/json"})
#: Host names that reach a loopback address.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
#: Seconds a browser may cache a preflight's answer.
PREFLIGHT_MAX_AGE = b"600"
REALM = b'Basic realm="neo_twisted JSON-RPC", charset="UTF-8"'


@attrs.frozen
class RpcAccess:
    """
    The operator's choices about RPC access (the C{--rpc-*} options).

    @ivar cors_origins: origins (C{scheme://host[:port]}) given a CORS allowance;
        C{"*"} allows any; empty: none.
    @ivar allowed_hosts: Host names accepted besides those of the bind address;
        C{"*"} accepts any.
    @ivar allow_get: whether the GET form (C{?method=...&params=...}) is served.
    @ivar user: the basic auth user name (None: no auth), with L{password}.
    @ivar disabled: methods answered with "Access denied".
    """

    cors_origins: frozenset[str] = frozenset()
    allowed_hosts: frozenset[str] = frozenset()
    allow_get: bool = False
    user: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    disabled: frozenset[str] = frozenset()

    def __attrs_post_init__(self) -> None:
        if (self.user is None) != (self.password is None):
            raise ValueError("basic auth needs both a user and a password")


@attrs.frozen
class Refusal:
    """
    An HTTP-level refusal: the status, the reason (sent as the error's data), headers.
    """

    status: int
    reason: str
    headers: tuple[tuple[bytes, bytes], ...] = ()


def normal_origin(text: str) -> str:
    """
    An origin as browsers send it (C{scheme://host[:port]}, lower case), or C{"*"}.

    @raise ValueError: C{text} is not an origin.
    """
    text = text.strip()
    if text == "*":
        return text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not an origin (scheme://host[:port])")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{text!r} is not an origin: it has more than scheme, host and port")
    try:
        port = parts.port
    except ValueError as e:
        raise ValueError(f"{text!r}: {e}") from None
    return f"{parts.scheme}://{parts.netloc.lower()}" if port is not None else (
        f"{parts.scheme}://{parts.hostname}")


def normal_host(text: str) -> str:
    """
    A host name as compared: lower case, no trailing dot, IP literals in their
    canonical form (without IPv6 brackets).
    """
    name = text.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def check_host_name(text: str) -> str:
    """
    A name for C{--rpc-allow-host}: C{"*"}, a DNS name or an IP literal.

    @raise ValueError: it cannot be a Host header's name.
    """
    if text.strip() == "*":
        return "*"
    name = normal_host(text)
    if _is_ip(name):
        return name
    if not name or not all(c.isalnum() or c in "-._" for c in name):
        raise ValueError(f"{text!r} is not a host name")
    return name


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def bind_hosts(bind: str) -> frozenset[str] | None:
    """
    The Host names that reach a server bound to C{bind} (None: any, for a wildcard).
    """
    if bind.strip() in WILDCARD_BINDS:
        return None
    name = normal_host(bind)
    try:
        loopback = name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = False
    return LOOPBACK_HOSTS | {name} if loopback else frozenset({name})


def _host_name(header: bytes) -> str:
    """
    The name part of a Host header (the port, if any, cut off).
    """
    text = header.decode("latin-1").strip()
    if text.startswith("["):
        return normal_host(text.partition("]")[0] + "]")
    if text.count(":") == 1:
        text = text.partition(":")[0]
    return normal_host(text)


class AccessPolicy:
    """
    The checks of one server: built from the operator's L{RpcAccess} and the address
    the server is bound to; the resource calls them for each request.
    """

    def __init__(self, access: RpcAccess | None = None, bind: str = "127.0.0.1") -> None:
        self.access = access if access is not None else RpcAccess()
        hosts = bind_hosts(bind)
        if hosts is None or "*" in self.access.allowed_hosts:
            self._hosts: frozenset[str] | None = None
        else:
            self._hosts = hosts | {normal_host(h) for h in self.access.allowed_hosts}
        self._origins = frozenset(self.access.cors_origins)
        self._credentials = None if self.access.user is None else (
            self.access.user.encode("utf-8"), (self.access.password or "").encode("utf-8"))

    # -- the checks, in order -----------------------------------------------------------

    def check(self, request: IRequest) -> Refusal | None:
        """
        What refuses C{request} before its body is looked at (None: nothing).
        """
        refusal = self.host_refusal(request)
        if refusal is not None or request.method == b"OPTIONS":
            return refusal
        if not self.authorized(request):
            return Refusal(http.UNAUTHORIZED, "this node's RPC needs a user and password",
                           ((b"WWW-Authenticate", REALM),))
        if request.method in (b"GET", b"HEAD") and not self.access.allow_get:
            return Refusal(http.NOT_ALLOWED, "the GET form is off on this node: POST JSON",
                           ((b"Allow", b"POST, OPTIONS"),))
        if request.method == b"POST" and not json_content(request):
            return Refusal(http.UNSUPPORTED_MEDIA_TYPE,
                           "a POST must carry Content-Type application/json "
                           "(or application/json-rpc, text/json)")
        return None

    def host_refusal(self, request: IRequest) -> Refusal | None:
        """
        A Host naming another server than this one: a DNS-rebinding page (refused).
        A request without Host is no browser's and is let through.
        """
        header = _header(request, b"host")
        if self._hosts is None or header is None:
            return None
        name = _host_name(header)
        if name in self._hosts:
            return None
        return Refusal(http.FORBIDDEN, f"Host {name!r} is not this node's "
                                       "(see --rpc-allow-host)")

    def authorized(self, request: IRequest) -> bool:
        """
        Basic auth, compared in constant time (always true without a configured user).
        """
        if self._credentials is None:
            return True
        header = _header(request, b"authorization") or b""
        scheme, _, encoded = header.strip().partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, colon, password = decoded.partition(b":")
        wanted_user, wanted_password = self._credentials
        same_user = hmac.compare_digest(user, wanted_user)
        same_password = hmac.compare_digest(password, wanted_password)
        return bool(colon) and same_user and same_password

    # -- CORS ---------------------------------------------------------------------------

    def allowed_origin(self, request: IRequest) -> bytes | None:
        """
        The request's Origin, if the operator allows it (then echoed back).
        """
        origin = _header(request, b"origin")
        if origin is None or not self._origins:
            return None
        if "*" in self._origins:
            return origin
        try:
            normal = normal_origin(origin.decode("latin-1"))
        except ValueError:
            return None
        return origin if normal in self._origins else None

    def cors_headers(self, request: IRequest, preflight: bool = False
                     ) -> list[tuple[bytes, bytes]]:
        """
        The CORS headers of an answer to C{request}: none unless its origin is allowed.
        """
        headers: list[tuple[bytes, bytes]] = []
        if self._origins:
            headers.append((b"Vary", b"Origin"))
        origin = self.allowed_origin(request)
        if origin is None:
            return headers
        headers.append((b"Access-Control-Allow-Origin", origin))
        if preflight:
            methods = b"POST, GET" if self.access.allow_get else b"POST"
            headers += [(b"Access-Control-Allow-Methods", methods),
                        (b"Access-Control-Allow-Headers", b"Content-Type, Authorization"),
                        (b"Access-Control-Max-Age", PREFLIGHT_MAX_AGE)]
        return headers


def _header(request: IRequest, name: bytes) -> bytes | None:
    value: bytes | None = request.getHeader(name)  # type: ignore[no-untyped-call]
    return value


def json_content(request: IRequest) -> bool:
    """
    Whether the request says its body is JSON.
    """
    header = _header(request, b"content-type")
    if header is None:
        return False
    media = header.decode("latin-1").partition(";")[0].strip().lower()
    return media in JSON_TYPES


def split_list(values: Iterable[str]) -> list[str]:
    """
    Repeated options that may also be comma lists: every non-empty item.
    """
    return [item.strip() for value in values for item in value.split(",") if item.strip()]
