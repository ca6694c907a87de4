# -*- test-case-name: tests.unit.test_rpc_plugins -*-
"""
The RPC methods neo-cli 2.x gets from its plugins, served here natively.

Light wallets (neon-js's NeoCli provider) build balances, transfers and claims
from the RpcSystemAssetTracker plugin's C{getunspents}, C{getclaimable} and
C{getunclaimed}; the answers keep that plugin's shapes (2.12, before the
C{NoBonusHeight} of 2.13, as this node's claim rules): amounts are JSON numbers
(C{(double)(decimal)Fixed8}), transaction ids carry no C{0x}, lists stop after
L{MAX_RESULTS} entries (the plugin's default C{MaxResults}). The coins come from
the ledger's account databases, one key range per account, read in one snapshot.
CoreMetrics's C{getmetricblocktimestamp} answers its refusals as results (strings),
as it does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Concatenate, ParamSpec, TypeVar

import lmdb
from twisted.internet import defer

import neo_twisted
from neo_twisted.core.jsonify import JSON
from neo_twisted.core.transactions import GAS_ASSET_ID, NEO_ASSET_ID
from neo_twisted.crypto.keys import address_from_script_hash
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.view import LedgerView
from neo_twisted.mempool.claims import calculate_bonus, generated_gas
from neo_twisted.mempool.view import SpentCoin
from neo_twisted.rpc.params import Params, address, block_index, busy, flag
from neo_twisted.rpc.server import Method
from neo_twisted.wire.fixed8 import FIXED8_ONE
from neo_twisted.wire.uint import UInt160, UInt256

P = ParamSpec("P")
T = TypeVar("T")

#: The most entries a list holds (the plugin's C{MaxResults} as it ships).
MAX_RESULTS = 1000
#: The system assets the tracker follows, in the order C{getunspents} lists them.
SYSTEM_ASSETS: tuple[tuple[UInt256, str], ...] = ((GAS_ASSET_ID, "GAS"), (NEO_ASSET_ID, "NEO"))
#: C{listplugins}: the neo-cli plugins whose methods this node answers itself (name,
#: the plugin interfaces it implements), by name. RpcSecurity: basic auth and
#: disabled methods (L{neo_twisted.rpc.access}); the tracker's transfer history
#: (C{getutxotransfers}) is not kept.
NATIVE_PLUGINS = (
    ("CoreMetrics", ("IRpcPlugin",)),
    ("RpcSecurity", ("IRpcPlugin",)),
    ("RpcSystemAssetTrackerPlugin", ("IPersistencePlugin", "IRpcPlugin")),
)
#: CoreMetrics answers for the blocks of one day at most.
SECONDS_PER_DAY = 86_400


def fixed8_number(raw: int) -> int | float:
    """
    A Fixed8 amount as the plugin writes it: a JSON number, whole amounts without a
    fraction (int / int division is correctly rounded, as C{decimal} to C{double} is).
    """
    whole, fraction = divmod(raw, FIXED8_ONE)
    return whole if fraction == 0 else raw / FIXED8_ONE


def _txid(txid: UInt256) -> str:
    return str(txid)[2:]


def plugins_result() -> list[JSON]:
    return [{"name": name, "version": neo_twisted.__version__, "interfaces": list(kinds)}
            for name, kinds in NATIVE_PLUGINS]


def _bonus(coin: SpentCoin, fee_total: Callable[[int], int]) -> tuple[int, int]:
    """
    The GAS C{coin} may claim, as (generated, system fees) (C{CalculateClaimable}).
    """
    total = calculate_bonus([coin], fee_total)
    generated = coin.output.value // FIXED8_ONE * generated_gas(coin.start_height,
                                                                coin.end_height)
    return generated, total - generated


def unspents_result(ledger: Ledger, script_hash: UInt160, version: int,
                    assets: tuple[tuple[UInt256, str], ...]) -> JSON:
    """
    C{getunspents}: the account's GAS then NEO outputs, each asset with a coin listed
    with their sum.
    """
    listed: dict[bytes, list[JSON]] = {asset: [] for asset, _ in assets}
    totals = dict.fromkeys(listed, 0)
    with ledger.store.read() as txn:
        for owned in ledger.owned_unspent(txn, script_hash):
            entries = listed.get(owned.output.asset_id)
            if entries is None or len(entries) >= MAX_RESULTS:
                continue
            entries.append({"txid": _txid(owned.txid), "n": owned.index,
                            "value": fixed8_number(owned.output.value)})
            totals[owned.output.asset_id] += owned.output.value
    balance = [{"unspent": listed[asset], "asset_hash": _txid(asset), "asset": symbol,
                "asset_symbol": symbol, "amount": fixed8_number(totals[asset])}
               for asset, symbol in assets if listed[asset]]
    return {"balance": balance, "address": address_from_script_hash(script_hash, version)}


def claimable_result(ledger: Ledger, script_hash: UInt160, version: int) -> JSON:
    """
    C{getclaimable}: the account's spent, unclaimed NEO outputs and what each may claim.
    """
    claimable: list[JSON] = []
    total = 0
    with ledger.store.read() as txn:
        view = LedgerView(txn, ledger.store.dbs)
        for unclaimed in ledger.owned_unclaimed(txn, script_hash):
            coin = unclaimed.coin
            generated, fees = _bonus(coin, view.system_fee_total)
            claimable.append({
                "txid": _txid(unclaimed.txid), "n": unclaimed.index,
                "value": fixed8_number(coin.output.value),
                "start_height": coin.start_height, "end_height": coin.end_height,
                "generated": fixed8_number(generated), "sys_fee": fixed8_number(fees),
                "unclaimed": fixed8_number(generated + fees)})
            total += generated + fees
            if len(claimable) >= MAX_RESULTS:
                break
    return {"claimable": claimable, "address": address_from_script_hash(script_hash, version),
            "unclaimed": fixed8_number(total)}


def _accruing(ledger: Ledger, txn: lmdb.Transaction, height: int, script_hash: UInt160
              ) -> Iterator[SpentCoin]:
    """
    The account's unspent NEO as coins spent at the current height (what they would
    claim if spent now); a coin of the tip block has earned nothing yet.
    """
    for owned in ledger.owned_unspent(txn, script_hash):
        if owned.output.asset_id == NEO_ASSET_ID and owned.height < height:
            yield SpentCoin(owned.output, owned.height, height)


def unclaimed_result(ledger: Ledger, script_hash: UInt160) -> JSON:
    """
    C{getunclaimed}: the GAS the account may claim now (C{available}: from spent NEO)
    and what its unspent NEO has earned so far (C{unavailable}).
    """
    with ledger.store.read() as txn:
        view = LedgerView(txn, ledger.store.dbs)
        fees = view.system_fee_total
        available = sum(calculate_bonus([unclaimed.coin], fees)
                        for unclaimed in ledger.owned_unclaimed(txn, script_hash))
        unavailable = sum(calculate_bonus([coin], fees)
                          for coin in _accruing(ledger, txn, view.height, script_hash))
    return {"available": fixed8_number(available), "unavailable": fixed8_number(unavailable),
            "unclaimed": fixed8_number(available + unavailable)}


def block_timestamps(ledger: Ledger, count: int, last: int, per_day: int
                     ) -> str | list[JSON]:
    """
    C{getmetricblocktimestamp}: the time and height of C{count} + 1 blocks up to
    C{last} (0: the one below the tip), or why not, in CoreMetrics's words.
    """
    height = ledger.block_height
    if last != 0:
        if last >= height:
            return f"Requested height to start {last} exceeds {height}"
        if count > last:
            return (f"Requested {count} blocks timestamps is greater than starting at "
                    f"height {last}")
    if count > per_day:
        return f"Requested number of blocks timestamps exceeds {per_day}"
    if count >= height:
        return (f"Requested number of blocks timestamps {count} exceeds quantity of known "
                f"blocks {height}")
    if count <= 0:
        return "Requested number of block times can not be <= 0"
    begin = last - count if last > 0 else height - 1 - count
    result: list[JSON] = []
    for index in range(begin, begin + count + 1):
        header = ledger.get_header(index)
        if header is None:
            break
        result.append({"timestamp": header.timestamp, "height": index})
    return result


class PluginRpc:
    """
    The plugins' methods, bound to a ledger.
    """

    NAMES = ("getunspents", "getclaimable", "getunclaimed", "getmetricblocktimestamp")

    def __init__(self, ledger: LedgerService, settings: ProtocolSettings) -> None:
        self._ledger = ledger
        self._settings = settings

    def methods(self) -> dict[str, Method]:
        return {name: getattr(self, name) for name in self.NAMES}

    def _read(self, function: Callable[Concatenate[Ledger, P], T], *args: P.args,
              **kwargs: P.kwargs) -> defer.Deferred[T]:
        return self._ledger.read(function, *args, **kwargs).addErrback(busy)

    def getunspents(self, params: Params) -> defer.Deferred[JSON]:
        """
        C{[address]}: GAS and NEO; C{[address, true]}: NEO only, C{false}: GAS only.
        """
        version = self._settings.address_version
        script_hash = address(params, 0, version)
        assets = SYSTEM_ASSETS
        if len(params) > 1:
            assets = SYSTEM_ASSETS[1:] if flag(params, 1) else SYSTEM_ASSETS[:1]
        return self._read(unspents_result, script_hash, version, assets)

    def getclaimable(self, params: Params) -> defer.Deferred[JSON]:
        version = self._settings.address_version
        return self._read(claimable_result, address(params, 0, version), version)

    def getunclaimed(self, params: Params) -> defer.Deferred[JSON]:
        return self._read(unclaimed_result,
                          address(params, 0, self._settings.address_version))

    def getmetricblocktimestamp(self, params: Params) -> defer.Deferred[str | list[JSON]]:
        """
        C{[count]} or C{[count, last height]}.
        """
        count = block_index(params, 0, "the number of blocks")
        last = block_index(params, 1, "the last height") if len(params) > 1 else 0
        per_day = SECONDS_PER_DAY // self._settings.seconds_per_block
        return self._read(block_timestamps, count, last, per_day)
