"""
Tests for L{neo_twisted.rpc.methods}: every method against a generated chain (the
mempool samples: transfers, a claim, two registered assets, an issue), checked
against the result shapes and error codes of neo2-network.md section 6.
"""

from __future__ import annotations

from typing import Any

import attrs
from twisted.internet import defer

from neo_twisted.consensus.service import ConsensusService
from neo_twisted.core.consensus import ChangeView
from neo_twisted.core.transactions import GAS_ASSET_ID, NEO_ASSET_ID
from neo_twisted.crypto.keys import address_from_script_hash
from neo_twisted.ledger.service import ReadQueueFullError
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.rpc.methods import NodeRpc
from neo_twisted.wire.uint import UInt256
from tests.support.consensus_samples import signed_payload
from tests.support.json_shapes import json_object
from tests.support.ledger_samples import DEV_KEYS, PRIVNET, PRIVNET_GENESIS, make_block
from tests.support.mempool_samples import GAS_KEY, ISSUER, PAYEE
from tests.support.rpc_methods_case import ONE, TIP, UNKNOWN_HASH, MethodsTestCase

BLOCK_KEYS = {"hash", "size", "version", "previousblockhash", "merkleroot", "time", "index",
              "nonce", "nextconsensus", "script", "confirmations"}
TX_KEYS = {"txid", "size", "type", "version", "attributes", "vin", "vout", "sys_fee", "net_fee",
           "scripts"}


class ChainMethodTests(MethodsTestCase):
    def test_getblockcount_and_best_hash(self) -> None:
        self.assertEqual(self.call("getblockcount"), TIP + 1)
        self.assertEqual(self.call("getbestblockhash"), str(self.chain.blocks[-1].hash))

    def test_getblockhash(self) -> None:
        self.assertEqual(self.call("getblockhash", 0), str(PRIVNET_GENESIS.hash))
        self.assertEqual(self.call("getblockhash", "3"), str(self.chain.blocks[2].hash))
        self.assert_error(-100, "getblockhash", TIP + 1, message="Invalid Height")
        for bad in ([-1], ["x"], [True], [1.5], []):
            self.assert_error(-32602, "getblockhash", *bad)

    def test_getblock_raw(self) -> None:
        block = self.chain.blocks[6]
        self.assertEqual(self.call("getblock", 7), block.to_bytes().hex())
        self.assertEqual(self.call("getblock", str(block.hash)), block.to_bytes().hex())
        self.assertEqual(self.call("getblock", str(block.hash), 0), block.to_bytes().hex())
        self.assertEqual(self.call("getblock", str(block.hash), False), block.to_bytes().hex())

    def test_getblock_verbose(self) -> None:
        block = self.chain.blocks[6]
        result = self.call("getblock", 7, True)
        self.assertEqual(set(result), BLOCK_KEYS | {"tx", "nextblockhash"})
        self.assertEqual(result["hash"], str(block.hash))
        self.assertEqual(result["confirmations"], TIP - 7 + 1)
        self.assertEqual(result["nextblockhash"], str(self.chain.blocks[7].hash))
        self.assertEqual(result["nonce"], f"{block.header.consensus_data:016x}")
        self.assertEqual([tx["type"] for tx in result["tx"]],
                         ["MinerTransaction", "ClaimTransaction", "RegisterTransaction",
                          "RegisterTransaction"])
        for tx in result["tx"]:
            self.assertEqual(set(tx) - TX_KEYS - {"nonce", "claims", "asset"}, set())
        self.assertEqual(result["tx"][2]["sys_fee"], "10000")
        self.assertEqual(result["tx"][1]["net_fee"], "0")
        self.assertEqual(self.call("getblock", 1, 1)["confirmations"], TIP)

    def test_getblock_tip_has_no_next(self) -> None:
        self.assertNotIn("nextblockhash", self.call("getblock", TIP, True))

    def test_getblock_unknown(self) -> None:
        self.assert_error(-100, "getblock", UNKNOWN_HASH, message="Unknown block")
        self.assert_error(-100, "getblock", 99, True, message="Unknown block")
        bads: list[list[object]] = [["0x12"], [None], [{}], [1, "yes"], []]
        for bad in bads:
            self.assert_error(-32602, "getblock", *bad)

    def test_getblockheader(self) -> None:
        header = self.chain.blocks[3].header
        raw = self.call("getblockheader", 4)
        self.assertEqual(raw, header.to_bytes().hex())
        self.assertTrue(raw.endswith("00"))
        result = self.call("getblockheader", str(header.hash), True)
        self.assertEqual(set(result), BLOCK_KEYS | {"nextblockhash"})
        self.assertEqual(result["size"], header.size)
        self.assertEqual(result["confirmations"], TIP - 4 + 1)
        self.assert_error(-100, "getblockheader", UNKNOWN_HASH, message="Unknown block")

    def test_getblocksysfee(self) -> None:
        # whole GAS, summed from the genesis: block 7 paid two 10,000-GAS registrations
        self.assertEqual(self.call("getblocksysfee", 6), "0")
        self.assertEqual(self.call("getblocksysfee", 7), "20000")
        self.assertEqual(self.call("getblocksysfee", TIP), "20000")
        self.assert_error(-100, "getblocksysfee", TIP + 1, message="Invalid Height")


class BusyLedgerTests(MethodsTestCase):
    def test_full_read_queue_is_busy(self) -> None:
        """
        A read the ledger's queue cannot take answers the server's -32000 busy (the
        client may try again), not an internal error.
        """
        def full(function: Any, *args: Any) -> defer.Deferred[Any]:
            return defer.fail(ReadQueueFullError("65536 local reads are waiting already"))

        self.patch(self.ledger_service, "read", full)
        self.assert_error(-32000, "getbestblockhash", data="reads are waiting")


class TransactionMethodTests(MethodsTestCase):
    def test_getrawtransaction_confirmed(self) -> None:
        claim = self.chain.blocks[6].transactions[1]
        self.assertEqual(self.call("getrawtransaction", str(claim.hash)), claim.to_bytes().hex())
        result = self.call("getrawtransaction", str(claim.hash), True)
        self.assertEqual(set(result), TX_KEYS | {"claims", "blockhash", "confirmations",
                                                 "blocktime"})
        self.assertEqual(result["type"], "ClaimTransaction")
        self.assertEqual(result["blockhash"], str(self.chain.blocks[6].hash))
        self.assertEqual(result["blocktime"], self.chain.blocks[6].header.timestamp)
        self.assertEqual(result["confirmations"], 2)
        self.assertEqual(result["claims"], [{"txid": str(self.chain.genesis_claim.prev_hash),
                                             "vout": 0}])

    def test_getrawtransaction_from_the_pool(self) -> None:
        tx = self.gas_payment()
        self.assertIs(self.call("sendrawtransaction", tx.to_bytes().hex()), True)
        result = self.call("getrawtransaction", str(tx.hash), 1)
        self.assertEqual(set(result), TX_KEYS)
        self.assertEqual((result["net_fee"], result["sys_fee"]), ("0.5", "0"))
        self.assertEqual(self.call("getrawtransaction", str(tx.hash)), tx.to_bytes().hex())

    def test_net_fee_of_a_confirmed_payment(self) -> None:
        tx = self.gas_payment(ONE // 4)
        block = make_block(self.ledger.header_tip, [tx])
        self.assertIs(self.call("submitblock", block.to_bytes().hex()), True)
        result = self.call("getrawtransaction", str(tx.hash), True)
        self.assertEqual((result["net_fee"], result["confirmations"]), ("0.25", 1))

    def test_getrawtransaction_unknown(self) -> None:
        self.assert_error(-100, "getrawtransaction", UNKNOWN_HASH, message="Unknown transaction")
        self.assert_error(-32602, "getrawtransaction", "nothex")

    def test_gettxout(self) -> None:
        ref, value, key = self.chain.coins[0]
        self.assertEqual(self.call("gettxout", str(ref.prev_hash), ref.prev_index), {
            "n": ref.prev_index, "asset": str(NEO_ASSET_ID),
            "value": str(value // ONE) if value % ONE == 0 else str(value / ONE),
            "address": address_from_script_hash(key.script_hash)})
        spent = self.chain.claimable
        self.assertIsNone(self.call("gettxout", str(spent.prev_hash), spent.prev_index))
        self.assertIsNone(self.call("gettxout", UNKNOWN_HASH, 0))
        self.assert_error(-32602, "gettxout", UNKNOWN_HASH, 70_000)
        self.assert_error(-32602, "gettxout", UNKNOWN_HASH)

    def test_getaccountstate(self) -> None:
        address = address_from_script_hash(GAS_KEY.script_hash)
        result = self.call("getaccountstate", address)
        self.assertEqual(result, {
            "version": 0, "script_hash": str(GAS_KEY.script_hash), "frozen": False,
            "votes": [], "balances": sorted([
                {"asset": str(GAS_ASSET_ID), "value": "8"},
                {"asset": str(self.chain.duty), "value": "100"}],
                key=lambda b: UInt256.from_string(b["asset"]))})
        nobody = address_from_script_hash(ISSUER.script_hash)
        self.assertEqual(self.call("getaccountstate", nobody)["balances"], [])
        self.assert_error(-32602, "getaccountstate", "AXXX")
        self.assert_error(-32602, "getaccountstate", 5)

    def test_getassetstate(self) -> None:
        token = self.call("getassetstate", str(self.chain.token))
        state = self.ledger.get_asset(self.chain.token)
        assert state is not None
        self.assertEqual(token, {
            "version": 0, "id": str(self.chain.token), "type": "Token", "name": "Token",
            "amount": "1000", "available": "0", "precision": 2,
            "owner": ISSUER.public_key.encode().hex(),
            "admin": address_from_script_hash(ISSUER.script_hash),
            "issuer": address_from_script_hash(state.issuer),
            "expiration": state.expiration, "frozen": False})
        neo = self.call("getassetstate", str(NEO_ASSET_ID))
        self.assertEqual((neo["type"], neo["amount"], neo["precision"], neo["owner"]),
                         ("GoverningToken", "100000000", 0, "00"))
        self.assertEqual(neo["name"][0], {"lang": "zh-CN", "name": "小蚁股"})
        duty = self.call("getassetstate", str(self.chain.duty))
        self.assertEqual((duty["type"], duty["amount"], duty["available"]),
                         ("Share", "-0.00000001", "100"))
        self.assert_error(-100, "getassetstate", UNKNOWN_HASH, message="Unknown asset")
        self.assert_error(-32602, "getassetstate", "0x00")

    def test_validateaddress(self) -> None:
        good = address_from_script_hash(PAYEE.script_hash)
        self.assertEqual(self.call("validateaddress", good), {"address": good, "isvalid": True})
        other_version = address_from_script_hash(PAYEE.script_hash, 0)
        for bad in (other_version, good[:-1] + ("a" if good[-1] != "a" else "b"), "", "0OIl"):
            self.assertEqual(self.call("validateaddress", bad), {"address": bad,
                                                                 "isvalid": False})
        self.assert_error(-32602, "validateaddress")
        self.assert_error(-32602, "validateaddress", [good])


class RelayMethodTests(MethodsTestCase):
    def test_sendrawtransaction(self) -> None:
        tx = self.gas_payment()
        self.assertEqual(self.call("getrawmempool"), [])
        self.assertIs(self.call("sendrawtransaction", tx.to_bytes().hex()), True)
        self.assertEqual(self.call("getrawmempool"), [str(tx.hash)])
        self.assertEqual(self.call("getrawmempool", True),
                         {"height": TIP, "verified": [str(tx.hash)], "unverified": []})
        self.assert_error(-501, "sendrawtransaction", tx.to_bytes().hex(),
                          message="Block or transaction already exists and cannot be sent "
                                 "repeatedly.", data="is in the pool")

    def test_sendrawtransaction_refused(self) -> None:
        tx = self.gas_payment()
        self.call("sendrawtransaction", tx.to_bytes().hex())
        rival = self.gas_payment(ONE)
        self.assert_error(-504, "sendrawtransaction", rival.to_bytes().hex(),
                          message="Block or transaction validation failed.", data="already spent")
        unsigned = attrs.evolve(self.gas_payment(ONE, coin=1), witnesses=())
        self.assert_error(-504, "sendrawtransaction", unsigned.to_bytes().hex(),
                          data="1 script hashes must sign")
        confirmed = self.chain.blocks[7].transactions[1]
        self.assert_error(-501, "sendrawtransaction", confirmed.to_bytes().hex(),
                          data="already in a block")
        self.assertEqual(self.call("getrawmempool"), [str(tx.hash)])

    def test_sendrawtransaction_malformed(self) -> None:
        raw = self.gas_payment().to_bytes().hex()
        self.assert_error(-32602, "sendrawtransaction", raw[:-2], data="does not decode")
        self.assert_error(-32602, "sendrawtransaction", raw + "00", data="does not decode")
        self.assert_error(-32602, "sendrawtransaction", "zz", data="is not hex")
        self.assert_error(-32602, "sendrawtransaction", 12)
        self.assert_error(-32602, "sendrawtransaction")

    def test_submitblock(self) -> None:
        tx = self.gas_payment()
        self.call("sendrawtransaction", tx.to_bytes().hex())
        block = make_block(self.ledger.header_tip, [tx])
        self.assertIs(self.call("submitblock", block.to_bytes().hex()), True)
        self.assertEqual(self.call("getblockcount"), TIP + 2)
        self.assertEqual(self.call("getrawmempool"), [])
        self.assert_error(-501, "submitblock", block.to_bytes().hex())

    def test_submitblock_refused(self) -> None:
        unsigned = make_block(self.ledger.header_tip, sign=False)
        error = self.error("submitblock", unsigned.to_bytes().hex())
        self.assertIn(error.code, (-503, -504))
        self.assertTrue(error.data)
        self.assertEqual(self.call("getblockcount"), TIP + 1)
        self.assert_error(-32602, "submitblock", "00")


class NodeMethodTests(MethodsTestCase):
    def test_getversion(self) -> None:
        self.assertEqual(self.call("getversion"),
                         {"port": 0, "nonce": 1234, "useragent": "/neo_twisted:test/"})

    def test_getconsensusstate_of_a_relay(self) -> None:
        """
        A node that is no validator shows the height being agreed and the payloads
        it relayed for it.
        """
        tip = self.ledger.get_header(TIP)
        assert tip is not None
        payload = signed_payload(1, ChangeView(view_number=0, new_view_number=1),
                                 block_index=TIP + 1, prev_hash=tip.hash)
        self.assertIsNone(self.node.consensus.problem(payload))
        self.node.consensus.send_own(payload)
        self.assertEqual(self.call("getconsensusstate"), {
            "validator": False, "height": TIP + 1,
            "seen": [{"validator": 1, "type": "ChangeView", "view": 0, "newview": 1}]})

    def test_getconsensusstate_of_a_validator(self) -> None:
        consensus = ConsensusService(self.node, DEV_KEYS[2], self.clock)
        consensus.startService()
        self.addCleanup(consensus.stopService)
        methods = NodeRpc(self.ledger_service, self.node, self.mempool, PRIVNET, self.clock,
                          consensus).methods()
        state = json_object(
            self.successResultOf(defer.maybeDeferred(methods["getconsensusstate"], [])))
        self.assertEqual({k: state[k] for k in ("validator", "index", "height", "view",
                                                 "primary", "state", "signatures", "needed")},
                         {"validator": True, "index": 2, "height": TIP + 1, "view": 0,
                          "primary": (TIP + 1) % 4, "state": ["backup"], "signatures": 0,
                          "needed": 3})
        self.assertEqual(state["timeoutin"], 30.0)
        self.assertEqual(state["seen"], [])

    def test_getnodestate(self) -> None:
        """
        Heights, the best height claimed, peers with their heights and user agents,
        and the pool, in one call (what C{neonode status} shows).
        """
        from tests.support.p2p_fakes import FakePeer
        ahead = FakePeer("10.0.0.9", height=TIP + 50, port=20444, nonce=2)
        behind = FakePeer("10.0.0.3", height=1, inbound=True, nonce=3)
        for peer in (ahead, behind):
            self.node.controller.peer_established(peer)
        self.call("sendrawtransaction", self.gas_payment().to_bytes().hex())
        state = self.call("getnodestate")
        self.assertEqual(state["peers"], [
            {"address": "10.0.0.3", "port": 40003, "listenport": 20333, "direction": "in",
             "height": 1, "useragent": "/fake/"},
            {"address": "10.0.0.9", "port": 40002, "listenport": 20444, "direction": "out",
             "height": TIP + 50, "useragent": "/fake/"},
        ])
        del state["peers"]
        self.assertEqual(state, {
            "useragent": "/neo_twisted:test/", "blockheight": TIP, "headerheight": TIP,
            "targetheight": TIP + 50, "syncing": self.node.syncing, "blockspersecond": 0.0,
            "mempool": {"verified": 1, "verifying": 0, "capacity": 50_000},
            "validator": False})

    def test_getpeers_and_count(self) -> None:
        self.book.add([Endpoint("10.0.0.1", 20333), Endpoint("10.0.0.2", 20334)], 0.0)
        self.assertEqual(self.call("getconnectioncount"), 0)
        peers = self.call("getpeers")
        self.assertEqual(peers["bad"], [])
        self.assertEqual(peers["connected"], [])
        self.assertEqual(sorted(peers["unconnected"], key=lambda p: p["port"]),
                         [{"address": "10.0.0.1", "port": 20333},
                          {"address": "10.0.0.2", "port": 20334}])

    def test_setban_and_listbanned(self) -> None:
        """
        The operator's bans: added for a while or for good, listed, in getpeers' "bad",
        lifted; a discouragement from the fault table is listed and lifted alike.
        """
        self.assertIs(self.call("setban", "203.0.113.5", "add", 60), True)
        self.assertIs(self.call("setban", "::ffff:203.0.113.6", "add"), True)
        discipline = self.node.connections.discipline
        discipline.judged("203.0.113.7", Fault.BAD_HEADER_WITNESS, self.clock.seconds())
        now = int(self.clock.seconds())
        self.assertEqual(self.call("listbanned"), [
            {"address": "203.0.113.5", "until": now + 60, "kind": "ban"},
            {"address": "203.0.113.6", "until": None, "kind": "ban"},
            {"address": "203.0.113.7", "until": now + int(discipline.discourage_for),
             "kind": "discourage"}])
        self.assertEqual([p["address"] for p in self.call("getpeers")["bad"]],
                         ["203.0.113.5", "203.0.113.6"])
        self.assertIs(self.call("setban", "203.0.113.7", "remove"), True)
        self.assertIs(self.call("setban", "203.0.113.7", "remove"), False)
        self.clock.advance(61)
        self.assertEqual([b["address"] for b in self.call("listbanned")], ["203.0.113.6"])

    def test_setban_bad_params(self) -> None:
        for bad in ([], ["203.0.113.5"], ["nowhere", "add"], ["203.0.113.5", "drop"],
                    ["203.0.113.5", "add", 0], ["203.0.113.5", "add", "60"],
                    ["203.0.113.5", "add", True], [5, "add"]):
            self.assert_error(-32602, "setban", *bad)
