"""
C{twistd neonode} as an operator runs it: two real processes on loopback, one
syncing from the other, both stopped with SIGTERM.
"""

from __future__ import annotations

import shutil
from collections.abc import Generator
from pathlib import Path
from typing import Any

from twisted.internet import defer

from neo_twisted.ledger.check import check_store, store_info
from neo_twisted.p2p.addresses import load_peers
from neo_twisted.p2p.interfaces import Endpoint
from tests.support.ledger_samples import PRIVNET
from tests.support.node_cluster import CHAIN_LENGTH, chain_template, wait_until
from tests.support.twistd_case import TwistdCase


class TwistdTests(TwistdCase):
    @defer.inlineCallbacks
    def test_two_processes_sync_and_stop_cleanly(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        B (empty) syncs A's chain; on SIGTERM both stop cleanly, B's peers.dat names A and
        B's store passes the full check.
        """
        base = Path(self.mktemp()).resolve()
        base.mkdir()
        data_a, data_b = base / "a", base / "b"
        shutil.copytree(chain_template(), data_a)
        # A's only seed is a closed port: it must not dial the privnet's default seeds
        process_a, log_a = self.spawn("a", data_a, "--seed", "127.0.0.1:1")
        port_a = yield self.listening_port(process_a, log_a)
        process_b, log_b = self.spawn("b", data_b, "--seed", f"127.0.0.1:{port_a}")
        yield self.listening_port(process_b, log_b)

        def synced() -> bool:
            if process_b.poll() is not None:
                raise AssertionError(f"B exited: {self.text(log_b)[-2000:]}")
            info = store_info(data_b)
            return (info["header_height"], info["block_height"]) == (CHAIN_LENGTH, CHAIN_LENGTH)

        yield wait_until(synced, "B to sync A's chain", timeout=120, interval=0.2)
        yield self.terminate(process_b, log_b)
        yield self.terminate(process_a, log_a)
        self.assertIn(Endpoint("127.0.0.1", port_a), load_peers(data_b / "peers.dat"))
        self.assertEqual(check_store(data_b, PRIVNET), [])
