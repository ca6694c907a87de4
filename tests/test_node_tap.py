"""
Tests for L{neo_twisted.node.tap}: the options of C{twistd neonode}, the service
tree they build, and the plugin that makes twistd find them.

The tree is only built here, never started: starting the ledger opens LMDB and
starts real thread pools (the running node is covered by the end-to-end tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from twisted.application.internet import TimerService
from twisted.application.service import IServiceMaker, MultiService
from twisted.internet.testing import MemoryReactorClock
from twisted.plugin import getPlugins
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.consensus.service import ConsensusService
from neo_twisted.ledger.generator import account_keys
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.mempool.service import MempoolService
from neo_twisted.node import service as node_service
from neo_twisted.node import tap
from neo_twisted.node.service import NodeConfig, NodeService
from neo_twisted.p2p.connections import ConnectionService
from neo_twisted.p2p.decoding import PayloadDecoder
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.rpc.access import RpcAccess
from neo_twisted.rpc.service import RpcService
from tests.tls_samples import make_test_ca

PROTOCOL = Path(__file__).parents[1] / "protocol.json"
DEVKEYS = Path(__file__).parents[1] / "devkeys"


class OptionsTests(SynchronousTestCase):
    """
    Parsing and checking the command line.
    """

    def parse(self, *argv: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(["--config", str(PROTOCOL), *argv])
        return options

    def refused(self, *argv: str) -> str:
        """
        The message of the usage error C{argv} raises.
        """
        error = self.assertRaises(usage.UsageError, self.parse, *argv)
        return str(error)

    def test_defaults(self) -> None:
        """
        Without options the node reads C{protocol.json} and keeps 10 to 40 peers,
        3 per address, listening on 20333 with a peers file.
        """
        self.assertEqual(tap.Options()["config"], "protocol.json")
        options = self.parse()
        self.assertEqual(
            (options["port"], options["min-peers"], options["max-peers"],
             options["max-per-address"], options["interface"], options["seeds"]),
            (20333, 10, 40, 3, "", []))
        self.assertEqual(options["datadir"], Path("data"))
        self.assertFalse(options["no-listen"])
        self.assertFalse(options["no-peers-file"])
        self.assertEqual(options["settings"], load_protocol(PROTOCOL))

    def test_values(self) -> None:
        """
        Every option is converted to the type the node expects.
        """
        options = self.parse("--port", "0", "--min-peers", "2", "--max-peers", "5",
                             "--max-per-address", "1", "--datadir", "/srv/neo",
                             "--interface", "127.0.0.1", "--user-agent", "/x/")
        self.assertEqual(
            (options["port"], options["min-peers"], options["max-peers"],
             options["max-per-address"], options["datadir"], options["interface"],
             options["user-agent"]),
            (0, 2, 5, 1, Path("/srv/neo"), "127.0.0.1", "/x/"))

    def test_seedsRepeatable(self) -> None:
        """
        C{--seed} may be given several times; the seeds are kept in order.
        """
        options = self.parse("--seed", "10.0.0.1:20333", "--seed", "[::1]:20334")
        self.assertEqual(options["seeds"], ["10.0.0.1:20333", "[::1]:20334"])

    def test_badSeed(self) -> None:
        """
        A seed that is not C{host:port} is a usage error naming C{--seed}.
        """
        self.assertIn("--seed", self.refused("--seed", "nonsense"))
        self.assertIn("--seed", self.refused("--seed", "1.2.3.4:99999"))

    def test_badPort(self) -> None:
        """
        A port outside 0..65535, or not a number, is a usage error.
        """
        self.assertIn("65535", self.refused("--port", "70000"))
        self.refused("--port", "abc")
        self.refused("--port", "-1")

    def test_badPeerCounts(self) -> None:
        """
        Peer counts must be positive, and C{--min-peers} at most C{--max-peers}.
        """
        message = self.refused("--min-peers", "50")
        self.assertIn("--min-peers 50", message)
        self.assertIn("--max-peers 40", message)
        self.refused("--max-peers", "0")
        self.refused("--max-per-address", "x")

    def test_missingConfig(self) -> None:
        """
        A protocol file that cannot be read is a usage error naming the file.
        """
        missing = self.mktemp()
        options = tap.Options()
        error = self.assertRaises(usage.UsageError, options.parseOptions,
                                  ["--config", missing])
        self.assertIn(missing, str(error))

    def test_brokenConfig(self) -> None:
        """
        A protocol file that is not valid JSON is a usage error naming the file.
        """
        broken = Path(self.mktemp())
        broken.write_text('{"ProtocolConfiguration": ', encoding="utf-8")
        options = tap.Options()
        error = self.assertRaises(usage.UsageError, options.parseOptions,
                                  ["--config", str(broken)])
        self.assertIn(str(broken), str(error))
        self.assertIn("JSON", str(error))

    def test_mempoolAndRpcDefaults(self) -> None:
        """
        The pool holds 50,000 with a thread per core; no RPC unless a port is given,
        and then on loopback only, over HTTP.
        """
        options = self.parse()
        self.assertEqual(
            (options["mempool-size"], options["verify-threads"], options["rpc-port"],
             options["rpc-bind"], options["rpc-tls-cert"], options["rpc-tls-key"]),
            (50_000, 0, None, "127.0.0.1", None, None))

    def test_badMempoolAndRpcValues(self) -> None:
        """
        Sizes, thread counts and the RPC port are checked like the others.
        """
        self.refused("--mempool-size", "0")
        self.assertIn("negative", self.refused("--verify-threads", "-1"))
        self.assertIn("65535", self.refused("--rpc-port", "70000"))
        self.refused("--rpc-port", "http")

    def test_validatorKey(self) -> None:
        """
        --validator-key loads a WIF file holding one of the protocol's validators.
        """
        options = self.parse("--validator-key", str(DEVKEYS / "privnet-validator-2.wif"))
        self.assertEqual(options["validator"].public_key.encode().hex(),
                         "02103a7f7dd016558597f7960d27c516a4394fd968b9e65155eb4b013e4040406e")
        self.assertIsNone(self.parse()["validator"])

    def test_badValidatorKey(self) -> None:
        """
        A missing file, one that holds no WIF, and a key that is no validator's are
        each refused with the reason.
        """
        directory = Path(self.mktemp())
        directory.mkdir()
        self.assertIn("cannot read", self.refused("--validator-key", str(directory / "none")))
        garbage = directory / "garbage.wif"
        garbage.write_text("not a key\n")
        self.assertIn("not a WIF", self.refused("--validator-key", str(garbage)))
        stranger = directory / "stranger.wif"
        stranger.write_text(account_keys(5, 1)[0].to_wif())
        self.assertIn("is not one of the 4 validators",
                      self.refused("--validator-key", str(stranger)))
        binary = directory / "binary.wif"
        binary.write_bytes(b"\xff\xfe")
        self.assertIn("one WIF", self.refused("--validator-key", str(binary)))

    def test_tlsOptions(self) -> None:
        """
        HTTPS needs a certificate and its key, both loadable, and an RPC port.
        """
        cert, key = make_test_ca().write(Path(self.mktemp()))
        options = self.parse("--rpc-port", "0", "--rpc-tls-cert", str(cert),
                             "--rpc-tls-key", str(key))
        self.assertEqual(options["rpc-tls-cert"], str(cert))
        self.assertIn("go together", self.refused("--rpc-port", "1", "--rpc-tls-cert",
                                                  str(cert)))
        self.assertIn("needs --rpc-port", self.refused("--rpc-tls-cert", str(cert),
                                                       "--rpc-tls-key", str(key)))
        missing = self.refused("--rpc-port", "1", "--rpc-tls-cert", str(cert) + ".nope",
                               "--rpc-tls-key", str(key))
        self.assertIn("cannot read", missing)
        other_cert, _ = make_test_ca().write(Path(self.mktemp()))
        self.assertIn("is not the key of", self.refused(
            "--rpc-port", "1", "--rpc-tls-cert", str(other_cert), "--rpc-tls-key", str(key)))
        self.assertIn("no PEM certificate", self.refused(
            "--rpc-port", "1", "--rpc-tls-cert", str(key), "--rpc-tls-key", str(key)))

    def test_rpcAccessOptions(self) -> None:
        """
        No CORS, no GET form, no auth, nothing disabled unless asked; lists may be
        repeated or comma-separated; each value is checked.
        """
        self.assertEqual(self.parse("--rpc-port", "0")["rpc-access"], RpcAccess())
        options = self.parse("--rpc-port", "0", "--rpc-cors", "https://a.example, HTTP://B:81",
                             "--rpc-cors", "*", "--rpc-allow-host", "node.lan,[::1]",
                             "--rpc-disable", "submitblock", "--rpc-disable",
                             "sendrawtransaction,getpeers", "--rpc-allow-get",
                             "--rpc-max-answer", "1000")
        self.assertEqual(options["rpc-access"], RpcAccess(
            cors_origins=frozenset({"https://a.example", "http://b:81", "*"}),
            allowed_hosts=frozenset({"node.lan", "::1"}), allow_get=True,
            disabled=frozenset({"submitblock", "sendrawtransaction", "getpeers"})))
        self.assertEqual(options["rpc-max-answer"], 1000)
        self.assertIn("--rpc-cors: 'a.example' is not an origin",
                      self.refused("--rpc-port", "0", "--rpc-cors", "a.example"))
        self.assertIn("--rpc-allow-host", self.refused("--rpc-allow-host", "a b"))
        self.assertIn("--rpc-disable: no JSON-RPC method 'getnothing'",
                      self.refused("--rpc-disable", "getnothing"))
        self.assertIn("--rpc-allow-get needs --rpc-port", self.refused("--rpc-allow-get"))
        self.assertIn("--rpc-cors needs --rpc-port",
                      self.refused("--rpc-cors", "https://a.example"))

    def test_rpcAuthOptions(self) -> None:
        """
        Basic auth: a user and a password file's first line, both or neither.
        """
        secret = Path(self.mktemp())
        secret.write_text("correct horse\nignored\n", encoding="utf-8")
        options = self.parse("--rpc-port", "0", "--rpc-user", "operator",
                             "--rpc-password-file", str(secret))
        access = options["rpc-access"]
        self.assertEqual((access.user, access.password), ("operator", "correct horse"))
        self.assertIn("go together", self.refused("--rpc-port", "0", "--rpc-user", "operator"))
        self.assertIn("go together", self.refused("--rpc-port", "0",
                                                  "--rpc-password-file", str(secret)))
        self.assertIn("--rpc-user needs --rpc-port", self.refused(
            "--rpc-user", "operator", "--rpc-password-file", str(secret)))
        self.assertIn("--rpc-password-file: cannot read", self.refused(
            "--rpc-port", "0", "--rpc-user", "operator", "--rpc-password-file",
            str(secret) + ".nope"))
        empty = Path(self.mktemp())
        empty.write_text("\nsecond\n", encoding="utf-8")
        self.assertIn("is empty", self.refused(
            "--rpc-port", "0", "--rpc-user", "operator", "--rpc-password-file", str(empty)))
        self.assertIn("--rpc-user", self.refused(
            "--rpc-port", "0", "--rpc-user", "a:b", "--rpc-password-file", str(secret)))

    def test_metricsAndLogOptions(self) -> None:
        """
        No metrics endpoint and text logs by default; a progress line every 10 s.
        """
        options = self.parse()
        self.assertEqual((options["metrics-port"], options["metrics-bind"],
                          options["log-format"], options["progress-interval"]),
                         (None, "127.0.0.1", "text", 10.0))
        options = self.parse("--metrics-port", "9100", "--metrics-bind", "0.0.0.0",
                             "--log-format", "text", "--progress-interval", "2.5")
        self.assertEqual((options["metrics-port"], options["metrics-bind"],
                          options["progress-interval"]), (9100, "0.0.0.0", 2.5))

    def test_badMetricsAndLogValues(self) -> None:
        self.assertIn("65535", self.refused("--metrics-port", "65536"))
        self.refused("--metrics-port", "nine")
        message = self.refused("--log-format", "xml")
        self.assertIn("--log-format", message)
        self.assertIn("text, json", message)
        self.assertIn("positive", self.refused("--progress-interval", "0"))
        self.refused("--progress-interval", "soon")

    def test_metricsWithoutPackage(self) -> None:
        """
        Without prometheus-client (an optional extra), C{--metrics-port} says what
        to install.
        """
        import sys
        from unittest import mock
        with mock.patch.dict(sys.modules, {"prometheus_client": None}):
            self.assertIn("neo_twisted[metrics]", self.refused("--metrics-port", "9100"))

    def test_flags(self) -> None:
        """
        C{--no-listen} and C{--no-peers-file} are off unless given.
        """
        options = self.parse("--no-listen", "--no-peers-file")
        self.assertTrue(options["no-listen"])
        self.assertTrue(options["no-peers-file"])


#: A valid value for every option of C{twistd neonode} (flags: None).
GOOD_VALUES: dict[str, str | None] = {
    "config": str(PROTOCOL), "datadir": "/srv/neo", "port": "0", "interface": "127.0.0.1",
    "min-peers": "2", "max-peers": "5", "max-per-address": "1", "user-agent": "/x/",
    "mempool-size": "10", "mempool-mb": "64", "verify-threads": "0", "rpc-port": "10332",
    "rpc-bind": "::1",
    "validator-key": str(DEVKEYS / "privnet-validator-1.wif"), "metrics-port": "9108",
    "metrics-bind": "0.0.0.0", "log-format": "text", "progress-interval": "30",
    "seed": "10.0.0.1:20333", "no-listen": None, "no-peers-file": None,
    "rpc-cors": "https://wallet.example", "rpc-allow-host": "node.lan",
    "rpc-disable": "submitblock", "rpc-max-answer": "1048576", "rpc-allow-get": None,
    "assume-valid": "5000:0x" + "ab" * 32,
    "whitelist": "10.1.0.0/16", "ban": "203.0.113.9", "allow-private-addresses": None,
}
#: TLS needs real files: covered by test_tlsOptions; so does auth (test_rpcAuthOptions).
TLS_OPTIONS = {"rpc-tls-cert", "rpc-tls-key", "rpc-user", "rpc-password-file"}
#: A bad value for every option that can have one, and what the message must say.
BAD_VALUES = {
    "config": ("/nonexistent/protocol.json", "/nonexistent/protocol.json"),
    "port": ("70000", "--port: 70000 is outside 0..65535"),
    "min-peers": ("zero", "--min-peers: 'zero' is not a number"),
    "max-peers": ("0", "--max-peers: 0 is not a positive number"),
    "max-per-address": ("-3", "--max-per-address: -3 is not a positive number"),
    "mempool-size": ("0", "--mempool-size: 0 is not a positive number"),
    "mempool-mb": ("-1", "--mempool-mb: -1 is not a positive number"),
    "verify-threads": ("-1", "--verify-threads: -1 is negative"),
    "rpc-port": ("65536", "--rpc-port: 65536 is outside 0..65535"),
    "validator-key": ("/nonexistent.wif", "--validator-key"),
    "metrics-port": ("http", "--metrics-port: 'http' is not a number"),
    "log-format": ("yaml", "--log-format: 'yaml' is not one of text, json"),
    "progress-interval": ("-5", "--progress-interval: -5.0 is not a positive number of "
                                "seconds"),
    "seed": ("nowhere", "--seed"),
    "assume-valid": ("0x" + "ab" * 32, "--assume-valid: expected HEIGHT:HASH"),
    "rpc-cors": ("wallet.example", "--rpc-cors: 'wallet.example' is not an origin"),
    "rpc-allow-host": ("a/b", "--rpc-allow-host: 'a/b' is not a host name"),
    "rpc-disable": ("getnothing", "--rpc-disable: no JSON-RPC method 'getnothing'"),
    "rpc-max-answer": ("0", "--rpc-max-answer: 0 is not a positive number"),
    "whitelist": ("10.1.0.0/33", "--whitelist:"),
    "ban": ("10.1.0.0/16", "--ban:"),
}


class EveryOptionTests(SynchronousTestCase):
    """
    Each option, good and bad, from one table, so a new option cannot go untested.
    """

    def all_options(self) -> set[str]:
        options = tap.Options()
        names = {entry[0] for entry in options.optParameters}
        names |= {entry[0] for entry in options.optFlags}
        return names | {"seed", "rpc-cors", "rpc-allow-host", "rpc-disable", "whitelist", "ban"}

    def test_table_covers_every_option(self) -> None:
        self.assertEqual(set(GOOD_VALUES) | TLS_OPTIONS, self.all_options())

    def test_good_values(self) -> None:
        argv: list[str] = []
        for name, value in GOOD_VALUES.items():
            argv += [f"--{name}"] if value is None else [f"--{name}", value]
        options = tap.Options()
        options.parseOptions(argv)
        self.assertEqual((options["port"], options["verify-threads"],
                          options["progress-interval"], options["no-listen"]), (0, 0, 30.0, 1))

    def test_bad_values(self) -> None:
        for name, (value, message) in BAD_VALUES.items():
            options = tap.Options()
            argv = [f"--{name}", value] if name == "config" else [
                "--config", str(PROTOCOL), f"--{name}", value]
            error = self.assertRaises(usage.UsageError, options.parseOptions, argv)
            self.assertIn(message, str(error), name)


class AssumeValidOptionTests(SynchronousTestCase):
    """
    --assume-valid replaces the protocol file's AssumeValid; none turns it off.
    """

    def settings(self, *argv: str, document: dict[str, Any] | None = None) -> Any:
        config = str(PROTOCOL)
        if document is not None:
            path = Path(self.mktemp())
            path.write_text(json.dumps(document), encoding="utf-8")
            config = str(path)
        options = tap.Options()
        options.parseOptions(["--config", config, *argv])
        return options["settings"].assume_valid

    def test_option(self) -> None:
        hash_ = "0x" + "cd" * 32
        self.assertIsNone(self.settings())
        self.assertEqual(str(self.settings("--assume-valid", f"77:{hash_}")), f"77:{hash_}")
        document = json.loads(PROTOCOL.read_text(encoding="utf-8"))
        document["ProtocolConfiguration"]["AssumeValid"] = {"Height": 9, "Hash": hash_}
        self.assertEqual(str(self.settings(document=document)), f"9:{hash_}")
        self.assertEqual(str(self.settings("--assume-valid", f"10:{hash_}", document=document)),
                         f"10:{hash_}")
        self.assertIsNone(self.settings("--assume-valid", "none", document=document))


class MakeServiceTests(SynchronousTestCase):
    """
    The service tree built from the options (built, not started).
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.datadir = Path(self.mktemp())

    def build(self, *argv: str) -> NodeService:
        options = tap.Options()
        options.parseOptions(["--config", str(PROTOCOL), "--datadir", str(self.datadir),
                              *argv])
        top = tap.makeService(options, reactor=self.reactor)
        assert isinstance(top, NodeService)
        return top

    def built_config(self, *argv: str) -> NodeConfig:
        """
        The L{NodeConfig} that C{makeService} hands to C{make_node_service}
        (which stays replaced for the rest of the test).
        """
        configs: list[NodeConfig] = []

        def capture(settings: Any, config: NodeConfig, reactor: Any = None) -> MultiService:
            self.assertIs(reactor, self.reactor)
            configs.append(config)
            return MultiService()  # type: ignore[no-untyped-call]

        self.patch(node_service, "make_node_service", capture)
        options = tap.Options()
        options.parseOptions(["--config", str(PROTOCOL), "--datadir", str(self.datadir),
                              *argv])
        tap.makeService(options, reactor=self.reactor)
        [config] = configs
        return config

    def connections(self, top: NodeService) -> ConnectionService:
        connections = top.node.connections
        assert isinstance(connections, ConnectionService)
        return connections

    def test_children(self) -> None:
        """
        The node service is a L{MultiService} of the ledger, the memory pool, the
        payload decoder, the connections, the node's timer and the progress line's, in
        that (starting) order; the data directory exists.
        """
        top = self.build()
        self.assertIsInstance(top, MultiService)
        children = list(top)
        self.assertEqual([type(child) for child in children],
                         [LedgerService, MempoolService, PayloadDecoder, ConnectionService,
                          TimerService, TimerService])
        self.assertIs(children[3], top.node.connections)
        self.assertIs(children[1], top.node.mempool)
        self.assertIsNone(top.rpc)
        self.assertFalse(top.running)
        self.assertTrue(self.datadir.is_dir())

    def test_validator(self) -> None:
        """
        A validator's tree adds the consensus service, after the connections.
        """
        top = self.build("--validator-key", str(DEVKEYS / "privnet-validator-1.wif"))
        self.assertEqual([type(child) for child in top],
                         [LedgerService, MempoolService, PayloadDecoder, ConnectionService,
                          ConsensusService, TimerService, TimerService])
        self.assertIs(list(top)[4], top.consensus)
        self.assertIsNone(self.build().consensus)

    def test_seedsFromProtocolFile(self) -> None:
        """
        Without C{--seed} the node dials the protocol file's C{SeedList}.
        """
        seeds = load_protocol(PROTOCOL).seed_list
        self.assertTrue(seeds)
        self.assertEqual(self.connections(self.build()).seeds,
                         [Endpoint.parse(seed) for seed in seeds])

    def test_seedsReplaced(self) -> None:
        """
        C{--seed} replaces the protocol file's seeds altogether.
        """
        connections = self.connections(self.build("--seed", "10.1.2.3:30333",
                                                  "--seed", "10.1.2.4:30334"))
        self.assertEqual(connections.seeds, [Endpoint("10.1.2.3", 30333),
                                             Endpoint("10.1.2.4", 30334)])

    def test_limitsAndListening(self) -> None:
        """
        Limits, the port and the peers file reach the connection service.
        """
        connections = self.connections(self.build(
            "--port", "0", "--interface", "127.0.0.1", "--min-peers", "2",
            "--max-peers", "7", "--max-per-address", "1"))
        self.assertEqual(
            (connections.listen_port, connections.listen_interface, connections.min_peers,
             connections.max_peers, connections.max_per_address),
            (0, "127.0.0.1", 2, 7, 1))
        self.assertEqual(connections.peers_path, self.datadir / "peers.dat")

    def test_rpc(self) -> None:
        """
        C{--rpc-port} adds the RPC server, after the connections (it reads from them).
        """
        top = self.build("--rpc-port", "0", "--rpc-bind", "0.0.0.0")
        children = list(top)
        self.assertEqual([type(child) for child in children],
                         [LedgerService, MempoolService, PayloadDecoder, ConnectionService,
                          RpcService, TimerService, TimerService])
        self.assertIs(children[4], top.rpc)
        self.assertEqual(top.rpc.scheme, "http")  # type: ignore[union-attr]
        cert, key = make_test_ca().write(Path(self.mktemp()))
        top = self.build("--rpc-port", "0", "--rpc-tls-cert", str(cert), "--rpc-tls-key",
                         str(key))
        self.assertEqual(top.rpc.scheme, "https")  # type: ignore[union-attr]

    def test_metrics(self) -> None:
        """
        C{--metrics-port} adds the Prometheus endpoint, after RPC; the options reach
        the L{NodeConfig}.
        """
        top = self.build("--rpc-port", "0", "--metrics-port", "0")
        children = list(top)
        self.assertEqual([type(child) for child in children][4:6], [RpcService, RpcService])
        self.assertIs(children[5], top.metrics)
        self.assertEqual((top.metrics.name, top.metrics.label),  # type: ignore[union-attr]
                         ("metrics", "metrics"))
        config = self.built_config("--metrics-port", "9100", "--metrics-bind", "::",
                                   "--progress-interval", "30")
        self.assertEqual((config.metrics_port, config.metrics_bind, config.progress_interval),
                         (9100, "::", 30.0))

    def test_mempoolAndRpcConfig(self) -> None:
        """
        The pool and RPC options reach the L{NodeConfig}; 0 threads means one per core.
        """
        config = self.built_config("--mempool-size", "10", "--verify-threads", "3",
                                   "--rpc-port", "10332", "--rpc-bind", "::1",
                                   "--mempool-mb", "3")
        self.assertEqual((config.mempool_capacity, config.verify_threads, config.rpc_port,
                          config.rpc_bind, config.rpc_tls_cert, config.mempool_capacity_bytes),
                         (10, 3, 10332, "::1", None, 3 * 1024 * 1024))
        self.assertIsNone(self.built_config().verify_threads)

    def test_rpcAccessConfig(self) -> None:
        """
        The access options reach the L{NodeConfig} and the server built from it.
        """
        top = self.build("--rpc-port", "0", "--rpc-disable", "getpeers")
        assert top.rpc is not None
        resource = top.rpc.site.resource.original  # type: ignore[attr-defined]
        self.assertEqual(resource.disabled, frozenset({"getpeers"}))
        self.assertIn("getrawmempool", resource.estimates)
        config = self.built_config("--rpc-port", "0", "--rpc-disable", "getpeers",
                                   "--rpc-allow-get", "--rpc-max-answer", "4096")
        self.assertEqual((config.rpc_access.disabled, config.rpc_access.allow_get,
                          config.rpc_max_answer), (frozenset({"getpeers"}), True, 4096))

    def test_noListen(self) -> None:
        """
        C{--no-listen} builds a config with no port, and the service listens nowhere.
        """
        self.assertIsNone(self.connections(self.build("--no-listen")).listen_port)
        self.assertIsNone(self.built_config("--no-listen").port)

    def test_disciplineOptions(self) -> None:
        """
        C{--ban} refuses an IP from the start, C{--whitelist} protects one from the
        fault table, C{--allow-private-addresses} lets C{addr} teach private ones.
        """
        connections = self.connections(self.build(
            "--ban", "203.0.113.9", "--ban", "203.0.113.10", "--whitelist", "10.1.0.0/16",
            "--allow-private-addresses"))
        discipline = connections.discipline
        self.assertEqual(sorted(discipline.bans(0)), ["203.0.113.10", "203.0.113.9"])
        self.assertTrue(discipline.is_banned("203.0.113.9", 1e12))
        self.assertTrue(discipline.protected("10.1.2.3"))
        self.assertFalse(discipline.protected("10.2.0.1"))
        self.assertTrue(connections.exchange.allow_private)
        plain = self.connections(self.build())
        self.assertFalse(plain.exchange.allow_private)
        self.assertEqual(plain.discipline.bans(0), {})

    def test_noPeersFile(self) -> None:
        """
        C{--no-peers-file} leaves C{peers.dat} alone.
        """
        self.assertIsNone(self.connections(self.build("--no-peers-file")).peers_path)
        self.assertFalse(self.built_config("--no-peers-file").peers_file)

    def test_config(self) -> None:
        """
        The options map one to one onto the L{NodeConfig}.
        """
        config = self.built_config("--port", "4000", "--user-agent", "/ua/",
                                   "--seed", "10.0.0.9:1")
        self.assertEqual(config, NodeConfig(
            datadir=self.datadir, port=4000, interface="", seeds=("10.0.0.9:1",),
            min_peers=10, max_peers=40, max_per_address=3, user_agent="/ua/",
            peers_file=True))


class LogFormatTests(SynchronousTestCase):
    """
    C{--log-format json} through twistd's own command line: its observer goes where
    twistd's text log would.
    """

    def server_options(self, *argv: str) -> Any:
        from twisted.scripts.twistd import ServerOptions
        options = ServerOptions()
        options.parseOptions([*argv, "neonode", "--config", str(PROTOCOL),
                              "--log-format", "json"])
        return options

    def test_jsonToLogfile(self) -> None:
        import json

        from twisted.logger import Logger
        path = Path(self.mktemp())
        options = self.server_options("--nodaemon", f"--logfile={path}")
        from neo_twisted.node.logs import json_observer
        self.assertIs(options["logger"], json_observer)
        observer = options["logger"]()
        Logger(observer=observer).info("synced {height}", height=7)
        event = json.loads(path.read_text().strip())
        self.assertEqual((event["log_format"], event["height"], event["log_text"]),
                         ("synced {height}", 7, "synced 7"))

    def test_jsonToStdoutWhenNodaemon(self) -> None:
        import sys

        from neo_twisted.node import logs
        self.server_options("--nodaemon")
        self.assertIs(logs._chosen._destination(), sys.stdout)

    def test_jsonConflicts(self) -> None:
        error = self.assertRaises(usage.UsageError, self.server_options, "--nodaemon",
                                  "--logger=twisted.logger.textFileLogObserver")
        self.assertIn("--logger", str(error))


class PluginTests(SynchronousTestCase):
    """
    twistd finds the node through C{twisted/plugins/neonode_plugin.py}.
    """

    def test_discoverable(self) -> None:
        """
        A service maker named C{neonode} is among the twistd plugins, and its
        options are L{tap.Options}.
        """
        makers = {maker.tapname: maker for maker in getPlugins(IServiceMaker)}
        self.assertIn("neonode", makers)
        maker = makers["neonode"]
        self.assertIs(maker.options, tap.Options)
        self.assertIsInstance(maker.options(), tap.Options)
        self.assertIn("NEO", maker.description)
