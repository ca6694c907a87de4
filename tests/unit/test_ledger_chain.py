"""
Tests for L{neo_twisted.ledger.chain.Ledger}: opening a data directory, real public blocks, and
header acceptance (neo2-ledger.md section 2.6, neo2-network.md section 5.3).

Block acceptance is in L{tests.unit.test_ledger_blocks}; state and reads in
L{tests.unit.test_ledger_reads}.
"""

from __future__ import annotations

from typing import Any, cast

import attrs
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.block import Block, Header
from neo_twisted.core.transactions import GAS_ASSET_ID, NEO_ASSET_ID, AssetType
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.crypto.scripts import multisig_redeem_script, script_hash
from neo_twisted.ledger import chain as chain_module
from neo_twisted.ledger.chain import Ledger, Verdict
from neo_twisted.ledger.generator import generate_chain
from neo_twisted.ledger.state import write_cost
from neo_twisted.ledger.store import ChainStore, StoreError
from neo_twisted.wire.uint import UInt256
from tests.support.ledger_samples import (
    CHAIN,
    CONSENSUS_HASH,
    CONSENSUS_SCRIPT,
    DEV_KEYS,
    MAINNET,
    PRIVNET,
    PRIVNET_GENESIS,
    TESTNET,
    accept_all,
    headers_of,
    open_ledger,
    script_hash_of,
    sign_header,
    vector_block,
)
from tests.support.optional import present

GENESIS = PRIVNET_GENESIS
ISSUE = GENESIS.transactions[3]
#: Four keys that are not validators, sorted as a multisig script lists them.
OUTSIDERS = tuple(sorted((KeyPair(bytes([i]) * 32) for i in range(1, 5)),
                         key=lambda pair: pair.public_key))
OUTSIDER_SCRIPT = multisig_redeem_script(3, [k.public_key for k in OUTSIDERS])


def header(index: int) -> Header:
    return CHAIN[index - 1].header


class OpeningTests(SynchronousTestCase):
    def test_fresh_directory_holds_genesis(self) -> None:
        """
        A new data directory starts at genesis: both heights 0 and the genesis block readable.
        """
        ledger = open_ledger(self, self.mktemp())
        self.assertEqual((ledger.header_height, ledger.block_height), (0, 0))
        self.assertEqual(ledger.get_block_hash(0), GENESIS.hash)
        self.assertEqual(ledger.get_header(0), GENESIS.header)
        self.assertEqual(ledger.get_header(GENESIS.hash), GENESIS.header)
        self.assertEqual(present(ledger.get_block(0)).to_bytes(), GENESIS.to_bytes())
        self.assertEqual(present(ledger.get_block(GENESIS.hash)).to_bytes(), GENESIS.to_bytes())
        self.assertIsNone(ledger.get_block(1))
        self.assertIsNone(ledger.get_block_hash(1))
        self.assertIsNone(ledger.get_header(1))
        self.assertEqual(ledger.system_fee_total(0), 0)

    def test_genesis_state(self) -> None:
        """
        After genesis the 3-of-4 holder owns 100,000,000 NEO, all of it issued and unspent.
        """
        ledger = open_ledger(self, self.mktemp())
        holder = script_hash_of(DEV_KEYS, len(DEV_KEYS) // 2 + 1)
        self.assertEqual(ledger.get_balances(holder), {NEO_ASSET_ID: 100_000_000 * 10**8})
        self.assertEqual(ledger.get_unspent(ISSUE.hash, 0), ISSUE.outputs[0])
        self.assertIsNone(ledger.get_unspent(ISSUE.hash, 1))
        self.assertEqual(ledger.get_transaction(ISSUE.hash), (ISSUE, 0))
        for tx in GENESIS.transactions:
            self.assertEqual(ledger.get_transaction(tx.hash), (tx, 0))

    def test_genesis_assets(self) -> None:
        """
        NEO and GAS are registered; NEO is fully available after the issue, GAS not yet.
        """
        ledger = open_ledger(self, self.mktemp())
        neo = ledger.get_asset(NEO_ASSET_ID)
        gas = ledger.get_asset(GAS_ASSET_ID)
        assert neo is not None and gas is not None
        self.assertEqual((neo.asset_type, neo.precision, neo.amount, neo.available),
                         (AssetType.GoverningToken, 0, 10**16, 10**16))
        self.assertEqual((gas.asset_type, gas.precision, gas.amount, gas.available),
                         (AssetType.UtilityToken, 8, 10**16, 0))
        self.assertIn("AntShare", neo.name)
        self.assertIn("AntCoin", gas.name)
        self.assertIsNone(ledger.get_asset(UInt256(bytes(32))))

    def test_reopen_keeps_everything(self) -> None:
        """
        Closing and reopening keeps heights (headers ahead of blocks too), blocks and balances.
        """
        datadir = self.mktemp()
        ledger = open_ledger(self, datadir)
        ledger.add_headers(headers_of(CHAIN[:6]))
        ledger.add_blocks(CHAIN[:4])
        balances = ledger.get_balances(CONSENSUS_HASH)
        ledger.close()
        ledger = open_ledger(self, datadir)
        self.assertEqual((ledger.header_height, ledger.block_height), (6, 4))
        self.assertEqual(present(ledger.get_block(4)).to_bytes(), CHAIN[3].to_bytes())
        self.assertEqual(ledger.get_header(6), header(6))
        self.assertEqual(ledger.get_balances(CONSENSUS_HASH), balances)
        self.assertEqual([r.verdict for r in ledger.add_blocks(CHAIN[4:8])],
                         [Verdict.ACCEPTED] * 4)
        self.assertEqual((ledger.header_height, ledger.block_height), (8, 8))

    def test_reopen_does_not_rewrite_genesis(self) -> None:
        """
        Reopening an existing store neither re-applies genesis nor moves the heights.
        """
        datadir = self.mktemp()
        open_ledger(self, datadir).close()
        ledger = open_ledger(self, datadir)
        self.assertEqual((ledger.header_height, ledger.block_height), (0, 0))
        self.assertEqual(ledger.get_balances(CONSENSUS_HASH), {NEO_ASSET_ID: 10**16})
        self.assertEqual(present(ledger.get_asset(NEO_ASSET_ID)).available, 10**16)

    def test_another_network(self) -> None:
        """
        A privnet directory cannot be opened with mainnet settings.
        """
        datadir = self.mktemp()
        open_ledger(self, datadir).close()
        error = self.assertRaises(StoreError, Ledger.open, datadir, MAINNET)
        self.assertIn("another network", str(error))

    def test_same_magic_other_validators(self) -> None:
        """
        The genesis hash is checked as well as the magic: other validators, other network.
        """
        datadir = self.mktemp()
        open_ledger(self, datadir).close()
        impostor = attrs.evolve(PRIVNET, standby_validators=TESTNET.standby_validators)
        error = self.assertRaises(StoreError, Ledger.open, datadir, impostor)
        self.assertIn("another network", str(error))

    def test_failed_open_closes_the_store(self) -> None:
        """
        When opening fails (another network), the LMDB environment is closed before raising.
        """
        datadir = self.mktemp()
        open_ledger(self, datadir).close()
        class RecordingStore(ChainStore):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, **kwargs)  # type: ignore[arg-type]
                stores.append(self)
                self.closed = False

            def close(self) -> None:
                self.closed = True
                super().close()

        stores: list[RecordingStore] = []

        self.patch(chain_module, "ChainStore", RecordingStore)
        self.assertRaises(StoreError, Ledger.open, datadir, MAINNET)
        self.assertEqual(len(stores), 1)
        self.addCleanup(stores[0].env.close)
        self.assertTrue(stores[0].closed, "the LMDB environment of a failed open is still open")


class RealBlockTests(SynchronousTestCase):
    """
    Real public blocks, whose witnesses are the validators' real signatures.
    """

    def test_mainnet_blocks(self) -> None:
        """
        Mainnet blocks 1 and 2 follow the mainnet genesis and are persisted.
        """
        blocks = [vector_block("mainnet", 1), vector_block("mainnet", 2)]
        ledger = open_ledger(self, self.mktemp(), MAINNET)
        self.assertEqual([r.verdict for r in ledger.add_blocks(blocks)], [Verdict.ACCEPTED] * 2)
        self.assertEqual((ledger.header_height, ledger.block_height), (2, 2))
        self.assertEqual(str(ledger.get_block_hash(1)),
                         "0xd782db8a38b0eea0d7394e0f007c61c71798867578c77c387c08113903946cc9")
        self.assertEqual(str(ledger.get_block_hash(2)),
                         "0xbf638e92c85016df9bc3b62b33f3879fa22d49d5f55d822b423149a3bca9e574")
        self.assertEqual(present(ledger.get_block(2)).to_bytes(), blocks[1].to_bytes())

    def test_mainnet_headers(self) -> None:
        """
        The same two, as headers, pass the header checks.
        """
        ledger = open_ledger(self, self.mktemp(), MAINNET)
        headers = [vector_block("mainnet", i).header for i in (1, 2)]
        self.assertEqual(ledger.add_headers(headers), chain_module.HeaderResult(2))
        self.assertEqual((ledger.header_height, ledger.block_height), (2, 0))

    def test_testnet_block(self) -> None:
        """
        Testnet block 1 follows the testnet genesis.
        """
        ledger = open_ledger(self, self.mktemp(), TESTNET)
        self.assertEqual(ledger.add_block(vector_block("testnet", 1)).verdict, Verdict.ACCEPTED)
        self.assertEqual(str(ledger.get_block_hash(1)),
                         "0x0012f8566567a9d7ddf25acb5cf98286c9703297de675d01ba73fbfe6bcb841c")

    def test_witness_is_verified(self) -> None:
        """
        Mainnet block 1 with one signature byte changed is rejected: its witness was checked.
        """
        block = vector_block("mainnet", 1)
        invocation = bytearray(block.header.witness.invocation_script)
        invocation[10] ^= 1
        witness = attrs.evolve(block.header.witness, invocation_script=bytes(invocation))
        bad = attrs.evolve(block, header=attrs.evolve(block.header, witness=witness))
        ledger = open_ledger(self, self.mktemp(), MAINNET)
        result = ledger.add_block(bad)
        self.assertEqual(result.verdict, Verdict.INVALID)
        self.assertIn("witness", result.reason)
        self.assertEqual(ledger.add_headers([bad.header]).added, 0)
        self.assertEqual((ledger.header_height, ledger.block_height), (0, 0))

    def test_wrong_network(self) -> None:
        """
        Mainnet block 1 does not follow the testnet genesis.
        """
        ledger = open_ledger(self, self.mktemp(), TESTNET)
        result = ledger.add_block(vector_block("mainnet", 1))
        self.assertEqual(result.verdict, Verdict.INVALID)
        self.assertIn("does not follow", result.reason)


class HeaderTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.fresh()

    def fresh(self) -> None:
        self.ledger = open_ledger(self, self.mktemp())

    def assert_stops_at_three(self, bad: Header, *reason: str) -> None:
        """
        Headers 1, 2, C{bad}, 4: the first two are kept, C{bad} stops the batch with C{reason}.
        """
        result = self.ledger.add_headers([header(1), header(2), bad, header(4)])
        self.assertEqual(result.added, 2)
        assert result.problem is not None
        for words in reason:
            self.assertIn(words, result.problem)
        self.assertEqual(self.ledger.header_height, 2)
        self.assertEqual(self.ledger.get_header(2), header(2))
        self.assertIsNone(self.ledger.get_header(3))
        self.assertIsNone(self.ledger.get_header(bad.hash))
        self.assertEqual(self.ledger.add_headers([header(3), header(4)]).added, 2)

    def test_valid_batch(self) -> None:
        """
        A valid batch is appended whole; blocks stay at genesis.
        """
        result = self.ledger.add_headers(headers_of(CHAIN[:5]))
        self.assertEqual(result, chain_module.HeaderResult(5, None))
        self.assertEqual((self.ledger.header_height, self.ledger.block_height), (5, 0))
        for i in range(1, 6):
            self.assertEqual(self.ledger.get_block_hash(i), header(i).hash)
            self.assertEqual(self.ledger.get_header(header(i).hash), header(i))
        self.assertIsNone(self.ledger.get_block(1))

    def test_known_headers_skipped(self) -> None:
        """
        Headers already known are skipped; only the new ones count.
        """
        self.ledger.add_headers(headers_of(CHAIN[:3]))
        self.assertEqual(self.ledger.add_headers(headers_of(CHAIN[:5])),
                         chain_module.HeaderResult(2, None))
        self.assertEqual(self.ledger.add_headers(headers_of(CHAIN[:5])),
                         chain_module.HeaderResult(0, None))
        self.assertEqual(self.ledger.add_headers([GENESIS.header]), chain_module.HeaderResult(0))
        self.assertEqual(self.ledger.header_height, 5)

    def test_repeated_header_in_a_batch_skipped(self) -> None:
        """
        A header repeated later in the same batch is skipped, not reported as out of line.
        """
        batch = [*headers_of(CHAIN[:3]), header(2), *headers_of(CHAIN[3:4])]
        self.assertEqual(self.ledger.add_headers(batch), chain_module.HeaderResult(4, None))
        self.assertEqual(self.ledger.header_height, 4)

    def test_empty_batch(self) -> None:
        """
        An empty batch changes nothing.
        """
        self.assertEqual(self.ledger.add_headers([]), chain_module.HeaderResult(0, None))

    def test_gap(self) -> None:
        """
        A batch starting beyond the next height is not appended.
        """
        result = self.ledger.add_headers(headers_of(CHAIN[2:5]))
        self.assertEqual(result.added, 0)
        self.assertIn("gap", result.problem or "")
        self.assertEqual(self.ledger.header_height, 0)

    def test_bad_prev_hash(self) -> None:
        """
        A header that does not name its predecessor's hash stops the batch.
        """
        bad = sign_header(attrs.evolve(header(3), prev_hash=UInt256(b"\x01" * 32)))
        self.assert_stops_at_three(bad, "header 3 does not follow")

    def test_wrong_index(self) -> None:
        """
        A header whose index is not its predecessor's plus one stops the batch.
        """
        bad = sign_header(attrs.evolve(header(3), index=4))
        self.assert_stops_at_three(bad, "index 4 does not follow 2")

    def test_timestamp_not_increasing(self) -> None:
        """
        Timestamps must strictly increase: equal or earlier stops the batch.
        """
        for timestamp in (header(2).timestamp, header(2).timestamp - 1):
            self.fresh()
            bad = sign_header(attrs.evolve(header(3), timestamp=timestamp))
            self.assert_stops_at_three(bad, "timestamp", str(timestamp))

    def test_signature_of_other_bytes(self) -> None:
        """
        Validator signatures of anything but the header's unsigned bytes do not verify.
        """
        self.assert_stops_at_three(sign_header(header(3), message=header(4).unsigned_bytes()),
                                   "header 3: witness does not verify")

    def test_witness_from_other_keys(self) -> None:
        """
        A correct 3-of-4 witness by keys other than the validators' misses NextConsensus.
        """
        self.assertNotEqual(OUTSIDER_SCRIPT, CONSENSUS_SCRIPT)
        self.assert_stops_at_three(
            sign_header(header(3), OUTSIDERS[:3], verification=OUTSIDER_SCRIPT),
            "witness does not verify")

    def test_outsider_signatures_with_validator_script(self) -> None:
        """
        The validators' script with signatures from other keys does not verify.
        """
        self.assert_stops_at_three(sign_header(header(3), OUTSIDERS[:3]), "witness does not verify")

    def test_too_few_signatures(self) -> None:
        """
        Two signatures where three are required do not verify, nor does an empty invocation.
        """
        self.assert_stops_at_three(sign_header(header(3), DEV_KEYS[:2]), "witness does not verify")
        self.fresh()
        self.assert_stops_at_three(sign_header(header(3), ()), "witness does not verify")

    def test_signatures_out_of_order(self) -> None:
        """
        Signatures must come in the order of the keys in the script (CHECKMULTISIG walks once).
        """
        self.assert_stops_at_three(sign_header(header(3), DEV_KEYS[2::-1]),
                                   "witness does not verify")

    def test_any_three_validators(self) -> None:
        """
        Any three of the four validators, in script order, sign a valid header.
        """
        signed = [sign_header(header(1), DEV_KEYS[1:]),
                  sign_header(header(2), (DEV_KEYS[0], DEV_KEYS[1], DEV_KEYS[3]))]
        self.assertEqual(self.ledger.add_headers(signed), chain_module.HeaderResult(2))

    def test_witness_checked_against_previous_next_consensus(self) -> None:
        """
        A header that changes NextConsensus binds the next header to the new validators.
        """
        handover = sign_header(attrs.evolve(header(1),
                                            next_consensus=script_hash(OUTSIDER_SCRIPT)))
        after = attrs.evolve(header(2), prev_hash=handover.hash)
        by_validators = sign_header(after)
        by_outsiders = sign_header(after, OUTSIDERS[:3], verification=OUTSIDER_SCRIPT)
        result = self.ledger.add_headers([handover, by_validators])
        self.assertEqual(result.added, 1)
        self.assertIn("header 2: witness does not verify", result.problem or "")
        self.assertEqual(self.ledger.add_headers([by_outsiders]), chain_module.HeaderResult(1))


def count_records(case: SynchronousTestCase, ledger: Ledger, *batches: list[Block]
                  ) -> dict[str, int]:
    """
    Add each batch of blocks in one call and count the puts, pops and deletes by table.
    """
    counted: dict[str, int] = {}
    names = {id(db): name for name, db in ledger.store.dbs.items()}
    write = ledger.store.write

    def count(db: Any) -> None:
        counted[names[id(db)]] = counted.get(names[id(db)], 0) + 1

    class Counting:
        def __init__(self, txn: Any) -> None:
            self._txn = txn

        def put(self, key: bytes, value: bytes, db: Any = None, **kw: Any) -> bool:
            count(db)
            return bool(self._txn.put(key, value, db=db, **kw))

        def delete(self, key: bytes, value: bytes = b"", db: Any = None) -> bool:
            count(db)
            return bool(self._txn.delete(key, value, db=db))

        def pop(self, key: bytes, db: Any = None) -> bytes | None:
            count(db)
            return cast("bytes | None", self._txn.pop(key, db=db))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._txn, name)

    case.patch(ledger.store, "write", lambda batch: write(lambda txn: batch(Counting(txn))))
    for blocks in batches:
        results = ledger.add_blocks(blocks)
        case.assertEqual({r.verdict for r in results}, {Verdict.ACCEPTED})
    return counted


class BatchedBalanceTests(SynchronousTestCase):
    def test_each_account_written_once_per_write(self) -> None:
        """
        A run of blocks written together stores each account's balance once, with the
        same balances as when the blocks go one by one.
        """
        blocks = list(generate_chain(PRIVNET, DEV_KEYS, 30, txs_per_block=3, seed=9))
        together = open_ledger(self, self.mktemp(), mapper=accept_all)
        counted = count_records(self, together, blocks)
        alone = open_ledger(self, self.mktemp(), mapper=accept_all)
        one_by_one = count_records(self, alone, *([block] for block in blocks))
        accounts = {o.script_hash for b in blocks for tx in b.transactions for o in tx.outputs}
        accounts |= {CONSENSUS_HASH}
        self.assertLessEqual(counted["balance"], 2 * len(accounts))  # NEO and GAS at most
        self.assertLess(2 * counted["balance"], one_by_one["balance"])
        for account in accounts:
            self.assertEqual(together.get_balances(account), alone.get_balances(account))
        self.assertTrue(any(together.get_balances(account) for account in accounts))


class WriteCostTests(SynchronousTestCase):
    """
    L{write_cost} estimates the scattered records a block writes, which bounds the
    dirty pages of the write transaction it goes in.
    """

    def records_written(self, ledger: Ledger, block: Block) -> int:
        """
        Add C{block} and count the puts and deletes outside the few hot balance records.
        """
        counted = count_records(self, ledger, [block])
        return sum(n for name, n in counted.items() if name not in ("balance", "meta"))

    def test_genesis(self) -> None:
        # four entries for the block, one per transaction (4), the issued NEO coin twice
        # (by coin and by owner)
        self.assertEqual(write_cost(PRIVNET_GENESIS), 10)

    def test_matches_transfers(self) -> None:
        """
        On a generated chain, the estimate is what the ledger writes, but for the inputs
        of other assets than NEO (their spends leave no spent record behind, by coin
        or by owner).
        """
        ledger = open_ledger(self, self.mktemp(), mapper=accept_all)
        blocks = list(generate_chain(PRIVNET, DEV_KEYS, 12, txs_per_block=3, seed=4))
        for block in blocks:
            coins = [ledger.get_unspent(ref.prev_hash, ref.prev_index)
                     for tx in block.transactions for ref in tx.inputs]
            other_inputs = sum(1 for coin in coins
                               if coin is not None and coin.asset_id != NEO_ASSET_ID)
            written = self.records_written(ledger, block)
            self.assertEqual(write_cost(block), written + 2 * other_inputs,
                             f"block {block.index}")
        self.assertGreater(write_cost(blocks[-1]), write_cost(PRIVNET_GENESIS))
