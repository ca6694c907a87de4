"""
Hostile peers and the store reads they ask for (issue 20, attack 8): real nodes over
loopback, a scripted attacker (see L{tests.support.hostile_helpers}).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, task
from twisted.internet import reactor as global_reactor
from twisted.logger import Logger

from neo_twisted.ledger.chain import Ledger
from neo_twisted.network.payloads import GetBlocksPayload, InventoryType, InvPayload
from neo_twisted.node import serving
from neo_twisted.node.serving import READS_IN_FLIGHT, READS_WAITING
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.wire.uint import UInt256
from tests.support.hostile_helpers import HOSTILE_CHAIN, HostileCase
from tests.support.node_cluster import heights, stop_if_running, wait_until
from tests.support.rpc_client import rpc_call

#: Requests of each kind (getheaders, getblocks, getdata) in the flood.
FLOOD = 1000
#: How long an RPC read may take while the victim is flooded.
PROMPT = 1.0


class ReadMeter:
    """
    Counts, in the read threads themselves, the store reads one node runs for the
    attacker: how many at once at most, and when each started.
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.starts: list[float] = []

    def wrap(self, function: Callable[..., Any],
             attacker: Callable[[tuple[Any, ...]], bool]) -> Callable[..., Any]:
        """
        C{function}, counted when it reads C{ledger} and C{attacker(args)} says the
        attacker asked for it.
        """
        def measured(ledger: Ledger, *args: Any) -> Any:
            if ledger is not self._ledger or not attacker(args):
                return function(ledger, *args)
            with self._lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
                self.starts.append(time.monotonic())
            try:
                return function(ledger, *args)
            finally:
                with self._lock:
                    self.running -= 1

        return measured


class ReadFloodTests(HostileCase):
    _log = Logger()

    @defer.inlineCallbacks
    def test_read_flood_then_hang_up(self) -> Any:
        """
        An attacker sends 1,000 each of C{getheaders}, C{getblocks} and C{getdata}
        (500 unknown transactions), then 2,000 C{getheaders} for the whole chain,
        and hangs up right behind them, while a new node syncs from the victim.

        Before: every request queued on the two read threads shared with RPC and
        all 5,000 ran; most of the last 2,000 ran after the attacker had gone
        (1,882, for 3.2 s, in one run), and an RPC read waited 3.5 s behind them.
        Now: at most two of its reads run at a time and sixteen more wait; past that
        the victim stops reading from it (holds it) until a read is done, so none of
        its requests is lost and none costs more than its turn; those waiting when it
        hangs up never run; RPC answers at once; and the new node gets the whole
        chain from the victim.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield self.assert_healthy(victim, honest)
        store = victim.node.ledger.ledger
        assert store is not None
        genesis = store.get_block_hash(0)
        assert genesis is not None
        # The attacker's stop hashes tell its reads from the syncing node's (which
        # stop at nothing), and it asks for transactions, that node for blocks.
        short = store.get_block_hash(20)  # a short answer: reads, not sends, cost
        assert short is not None
        nowhere = UInt256(b"\x5a" * 32)  # known to nobody: answers as long as can be
        meter = ReadMeter(store)

        def stops_at_ours(args: tuple[Any, ...]) -> bool:
            return args[-1] in (short, nowhere)

        for name in ("header_bytes_after", "block_hashes_after"):
            self.patch(Ledger, name, meter.wrap(getattr(Ledger, name), stops_at_ours))
        self.patch(serving, "_FROM_STORE", {
            InventoryType.Block: serving._FROM_STORE[InventoryType.Block],
            InventoryType.TX: meter.wrap(serving._FROM_STORE[InventoryType.TX],
                                         lambda args: True)})

        attacker = yield self.attacker(victim)
        yield wait_until(lambda: self.session_of(victim) is not None,
                         "the victim to take the attacker")
        peer = self.session_of(victim)
        assert peer is not None
        closed_at: list[float] = []
        waiting_at_close: list[int] = []
        peer_lost = victim.node.controller.peer_lost

        def lost(lost_peer: IPeer, reason: str, fault: Fault | None) -> None:
            if lost_peer is peer:
                closed_at.append(time.monotonic())
                waiting_at_close.append(victim.node.server.reads_of(peer)[1])
            peer_lost(lost_peer, reason, fault)

        self.patch(victim.node.controller, "peer_lost", lost)
        most = [0, 0]

        def sample() -> None:
            running, waiting = victim.node.server.reads_of(peer)
            most[0], most[1] = max(most[0], running), max(most[1], waiting)

        sampler = task.LoopingCall(sample)
        sampler.start(0.005)
        self.addCleanup(stop_if_running, sampler)

        # the flood, connected
        rng = random.Random(8)
        for _ in range(FLOOD):
            attacker.send("getheaders", GetBlocksPayload((genesis,), short))
            attacker.send("getblocks", GetBlocksPayload((genesis,), nowhere))
            attacker.send("getdata", InvPayload(InventoryType.TX, tuple(
                UInt256(rng.randbytes(32)) for _ in range(500))))
        late = self.cluster.start("late", seeds=[victim], min_peers=1)
        yield wait_until(lambda: peer.messages_in.get("getdata", 0) == FLOOD
                         or not peer.established, "the victim to read the flood")
        self.assertTrue(peer.established, "the victim dropped the attacker")
        took = [(yield self.rpc_time(victim, store))]

        # the whole chain's headers 2,000 times, and the attacker hangs up right
        # behind with a reset: the victim, holding it, finds out when it next writes
        # (its kernel discards what it had not read yet); a half-close would be a
        # peer still reading its answers, and served as one
        dropped_before = victim.node.server.stats.dropped
        for _ in range(2 * FLOOD):
            attacker.send("getheaders", GetBlocksPayload((genesis,), nowhere))
        yield wait_until(lambda: victim.node.server.reads_of(peer)[1] > 0,
                         "the victim to queue the attacker's reads")
        assert attacker.transport is not None
        attacker.transport.abortConnection()
        took.append((yield self.rpc_time(victim, store)))
        yield wait_until(lambda: bool(closed_at), "the victim to see the attacker go")
        yield wait_until(lambda: victim.node.server.reads_of(peer) == (0, 0),
                         "the attacker's reads to be done with")
        sampler.stop()
        stats = victim.node.server.stats
        # a read its thread took just before the close may start a moment after it
        # (a thread waits up to a GIL switch interval); none starts later than that
        after = [t - closed_at[0] for t in meter.starts if t > closed_at[0]]
        self.assertLessEqual(len(after), READS_IN_FLIGHT, f"reads ran after: {after[:20]}")
        self.assertLess(max(after, default=0.0), 0.1, f"reads ran after: {after[:20]}")
        self.assertLessEqual(meter.peak, READS_IN_FLIGHT)
        self.assertLessEqual(most[0], READS_IN_FLIGHT)
        self.assertLessEqual(most[1], READS_WAITING)
        # every read still waiting when it hung up was dropped, and those handed to
        # the ledger but not begun yet were dropped there (how many waited depends on
        # when the victim, holding the attacker, found the reset: the unit tests of
        # the server drop a known number)
        self.assertGreaterEqual(stats.dropped - dropped_before, waiting_at_close[0])
        self.assertLessEqual(stats.dropped - dropped_before,
                             waiting_at_close[0] + READS_IN_FLIGHT)
        self.assertEqual(stats.ignored, 0)  # held instead: nothing it asked was lost
        self.assertGreater(stats.held, 0)
        self.assertLess(len(meter.starts), 5 * FLOOD)
        self._log.info("attacker reads run {run} of {asked} asked for (at most {peak} at "
                       "once), {dropped} dropped, {ignored} ignored; RPC {flood:.0f} ms in "
                       "the flood, {hang_up:.0f} ms at the hang-up", run=len(meter.starts),
                       asked=5 * FLOOD, peak=meter.peak, dropped=stats.dropped,
                       ignored=stats.ignored, flood=took[0] * 1000, hang_up=took[1] * 1000)

        yield wait_until(lambda: heights(late) == (HOSTILE_CHAIN, HOSTILE_CHAIN),
                         "a node syncing from the victim to get the whole chain",
                         timeout=90, describe=lambda: f"heights {heights(late)}")
        self.assertFalse(self.banned(victim))
        yield self.assert_healthy(victim, honest)

    @defer.inlineCallbacks
    def rpc_time(self, victim: Any, store: Ledger) -> Any:
        """
        How long the victim takes to answer an RPC read and C{getblockcount}, checked
        to be prompt.
        """
        assert victim.rpc is not None and victim.rpc.port is not None
        asked = global_reactor.seconds()
        best = yield rpc_call(victim.rpc.port, "getbestblockhash")
        count = yield rpc_call(victim.rpc.port, "getblockcount")
        took = global_reactor.seconds() - asked
        self.assertEqual(best["result"], str(store.get_block_hash(HOSTILE_CHAIN)))
        self.assertEqual(count["result"], HOSTILE_CHAIN + 1)
        self.assertLess(took, PROMPT, f"RPC took {took:.2f} s during the flood")
        return took
