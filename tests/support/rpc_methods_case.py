"""
A test case holding every JSON-RPC method of a node over the mempool samples' chain.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import GAS_ASSET_ID, ContractTransaction
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.service import LedgerService
from neo_twisted.mempool.service import MempoolService
from neo_twisted.node.policy import Node
from neo_twisted.offreactor import Synchronous
from neo_twisted.p2p.addresses import AddressBook
from neo_twisted.p2p.connections import ConnectionService
from neo_twisted.p2p.controller import PeerController
from neo_twisted.rpc.errors import RpcError
from neo_twisted.rpc.methods import NodeRpc
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.support.ledger_samples import PRIVNET
from tests.support.mempool_samples import GAS_KEY, PAYEE, sample_chain, signed

ONE = FIXED8_ONE
TIP = 8
UNKNOWN_HASH = "0x" + "42" * 32


class MethodsTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.chain = sample_chain()
        self.ledger_service = LedgerService(self.mktemp(), PRIVNET, off_reactor=Synchronous)
        self.ledger_service.startService()
        self.addCleanup(self.ledger_service.stopService)
        assert self.ledger_service.ledger is not None
        self.ledger: Ledger = self.ledger_service.ledger
        self.ledger.add_blocks(self.chain.blocks)
        self.assertEqual(self.ledger.block_height, TIP)
        self.mempool = MempoolService(self.ledger_service, PRIVNET, off_reactor=Synchronous)
        self.mempool.startService()
        self.addCleanup(self.mempool.stopService)
        self.clock = MemoryReactorClock()
        self.book = AddressBook()
        controller = PeerController(self.clock)
        connections = ConnectionService(
            controller, object(), reactor=self.clock,  # type: ignore[arg-type]
            book=self.book)
        self.node = Node(self.ledger_service, self.clock, controller, connections,
                         user_agent="/neo_twisted:test/", nonce=1234, mempool=self.mempool)
        self.methods = NodeRpc(self.ledger_service, self.node, self.mempool, PRIVNET,
                               self.clock).methods()

    def call(self, method: str, *params: Any) -> Any:
        d = defer.maybeDeferred(self.methods[method], list(params))
        self.clock.advance(0)  # transactions are handed to the pool a turn later
        return self.successResultOf(d)

    def error(self, method: str, *params: Any) -> RpcError:
        d = defer.maybeDeferred(self.methods[method], list(params))
        self.clock.advance(0)
        error = self.failureResultOf(d, RpcError).value
        assert isinstance(error, RpcError)
        return error

    def assert_error(self, code: int, method: str, *params: Any, message: str | None = None,
                     data: str | None = None) -> RpcError:
        error = self.error(method, *params)
        self.assertEqual(error.code, code)
        if message is not None:
            self.assertEqual(error.message, message)
        if data is not None:
            self.assertIn(data, error.data)
        return error

    def gas_payment(self, fee: int = ONE // 2, coin: int = 0) -> Transaction:
        tx = ContractTransaction(inputs=(self.chain.gas[coin],), outputs=(
            TransactionOutput(GAS_ASSET_ID, 2 * ONE - fee, PAYEE.script_hash),))
        return signed(tx, [GAS_KEY])
