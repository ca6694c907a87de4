"""
Tests for L{neo_twisted.ledger.generator}: the generated chains are deterministic, and
every block and transaction in them passes the rules a node applies.

The checks replay the chain from genesis with an independent UTXO set, so a
generator bug cannot hide behind the generator's own bookkeeping.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Sequence
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import (
    NEO_ASSET_ID,
    AttributeUsage,
    Block,
    ContractTransaction,
    MinerTransaction,
    TransactionOutput,
)
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.crypto.scripts import bft_threshold, consensus_address, multisig_redeem_script
from neo_twisted.crypto.witness import pushed_items, verify_witness
from neo_twisted.ledger.generator import (
    account_keys,
    generate_chain,
    load_dev_keys,
)
from neo_twisted.ledger.genesis import genesis_block
from neo_twisted.ledger.settings import ConfigError, ProtocolSettings, load_protocol
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.support.transaction_samples import verifying_hashes

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "protocol.json"
DEV_KEYS = ROOT / "devkeys" / "privnet.json"
K = 5


@functools.cache
def privnet() -> tuple[ProtocolSettings, tuple[KeyPair, ...]]:
    settings = load_protocol(PROTOCOL)
    return settings, tuple(load_dev_keys(DEV_KEYS, settings))


@functools.cache
def privnet_chain(blocks: int = 60, txs: int = K, seed: int = 7) -> tuple[Block, ...]:
    """
    A generated privnet chain, shared by the tests that only look at it.
    """
    settings, keys = privnet()
    return tuple(generate_chain(settings, keys, blocks, txs, seed))


def network(size: int) -> tuple[ProtocolSettings, list[KeyPair]]:
    """
    Settings of a made-up network of C{size} validators whose keys we hold.
    """
    keys = account_keys(1000 + size, size)
    settings = ProtocolSettings(magic=1234, address_version=23,
                                standby_validators=tuple(k.public_key for k in keys),
                                seed_list=())
    return settings, keys


def replay(case: SynchronousTestCase, settings: ProtocolSettings, blocks: Sequence[Block],
           txs_per_block: int) -> int:
    """
    Check C{blocks} as a node would, from genesis; return the number of transfers with inputs.
    """
    genesis = genesis_block(settings.standby_validators)
    utxo: dict[tuple[bytes, int], TransactionOutput] = {
        (tx.hash, n): out for tx in genesis.transactions for n, out in enumerate(tx.outputs)}
    seen = {tx.hash for tx in genesis.transactions}
    previous = genesis.header
    spending = 0
    for block in blocks:
        header = block.header
        case.assertEqual((header.index, header.prev_hash), (previous.index + 1, previous.hash))
        case.assertGreater(header.timestamp, previous.timestamp)
        case.assertIsNone(block.problem())  # miner first and only, merkle root, no duplicates
        case.assertEqual(Block.from_bytes(block.to_bytes()), block)
        case.assertEqual(header.next_consensus, consensus_address(settings.standby_validators))
        case.assertTrue(verify_witness(header.unsigned_bytes(), header.witness.invocation_script,
                                       header.witness.verification_script,
                                       previous.next_consensus), f"block {header.index}")
        miner, *transfers = block.transactions
        case.assertIsInstance(miner, MinerTransaction)
        assert isinstance(miner, MinerTransaction)
        case.assertEqual((miner.nonce, miner.outputs), (header.consensus_data & 0xFFFFFFFF, ()))
        case.assertEqual(len(transfers), txs_per_block)
        created: dict[tuple[bytes, int], TransactionOutput] = {}
        for tx in transfers:
            case.assertIsInstance(tx, ContractTransaction)
            case.assertNotIn(tx.hash, seen)
            seen.add(tx.hash)
            hashes = verifying_hashes(tx, utxo)  # KeyError: spends an unknown or spent output
            case.assertEqual([w.script_hash for w in tx.witnesses], hashes)
            message = tx.unsigned_bytes()
            for witness, expected in zip(tx.witnesses, hashes, strict=True):
                case.assertTrue(verify_witness(message, witness.invocation_script,
                                               witness.verification_script, expected))
            spent = sum(utxo.pop((i.prev_hash, i.prev_index)).value for i in tx.inputs)
            case.assertEqual(spent, sum(out.value for out in tx.outputs))
            case.assertTrue(all(out.asset_id == NEO_ASSET_ID and out.value > 0
                                and out.value % FIXED8_ONE == 0 for out in tx.outputs))
            created.update(((tx.hash, n), out) for n, out in enumerate(tx.outputs))
            spending += bool(tx.inputs)
        utxo.update(created)  # spendable from the next block on
        previous = header
    case.assertEqual(sum(out.value for out in utxo.values()), 100_000_000 * FIXED8_ONE)
    return spending


class DeterminismTests(SynchronousTestCase):
    """
    A chain follows from its seed alone.
    """

    def test_same_seed_same_bytes(self) -> None:
        """
        Two runs with the same seed give byte-identical blocks.
        """
        settings, keys = privnet()
        first = [b.to_bytes() for b in generate_chain(settings, keys, 15, K, seed=3)]
        second = [b.to_bytes() for b in generate_chain(settings, keys, 15, K, seed=3)]
        self.assertEqual(first, second)

    def test_different_seed_different_chain(self) -> None:
        """
        Another seed gives another chain from block 1 on.
        """
        settings, keys = privnet()
        first = next(generate_chain(settings, keys, 1, K, seed=3))
        second = next(generate_chain(settings, keys, 1, K, seed=4))
        self.assertNotEqual(first.hash, second.hash)

    def test_account_keys(self) -> None:
        """
        Account keys follow from the seed: equal seeds, equal keys; the keys are distinct.
        """
        self.assertEqual(account_keys(5, 8), account_keys(5, 8))
        self.assertEqual(len({k.public_key for k in account_keys(5, 8)}), 8)
        self.assertNotEqual(account_keys(5, 1), account_keys(6, 1))


class PrivnetChainTests(SynchronousTestCase):
    """
    A generated chain of the bundled privnet is valid block by block and tx by tx.
    """

    def test_replay(self) -> None:
        """
        Every block links to the one before, verifies against its NextConsensus and holds
        the miner and K transfers; every transfer spends only outputs confirmed in earlier
        blocks, once, with witnesses in script-hash order that verify, balanced in whole NEO.
        """
        settings, _ = privnet()
        chain = privnet_chain()
        self.assertEqual(len(chain), 60)
        self.assertGreater(replay(self, settings, chain, K), 55 * K)

    def test_default_timestamps(self) -> None:
        """
        Block i comes i block intervals after genesis.
        """
        settings, _ = privnet()
        genesis = genesis_block(settings.standby_validators)
        stamps = [b.header.timestamp for b in privnet_chain()]
        self.assertEqual(stamps, [genesis.header.timestamp + i * settings.seconds_per_block
                                  for i in range(1, 61)])

    def test_start_timestamp(self) -> None:
        """
        C{start_timestamp} sets block 1's time; it must come after genesis.
        """
        settings, keys = privnet()
        blocks = list(generate_chain(settings, keys, 3, 1, seed=1, start_timestamp=1600000000))
        self.assertEqual([b.header.timestamp for b in blocks], [1600000000, 1600000015,
                                                                1600000030])
        genesis = genesis_block(settings.standby_validators)
        self.assertRaises(ValueError, generate_chain, settings, keys, 3, 1, 1,
                          genesis.header.timestamp)

    def test_first_spend_is_genesis(self) -> None:
        """
        Block 1's first transfer spends the genesis NEO with the n/2+1 multisig of the
        validators, and fans it out to many outputs.
        """
        settings, _ = privnet()
        genesis = genesis_block(settings.standby_validators)
        first = privnet_chain()[0].transactions[1]
        self.assertEqual([(i.prev_hash, i.prev_index) for i in first.inputs],
                         [(genesis.transactions[3].hash, 0)])
        [witness] = first.witnesses
        self.assertEqual(witness.verification_script,
                         multisig_redeem_script(3, settings.standby_validators))
        self.assertGreater(len(first.outputs), 2 * K)

    def test_block_witness(self) -> None:
        """
        Each block carries M = N - (N-1)/3 signatures for the validators' BFT multisig.
        """
        settings, _ = privnet()
        verification = multisig_redeem_script(bft_threshold(4), settings.standby_validators)
        for block in privnet_chain():
            self.assertEqual(block.header.witness.verification_script, verification)
            self.assertEqual(len(pushed_items(block.header.witness.invocation_script) or ()), 3)

    def test_no_input_transfers_only_early(self) -> None:
        """
        Transfers without inputs (named signer, remark) appear only while block 1's fan-out
        is not yet confirmed; from block 2 on every transfer spends.
        """
        chain = privnet_chain()
        without = [(b.index, tx) for b in chain for tx in b.transactions[1:] if not tx.inputs]
        self.assertEqual([index for index, _ in without], [1] * (K - 1))
        for _, tx in without:
            self.assertEqual(sorted(a.usage for a in tx.attributes),
                             [AttributeUsage.Script, AttributeUsage.Remark])
            self.assertEqual(tx.outputs, ())

    def test_multiple_witnesses(self) -> None:
        """
        Some transfers spend outputs of two accounts and so carry two witnesses.
        """
        counts = {len(tx.witnesses) for b in privnet_chain() for tx in b.transactions[1:]}
        self.assertEqual(counts, {1, 2})


class OtherNetworkTests(SynchronousTestCase):
    """
    The generator works for any validator count and any K.
    """

    def test_seven_validators(self) -> None:
        """
        With 7 validators blocks carry 5 signatures and the genesis NEO needs 4.
        """
        settings, keys = network(7)
        blocks = list(generate_chain(settings, keys, 12, 3, seed=2))
        replay(self, settings, blocks, 3)
        self.assertEqual(len(pushed_items(blocks[0].header.witness.invocation_script) or ()), 5)
        self.assertEqual(len(pushed_items(blocks[0].transactions[1].witnesses[0]
                                          .invocation_script) or ()), 4)

    def test_one_validator(self) -> None:
        """
        A single validator signs everything alone.
        """
        settings, keys = network(1)
        replay(self, settings, list(generate_chain(settings, keys, 8, 2, seed=2)), 2)

    def test_many_transfers_per_block(self) -> None:
        """
        A K larger than one fan-out still gives K transfers in every block, and from
        block 3 on all of them spend.
        """
        settings, keys = network(4)
        blocks = list(generate_chain(settings, keys, 4, 1500, seed=9, accounts=8))
        self.assertEqual(replay(self, settings, blocks, 1500), 1 + 1000 + 1500 + 1500)

    def test_no_transfers(self) -> None:
        """
        K = 0 gives blocks holding only the MinerTransaction.
        """
        settings, keys = network(4)
        replay(self, settings, list(generate_chain(settings, keys, 5, 0, seed=9)), 0)

    def test_wrong_validator_keys(self) -> None:
        """
        Keys that are not exactly the standby validators are refused at the call.
        """
        settings, keys = network(4)
        self.assertRaises(ValueError, generate_chain, settings, keys[:3], 1, 1, 1)
        self.assertRaises(ValueError, generate_chain, settings, account_keys(1, 4), 1, 1, 1)

    def test_speed(self) -> None:
        """
        200 blocks of 5 transfers for 4 validators take well under a few seconds.
        """
        settings, keys = network(4)
        started = time.perf_counter()
        for _ in generate_chain(settings, keys, 200, 5, seed=1):
            pass
        self.assertLess(time.perf_counter() - started, 3.0)


class LoadDevKeysTests(SynchronousTestCase):
    """
    L{load_dev_keys} reads C{devkeys/*.json} and refuses keys that cannot sign for the network.
    """

    def write(self, document: object) -> str:
        path: str = self.mktemp()
        Path(path).write_text(json.dumps(document))
        return path

    def test_privnet(self) -> None:
        """
        The bundled keys are the privnet's standby validators, in file order.
        """
        settings = load_protocol(PROTOCOL)
        keys = load_dev_keys(DEV_KEYS, settings)
        self.assertEqual([k.public_key for k in keys], list(settings.standby_validators))

    def test_wif_mismatch(self) -> None:
        """
        A WIF that is not the key listed beside it is an error naming the entry.
        """
        document = json.loads(DEV_KEYS.read_text())
        document["validators"][1]["wif"] = document["validators"][2]["wif"]
        error = self.assertRaises(ConfigError, load_dev_keys, self.write(document))
        self.assertIn("validators[1]", str(error))

    def test_not_the_validators(self) -> None:
        """
        Keys other than the standby validators of the settings are refused.
        """
        settings, _ = network(4)
        error = self.assertRaises(ConfigError, load_dev_keys, DEV_KEYS, settings)
        self.assertIn("standby validators", str(error))

    def test_wrong_magic(self) -> None:
        """
        A C{network_magic} other than the settings' magic is refused.
        """
        document = json.loads(DEV_KEYS.read_text())
        document["network_magic"] = 1
        error = self.assertRaises(ConfigError, load_dev_keys, self.write(document),
                                  load_protocol(PROTOCOL))
        self.assertIn("network_magic", str(error))

    def test_malformed(self) -> None:
        """
        A missing file, non-JSON, a missing list or a bad WIF each raise L{ConfigError}.
        """
        bad_wif = {"validators": [{"public_key": "02" + "00" * 32, "wif": "nonsense"}]}
        for path in (self.mktemp(), self.write({}), self.write({"validators": [1]}),
                     self.write(bad_wif)):
            self.assertRaises(ConfigError, load_dev_keys, path)
        text = self.mktemp()
        Path(text).write_text("{")
        self.assertRaises(ConfigError, load_dev_keys, text)
