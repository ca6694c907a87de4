"""
Real nodes on loopback TCP for end-to-end tests: chain templates, start/stop, waiting.

Nodes run in the test's process on trial's reactor, each with its own LMDB data
directory, ledger threads and listening port (0: the system picks one). Waiting is
on real events: a condition is polled on the reactor until it holds or a deadline
passes, and a timeout fails the test with the condition's description.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from twisted.internet import defer, reactor, task
from twisted.trial.unittest import TestCase

from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.generator import generate_chain
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.node.service import NodeConfig, NodeService, make_node_service
from neo_twisted.reactors import global_reactor
from tests.support.ledger_samples import DEV_KEYS, PRIVNET

#: Blocks of the chain the first node of an end-to-end test holds.
CHAIN_LENGTH = 2500
#: The generator seed of every chain template (to rebuild its accounts' coins).
CHAIN_SEED = 7
_templates: dict[int, Path] = {}


def chain_template(blocks: int = CHAIN_LENGTH) -> Path:
    """
    A data directory holding a generated privnet chain of C{blocks} blocks (one
    transaction each besides the miner's), made once per test process, to be copied.
    """
    if blocks not in _templates:
        datadir = Path(tempfile.mkdtemp(prefix=f"neo-chain-{blocks}-"))
        atexit.register(shutil.rmtree, datadir, True)  # each test process made its own
        ledger = Ledger.open(datadir, PRIVNET)
        try:
            batch = []
            for block in generate_chain(PRIVNET, DEV_KEYS, blocks, 1, seed=CHAIN_SEED):
                batch.append(block)
                if len(batch) == 500:
                    ledger.add_blocks(batch)
                    batch = []
            ledger.add_blocks(batch)
            assert ledger.block_height == blocks, ledger.block_height
        finally:
            ledger.close()
        _templates[blocks] = datadir
    return _templates[blocks]


class Cluster:
    """
    The nodes of one test: started on demand, all stopped at the test's end.
    """

    def __init__(self, case: TestCase) -> None:
        self._case = case
        self.nodes: dict[str, NodeService] = {}
        self.datadirs: dict[str, Path] = {}
        case.addCleanup(self.stop_all)

    def datadir(self, name: str, chain: int = 0) -> Path:
        """
        The data directory of node C{name}: new, or a copy of a chain template.
        """
        if name not in self.datadirs:
            path = Path(self._case.mktemp())
            if chain:
                shutil.copytree(chain_template(chain), path)
            else:
                path.mkdir(parents=True)
            self.datadirs[name] = path
        return self.datadirs[name]

    def start(self, name: str, *, chain: int = 0, seeds: Sequence[str | NodeService] = (),
              settings: ProtocolSettings = PRIVNET, **options: Any) -> NodeService:
        config = NodeConfig(
            datadir=self.datadir(name, chain), port=options.pop("port", 0),
            interface="127.0.0.1", seeds=tuple(self.endpoint(s) if isinstance(s, NodeService)
                                               else s for s in seeds),
            tick_interval=options.pop("tick_interval", 0.5),
            maintenance_interval=options.pop("maintenance_interval", 0.5),
            # every node is on 127.0.0.1: the per-address limit would cap the mesh at 3
            max_per_address=options.pop("max_per_address", 20),
            # the nodes tell each other their 127.0.0.1 listeners
            allow_private_addresses=options.pop("allow_private_addresses", True),
            user_agent=f"/neo_twisted-test:{name}/", **options)
        node = make_node_service(settings, config, reactor=global_reactor())
        node.startService()
        self.nodes[name] = node
        return node

    @staticmethod
    def endpoint(node: NodeService) -> str:
        return f"127.0.0.1:{node.node.connections.listening_port}"

    def stop(self, name: str) -> defer.Deferred[Any]:
        node = self.nodes.pop(name)
        return defer.maybeDeferred(node.stopService)

    def stop_all(self) -> defer.Deferred[Any]:
        return defer.gatherResults([self.stop(name) for name in list(self.nodes)])


@defer.inlineCallbacks
def wait_until(condition: Callable[[], bool], what: str, timeout: float = 120.0,
               interval: float = 0.02, describe: Callable[[], str] | None = None) -> Any:
    """
    Poll C{condition} on the reactor until it is true; fail after C{timeout} seconds
    (saying what C{describe} returns about the state then).
    """
    deadline = reactor.seconds() + timeout
    while not condition():
        if reactor.seconds() > deadline:
            state = f" ({describe()})" if describe is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{state}")
        yield task.deferLater(reactor, interval, lambda: None)


def stop_if_running(loop: task.LoopingCall) -> None:
    """
    Stop C{loop} unless it stopped already (a cleanup after a test that may stop it).
    """
    if loop.running:
        loop.stop()


def heights(node: NodeService) -> tuple[int, int]:
    """
    (header height, block height) of a running node.
    """
    return node.node.header_height, node.node.block_height


def peer_ports(node: NodeService) -> set[int]:
    """
    The listening ports of the peers a node is established with.
    """
    return {peer.listener.port for peer in node.node.established_peers()
            if peer.listener is not None}
