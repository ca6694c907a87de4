"""
Tests for L{neo_twisted.rpc.plugins} and the core methods added with it: the asset
tracker's C{getunspents}, C{getclaimable} and C{getunclaimed} in the plugin's shapes
for a generated account, with what neon-js 4.x's NeoCli provider reads of them
checked against the ledger; C{gettransactionheight}, C{listplugins},
C{getmetricblocktimestamp}; a request without C{params}.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import attrs
from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

import neo_twisted
from neo_twisted.core.block import Block
from neo_twisted.core.components import CoinReference, TransactionOutput
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    ClaimTransaction,
    ContractTransaction,
)
from neo_twisted.crypto.keys import KeyPair, address_from_script_hash
from neo_twisted.ledger.chain import Verdict
from neo_twisted.ledger.generator import account_keys, signed_transfer
from neo_twisted.ledger.view import ledger_view
from neo_twisted.mempool.claims import calculate_bonus
from neo_twisted.mempool.view import SpentCoin
from neo_twisted.rpc import plugins
from neo_twisted.rpc.plugins import PluginRpc
from neo_twisted.rpc.server import JsonRpcResource
from neo_twisted.wire.uint import UInt256
from tests.support.json_shapes import json_array
from tests.support.ledger_samples import PRIVNET, PRIVNET_GENESIS, make_block
from tests.support.mempool_samples import GAS_KEY, PAYEE, REGISTER_FEES, signed
from tests.support.rpc_methods_case import ONE, UNKNOWN_HASH, MethodsTestCase

#: The height of the sample chain's block that paid system fees (two registrations).
FEE_BLOCK = 7
CHANGE = 10 * ONE
GAS_SENT = ONE + ONE // 2


def _hex(txid: bytes) -> str:
    return str(UInt256(txid))[2:]


def _number(raw: int) -> Any:
    """
    What the plugin's C{(double)(decimal)} amount reads as in JSON.
    """
    return json.loads(json.dumps(raw // ONE if raw % ONE == 0 else raw / ONE))


@attrs.frozen
class Coin:
    txid: bytes
    index: int
    output: TransactionOutput
    created: int
    spent: int | None = None


def model(blocks: Iterable[Block]) -> dict[tuple[bytes, int], Coin]:
    """
    Every output of C{blocks}, with the heights that created and spent it, less the
    claimed ones: what the ledger's account index must agree with, built apart from it.
    """
    coins: dict[tuple[bytes, int], Coin] = {}
    for block in blocks:
        for tx in block.transactions:
            for ref in tx.inputs:
                key = (ref.prev_hash, ref.prev_index)
                coins[key] = attrs.evolve(coins[key], spent=block.index)
            for ref in getattr(tx, "claims", ()):
                del coins[(ref.prev_hash, ref.prev_index)]
            for n, output in enumerate(tx.outputs):
                coins[(tx.hash, n)] = Coin(tx.hash, n, output, block.index)
    return coins


def whole_fees(start: int, end: int) -> int:
    """
    The system fees, in whole GAS, of blocks C{start} to C{end - 1}.
    """
    return REGISTER_FEES // ONE if start <= FEE_BLOCK < end else 0


def bonus(value: int, start: int, end: int) -> tuple[int, int]:
    """
    (generated, system fee) GAS of a NEO output over a span, all in the first period.
    """
    return value // ONE * 8 * (end - start), value // ONE * whole_fees(start, end)


def neon_balance(result: dict[str, Any]) -> dict[str, list[tuple[int, str, Any]]]:
    """
    What neon-js's C{transformBalance} takes from C{getunspents}: per asset symbol with
    a non-zero C{amount}, its C{unspent} as (C{n}, C{txid}, C{value}).
    """
    return {entry["asset_symbol"]: [(tx["n"], tx["txid"], tx["value"]) for tx in entry["unspent"]]
            for entry in result["balance"] if entry["amount"] != 0}


def neon_claims(result: dict[str, Any]) -> list[dict[str, Any]]:
    """
    What C{transformClaimable} takes from each entry of C{getclaimable}.
    """
    return [{"claim": c["unclaimed"], "txid": c["txid"], "index": c["n"], "value": c["value"],
             "start": c["start_height"], "end": c["end_height"]} for c in result["claimable"]]


class TrackerTestCase(MethodsTestCase):
    """
    The sample chain, then block 9: the generated account with the most coins
    (L{wallet}) sends one NEO output to L{PAYEE} with change to itself, and receives
    1.5 GAS from L{GAS_KEY}; block 10 is empty, so the change has earned a block.
    """

    def setUp(self) -> None:
        super().setUp()
        owners: dict[bytes, KeyPair] = {key.script_hash: key for _, _, key in self.chain.coins}
        self.wallet = max(owners.values(), key=lambda key: sum(
            1 for _, _, other in self.chain.coins if other.script_hash == key.script_hash))
        self.address = address_from_script_hash(self.wallet.script_hash)
        ref, value, _ = next(c for c in self.chain.coins
                             if c[2].script_hash == self.wallet.script_hash)
        self.sent = ref
        send = signed_transfer([ref], [
            TransactionOutput(NEO_ASSET_ID, value - CHANGE, PAYEE.script_hash),
            TransactionOutput(NEO_ASSET_ID, CHANGE, self.wallet.script_hash)], [self.wallet])
        gas = signed(ContractTransaction(inputs=(self.chain.gas[0],), outputs=(
            TransactionOutput(GAS_ASSET_ID, GAS_SENT, self.wallet.script_hash),
            TransactionOutput(GAS_ASSET_ID, 2 * ONE - GAS_SENT, GAS_KEY.script_hash))),
            [GAS_KEY])
        self.change = CoinReference(send.hash, 1)
        self.gas_coin = CoinReference(gas.hash, 0)
        self.blocks = [PRIVNET_GENESIS, *self.chain.blocks]
        self.add(send, gas)
        self.add()

    def add(self, *txs: Any) -> None:
        block = make_block(self.blocks[-1].header, txs)
        results = self.ledger.add_blocks([block])
        self.assertEqual([r.verdict for r in results], [Verdict.ACCEPTED])
        self.blocks.append(block)

    def owned(self) -> list[Coin]:
        """
        The wallet's coins in the model, in the plugin's order: by txid in wire order
        (bytewise, as LevelDB keeps its keys; not UInt256's reference order), then index.
        """
        mine = [coin for coin in model(self.blocks).values()
                if coin.output.script_hash == self.wallet.script_hash]
        return sorted(mine, key=lambda coin: (bytes(coin.txid), coin.index))

    def unspent_neo(self) -> list[Coin]:
        return [c for c in self.owned() if c.spent is None and c.output.asset_id == NEO_ASSET_ID]

    def claimable(self) -> list[Coin]:
        return [c for c in self.owned() if c.spent is not None
                and c.output.asset_id == NEO_ASSET_ID]


class GetUnspentsTests(TrackerTestCase):
    def test_exact_json(self) -> None:
        """
        GAS, then NEO; each coin with its txid (no 0x), index and value as a number,
        ordered by txid bytes; the amounts are the ledger's balances.
        """
        neo = self.unspent_neo()
        self.assertIn(self.change, [CoinReference(UInt256(c.txid), c.index) for c in neo])
        balances = self.ledger.get_balances(self.wallet.script_hash)
        self.assertEqual(sum(c.output.value for c in neo), balances[NEO_ASSET_ID])
        self.assertEqual(balances[GAS_ASSET_ID], GAS_SENT)
        expected = {"balance": [
            {"unspent": [{"txid": _hex(self.gas_coin.prev_hash), "n": 0, "value": 1.5}],
             "asset_hash": str(GAS_ASSET_ID)[2:], "asset": "GAS", "asset_symbol": "GAS",
             "amount": 1.5},
            {"unspent": [{"txid": _hex(c.txid), "n": c.index, "value": _number(c.output.value)}
                         for c in neo],
             "asset_hash": str(NEO_ASSET_ID)[2:], "asset": "NEO", "asset_symbol": "NEO",
             "amount": _number(balances[NEO_ASSET_ID])}],
            "address": self.address}
        self.assertEqual(self.call("getunspents", self.address), expected)

    def test_what_neon_js_reads(self) -> None:
        """
        neon-js builds its balance from C{asset_symbol}, C{amount} and each coin's
        C{n}, C{txid}, C{value}: the wallet's coins, whole NEO as JSON integers.
        """
        result = self.call("getunspents", self.address)
        neo = self.unspent_neo()
        self.assertEqual(neon_balance(result), {
            "GAS": [(0, _hex(self.gas_coin.prev_hash), 1.5)],
            "NEO": [(c.index, _hex(c.txid), c.output.value // ONE) for c in neo]})
        for entry in result["balance"][1]["unspent"]:
            self.assertIsInstance(entry["value"], int)

    def test_one_asset(self) -> None:
        """
        A second parameter picks the asset: true NEO, false GAS.
        """
        both = self.call("getunspents", self.address)["balance"]
        self.assertEqual(self.call("getunspents", self.address, True)["balance"], both[1:])
        self.assertEqual(self.call("getunspents", self.address, False)["balance"], both[:1])

    def test_other_assets_not_listed(self) -> None:
        """
        GAS_KEY holds 100 of a registered asset too: only its GAS is listed.
        """
        result = self.call("getunspents", address_from_script_hash(GAS_KEY.script_hash))
        self.assertEqual([entry["asset"] for entry in result["balance"]], ["GAS"])
        self.assertEqual(result["balance"][0]["amount"], 3 * 2 + 0.5)

    def test_script_hash_for_address(self) -> None:
        """
        Forty hex digits or more are a script hash, as the plugin tells them apart.
        """
        script_hash = str(self.wallet.script_hash)
        self.assertEqual(self.call("getunspents", script_hash),
                         self.call("getunspents", self.address))
        self.assertEqual(self.call("getunspents", script_hash[2:]),
                         self.call("getunspents", self.address))

    def test_empty_account(self) -> None:
        address = address_from_script_hash(bytes(20))  # type: ignore[arg-type]
        self.assertEqual(self.call("getunspents", address), {"balance": [], "address": address})

    def test_bad_address(self) -> None:
        bad_checksum = self.address[:-1] + ("1" if self.address[-1] != "1" else "2")
        for params in ([], [5], [None], ["AXXX"], [bad_checksum], ["0x" + "zz" * 20]):
            for method in ("getunspents", "getclaimable", "getunclaimed"):
                self.assert_error(-32602, method, *params)

    def test_at_most_max_results_per_asset(self) -> None:
        self.patch(plugins, "MAX_RESULTS", 1)
        result = self.call("getunspents", self.address)
        first = self.unspent_neo()[0]
        self.assertEqual(result["balance"][1]["unspent"],
                         [{"txid": _hex(first.txid), "n": first.index,
                           "value": _number(first.output.value)}])
        self.assertEqual(result["balance"][1]["amount"], _number(first.output.value))


class GetClaimableTests(TrackerTestCase):
    def expected_entries(self) -> list[dict[str, Any]]:
        entries = []
        for coin in self.claimable():
            assert coin.spent is not None
            generated, fees = bonus(coin.output.value, coin.created, coin.spent)
            entries.append({"txid": _hex(coin.txid), "n": coin.index,
                            "value": _number(coin.output.value), "start_height": coin.created,
                            "end_height": coin.spent, "generated": _number(generated),
                            "sys_fee": _number(fees), "unclaimed": _number(generated + fees)})
        return entries

    def test_exact_json(self) -> None:
        """
        The NEO the wallet spent, with the GAS each may claim: 8 GAS a block shared
        by 100,000,000 NEO, and its share of block 7's 20,000 GAS of fees.
        """
        coins = self.claimable()
        self.assertIn((self.sent.prev_hash, self.sent.prev_index),
                      [(c.txid, c.index) for c in coins])
        self.assertTrue(any(whole_fees(c.created, c.spent or 0) for c in coins))
        total = sum(sum(bonus(c.output.value, c.created, c.spent or 0)) for c in coins)
        self.assertEqual(self.call("getclaimable", self.address), {
            "claimable": self.expected_entries(), "address": self.address,
            "unclaimed": _number(total)})

    def test_agrees_with_the_ledger(self) -> None:
        """
        Each entry is the ledger's spent record, and claims what the claim rules allow.
        """
        result = self.call("getclaimable", self.address)
        with ledger_view(self.ledger) as view:
            for entry in result["claimable"]:
                record = view.unclaimed(UInt256.from_string(entry["txid"]), entry["n"])
                assert record is not None
                self.assertEqual((record.start_height, record.end_height),
                                 (entry["start_height"], entry["end_height"]))
                self.assertEqual(_number(record.output.value), entry["value"])
                self.assertEqual(_number(calculate_bonus([record], view.system_fee_total)),
                                 entry["unclaimed"])

    def test_what_neon_js_reads(self) -> None:
        self.assertEqual(neon_claims(self.call("getclaimable", self.address)), [
            {"claim": e["unclaimed"], "txid": e["txid"], "index": e["n"], "value": e["value"],
             "start": e["start_height"], "end": e["end_height"]}
            for e in self.expected_entries()])

    def test_claimed_coins_leave(self) -> None:
        """
        Once a block claims them, nothing is claimable and the claimed GAS is unspent.
        """
        claims = tuple(CoinReference(UInt256(c.txid), c.index) for c in self.claimable())
        total = self.call("getunclaimed", self.address)["available"]
        with ledger_view(self.ledger) as view:
            raw = calculate_bonus([view.unclaimed(r.prev_hash, r.prev_index)  # type: ignore[misc]
                                   for r in claims], view.system_fee_total)
        self.assertEqual(_number(raw), total)
        claim = signed(ClaimTransaction(claims=claims, outputs=(
            TransactionOutput(GAS_ASSET_ID, raw, self.wallet.script_hash),)), [self.wallet])
        self.add(claim)
        self.assertEqual(self.call("getclaimable", self.address),
                         {"claimable": [], "address": self.address, "unclaimed": 0})
        self.assertEqual(self.call("getunclaimed", self.address)["available"], 0)
        gas = self.call("getunspents", self.address, False)["balance"][0]["unspent"]
        self.assertIn({"txid": _hex(claim.hash), "n": 0, "value": _number(raw)}, gas)

    def test_at_most_max_results(self) -> None:
        self.patch(plugins, "MAX_RESULTS", 1)
        first = self.expected_entries()[0]
        self.assertEqual(self.call("getclaimable", self.address), {
            "claimable": [first], "address": self.address, "unclaimed": first["unclaimed"]})


class GetUnclaimedTests(TrackerTestCase):
    def test_exact_json(self) -> None:
        """
        C{available}: what the spent NEO may claim; C{unavailable}: what the unspent NEO
        earned up to the current height (10), fees of block 7 included.
        """
        available = sum(sum(bonus(c.output.value, c.created, c.spent or 0))
                        for c in self.claimable())
        unavailable = sum(sum(bonus(c.output.value, c.created, 10)) for c in self.unspent_neo())
        with ledger_view(self.ledger) as view:
            self.assertEqual(unavailable, calculate_bonus(
                [SpentCoin(c.output, c.created, 10) for c in self.unspent_neo()],
                view.system_fee_total))
        self.assertEqual(self.call("getunclaimed", self.address), {
            "available": _number(available), "unavailable": _number(unavailable),
            "unclaimed": _number(available + unavailable)})

    def test_what_neon_js_reads(self) -> None:
        """
        C{getMaxClaimAmount} reads C{unclaimed} alone: the sum of the other two.
        """
        result = self.call("getunclaimed", self.address)
        claimable = self.call("getclaimable", self.address)
        self.assertEqual(result["available"], claimable["unclaimed"])
        self.assertAlmostEqual(result["unclaimed"], result["available"] + result["unavailable"])

    def test_unspent_neo_earns_from_the_next_block(self) -> None:
        """
        NEO received in the tip block has earned nothing yet; a block later, its
        share of that block's 8 GAS.
        """
        ref, value, key = next(c for c in self.chain.coins
                               if c[2].script_hash != self.wallet.script_hash)
        fresh = account_keys(2323, 1)[0]
        address = address_from_script_hash(fresh.script_hash)
        self.add(signed_transfer(
            [ref], [TransactionOutput(NEO_ASSET_ID, value, fresh.script_hash)], [key]))
        self.assertEqual(self.call("getunclaimed", address),
                         {"available": 0, "unavailable": 0, "unclaimed": 0})
        self.add()
        earned = _number(value // ONE * 8)
        self.assertEqual(self.call("getunclaimed", address),
                         {"available": 0, "unavailable": earned, "unclaimed": earned})


class TransactionHeightTests(MethodsTestCase):
    def test_height(self) -> None:
        block = self.chain.blocks[-1]
        for tx in block.transactions:
            self.assertEqual(self.call("gettransactionheight", str(tx.hash)), block.index)
            self.assertEqual(self.call("gettransactionheight", str(tx.hash)[2:]), block.index)
        genesis_tx = PRIVNET_GENESIS.transactions[0]
        self.assertEqual(self.call("gettransactionheight", str(genesis_tx.hash)), 0)

    def test_unknown_and_bad(self) -> None:
        self.assert_error(-100, "gettransactionheight", UNKNOWN_HASH,
                          message="Unknown transaction")
        for params in ([], [5], ["0x12"]):
            self.assert_error(-32602, "gettransactionheight", *params)


class ListPluginsTests(MethodsTestCase):
    def test_native_plugins(self) -> None:
        version = neo_twisted.__version__
        self.assertEqual(self.call("listplugins"), [
            {"name": "CoreMetrics", "version": version, "interfaces": ["IRpcPlugin"]},
            {"name": "RpcSecurity", "version": version, "interfaces": ["IRpcPlugin"]},
            {"name": "RpcSystemAssetTrackerPlugin", "version": version,
             "interfaces": ["IPersistencePlugin", "IRpcPlugin"]}])


class BlockTimestampTests(MethodsTestCase):
    """
    The sample chain is at height 8.
    """

    def stamps(self, heights: range) -> list[dict[str, int]]:
        return [{"timestamp": self.chain.blocks[h - 1].header.timestamp, "height": h}
                for h in heights]

    def test_below_the_tip(self) -> None:
        """
        C{count} + 1 blocks, the last the one below the tip, as CoreMetrics counts.
        """
        self.assertEqual(self.call("getmetricblocktimestamp", 3), self.stamps(range(4, 8)))
        self.assertEqual(self.call("getmetricblocktimestamp", "3"), self.stamps(range(4, 8)))

    def test_up_to_a_height(self) -> None:
        self.assertEqual(self.call("getmetricblocktimestamp", 3, 6), self.stamps(range(3, 7)))
        self.assertEqual(self.call("getmetricblocktimestamp", 3, 0), self.stamps(range(4, 8)))

    def test_refusals_are_results(self) -> None:
        """
        CoreMetrics answers what it will not do as its result, a string.
        """
        for params, text in (
                ([0], "Requested number of block times can not be <= 0"),
                ([8], "Requested number of blocks timestamps 8 exceeds quantity of known "
                      "blocks 8"),
                ([2, 8], "Requested height to start 8 exceeds 8"),
                ([5, 3], "Requested 5 blocks timestamps is greater than starting at height 3")):
            self.assertEqual(self.call("getmetricblocktimestamp", *params), text)

    def test_a_day_at_most(self) -> None:
        """
        With blocks every 6 hours, a day holds 4.
        """
        settings = attrs.evolve(PRIVNET, seconds_per_block=6 * 3600)
        method = PluginRpc(self.ledger_service, settings).methods()["getmetricblocktimestamp"]
        self.assertEqual(self.successResultOf(defer.maybeDeferred(method, [5])),
                         "Requested number of blocks timestamps exceeds 4")
        self.assertEqual(len(json_array(self.successResultOf(defer.maybeDeferred(method, [4])))),
                         5)

    def test_bad_params(self) -> None:
        for params in ([], ["x"], [-1], [1.5], [3, "y"]):
            self.assert_error(-32602, "getmetricblocktimestamp", *params)


class OptionalParamsTests(SynchronousTestCase):
    def test_request_without_params(self) -> None:
        """
        Taken as an empty list (neo-go's rule); other shapes are still refused.
        """
        resource = JsonRpcResource({"echo": lambda params: params})

        def answer(document: Any) -> Any:
            body = self.successResultOf(resource.handle(document))
            assert body is not None
            return json.loads(body)

        self.assertEqual(answer({"jsonrpc": "2.0", "id": 1, "method": "echo"}),
                         {"jsonrpc": "2.0", "id": 1, "result": []})
        for params in (None, {"a": 1}, 5):
            error = answer({"jsonrpc": "2.0", "id": 1, "method": "echo", "params": params})
            self.assertEqual(error["error"]["code"], -32600)
