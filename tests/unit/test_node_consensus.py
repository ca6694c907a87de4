"""
Tests for L{neo_twisted.node.consensus}: which consensus payloads a node takes,
and how it relays and serves them.
"""

from __future__ import annotations

import attrs
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.components import Witness
from neo_twisted.core.consensus import ConsensusPayload
from neo_twisted.crypto.scripts import push_data, script_hash, signature_redeem_script
from neo_twisted.ledger.generator import ChainGenerator, account_keys
from neo_twisted.network.payloads import InventoryType, InvPayload
from neo_twisted.p2p.faults import Fault, Response
from tests.support.consensus_samples import signed_payload
from tests.support.ledger_samples import DEV_KEYS, PRIVNET
from tests.support.node_policy_helpers import make_policy
from tests.support.p2p_fakes import FakePeer, ledger_service


class RelayCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.node, _ = make_policy(ledger_service(self), self.clock, user_agent="/t/",
                                   nonce=7)
        self.taken: list[ConsensusPayload] = []
        self.node.consensus.listener = self.taken.append
        self.a, self.b, self.c = (FakePeer(f"10.0.0.{i}", nonce=i) for i in (1, 2, 3))
        for peer in (self.a, self.b, self.c):
            self.node.controller.peer_established(peer)
            peer.take()

    def send(self, peer: FakePeer, payload: ConsensusPayload) -> None:
        self.node.controller.message_received(peer, "consensus", payload)

    def announced(self, peer: FakePeer) -> list[tuple[InventoryType, tuple[object, ...]]]:
        return [(p.type, p.hashes) for p in peer.take("inv")]


class AcceptanceTests(RelayCase):
    def test_taken_and_relayed_to_the_others(self) -> None:
        """
        A validator's payload for the next block is taken, announced by inv to every
        peer but its sender, and served from memory on getdata.
        """
        payload = signed_payload(2)
        self.send(self.a, payload)
        self.assertEqual(self.taken, [payload])
        self.assertEqual(self.announced(self.a), [])
        for peer in (self.b, self.c):
            self.assertEqual(self.announced(peer), [(InventoryType.Consensus, (payload.hash,))])
        self.node.controller.message_received(self.b, "getdata",
                                   InvPayload(InventoryType.Consensus, (payload.hash,)))
        self.assertEqual(self.b.take("consensus"), [payload])

    def test_taken_once(self) -> None:
        payload = signed_payload(1)
        self.send(self.a, payload)
        self.send(self.b, payload)
        self.assertEqual(self.taken, [payload])
        self.assertEqual(len(self.announced(self.c)), 1)

    def test_late_payload_ignored(self) -> None:
        """
        A payload for a height we already have (0 here: the genesis) is not taken.
        """
        self.send(self.a, signed_payload(1, block_index=0))
        self.assertEqual((self.taken, self.announced(self.b), self.a.dropped), ([], [], None))

    def test_unknown_validator_ignored(self) -> None:
        payload = signed_payload(0)
        beyond = ConsensusPayload(prev_hash=payload.prev_hash, block_index=1, validator_index=4,
                                  timestamp=payload.timestamp, data=payload.data,
                                  witness=payload.witness)
        self.send(self.a, beyond)
        self.assertEqual((self.taken, self.a.dropped), ([], None))

    def test_forged_signature_not_relayed(self) -> None:
        """
        Validator 1's payload signed with validator 3's key: nothing relayed, and no
        fault of the relayer's (it may know validators we do not): it stays.
        """
        self.send(self.a, signed_payload(1, signer=3))
        self.assertEqual(self.taken, [])
        self.assertIsNone(self.a.dropped)
        [(fault, detail)] = self.a.faults
        self.assertIs(fault, Fault.UNVERIFIED_CONSENSUS)
        self.assertIs(fault.response, Response.IGNORE)
        self.assertIn("not signed by validator 1", detail)
        self.assertEqual(self.announced(self.b), [])

    def test_never_stored(self) -> None:
        self.send(self.a, signed_payload(1))
        ledger = self.node.ledger.ledger
        assert ledger is not None
        self.assertEqual((ledger.block_height, ledger.header_height), (0, 0))


class ValidatorSetTests(RelayCase):
    def test_signers_of_the_tip_are_validators_too(self) -> None:
        """
        On a chain whose votes replaced the standby validators, payloads of the
        validators that signed our tip are taken (before issue 21 every one was refused
        and its honest relayer banned); a stranger's still are not.
        """
        elected = account_keys(77, 4)
        relay = self.node.consensus
        tip = [script_hash(key.verification_script) for key in elected]
        self.patch(relay, "_tip_scripts", lambda: tip)
        unsigned = signed_payload(2)
        witness = Witness(invocation_script=push_data(elected[2].sign(unsigned.unsigned_bytes())),
                          verification_script=elected[2].verification_script)
        payload = attrs.evolve(unsigned, witness=witness)
        self.assertIsNone(relay.problem(payload))
        self.send(self.a, payload)
        self.assertEqual(self.taken, [payload])
        stranger = attrs.evolve(unsigned, witness=Witness(
            invocation_script=push_data(elected[3].sign(unsigned.unsigned_bytes())),
            verification_script=elected[3].verification_script))
        self.assertEqual(relay.problem(stranger), "not signed by validator 2")

    def test_tip_signers_read_from_its_witness(self) -> None:
        """
        The validators of our tip are the keys of its witness's multisig, in order.
        """
        generator = ChainGenerator(PRIVNET, DEV_KEYS, 0, seed=1)
        ledger = self.node.ledger.ledger
        assert ledger is not None
        self.assertEqual(self.node.consensus._tip_scripts(), [])  # genesis: no multisig
        ledger.add_blocks([generator.next_block()])
        self.assertEqual(self.node.consensus._tip_scripts(),
                         [script_hash(signature_redeem_script(key))
                          for key in sorted(PRIVNET.standby_validators)])


class InventoryTests(RelayCase):
    def test_inv_fetched_from_up_to_three_peers(self) -> None:
        """
        An announced payload is asked of up to three announcers at once (a round cannot
        wait for a request to time out); the first to answer ends it, the others are
        not told about it, and a late copy is not taken twice.
        """
        payload = signed_payload(3)
        inv = InvPayload(InventoryType.Consensus, (payload.hash,))
        self.node.controller.message_received(self.a, "inv", inv)
        self.node.controller.message_received(self.b, "inv", inv)
        for peer in (self.a, self.b):
            [asked] = peer.take("getdata")
            self.assertEqual((asked.type, asked.hashes),
                             (InventoryType.Consensus, (payload.hash,)))
        self.send(self.a, payload)
        self.send(self.b, payload)
        self.assertEqual(self.taken, [payload])
        self.assertEqual(self.announced(self.b), [])
        self.assertEqual(len(self.announced(self.c)), 1)

    def test_inv_of_a_held_payload_ignored(self) -> None:
        payload = signed_payload(3)
        self.send(self.a, payload)
        self.node.controller.message_received(self.b, "inv",
                                   InvPayload(InventoryType.Consensus, (payload.hash,)))
        self.assertEqual(self.b.take("getdata"), [])

    def test_request_moves_on_when_the_peer_leaves(self) -> None:
        payload = signed_payload(3)
        inv = InvPayload(InventoryType.Consensus, (payload.hash,))
        self.node.controller.message_received(self.a, "inv", inv)
        self.node.controller.message_received(self.b, "inv", inv)
        self.node.controller.message_received(self.c, "inv", inv)
        d = FakePeer("10.0.0.4", nonce=4)
        self.node.controller.peer_established(d)
        d.take()
        self.node.controller.message_received(d, "inv", inv)
        self.assertEqual(d.take("getdata"), [])  # three are asked already
        for peer in (self.a, self.b, self.c):
            peer.take()
            self.node.controller.peer_lost(peer, "gone", None)
            self.assertEqual(peer.take(), [])
        [asked] = d.take("getdata")
        self.assertEqual(asked.hashes, (payload.hash,))


class OwnPayloadTests(RelayCase):
    def test_sent_directly_to_every_peer(self) -> None:
        """
        Our own payload goes as a consensus message to all peers, none of which is
        sent it again (by inv or on a new connection).
        """
        payload = signed_payload(0)
        self.node.consensus.send_own(payload)
        for peer in (self.a, self.b, self.c):
            self.assertEqual(peer.take(), [payload])
        self.node.controller.message_received(self.a, "getdata",
                                   InvPayload(InventoryType.Consensus, (payload.hash,)))
        self.assertEqual(self.a.take("consensus"), [payload])  # served once on request

    def test_not_sent_to_peers_that_want_no_relays(self) -> None:
        """
        A peer whose version says Relay=false (a light client) is not sent our payloads.
        """
        assert self.c.version is not None
        self.c.version = attrs.evolve(self.c.version, relay=False)
        payload = signed_payload(0)
        self.node.consensus.send_own(payload)
        self.assertEqual(self.a.take(), [payload])
        self.assertEqual(self.c.take(), [])

    def test_a_block_is_not_served_for_a_consensus_getdata(self) -> None:
        """
        The relay cache holds blocks and payloads alike: a getdata of one kind is never
        answered with the other.
        """
        payload = signed_payload(0)
        self.node.consensus.send_own(payload)
        self.a.take()
        self.node.controller.message_received(self.a, "getdata",
                                   InvPayload(InventoryType.Block, (payload.hash,)))
        self.assertEqual(self.a.take(), [])

    def test_new_peer_gets_the_round_in_progress(self) -> None:
        """
        A peer that connects gets the payloads of the heights above ours at once, and
        only those.
        """
        current = signed_payload(0)
        self.node.consensus.send_own(current)
        self.send(self.a, signed_payload(2))
        late = FakePeer("10.0.0.9", nonce=9)
        self.node.controller.peer_established(late)
        self.assertEqual(len(late.take("consensus")), 2)

    def test_buffer_replays_by_height(self) -> None:
        one, two = signed_payload(1, block_index=1), signed_payload(2, block_index=2)
        self.send(self.a, one)
        self.send(self.a, two)
        self.assertEqual(self.node.consensus.for_block(2), [two])
        self.assertEqual(self.node.consensus.for_block(1), [])  # forgotten once passed
