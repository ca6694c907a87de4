"""
Tests for where the node listens: endpoint descriptions (L{neo_twisted.listening}), the
options that take them and their shorthands (L{neo_twisted.node.listen_options}), and
the listening services of P2P and JSON-RPC, on a memory reactor.

Real sockets (a UNIX socket for RPC, IPv4 and IPv6 at once for P2P) are in
L{tests.test_endpoints_node}.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import (
    MemoryReactorClock,
    RaisingMemoryReactor,
)
from twisted.logger import formatEvent
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.listening import (
    DEFAULT_BACKLOG,
    Description,
    ListeningService,
    server_endpoint,
    tcp_description,
    tls_description,
    url_of,
)
from neo_twisted.node import tap
from neo_twisted.node.listen_options import SHORTHANDS
from neo_twisted.p2p.connections import ConnectionService
from neo_twisted.p2p.controller import PeerController
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.reactors import INodeReactor
from neo_twisted.rpc.server import JsonRpcResource
from neo_twisted.rpc.service import RpcService
from neo_twisted.rpc.site import make_site
from tests.support.logs import captured_events
from tests.support.node_tap_helpers import PROTOCOL
from tests.support.p2p_connection_helpers import FakePeer, PeerMaker
from tests.support.tls_samples import make_test_ca


def node_reactor(reactor: MemoryReactorClock) -> INodeReactor:
    return cast(INodeReactor, reactor)


class DescriptionTests(SynchronousTestCase):
    """
    Descriptions taken apart as Twisted's parser does, and checked in the
    operator's terms.
    """

    def test_parts(self) -> None:
        """
        Colons and equals signs escaped with a backslash belong to their argument.
        """
        description = Description.parse("tcp:20333:interface=\\:\\:1:backlog=7")
        self.assertEqual((description.kind, description.args, description.kwargs),
                         ("tcp", ("20333",), {"interface": "::1", "backlog": "7"}))
        self.assertEqual(Description.parse("unix:/run/a\\=b\\:c.sock").args,
                         ("/run/a=b:c.sock",))

    def test_interface(self) -> None:
        """
        A TCP description's interface, named or in its place, or its type's default;
        none for other types.
        """
        for text, interface in (("tcp:1", ""), ("tcp:1:interface=10.0.0.1", "10.0.0.1"),
                                ("tcp:1:10.0.0.2", "10.0.0.2"), ("tcp6:1", "::"),
                                ("ssl:1:privateKey=k:interface=\\:\\:1", "::1"),
                                ("unix:/x.sock", None), ("systemd:domain=INET:index=0", None)):
            self.assertEqual(Description.parse(text).interface, interface, text)
        self.assertTrue(Description.parse("ssl:1").is_tls)
        self.assertFalse(Description.parse("tcp:1").is_tls)

    def test_checks(self) -> None:
        """
        A TCP port outside 0..65535 or missing, an interface that is no IP address, a
        UNIX socket without a path: each refused, saying what is expected.
        """
        for text, message in (("tcp:65536", "the port must be a number from 0 to 65535"),
                              ("tcp", "got None"), ("tcp:-1", "got '-1'"),
                              ("ssl:port=x", "got 'x'"),
                              ("tcp:1:interface=node.lan", "'node.lan' is not an IP address"),
                              ("tcp:1:interface=::1", "escape an IPv6 interface's colons"),
                              ("tcp:1:interface=1\\:2", "'1:2' is not an IP address"),
                              ("unix:", "no socket path")):
            error = self.assertRaises(ValueError, Description.parse(text).check)
            self.assertIn(message, str(error), text)
            self.assertIn(repr(text), str(error))
        Description.parse("tcp:0:interface=\\:\\:1").check()


class ShorthandTests(SynchronousTestCase):
    """
    The descriptions the port options stand for.
    """

    def test_tcp(self) -> None:
        self.assertEqual(tcp_description(20333), "tcp:20333")
        self.assertEqual(tcp_description(0, "127.0.0.1"), "tcp:0:interface=127.0.0.1")
        self.assertEqual(tcp_description(1, "::1"), "tcp:1:interface=\\:\\:1")
        self.assertEqual(Description.parse(tcp_description(1, "::1")).interface, "::1")

    def test_tls(self) -> None:
        """
        TLS names the key and the certificate; a certificate file holding its chain is
        the chain as well (Twisted takes only the first certificate of C{certKey}).
        """
        ca = make_test_ca()
        cert, key = ca.write(Path(self.mktemp()))
        self.assertEqual(tls_description(443, "", cert, key),
                         f"ssl:443:privateKey={key}:certKey={cert}")
        cert.write_bytes(ca.cert_pem + ca.ca_pem)
        self.assertEqual(tls_description(443, "::", cert, key),
                         f"ssl:443:interface=\\:\\::privateKey={key}:certKey={cert}"
                         f":extraCertChain={cert}")

    def test_urls(self) -> None:
        self.assertEqual(url_of("127.0.0.1:1", False), "http://127.0.0.1:1/")
        self.assertEqual(url_of("[::1]:1", True, "metrics"), "https://[::1]:1/metrics")
        self.assertEqual(url_of("unix:/run/rpc.sock", False), "http+unix://%2Frun%2Frpc.sock/")


class ServerEndpointTests(SynchronousTestCase):
    """
    L{server_endpoint}: Twisted's parser, a deep backlog unless told otherwise, and
    errors that say what is wrong.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()

    def listen(self, text: str) -> None:
        endpoint = server_endpoint(node_reactor(self.reactor), text)
        self.successResultOf(endpoint.listen(Factory.forProtocol(Protocol)))

    def test_backlog(self) -> None:
        """
        TCP, TLS and UNIX sockets get a backlog of L{DEFAULT_BACKLOG} unless the
        description gives one.
        """
        self.listen("tcp:7:interface=\\:\\:1")
        self.listen("tcp:8:backlog=5")
        self.listen("tcp:6:127.0.0.1:4")
        self.listen("unix:/tmp/neo-test.sock")
        cert, key = make_test_ca().write(Path(self.mktemp()))
        self.listen(f"ssl:9:privateKey={key}:certKey={cert}")
        self.assertEqual([(port, backlog, interface)
                          for port, _, backlog, interface in self.reactor.tcpServers],
                         [(7, DEFAULT_BACKLOG, "::1"), (8, 5, ""), (6, 4, "127.0.0.1")])
        self.assertEqual([(address, backlog)
                          for address, _, backlog, *_ in self.reactor.unixServers],
                         [("/tmp/neo-test.sock", DEFAULT_BACKLOG)])
        [(port, _, _, backlog, _)] = self.reactor.sslServers
        self.assertEqual((port, backlog), (9, DEFAULT_BACKLOG))

    def test_errors(self) -> None:
        """
        An unknown type, an argument its parser refuses, a file it cannot read: each
        a L{ValueError} naming the description and the reason.
        """
        for text, message in (("nope:1", "Unknown endpoint type: 'nope'"),
                              ("tcp:1:bogus=2", "bogus"),
                              ("tcp:1:backlog=x", "invalid literal"),
                              ("ssl:1:privateKey=/nonexistent.pem", "/nonexistent.pem")):
            error = self.assertRaises(ValueError, server_endpoint,
                                      node_reactor(self.reactor), text)
            self.assertIn(repr(text), str(error))
            self.assertIn(message, str(error), text)

    def test_systemd_without_sockets(self) -> None:
        """
        A systemd socket this process was not given is refused at once, saying so.
        """
        if os.environ.get("LISTEN_FDS"):
            raise self.skipTest("this test process was given sockets by systemd")
        error = self.assertRaises(ValueError, server_endpoint, node_reactor(self.reactor),
                                  "systemd:domain=INET:index=0")
        self.assertIn("systemd passed this process no such socket", str(error))


class ListeningServiceTests(SynchronousTestCase):
    """
    One listener: what it bound, reported once; a socket it cannot bind fails its start.
    """

    def test_bound(self) -> None:
        reactor = MemoryReactorClock()
        bound: list[ListeningService] = []
        service = ListeningService(node_reactor(reactor), "tcp:20333:interface=\\:\\:1",
                                   Factory.forProtocol(Protocol), bound.append)
        self.assertEqual((service.port, service.where, bound), (None, None, []))
        service.startService()
        self.assertEqual(bound, [service])
        self.assertEqual((service.port, service.host, service.where),
                         (20333, "::1", "[::1]:20333"))
        self.successResultOf(service.stopService())
        self.assertEqual((service.port, service.where), (None, None))

    def test_bound_before_the_reactor_runs(self) -> None:
        """
        Under twistd the socket is bound in C{privilegedStartService}, before the
        reactor runs; it is announced (the "listening" log line others wait for) only
        once the service starts, when a SIGTERM would stop the node cleanly.
        """
        reactor = MemoryReactorClock()
        bound: list[ListeningService] = []
        service = ListeningService(node_reactor(reactor), "tcp:20333",
                                   Factory.forProtocol(Protocol), bound.append)
        service.privilegedStartService()
        self.assertEqual((service.port, bound), (20333, []))
        service.startService()
        self.assertEqual(bound, [service])
        self.assertEqual(len(reactor.tcpServers), 1)  # bound once, not again
        self.successResultOf(service.stopService())

    def test_stop_unstarted(self) -> None:
        """
        A listener never started stops at once (a node whose start failed is stopped).
        """
        service = ListeningService(node_reactor(MemoryReactorClock()), "tcp:1",
                                   Factory.forProtocol(Protocol))
        self.assertIsNone(self.successResultOf(service.stopService()))

    def test_cannot_listen(self) -> None:
        """
        A port that cannot be bound raises from the start with the system's reason
        (Twisted's service would only log it, and the node would run deaf).
        """
        error = CannotListenError("", 20333, OSError(98, "Address already in use"))
        reactor = RaisingMemoryReactor(listenException=error)
        service = ListeningService(cast(INodeReactor, reactor), "tcp:20333",
                                   Factory.forProtocol(Protocol))
        raised = self.assertRaises(CannotListenError, service.startService)
        self.assertIn("Address already in use", str(raised))


class PeerListenersTests(SynchronousTestCase):
    """
    The connection service listening for peers on several endpoints at once.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.events = captured_events(self)

    def service(self, *listen: str) -> ConnectionService:
        controller = PeerController(self.reactor)
        inbound = PeerMaker(inbound=True)
        service = ConnectionService(controller, PeerMaker(), inbound, listen=listen,
                                    reactor=node_reactor(self.reactor), min_peers=1)
        inbound.node = controller
        return service

    def test_ipv4_and_ipv6(self) -> None:
        """
        Each description is listened on with the peers' factory; our C{version} gives
        the (first) port; each address bound is ours, never a peer's; the log says
        each in the line the benchmarks read.
        """
        service = self.service("tcp:20333:interface=192.0.2.7",
                               "tcp:20334:interface=\\:\\:1")
        service.startService()
        self.addCleanup(service.stopService)
        self.assertEqual([(port, interface) for port, _, _, interface
                          in self.reactor.tcpServers],
                         [(20333, "192.0.2.7"), (20334, "::1")])
        factories = {factory for _, factory, _, _ in self.reactor.tcpServers}
        self.assertEqual(len(factories), 1)
        self.assertEqual(service.listening_port, 20333)
        self.assertEqual(service.controller.local_version(FakePeer("10.0.0.1")).port, 20333)
        self.assertEqual(service.listeners.addresses, ["192.0.2.7:20333", "[::1]:20334"])
        book = service.book
        self.assertTrue(book.is_own(Endpoint("192.0.2.7", 20333)))
        self.assertTrue(book.is_own(Endpoint("::1", 20334)))
        self.assertFalse(book.is_own(Endpoint("192.0.2.8", 20333)))
        lines = [formatEvent(event) for event in self.events]
        self.assertIn("listening for peers on port 20333 (192.0.2.7:20333)", lines)
        self.assertIn("listening for peers on port 20334 ([::1]:20334)", lines)

    def test_shorthand(self) -> None:
        """
        C{listen_port} and C{listen_interface} stand for one more description.
        """
        service = self.service("tcp:1")
        self.assertEqual(service.listen, ("tcp:1",))
        controller = PeerController(self.reactor)
        shorthand = ConnectionService(controller, PeerMaker(), PeerMaker(inbound=True),
                                      listen_port=0, listen_interface="::1",
                                      reactor=node_reactor(self.reactor))
        self.assertEqual(shorthand.listen, ("tcp:0:interface=\\:\\:1",))

    def test_stop(self) -> None:
        """
        Stopping the service stops every listener.
        """
        service = self.service("tcp:1", "tcp:2")
        service.startService()
        self.successResultOf(service.stopService())
        self.assertEqual((service.listening_port, service.listeners.addresses), (None, []))


class RpcServiceTests(SynchronousTestCase):
    """
    The JSON-RPC (and metrics) service on any description, or on its shorthand.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.site = make_site(JsonRpcResource({}))

    def test_unix(self) -> None:
        path = os.path.abspath(self.mktemp())
        rpc = RpcService(self.site, f"unix:{path}", reactor=node_reactor(self.reactor))
        rpc.startService()
        self.addCleanup(rpc.stopService)
        [(address, factory, *_)] = self.reactor.unixServers
        self.assertEqual((address, factory), (path, self.site))
        self.assertEqual((rpc.scheme, rpc.port, rpc.where), ("http", None, f"unix:{path}"))
        self.assertEqual(rpc.url(), "http+unix://" + path.replace("/", "%2F") + "/")

    def test_shorthand(self) -> None:
        """
        C{port} and C{bind} (and the TLS files) build the description they stand for.
        """
        rpc = RpcService(self.site, port=0, bind="::1", reactor=node_reactor(self.reactor))
        self.assertEqual(rpc.description, "tcp:0:interface=\\:\\:1")
        cert, key = make_test_ca().write(Path(self.mktemp()))
        tls = RpcService(self.site, port=5, tls_cert=cert, tls_key=key,
                         reactor=node_reactor(self.reactor))
        self.assertEqual((tls.description, tls.scheme),
                         (tls_description(5, "127.0.0.1", cert, key), "https"))
        tls.startService()
        self.addCleanup(tls.stopService)
        self.assertEqual(tls.url("x"), "https://127.0.0.1:5/x")
        self.assertRaises(ValueError, RpcService, self.site, reactor=node_reactor(self.reactor))


class ListenOptionsTests(SynchronousTestCase):
    """
    C{--listen}, C{--rpc-listen}, C{--metrics-listen} and their shorthands.
    """

    def parse(self, *argv: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(["--config", str(PROTOCOL), *argv])
        return options

    def refused(self, *argv: str) -> str:
        return str(self.assertRaises(usage.UsageError, self.parse, *argv))

    def listening(self, options: tap.Options) -> tuple[list[str], str | None, str | None]:
        return options["listen"], options["rpc-listen"], options["metrics-listen"]

    def test_descriptions(self) -> None:
        """
        Each option takes a description as given; C{--listen} is repeatable.
        """
        options = self.parse("--listen", "tcp:20333:interface=0.0.0.0",
                             "--listen", "tcp:20333:interface=\\:\\:1",
                             "--rpc-listen", "unix:/run/neo/rpc.sock",
                             "--metrics-listen", "tcp:9108:interface=\\:\\:1")
        self.assertEqual(self.listening(options),
                         (["tcp:20333:interface=0.0.0.0", "tcp:20333:interface=\\:\\:1"],
                          "unix:/run/neo/rpc.sock", "tcp:9108:interface=\\:\\:1"))

    def test_defaults(self) -> None:
        """
        By default: peers on the network's port, every IPv4 address; no RPC, no metrics.
        """
        self.assertEqual(self.listening(self.parse()), (["tcp:20333"], None, None))
        self.assertEqual(self.parse("--no-listen")["listen"], [])

    def test_shorthands(self) -> None:
        """
        Each shorthand builds exactly the description it stands for.
        """
        cert, key = make_test_ca().write(Path(self.mktemp()))
        for shorthand, description in (
                (["--port", "0", "--interface", "127.0.0.1"],
                 ["--listen", "tcp:0:interface=127.0.0.1"]),
                (["--interface", "::"], ["--listen", "tcp:20333:interface=\\:\\:"]),
                (["--rpc-port", "1234", "--rpc-bind", "::1"],
                 ["--rpc-listen", "tcp:1234:interface=\\:\\:1"]),
                (["--rpc"], ["--rpc-listen", "tcp:20332:interface=127.0.0.1"]),
                (["--rpc-port", "0", "--rpc-tls-cert", str(cert), "--rpc-tls-key", str(key)],
                 ["--rpc-listen",
                  f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"]),
                (["--metrics-port", "9108"],
                 ["--metrics-listen", "tcp:9108:interface=127.0.0.1"]),
                (["--metrics-port", "0", "--metrics-bind", "0.0.0.0"],
                 ["--metrics-listen", "tcp:0:interface=0.0.0.0"])):
            self.assertEqual(self.listening(self.parse(*shorthand)),
                             self.listening(self.parse(*description)), shorthand)

    def test_conflicts(self) -> None:
        """
        An endpoint option given with any of its shorthands is refused, naming both.
        """
        cert, _ = make_test_ca().write(Path(self.mktemp()))
        values = {"port": "1", "interface": "127.0.0.1", "rpc-port": "0",
                  "rpc-bind": "::1", "rpc-tls-cert": str(cert), "rpc-tls-key": str(cert),
                  "metrics-port": "0", "metrics-bind": "::1"}
        for option, shorthands in SHORTHANDS.items():
            for name in shorthands:
                given = [f"--{name}"] + ([values[name]] if name in values else [])
                message = self.refused(f"--{option}", "tcp:0", *given)
                self.assertIn(f"--{name} cannot be combined with --{option}", message)
        self.assertIn("--port cannot be combined with --listen",
                      self.refused("--port", "0", "--listen", "tcp:0"))

    def test_bad_descriptions(self) -> None:
        """
        A description that cannot be listened on is a usage error naming the option
        (the one the operator gave, or the shorthand that built it).
        """
        for argv, message in (
                (["--listen", "tcp:99999"], "--listen: 'tcp:99999': the port must be"),
                (["--listen", "tcp"], "--listen: 'tcp': the port must be"),
                (["--listen", "carrier-pigeon:1"], "Unknown endpoint type"),
                (["--rpc-listen", "unix:"], "--rpc-listen: 'unix:': no socket path"),
                (["--rpc-listen", "ssl:0:privateKey=/nonexistent.pem"],
                 "--rpc-listen: 'ssl:0:privateKey=/nonexistent.pem': "),
                (["--metrics-listen", "tcp:1:interface=::1"],
                 "escape an IPv6 interface's colons"),
                (["--interface", "node.lan"], "--interface: 'tcp:20333:interface=node.lan'"),
                (["--rpc-port", "1", "--rpc-bind", "x"], "--rpc-bind: 'tcp:1:interface=x'"),
                (["--metrics-port", "1", "--metrics-bind", "y"], "--metrics-bind: ")):
            self.assertIn(message, self.refused(*argv), argv)

    def test_rpc_options_with_a_description(self) -> None:
        """
        The RPC access options go with C{--rpc-listen} as with C{--rpc-port}.
        """
        options = self.parse("--rpc-listen", "unix:/run/neo/rpc.sock", "--rpc-allow-get",
                             "--rpc-disable", "getpeers")
        self.assertTrue(options["rpc-access"].allow_get)
        self.assertIn("--rpc-allow-get needs --rpc-port (or --rpc-listen)",
                      self.refused("--rpc-allow-get"))

    def test_metrics_without_package(self) -> None:
        import sys
        from unittest import mock
        with mock.patch.dict(sys.modules, {"prometheus_client": None}):
            self.assertIn("--metrics-listen needs the prometheus-client package",
                          self.refused("--metrics-listen", "tcp:0"))
