"""
Tests for block acceptance by L{neo_twisted.ledger.chain.Ledger} (neo2-network.md section 5.3,
C{OnNewBlock}): order, early blocks, duplicates, known headers, malformed blocks, bad witnesses.
"""

from __future__ import annotations

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.core.components import CoinReference, TransactionOutput
from neo_twisted.core.merkle import merkle_root
from neo_twisted.core.transactions import NEO_ASSET_ID, ContractTransaction, MinerTransaction
from neo_twisted.ledger.chain import BlockResult, Verdict
from neo_twisted.wire.uint import UInt160, UInt256
from tests.support.ledger_samples import (
    CHAIN,
    CONSENSUS_HASH,
    DEV_KEYS,
    PRIVNET_GENESIS,
    headers_of,
    make_block,
    open_ledger,
    sign_header,
)
from tests.support.optional import present

GENESIS = PRIVNET_GENESIS
ISSUE = GENESIS.transactions[3]
ACCEPTED = BlockResult(Verdict.ACCEPTED)


def block(index: int) -> Block:
    return CHAIN[index - 1]


def verdicts(results: list[BlockResult]) -> list[Verdict]:
    return [result.verdict for result in results]


def theft(previous: Block, sign: bool) -> Block:
    """
    A block at the height after C{previous} that moves all the genesis NEO to an outsider.
    """
    steal = ContractTransaction(
        inputs=(CoinReference(ISSUE.hash, 0),),
        outputs=(TransactionOutput(NEO_ASSET_ID, 10**16, UInt160(b"\x66" * 20)),))
    return make_block(previous.header, [steal], sign=sign)


class BlockOrderTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.datadir = self.mktemp()
        self.ledger = open_ledger(self, self.datadir)

    def heights(self) -> tuple[int, int]:
        return self.ledger.header_height, self.ledger.block_height

    def test_in_order(self) -> None:
        """
        Consecutive blocks are accepted and persisted, their headers appended.
        """
        self.assertEqual(self.ledger.add_blocks(CHAIN[:3]), [ACCEPTED] * 3)
        self.assertEqual(self.heights(), (3, 3))
        for i in (1, 2, 3):
            self.assertEqual(present(self.ledger.get_block(i)).to_bytes(), block(i).to_bytes())
            self.assertEqual(self.ledger.get_header(i), block(i).header)

    def test_one_at_a_time(self) -> None:
        """
        add_block accepts the next block each time.
        """
        for i in range(1, 5):
            self.assertEqual(self.ledger.add_block(block(i)), ACCEPTED)
            self.assertEqual(self.heights(), (i, i))

    def test_already_persisted(self) -> None:
        """
        A persisted block, genesis included, already exists.
        """
        self.ledger.add_blocks(CHAIN[:2])
        for known in (GENESIS, block(1), block(2)):
            self.assertEqual(self.ledger.add_block(known).verdict, Verdict.ALREADY_EXISTS)
        self.assertEqual(self.heights(), (2, 2))

    def test_ahead_waits(self) -> None:
        """
        A block beyond the next height cannot be verified yet and changes nothing.
        """
        result = self.ledger.add_block(block(3))
        self.assertEqual(result.verdict, Verdict.UNABLE_TO_VERIFY)
        self.assertEqual(self.heights(), (0, 0))
        self.assertIsNone(self.ledger.get_block(3))

    def test_ahead_persisted_when_headers_fill_the_gap(self) -> None:
        """
        A waiting block is persisted once its header is known and the blocks before it arrive.
        """
        self.ledger.add_block(block(3))
        self.ledger.add_headers(headers_of(CHAIN[:3]))
        self.assertEqual(self.ledger.add_blocks(CHAIN[:2]), [ACCEPTED] * 2)
        self.assertEqual(self.heights(), (3, 3))
        self.assertEqual(present(self.ledger.get_block(3)).to_bytes(), block(3).to_bytes())

    def test_ahead_persisted_when_blocks_fill_the_gap(self) -> None:
        """
        A waiting block is persisted when the blocks before it arrive, and the chain goes on.
        """
        self.assertEqual(self.ledger.add_block(block(3)).verdict, Verdict.UNABLE_TO_VERIFY)
        self.assertEqual(self.ledger.add_blocks(CHAIN[:2]), [ACCEPTED] * 2)
        if self.heights() != (3, 3):
            again = self.ledger.add_block(block(3)).verdict
            after = self.ledger.add_block(block(4)).verdict
            self.fail(f"heights {self.heights()} after blocks 3, 1, 2 (expected (3, 3)); block 3 "
                      f"again: {again.name}; then block 4: {after.name}")
        self.assertEqual(self.ledger.add_block(block(4)), ACCEPTED)

    def test_ahead_and_gap_in_one_batch(self) -> None:
        """
        Blocks 2, 1 in one batch persist both.
        """
        results = self.ledger.add_blocks([block(2), block(1)])
        self.assertEqual(verdicts(results), [Verdict.UNABLE_TO_VERIFY, Verdict.ACCEPTED])
        self.assertEqual(self.heights(), (2, 2))

    def test_waiting_block_is_checked_against_its_header(self) -> None:
        """
        A block that waited is checked against the header later accepted at its height: an
        unsigned block 2 stealing the genesis NEO is never applied, and the real one is.
        """
        forged = theft(block(1), sign=False)
        self.assertNotEqual(forged.hash, block(2).hash)
        self.assertEqual(self.ledger.add_block(forged).verdict, Verdict.UNABLE_TO_VERIFY)
        self.ledger.add_headers(headers_of(CHAIN[:2]))
        self.assertEqual(self.ledger.add_block(block(1)), ACCEPTED)
        self.assertEqual(self.ledger.get_balances(CONSENSUS_HASH), {NEO_ASSET_ID: 10**16},
                         "the forged block's transaction was applied")
        self.assertEqual(self.ledger.block_height, 1)
        self.assertEqual(self.ledger.add_block(block(2)), ACCEPTED)


class KnownHeaderTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.ledger = open_ledger(self, self.mktemp())

    def test_blocks_after_headers(self) -> None:
        """
        With the headers known first, the blocks are checked against them and persisted.
        """
        self.ledger.add_headers(headers_of(CHAIN[:5]))
        self.assertEqual(self.ledger.add_blocks(CHAIN[:3]), [ACCEPTED] * 3)
        self.assertEqual((self.ledger.header_height, self.ledger.block_height), (5, 3))
        self.assertEqual(self.ledger.add_blocks(CHAIN[3:7]), [ACCEPTED] * 4)
        self.assertEqual((self.ledger.header_height, self.ledger.block_height), (7, 7))

    def test_block_differs_from_known_header(self) -> None:
        """
        A validly signed block whose hash is not the known header at its height is invalid.
        """
        self.ledger.add_headers(headers_of(CHAIN[:2]))
        other = make_block(GENESIS.header, nonce=99)
        result = self.ledger.add_block(other)
        self.assertEqual(result.verdict, Verdict.INVALID)
        self.assertIn("not the known header", result.reason)
        self.assertEqual(self.ledger.block_height, 0)
        self.assertEqual(self.ledger.add_block(block(1)), ACCEPTED)

    def test_rival_in_the_same_batch(self) -> None:
        """
        Of two blocks at one height in a batch, the second differs from the first's header.
        """
        rival = make_block(block(1).header, nonce=99)
        results = self.ledger.add_blocks([block(1), block(2), rival])
        self.assertEqual(verdicts(results), [Verdict.ACCEPTED, Verdict.ACCEPTED, Verdict.INVALID])
        self.assertEqual(self.ledger.get_block_hash(2), block(2).hash)

    def test_block_hashes_in_one_read(self) -> None:
        """
        C{get_block_hashes} reads the header chain's hashes over a range of heights,
        as far as the headers go.
        """
        self.ledger.add_headers(headers_of(CHAIN[:5]))
        self.assertEqual(self.ledger.get_block_hashes(2, 4), [block(i).hash for i in (2, 3, 4)])
        self.assertEqual(self.ledger.get_block_hashes(4, 9), [block(4).hash, block(5).hash])
        self.assertEqual(self.ledger.get_block_hashes(0, 0), [GENESIS.hash])
        self.assertEqual(self.ledger.get_block_hashes(6, 9), [])


class InvalidBlockTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.ledger = open_ledger(self, self.mktemp())

    def assert_invalid(self, bad: Block, words: str) -> None:
        result = self.ledger.add_block(bad)
        self.assertEqual(result.verdict, Verdict.INVALID)
        self.assertIn(words, result.reason)
        self.assertEqual((self.ledger.header_height, self.ledger.block_height), (0, 0))

    def test_wrong_merkle_root(self) -> None:
        """
        A merkle root that does not match the transactions makes the block invalid.
        """
        self.assert_invalid(make_block(GENESIS.header, merkle_root=UInt256(b"\x01" * 32)),
                            "merkle root")

    def test_no_miner_first(self) -> None:
        """
        The first transaction must be the MinerTransaction, and only it.
        """
        transfer = ContractTransaction()
        root = merkle_root([transfer.hash])
        header = sign_header(attrs.evolve(block(1).header, merkle_root=root))
        self.assert_invalid(Block(header, (transfer,)), "MinerTransaction")
        second = MinerTransaction(nonce=7)
        self.assert_invalid(make_block(GENESIS.header, [second]), "MinerTransaction")

    def test_bad_linkage(self) -> None:
        """
        The next block must name the tip and have a later timestamp.
        """
        self.assert_invalid(make_block(GENESIS.header, prev_hash=UInt256(b"\x02" * 32)),
                            "does not follow")
        self.assert_invalid(make_block(GENESIS.header, timestamp=GENESIS.header.timestamp),
                            "timestamp")

    def test_bad_witness(self) -> None:
        """
        A block signed by too few validators is invalid and not persisted.
        """
        unsigned = make_block(GENESIS.header, sign=False)
        self.assert_invalid(unsigned, "witness does not verify")
        weak = attrs.evolve(unsigned, header=sign_header(unsigned.header, DEV_KEYS[:2]))
        self.assert_invalid(weak, "witness does not verify")
        self.assertEqual(self.ledger.add_block(block(1)), ACCEPTED)

    def test_bad_witness_rejects_the_rest_of_the_batch(self) -> None:
        """
        A bad witness rejects its block and every later block of the batch; the earlier are kept.
        """
        bad = attrs.evolve(block(2), header=sign_header(block(2).header, DEV_KEYS[1:3]))
        self.assertEqual(bad.hash, block(2).hash)
        results = self.ledger.add_blocks([block(1), bad, block(3), block(4)])
        self.assertEqual(verdicts(results), [Verdict.ACCEPTED] + [Verdict.INVALID] * 3)
        self.assertIn("witness does not verify", results[1].reason)
        self.assertIn("follows block 2", results[2].reason)
        self.assertEqual((self.ledger.header_height, self.ledger.block_height), (1, 1))
        self.assertIsNone(self.ledger.get_header(2))
        self.assertEqual(self.ledger.add_blocks(CHAIN[1:4]), [ACCEPTED] * 3)
        self.assertEqual((self.ledger.header_height, self.ledger.block_height), (4, 4))

    def test_invalid_block_does_not_stop_the_batch_before_it(self) -> None:
        """
        A malformed block in the middle is invalid; the blocks before it are persisted.
        """
        broken = attrs.evolve(block(3), transactions=(MinerTransaction(nonce=1234),))
        results = self.ledger.add_blocks([block(1), block(2), broken])
        self.assertEqual(verdicts(results), [Verdict.ACCEPTED, Verdict.ACCEPTED, Verdict.INVALID])
        self.assertEqual(self.ledger.block_height, 2)
