"""
Tests for L{neo_twisted.node.tap}: the service tree the options of C{twistd neonode}
build, its JSON log format through twistd's command line, and the plugin that makes
twistd find it.

The tree is only built here, never started: starting the ledger opens LMDB and
starts real thread pools (the running node is covered by the end-to-end tests).
The options themselves are in L{tests.unit.test_node_tap_options}.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from twisted.application.internet import TimerService
from twisted.application.service import IServiceMaker, MultiService
from twisted.internet.testing import MemoryReactorClock
from twisted.plugin import getPlugins
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.consensus.service import ConsensusService
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.ledger.verifiers import VerifierService
from neo_twisted.mempool.service import MempoolService
from neo_twisted.node import service as node_service
from neo_twisted.node import tap
from neo_twisted.node.service import NodeConfig, NodeService
from neo_twisted.p2p.connections import ConnectionService
from neo_twisted.p2p.decoding import PayloadDecoder
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.reactors import INodeReactor
from neo_twisted.rpc.service import RpcService
from tests.support.node_tap_helpers import DEVKEYS, PROTOCOL
from tests.support.tls_samples import make_test_ca


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
        top = tap.makeService(options, reactor=cast(INodeReactor, self.reactor))
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
            return MultiService()

        self.patch(node_service, "make_node_service", capture)
        options = tap.Options()
        options.parseOptions(["--config", str(PROTOCOL), "--datadir", str(self.datadir),
                              *argv])
        tap.makeService(options, reactor=cast(INodeReactor, self.reactor))
        [config] = configs
        return config

    def connections(self, top: NodeService) -> ConnectionService:
        connections = top.node.connections
        assert isinstance(connections, ConnectionService)
        return connections

    def test_children(self) -> None:
        """
        The node service is a L{MultiService} of the verifier processes, the ledger,
        the memory pool, the payload decoder, the connections, the node's timer and
        the progress line's, in that (starting) order; the data directory exists.
        """
        top = self.build()
        self.assertIsInstance(top, MultiService)
        children = list(top)
        self.assertEqual([type(child) for child in children],
                         [VerifierService, LedgerService, MempoolService, PayloadDecoder,
                          ConnectionService, TimerService, TimerService])
        self.assertIs(children[4], top.node.connections)
        self.assertIs(children[2], top.node.mempool)
        self.assertIsNone(top.rpc)
        self.assertFalse(top.running)
        self.assertTrue(self.datadir.is_dir())

    def test_validator(self) -> None:
        """
        A validator's tree adds the consensus service, after the connections.
        """
        top = self.build("--allow-readable-key", "--validator-key",
                         str(DEVKEYS / "privnet-validator-1.wif"))
        self.assertEqual([type(child) for child in top],
                         [VerifierService, LedgerService, MempoolService, PayloadDecoder,
                          ConnectionService, ConsensusService, TimerService, TimerService])
        self.assertIs(list(top)[5], top.consensus)
        self.assertIsNone(self.build().consensus)

    def test_seeds_from_protocol_file(self) -> None:
        """
        Without C{--seed} the node dials the protocol file's C{SeedList}.
        """
        seeds = load_protocol(PROTOCOL).seed_list
        self.assertTrue(seeds)
        self.assertEqual(self.connections(self.build()).seeds,
                         [Endpoint.parse(seed) for seed in seeds])

    def test_seeds_replaced(self) -> None:
        """
        C{--seed} replaces the protocol file's seeds altogether.
        """
        connections = self.connections(self.build("--seed", "10.1.2.3:30333",
                                                  "--seed", "10.1.2.4:30334"))
        self.assertEqual(connections.seeds, [Endpoint("10.1.2.3", 30333),
                                             Endpoint("10.1.2.4", 30334)])

    def test_limits_and_listening(self) -> None:
        """
        Limits, where to listen and the peers file reach the connection service.
        """
        connections = self.connections(self.build(
            "--port", "0", "--interface", "127.0.0.1", "--min-peers", "2",
            "--max-peers", "7", "--max-per-address", "1"))
        self.assertEqual(
            (connections.listen, connections.min_peers, connections.max_peers,
             connections.max_per_address),
            (("tcp:0:interface=127.0.0.1",), 2, 7, 1))
        both = self.connections(self.build("--listen", "tcp:0:interface=127.0.0.1",
                                           "--listen", "tcp:0:interface=\\:\\:1"))
        self.assertEqual([listener.description for listener in both.listeners.listeners],
                         ["tcp:0:interface=127.0.0.1", "tcp:0:interface=\\:\\:1"])
        self.assertEqual(connections.peers_path, self.datadir / "peers.dat")

    def test_rpc(self) -> None:
        """
        C{--rpc-port} adds the RPC server, after the connections (it reads from them).
        """
        top = self.build("--rpc-port", "0", "--rpc-bind", "0.0.0.0")
        children = list(top)
        self.assertEqual([type(child) for child in children],
                         [VerifierService, LedgerService, MempoolService, PayloadDecoder,
                          ConnectionService, RpcService, TimerService, TimerService])
        self.assertIs(children[5], top.rpc)
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
        self.assertEqual([type(child) for child in children][5:7], [RpcService, RpcService])
        self.assertIs(children[6], top.metrics)
        self.assertEqual((top.metrics.name, top.metrics.label),  # type: ignore[union-attr]
                         ("metrics", "metrics"))
        config = self.built_config("--metrics-port", "9100", "--metrics-bind", "::",
                                   "--progress-interval", "30")
        self.assertEqual((config.metrics_description(), config.progress_interval),
                         ("tcp:9100:interface=\\:\\:", 30.0))

    def test_mempool_and_rpc_config(self) -> None:
        """
        The pool and RPC options reach the L{NodeConfig}; 0 threads means one per core.
        """
        config = self.built_config("--mempool-size", "10", "--verify-threads", "3",
                                   "--rpc-port", "10332", "--rpc-bind", "::1",
                                   "--mempool-mb", "3")
        self.assertEqual((config.mempool_capacity, config.verify_threads,
                          config.rpc_description(), config.mempool_capacity_bytes),
                         (10, 3, "tcp:10332:interface=\\:\\:1", 3 * 1024 * 1024))
        self.assertIsNone(self.built_config().verify_threads)

    def test_rpc_access_config(self) -> None:
        """
        The access options reach the L{NodeConfig} and the server built from it.
        """
        top = self.build("--rpc-port", "0", "--rpc-disable", "getpeers")
        assert top.rpc is not None
        resource = top.rpc.site.resource.original
        self.assertEqual(resource.disabled, frozenset({"getpeers"}))
        self.assertIn("getrawmempool", resource.estimates)
        config = self.built_config("--rpc-port", "0", "--rpc-disable", "getpeers",
                                   "--rpc-allow-get", "--rpc-max-answer", "4096")
        self.assertEqual((config.rpc_access.disabled, config.rpc_access.allow_get,
                          config.rpc_max_answer), (frozenset({"getpeers"}), True, 4096))

    def test_no_listen(self) -> None:
        """
        C{--no-listen} builds a config with nowhere to listen, and the service has no
        listener.
        """
        connections = self.connections(self.build("--no-listen"))
        self.assertEqual((connections.listen, connections.listeners.listeners), ((), []))
        self.assertEqual(self.built_config("--no-listen").p2p_descriptions(), ())

    def test_discipline_options(self) -> None:
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

    def test_no_peers_file(self) -> None:
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
            datadir=self.datadir, listen=("tcp:4000",), seeds=("10.0.0.9:1",),
            min_peers=10, max_peers=40, max_per_address=3, user_agent="/ua/",
            peers_file=True))


class TuningTests(SynchronousTestCase):
    """
    The interpreter's settings are the twistd process's: C{makeService} has them
    applied when the reactor runs, and dropped once it has shut down.
    """

    def test_applied_for_the_run(self) -> None:
        import gc
        import sys

        from neo_twisted.tuning import SWITCH_INTERVAL
        before = (sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count())
        self.addCleanup(gc.set_threshold, *before[1])
        self.addCleanup(sys.setswitchinterval, before[0])
        reactor = MemoryReactorClock()
        options = tap.Options()
        options.parseOptions(["--config", str(PROTOCOL), "--datadir", self.mktemp()])
        tap.makeService(options, reactor=cast(INodeReactor, reactor))
        self.assertEqual((sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count()),
                         before)
        reactor.run()
        self.assertEqual(sys.getswitchinterval(), SWITCH_INTERVAL)
        self.assertGreater(gc.get_freeze_count(), 0)
        for call, args, kwargs in reactor.triggers["after"]["shutdown"]:
            call(*args, **kwargs)
        self.assertEqual((sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count()),
                         before)


class LogFormatTests(SynchronousTestCase):
    """
    C{--log-format json} through twistd's own command line: its observer goes where
    twistd's text log would.
    """

    def server_options(self, *argv: str) -> Any:
        from twisted.scripts.twistd import ServerOptions  # type: ignore[attr-defined]
        options = ServerOptions()
        options.parseOptions([*argv, "neonode", "--config", str(PROTOCOL),
                              "--log-format", "json"])
        return options

    def test_json_to_logfile(self) -> None:
        import json

        from twisted.logger import Logger
        path = Path(self.mktemp())
        options = self.server_options("--nodaemon", f"--logfile={path}")
        from neo_twisted.node.logs import json_observer
        self.assertIs(options["logger"], json_observer)
        observer = options["logger"]()
        Logger(observer=observer).info("synced {height}", height=7)
        event = json.loads(path.read_text().strip())
        self.assertEqual((event["level"], event["height"], event["message"]),
                         ("info", 7, "synced 7"))

    def test_json_to_stdout_when_nodaemon(self) -> None:
        import sys

        from neo_twisted.node import logs
        self.server_options("--nodaemon")
        self.assertIs(logs._chosen._destination(), sys.stdout)

    def test_json_conflicts(self) -> None:
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
