"""
A churning network for the soak test: 20 nodes (4 of them validators making a block a
second by dBFT) on loopback in one process, in a random topology, with relays stopped
and restarted at random while transactions go to random nodes by RPC.

Every node records what crosses each of its connections (blocks and transactions, by
hash), and which transactions entered its pool, so that the test can check at the end
that nothing crossed a connection twice and every transaction reached every pool.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from neo_twisted.consensus.keyfile import load_validator_key
from neo_twisted.core.components import CoinReference, TransactionOutput
from neo_twisted.core.transaction import MAX_TRANSACTION_SIZE, Transaction
from neo_twisted.core.transactions import NEO_ASSET_ID, ContractTransaction
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.generator import account_keys, signed_transfer
from neo_twisted.ledger.service import LedgerService
from neo_twisted.network.payloads import InventoryType
from neo_twisted.node.service import NodeConfig, NodeService, make_node_service
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.reactors import global_reactor
from neo_twisted.wire.fixed8 import FIXED8_ONE
from neo_twisted.wire.uint import UInt256
from tests.support.ledger_samples import PRIVNET, PRIVNET_GENESIS, ROOT
from tests.support.mempool_samples import HOLDER_KEYS, HOLDER_SCRIPT, signed
from tests.support.rpc_client import rpc_call

#: The bundled privnet with a block a second (the genesis block does not depend on it);
#: its policy lets the split transaction (one output per transfer, no fee: the chain
#: has no GAS to pay with) pass as free.
SOAK_SETTINGS = attrs.evolve(PRIVNET, seconds_per_block=1, policy=attrs.evolve(
    PRIVNET.policy, max_free_transaction_size=MAX_TRANSACTION_SIZE))
#: The account the soak's transfers pay, one output of the first transfer each.
PAYEE = account_keys(2026, 1)[0]


def split_genesis_neo(outputs: int) -> Transaction:
    """
    The genesis NEO, from the validators' majority multisig to C{outputs} equal
    outputs of L{PAYEE}, each the coin of one later transfer.
    """
    issue = PRIVNET_GENESIS.transactions[3]
    [output] = issue.outputs
    share = output.value // FIXED8_ONE // outputs * FIXED8_ONE  # NEO is indivisible
    values = [share] * (outputs - 1) + [output.value - share * (outputs - 1)]
    tx = ContractTransaction(
        inputs=(CoinReference(issue.hash, 0),),
        outputs=tuple(TransactionOutput(NEO_ASSET_ID, v, PAYEE.script_hash) for v in values))
    return signed(tx, multisig=(HOLDER_SCRIPT, HOLDER_KEYS))


class SoakNode:
    """
    One node of the network: its data directory survives its restarts.
    """

    def __init__(self, case: TestCase, name: str, validator: KeyPair | None) -> None:
        self.name = name
        self.validator = validator
        self.datadir = Path(case.mktemp()).resolve()
        self.service: NodeService | None = None
        #: (connection number, command, hash) -> times received.
        self.crossings: Counter[tuple[int, str, UInt256]] = Counter()
        #: Transactions that entered this node's pool, and those announced to it.
        self.pooled: set[UInt256] = set()
        self.announced: set[UInt256] = set()
        self.starts = 0
        self._links: dict[IPeer, int] = {}

    @property
    def running(self) -> bool:
        return self.service is not None

    @property
    def endpoint(self) -> str:
        assert self.service is not None
        return f"127.0.0.1:{self.service.node.connections.listening_port}"

    @property
    def rpc_port(self) -> int:
        assert self.service is not None and self.service.rpc is not None
        port = self.service.rpc.port
        assert port is not None
        return port

    @property
    def height(self) -> int:
        return -1 if self.service is None else self.service.node.block_height

    def start(self, seeds: list[str]) -> None:
        config = NodeConfig(
            datadir=self.datadir, port=0, interface="127.0.0.1", seeds=tuple(seeds),
            min_peers=3, max_peers=10, max_per_address=30, rpc_port=0, verify_threads=1,
            user_agent=f"/soak:{self.name}/", tick_interval=0.5, maintenance_interval=0.5,
            validator=self.validator, peers_file=True, allow_private_addresses=True)
        ledger = LedgerService(self.datadir, SOAK_SETTINGS, reactor=global_reactor())
        service = make_node_service(SOAK_SETTINGS, config, reactor=global_reactor(),
                                    ledger=ledger)
        self._record(service)
        service.startService()
        self.service = service
        self.starts += 1

    def _record(self, service: NodeService) -> None:
        """
        Count every block and transaction each connection delivers, by hash.
        """
        policy = service.node
        deliver = policy.message_received
        links = self._links

        def recording(peer: IPeer, command: str, payload: Any) -> None:
            if command == "inv" and payload.type is InventoryType.TX:
                self.announced.update(payload.hashes)
            if command in ("block", "tx"):
                link = links.setdefault(peer, len(links) + 1000 * self.starts)
                self.crossings[link, command, payload.hash] += 1
            deliver(peer, command, payload)

        policy.message_received = recording  # type: ignore[method-assign]
        assert policy.mempool is not None
        policy.mempool.add_listener(
            lambda txs, sender: self.pooled.update(tx.hash for tx in txs))

    @property
    def reached(self) -> set[UInt256]:
        """
        The transactions that reached this node: into its pool, or (confirmed by the
        time it asked for them) over one of its connections.
        """
        return self.pooled | {hash_ for _, command, hash_ in self.crossings if command == "tx"}

    def stop(self) -> defer.Deferred[Any]:
        service, self.service = self.service, None
        assert service is not None
        return defer.maybeDeferred(service.stopService)

    def block_hashes(self, upto: int) -> list[UInt256 | None]:
        assert self.service is not None
        ledger = self.service.node.ledger.ledger
        assert ledger is not None
        return [ledger.get_block_hash(index) for index in range(upto + 1)]

    def confirmed(self, txid: UInt256) -> bool:
        assert self.service is not None
        ledger = self.service.node.ledger.ledger
        return ledger is not None and ledger.get_transaction(txid) is not None

    def __repr__(self) -> str:
        return self.name


class SoakNetwork:
    """
    The nodes, the churn, and the transactions sent.
    """

    def __init__(self, case: TestCase, rng: random.Random, nodes: int = 20,
                 validators: int = 4) -> None:
        self.rng = rng
        keys = [load_validator_key(ROOT / "devkeys" / f"privnet-validator-{i + 1}.wif")
                for i in range(validators)]
        self.nodes = [SoakNode(case, f"v{i + 1}", key) for i, key in enumerate(keys)]
        self.nodes += [SoakNode(case, f"r{i + 1}", None) for i in range(nodes - validators)]
        #: Transactions sent, by hash: when, to which node, and how many peers it had.
        self.sent: dict[UInt256, tuple[float, str, int]] = {}
        self.restarts = 0
        self.stops = 0
        case.addCleanup(self.stop_all)

    @property
    def running(self) -> list[SoakNode]:
        return [node for node in self.nodes if node.running]

    @property
    def relays(self) -> list[SoakNode]:
        return [node for node in self.nodes if node.validator is None]

    def start_all(self) -> None:
        """
        Start every node, each seeded with one or two random nodes started before it.
        """
        for node in self.nodes:
            self.start(node)

    def start(self, node: SoakNode) -> None:
        others = [n.endpoint for n in self.running if n is not node]
        node.start(self.rng.sample(others, min(len(others), self.rng.randint(1, 2))))

    def stop_all(self) -> defer.Deferred[Any]:
        return defer.gatherResults([node.stop() for node in self.running])

    @defer.inlineCallbacks
    def churn(self, max_down: int = 4) -> Any:
        """
        One random change: stop a running relay, or restart a stopped one.
        """
        down = [node for node in self.relays if not node.running]
        if down and (len(down) >= max_down or self.rng.random() < 0.5):
            self.start(self.rng.choice(down))
            self.restarts += 1
        else:
            up = [node for node in self.relays if node.running]
            yield self.rng.choice(up).stop()
            self.stops += 1

    @defer.inlineCallbacks
    def send(self, tx: Transaction) -> Any:
        """
        Send C{tx} by RPC to a random running node; it must be taken.
        """
        node = self.rng.choice(self.running)
        assert node.service is not None
        self.sent[tx.hash] = (reactor.seconds(), node.name,
                              len(node.service.node.established_peers()))
        answer = yield rpc_call(node.rpc_port, "sendrawtransaction", tx.to_bytes().hex())
        if answer.get("result") is not True:
            raise AssertionError(f"{node} refused {tx.hash}: {answer}")

    def transfer(self, split: Transaction, index: int) -> Transaction:
        """
        Output C{index} of the split transaction, paid back to L{PAYEE}.
        """
        value = split.outputs[index].value
        return signed_transfer([CoinReference(split.hash, index)],
                               [TransactionOutput(NEO_ASSET_ID, value, PAYEE.script_hash)],
                               [PAYEE])
