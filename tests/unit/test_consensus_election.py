"""
dBFT across a change of validators by votes: the four standby validators and an
elected fifth, in memory on one clock (L{tests.support.consensus_network}). Blocks keep
coming through the change, the fifth validator takes part (it is primary in its
turn and no view changes are needed), every node relays its payloads, and no
peer is dropped or faulted for them.
"""

from __future__ import annotations

from typing import cast

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.crypto.scripts import bft_threshold, consensus_address, multisig_redeem_script
from neo_twisted.mempool.outcome import Outcome
from tests.support.consensus_network import SECONDS, Member, Network
from tests.support.ledger_samples import DEV_KEYS
from tests.support.node_policy_helpers import FakeConnections
from tests.support.vote_samples import (
    CANDIDATE_KEY,
    FIVE,
    STANDBY,
    election_chain,
    registration_chain,
    signed_vote,
)

CHAIN = election_chain()


class ElectedValidatorTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.net = Network(self)
        self.members = [Member(self, self.net.clock, i + 1, key, CHAIN)
                        for i, key in enumerate(DEV_KEYS)]
        self.fifth = Member(self, self.net.clock, 5, CANDIDATE_KEY, CHAIN)
        self.relay = Member(self, self.net.clock, 6, None, CHAIN)
        self.everyone = [*self.members, self.fifth, self.relay]

    def test_five_validators_make_blocks(self) -> None:
        """
        After block 2's votes, blocks are signed by the five (M = 4), the fifth
        validator proposes in its turn at view 0, and the chains agree.
        """
        self.net.mesh(self.everyone)
        for member in self.everyone:
            member.start()
        self.assertEqual(self.fifth.ledger.validators.next_validators, FIVE)
        target = 2 + 2 * len(FIVE)
        self.net.run(self.everyone, SECONDS * 4 * len(FIVE),
                     until=lambda: all(m.height >= target for m in self.everyone))
        for member in self.everyone:
            self.assertGreaterEqual(member.height, target, member)
        script = multisig_redeem_script(bft_threshold(len(FIVE)), FIVE)
        ledger = self.relay.ledger
        for index in range(3, target + 1):
            header = ledger.get_header(index)
            assert header is not None
            self.assertEqual(header.witness.verification_script, script, index)
            self.assertEqual(header.next_consensus, consensus_address(FIVE), index)
            hashes = {m.ledger.get_block_hash(index) for m in self.everyone}
            self.assertEqual(len(hashes), 1, f"the chains differ at {index}")
        assert self.fifth.consensus is not None
        rounds = list(self.fifth.consensus.recent)
        self.assertEqual({r["view"] for r in rounds}, {0})
        mine = FIVE.index(CANDIDATE_KEY.public_key)
        self.assertIn(mine, {r["primary"] for r in rounds})
        self.assertTrue(any(r["ours"] for r in rounds if r["primary"] == mine))
        self.assertEqual(self.relay.ledger.validators.mismatches, 0)

    def test_payloads_relayed_by_every_node(self) -> None:
        """
        The fifth validator reaches the others only through the relay: its payloads
        pass the relay's check, and nobody is faulted or dropped for them.
        """
        for member in self.members:
            self.net.dial(member, self.relay)
        self.net.mesh(self.members)
        self.net.dial(self.fifth, self.relay)
        for member in self.everyone:
            member.start()
        target = 2 + len(FIVE)
        self.net.run(self.everyone, SECONDS * 3 * len(FIVE),
                     until=lambda: all(m.height >= target for m in self.everyone))
        self.assertGreaterEqual(self.fifth.height, target)
        assert self.fifth.consensus is not None
        mine = FIVE.index(CANDIDATE_KEY.public_key)
        self.assertIn(mine, {r["primary"] for r in self.fifth.consensus.recent})
        for (_, _), (_, outbound, inbound) in self.net.links.items():
            self.assertTrue(outbound.established and inbound.established)
        for member in self.everyone:
            connections = member.node.connections
            assert isinstance(connections, FakeConnections)  # the test network's stand-in
            calls = connections.calls
            self.assertEqual([c for c in calls if c[0] in ("fault_ignored", "peer_lost")], [],
                             member)


class VoteFromThePoolTests(SynchronousTestCase):
    def test_vote_proposed_and_followed(self) -> None:
        """
        A vote sent to a validator's pool goes into a proposal whose NextConsensus is
        the five's (every backup computes the same and signs); from the next block
        on, the five make the blocks, the fifth in its turn.
        """
        net = Network(self)
        chain = registration_chain()
        members = [Member(self, net.clock, i + 1, key, chain) for i, key in enumerate(DEV_KEYS)]
        fifth = Member(self, net.clock, 5, CANDIDATE_KEY, chain)
        everyone = [*members, fifth]
        net.mesh(everyone)
        for member in everyone:
            member.start()
        self.assertEqual(fifth.ledger.validators.next_validators, tuple(sorted(STANDBY)))
        vote = signed_vote()
        outcomes: list[Outcome] = []
        members[0].mempool.submit(vote).addCallback(outcomes.append)
        net.settle()
        self.assertTrue(outcomes and outcomes[0].accepted, outcomes)
        net.run(everyone, SECONDS * 4 * len(FIVE), until=lambda: all(
            m.height >= 3 + len(FIVE) for m in everyone))
        found = fifth.ledger.get_transaction(vote.hash)
        assert found is not None, "the vote never made it into a block"
        voted_at = found[1]
        header = fifth.ledger.get_header(voted_at)
        assert header is not None
        self.assertEqual(header.next_consensus, consensus_address(FIVE))
        self.assertEqual(fifth.ledger.validators.next_validators, FIVE)
        self.assertGreaterEqual(fifth.height, voted_at + len(FIVE))
        assert fifth.consensus is not None
        mine = FIVE.index(CANDIDATE_KEY.public_key)
        self.assertIn(mine, {r["primary"] for r in fifth.consensus.recent
                             if cast(int, r["height"]) > voted_at})
        self.assertEqual(fifth.ledger.validators.mismatches, 0)
