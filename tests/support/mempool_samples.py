"""
A small privnet chain with something of every kind for the mempool rules to check.

Blocks 1-6 come from the chain generator (NEO moving between its accounts). Block 7
claims the GAS of the genesis NEO (spent in block 1) as four 2-GAS outputs of
L{GAS_KEY}, and registers two assets: L{token} (a Token, 1000 units, 2 decimals,
issued by L{ISSUER}) and L{duty} (a Share, which has the duty flag: receiving it
needs the receiver's signature). Block 8 spends one generator coin (so it becomes
claimable, over a span that includes block 7's 10,000-GAS registration fee) and
issues 100 L{duty} to L{GAS_KEY}.

Signing is deterministic, so the blocks are built once per test run.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import attrs

from neo_twisted.core.block import Block
from neo_twisted.core.components import CoinReference, TransactionOutput
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    AssetType,
    ClaimTransaction,
    IssueTransaction,
    RegisterTransaction,
)
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.crypto.scripts import multisig_redeem_script
from neo_twisted.ledger.chain import Ledger, Verdict
from neo_twisted.ledger.generator import ChainGenerator, account_keys, signed_transfer
from neo_twisted.wire.fixed8 import FIXED8_ONE
from neo_twisted.wire.uint import UInt256
from tests.support.ledger_samples import (
    DEV_KEYS,
    PRIVNET,
    PRIVNET_GENESIS,
    make_block,
    multisig_witness,
)

GAS_KEY, ISSUER, PAYEE = account_keys(77, 3)
#: The genesis NEO's owner: a majority multisig of the validators.
HOLDER_SCRIPT = multisig_redeem_script(len(DEV_KEYS) // 2 + 1, [k.public_key for k in DEV_KEYS])
HOLDER_KEYS = DEV_KEYS[: len(DEV_KEYS) // 2 + 1]
GENERATED = 6
#: The registration fees paid in block 7 (two assets).
REGISTER_FEES = 2 * PRIVNET.system_fees["RegisterTransaction"]


def signed(tx: Transaction, keys: Sequence[KeyPair] = (), *,
           multisig: tuple[bytes, Sequence[KeyPair]] | None = None) -> Transaction:
    """
    C{tx} with one single-signature witness per key, in script-hash order (or one multisig).
    """
    message = tx.unsigned_bytes()
    if multisig is not None:
        script, signers = multisig
        return attrs.evolve(tx, witnesses=(multisig_witness(message, signers, script),))
    witnesses = [multisig_witness(message, [key], key.verification_script)
                 for key in sorted(keys, key=lambda k: k.script_hash)]
    return attrs.evolve(tx, witnesses=tuple(witnesses))


@attrs.frozen
class SampleChain:
    """
    The blocks, and the handles the tests need on them.

    @ivar coins: confirmed unspent NEO of generator accounts: (where, value, key).
    @ivar gas: L{GAS_KEY}'s four 2-GAS outputs.
    @ivar claimable: the NEO output block 8 spent, with (start, end) heights.
    @ivar spender: the key that owned L{claimable}.
    @ivar duty_coin: L{GAS_KEY}'s 100 L{duty}.
    """

    blocks: tuple[Block, ...]
    coins: tuple[tuple[CoinReference, int, KeyPair], ...]
    gas: tuple[CoinReference, ...]
    token: UInt256
    duty: UInt256
    claimable: CoinReference
    claimable_value: int
    claimable_span: tuple[int, int]
    spender: KeyPair
    duty_coin: CoinReference
    genesis_claim: CoinReference

    def open_ledger(self, datadir: str | Path) -> Ledger:
        ledger = Ledger.open(datadir, PRIVNET)
        results = ledger.add_blocks(self.blocks)
        assert all(r.verdict is Verdict.ACCEPTED for r in results), results
        return ledger


def _created_at(blocks: Sequence[Block], txid: bytes) -> int:
    return next(b.index for b in blocks for tx in b.transactions if tx.hash == txid)


@functools.cache
def sample_chain() -> SampleChain:
    generator = ChainGenerator(PRIVNET, DEV_KEYS, 2, seed=5)
    blocks = [generator.next_block() for _ in range(GENERATED)]
    genesis_issue = PRIVNET_GENESIS.transactions[3]
    genesis_claim = CoinReference(genesis_issue.hash, 0)
    claim = signed(ClaimTransaction(
        claims=(genesis_claim,),
        outputs=tuple(TransactionOutput(GAS_ASSET_ID, 2 * FIXED8_ONE, GAS_KEY.script_hash)
                      for _ in range(4))), multisig=(HOLDER_SCRIPT, HOLDER_KEYS))
    token = RegisterTransaction(asset_type=AssetType.Token, name="Token", amount=1000 * FIXED8_ONE,
                                precision=2, owner=ISSUER.public_key, admin=ISSUER.script_hash)
    duty = RegisterTransaction(asset_type=AssetType.Share, name="Share", amount=-1,  # no limit
                               precision=0, owner=ISSUER.public_key, admin=ISSUER.script_hash)
    blocks.append(make_block(blocks[-1].header, [claim, token, duty]))
    coins = generator.coins()
    (spent, value, key), rest = coins[0], coins[1:]
    spend = signed_transfer([spent], [TransactionOutput(NEO_ASSET_ID, value, PAYEE.script_hash)],
                            [key])
    issue = signed(IssueTransaction(version=1, outputs=(
        TransactionOutput(duty.hash, 100 * FIXED8_ONE, GAS_KEY.script_hash),)), [ISSUER])
    blocks.append(make_block(blocks[-1].header, [spend, issue]))
    return SampleChain(
        blocks=tuple(blocks), coins=tuple(rest),
        gas=tuple(CoinReference(claim.hash, i) for i in range(4)),
        token=token.hash, duty=duty.hash, claimable=spent, claimable_value=value,
        claimable_span=(_created_at(blocks, spent.prev_hash), blocks[-1].index), spender=key,
        duty_coin=CoinReference(issue.hash, 0), genesis_claim=genesis_claim)
