"""
The churning network (L{tests.support.soak_network}): 20 real nodes, 4 of them validators, on
loopback; relays stop and restart at random while transactions go to random nodes.

At the end every node holds the same chain, every transaction sent is in a block on
every node and reached every node that ran throughout (its pool, or, when a block took
it first, at least its connections), and no block or
transaction crossed any connection twice. The short form (in C{make test}) churns for
C{NEO_SOAK_SECONDS} (default 20 s); C{make soak} runs it for ten minutes.
"""

from __future__ import annotations

import os
import random
from collections.abc import Generator
from typing import Any

from twisted.internet import defer, reactor, task
from twisted.logger import Logger
from twisted.trial.unittest import TestCase

from tests.support.node_cluster import wait_until
from tests.support.soak_network import SoakNetwork, split_genesis_neo

SECONDS = float(os.environ.get("NEO_SOAK_SECONDS", "20"))
#: Transfers the run may send: one output of the split transaction each.
TRANSFERS = max(20, int(SECONDS * 2))

_log = Logger()


class ChurnTests(TestCase):
    timeout = SECONDS * 3 + 300

    @defer.inlineCallbacks
    def test_churning_network(self) -> Generator[defer.Deferred[Any], Any, None]:
        seed = int(os.environ.get("NEO_SOAK_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)
        network = SoakNetwork(self, rng)
        network.start_all()
        yield wait_until(lambda: min(n.height for n in network.nodes) >= 2,
                         "the validators' first blocks everywhere", timeout=120,
                         describe=lambda: str({n.name: n.height for n in network.nodes}))
        split = split_genesis_neo(TRANSFERS)
        yield network.send(split)
        yield wait_until(lambda: all(n.confirmed(split.hash) for n in network.running),
                         "the split transaction in a block everywhere", timeout=60)
        never_stopped = set(network.nodes)
        deadline = reactor.seconds() + SECONDS
        sent = 0
        while reactor.seconds() < deadline:
            if rng.random() < 0.3:
                before = {n for n in network.relays if n.running}
                yield network.churn()
                never_stopped -= before - {n for n in network.relays if n.running}
            elif sent < TRANSFERS:
                yield network.send(network.transfer(split, sent))
                sent += 1
            yield task.deferLater(reactor, rng.uniform(0.1, 0.6), lambda: None)
        for node in network.nodes:
            if not node.running:
                network.start(node)
        transfers = [txid for txid in network.sent if txid != split.hash]

        def settled() -> bool:
            tip = max(n.height for n in network.nodes)
            return (all(n.height == tip for n in network.nodes)
                    and all(n.confirmed(txid) for n in network.nodes for txid in transfers))

        def state() -> str:
            unconfirmed = {str(txid)[:10]: network.sent[txid] for txid in transfers
                           if not all(n.confirmed(txid) for n in network.nodes)}
            return (f"seed {seed}; heights {({n.name: n.height for n in network.nodes})}; "
                    f"unconfirmed (sent at, to, its peers): {unconfirmed}")

        yield wait_until(settled, "every node at one tip with every transfer confirmed",
                         timeout=180, describe=state)
        tip = network.nodes[0].height
        chain = network.nodes[0].block_hashes(tip)
        for node in network.nodes[1:]:
            self.assertEqual(node.block_hashes(tip), chain, f"seed {seed}: {node} differs")
        for node in never_stopped:
            missing = set(transfers) - node.reached
            self.assertEqual(missing, set(), f"seed {seed}: never reached {node} "
                             f"(announced to it: {missing & node.announced})")
        twice = {(node.name, key): count for node in network.nodes
                 for key, count in node.crossings.items() if count > 1}
        self.assertEqual(twice, {}, f"seed {seed}: crossed a connection twice")
        crossings = sum(sum(n.crossings.values()) for n in network.nodes)
        _log.info("soak seed {seed}: {seconds:g} s, {nodes} nodes, {stops} stops, "
                  "{restarts} restarts, {sent} transfers, tip {tip}, {crossings} crossings",
                  seed=seed, seconds=SECONDS, nodes=len(network.nodes), stops=network.stops,
                  restarts=network.restarts, sent=len(transfers), tip=tip,
                  crossings=crossings)
        self.assertGreater(network.stops, 0)
        self.assertGreater(len(transfers), 0)
