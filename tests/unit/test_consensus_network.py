"""
dBFT 1.0 end to end in memory: four validators (and relays) on one clock make
blocks, survive an absent primary, a lying validator and lost majorities, and
keep identical chains that their ledgers checked witness by witness.
"""

from __future__ import annotations

from typing import Any, cast

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.consensus.context import ConsensusState
from neo_twisted.consensus.service import ConsensusService
from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.consensus import ConsensusMessage, PrepareRequest, PrepareResponse
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import NEO_ASSET_ID
from neo_twisted.ledger.chain import Verdict
from neo_twisted.ledger.generator import ChainGenerator, account_keys, signed_transfer
from neo_twisted.mempool.outcome import Outcome
from neo_twisted.mempool.pool import PoolEntry
from neo_twisted.wire.uint import UInt160
from tests.support.consensus_network import CHAIN, COINS, SECONDS, Member, Network
from tests.support.ledger_samples import DEV_KEYS, PRIVNET

PAYEE = account_keys(4321, 1)[0]


def pay(n: int) -> Transaction:
    ref, value, key = COINS[n]
    return signed_transfer([ref], [TransactionOutput(NEO_ASSET_ID, value, PAYEE.script_hash)],
                           [key])


class NetworkCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.net = Network(self)

    def validators(self, *, kind: type[ConsensusService] = ConsensusService,
                   liars: tuple[int, ...] = ()) -> list[Member]:
        members = []
        for i, key in enumerate(DEV_KEYS):
            member = Member(self, self.net.clock, i + 1, key, CHAIN)
            if i in liars:
                member.consensus = Liar(member.node, key, self.net.clock)
            members.append(member)
        return members

    def assert_same_chains(self, members: list[Member], height: int) -> None:
        for member in members:
            self.assertEqual(member.height, height, member)
        for index in range(height + 1):
            hashes = {member.ledger.get_block_hash(index) for member in members}
            self.assertEqual(len(hashes), 1, f"the chains differ at {index}")

    def submit(self, member: Member, tx: Transaction) -> None:
        outcomes: list[Outcome] = []
        member.mempool.submit(tx).addCallback(outcomes.append)
        self.net.settle()
        self.assertTrue(outcomes and outcomes[0].accepted, outcomes)

    def views(self, member: Member) -> list[int]:
        assert member.consensus is not None
        return [cast(int, r["view"]) for r in member.consensus.recent]


class Liar(ConsensusService):
    """
    A validator that signs its payloads properly but lies inside them: its block
    signatures are garbage and its proposals name the wrong next validators.
    """

    def _send(self, message: ConsensusMessage) -> None:
        if isinstance(message, PrepareResponse):
            message = attrs.evolve(message, signature=b"\x01" * 64)
        elif isinstance(message, PrepareRequest):
            message = attrs.evolve(message, next_consensus=UInt160(b"\x07" * 20))
        super()._send(message)


class ProductionTests(NetworkCase):
    def test_fifty_blocks_with_transactions(self) -> None:
        """
        Fully connected validators make 50 blocks in a row at view 0, one every
        SecondsPerBlock; transactions given to any of them end up in blocks.
        """
        members = self.validators()
        self.net.mesh(members)
        for member in members:
            member.start()
        start = len(CHAIN)
        txs = [pay(n) for n in range(8)]
        for n, tx in enumerate(txs):
            self.submit(members[n % 4], tx)
        self.net.run(members, 60 * SECONDS,
                     until=lambda: all(m.height >= start + 50 for m in members))
        self.assert_same_chains(members, start + 50)
        included = {tx.hash for i in range(start + 1, start + 51)
                    for tx in members[0].ledger.get_block(i).transactions}  # type: ignore[union-attr]
        self.assertTrue({tx.hash for tx in txs} <= included)
        self.assertEqual([len(m.mempool.pool) for m in members], [0, 0, 0, 0])
        for member in members:
            self.assertEqual(self.views(member), [0] * 10)
        made = [m.consensus.blocks_made for m in members]  # type: ignore[union-attr]
        self.assertTrue(all(n > 0 for n in made), made)
        # one block per SecondsPerBlock, from the first at +15 s
        self.assertEqual(self.net.clock.seconds() - 1_700_000_000, 50 * SECONDS)

    def test_transaction_fetched_for_a_proposal(self) -> None:
        """
        A transaction only the primary holds is fetched by the backups from the
        proposal and included.
        """
        members = self.validators()
        self.net.mesh(members)
        primary = members[(len(CHAIN) + 1) % 4]
        tx = pay(0)
        primary.mempool.pool.add(PoolEntry(tx, tx.size, 0))  # in its pool, never announced
        for session in primary.node.sessions.values():
            session.known.add(tx.hash)  # nor announced with the proposal
        for member in members:
            member.start()
        self.net.run(members, 3 * SECONDS, until=lambda: all(m.height > len(CHAIN)
                                                             for m in members))
        block = members[0].ledger.get_block(len(CHAIN) + 1)
        assert block is not None
        self.assertIn(tx.hash, [t.hash for t in block.transactions])
        self.assertEqual(self.views(members[0]), [0])
        for member in members:
            if member is not primary:
                served = sum(p.messages_in.get("tx", 0) for p in member.node.sessions)
                self.assertEqual(served, 1)


class FaultTests(NetworkCase):
    def test_primary_offline(self) -> None:
        """
        Without the primary of the next height the others change view and go on; it
        comes back, syncs the blocks it missed and takes part again.
        """
        members = self.validators()
        self.net.mesh(members)
        absent = members[(len(CHAIN) + 1) % 4]
        others = [m for m in members if m is not absent]
        for member in others:
            member.start()
        self.net.cut(absent)
        self.net.run(others, 20 * SECONDS, until=lambda: all(m.height >= len(CHAIN) + 5
                                                             for m in others))
        self.assert_same_chains(others, len(CHAIN) + 5)
        self.assertEqual(self.views(others[0])[0], 1)
        self.assertEqual(absent.height, len(CHAIN))
        for member in others:
            self.net.dial(absent, member)
        absent.start()
        target = max(m.height for m in others) + 8
        self.net.run(members, 40 * SECONDS, until=lambda: all(m.height >= target
                                                              for m in members))
        self.assert_same_chains(members, target)
        assert absent.consensus is not None
        self.assertTrue(any(r["ours"] for r in absent.consensus.recent))

    def test_validator_stopped_and_started_again(self) -> None:
        """
        A consensus service stopped (the node goes on relaying) and started again takes
        part as before, each round once.
        """
        members = self.validators()
        self.net.mesh(members)
        for member in members:
            member.start()
        paused = members[1]
        assert paused.consensus is not None
        self.net.run(members, 3 * SECONDS, until=lambda: members[0].height >= len(CHAIN) + 2)
        paused.stop()
        self.net.run(members, 10 * SECONDS, until=lambda: members[0].height >= len(CHAIN) + 5)
        self.assertEqual(paused.height, len(CHAIN) + 5)  # it still syncs and relays
        paused.start()
        made = paused.consensus.blocks_made
        self.net.run(members, 20 * SECONDS, until=lambda: members[0].height >= len(CHAIN) + 12)
        self.assert_same_chains(members, len(CHAIN) + 12)
        self.assertGreater(paused.consensus.blocks_made, made)
        heights = [r["height"] for r in paused.consensus.recent]
        self.assertEqual(len(heights), len(set(heights)))

    def test_lying_validator(self) -> None:
        """
        A validator sending garbage signatures and wrong proposals slows nothing
        but its own turns as primary; the honest three make every block.
        """
        members = self.validators(liars=(2,))
        self.net.mesh(members)
        for member in members:
            member.start()
        self.net.run(members, 40 * SECONDS, until=lambda: all(m.height >= len(CHAIN) + 8
                                                              for m in members))
        self.assert_same_chains(members, len(CHAIN) + 8)
        honest = members[0]
        views = self.views(honest)
        self.assertIn(1, views)  # the liar's turns ended in a view change
        for index in range(len(CHAIN) + 1, len(CHAIN) + 9):
            block = honest.ledger.get_block(index)
            assert block is not None
            self.assertNotEqual(block.header.next_consensus, UInt160(b"\x07" * 20))

    def test_two_of_four_offline(self) -> None:
        """
        Two validators alone never make a block (M is 3). A third returning joins the
        view they ask for at once, so the next view that has a live primary makes
        the block: one long timeout later, not many.
        """
        members = self.validators()
        self.net.mesh(members)
        primary = (len(CHAIN) + 1) % 4
        online = [members[(primary + 1) % 4], members[(primary + 2) % 4]]
        returning = members[(primary + 3) % 4]
        for member in online:
            member.start()
        self.net.cut(members[primary])
        self.net.cut(returning)
        self.net.run(online, 40 * SECONDS)
        self.assertEqual([m.height for m in members], [len(CHAIN)] * 4)
        asked = online[0].consensus.context.expected_view  # type: ignore[union-attr]
        self.assertEqual(sorted(asked), [0, 0, 4, 4])
        for member in online:
            self.net.dial(returning, member)
        returning.start()
        self.assertEqual(returning.consensus.context.view, 4)  # type: ignore[union-attr]
        back = self.net.clock.seconds()
        up = [*online, returning]
        self.net.run(up, 100 * SECONDS, until=lambda: all(m.height > len(CHAIN) for m in up))
        self.assert_same_chains(up, len(CHAIN) + 1)
        # view 4's primary is the absent one: its timeout (15 s << 5) passes, then
        # view 5's primary (the one that returned) proposes at once
        self.assertIn(self.net.clock.seconds() - back, (SECONDS << 5, (SECONDS << 5) + 1))
        self.assertEqual(self.views(returning), [5])


class SyncingTests(NetworkCase):
    def test_syncing_validator_neither_proposes_nor_signs(self) -> None:
        """
        A validator with a verified header past its blocks (the others made block 4 while
        it was away) does not propose on its stale tip, though its turn comes; once it
        reaches its peers it fetches the blocks and takes part again. (A peer's claimed
        height alone proves nothing: see tests.integration.test_hostile_claims.)
        """
        members = self.validators()
        again = ChainGenerator(PRIVNET, DEV_KEYS, 2, seed=9)
        *same, block = [again.next_block() for _ in range(len(CHAIN) + 1)]
        self.assertEqual(same, CHAIN)
        behind, others = members[0], members[1:]
        for member in others:
            self.assertEqual(member.ledger.add_block(block).verdict, Verdict.ACCEPTED)
        self.assertEqual(behind.ledger.add_headers([block.header]).added, 1)
        self.assertTrue(behind.node.syncing)
        self.net.mesh(others)
        for member in members:
            member.start()
        # its turn at height 4 comes at 15 s: it waits, and the others go on without it
        self.net.run(members, 20)
        assert behind.consensus is not None and behind.consensus.context is not None
        self.assertEqual(behind.consensus.context.block_index, len(CHAIN) + 1)
        self.assertNotIn("requestsent", behind.consensus.status()["state"])
        self.assertEqual(behind.height, len(CHAIN))
        for member in others:
            self.net.dial(behind, member)
        self.net.run(members, 10 * SECONDS, until=lambda: all(m.height > len(CHAIN) + 2
                                                               for m in members))
        self.assert_same_chains(members, len(CHAIN) + 3)
        self.assertFalse(behind.node.syncing)


class RelayTests(NetworkCase):
    def test_relay_between_validators(self) -> None:
        """
        Validators linked only through a non-validator make blocks, and every payload
        crosses every link once: from its validator to the relay, then to the others.
        """
        members = self.validators()
        relay = Member(self, self.net.clock, 9, None, CHAIN)
        for member in members:
            self.net.dial(member, relay)
        seen: list[Any] = []
        relay.node.consensus.listener = lambda payload: seen.append(payload.hash)
        for member in members:
            member.start()
        everyone = [*members, relay]
        self.net.run(everyone, 10 * SECONDS, until=lambda: all(m.height >= len(CHAIN) + 3
                                                                for m in everyone))
        self.assert_same_chains(everyone, len(CHAIN) + 3)
        self.assertEqual(len(seen), len(set(seen)))
        per_link = self.net.messages("consensus")
        to_relay = sum(inbound for _, inbound in per_link.values())
        to_validators = sum(outbound for outbound, _ in per_link.values())
        self.assertEqual(to_relay, len(seen))
        self.assertEqual(to_validators, 3 * len(seen))


class SafetyTests(NetworkCase):
    def test_a_validator_that_signed_never_asks_to_move_on(self) -> None:
        """
        The fork a local network made under load: validators that signed view 0's block
        asked for view 1 when it was slow to come, signed view 1's too, and both blocks
        were made. Now one that signed waits, sending its signature again, so two
        backups cut off from the round cannot move it alone (2 of 4 ask, M is 3). Once
        they are heard, view 0's block is out of reach (those that asked to leave a view
        never sign its block), so the signers ask too, and one block is made, later.
        """
        members = self.validators()
        primary = members[(len(CHAIN) + 1) % 4]
        signer = members[(len(CHAIN) + 2) % 4]
        others = [m for m in members if m not in (primary, signer)]
        self.net.dial(signer, primary)
        for member in members:
            member.start()
        self.net.run(members, 20 * SECONDS,
                     until=lambda: all(max(m.consensus.context.expected_view) >= 1  # type: ignore
                                       for m in others))
        for member in (primary, signer):
            context = member.consensus.context  # type: ignore[union-attr]
            assert context is not None
            self.assertEqual((context.view, context.expected_view[context.my_index]), (0, 0))
        self.assertEqual(members[0].height, len(CHAIN))
        self.net.run(members, 10 * SECONDS)  # more timeouts: still nobody signed moves
        self.assertEqual(signer.consensus.context.expected_view[  # type: ignore[union-attr]
            signer.consensus.context.my_index], 0)  # type: ignore[union-attr]
        for member in others:
            self.net.dial(member, primary)
            self.net.dial(member, signer)
        self.net.run(members, 20 * SECONDS,
                     until=lambda: all(m.height > len(CHAIN) for m in members))
        self.assert_same_chains(members, len(CHAIN) + 1)
        views = {self.views(member)[0] for member in (primary, signer)}
        self.assertEqual(len(views), 1)
        self.assertGreater(views.pop(), 0)

    def test_no_view_change_once_our_block_is_out(self) -> None:
        """
        Once we made the block (BlockSent), the round ends when it is persisted: a timer
        firing meanwhile asks for no other view (the reference's guard).
        """
        members = self.validators()
        backup = members[(len(CHAIN) + 2) % 4]
        backup.start()
        service = backup.consensus
        assert service is not None and service.context is not None
        ctx = service.context
        ctx.state |= ConsensusState.BLOCK_SENT
        service._timed_out(ctx.block_index, ctx.view)
        self.assertEqual(ctx.expected_view[ctx.my_index], 0)
        ctx.state &= ~ConsensusState.BLOCK_SENT
        service._timed_out(ctx.block_index, ctx.view)
        self.assertEqual(ctx.expected_view[ctx.my_index], 1)

    def test_who_asked_to_leave_a_view_never_signs_its_block(self) -> None:
        """
        The other half of the localnet fork: a backup asked for view 1 before the
        proposal reached it, then signed the late proposal; its request and its
        signature both counted, and two blocks were made. Now it refuses to sign.
        """
        members = self.validators()
        primary = members[(len(CHAIN) + 1) % 4]
        late = members[(len(CHAIN) + 2) % 4]
        for member in members:
            member.start()
        self.net.run(members, 20 * SECONDS,
                     until=lambda: late.consensus.context.expected_view[  # type: ignore
                         late.consensus.context.my_index] >= 1)  # type: ignore[union-attr]
        context = late.consensus.context  # type: ignore[union-attr]
        assert context is not None and context.view == 0
        self.net.dial(late, primary)  # the round's payloads come on connecting
        self.assertIsNotNone(context.transaction_hashes)  # it has the proposal now
        self.assertNotIn(ConsensusState.SIGNATURE_SENT, context.state)
        self.assertIsNone(context.signatures[context.my_index])

    def test_the_primary_that_proposed_does_not_ask_to_move_on(self) -> None:
        members = self.validators()
        primary = members[(len(CHAIN) + 1) % 4]
        for member in members:
            member.start()
        self.net.run(members, 4 * SECONDS, until=lambda: ConsensusState.REQUEST_SENT
                     in primary.consensus.context.state)  # type: ignore[union-attr]
        context = primary.consensus.context  # type: ignore[union-attr]
        assert context is not None
        self.assertIn(ConsensusState.SIGNATURE_SENT, context.state)
        self.net.run([primary], 20 * SECONDS)  # alone: its timers fire, it re-proposes
        self.assertEqual(context.expected_view[context.my_index], 0)
