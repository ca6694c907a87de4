# -*- test-case-name: tests.integration.test_cli_localnet -*-
"""
The local network's election (C{neonode localnet --elect}): a fifth validator
voted in while the network runs.

The generated chain registers the candidate (C{makechain --register}); the late
node runs with the candidate's key, relaying until it is elected. Once the demo
is done, one of the generated accounts that holds NEO votes, by
C{sendrawtransaction}, for the four standby validators and the candidate: the
weighted count becomes 5 (2.11's formula), so the block holding the vote names
the five as the next validators. Then every node's C{getvalidators} shows the
candidate active, and the candidate's own C{getconsensusstate} shows it
proposing in its turn while blocks keep coming.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from neo_twisted.cli.demo import find_coin
from neo_twisted.cli.rpcclient import RpcClient, RpcFailedError
from neo_twisted.core.components import Witness
from neo_twisted.core.transactions import STATE_ACCOUNT, StateDescriptor, StateTransaction
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.crypto.scripts import push_data
from neo_twisted.ledger.votes import vote_value
from neo_twisted.wire.ecpoint import ECPoint

__all__ = ["ElectionWatch", "vote_transaction"]


def vote_transaction(rpc: RpcClient, accounts: list[KeyPair], keys: Sequence[ECPoint]
                     ) -> StateTransaction | None:
    """
    A vote for C{keys} by the generated account that holds the latest unspent coin
    (so it holds NEO), signed by it; None when no account holds any.
    """
    found = find_coin(rpc, accounts)
    if found is None:
        return None
    voter = accounts[found[2]]
    unsigned = StateTransaction(descriptors=(StateDescriptor(
        STATE_ACCOUNT, bytes(voter.script_hash), "Votes", vote_value(keys)),))
    witness = Witness(invocation_script=push_data(voter.sign(unsigned.unsigned_bytes())),
                      verification_script=voter.verification_script)
    return attrs.evolve(unsigned, witnesses=(witness,))


@attrs.define
class ElectionWatch:
    """
    How far the election has come: elected on every node (at which height), then
    the candidate proposing a block of its own.
    """

    candidate: ECPoint
    txid: str
    elected_at: int | None = None
    proposed: int | None = None

    def voted_in(self, rpc: RpcClient) -> int | None:
        """
        The height of the block holding the vote, as the node knows it, or None yet.
        """
        try:
            found = rpc.call("getrawtransaction", self.txid, 1)
            if not isinstance(found, dict) or not found.get("blockhash"):
                return None
            return int(rpc.call("getblockheader", found["blockhash"], 1)["index"])
        except RpcFailedError:
            return None

    def active_on(self, rpc: RpcClient) -> bool:
        """
        Whether the node's C{getvalidators} lists the candidate as a validator of the
        next block.
        """
        try:
            listed = rpc.call("getvalidators")
        except RpcFailedError:
            return False
        key = self.candidate.encode().hex()
        return any(entry.get("publickey") == key and entry.get("active")
                   for entry in listed or [] if isinstance(entry, dict))

    def proposed_by(self, rpc: RpcClient) -> int | None:
        """
        A block after the election whose round the candidate led (its own
        C{getconsensusstate}), or None yet.
        """
        if self.elected_at is None:
            return None
        try:
            state = rpc.call("getconsensusstate")
        except RpcFailedError:
            return None
        if not isinstance(state, dict) or not state.get("validator"):
            return None
        mine = state.get("index")
        for finished in state.get("recent") or []:
            if (finished.get("primary") == mine and finished.get("height", 0) > self.elected_at
                    and finished.get("view") == 0):
                return int(finished["height"])
        return None
