"""
Tests for L{neo_twisted.ledger.genesis}: the genesis blocks of mainnet, testnet and the privnet
match the identifiers of neo2-ledger.md section 5.2 and privnet.md.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    IssueTransaction,
    MinerTransaction,
    RegisterTransaction,
)
from neo_twisted.crypto.keys import address_from_script_hash
from neo_twisted.crypto.scripts import multisig_redeem_script, script_hash
from neo_twisted.ledger.genesis import GAS_REGISTRATION, NEO_REGISTRATION, genesis_block
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.wire.uint import UInt160, UInt256
from tests.support.ledger_samples import (
    CONSENSUS_HASH,
    MAINNET,
    PRIVNET,
    PRIVNET_GENESIS_HASH,
    TESTNET,
)
from tests.support.samples import GENESIS_HEX

NEO_ID = "0xc56f33fc6ecfcd0c225c4ab356fee59390af8560be0e930faebe74a6daff7c9b"
GAS_ID = "0x602c79718b16e442de58778e148d0b1084e3b2dffd5de6b7b16cee7969282de7"
MINER_TX = "0xfb5bd72b2d6792d75dc2f1084ffa9e9f70ca85543c717a6b13d9959b452a57d6"

#: neo2-ledger.md section 5.2, per network.
EXPECTED = {
    "mainnet": {
        "hash": "0xd42561e3d30e15be6400b6df2f328e02d2bf6354c41dce433bc57687c82144bf",
        "merkle_root": "0x803ff4abe3ea6533bcc0be574efa02f83ae8fdc651c879056b0d9be336c01bf4",
        "issue": "0x3631f66024ca6f5b033d7e0809eb993443374830025af904fb51b0334f127cda",
        "next_consensus": "0x55bfa4cc95efe9bb65c104bf27385d2b655de759",
        "next_consensus_address": "APyEx5f4Zm4oCHwFWiSTaph1fPBxZacYVR",
        "holder": "0x1cfacc3e315977329c11ca50fe753730939da95f",
        "holder_address": "AQVh2pG732YvtNaxEGkQUei3YA4cvo7d2i",
    },
    "testnet": {
        "hash": "0xb3181718ef6167105b70920e4a8fbbd0a0a56aacf460d70e10ba6fa1668f1fef",
        "merkle_root": "0xc673a4b28f32ccb6d54cf721e8640d7a979def7cef5e4885bb085618ddeb38bd",
        "issue": "0xbdecbb623eee6f9ade28d5a8ff5fb3ea9c9d73af039e0286201b3b0291fb4d4a",
        "next_consensus": "0x257b026aecfe8e9878a2219a08b0f382b92d81f3",
        "next_consensus_address": "AdyQbbn6ENjqWDa5JNYMwN3ikNcA4JeZdk",
        "holder": "0x954ca45f9572554fccf4420d742a513d78f67f19",
        "holder_address": "AJ6hqJYnyLLmCT6Cfb7m1R3aXQAEWbeVVo",
    },
}


class PublicNetworkGenesisTests(SynchronousTestCase):
    def check(self, settings: ProtocolSettings, network: str) -> Block:
        expected = EXPECTED[network]
        block = genesis_block(settings.standby_validators)
        self.assertEqual(str(block.hash), expected["hash"])
        self.assertEqual(str(block.header.merkle_root), expected["merkle_root"])
        self.assertEqual(str(block.header.next_consensus), expected["next_consensus"])
        self.assertEqual(address_from_script_hash(block.header.next_consensus),
                         expected["next_consensus_address"])
        issue = block.transactions[3]
        self.assertIsInstance(issue, IssueTransaction)
        self.assertEqual(str(issue.hash), expected["issue"])
        (output,) = issue.outputs
        self.assertEqual(str(output.script_hash), expected["holder"])
        self.assertEqual(address_from_script_hash(output.script_hash), expected["holder_address"])
        self.assertEqual(output.asset_id, NEO_ASSET_ID)
        self.assertEqual(output.value, 10**16)
        self.assertEqual(len(block.to_bytes()), 401)
        return block

    def test_mainnet(self) -> None:
        """
        Mainnet genesis hash, merkle root, NextConsensus, issue tx and holder are the known ones.
        """
        self.check(MAINNET, "mainnet")

    def test_testnet(self) -> None:
        """
        The testnet genesis differs from mainnet only where its validators enter.
        """
        self.check(TESTNET, "testnet")

    def test_mainnet_bytes(self) -> None:
        """
        The mainnet genesis serializes to examples/mainnet-genesis.hex, byte for byte.
        """
        block = genesis_block(MAINNET.standby_validators)
        self.assertEqual(block.to_bytes().hex(), GENESIS_HEX)
        self.assertEqual(Block.from_bytes(bytes.fromhex(GENESIS_HEX)), block)

    def test_header_fields(self) -> None:
        """
        Version 0, zero prev hash, 2016-07-15 15:08:21 UTC, index 0, nonce 2083236893, PUSHT.
        """
        header = genesis_block(MAINNET.standby_validators).header
        self.assertEqual(header.version, 0)
        self.assertEqual(header.prev_hash, UInt256(bytes(32)))
        self.assertEqual(header.timestamp, 1468595301)
        self.assertEqual(header.index, 0)
        self.assertEqual(header.consensus_data, 2083236893)
        self.assertEqual(header.witness.invocation_script, b"")
        self.assertEqual(header.witness.verification_script, b"\x51")

    def test_transactions(self) -> None:
        """
        Miner, NEO registration, GAS registration, issue: with the known ids on both networks.
        """
        for settings in (MAINNET, TESTNET):
            txs = genesis_block(settings.standby_validators).transactions
            self.assertEqual([type(tx) for tx in txs], [
                MinerTransaction, RegisterTransaction, RegisterTransaction, IssueTransaction])
            self.assertEqual(str(txs[0].hash), MINER_TX)
            self.assertEqual(str(txs[1].hash), NEO_ID)
            self.assertEqual(str(txs[2].hash), GAS_ID)

    def test_asset_ids(self) -> None:
        """
        The NEO and GAS registrations hash to the asset ids the core module uses.
        """
        self.assertEqual(NEO_REGISTRATION.hash, NEO_ASSET_ID)
        self.assertEqual(GAS_REGISTRATION.hash, GAS_ASSET_ID)
        self.assertEqual(str(NEO_ASSET_ID), NEO_ID)
        self.assertEqual(str(GAS_ASSET_ID), GAS_ID)
        self.assertEqual(NEO_REGISTRATION.amount, 10**16)
        self.assertEqual(GAS_REGISTRATION.amount, 10**16)
        self.assertEqual((NEO_REGISTRATION.precision, GAS_REGISTRATION.precision), (0, 8))

    def test_validator_order_does_not_matter(self) -> None:
        """
        The multisig scripts sort the keys, so reordering the validators keeps the genesis.
        """
        reordered = tuple(reversed(MAINNET.standby_validators))
        self.assertEqual(genesis_block(reordered).hash,
                         genesis_block(MAINNET.standby_validators).hash)


class PrivnetGenesisTests(SynchronousTestCase):
    def test_hash(self) -> None:
        """
        The privnet genesis is the one privnet.md gives.
        """
        self.assertEqual(str(genesis_block(PRIVNET.standby_validators).hash), PRIVNET_GENESIS_HASH)

    def test_stable(self) -> None:
        """
        Building it twice gives the same bytes.
        """
        first = genesis_block(PRIVNET.standby_validators)
        second = genesis_block(list(PRIVNET.standby_validators))
        self.assertEqual(first.to_bytes(), second.to_bytes())
        self.assertEqual(len(first.to_bytes()), 401)

    def test_consensus_and_holder(self) -> None:
        """
        With four validators NextConsensus (3 of 4) and the NEO holder (4//2+1 = 3) coincide.
        """
        block = genesis_block(PRIVNET.standby_validators)
        holder = script_hash(multisig_redeem_script(3, PRIVNET.standby_validators))
        self.assertEqual(block.header.next_consensus, CONSENSUS_HASH)
        self.assertEqual(block.transactions[3].outputs[0].script_hash, holder)
        self.assertEqual(holder, CONSENSUS_HASH)
        self.assertIsInstance(holder, UInt160)

    def test_networks_differ(self) -> None:
        """
        The three networks have three different genesis blocks but the same asset ids.
        """
        blocks = [genesis_block(s.standby_validators) for s in (MAINNET, TESTNET, PRIVNET)]
        self.assertEqual(len({b.hash for b in blocks}), 3)
        self.assertEqual({b.transactions[1].hash for b in blocks}, {NEO_ASSET_ID})
