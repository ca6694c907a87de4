"""
Tests for the validator metrics of L{neo_twisted.metrics.collector.NodeCollector}:
the size of the elected set and the blocks whose NextConsensus did not match it.
"""

from __future__ import annotations

from prometheus_client.core import Metric

from neo_twisted.core.block import Block
from neo_twisted.core.transactions import (
    STATE_ACCOUNT,
    STATE_VALIDATOR,
    StateDescriptor,
    StateTransaction,
)
from neo_twisted.ledger.chain import Verdict
from neo_twisted.ledger.generator import account_keys
from neo_twisted.ledger.votes import vote_value
from neo_twisted.metrics.collector import NodeCollector
from neo_twisted.node.progress import SyncProgress
from neo_twisted.wire.uint import UInt160
from tests.support.ledger_samples import PRIVNET, make_block
from tests.support.mempool_samples import signed
from tests.support.rpc_methods_case import MethodsTestCase

#: A key that registers as a candidate.
CANDIDATE = account_keys(4343, 1)[0]


class ValidatorMetricsTests(MethodsTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.collector = NodeCollector(self.node, self.mempool,
                                       SyncProgress(self.node, self.clock))

    def add(self, block: Block) -> None:
        self.assertEqual([r.verdict for r in self.ledger.add_blocks([block])],
                         [Verdict.ACCEPTED])

    def samples(self) -> dict[str, float]:
        families: dict[str, Metric] = {f.name: f for f in self.collector.collect()}
        return {sample.name: sample.value
                for name in ("neo_validators", "neo_next_consensus_mismatches")
                for sample in families[name].samples if not sample.name.endswith("_created")}

    def test_standby_validators_and_no_mismatch(self) -> None:
        self.assertEqual(self.samples(), {"neo_validators": len(PRIVNET.standby_validators),
                                          "neo_next_consensus_mismatches_total": 0})

    def test_an_elected_fifth_validator(self) -> None:
        """
        A vote for five keys raises the count to five by 2.11's formula. The block
        holding it keeps the standby NextConsensus, which is the pre-2.11 formula's
        address (four validators): a match.
        """
        voter = self.chain.coins[0][2]
        register = StateDescriptor(STATE_VALIDATOR, CANDIDATE.public_key.encode(),
                                   "Registered", b"\x01")
        vote = StateDescriptor(STATE_ACCOUNT, voter.script_hash, "Votes",
                               vote_value([*PRIVNET.standby_validators, CANDIDATE.public_key]))
        self.add(make_block(self.ledger.header_tip, [
            signed(StateTransaction(descriptors=(register,)), [CANDIDATE]),
            signed(StateTransaction(descriptors=(vote,)), [voter])]))
        self.assertEqual(self.samples(), {"neo_validators": 5,
                                          "neo_next_consensus_mismatches_total": 0})

    def test_mismatches_counted(self) -> None:
        """
        A block whose NextConsensus is no formula's address is accepted, and counted.
        """
        self.add(make_block(self.ledger.header_tip, next_consensus=UInt160(bytes(20))))
        self.assertEqual(self.samples(), {"neo_validators": len(PRIVNET.standby_validators),
                                          "neo_next_consensus_mismatches_total": 1})

    def test_no_ledger_no_validator_metrics(self) -> None:
        self.mempool.stopService()  # it holds the ledger's store open while it runs
        self.ledger_service.stopService()
        names = {family.name for family in self.collector.collect()}
        self.assertFalse(names & {"neo_validators", "neo_next_consensus_mismatches"})
