"""
C{twistd neonode --network testnet} (and mainnet) started for real on a memory
reactor: the store gets the network's genesis, the seeds' names are looked up and
dialled on the network's port, and the start-up line says it all.

The service tree is the one twistd builds (L{tap.makeService} from the parsed
options); the reactor is a L{MemoryReactorClock} whose name lookups are recorded.
The ledger's thread pools are real, and stopped at the end of each test.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogEvent, Logger, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted import __version__
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.node import tap
from neo_twisted.node.service import NodeService
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.reactors import INodeReactor
from tests.support.cli_chain_helpers import MAINNET, MAINNET_GENESIS, TESTNET, TESTNET_GENESIS
from tests.support.logs import appending_to


class ResolvingReactor(MemoryReactorClock):
    """
    A memory reactor that answers every name lookup with an address of its own
    (one per name) and records the names asked.
    """

    def __init__(self) -> None:
        super().__init__()
        self.lookups: list[str] = []
        self.answers: dict[str, str] = {}

    def resolve(self, name: str, timeout: Any = None) -> defer.Deferred[str]:
        self.lookups.append(name)
        address = self.answers.setdefault(name, f"198.51.100.{len(self.answers) + 1}")
        return defer.succeed(address)


class NetworkStartTests(SynchronousTestCase):
    """
    A node started with C{--network}, run where no protocol file is (the bundled
    one is found in the package).
    """

    def setUp(self) -> None:
        self.reactor = ResolvingReactor()
        self.events: list[LogEvent] = []
        self.patch(NodeService, "_log", Logger(observer=appending_to(self.events)))
        base = Path(self.mktemp()).resolve()
        base.mkdir(parents=True)
        here = Path.cwd()
        os.chdir(base)
        self.addCleanup(os.chdir, here)
        self.base = base

    def start(self, *argv: str) -> NodeService:
        options = tap.Options()
        options.parseOptions(list(argv))
        top = tap.makeService(options, reactor=cast(INodeReactor, self.reactor))
        assert isinstance(top, NodeService)
        top.startService()

        def stop() -> None:
            self.successResultOf(top.stopService())
        self.addCleanup(stop)
        return top

    def startup_lines(self) -> list[LogEvent]:
        return [event for event in self.events
                if event.get("log_format", "").startswith("neo_twisted {version} started")]

    def check_network(self, top: NodeService, name: str, config: str, genesis: str,
                      port: int, datadir: str) -> None:
        """
        The store holds C{genesis}; the seeds of C{config} are looked up by name and
        dialled at their addresses on C{port}; one start-up line says all that.
        """
        ledger = top.node.ledger.ledger
        assert ledger is not None
        self.assertEqual(str(ledger.get_header(0).hash), genesis)  # type: ignore[union-attr]
        self.assertTrue((self.base / datadir / "chain").is_dir())

        seeds = [Endpoint.parse(seed) for seed in load_protocol(config).seed_list]
        hosts = {seed.host for seed in seeds}
        self.assertTrue(self.reactor.lookups)
        self.assertLessEqual(set(self.reactor.lookups), hosts)
        self.assertTrue(all(not Endpoint(host, 1).is_literal for host in hosts))
        dialled = {(host, dialled_port) for host, dialled_port, *_ in self.reactor.tcpClients}
        self.assertEqual(dialled, {(self.reactor.answers[host], seed.port)
                                   for host in self.reactor.lookups
                                   for seed in seeds if seed.host == host})
        self.assertEqual({seed.port for seed in seeds}, {port})

        [line] = self.startup_lines()
        self.assertEqual(
            (line["version"], line["network"], line["genesis"], line["p2p_port"],
             line["datadir"]),
            (__version__, name, genesis, port, str(self.base / datadir)))
        self.assertEqual(line["magic"], load_protocol(config).magic)
        text = formatEvent(line)
        for part in (f"neo_twisted {__version__}", f"started on {name}", genesis,
                     f"magic {line['magic']}", str(self.base / datadir), f"P2P 0.0.0.0:{port}"):
            self.assertIn(part, text)
        self.assertEqual([port], [listened[0] for listened in self.reactor.tcpServers])

    def test_testnet(self) -> None:
        """
        C{--network testnet}: the testnet genesis, seeds on 20333, C{data-testnet}.
        """
        self.assertFalse((self.base / "protocol.json").exists())
        top = self.start("--network", "testnet")
        self.check_network(top, "testnet", TESTNET, TESTNET_GENESIS, 20333, "data-testnet")

    def test_mainnet(self) -> None:
        """
        C{--network mainnet}: the mainnet genesis, seeds and listening on 10333,
        C{data-mainnet}.
        """
        top = self.start("--network", "mainnet")
        self.check_network(top, "mainnet", MAINNET, MAINNET_GENESIS, 10333, "data-mainnet")

    def test_endpoints(self) -> None:
        """
        The start-up line names every endpoint served: P2P on the interface asked
        for, RPC on the network's port (C{--rpc}), metrics when on.
        """
        self.start("--network", "mainnet", "--interface", "127.0.0.1", "--rpc",
                   "--metrics-port", "9108", "--datadir", "here")
        [line] = self.startup_lines()
        self.assertEqual(line["listening"],
                         "P2P 127.0.0.1:10333, RPC http://127.0.0.1:10332/, "
                         "metrics http://127.0.0.1:9108/metrics")
        self.assertEqual(line["datadir"], str(self.base / "here"))

    def test_not_listening(self) -> None:
        """
        C{--no-listen} says so; a protocol file of another magic is a custom network.
        """
        document = Path(TESTNET).read_text(encoding="utf-8").replace(
            '"Magic": 1953787457', '"Magic": 4242')
        Path("custom.json").write_text(document, encoding="utf-8")
        self.start("--config", "custom.json", "--no-listen")
        [line] = self.startup_lines()
        self.assertEqual((line["network"], line["magic"], line["p2p_port"]),
                         ("custom", 4242, None))
        self.assertIn("P2P not listening", line["listening"])
        self.assertEqual(line["datadir"], str(self.base / "data"))
