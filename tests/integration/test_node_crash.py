"""
Crash consistency of a running node: C{twistd neonode} killed with SIGKILL, many times,
while it syncs from a peer, and while its memory pool is busy with RPC transactions.

After each kill: no verifier process of the node is left running, the store passes
C{neonode check}, and nothing committed before was lost (the heights never go back).
After the last restart the node finishes, and its store equals, database by database,
that of a node that synced the same chain without a single interruption.

The kills are keyed to the node's progress (a random height it must have committed
first, alternately of headers and of blocks), plus a random delay of real wall-clock
time, since the node is another process. C{NEO_SOAK=1} kills many more times.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from collections.abc import Generator
from pathlib import Path
from typing import Any

from twisted.internet import defer, reactor, task
from twisted.logger import Logger

from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.transactions import NEO_ASSET_ID
from neo_twisted.ledger.check import check_store, store_info
from neo_twisted.ledger.generator import ChainGenerator, account_keys, signed_transfer
from neo_twisted.ledger.store import StoreError
from tests.support.ledger_samples import DEV_KEYS, PRIVNET
from tests.support.node_cluster import CHAIN_LENGTH, CHAIN_SEED, Cluster, chain_template, wait_until
from tests.support.processes import descendants, running
from tests.support.rpc_client import rpc_call
from tests.support.store_compare import dump_store, store_differences
from tests.support.twistd_case import TwistdCase

SOAK = bool(os.environ.get("NEO_SOAK"))
#: Kills of the syncing node, and of the node with a busy pool.
SYNC_KILLS = 25 if SOAK else 4
POOL_KILLS = 15 if SOAK else 3
_log = Logger()
_RPC_LISTENING = re.compile(r"JSON-RPC on http://[^:]+:(\d+)/")
#: Whom the transfers pay, and who forges a third of them.
STRANGER_KEY = account_keys(4242, 1)[0]


def committed(datadir: Path) -> tuple[int, int] | None:
    """
    (header height, block height) committed in C{datadir}, or None before genesis is.
    """
    try:
        info = store_info(datadir)
    except StoreError:
        return None
    return info["header_height"], info["block_height"]


class KillCase(TwistdCase):
    timeout = 1800 if SOAK else 420

    def setUp(self) -> None:
        self.seed = int(os.environ.get("NEO_CRASH_SEED", random.randrange(1 << 30)))
        self.rng = random.Random(self.seed)
        self.cluster = Cluster(self)
        self.honest = self.cluster.start("honest", chain=CHAIN_LENGTH, min_peers=1,
                                         max_peers=20)

    @defer.inlineCallbacks
    def kill(self, process: subprocess.Popen[bytes], log: Path, datadir: Path,
             last: tuple[int, int]) -> Any:
        """
        SIGKILL the node and check what it left; the heights it committed.
        """
        workers = descendants(process.pid)
        process.kill()
        yield wait_until(lambda: process.poll() is not None, "the killed node to exit")
        yield wait_until(lambda: not running(workers), "the node's verifiers to exit",
                         timeout=30, describe=lambda: f"left: {running(workers)}")
        self.assertEqual(check_store(datadir, PRIVNET), [],
                         f"seed {self.seed}: {self.text(log)[-2000:]}")
        left = committed(datadir)
        assert left is not None
        self.assertGreaterEqual(left[0], last[0], f"seed {self.seed}: headers went back")
        self.assertGreaterEqual(left[1], last[1], f"seed {self.seed}: blocks went back")
        return left

    @defer.inlineCallbacks
    def run_to_the_end(self, datadir: Path, *options: str) -> Any:
        process, log = self.spawn("final", datadir, "--seed", self.cluster.endpoint(self.honest),
                                  *options)
        yield self.listening_port(process, log)
        done = (CHAIN_LENGTH, CHAIN_LENGTH)

        def synced() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"seed {self.seed}: the node exited: "
                                     f"{self.text(log)[-2000:]}")
            return committed(datadir) == done

        yield wait_until(synced, "the node to finish", timeout=180, interval=0.1)
        yield self.terminate(process, log)
        self.assertEqual(check_store(datadir, PRIVNET), [])

    def assert_same_store(self, datadir: Path, reference: Path) -> None:
        self.assertEqual(store_differences(dump_store(datadir), dump_store(reference)), [],
                         f"seed {self.seed}")


class LiveSyncKillTests(KillCase):
    @defer.inlineCallbacks
    def uninterrupted(self) -> Any:
        """
        The data directory of a node that synced the honest chain in one go.
        """
        clean = self.cluster.start("clean", seeds=[self.honest], min_peers=1)
        yield wait_until(lambda: (clean.node.header_height, clean.node.block_height)
                         == (CHAIN_LENGTH, CHAIN_LENGTH), "an uninterrupted sync")
        yield self.cluster.stop("clean")
        return self.cluster.datadirs["clean"]

    @defer.inlineCallbacks
    def test_killed_while_syncing(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Rounds of a sync from nothing, each killed at rising heights until the chain is
        whole, then finished and compared with the uninterrupted sync; as many rounds
        as it takes to kill L{SYNC_KILLS} times.
        """
        reference = yield self.uninterrupted()
        kills = mid_sync = 0
        landed: list[list[tuple[int, int]]] = []
        while kills < SYNC_KILLS:
            datadir = Path(self.mktemp()).resolve()
            datadir.mkdir(parents=True)
            heights = yield self.kill_round(datadir, SYNC_KILLS - kills)
            landed.append(heights)
            kills += len(heights)
            mid_sync += sum(blocks < CHAIN_LENGTH for _, blocks in heights)
            yield self.run_to_the_end(datadir)
            self.assert_same_store(datadir, reference)
        _log.info("seed {seed}: {kills} kills in {rounds} rounds left (headers, blocks) "
                  "{landed}", seed=self.seed, kills=kills, rounds=len(landed), landed=landed)
        self.assertGreater(mid_sync, 0, f"seed {self.seed}: no kill landed mid-sync")

    @defer.inlineCallbacks
    def kill_round(self, datadir: Path, most: int) -> Any:
        """
        Start the node on C{datadir} and kill it at rising heights, at most C{most} times
        or until nothing is left to sync; the heights each kill left.
        """
        seed = self.cluster.endpoint(self.honest)
        last = (0, 0)
        landed: list[tuple[int, int]] = []
        for kill in range(most):
            which = kill % 2 if last[0] < CHAIN_LENGTH else 1  # 0: headers, 1: blocks
            if last[which] >= CHAIN_LENGTH:
                break
            # somewhere in the first half of what is left, so that most kills land mid-sync
            target = last[which] + self.rng.randrange(1, max(2, (CHAIN_LENGTH - last[which]) // 2))
            process, log = self.spawn(f"run{kill}", datadir, "--seed", seed)

            def reached(target: int = target, which: int = which,
                        process: subprocess.Popen[bytes] = process) -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"seed {self.seed}: the node exited")
                now = committed(datadir)
                return now is not None and now[which] >= target

            yield wait_until(reached, f"the node to commit height {target}", timeout=120,
                             interval=0.02)
            yield task.deferLater(reactor, self.rng.uniform(0, 0.05), lambda: None)
            last = yield self.kill(process, log, datadir, last)
            landed.append(last)
        return landed


class BusyPoolKillTests(KillCase):
    @defer.inlineCallbacks
    def test_killed_with_a_busy_pool(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        A node at the tip taking transactions by RPC (valid ones, and forged ones) is
        killed mid-stream: the store passes the check each time, holds the chain only
        (the pool is memory), and ends equal to the chain it started with.
        """
        datadir = Path(self.mktemp()).resolve()
        shutil.copytree(chain_template(CHAIN_LENGTH), datadir)
        seed = self.cluster.endpoint(self.honest)
        coins = self.coins()
        last = (CHAIN_LENGTH, CHAIN_LENGTH)
        for kill in range(POOL_KILLS):
            process, log = self.spawn(f"pool{kill}", datadir, "--seed", seed,
                                      "--rpc-port", "0")
            port = yield self.rpc_port(process, log)
            sent = yield self.send_transactions(port, coins, self.rng.randrange(5, 40))
            self.assertGreater(sent, 0)
            last = yield self.kill(process, log, datadir, last)
            self.assertEqual(last, (CHAIN_LENGTH, CHAIN_LENGTH))
        yield self.run_to_the_end(datadir)
        self.assert_same_store(datadir, chain_template(CHAIN_LENGTH))

    def coins(self) -> list[tuple[Any, int, Any]]:
        generator = ChainGenerator(PRIVNET, DEV_KEYS, 1, CHAIN_SEED)
        for _ in range(CHAIN_LENGTH):
            generator.next_block()
        return generator.coins()

    @defer.inlineCallbacks
    def rpc_port(self, process: subprocess.Popen[bytes], log: Path) -> Any:
        pattern = _RPC_LISTENING

        def found() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the node exited: {self.text(log)[-2000:]}")
            return pattern.search(self.text(log)) is not None

        yield wait_until(found, "the node's RPC port", timeout=60)
        match = pattern.search(self.text(log))
        assert match is not None
        return int(match.group(1))

    @defer.inlineCallbacks
    def send_transactions(self, port: int, coins: list[tuple[Any, int, Any]],
                          count: int) -> Any:
        """
        C{count} transfers by RPC, a third of them forged; how many were answered.
        """
        answered = 0
        for _ in range(count):
            ref, value, key = self.rng.choice(coins)
            outputs = [TransactionOutput(NEO_ASSET_ID, value, STRANGER_KEY.script_hash)]
            signer = STRANGER_KEY if self.rng.random() < 0.33 else key
            tx = signed_transfer([ref], outputs, [signer])
            answer = yield rpc_call(port, "sendrawtransaction", tx.to_bytes().hex())
            answered += "result" in answer or "error" in answer
        return answered
