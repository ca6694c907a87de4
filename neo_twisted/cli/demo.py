# -*- test-case-name: tests.integration.test_cli_localnet -*-
"""
The local network's demo transaction: found, signed and sent over JSON-RPC, then
followed into every node's pool and into a block.

The generated chain (C{makechain --seed 1}) pays its outputs to accounts whose
keys follow from the seed (L{account_keys}), so the demo can spend one: it looks
back from the tip for an unspent output of one of them (C{getblock} raw, then
C{gettxout}), and sends its whole value to the next account. The new output is
one of theirs again, so the next run finds one in a recent block.
"""

from __future__ import annotations

import attrs

from neo_twisted.cli.rpcclient import RpcClient, RpcFailedError
from neo_twisted.core.block import Block
from neo_twisted.core.components import CoinReference, TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.generator import DEFAULT_ACCOUNTS, account_keys, signed_transfer
from neo_twisted.wire.uint import UInt160

#: The C{makechain --seed} of the local network's chain.
CHAIN_SEED = 1
#: Blocks looked back through for a coin before giving up.
SEARCH_DEPTH = 5_000


def demo_accounts(seed: int = CHAIN_SEED) -> list[KeyPair]:
    return account_keys(seed, DEFAULT_ACCOUNTS)


def find_coin(rpc: RpcClient, accounts: list[KeyPair], depth: int = SEARCH_DEPTH,
              ) -> tuple[CoinReference, TransactionOutput, int] | None:
    """
    The latest unspent output held by one of C{accounts}, with that account's position.
    """
    owners: dict[UInt160, int] = {key.script_hash: i for i, key in enumerate(accounts)}
    tip = int(rpc.call("getblockcount")) - 1
    for index in range(tip, max(-1, tip - depth), -1):
        block = Block.from_bytes(bytes.fromhex(rpc.call("getblock", index, 0)))
        for tx in reversed(block.transactions):
            for n, output in enumerate(tx.outputs):
                owner = owners.get(output.script_hash)
                if owner is not None and rpc.call("gettxout", str(tx.hash), n) is not None:
                    return CoinReference(tx.hash, n), output, owner
    return None


def demo_transaction(coin: CoinReference, output: TransactionOutput, owner: int,
                     accounts: list[KeyPair]) -> Transaction:
    """
    The coin's whole value, to the next account (no fee: a small transaction is free).
    """
    payee = accounts[(owner + 1) % len(accounts)]
    return signed_transfer([coin], [TransactionOutput(output.asset_id, output.value,
                                                      payee.script_hash)], [accounts[owner]])


@attrs.define
class DemoWatch:
    """
    Where the demo transaction has been seen: in which pools, in which node's block.
    """

    txid: str
    sent_to: str
    pooled: set[str] = attrs.field(factory=set)
    confirmed: dict[str, int] = attrs.field(factory=dict)

    def look(self, name: str, rpc: RpcClient) -> None:
        """
        Ask one node whether it holds the transaction in its pool or in a block.
        """
        if name in self.confirmed:
            return
        if self.txid in (rpc.call("getrawmempool") or []):
            self.pooled.add(name)
            return
        try:
            found = rpc.call("getrawtransaction", self.txid, 1)
        except RpcFailedError:
            return  # not here yet
        if not isinstance(found, dict):
            return
        block_hash = found.get("blockhash")
        if found.get("confirmations") and block_hash:
            # the block's own index: counting back from getblockcount raced the next
            # block (a second apart on a fast privnet) and told two heights apart
            header = rpc.call("getblockheader", block_hash, 1)
            self.confirmed[name] = int(header["index"])
