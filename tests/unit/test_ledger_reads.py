"""
Tests for the chain state L{neo_twisted.ledger.state} builds and the reads of
L{neo_twisted.ledger.chain.Ledger}: coins, balances, spent NEO, assets, system fees, and the
C{getheaders} / C{getblocks} answers.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block
from neo_twisted.core.components import CoinReference, TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    AssetType,
    ClaimTransaction,
    ContractTransaction,
    InvocationTransaction,
    IssueTransaction,
    RegisterTransaction,
)
from neo_twisted.ledger.chain import BlockResult, Ledger, Verdict
from neo_twisted.ledger.state import LedgerStateError
from neo_twisted.ledger.store import coin_key, fetch, u32
from neo_twisted.wire.uint import UInt160, UInt256
from tests.support.ledger_samples import (
    CHAIN,
    CONSENSUS_HASH,
    DEV_KEYS,
    PRIVNET_GENESIS,
    accept_all,
    headers_of,
    make_block,
    make_blocks,
    open_ledger,
)
from tests.support.optional import present

GENESIS = PRIVNET_GENESIS
ISSUE = GENESIS.transactions[3]
HOLDER = CONSENSUS_HASH
ALICE = UInt160(b"\xa1" * 20)
BOB = UInt160(b"\xb0" * 20)
ACCEPTED = BlockResult(Verdict.ACCEPTED)
ALL_NEO = 10**16
NEO = 10**8  # raw Fixed8 of 1 NEO (and of 1 GAS)

#: Issue output 0 (all the NEO) split: 100 NEO to Alice, the change back to the holder.
SEND = ContractTransaction(
    inputs=(CoinReference(ISSUE.hash, 0),),
    outputs=(TransactionOutput(NEO_ASSET_ID, 100 * NEO, ALICE),
             TransactionOutput(NEO_ASSET_ID, ALL_NEO - 100 * NEO, HOLDER)))
#: Alice passes 40 of them to Bob.
PASS_ON = ContractTransaction(
    inputs=(CoinReference(SEND.hash, 0),),
    outputs=(TransactionOutput(NEO_ASSET_ID, 40 * NEO, BOB),
             TransactionOutput(NEO_ASSET_ID, 60 * NEO, ALICE)))

#: 2100 unsigned blocks, for chains whose witnesses are not the point (mapper accept_all).
LONG: list[Block] = make_blocks(GENESIS.header, 2100, sign=False)


class StateTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.datadir = self.mktemp()
        self.ledger = open_ledger(self, self.datadir)

    def add(self, *txs: Transaction) -> Block:
        """
        Persist one more block holding C{txs} after the Miner.
        """
        tip = self.ledger.get_header(self.ledger.block_height)
        assert tip is not None
        new = make_block(tip, txs)
        self.assertEqual(self.ledger.add_block(new), ACCEPTED)
        return new

    def spent_record(self, txid: bytes, index: int) -> bytes | None:
        with self.ledger.store.read() as txn:
            return fetch(txn, coin_key(txid, index), self.ledger.store.dbs["spent"])

    def test_transfer_moves_balances(self) -> None:
        """
        Spending the genesis NEO moves it between accounts; the sums stay whole.
        """
        self.add(SEND)
        self.assertEqual(self.ledger.get_balances(HOLDER), {NEO_ASSET_ID: ALL_NEO - 100 * NEO})
        self.assertEqual(self.ledger.get_balances(ALICE), {NEO_ASSET_ID: 100 * NEO})
        self.add(PASS_ON)
        self.assertEqual(self.ledger.get_balances(ALICE), {NEO_ASSET_ID: 60 * NEO})
        self.assertEqual(self.ledger.get_balances(BOB), {NEO_ASSET_ID: 40 * NEO})
        self.assertEqual(self.ledger.get_balances(UInt160(b"\x99" * 20)), {})

    def test_emptied_account_has_no_balance(self) -> None:
        """
        An account that spends all it has shows no balance at all, not a zero.
        """
        self.add(SEND)
        self.add(ContractTransaction(inputs=(CoinReference(SEND.hash, 0),), outputs=(
            TransactionOutput(NEO_ASSET_ID, 100 * NEO, BOB),)))
        self.assertEqual(self.ledger.get_balances(ALICE), {})

    def test_unspent_outputs(self) -> None:
        """
        A spent output leaves the unspent set; the new outputs join it.
        """
        self.add(SEND)
        self.assertIsNone(self.ledger.get_unspent(ISSUE.hash, 0))
        self.assertEqual(self.ledger.get_unspent(SEND.hash, 0), SEND.outputs[0])
        self.assertEqual(self.ledger.get_unspent(SEND.hash, 1), SEND.outputs[1])
        self.assertIsNone(self.ledger.get_unspent(SEND.hash, 2))

    def test_spent_neo_recorded(self) -> None:
        """
        Spent NEO outputs are kept with the heights they were created and spent at.
        """
        self.add(SEND)
        self.assertEqual(self.spent_record(ISSUE.hash, 0),
                         ISSUE.outputs[0].to_bytes() + u32(0) + u32(1))
        self.add(PASS_ON)
        self.assertEqual(self.spent_record(SEND.hash, 0),
                         SEND.outputs[0].to_bytes() + u32(1) + u32(2))
        self.assertIsNone(self.spent_record(SEND.hash, 1))

    def test_claim_retires_spent_record(self) -> None:
        """
        A ClaimTransaction removes its claimed outputs from the spent store and pays GAS.
        """
        self.add(SEND)
        claim = ClaimTransaction(claims=(CoinReference(ISSUE.hash, 0),),
                                 outputs=(TransactionOutput(GAS_ASSET_ID, 8 * NEO, HOLDER),))
        self.add(claim)
        self.assertIsNone(self.spent_record(ISSUE.hash, 0))
        self.assertEqual(self.ledger.get_balances(HOLDER)[GAS_ASSET_ID], 8 * NEO)

    def test_get_transaction(self) -> None:
        """
        A confirmed transaction comes back with its block's height; unknown ones are None.
        """
        self.add(SEND)
        self.add(PASS_ON)
        self.assertEqual(self.ledger.get_transaction(SEND.hash), (SEND, 1))
        self.assertEqual(self.ledger.get_transaction(PASS_ON.hash), (PASS_ON, 2))
        self.assertIsNone(self.ledger.get_transaction(UInt256(b"\x05" * 32)))

    def test_get_block_with_transactions(self) -> None:
        """
        A persisted block is rebuilt with all its transactions, in order.
        """
        new = self.add(SEND, PASS_ON)
        self.assertEqual(present(self.ledger.get_block(1)).to_bytes(), new.to_bytes())
        self.assertEqual(self.ledger.get_transaction(PASS_ON.hash), (PASS_ON, 1))

    def test_block_bytes_as_on_the_wire(self) -> None:
        """
        The stored bytes of a block are exactly its C{block} message payload.
        """
        new = self.add(SEND, PASS_ON)
        self.assertEqual(self.ledger.get_block_bytes(new.hash), new.to_bytes())
        self.assertEqual(self.ledger.get_block_bytes(GENESIS.hash), GENESIS.to_bytes())
        self.assertIsNone(self.ledger.get_block_bytes(UInt256(b"\x05" * 32)))

    def test_has_block_and_header(self) -> None:
        """
        A header known ahead of its block is a header, not yet a block.
        """
        self.ledger.add_headers(headers_of(CHAIN[:2]))
        self.assertTrue(self.ledger.has_block(GENESIS.hash))
        self.assertTrue(self.ledger.has_header(CHAIN[1].hash))
        self.assertFalse(self.ledger.has_block(CHAIN[1].hash))
        self.assertFalse(self.ledger.has_header(UInt256(b"\x05" * 32)))

    def test_register_and_issue_asset(self) -> None:
        """
        A registered token starts with nothing available; issuing makes it available and owned.
        """
        register = RegisterTransaction(asset_type=AssetType.Token, name="Tok", amount=10**10,
                                       precision=2, owner=DEV_KEYS[0].public_key, admin=ALICE)
        self.add(register)
        asset = self.ledger.get_asset(register.hash)
        assert asset is not None
        self.assertEqual((asset.name, asset.amount, asset.available, asset.precision),
                         ("Tok", 10**10, 0, 2))
        self.assertEqual((asset.owner, asset.admin, asset.issuer),
                         (DEV_KEYS[0].public_key, ALICE, ALICE))
        self.assertEqual(asset.expiration, 1 + 4_000_000)
        self.add(IssueTransaction(outputs=(TransactionOutput(register.hash, 500, BOB),)))
        self.assertEqual(present(self.ledger.get_asset(register.hash)).available, 500)
        self.assertEqual(self.ledger.get_balances(BOB), {register.hash: 500})

    def test_reopen_keeps_state(self) -> None:
        """
        Balances, coins and transactions survive closing the store.
        """
        self.add(SEND)
        self.ledger.close()
        ledger = open_ledger(self, self.datadir)
        self.assertEqual(ledger.get_balances(ALICE), {NEO_ASSET_ID: 100 * NEO})
        self.assertEqual(ledger.get_transaction(SEND.hash), (SEND, 1))
        self.assertIsNone(ledger.get_unspent(ISSUE.hash, 0))


class MissingCoinTests(SynchronousTestCase):
    """
    A block that spends a coin that is not unspent cannot be applied and must change nothing.
    """

    def setUp(self) -> None:
        self.datadir = self.mktemp()
        self.ledger = open_ledger(self, self.datadir)
        ghost = ContractTransaction(inputs=(CoinReference(UInt256(b"\x07" * 32), 0),),
                                    outputs=(TransactionOutput(NEO_ASSET_ID, NEO, ALICE),))
        double = ContractTransaction(inputs=(CoinReference(ISSUE.hash, 0),),
                                     outputs=(TransactionOutput(NEO_ASSET_ID, NEO, BOB),))
        self.bad_blocks = [make_block(GENESIS.header, [ghost]),
                           make_block(GENESIS.header, [SEND, double])]

    def assert_rejected(self, ledger: Ledger, bad: Block) -> None:
        try:
            result = ledger.add_block(bad)
        except LedgerStateError:
            pass
        else:
            self.assertEqual(result.verdict, Verdict.INVALID)

    def assert_unchanged(self, ledger: Ledger) -> None:
        self.assertEqual((ledger.header_height, ledger.block_height), (0, 0))
        self.assertIsNone(ledger.get_header(1))
        self.assertEqual(ledger.get_balances(HOLDER), {NEO_ASSET_ID: ALL_NEO})
        self.assertEqual(ledger.get_balances(ALICE), {})
        self.assertEqual(ledger.get_balances(BOB), {})
        self.assertEqual(ledger.get_unspent(ISSUE.hash, 0), ISSUE.outputs[0])
        self.assertIsNone(ledger.get_transaction(SEND.hash))

    def test_store_unchanged(self) -> None:
        """
        Spending a missing coin, or one coin twice, is refused and writes nothing, even on disk.
        """
        for bad in self.bad_blocks:
            datadir = self.mktemp()
            ledger = open_ledger(self, datadir)
            self.assert_rejected(ledger, bad)
            self.assert_unchanged(ledger)
            ledger.close()
            self.assert_unchanged(open_ledger(self, datadir))

    def test_valid_block_accepted_after_refusal(self) -> None:
        """
        After a block fails to apply, the valid block at that height is still accepted.
        """
        self.assert_rejected(self.ledger, self.bad_blocks[0])
        self.assertEqual(self.ledger.add_block(CHAIN[0]), ACCEPTED)
        self.assertEqual(self.ledger.block_height, 1)


class SystemFeeTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.datadir = self.mktemp()
        self.ledger = open_ledger(self, self.datadir)

    def test_accumulates(self) -> None:
        """
        Each height holds the fees of all blocks up to it: 1 GAS of invocation, then 10000 GAS.
        """
        invoke = InvocationTransaction(version=1, script=b"\x00", gas=NEO)
        first = make_block(GENESIS.header, [invoke])
        second = make_block(first.header)
        register = RegisterTransaction(asset_type=AssetType.Token, name="T", amount=1,
                                       owner=DEV_KEYS[1].public_key, admin=BOB)
        third = make_block(second.header, [register])
        self.assertEqual(self.ledger.add_blocks([first, second, third]), [ACCEPTED] * 3)
        self.assertEqual([self.ledger.system_fee_total(i) for i in range(4)],
                         [0, NEO, NEO, NEO + 10000 * NEO])

    def test_continues_after_reopen(self) -> None:
        """
        The running total is read back when the store is reopened.
        """
        first = make_block(GENESIS.header, [InvocationTransaction(version=1, script=b"\x00",
                                                                  gas=2 * NEO)])
        self.ledger.add_block(first)
        self.ledger.close()
        ledger = open_ledger(self, self.datadir)
        second = make_block(first.header, [InvocationTransaction(version=1, script=b"\x01",
                                                                 gas=3 * NEO)])
        self.assertEqual(ledger.add_block(second), ACCEPTED)
        self.assertEqual(ledger.system_fee_total(2), 5 * NEO)

    def test_unknown_height(self) -> None:
        """
        A height without a persisted block is a KeyError.
        """
        self.ledger.add_headers(headers_of(CHAIN[:2]))
        self.assertRaises(KeyError, self.ledger.system_fee_total, 1)


class ServingTests(SynchronousTestCase):
    """
    C{headers_after} and C{block_hashes_after} over 2100 headers and 600 persisted blocks.
    """

    def setUp(self) -> None:
        self.ledger = open_ledger(self, self.mktemp(), mapper=accept_all)
        self.assertEqual(self.ledger.add_headers(headers_of(LONG)).added, 2100)
        self.assertEqual(self.ledger.add_blocks(LONG[:600]), [ACCEPTED] * 600)

    def test_headers_limit(self) -> None:
        """
        At most 2000 headers follow the start, beyond the persisted blocks too.
        """
        headers = self.ledger.headers_after(GENESIS.hash)
        self.assertEqual(len(headers), 2000)
        self.assertEqual([h.index for h in headers], list(range(1, 2001)))
        self.assertEqual(headers[-1], LONG[1999].header)
        self.assertEqual(len(self.ledger.headers_after(GENESIS.hash, limit=3)), 3)

    def test_header_bytes_match_headers(self) -> None:
        """
        The stored-bytes form of C{headers_after} is the same headers, serialized.
        """
        for start, stop, limit in ((GENESIS.hash, bytes(32), 2000),
                                   (LONG[99].hash, LONG[150].hash, 2000),
                                   (LONG[2050].hash, bytes(32), 10)):
            self.assertEqual(self.ledger.header_bytes_after(start, stop, limit),
                             [h.to_bytes() for h in self.ledger.headers_after(start, stop, limit)])
        self.assertEqual(self.ledger.header_bytes_after(UInt256(b"\x05" * 32)), [])

    def test_header_index(self) -> None:
        self.assertEqual(self.ledger.header_index(LONG[1999].hash), 2000)
        self.assertEqual(self.ledger.header_index(GENESIS.hash), 0)
        self.assertIsNone(self.ledger.header_index(UInt256(b"\x05" * 32)))

    def test_headers_to_the_tip(self) -> None:
        """
        Near the tip the answer ends with the last known header; at the tip it is empty.
        """
        headers = self.ledger.headers_after(LONG[2094].hash)
        self.assertEqual([h.index for h in headers], list(range(2096, 2101)))
        self.assertEqual(self.ledger.headers_after(LONG[-1].hash), [])

    def test_headers_stop(self) -> None:
        """
        The answer ends before the stop hash, as the 2.9+ reference node serves it.
        """
        headers = self.ledger.headers_after(LONG[4].hash, stop=LONG[9].hash)
        self.assertEqual([h.index for h in headers], list(range(6, 10)))

    def test_headers_start_is_stop(self) -> None:
        """
        A request whose start is its stop gets nothing.
        """
        self.assertEqual(self.ledger.headers_after(LONG[4].hash, stop=LONG[4].hash), [])

    def test_headers_unknown_start(self) -> None:
        """
        An unknown start hash gets no headers.
        """
        self.assertEqual(self.ledger.headers_after(UInt256(b"\x42" * 32)), [])

    def test_block_hashes_limit(self) -> None:
        """
        At most 500 block hashes follow the start.
        """
        hashes = self.ledger.block_hashes_after(GENESIS.hash)
        self.assertEqual(hashes, [b.hash for b in LONG[:500]])
        self.assertEqual(len(self.ledger.block_hashes_after(GENESIS.hash, limit=7)), 7)

    def test_block_hashes_never_above_block_height(self) -> None:
        """
        Hashes stop at the persisted height even when more headers are known.
        """
        hashes = self.ledger.block_hashes_after(LONG[299].hash)
        self.assertEqual(hashes, [b.hash for b in LONG[300:600]])
        self.assertEqual(self.ledger.block_hashes_after(LONG[599].hash), [])
        self.assertEqual(self.ledger.block_hashes_after(LONG[1000].hash), [])

    def test_block_hashes_stop(self) -> None:
        """
        The answer ends before the stop hash, as the 2.9+ reference node serves it.
        """
        hashes = self.ledger.block_hashes_after(GENESIS.hash, stop=LONG[6].hash)
        self.assertEqual(hashes, [b.hash for b in LONG[:6]])
        self.assertEqual(self.ledger.block_hashes_after(LONG[2].hash, stop=LONG[2].hash), [])

    def test_block_hashes_unknown_start(self) -> None:
        """
        An unknown start hash gets no hashes.
        """
        self.assertEqual(self.ledger.block_hashes_after(UInt256(b"\x42" * 32)), [])


class HeaderIndexesTests(SynchronousTestCase):
    """
    L{Ledger.header_indexes}: an C{inv}'s hashes to heights in one read.
    """

    def test_consecutive_scattered_and_unknown(self) -> None:
        ledger = open_ledger(self, self.mktemp(), mapper=accept_all)
        blocks = make_blocks(PRIVNET_GENESIS.header, 30, sign=False)
        self.assertEqual(ledger.add_headers(headers_of(blocks)).added, 30)
        hashes = [b.hash for b in blocks]
        self.assertEqual(ledger.header_indexes(hashes[4:9]), [5, 6, 7, 8, 9])
        unknown = UInt256(bytes(range(32)))
        self.assertEqual(
            ledger.header_indexes([hashes[20], unknown, hashes[2], hashes[3], hashes[29]]),
            [21, None, 3, 4, 30])
        self.assertEqual(ledger.header_indexes([]), [])
        self.assertEqual(ledger.header_indexes([PRIVNET_GENESIS.hash, hashes[0]]), [0, 1])
