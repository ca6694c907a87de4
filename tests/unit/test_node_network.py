"""
Tests for choosing the network of C{twistd neonode} (L{neo_twisted.node.network}):
C{--network}, C{--config} (a protocol file, or neo-cli's C{config.json} through
L{neo_twisted.node.appconfig}), the defaults that follow, and the version options.

Starting a node so chosen is in L{tests.unit.test_node_network_start}.
"""

from __future__ import annotations

import configparser
import io
import json
import sys
from pathlib import Path
from typing import Any

from twisted.logger import LogEvent, Logger, formatEvent
from twisted.python import usage
from twisted.scripts.twistd import ServerOptions  # type: ignore[attr-defined]
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted import __version__, version_text
from neo_twisted.ledger.settings import ConfigError, load_protocol
from neo_twisted.networks import NETWORKS, network_name
from neo_twisted.node import network, tap
from neo_twisted.node.appconfig import read_app_config
from neo_twisted.node.service import NodeConfig
from tests.support.cli_chain_helpers import MAINNET, PRIVNET, TESTNET, run
from tests.support.logs import appending_to

ROOT = Path(__file__).resolve().parents[2]
MAINNET_MAGIC, TESTNET_MAGIC = 7630401, 1953787457

#: neo-cli v2.12.2's neo-cli/config.testnet.json, key for key (values as shipped).
NEO_CLI_CONFIG = {"ApplicationConfiguration": {
    "Paths": {"Chain": "Chain_{0}", "Index": "Index_{0}"},
    "P2P": {"Port": 20333, "WsPort": 20334},
    "RPC": {"BindAddress": "127.0.0.1", "Port": 20332, "SslCert": "", "SslCertPassword": "",
            "ExtraGasInvoke": "0", "MaxConcurrentConnections": "10"},
    "UnlockWallet": {"Path": "", "Password": "", "StartConsensus": False, "IsActive": False},
    "PluginURL": "https://github.com/neo-project/neo-plugins/releases/download/v{1}/{0}.zip",
}}


class Case(SynchronousTestCase):
    def setUp(self) -> None:
        self.events: list[LogEvent] = []
        self.patch(network, "_log", Logger(observer=appending_to(self.events)))

    def parse(self, *argv: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(list(argv))
        return options

    def refused(self, *argv: str) -> str:
        return str(self.assertRaises(usage.UsageError, self.parse, *argv))

    def write(self, document: Any, name: str = "config.json") -> str:
        path = Path(self.mktemp())
        path.mkdir()
        path = path / name
        path.write_text(json.dumps(document), encoding="utf-8")
        return str(path)

    def logged(self) -> list[str]:
        return [formatEvent(event) for event in self.events]


class NetworkOptionTests(Case):
    """
    C{--network} picks the bundled file, neo-cli's ports and a directory apiece.
    """

    def defaults(self, *argv: str) -> tuple[Any, ...]:
        options = self.parse(*argv)
        return (options["settings"].magic, options["port"], options["rpc-port"],
                options["datadir"])

    def test_each_network(self) -> None:
        """
        mainnet: 10333 (RPC 10332 with C{--rpc}), C{data-mainnet}; testnet: 20333
        (20332), C{data-testnet}; the privnet keeps the defaults from before C{--network}:
        20333, C{data}. Without C{--rpc} there is no RPC.
        """
        self.assertEqual(self.defaults("--network", "mainnet"),
                         (MAINNET_MAGIC, 10333, None, Path("data-mainnet")))
        self.assertEqual(self.defaults("--network", "mainnet", "--rpc"),
                         (MAINNET_MAGIC, 10333, 10332, Path("data-mainnet")))
        self.assertEqual(self.defaults("--network", "testnet", "--rpc"),
                         (TESTNET_MAGIC, 20333, 20332, Path("data-testnet")))
        privnet = load_protocol(PRIVNET).magic
        self.assertEqual(self.defaults("-n", "privnet"), (privnet, 20333, None, Path("data")))
        self.assertEqual(self.defaults(), (privnet, 20333, None, Path("data")))

    def test_explicit_options_win(self) -> None:
        """
        C{--port}, C{--rpc-port} and C{--datadir} given are kept, whatever the network.
        """
        self.assertEqual(
            self.defaults("--network", "mainnet", "--rpc", "--port", "30333", "--rpc-port",
                          "0", "--datadir", "/srv/neo"),
            (MAINNET_MAGIC, 30333, 0, Path("/srv/neo")))

    def test_config_names_the_network(self) -> None:
        """
        A protocol file alone: its magic names the network, whose defaults apply
        (mainnet's ports for a mainnet file); another magic gets the privnet's.
        """
        self.assertEqual(self.defaults("--config", MAINNET, "--rpc"),
                         (MAINNET_MAGIC, 10333, 10332, Path("data-mainnet")))
        document = json.loads(Path(MAINNET).read_text(encoding="utf-8"))
        document["ProtocolConfiguration"]["Magic"] = 99
        self.assertEqual(self.defaults("--config", self.write(document, "protocol.json")),
                         (99, 20333, None, Path("data")))
        self.assertEqual((network_name(99), network_name(MAINNET_MAGIC)), ("custom", "mainnet"))

    def test_config_wins(self) -> None:
        """
        C{--config} of the same network as C{--network} is read instead of the bundled
        file (its own keys count); of another magic it is refused, naming both.
        """
        document = json.loads(Path(TESTNET).read_text(encoding="utf-8"))
        document["ProtocolConfiguration"]["SeedList"] = ["node.example:20333"]
        options = self.parse("--network", "testnet", "--config", self.write(document))
        self.assertEqual(options["settings"].seed_list, ("node.example:20333",))
        message = self.refused("--network", "mainnet", "--config", TESTNET)
        for part in (TESTNET, f"magic {TESTNET_MAGIC} (testnet)", "--network mainnet",
                     f"magic {MAINNET_MAGIC}"):
            self.assertIn(part, message)

    def test_bundled_files(self) -> None:
        """
        The bundled files are package data (found wherever the node runs); the
        repository's top-level files are the same ones.
        """
        package = ROOT / "neo_twisted" / "networks"
        for name, net in NETWORKS.items():
            self.assertEqual(Path(net.source()), package / net.protocol_file)
            self.assertEqual((ROOT / net.protocol_file).read_bytes(),
                             (package / net.protocol_file).read_bytes())
            self.assertEqual(network_name(net.load().magic), name)
        manifest = (ROOT / "MANIFEST.in").read_text(encoding="utf-8")
        self.assertIn("neo_twisted/networks/*.json", manifest)


class AppConfigTests(Case):
    """
    neo-cli's C{config.json} as C{--config}: its ports and chain path read, the rest
    named as ignored.
    """

    def test_neo_cli_config(self) -> None:
        """
        The shipped testnet C{config.json} with C{--network testnet}: P2P.Port, RPC.Port,
        RPC.BindAddress and Paths.Chain (magic in eight hex digits, as neo-cli) become
        the options; one line says so, one warning names each key ignored and why.
        """
        options = self.parse("--network", "testnet", "--config", self.write(NEO_CLI_CONFIG))
        self.assertEqual(
            (options["settings"].magic, options["port"], options["rpc-port"],
             options["rpc-bind"], options["datadir"]),
            (TESTNET_MAGIC, 20333, 20332, "127.0.0.1", Path("Chain_74746E41")))
        read, ignored = self.logged()
        self.assertIn("P2P.Port -> --port 20333", read)
        self.assertIn("Paths.Chain -> --datadir Chain_74746E41", read)
        for key in ("P2P.WsPort (no WebSocket transport)", "Paths.Index", "RPC.SslCert",
                    "RPC.ExtraGasInvoke", "UnlockWallet (no wallets", "PluginURL"):
            self.assertIn(key, ignored)

    def test_command_line_wins(self) -> None:
        """
        An option given beats the file's value, and the log says so.
        """
        options = self.parse("--network", "testnet", "--config", self.write(NEO_CLI_CONFIG),
                             "--port", "4000", "--datadir", "mine")
        self.assertEqual((options["port"], options["datadir"], options["rpc-port"]),
                         (4000, Path("mine"), 20332))
        self.assertIn("P2P.Port -> --port 20333 (--port 4000 given: it wins)", self.logged()[0])

    def test_connection_keys(self) -> None:
        """
        The optional P2P keys of neo-cli's Settings.cs map to the peer limits; a
        string number is read as .NET reads it.
        """
        document = {"ApplicationConfiguration": {"P2P": {
            "Port": "10333", "MinDesiredConnections": 4, "MaxConnections": 12,
            "MaxConnectionsPerAddress": 2}}}
        options = self.parse("--network", "mainnet", "--config", self.write(document))
        self.assertEqual((options["port"], options["min-peers"], options["max-peers"],
                          options["max-per-address"], options["rpc-port"]),
                         (10333, 4, 12, 2, None))

    def test_no_network(self) -> None:
        """
        Without C{--network}, C{config.json} is refused: it names no network; the
        message says how its keys map.
        """
        message = self.refused("--config", self.write(NEO_CLI_CONFIG))
        for part in ("neo-cli's config.json", "--network mainnet|testnet|privnet",
                     "P2P.Port is --port", "RPC.Port --rpc-port", "Paths.Chain --datadir"):
            self.assertIn(part, message)

    def test_refused_values(self) -> None:
        """
        What cannot keep its meaning is refused with what to do instead.
        """
        def refused(section: str, key: str, value: Any) -> str:
            document = {"ApplicationConfiguration": {section: {key: value}}}
            return str(self.assertRaises(ConfigError, read_app_config, document, "c.json", 1))

        self.assertIn("convert it to PEM", refused("RPC", "SslCert", "node.pfx"))
        self.assertIn("set --max-peers", refused("P2P", "MaxConnections", -1))
        self.assertIn("c.json: ApplicationConfiguration.P2P.Port: must be a number from 0 to "
                      "65535, got 70000", refused("P2P", "Port", 70000))
        self.assertIn("must be an IP address", refused("RPC", "BindAddress", "localhost"))
        self.assertIn("must be a directory name", refused("Paths", "Chain", ""))
        self.assertIn("--network: 'moonnet'", self.refused("--network", "moonnet"))

    def test_protocol_and_application(self) -> None:
        """
        One file holding both sections: the network from the one, the options from
        the other.
        """
        document = json.loads(Path(MAINNET).read_text(encoding="utf-8")) | {
            "ApplicationConfiguration": {"P2P": {"Port": 10555}}}
        options = self.parse("--config", self.write(document))
        self.assertEqual((options["settings"].magic, options["port"]), (MAINNET_MAGIC, 10555))


class VersionTests(SynchronousTestCase):
    """
    One version, written in C{neo_twisted/__init__.py}, and every place that shows it.
    """

    def captured(self, call: Any) -> str:
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        error = self.assertRaises(SystemExit, call)
        self.assertEqual(error.code, 0)
        return out.getvalue()

    def test_twistd_version(self) -> None:
        """
        C{twistd neonode --version} prints ours, not Twisted's alone.
        """
        text = self.captured(lambda: ServerOptions().parseOptions(["neonode", "--version"]))
        self.assertEqual(text, version_text() + "\n")
        self.assertTrue(text.startswith(f"neo_twisted {__version__} (Twisted "))

    def test_neonode_version(self) -> None:
        """
        C{neonode --version} prints the same.
        """
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        self.assertEqual(run("--version")[0], 0)
        self.assertEqual(out.getvalue(), version_text() + "\n")

    def test_help_and_user_agent(self) -> None:
        """
        C{twistd neonode --help} shows it; the default user agent carries it.
        """
        self.assertIn(f"neo_twisted {__version__}.", str(tap.Options()))
        self.assertEqual(tap.Options()["user-agent"], f"/neo_twisted:{__version__}/")
        self.assertEqual(NodeConfig(datadir=Path("x")).user_agent, f"/neo_twisted:{__version__}/")

    def test_one_source(self) -> None:
        """
        setup.cfg reads the package's C{__version__}; no other file writes it.
        """
        setup = configparser.ConfigParser()
        setup.read(ROOT / "setup.cfg")
        self.assertEqual(setup["metadata"]["version"], "attr: neo_twisted.__version__")
        written = [path for path in (ROOT / "neo_twisted").rglob("*.py")
                   if f'"{__version__}"' in path.read_text(encoding="utf-8")
                   or f"neo_twisted:{__version__}" in path.read_text(encoding="utf-8")]
        self.assertEqual(written, [ROOT / "neo_twisted" / "__init__.py"])
