"""
Tests for assume-valid in L{neo_twisted.ledger.chain.Ledger}: headers up to a trusted
block go in without their witnesses checked, and only count once that block comes.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.core.components import Witness
from neo_twisted.ledger.chain import Ledger, Verdict
from neo_twisted.ledger.check import check_store, store_info
from neo_twisted.ledger.settings import AssumeValid, ProtocolSettings
from neo_twisted.ledger.store import u32
from neo_twisted.ledger.trust import MAX_TRUSTED_WITNESS
from neo_twisted.ledger.verify import WitnessJob, serial_map
from tests.support.ledger_samples import (
    PRIVNET,
    PRIVNET_GENESIS,
    accept_all,
    headers_of,
    make_block,
    make_blocks,
    open_ledger,
)

#: Blocks 1-20 unsigned (their witnesses would fail), 21-24 signed by the validators.
UNSIGNED = make_blocks(PRIVNET_GENESIS.header, 20, sign=False)
SIGNED = make_blocks(UNSIGNED[-1].header, 4)
CHAIN = UNSIGNED + SIGNED
TRUSTED = AssumeValid(20, UNSIGNED[-1].hash)
#: Another chain: the same first 10 blocks, then a different (unsigned) block 11 onwards.
def _fork() -> list[Block]:
    blocks = list(UNSIGNED[:10])
    for _ in range(14):
        blocks.append(make_block(blocks[-1].header, sign=False, nonce=7))
    return blocks


FORK = _fork()


class CountingMapper:
    """
    Checks witnesses serially, counting the checks.
    """

    def __init__(self) -> None:
        self.checked: list[int] = []

    def __call__(self, check: object, jobs: Sequence[WitnessJob]) -> list[bool]:
        # the unsigned header: version, previous hash, merkle root, timestamp, then index
        self.checked.extend(int.from_bytes(job.message[72:76], "little") for job in jobs)
        return serial_map(check, jobs)  # type: ignore[arg-type]


class AssumeValidTests(SynchronousTestCase):
    def open(self, assumed: AssumeValid | None = TRUSTED, datadir: str | None = None
             ) -> Ledger:
        settings: ProtocolSettings = attrs.evolve(PRIVNET, assume_valid=assumed)
        self.mapper = CountingMapper()
        self.datadir = datadir or self.mktemp()
        return open_ledger(self, self.datadir, settings, self.mapper)

    def test_without_it_witnesses_checked(self) -> None:
        ledger = self.open(None)
        result = ledger.add_headers(headers_of(CHAIN))
        self.assertEqual(result.added, 0)
        self.assertIn("header 1: witness does not verify", result.problem or "")

    def test_headers_below_taken_on_trust(self) -> None:
        """
        Headers below the trusted block are linked but not checked; they are provisional
        (no block of theirs is taken) until the trusted block's header comes.
        """
        ledger = self.open()
        result = ledger.add_headers(headers_of(UNSIGNED[:15]))
        self.assertEqual((result.added, result.problem), (15, None))
        self.assertEqual(self.mapper.checked, [])
        self.assertEqual((ledger.header_height, ledger.verified_height), (15, 0))
        verdict = ledger.add_blocks([UNSIGNED[0]])[0]
        self.assertEqual(verdict.verdict, Verdict.UNABLE_TO_VERIFY)
        self.assertIn("above the verified height 0", verdict.reason)
        self.assertEqual(ledger.block_height, 0)

    def test_trusted_block_vouches_for_its_ancestors(self) -> None:
        """
        Once the trusted header is in, its ancestors count and their blocks are taken;
        headers above it are checked as ever.
        """
        ledger = self.open()
        ledger.add_headers(headers_of(UNSIGNED[:15]))
        result = ledger.add_headers(headers_of(CHAIN[15:]))
        self.assertEqual((result.added, result.problem), (9, None))
        self.assertEqual(self.mapper.checked, [21, 22, 23, 24])
        self.assertEqual((ledger.header_height, ledger.verified_height), (24, 24))
        results = ledger.add_blocks(CHAIN)
        self.assertEqual({r.verdict for r in results}, {Verdict.ACCEPTED})
        self.assertEqual(ledger.block_height, 24)

    def test_above_the_trusted_block_checked(self) -> None:
        """
        A header above the trusted block with a bad witness is refused.
        """
        ledger = self.open()
        bad = make_blocks(UNSIGNED[-1].header, 2, sign=False)
        result = ledger.add_headers(headers_of(UNSIGNED + bad))
        self.assertEqual(result.added, 20)
        self.assertIn("header 21: witness does not verify", result.problem or "")
        self.assertEqual(ledger.verified_height, 20)

    def test_other_chain_dropped(self) -> None:
        """
        A chain whose header at the trusted height is another block: refused, and the
        headers taken on trust before it are dropped (they may be the same liar's).
        """
        ledger = self.open()
        ledger.add_headers(headers_of(FORK[:12]))
        self.assertEqual(ledger.header_height, 12)
        result = ledger.add_headers(headers_of(FORK[12:]))
        self.assertEqual(result.added, 0)
        self.assertIn(f"header 20 is {FORK[19].hash}, not the assume-valid block "
                      f"{TRUSTED.hash}", result.problem or "")
        self.assertEqual((ledger.header_height, ledger.verified_height), (0, 0))
        self.assertIsNone(ledger.get_header(FORK[0].hash))
        self.assertIsNone(ledger.get_block_hash(1))
        # the real chain goes in afterwards
        self.assertEqual(ledger.add_headers(headers_of(CHAIN)).added, 24)
        self.assertEqual(ledger.verified_height, 24)

    def test_trusted_height_reached_in_one_batch(self) -> None:
        ledger = self.open()
        result = ledger.add_headers(headers_of(CHAIN))
        self.assertEqual((result.added, ledger.verified_height), (24, 24))
        self.assertEqual(self.mapper.checked, [21, 22, 23, 24])

    def test_provisional_headers_survive_a_restart(self) -> None:
        ledger = self.open()
        ledger.add_headers(headers_of(UNSIGNED[:15]))
        ledger.close()
        ledger = self.open(datadir=self.datadir)
        self.assertEqual((ledger.header_height, ledger.verified_height), (15, 0))
        ledger.add_headers(headers_of(CHAIN[15:]))
        self.assertEqual(ledger.verified_height, 24)
        ledger.close()
        ledger = self.open(None, datadir=self.datadir)  # nothing provisional left to drop
        self.assertEqual((ledger.header_height, ledger.verified_height), (24, 24))

    def test_setting_changed_drops_provisional_headers(self) -> None:
        """
        Headers taken on trust under a setting that no longer holds go at start-up;
        the verified ones stay.
        """
        for changed in (None, AssumeValid(12, UNSIGNED[11].hash)):
            ledger = self.open()
            ledger.add_headers(headers_of(UNSIGNED[:15]))
            ledger.close()
            ledger = self.open(changed, datadir=self.datadir)
            self.assertEqual((ledger.header_height, ledger.verified_height), (0, 0), changed)
            self.assertIsNone(ledger.get_block_hash(1))
            self.assertEqual(ledger.header_tip.hash, PRIVNET_GENESIS.hash)

    def test_blocks_extending_the_tip_always_checked(self) -> None:
        """
        Blocks that bring their own header (beyond the header tip) are checked: a block
        cannot be taken back once applied.
        """
        ledger = self.open()
        result = ledger.add_blocks([UNSIGNED[0]])[0]
        self.assertEqual(result.verdict, Verdict.INVALID)
        self.assertEqual(self.mapper.checked, [1])

    def test_witness_needed(self) -> None:
        ledger = self.open()
        self.assertEqual([ledger.witness_needed(i) for i in (1, 20, 21)], [False, False, True])
        ledger.add_headers(headers_of(CHAIN[:20]))
        self.assertTrue(ledger.witness_needed(21))
        self.assertTrue(self.open(None).witness_needed(1))


    def test_drop_provisional(self) -> None:
        """
        Headers taken on trust can be dropped (nobody extended them): the verified ones
        stay, and the real chain goes in afterwards.
        """
        ledger = self.open()
        self.assertEqual(ledger.drop_provisional(), 0)
        ledger.add_headers(headers_of(FORK[:19]))
        self.assertEqual((ledger.header_height, ledger.verified_height), (19, 0))
        self.assertEqual(ledger.drop_provisional(), 19)
        self.assertEqual((ledger.header_height, ledger.verified_height), (0, 0))
        self.assertIsNone(ledger.get_header(FORK[0].hash))
        self.assertEqual(ledger.header_tip.hash, PRIVNET_GENESIS.hash)
        self.assertEqual(ledger.add_headers(headers_of(CHAIN)).added, 24)
        self.assertEqual(ledger.verified_height, 24)
        self.assertEqual(ledger.drop_provisional(), 0)
        self.assertEqual(ledger.header_height, 24)

    def test_other_chain_below_provisional_headers_is_no_fault(self) -> None:
        """
        A peer answering our locator from below our headers taken on trust, with another
        chain (perhaps the real one), adds nothing and is not at fault: neither chain is
        proven until one reaches the trusted block.
        """
        ledger = self.open()
        ledger.add_headers(headers_of(FORK[:15]))
        result = ledger.add_headers(headers_of(CHAIN[:18]))
        self.assertEqual((result.added, result.problem), (0, None))
        self.assertEqual(ledger.get_block_hash(15), FORK[14].hash)

    def test_big_witness_on_trust_refused(self) -> None:
        """
        A header taken on trust with a witness over MAX_TRUSTED_WITNESS ends the batch
        (the sender is at fault): unchecked, it would only fill our store.
        """
        ledger = self.open()
        fat = attrs.evolve(UNSIGNED[5].header, witness=Witness(
            invocation_script=b"\x00" * MAX_TRUSTED_WITNESS, verification_script=b"\x51"))
        headers = [*headers_of(UNSIGNED[:5]), fat, *headers_of(UNSIGNED[6:10])]
        result = ledger.add_headers(headers)
        self.assertEqual(result.added, 5)
        self.assertIn(f"header 6: a {MAX_TRUSTED_WITNESS + 1}-byte witness", result.problem or "")
        self.assertEqual(ledger.header_height, 5)


class CheckTests(SynchronousTestCase):
    """
    C{neonode check} of a store holding headers taken on trust.
    """

    def test_check_leaves_provisional_headers(self) -> None:
        datadir = self.mktemp()
        settings = attrs.evolve(PRIVNET, assume_valid=TRUSTED)
        ledger = open_ledger(self, datadir, settings, accept_all)
        ledger.add_headers(headers_of(UNSIGNED[:15]))
        ledger.close()
        self.assertEqual(check_store(datadir, PRIVNET), [])  # without the setting
        self.assertEqual(store_info(datadir)["header_height"], 15)
        self.assertEqual(open_ledger(self, datadir).header_height, 0)  # a node drops them

    def test_verified_height_out_of_range(self) -> None:
        datadir = self.mktemp()
        ledger = open_ledger(self, datadir, mapper=accept_all)
        ledger.add_headers(headers_of(UNSIGNED[:5]))
        ledger.store.write(lambda txn: txn.put(b"verified_height", u32(9),
                                               db=ledger.store.dbs["meta"]))
        ledger.close()
        self.assertEqual(check_store(datadir, PRIVNET),
                         ["verified height 9 is outside block height 0 .. header height 5"])
