"""
Hostile peers, big messages: a 32 MiB C{block} of 65,536 transactions, sent unasked
before and after the handshake, and one that looks like our next block. Real nodes
over loopback, a scripted attacker (see L{tests.support.hostile_helpers}).

Every step the victim's reactor spends on the attacker's connection is timed (its
thread's CPU time, immune to the other processes sharing the machine): none may take
more than L{STEP_BOUND}. A lag probe on the reactor measures the wall-clock stalls
of the whole process: besides the steps, the cyclic collector's passes over the
1.3 million objects a decoded 32 MiB block is made of hold the GIL wherever they
run (up to ~0.5 s once per such block, measured), so its bound is looser.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

from twisted.internet import defer, reactor, task

from neo_twisted.core.block import Header
from neo_twisted.core.merkle import merkle_root
from neo_twisted.core.transactions import MinerTransaction
from neo_twisted.crypto.hashes import hash256
from neo_twisted.network.frame import MAX_PAYLOAD_SIZE
from neo_twisted.node.service import NodeService
from neo_twisted.p2p.faults import Fault, Response
from neo_twisted.p2p.protocol import PeerProtocol
from neo_twisted.wire.binary import BinaryWriter, encode_var_int
from tests.support.attacker import ATTACKER_HOST
from tests.support.hostile_helpers import HOSTILE_CHAIN, HostileCase
from tests.support.node_cluster import stop_if_running, wait_until

#: The longest the reactor may spend on one message of the attacker (CPU seconds).
STEP_BOUND = 0.05
#: The longest the reactor may stall, for any reason, during an attack (seconds):
#: decoding one block on it stalled it 2-4 s (1.8 s of CPU).
LAG_BOUND = 1.5
#: Transactions in the attacker's block: the reference reader's maximum.
HUGE_TXS = 0x10000
#: Bytes of each ContractTransaction (a remark pads it), so the block fills a frame.
TX_SIZE = 512


def huge_block(previous: Header, index: int | None = None) -> bytes:
    """
    The payload of a well-formed block after C{previous} (at C{index}, by default the
    next one) of 65,536 transactions, 32 MiB in all: a MinerTransaction, then 512-byte
    ContractTransactions (a remark to tell them apart, eight outputs), the merkle root
    right, no witness.
    """
    output = bytes(range(32)) + (1).to_bytes(8, "little") + bytes(20)
    outputs = b"\x08" + output * 8
    remark = 24
    txs = [MinerTransaction(nonce=7).to_bytes()]
    for i in range(HUGE_TXS - 1):
        txs.append(b"\x80\x00\x01\xf0" + encode_var_int(remark) + i.to_bytes(4, "little")
                   + bytes(remark - 4) + b"\x00" + outputs + b"\x00")
    assert len(txs[1]) == TX_SIZE
    hashes = [hash256(tx[:-1]) for tx in txs]  # each hashes all but its witness count
    header = Header(prev_hash=previous.hash, merkle_root=merkle_root(hashes),
                    timestamp=previous.timestamp + 15,
                    index=previous.index + 1 if index is None else index,
                    consensus_data=0, next_consensus=previous.next_consensus)
    writer = BinaryWriter()
    header.write_base(writer)
    payload = writer.to_bytes() + encode_var_int(len(txs)) + b"".join(txs)
    assert MAX_PAYLOAD_SIZE - 1024 < len(payload) <= MAX_PAYLOAD_SIZE, len(payload)
    return payload


class ReactorSteps:
    """
    The time the victim's reactor spends in each step of the attacker's connection
    (bytes received, a message decoded elsewhere handed back), and a lag probe.
    """

    #: The methods of L{PeerProtocol} the reactor enters a connection's work by.
    ENTRIES = ("dataReceived", "_decoded")

    def __init__(self, case: HostileCase, victim: NodeService) -> None:
        self.cpu: list[float] = []
        self.wall: list[float] = []
        self.lag = 0.0
        for name in self.ENTRIES:
            original = getattr(PeerProtocol, name, None)
            if original is not None:
                case.patch(PeerProtocol, name, self._timed(original, victim))
        self._last = reactor.seconds()
        self._probe = task.LoopingCall(self._tick)
        self._probe.start(0.01)
        case.addCleanup(stop_if_running, self._probe)

    def _timed(self, method: Callable[..., Any], victim: NodeService) -> Callable[..., Any]:
        def timed(protocol: PeerProtocol, *args: Any) -> Any:
            if (protocol.factory.listener is not victim.node.controller
                    or protocol.remote.host != ATTACKER_HOST):
                return method(protocol, *args)
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return method(protocol, *args)
            finally:
                self.cpu.append(time.thread_time() - cpu)
                self.wall.append(time.perf_counter() - wall)

        return timed

    def _tick(self) -> None:
        now = reactor.seconds()
        self.lag = max(self.lag, now - self._last - 0.01)
        self._last = now

    def check(self, case: HostileCase) -> None:
        """
        No step of the attacker's connection took the reactor past the bound, and
        the reactor never stalled for long.
        """
        self._probe.stop()
        case.assertTrue(self.cpu, "no step of the attacker's connection was timed")
        print(f"\n  {len(self.cpu)} steps; longest {max(self.cpu) * 1000:.1f} ms CPU,"
              f" {max(self.wall) * 1000:.1f} ms wall; reactor lag at most"
              f" {self.lag * 1000:.0f} ms")
        case.assertLess(max(self.cpu), STEP_BOUND)
        case.assertLess(self.lag, LAG_BOUND)


class BigBlockTests(HostileCase):
    """
    A frame-filling block costs the victim no more reactor time than any message.
    """

    def tip(self, node: NodeService) -> Header:
        ledger = node.node.ledger.ledger
        assert ledger is not None
        header = ledger.get_header(node.node.block_height)
        assert header is not None
        return header

    @defer.inlineCallbacks
    def test_block_before_the_handshake(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Before: the 32 MiB block was decoded on the reactor (1.8 s of CPU, a 4.2 s
        stall here) before the handshake machine called it a fault. Now it is one as
        soon as its frame header and the block's header are in: the sender is dropped,
        nothing decoded.
        """
        honest = self.honest()
        victim = self.victim(honest)
        payload = huge_block(self.tip(honest), 10**6)
        steps = ReactorSteps(self, victim)
        attacker = yield self.attacker(victim, handshake=False)
        attacker.send("block", payload)
        yield self.assert_dropped(victim, attacker, response=Response.DISCONNECT,
                                  fault=Fault.HANDSHAKE_ORDER)
        steps.check(self)
        yield self.assert_healthy(victim, honest)

    @defer.inlineCallbacks
    def test_unrequested_block_far_ahead(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Before: the 32 MiB block, nobody's request and far beyond any header, was
        decoded on the reactor (about 1.8 s of CPU here) and then ignored, the sender
        kept, again and again. Now its index, read from the raw bytes, says it cannot be next: it is
        skipped undecoded (not even buffered) and its sender dropped (not banned: no
        rule of the protocol forbids it), while the victim goes on syncing.
        """
        honest = self.honest()
        victim = self.victim(honest)
        payload = huge_block(self.tip(honest), HOSTILE_CHAIN + 10_000)
        steps = ReactorSteps(self, victim)
        attacker = yield self.attacker(victim)
        attacker.send("block", payload)
        yield self.assert_dropped(victim, attacker, response=Response.DISCONNECT,
                                  fault=Fault.UNASKED_BLOCK)
        steps.check(self)
        yield self.assert_healthy(victim, honest)

    @defer.inlineCallbacks
    def test_huge_next_block(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Before: a 32 MiB block that could be our next one was decoded on the reactor
        (1.8 s of CPU, a 2.1 s stall here: every peer, timer and RPC call waited)
        before its witness failed.
        Now it is decoded off the reactor, while the connection reads nothing more; the
        block fails its witness and the sender is discouraged (banned if it does it
        again twice within a day); the victim goes on serving.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield self.assert_healthy(victim, honest)
        payload = huge_block(self.tip(victim))
        steps = ReactorSteps(self, victim)
        attacker = yield self.attacker(victim, start_height=HOSTILE_CHAIN)
        attacker.send("block", payload)
        yield self.assert_dropped(victim, attacker, response=Response.DISCOURAGE,
                                  fault=Fault.BAD_BLOCK_WITNESS, timeout=60)
        steps.check(self)
        self.assertEqual(victim.node.block_height, HOSTILE_CHAIN)
        yield self.assert_healthy(victim, honest)
        late = self.cluster.start("late", seeds=[victim], min_peers=1)
        yield wait_until(lambda: late.node.block_height == HOSTILE_CHAIN,
                         "a new node to sync from the victim")

