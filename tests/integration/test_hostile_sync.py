"""
Hostile peers, inventories, sync, transactions and consensus: real nodes over loopback,
a scripted attacker (see L{tests.support.hostile_helpers}).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Generator
from typing import Any

import attrs
from twisted.internet import defer, reactor

from neo_twisted.core.block import Block, Header
from neo_twisted.core.components import TransactionOutput, Witness
from neo_twisted.core.consensus import ChangeView, ConsensusPayload
from neo_twisted.core.transactions import NEO_ASSET_ID
from neo_twisted.crypto.scripts import push_data
from neo_twisted.ledger.generator import ChainGenerator, account_keys, signed_transfer
from neo_twisted.network.payloads import (
    AddrPayload,
    HeadersPayload,
    InventoryType,
    InvPayload,
    NetworkAddressWithTime,
)
from neo_twisted.node.transactions import MAX_INVALID
from neo_twisted.p2p.faults import Fault, Response
from neo_twisted.p2p.inventory import MAX_ANNOUNCED_REQUESTS
from neo_twisted.sync import SyncTimeouts
from neo_twisted.wire.uint import UInt256
from tests.support.attacker import Attacker
from tests.support.hostile_helpers import (
    HOSTILE_CHAIN,
    HostileCase,
    inventory_hashes,
    open_source,
    private_memory,
    serve_headers,
)
from tests.support.ledger_samples import DEV_KEYS, PRIVNET, make_block, make_blocks
from tests.support.node_cluster import CHAIN_SEED, heights, wait_until
from tests.support.optional import present

#: A key that is no validator's and owns no coin.
STRANGER = account_keys(4242, 1)[0]


def random_hashes(rng: random.Random, count: int) -> tuple[UInt256, ...]:
    return tuple(UInt256(rng.randbytes(32)) for _ in range(count))


def tip_header(node: Any) -> Header:
    header = node.node.ledger.ledger.get_header(node.node.block_height)
    assert header is not None
    return header  # type: ignore[no-any-return]


class InventoryTests(HostileCase):
    """
    Floods of announcements and requests: bounded work, no ban (unknown hashes are not
    a violation), and the node answers as before.
    """

    @defer.inlineCallbacks
    def test_inv_flood_of_unknown_hashes(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        100,000 unknown transaction and 100,000 unknown block hashes: the victim asks for
        no more transactions than its per-peer cap, and for one block only (one without
        a known header at a time: issue 20, attack 5), and its memory does not follow
        the flood.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield self.assert_healthy(victim, honest)
        attacker = yield self.attacker(victim, start_height=HOSTILE_CHAIN)
        before = private_memory()
        rng = random.Random(1)
        for _ in range(200):
            attacker.send("inv", InvPayload(InventoryType.TX, random_hashes(rng, 500)))
            attacker.send("inv", InvPayload(InventoryType.Block, random_hashes(rng, 500)))
        yield wait_until(lambda: (peer := self.session_of(victim)) is not None
                         and peer.messages_in.get("inv", 0) == 400,
                         "the victim to read the flood")
        asked = inventory_hashes(attacker, "getdata")
        self.assertEqual(asked[InventoryType.TX], MAX_ANNOUNCED_REQUESTS)
        self.assertEqual(asked[InventoryType.Block], 1)
        relay = victim.node.transactions
        assert relay is not None
        self.assertEqual(relay.requests.total_in_flight, MAX_ANNOUNCED_REQUESTS)
        self.assertEqual(victim.node.requests.total_in_flight, 1)
        self.assertLess(private_memory() - before, 64 << 20)
        self.assertFalse(self.banned(victim))
        yield self.assert_healthy(victim, honest)

    @defer.inlineCallbacks
    def test_getdata_for_10000_unknown_hashes(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Nothing is sent for unknown items; a known block asked for afterwards still is.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield self.assert_healthy(victim, honest)
        attacker = yield self.attacker(victim)
        rng = random.Random(2)
        for kind in (InventoryType.Block, InventoryType.TX):
            for _ in range(10):
                attacker.send("getdata", InvPayload(kind, random_hashes(rng, 500)))
        known = present(present(victim.node.ledger.ledger).get_block_hash(HOSTILE_CHAIN // 2))
        attacker.send("getdata", InvPayload(InventoryType.Block, (known,)))
        data = yield attacker.message("block")
        self.assertEqual(Block.from_bytes(data).hash, known)
        self.assertEqual([c for c in attacker.commands() if c in ("block", "tx")], ["block"])
        self.assertTrue(attacker.connected)
        yield self.assert_healthy(victim, honest)

    @defer.inlineCallbacks
    def test_addr_flood(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        100 C{addr} of 200 new endpoints each: the address book keeps its capacity.
        """
        honest = self.honest()
        victim = self.victim(honest)
        attacker = yield self.attacker(victim)
        for batch in range(100):
            # loopback addresses only: the victim may dial some of them
            attacker.send("addr", AddrPayload(tuple(
                NetworkAddressWithTime(0, 1, ipaddress.ip_address(f"127.9.{batch}.{i + 1}"),
                                       10_000 + i) for i in range(200))))
        yield wait_until(lambda: (peer := self.session_of(victim)) is not None
                         and peer.messages_in.get("addr", 0) == 100,
                         "the victim to read the flood")
        self.assertFalse(self.banned(victim))
        yield self.assert_healthy(victim, honest)


class BlockTests(HostileCase):
    @defer.inlineCallbacks
    def test_unsolicited_blocks(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Blocks the victim holds already are ignored; an unrequested next block that
        fails its checks (no witness) discourages the sender, and is not stored.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield self.assert_healthy(victim, honest)
        attacker = yield self.attacker(victim)
        ledger = victim.node.ledger.ledger
        assert ledger is not None
        for index in range(1, 51):
            attacker.send("block", ledger.get_block_bytes(present(ledger.get_block_hash(index))))
        yield wait_until(lambda: (peer := self.session_of(victim)) is not None
                         and peer.messages_in.get("block", 0) == 50,
                         "the victim to read the old blocks")
        self.assertFalse(self.banned(victim))
        attacker.send("block", make_block(tip_header(victim), sign=False))
        yield self.assert_dropped(victim, attacker, response=Response.DISCOURAGE,
                                  fault=Fault.BAD_BLOCK_WITNESS)
        self.assertEqual(victim.node.block_height, HOSTILE_CHAIN)
        yield self.assert_healthy(victim, honest)

    @defer.inlineCallbacks
    def test_blocks_far_ahead_of_the_tip(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Valid blocks beyond the header tip, sent unasked, are not buffered or checked:
        the first costs the sender its connection (issue 20, attack 5), not a ban.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield self.assert_healthy(victim, honest)
        attacker = yield self.attacker(victim)
        ahead = make_blocks(tip_header(victim), 60)
        for block in ahead[10:]:  # a gap: none of them can be next
            attacker.send("block", block)
        yield self.assert_dropped(victim, attacker, response=Response.DISCONNECT,
                                  fault=Fault.UNASKED_BLOCK)
        self.assertEqual(victim.node.block_sync.buffered, 0)
        self.assertEqual(victim.node.ledger.ledger.stats()["pending_blocks"], 0)  # type: ignore
        self.assertEqual(heights(victim), (HOSTILE_CHAIN, HOSTILE_CHAIN))
        self.assertFalse(self.banned(victim))
        yield self.assert_healthy(victim, honest)


class HeaderTests(HostileCase):
    """
    Headers with forged witnesses discourage their sender; headers that do not link
    are only refused (an honest peer answering an old locator sends them); a header
    chain without its blocks only costs the peer its place.
    """

    def chain_tip(self) -> Header:
        header = open_source(self).get_header(HOSTILE_CHAIN)
        assert header is not None
        return header

    @defer.inlineCallbacks
    def headers_from_attacker(self, headers: list[Header]) -> Any:
        honest = self.honest()
        victim = self.victim(honest)
        yield self.assert_healthy(victim, honest)
        attacker = Attacker()
        attacker.answers["getheaders"] = (
            lambda _: attacker.send("headers", HeadersPayload(tuple(headers))))
        yield self.attacker(victim, attacker, start_height=HOSTILE_CHAIN + len(headers))
        return victim, honest, attacker

    @defer.inlineCallbacks
    def test_headers_that_do_not_connect(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Well-signed headers whose first one follows a block nobody has: refused, the
        fault counted, the sender kept (before issue 21: banned).
        """
        tip = self.chain_tip()
        nowhere = attrs.evolve(tip, prev_hash=UInt256(b"\x66" * 32))
        victim, honest, attacker = yield self.headers_from_attacker(
            [b.header for b in make_blocks(nowhere, 5)])
        discipline = victim.node.connections.discipline
        yield wait_until(lambda: discipline.faults["headers-unlinked"] >= 1,
                         "the victim to refuse the headers")
        self.assertTrue(attacker.connected)
        self.assertFalse(self.discouraged(victim) or self.banned(victim))
        self.assertEqual(victim.node.header_height, HOSTILE_CHAIN)
        yield self.assert_healthy(victim, honest)

    @defer.inlineCallbacks
    def test_headers_with_bad_witnesses(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Headers that follow the tip, signed by keys that are not the validators'.
        """
        blocks = make_blocks(self.chain_tip(), 5, sign=False)
        forged = [attrs.evolve(b.header, witness=Witness(
            invocation_script=push_data(STRANGER.sign(b.header.unsigned_bytes())),
            verification_script=STRANGER.verification_script)) for b in blocks]
        victim, honest, attacker = yield self.headers_from_attacker(forged)
        yield self.assert_dropped(victim, attacker, response=Response.DISCOURAGE,
                                  fault=Fault.BAD_HEADER_WITNESS)
        self.assertIn("getheaders", attacker.commands())
        self.assertEqual(victim.node.header_height, HOSTILE_CHAIN)
        yield self.assert_healthy(victim, honest)

    @defer.inlineCallbacks
    def test_header_chain_that_never_delivers_its_blocks(
            self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        The attacker serves the real headers and never a block: the victim drops it for
        stalling (no ban: a slow peer looks the same), then syncs from an honest node.
        """
        source = open_source(self)
        timeouts = SyncTimeouts(headers=2.0, segment=2.0, stall=2.0)
        victim = self.victim(sync_timeouts=timeouts)
        attacker = Attacker()
        serve_headers(attacker, source)
        yield self.attacker(victim, attacker, start_height=HOSTILE_CHAIN)
        yield wait_until(lambda: victim.node.header_height == HOSTILE_CHAIN,
                         "the victim to take the attacker's headers")
        yield self.assert_dropped(victim, attacker, response=Response.DISCONNECT, timeout=30)
        self.assertIn("getblocks", attacker.commands())
        self.assertEqual(victim.node.block_height, 0)
        honest = self.honest(seeds=[victim])
        yield self.assert_healthy(victim, honest)


class TransactionTests(HostileCase):
    @defer.inlineCallbacks
    def test_invalid_transactions_in_bulk(self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        Transactions spending real coins with forged witnesses: the sender is dropped
        after L{MAX_INVALID} (not banned: it may relay for a wallet that forged them),
        and none enters the pool.
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield self.assert_healthy(victim, honest)
        attacker = yield self.attacker(victim)
        generator = ChainGenerator(PRIVNET, DEV_KEYS, 1, CHAIN_SEED)
        for _ in range(HOSTILE_CHAIN):
            generator.next_block()
        coins = generator.coins()
        self.assertGreaterEqual(len(coins), MAX_INVALID)
        for ref, value, key in coins[:MAX_INVALID]:
            tx = signed_transfer([ref], [TransactionOutput(NEO_ASSET_ID, value,
                                                           STRANGER.script_hash)], [key])
            forged = signed_transfer([ref], [TransactionOutput(
                NEO_ASSET_ID, value, STRANGER.script_hash)], [STRANGER])
            attacker.send("tx", attrs.evolve(tx, witnesses=(attrs.evolve(
                forged.witnesses[0],
                verification_script=tx.witnesses[0].verification_script),)))
        yield self.assert_dropped(victim, attacker, response=Response.DISCONNECT,
                                  fault=Fault.INVALID_TX_FLOOD)
        self.assertEqual(len(victim.node.mempool or ()), 0)
        yield self.assert_healthy(victim, honest)


class ConsensusTests(HostileCase):
    @defer.inlineCallbacks
    def test_consensus_payload_from_a_non_validator(
            self) -> Generator[defer.Deferred[Any], Any, None]:
        """
        A payload naming validator 1 but signed by a stranger is not relayed, and is no
        fault of the sender's (before issue 21: a ban, which on a chain whose votes
        changed the validators banned every honest consensus relayer).
        """
        honest = self.honest()
        victim = self.victim(honest)
        yield self.assert_healthy(victim, honest)
        attacker = yield self.attacker(victim)
        unsigned = ConsensusPayload(
            prev_hash=tip_header(victim).hash, block_index=HOSTILE_CHAIN + 1,
            validator_index=1, timestamp=int(reactor.seconds()),
            data=ChangeView(view_number=0, new_view_number=1).to_bytes())
        payload = attrs.evolve(unsigned, witness=Witness(
            invocation_script=push_data(STRANGER.sign(unsigned.unsigned_bytes())),
            verification_script=STRANGER.verification_script))
        attacker.send("consensus", payload)
        discipline = victim.node.connections.discipline
        yield wait_until(lambda: discipline.faults["unverified-consensus"] >= 1,
                         "the victim to refuse the payload")
        self.assertTrue(attacker.connected)
        self.assertFalse(self.discouraged(victim) or self.banned(victim))
        self.assertNotIn(payload.hash, victim.node.relay_cache)
        yield self.assert_healthy(victim, honest)
