"""
Tests for L{neo_twisted.ledger.generator_shape} and the seven development validators of
C{devkeys/}: the mainnet-shaped chain is valid (a fresh ledger accepts every block, and an
independent replay finds every transfer spending confirmed outputs with witnesses that
verify), mostly empty blocks with some busy ones, signed by 5 of the 7, and follows from
its seed.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from collections.abc import Sequence
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core import NEO_ASSET_ID, Block, ContractTransaction, TransactionOutput
from neo_twisted.crypto.ecdsa import load_public_key, verify_signature
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.crypto.scripts import bft_threshold, consensus_address, multisig_redeem_script
from neo_twisted.crypto.witness import pushed_items, verify_witness
from neo_twisted.ledger.generator import load_dev_keys
from neo_twisted.ledger.generator_shape import (
    EMPTY_SHARE,
    MAX_TRANSFERS,
    MEAN_TRANSFERS,
    generate_mainnet_shape,
    transfer_counts,
)
from neo_twisted.ledger.genesis import genesis_block
from neo_twisted.ledger.results import Verdict
from neo_twisted.ledger.settings import ConfigError, ProtocolSettings, load_protocol
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.support.ledger_samples import open_ledger
from tests.support.transaction_samples import verifying_hashes

ROOT = Path(__file__).resolve().parents[2]
SHAPE_PROTOCOL = ROOT / "devkeys" / "protocol.mainnet-shape.json"
SHAPE_KEYS = ROOT / "devkeys" / "mainnet-shape.json"
PRIVNET = ROOT / "protocol.json"
#: The shared chain: blocks after genesis, and its seed.
BLOCKS, SEED = 400, 7
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@functools.cache
def shape_network() -> tuple[ProtocolSettings, tuple[KeyPair, ...]]:
    settings = load_protocol(SHAPE_PROTOCOL)
    return settings, tuple(load_dev_keys(SHAPE_KEYS, settings))


@functools.cache
def shape_chain(blocks: int = BLOCKS, seed: int = SEED) -> tuple[Block, ...]:
    settings, keys = shape_network()
    return tuple(generate_mainnet_shape(settings, keys, blocks, seed))


def signers(block: Block, validators: Sequence[ECPoint]) -> tuple[int, ...]:
    """
    Which validators (indices into the script's sorted keys) signed C{block}'s header.
    """
    message = block.header.unsigned_bytes()
    signatures = pushed_items(block.header.witness.invocation_script) or []
    found = []
    for signature in signatures:
        assert isinstance(signature, bytes)
        for i, point in enumerate(validators):
            key = load_public_key(point.encode())
            assert key is not None
            if verify_signature(key, message, signature):
                found.append(i)
                break
    return tuple(found)


class MainnetShapeNetworkTests(SynchronousTestCase):
    """
    The protocol file and the keys of the shape are one network of seven validators.
    """

    def test_protocol_file(self) -> None:
        """
        The file loads as protocol settings: its own magic (the keys file's), seven
        standby validators, so M = 5, mainnet's 15 s a block and no seeds.
        """
        warnings: list[object] = []
        settings = load_protocol(SHAPE_PROTOCOL, warnings.append)
        self.assertEqual(warnings, [])
        document = json.loads(SHAPE_KEYS.read_text(encoding="utf-8"))
        self.assertEqual(settings.magic, document["network_magic"])
        self.assertNotIn(settings.magic, {load_protocol(ROOT / name).magic for name in (
            "protocol.json", "protocol.mainnet.json", "protocol.testnet.json")})
        self.assertEqual(len(settings.standby_validators), 7)
        self.assertEqual(bft_threshold(len(settings.standby_validators)), 5)
        self.assertEqual((settings.seconds_per_block, settings.seed_list), (15, ()))

    def test_keys_are_the_validators(self) -> None:
        """
        The seven keys are the file's standby validators, in its order, and nobody else's.
        """
        settings, keys = shape_network()
        self.assertEqual([k.public_key for k in keys], list(settings.standby_validators))
        self.assertRaises(ConfigError, load_dev_keys, SHAPE_KEYS, load_protocol(PRIVNET))

    def test_keys_follow_the_documented_rule(self) -> None:
        """
        Validator I's key is SHA-256 of its seed string, modulo n - 1, plus 1
        (devkeys/README.md), so anyone can check where the keys came from.
        """
        _, keys = shape_network()
        for i, pair in enumerate(keys, start=1):
            digest = hashlib.sha256(f"neo_twisted mainnet-shape validator {i}".encode()).digest()
            secret = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
            self.assertEqual(KeyPair(secret.to_bytes(32, "big")).public_key, pair.public_key)


class TransferCountTests(SynchronousTestCase):
    """
    L{transfer_counts} is the documented mix.
    """

    def test_mix(self) -> None:
        """
        Block 1 holds the fan-out alone; after it about 90 % of the blocks are empty,
        the others hold 1 to 199 transfers, 3.7 a block on average.
        """
        counts = list(itertools.islice(transfer_counts(1), 200_001))
        self.assertEqual(counts[0], 1)
        rest = counts[1:]
        self.assertLess(abs(rest.count(0) / len(rest) - EMPTY_SHARE), 0.005)
        self.assertEqual((min(c for c in rest if c), max(rest)), (1, MAX_TRANSFERS))
        self.assertLess(abs(sum(rest) / len(rest) - MEAN_TRANSFERS), 0.1)
        self.assertLess(abs(MEAN_TRANSFERS - 3.7), 0.05)

    def test_seeded(self) -> None:
        """
        The same seed gives the same counts, another seed others.
        """
        def first(seed: int) -> list[int]:
            return list(itertools.islice(transfer_counts(seed), 5_000))
        self.assertEqual(first(3), first(3))
        self.assertNotEqual(first(3), first(4))


class MainnetShapeChainTests(SynchronousTestCase):
    """
    A few hundred blocks of the mainnet shape.
    """

    def test_ledger_accepts_every_block(self) -> None:
        """
        A fresh ledger of the shape's network accepts every block, in one batch.
        """
        settings, _ = shape_network()
        ledger = open_ledger(self, self.mktemp(), settings)
        results = ledger.add_blocks(shape_chain())
        self.assertEqual({r.verdict for r in results}, {Verdict.ACCEPTED})
        self.assertEqual((ledger.block_height, ledger.header_height), (BLOCKS, BLOCKS))

    def test_replay(self) -> None:
        """
        Independently of the ledger: blocks link up and hold the miner first; every
        transfer spends only outputs confirmed in earlier blocks, once, has a witness
        per owner that verifies, balances in whole NEO; no transfer lacks inputs.
        """
        settings, _ = shape_network()
        genesis = genesis_block(settings.standby_validators)
        utxo: dict[tuple[bytes, int], TransactionOutput] = {
            (tx.hash, n): out for tx in genesis.transactions for n, out in enumerate(tx.outputs)}
        previous = genesis.header
        for block in shape_chain():
            self.assertEqual(block.header.prev_hash, previous.hash)
            self.assertIsNone(block.problem())
            self.assertEqual(Block.from_bytes(block.to_bytes()), block)
            created: dict[tuple[bytes, int], TransactionOutput] = {}
            for tx in block.transactions[1:]:
                self.assertIsInstance(tx, ContractTransaction)
                self.assertTrue(tx.inputs)
                hashes = verifying_hashes(tx, utxo)  # KeyError: an unknown or spent output
                self.assertEqual([w.script_hash for w in tx.witnesses], hashes)
                message = tx.unsigned_bytes()
                for witness, expected in zip(tx.witnesses, hashes, strict=True):
                    self.assertTrue(verify_witness(message, witness.invocation_script,
                                                   witness.verification_script, expected))
                spent = sum(utxo.pop((i.prev_hash, i.prev_index)).value for i in tx.inputs)
                self.assertEqual(spent, sum(out.value for out in tx.outputs))
                self.assertTrue(all(out.asset_id == NEO_ASSET_ID and out.value > 0
                                    and out.value % FIXED8_ONE == 0 for out in tx.outputs))
                created.update(((tx.hash, n), out) for n, out in enumerate(tx.outputs))
            utxo.update(created)
            previous = block.header
        self.assertEqual(sum(out.value for out in utxo.values()), 100_000_000 * FIXED8_ONE)

    def test_shape(self) -> None:
        """
        Block 1 fans the genesis NEO out; most later blocks hold only the MinerTransaction,
        some many transfers; each block holds what L{transfer_counts} says.
        """
        chain = shape_chain()
        transfers = [len(block.transactions) - 1 for block in chain]
        self.assertEqual(transfers, list(itertools.islice(transfer_counts(SEED), BLOCKS)))
        self.assertEqual(len(chain[0].transactions[1].outputs), 1000)
        empty = transfers[1:].count(0)
        self.assertGreater(empty, 0.8 * (BLOCKS - 1))
        self.assertLess(empty, BLOCKS - 1)
        self.assertGreaterEqual(max(transfers), 100)

    def test_witnesses(self) -> None:
        """
        Every header carries 5 signatures for the multisig of the 7 validators, and
        which 5 sign changes from block to block.
        """
        settings, _ = shape_network()
        validators = sorted(settings.standby_validators)
        verification = multisig_redeem_script(5, settings.standby_validators)
        address = consensus_address(settings.standby_validators)
        sets = set()
        for block in shape_chain()[:60]:
            header = block.header
            self.assertEqual(header.witness.verification_script, verification)
            self.assertEqual(header.next_consensus, address)
            found = signers(block, validators)
            self.assertEqual(len(found), 5)
            self.assertEqual(list(found), sorted(set(found)))  # in the script's key order
            sets.add(found)
        self.assertGreater(len(sets), 5)

    def test_same_seed_same_bytes(self) -> None:
        """
        Two runs with the same seed give byte-identical blocks, and a shorter chain is
        the start of a longer one.
        """
        settings, keys = shape_network()
        again = [b.to_bytes() for b in generate_mainnet_shape(settings, keys, BLOCKS, SEED)]
        self.assertEqual(again, [b.to_bytes() for b in shape_chain()])
        short = [b.to_bytes() for b in generate_mainnet_shape(settings, keys, 50, SEED)]
        self.assertEqual(short, again[:50])

    def test_different_seed_different_chain(self) -> None:
        """
        Another seed gives another chain from block 1 on, and another shape.
        """
        settings, keys = shape_network()
        other = list(generate_mainnet_shape(settings, keys, 30, SEED + 1))
        self.assertNotEqual(other[0].hash, shape_chain()[0].hash)
        self.assertNotEqual([len(b.transactions) for b in other],
                            [len(b.transactions) for b in shape_chain()[:30]])
