"""
Tests for L{neo_twisted.node.transactions}: announced transactions are fetched once,
verified, relayed to every peer but their sender (once per 30 s), served from the
pool, and a peer that keeps sending invalid ones is dropped; with fake peers, a
clock, and a real pool over a generated chain.
"""

from __future__ import annotations

import attrs
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.components import TransactionAttribute, TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import NEO_ASSET_ID, ContractTransaction
from neo_twisted.ledger.generator import ChainGenerator, account_keys, signed_transfer
from neo_twisted.ledger.service import LedgerService
from neo_twisted.mempool.pool import PoolEntry
from neo_twisted.mempool.service import MempoolService
from neo_twisted.network.payloads import EmptyPayload, InventoryType, InvPayload
from neo_twisted.node.transactions import INVALID_WINDOW, MAX_INVALID
from neo_twisted.offreactor import Synchronous
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.inventory import RELAY_WINDOW
from neo_twisted.wire.uint import UInt256
from tests.support.ledger_samples import DEV_KEYS, PRIVNET
from tests.support.mempool_samples import signed
from tests.support.node_policy_helpers import make_policy
from tests.support.p2p_fakes import FakePeer
from tests.support.runners import Deferring

BLOCKS = 10
PAYEE, STRANGER = account_keys(98, 2)


class RelayCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1_000)
        generator = ChainGenerator(PRIVNET, DEV_KEYS, 2, seed=4)
        self.blocks = [generator.next_block() for _ in range(BLOCKS)]
        self.coins = generator.coins()
        self.ledger = LedgerService(self.mktemp(), PRIVNET, off_reactor=Synchronous)
        self.ledger.startService()
        self.addCleanup(self.ledger.stopService)
        assert self.ledger.ledger is not None
        self.ledger.ledger.add_blocks(self.blocks)
        self.threads = Deferring(holding=False)
        self.mempool = MempoolService(self.ledger, PRIVNET, off_reactor=self.threads)
        self.mempool.startService()
        self.addCleanup(self.mempool.stopService)
        self.node, _ = make_policy(self.ledger, self.clock, user_agent="/t/", nonce=7,
                                   mempool=self.mempool)
        self.a, self.b, self.c = (FakePeer(f"10.0.0.{i}", BLOCKS, nonce=i) for i in (1, 2, 3))
        for peer in (self.a, self.b, self.c):
            self.node.controller.peer_established(peer)
            peer.take()

    def spend(self, n: int, *, valid: bool = True) -> Transaction:
        ref, value, key = self.coins[n]
        tx = signed_transfer([ref], [TransactionOutput(NEO_ASSET_ID, value, PAYEE.script_hash)],
                             [key])
        if not valid:  # the right script, another key's signature
            forged = signed(attrs.evolve(tx, witnesses=()), [STRANGER])
            tx = attrs.evolve(tx, witnesses=(attrs.evolve(
                forged.witnesses[0], verification_script=tx.witnesses[0].verification_script),))
        return tx

    def inv(self, peer: FakePeer, *hashes: UInt256) -> None:
        self.node.controller.message_received(peer, "inv", InvPayload(InventoryType.TX, hashes))

    def send_tx(self, peer: FakePeer, tx: Transaction) -> None:
        self.node.controller.message_received(peer, "tx", tx)

    def announced(self, peer: FakePeer) -> list[UInt256]:
        return [h for payload in peer.take("inv") for h in payload.hashes]

    def asked(self, peer: FakePeer) -> list[UInt256]:
        found = []
        for payload in peer.take("getdata"):
            self.assertIs(payload.type, InventoryType.TX)
            found.extend(payload.hashes)
        return found


class FetchTests(RelayCase):
    def test_announced_transaction_asked_of_one_peer(self) -> None:
        tx = self.spend(0)
        self.inv(self.a, tx.hash)
        self.inv(self.b, tx.hash)
        self.assertEqual((self.asked(self.a), self.asked(self.b)), ([tx.hash], []))

    def test_asked_again_of_the_next_announcer_when_lost(self) -> None:
        tx = self.spend(0)
        self.inv(self.a, tx.hash)
        self.inv(self.b, tx.hash)
        self.asked(self.a)
        self.node.controller.peer_lost(self.a, "gone", None)
        self.assertEqual(self.asked(self.b), [tx.hash])

    def test_pooled_or_pending_not_asked(self) -> None:
        pooled, pending = self.spend(0), self.spend(1)
        self.send_tx(self.a, pooled)
        self.threads.holding = True
        self.send_tx(self.a, pending)
        self.assertIn(pending.hash, self.node.transactions.pending)  # type: ignore[union-attr]
        self.inv(self.b, pooled.hash, pending.hash)
        self.assertEqual(self.asked(self.b), [])
        self.threads.run_all()
        self.assertIn(pending.hash, self.mempool)

    def test_ignored_far_behind_the_tip(self) -> None:
        ledger = self.ledger.ledger
        assert ledger is not None
        generator = ChainGenerator(PRIVNET, DEV_KEYS, 2, seed=4)
        ahead = [generator.next_block() for _ in range(BLOCKS + 3)][BLOCKS:]
        self.assertEqual(ledger.add_headers([b.header for b in ahead]).added, 3)
        self.inv(self.a, self.spend(0).hash)
        self.assertEqual(self.asked(self.a), [])


class RelayTests(RelayCase):
    def test_relayed_to_all_but_the_sender(self) -> None:
        tx = self.spend(0)
        self.inv(self.a, tx.hash)
        self.send_tx(self.a, tx)
        self.assertIn(tx.hash, self.mempool)
        self.assertEqual([self.announced(p) for p in (self.a, self.b, self.c)],
                         [[], [tx.hash], [tx.hash]])

    def test_not_to_a_peer_that_announced_it(self) -> None:
        tx = self.spend(0)
        self.inv(self.a, tx.hash)
        self.inv(self.b, tx.hash)
        self.send_tx(self.a, tx)
        self.assertEqual([self.announced(p) for p in (self.b, self.c)], [[], [tx.hash]])

    def test_not_relayed_again_within_30_s(self) -> None:
        """
        A transaction that comes back (say, after an eviction) is not broadcast again
        within 30 s, even to a peer that joined since; after that it is, but never
        twice to one peer.
        """
        tx = self.spend(0)
        self.send_tx(self.a, tx)
        self.assertEqual(self.announced(self.b), [tx.hash])
        d = FakePeer("10.0.0.4", BLOCKS, nonce=4)
        self.node.controller.peer_established(d)
        d.take()
        self.mempool.pool.remove(tx.hash)
        self.clock.advance(RELAY_WINDOW - 1)
        self.send_tx(self.c, tx)
        self.assertIn(tx.hash, self.mempool)
        self.assertEqual((self.announced(self.b), self.announced(d)), ([], []))
        self.mempool.pool.remove(tx.hash)
        self.clock.advance(2)
        self.send_tx(self.c, tx)
        self.assertEqual((self.announced(self.b), self.announced(d)), ([], [tx.hash]))

    def test_taken_alone_announced_to_the_first_peer(self) -> None:
        """
        A transaction taken by RPC while no peer is established (a node just started)
        is announced to the first peer that comes, once, if it is still in the pool.
        """
        for peer in (self.a, self.b, self.c):
            self.node.controller.peer_lost(peer, "gone", None)
        kept, evicted = self.spend(0), self.spend(1)
        for tx in (kept, evicted):
            self.successResultOf(self.mempool.submit(tx))
        self.mempool.pool.remove(evicted.hash)
        d = FakePeer("10.0.0.4", BLOCKS, nonce=4)
        self.node.controller.peer_established(d)
        self.assertEqual(self.announced(d), [kept.hash])
        e = FakePeer("10.0.0.5", BLOCKS, nonce=5)
        self.node.controller.peer_established(e)
        self.assertEqual(self.announced(e), [])

    def test_refused_not_relayed(self) -> None:
        self.send_tx(self.a, self.spend(0, valid=False))
        self.assertEqual(len(self.mempool), 0)
        self.assertEqual([self.announced(p) for p in (self.b, self.c)], [[], []])

    def test_accepted_together_announced_in_one_inv(self) -> None:
        txs = [self.spend(0), self.spend(1), self.spend(2)]
        self.successResultOf(self.mempool.submit_many(txs))
        invs = self.b.take("inv")
        self.assertEqual([payload.hashes for payload in invs], [tuple(t.hash for t in txs)])


class ServingTests(RelayCase):
    def test_getdata_served_from_the_pool(self) -> None:
        tx = self.spend(0)
        self.send_tx(self.a, tx)
        self.node.controller.message_received(self.b, "getdata",
                                   InvPayload(InventoryType.TX, (tx.hash, UInt256(b"\x05" * 32))))
        self.assertEqual(self.b.take("tx"), [tx])

    def test_mempool_answered_in_invs_of_500(self) -> None:
        for n in range(1001):
            filler = ContractTransaction(attributes=(
                TransactionAttribute(0xF0, n.to_bytes(4, "little")),))
            outcome, _ = self.mempool.pool.add(PoolEntry(filler, filler.size, 0, {}))
            self.assertTrue(outcome.accepted)
        self.node.controller.message_received(self.a, "mempool", EmptyPayload())
        sizes = [len(payload.hashes) for payload in self.a.take("inv")]
        self.assertEqual(sizes, [500, 500, 1])


class InvalidPeerTests(RelayCase):
    def test_dropped_after_too_many_invalid(self) -> None:
        bad = [self.spend(n, valid=False) for n in range(MAX_INVALID)]
        for tx in bad[:-1]:
            self.send_tx(self.a, tx)
        self.assertIsNone(self.a.dropped)
        self.send_tx(self.a, bad[-1])
        assert self.a.dropped is not None
        reason, fault = self.a.dropped
        self.assertIs(fault, Fault.INVALID_TX_FLOOD)
        self.assertIn(f"{MAX_INVALID} transactions with bad signatures", reason)
        self.assertEqual([f for f, _ in self.a.faults],
                         [Fault.INVALID_TX] * (MAX_INVALID - 1) + [Fault.INVALID_TX_FLOOD])

    def test_spread_out_invalid_forgiven(self) -> None:
        for n in range(MAX_INVALID + 2):
            self.send_tx(self.a, self.spend(n, valid=False))
            self.clock.advance(INVALID_WINDOW / (MAX_INVALID - 2))
        self.assertIsNone(self.a.dropped)


class ConflictingRelayTests(RelayCase):
    def test_conflicting_relay_drops_no_honest_peer(self) -> None:
        """
        The attack of issue 21: an attacker gives us a spend of coin X and an honest
        peer a conflicting spend of X, ten times over; the honest peer relays its own
        to us. Before, ten "invalid" transactions within a minute banned it. Now a
        conflict is no fault: it stays, and only signatures that do not verify count.
        """
        for n in range(MAX_INVALID + 2):
            ref, value, key = self.coins[n]
            ours, theirs = (signed_transfer(
                [ref], [TransactionOutput(NEO_ASSET_ID, value, payee.script_hash)], [key])
                for payee in (PAYEE, STRANGER))
            self.send_tx(self.a, ours)  # the attacker's, first
            self.assertIn(ours.hash, self.mempool)
            self.send_tx(self.b, theirs)  # the honest peer's, conflicting
            self.assertNotIn(theirs.hash, self.mempool)
        self.assertIsNone(self.b.dropped)
        self.assertEqual(self.b.faults, [])
