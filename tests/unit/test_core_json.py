"""
Tests for the JSON views (L{neo_twisted.core.jsonify}) and system fees (L{neo_twisted.core.fees}).
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    Block,
    EnrollmentTransaction,
    InvocationTransaction,
    IssueTransaction,
    PublishTransaction,
    StateDescriptor,
    StateTransaction,
    TransactionAttribute,
    TransactionOutput,
)
from neo_twisted.core.consensus import ChangeView, ConsensusPayload
from neo_twisted.core.fees import system_fee
from neo_twisted.core.jsonify import block_json, consensus_json, transaction_json
from neo_twisted.wire.fixed8 import FIXED8_ONE
from neo_twisted.wire.uint import UInt160, UInt256
from tests.support.json_shapes import json_array, json_at, json_object
from tests.support.samples import GENESIS_HEX
from tests.support.transaction_samples import KEY

GENESIS = Block.from_bytes(bytes.fromhex(GENESIS_HEX))


class GenesisJsonTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.json = block_json(GENESIS)

    def test_header_fields(self) -> None:
        """
        Block JSON carries the RPC names and formats: nonce as 16 hex digits, addresses.
        """
        self.assertEqual(self.json["nonce"], "000000007c2bac1d")
        self.assertEqual(self.json["nextconsensus"], "APyEx5f4Zm4oCHwFWiSTaph1fPBxZacYVR")
        self.assertEqual(self.json["time"], 1468595301)
        self.assertEqual(self.json["script"], {"invocation": "", "verification": "51"})
        self.assertEqual(self.json["merkleroot"],
                         "0x803ff4abe3ea6533bcc0be574efa02f83ae8fdc651c879056b0d9be336c01bf4")

    def test_register_transaction(self) -> None:
        """
        The NEO registration shows its parsed name, amount, infinity owner and admin address.
        """
        neo = json_object(json_at(self.json, "tx", 1))
        self.assertEqual(neo["txid"], str(NEO_ASSET_ID))
        self.assertEqual(neo["asset"], {
            "type": "GoverningToken",
            "name": [{"lang": "zh-CN", "name": "小蚁股"}, {"lang": "en", "name": "AntShare"}],
            "amount": "100000000",
            "precision": 0,
            "owner": "00",
            "admin": "Abf2qMs1pzQb8kYk9RuxtUb9jtRKJVuBJt",
        })
        self.assertEqual(neo["sys_fee"], "0")
        self.assertEqual(json_at(self.json, "tx", 2, "asset", "precision"), 8)

    def test_issue_transaction(self) -> None:
        """
        The genesis issue pays 100,000,000 NEO to the 4-of-7 holder, free of system fee.
        """
        issue = json_object(json_at(self.json, "tx", 3))
        self.assertEqual(issue["vout"], [{
            "n": 0, "asset": str(NEO_ASSET_ID), "value": "100000000",
            "address": "AQVh2pG732YvtNaxEGkQUei3YA4cvo7d2i"}])
        self.assertEqual(issue["sys_fee"], "0")
        self.assertEqual(issue["scripts"], [{"invocation": "", "verification": "51"}])


class SystemFeeTests(SynchronousTestCase):
    def test_fee_table_and_exceptions(self) -> None:
        """
        Fees come from the table, with the reference node's per-type exceptions.
        """
        other_asset = UInt256(b"\x07" * 32)
        owner = UInt160(b"\x01" * 20)
        paid_issue = IssueTransaction(outputs=(TransactionOutput(other_asset, 5, owner),))
        neo_issue = IssueTransaction(outputs=(TransactionOutput(NEO_ASSET_ID, 5, owner),))
        v1_issue = IssueTransaction(version=1, outputs=paid_issue.outputs)
        self.assertEqual(system_fee(paid_issue), 500 * FIXED8_ONE)
        self.assertEqual(system_fee(neo_issue), 0)
        self.assertEqual(system_fee(v1_issue), 0)
        self.assertEqual(system_fee(EnrollmentTransaction(public_key=KEY)), 1000 * FIXED8_ONE)
        self.assertEqual(system_fee(PublishTransaction()), 500 * FIXED8_ONE)
        self.assertEqual(system_fee(InvocationTransaction(version=1, gas=3 * FIXED8_ONE)),
                         3 * FIXED8_ONE)
        self.assertEqual(system_fee(IssueTransaction(), {"IssueTransaction": 7}), 0)
        self.assertEqual(system_fee(paid_issue, {"IssueTransaction": 7}), 7)

    def test_validator_registration(self) -> None:
        """
        Registering a validator costs 1000 GAS; unregistering (all-zero value) is free.
        """
        def state(value: bytes) -> StateTransaction:
            return StateTransaction(descriptors=(
                StateDescriptor(0x48, KEY.encode(), "Registered", value),))
        self.assertEqual(system_fee(state(b"\x01")), 1000 * FIXED8_ONE)
        self.assertEqual(system_fee(state(b"\x00")), 0)


class TransactionJsonTests(SynchronousTestCase):
    def test_attributes_and_invocation(self) -> None:
        """
        Attributes show their usage by name; invocation shows script and gas.
        """
        tx = InvocationTransaction(
            version=1, script=b"\x51", gas=2 * FIXED8_ONE,
            attributes=(TransactionAttribute(0x20, bytes(20)),
                        TransactionAttribute(0xF1, b"hi"),
                        TransactionAttribute(0x02, b"\x02" + bytes(32))),
            outputs=(TransactionOutput(GAS_ASSET_ID, 150_000_000, UInt160(bytes(20))),))
        result = transaction_json(tx)
        self.assertEqual([json_object(a)["usage"] for a in json_array(result["attributes"])],
                         ["Script", "Remark1", "ECDH02"])
        self.assertEqual(json_at(result, "attributes", 1, "data"), "6869")
        self.assertEqual(json_at(result, "attributes", 2, "data"), "02" + "00" * 32)
        self.assertEqual((result["script"], result["gas"], result["sys_fee"]), ("51", "2", "2"))
        self.assertEqual(json_at(result, "vout", 0, "value"), "1.5")

    def test_publish_contract(self) -> None:
        """
        Publish shows the contract's parameter and return types by name.
        """
        tx = PublishTransaction(version=1, script=b"\x51", parameter_list=b"\x07\x10",
                                return_type=0x05, need_storage=True, name="c")
        code = json_object(transaction_json(tx)["contract"])
        self.assertEqual(json_at(code, "code", "parameters"), ["String", "Array"])
        self.assertEqual(json_at(code, "code", "returntype"), "ByteArray")
        self.assertTrue(code["needstorage"])

    def test_consensus_payload(self) -> None:
        """
        A consensus payload shows its routing fields and the message inside.
        """
        payload = ConsensusPayload(prev_hash=UInt256(), block_index=7, validator_index=2,
                                   timestamp=1, data=ChangeView(view_number=0,
                                                                new_view_number=1).to_bytes())
        result = consensus_json(payload)
        self.assertEqual(result["message"],
                         {"type": "ChangeView", "viewnumber": 0, "newviewnumber": 1})
        self.assertEqual((result["blockindex"], result["validatorindex"]), (7, 2))
        broken = consensus_json(ConsensusPayload(prev_hash=UInt256(), block_index=7,
                                                 validator_index=2, timestamp=1, data=b"\x30"))
        self.assertIn("error", broken["message"])
