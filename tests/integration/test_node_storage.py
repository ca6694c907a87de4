"""
A node whose storage fails: a full disk and a read-only data directory stop it with a
clear error and leave its store whole; a corrupt or truncated C{peers.dat} is ignored
with a warning.

The disk cases run C{twistd neonode} on a small tmpfs that the test mounts (and, for
read-only, remounts), so they need root; elsewhere they are skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Generator
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SkipTest, TestCase

from neo_twisted.ledger.check import check_store, store_info
from neo_twisted.ledger.store import StoreWriteError
from neo_twisted.node.exits import EXIT_STORE_FAILED, EXIT_STORE_UNUSABLE
from neo_twisted.p2p.addresses import encode_peers
from neo_twisted.p2p.interfaces import Endpoint
from tests.support.hostile_helpers import HOSTILE_CHAIN
from tests.support.ledger_samples import PRIVNET
from tests.support.node_cluster import Cluster, chain_template, heights, wait_until
from tests.support.twistd_case import TwistdCase


def mount(path: Path, *options: str) -> None:
    subprocess.run(["mount", *options, path], check=True, capture_output=True)


class DiskCase(TwistdCase):
    """
    A tmpfs of the test's own, unmounted at its end.
    """

    def tmpfs(self, size: str) -> Path:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            raise SkipTest("mounting a tmpfs needs root")
        path = Path(self.mktemp()).resolve()
        path.mkdir(parents=True)
        try:
            mount(path, "-t", "tmpfs", "-o", f"size={size}", "tmpfs")
        except (subprocess.CalledProcessError, OSError) as error:
            raise SkipTest(f"cannot mount a tmpfs here: {error}") from None
        self.addCleanup(subprocess.run, ["umount", "-l", str(path)], check=False)
        return path

    @defer.inlineCallbacks
    def exited(self, process: subprocess.Popen[bytes], log: Path) -> Any:
        yield wait_until(lambda: process.poll() is not None, f"{log.name} to exit", timeout=120,
                         interval=0.1)
        assert process.stderr is not None
        return process.returncode, process.stderr.read().decode(errors="replace")


class ReadOnlyTests(DiskCase):
    @defer.inlineCallbacks
    def test_read_only_data_directory(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        On a file system mounted read-only the node refuses to start, saying why in one
        line; the store is as it was.
        """
        disk = self.tmpfs("64m")
        datadir = disk / "data"
        shutil.copytree(chain_template(HOSTILE_CHAIN), datadir)
        mount(disk, "-o", "remount,ro")
        process, log = self.spawn("ro", datadir, "--seed", "127.0.0.1:1")
        code, stderr = yield self.exited(process, log)
        text = self.text(log) + stderr  # twistd sends stderr to its log file
        self.assertEqual(code, EXIT_STORE_UNUSABLE, text)  # the unit does not restart it
        self.assertIn("neonode: cannot start:", text)
        self.assertIn("Read-only file system", text)
        self.assertNotIn("Traceback", text)
        mount(disk, "-o", "remount,rw")
        self.assertEqual(check_store(datadir, PRIVNET), [])
        self.assertEqual(store_info(datadir)["block_height"], HOSTILE_CHAIN)


class FullDiskTests(DiskCase):
    timeout = 300

    @defer.inlineCallbacks
    def test_full_disk_while_syncing(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        The disk fills up mid-sync: the node stops with L{EXIT_STORE_FAILED} and says
        why; the store passes the full check at the height it reached, and once there is
        room again the node resumes from there to the end.
        """
        cluster = Cluster(self)
        honest = cluster.start("honest", chain=HOSTILE_CHAIN, min_peers=1)
        seed = cluster.endpoint(honest)
        disk = self.tmpfs("1m")  # headers fit, the blocks do not
        datadir = disk / "data"
        datadir.mkdir()
        process, log = self.spawn("full", datadir, "--seed", seed)
        code, stderr = yield self.exited(process, log)
        text = self.text(log)
        self.assertEqual(code, EXIT_STORE_FAILED, text[-3000:] + stderr)
        self.assertIn("the chain store cannot be written", text)
        self.assertIn("No space left on device", text)
        self.assertEqual(check_store(datadir, PRIVNET), [])
        reached = store_info(datadir)["block_height"]
        self.assertLess(reached, HOSTILE_CHAIN)
        mount(disk, "-o", "remount,size=128m")
        process, log = self.spawn("roomy", datadir, "--seed", seed)

        def synced() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the node exited: {self.text(log)[-2000:]}")
            return bool(store_info(datadir)["block_height"] == HOSTILE_CHAIN)

        yield wait_until(synced, "the node to finish once there is room", timeout=120,
                         interval=0.2)
        yield self.terminate(process, log)
        self.assertEqual(check_store(datadir, PRIVNET), [])


class PeersFileTests(TestCase):
    timeout = 120

    """
    A damaged C{peers.dat} costs only the addresses in it.
    """

    @defer.inlineCallbacks
    def start_with_peers_file(self, content: bytes,
                              warning: str) -> Generator[defer.Deferred[Any], Any, None]:
        cluster = Cluster(self)
        honest = cluster.start("honest", chain=HOSTILE_CHAIN, min_peers=1)
        (cluster.datadir("node") / "peers.dat").write_bytes(content)
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        node = cluster.start("node", seeds=[honest], min_peers=1)
        self.assertTrue(any(warning in event["log_format"].format(**event)
                            for event in events if "log_format" in event),
                        [event.get("log_format") for event in events])
        yield wait_until(lambda: heights(node) == (HOSTILE_CHAIN, HOSTILE_CHAIN),
                         "the node to sync from its seed")

    def test_corrupt_peers_file(self) -> defer.Deferred[None]:
        return self.start_with_peers_file(b"\xff" * 37, "ignoring peers file")

    def test_truncated_peers_file(self) -> defer.Deferred[None]:
        saved = encode_peers(Endpoint(f"10.0.0.{i}", 20333) for i in range(1, 4))
        return self.start_with_peers_file(saved[:-3], "ignoring peers file")


class EmbeddedNodeTests(TestCase):
    timeout = 120

    @defer.inlineCallbacks
    def test_write_failure_stops_an_embedded_node(
            self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Embedded in a program, a node whose store refuses a write stops its services
        and says why in L{NodeService.failure}; the program's reactor runs on.
        """
        cluster = Cluster(self)
        honest = cluster.start("honest", chain=HOSTILE_CHAIN, min_peers=1)
        node = cluster.start("node", min_peers=1)
        ledger = node.node.ledger.ledger
        assert ledger is not None

        def refuse(batch: Any) -> Any:
            raise StoreWriteError("chain: cannot write the chain store: No space left")

        ledger.store.write = refuse  # type: ignore[method-assign]
        node.node.connections.seeds.append(Endpoint.parse(cluster.endpoint(honest)))
        yield wait_until(lambda: not node.running, "the node to stop itself")
        assert node.failure is not None
        self.assertTrue(node.failure.check(StoreWriteError))
        self.assertEqual(node.node.established_peers(), [])
        self.assertTrue(honest.running)

    @defer.inlineCallbacks
    def test_stopped_again_while_stopping(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        A node that stopped itself is stopped again by whoever runs it (twistd at
        shutdown, a test's cleanup): the second stop waits for the first and stops no
        service twice (a second stop cancelled a listener's port closing under way,
        an unhandled CancelledError).
        """
        cluster = Cluster(self)
        node = cluster.start("node", min_peers=1)
        stops: dict[str, int] = {}
        for n, child in enumerate(node):
            key = f"{n}:{child.name}"

            def counted(key: str = key, stop: Any = child.stopService) -> Any:
                stops[key] = stops.get(key, 0) + 1
                return stop()
            child.stopService = counted
        first = node.stopService()
        second = node.stopService()
        yield first
        yield second
        third = yield node.stopService()
        self.assertIsNone(third)
        self.assertEqual(set(stops.values()), {1}, stops)
        self.assertEqual(len(stops), len(list(node)))
