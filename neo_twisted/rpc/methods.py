# -*- test-case-name: tests.unit.test_rpc_methods -*-
"""
The node's JSON-RPC methods, with the reference node's parameters, results and codes.

Parameters are checked here (a wrong one is -32602 with the reason in C{data});
store reads run on the ledger's read threads, so a slow one never holds up the
reactor; transactions go through the memory pool, blocks through the node.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from neo_twisted.consensus.service import ConsensusService
from neo_twisted.core.block import Block
from neo_twisted.core.jsonify import JSON, Json, output_json
from neo_twisted.core.transaction import Transaction
from neo_twisted.crypto.keys import script_hash_from_address
from neo_twisted.ledger.chain import BlockResult, Ledger, Verdict
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.mempool.outcome import Outcome, Refusal
from neo_twisted.mempool.service import MempoolService
from neo_twisted.node.policy import Node
from neo_twisted.node.progress import SyncProgress
from neo_twisted.p2p.addresses import normalise_host
from neo_twisted.p2p.discipline import FOREVER
from neo_twisted.rpc import shapes
from neo_twisted.rpc.errors import RpcError, invalid_params, unknown
from neo_twisted.rpc.params import (
    Params,
    block_index,
    busy,
    decoded,
    flag,
    found,
    hash256,
    hex_bytes,
    param,
)
from neo_twisted.rpc.plugins import PluginRpc, plugins_result
from neo_twisted.rpc.server import Estimate, Method
from neo_twisted.wire.fixed8 import FIXED8_ONE

P = ParamSpec("P")
T = TypeVar("T")

#: A transaction hash in a JSON list: C{"0x<64 hex digits>",}.
TXID_JSON_BYTES = 69
#: A response's envelope around its result (id, height...), generously.
ANSWER_OVERHEAD = 256

_BLOCK_REFUSALS = {
    Verdict.ALREADY_EXISTS: Refusal.ALREADY_EXISTS,
    Verdict.UNABLE_TO_VERIFY: Refusal.UNABLE_TO_VERIFY,
    Verdict.INVALID: Refusal.INVALID,
}


# -- parameters ------------------------------------------------------------------------------

def _hash_or_index(params: Params, name: str) -> bytes | int:
    """
    C{getblock}'s first parameter: a number is an index, a string a hash.
    """
    value = param(params, 0, name)
    if isinstance(value, int) and not isinstance(value, bool):
        return block_index(params, 0, name)
    return hash256(params, 0, name)


def _known(result: str | JSON | None, what: str) -> str | JSON:
    """
    L{found} for an answer that is a hex string or an object (a C{verbose} flag's).
    """
    if result is None:
        raise unknown(what)
    return result


def _refusal_error(refusal: Refusal, reason: str) -> RpcError:
    return RpcError(refusal.code, refusal.message, reason or None)


class NodeRpc:
    """
    The methods of one node, bound to its ledger, connections and pool.
    """

    #: The methods of this class.
    OWN_NAMES = ("getbestblockhash", "getblock", "getblockcount", "getblockhash",
                 "getblockheader", "getblocksysfee", "getconnectioncount", "getpeers",
                 "getrawmempool", "getrawtransaction", "gettxout", "getversion",
                 "sendrawtransaction", "submitblock", "validateaddress", "getaccountstate",
                 "getassetstate", "getvalidators", "getconsensusstate", "getnodestate",
                 "setban", "listbanned", "gettransactionheight", "listplugins")
    #: The methods served (C{--rpc-disable} takes these names).
    NAMES = OWN_NAMES + PluginRpc.NAMES

    def __init__(self, ledger: LedgerService, node: Node, mempool: MempoolService,
                 settings: ProtocolSettings, clock: IReactorTime,
                 consensus: ConsensusService | None = None,
                 progress: SyncProgress | None = None) -> None:
        """
        @param consensus: the node's dBFT, when it is a validator.
        @param progress: the sync's rate and target (default: a new one on C{clock}).
        @param clock: schedules the hand-over of the transactions of one reactor turn
            (a batch) to the pool together, so that they are verified in chunks.
        """
        self._ledger = ledger
        self._node = node
        self._mempool = mempool
        self._settings = settings
        self._clock = clock
        self._consensus = consensus
        self._progress = progress if progress is not None else SyncProgress(node, clock)
        self._queued: list[tuple[Transaction, defer.Deferred[Outcome]]] = []
        self._flush_call: IDelayedCall | None = None
        self._plugins = PluginRpc(ledger, settings)

    def methods(self) -> dict[str, Method]:
        return {name: getattr(self, name) for name in self.OWN_NAMES} | self._plugins.methods()

    def estimates(self) -> dict[str, Estimate]:
        """
        The answers whose size can be told before they are built (the others are
        small, or bounded by what the chain holds, and checked once built).
        """
        return {"getrawmempool": self.getrawmempool_size}

    def _read(self, function: Callable[Concatenate[Ledger, P], T], *args: P.args,
              **kwargs: P.kwargs) -> defer.Deferred[T]:
        return self._ledger.read(function, *args, **kwargs).addErrback(busy)

    @property
    def _height(self) -> int:
        ledger = self._ledger.ledger
        if ledger is None:
            raise RuntimeError("the ledger is not open")
        return ledger.block_height

    # -- chain -------------------------------------------------------------------------------

    def getblockcount(self, params: Params) -> int:
        return self._height + 1

    def getbestblockhash(self, params: Params) -> defer.Deferred[str]:
        def best(ledger: Ledger) -> str:
            return str(ledger.get_block_hash(ledger.block_height))
        return self._read(best)

    def getblockhash(self, params: Params) -> defer.Deferred[str]:
        index = block_index(params, 0, "index")
        if index > self._height:
            raise unknown("Invalid Height")
        return self._read(lambda ledger: str(ledger.get_block_hash(index)))

    def getblock(self, params: Params) -> defer.Deferred[str | JSON]:
        key, verbose = _hash_or_index(params, "hash or index"), flag(params, 1)
        return self._read(shapes.block_result, self._settings, key, verbose).addCallback(
            _known, "Unknown block")

    def getblockheader(self, params: Params) -> defer.Deferred[str | JSON]:
        key, verbose = _hash_or_index(params, "hash or index"), flag(params, 1)
        return self._read(shapes.header_result, self._settings, key, verbose).addCallback(
            _known, "Unknown block")

    def getblocksysfee(self, params: Params) -> defer.Deferred[str]:
        """
        The system fees of blocks 0..index, in whole GAS, as a string.
        """
        index = block_index(params, 0, "index")
        if index > self._height:
            raise unknown("Invalid Height")
        return self._read(lambda ledger: str(ledger.system_fee_total(index) // FIXED8_ONE))

    # -- transactions and state --------------------------------------------------------------

    def getrawtransaction(self, params: Params) -> defer.Deferred[str | JSON]:
        txid, verbose = hash256(params, 0, "txid"), flag(params, 1)
        entry = self._mempool.pool.entry(txid)
        settings = self._settings

        def look(ledger: Ledger) -> str | JSON | None:
            if entry is not None:
                tx, height, fee = entry.tx, None, entry.network_fee
            else:
                record = ledger.get_transaction(txid)
                if record is None:
                    return None
                (tx, height), fee = record, None
            if not verbose:
                return tx.to_bytes().hex()
            return shapes.transaction_result(ledger, settings, tx, height, fee)

        return self._read(look).addCallback(_known, "Unknown transaction")

    def gettransactionheight(self, params: Params) -> defer.Deferred[int]:
        """
        The height of the block holding a confirmed transaction (2.10+).
        """
        txid = hash256(params, 0, "txid")
        return self._read(lambda ledger: ledger.transaction_height(txid)).addCallback(
            found, "Unknown transaction")

    def gettxout(self, params: Params) -> defer.Deferred[JSON | None]:
        txid, n = hash256(params, 0, "txid"), block_index(params, 1, "n")
        if n > 0xFFFF:
            raise invalid_params(f"output index {n} is over 65535")
        version = self._settings.address_version

        def look(ledger: Ledger) -> JSON | None:
            output = ledger.get_unspent(txid, n)
            if output is None:
                return None
            return output_json(n, output, version)

        return self._read(look)

    def getaccountstate(self, params: Params) -> defer.Deferred[JSON]:
        address = param(params, 0, "address")
        if not isinstance(address, str):
            raise invalid_params("the address must be a string")
        try:
            script_hash = script_hash_from_address(address, self._settings.address_version)
        except ValueError as e:
            raise invalid_params(f"{address!r} is not an address: {e}") from None
        return self._read(shapes.account_result, script_hash)

    def getassetstate(self, params: Params) -> defer.Deferred[JSON]:
        asset_id = hash256(params, 0, "asset id")
        version = self._settings.address_version

        def look(ledger: Ledger) -> JSON | None:
            state = ledger.get_asset(asset_id)
            return None if state is None else shapes.asset_result(state, version)

        return self._read(look).addCallback(found, "Unknown asset")

    def getvalidators(self, params: Params) -> defer.Deferred[list[JSON]]:
        """
        The registered and standby keys with a vote record, their votes, and whether
        they validate the next block (neo2-validators.md section 8).
        """
        return self._read(lambda ledger: ledger.validators.enrollments())

    def validateaddress(self, params: Params) -> JSON:
        address = param(params, 0, "address")
        if not isinstance(address, str):
            raise invalid_params("the address must be a string")
        try:
            script_hash_from_address(address, self._settings.address_version)
        except ValueError:
            valid = False
        else:
            valid = True
        return {"address": address, "isvalid": valid}

    # -- the pool and relay ------------------------------------------------------------------

    def getrawmempool_size(self, params: Params) -> int:
        """
        The bytes of C{getrawmempool}'s answer: the pool's size tells them exactly.
        """
        count = len(self._mempool)
        if flag(params, 0):
            count += self._mempool.verifying
        return ANSWER_OVERHEAD + TXID_JSON_BYTES * count

    def getrawmempool(self, params: Params) -> Json:
        verified = [str(txid) for txid in self._mempool.txids()]
        if not flag(params, 0):
            return verified
        return {"height": self._height, "verified": verified,
                "unverified": [str(txid) for txid in self._mempool.verifying_txids()]}

    def sendrawtransaction(self, params: Params) -> defer.Deferred[bool]:
        tx: Transaction = decoded(Transaction.from_bytes, hex_bytes(params, 0, "transaction"),
                                   "the transaction")

        def answer(outcome: Outcome) -> bool:
            if outcome.refusal is not None:
                raise _refusal_error(outcome.refusal, outcome.reason)
            return True

        d: defer.Deferred[Outcome] = defer.Deferred()
        self._queued.append((tx, d))
        if self._flush_call is None:
            self._flush_call = self._clock.callLater(0, self._submit_queued)
        return d.addCallback(answer)

    def _submit_queued(self) -> None:
        self._flush_call = None
        queued, self._queued = self._queued, []
        self._mempool.submit_each([tx for tx, _ in queued],
                                  waiters=[waiting for _, waiting in queued])

    def submitblock(self, params: Params) -> defer.Deferred[bool]:
        block: Block = decoded(Block.from_bytes, hex_bytes(params, 0, "block"), "the block")

        def answer(result: BlockResult) -> bool:
            if result.verdict is Verdict.ACCEPTED:
                return True
            refusal = _BLOCK_REFUSALS.get(result.verdict, Refusal.UNKNOWN)
            raise _refusal_error(refusal, result.reason)

        return self._node.submit_block(block).addCallback(answer)

    # -- the node ----------------------------------------------------------------------------

    def getconnectioncount(self, params: Params) -> int:
        return self._node.connections.peer_count

    def getpeers(self, params: Params) -> JSON:
        connections = self._node.connections
        connected: list[JSON] = []
        for peer in connections.established_peers():
            port = peer.listener.port if peer.listener is not None else peer.remote.port
            connected.append({"address": peer.remote.host, "port": port})
        return {
            "unconnected": [{"address": e.host, "port": e.port}
                            for e in connections.book.snapshot()],
            "bad": [{"address": host, "port": 0}
                    for host in sorted(connections.discipline.bans(self._clock.seconds()))],
            "connected": connected,
        }

    def setban(self, params: Params) -> bool:
        """
        Ours (after Bitcoin Core's): C{[address, "add", seconds]} refuses an IP and drops
        its connections (for the node's life without C{seconds}); C{[address, "remove"]}
        lifts a ban or a discouragement. The operator's ban: the fault table never bans
        but for repeated forgery (L{neo_twisted.p2p.faults}).
        """
        if len(params) not in (2, 3) or not isinstance(params[0], str) \
                or params[1] not in ("add", "remove"):
            raise invalid_params('expected [address, "add", seconds] or [address, "remove"]')
        try:
            host = normalise_host(str(ipaddress.ip_address(params[0])))
        except ValueError:
            raise invalid_params(f"{params[0]!r} is not an IP address") from None
        connections = self._node.connections
        if params[1] == "remove":
            return connections.discipline.unban(host)
        seconds = params[2] if len(params) == 3 else None
        if seconds is not None and (isinstance(seconds, bool)
                                    or not isinstance(seconds, int | float) or seconds <= 0):
            raise invalid_params(f"ban seconds must be a positive number, not {seconds!r}")
        connections.ban(host, FOREVER if seconds is None else float(seconds))
        return True

    def listbanned(self, params: Params) -> list[JSON]:
        """
        Ours: the banned and discouraged IPs, and until when (Unix time; null: for the
        node's life).
        """
        discipline = self._node.connections.discipline
        now = self._clock.seconds()
        return [{"address": host, "until": None if until == FOREVER else int(until),
                 "kind": kind} for kind, table in (("ban", discipline.bans(now)),
                                                   ("discourage", discipline.discouraged(now)))
                for host, until in sorted(table.items())]

    def listplugins(self, params: Params) -> list[JSON]:
        """
        No plugins load here: the neo-cli plugins listed are those whose methods this
        node answers itself (L{neo_twisted.rpc.plugins.NATIVE_PLUGINS}), so that a
        client probing for them finds them.
        """
        return plugins_result()

    def getversion(self, params: Params) -> JSON:
        return {"port": self._node.connections.listening_port or 0,
                "nonce": self._node.nonce, "useragent": self._node.user_agent}

    def getconsensusstate(self, params: Params) -> JSON:
        """
        Ours (not the reference's): the round in progress, and the payloads seen for it,
        so an operator can tell why no block comes.
        """
        height = self._height + 1
        if self._consensus is not None:
            state = self._consensus.status()
            round_height = state.get("height")
            if isinstance(round_height, int):  # a round is under way
                height = round_height
        else:
            state = {"validator": False, "height": height}
        state["seen"] = self._node.consensus.seen(height)
        return state


    def getnodestate(self, params: Params) -> JSON:
        """
        Ours: what C{neonode status} shows, in one call (heights, sync, peers, pool).
        """
        node, mempool, progress = self._node, self._mempool, self._progress
        peers: list[JSON] = []
        for peer in sorted(node.established_peers(), key=lambda p: str(p.remote)):
            version = peer.version
            peers.append({
                "address": peer.remote.host, "port": peer.remote.port,
                "listenport": None if peer.listener is None else peer.listener.port,
                "direction": "in" if peer.inbound else "out",
                "height": peer.last_block_index,
                "useragent": None if version is None else version.user_agent,
            })
        return {
            "useragent": node.user_agent,
            "blockheight": node.block_height,
            "headerheight": node.header_height,
            "targetheight": progress.target_height(),
            "syncing": node.syncing,
            "blockspersecond": round(progress.blocks_per_second(), 3),
            "peers": peers,
            "mempool": {"verified": len(mempool), "verifying": mempool.verifying,
                        "capacity": mempool.pool.capacity},
            "validator": self._consensus is not None,
        }
