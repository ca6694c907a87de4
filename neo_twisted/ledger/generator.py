# -*- test-case-name: tests.unit.test_ledger_generator -*-
"""
A deterministic generator of valid chains, to test import, persistence and sync
without a network or a recorded chain.

From the genesis block of a network whose validator keys are known (the bundled
privnet's development keys), every block is signed by the validators and holds a
MinerTransaction and exactly K ContractTransactions moving NEO between generated
single-signature accounts. Each transfer spends only outputs confirmed in earlier
blocks, never one twice, balances exactly and is really signed, so a node must
accept every block and every transaction. Everything follows from the seed:
the same seed gives the same bytes, which keeps failures reproducible.

Block 1 can spend only the genesis NEO, so the first transfers fan it out to many
accounts. Until enough outputs are confirmed, the remaining transfers of a block
have no inputs: they carry a Script attribute naming an account, whose witness
they then need, and a Remark that keeps their hashes distinct.

With an L{ElectionPlan}, a candidate key is registered and voted in
(L{neo_twisted.ledger.generator_votes}); each block then names in its
NextConsensus the validators elected after it, who sign the next block.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path

from neo_twisted.core.block import Block, Header
from neo_twisted.core.components import (
    AttributeUsage,
    CoinReference,
    TransactionAttribute,
    TransactionOutput,
    Witness,
)
from neo_twisted.core.merkle import merkle_root
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import NEO_ASSET_ID, ContractTransaction, MinerTransaction
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.crypto.scripts import (
    bft_threshold,
    consensus_address,
    multisig_redeem_script,
    script_hash,
)
from neo_twisted.ledger.generator_votes import ElectionPlan, VoteKeeper
from neo_twisted.ledger.genesis import GENESIS_NONCE, genesis_block
from neo_twisted.ledger.settings import ConfigError, ProtocolSettings
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.fixed8 import FIXED8_ONE
from neo_twisted.wire.uint import UInt160

#: How many single-signature accounts hold the NEO, unless told otherwise.
DEFAULT_ACCOUNTS = 32
#: Outputs of one fan-out transaction: 60 bytes each keeps it far below 102,400 bytes.
MAX_FANOUT = 1000
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_MAX_UINT32 = 0xFFFFFFFF
_PUSH_SIGNATURE = b"\x40"
_SCRIPT = int(AttributeUsage.Script)
_REMARK = int(AttributeUsage.Remark)
_REMARK_DATA = struct.Struct(">QI")


def load_dev_keys(path: str | Path, settings: ProtocolSettings | None = None) -> list[KeyPair]:
    """
    The validator keys of a C{devkeys/*.json} file, in file order.

    Each WIF must match the public key listed beside it and, when C{settings} are
    given, the keys must be exactly its standby validators (and the file's
    C{network_magic}, if any, its magic): signing blocks with the wrong keys would
    only produce a chain every node rejects. Problems raise L{ConfigError}.
    """
    source = str(path)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{source}: cannot read: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{source}: not a JSON document: {e}") from None
    entries = document.get("validators") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: validators: must be a non-empty list of "
                          "{public_key, wif} objects")
    keys: list[KeyPair] = []
    for i, entry in enumerate(entries):
        where = f"{source}: validators[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("wif"), str) \
                or not isinstance(entry.get("public_key"), str):
            raise ConfigError(f"{where}: must hold the strings public_key and wif")
        try:
            pair = KeyPair.from_wif(entry["wif"])
        except ValueError as e:
            raise ConfigError(f"{where}: wif: {e}") from None
        if pair.public_key.encode().hex() != entry["public_key"].lower():
            raise ConfigError(f"{where}: the wif is the key of {pair.public_key}, "
                              f"not of {entry['public_key']}")
        keys.append(pair)
    publics = [pair.public_key for pair in keys]
    if len(set(publics)) != len(publics):
        raise ConfigError(f"{source}: validators: lists a key twice")
    if settings is not None:
        if set(publics) != set(settings.standby_validators):
            raise ConfigError(f"{source}: the keys are not the standby validators of the "
                              "protocol settings")
        magic = document.get("network_magic")
        if magic is not None and magic != settings.magic:
            raise ConfigError(f"{source}: network_magic {magic!r} is not the protocol "
                              f"magic {settings.magic}")
    return keys


def account_keys(seed: int, count: int) -> list[KeyPair]:
    """
    C{count} private keys that follow from C{seed} alone (test accounts: they protect nothing).
    """
    keys = []
    for i in range(count):
        digest = hashlib.sha256(f"neo-twisted generator {seed} {i}".encode()).digest()
        secret = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
        keys.append(KeyPair(secret.to_bytes(32, "big")))
    return keys


class _Signer:
    """
    A contract the generator can sign for: its script, and the keys whose
    signatures its invocation pushes, in the order the script wants them.
    """

    __slots__ = ("keys", "script_hash", "verification")

    def __init__(self, verification: bytes, keys: Sequence[KeyPair]) -> None:
        self.verification = verification
        self.script_hash = script_hash(verification)
        self.keys = tuple(keys)

    def witness(self, message: bytes, keys: Sequence[KeyPair] | None = None) -> Witness:
        signing = self.keys if keys is None else keys
        invocation = b"".join(_PUSH_SIGNATURE + key.sign(message) for key in signing)
        return Witness(invocation, self.verification)


#: An unspent output: where it is, its raw value, and who can spend it.
_Coin = tuple[CoinReference, int, _Signer]


class ChainGenerator:
    """
    Produces the blocks after genesis one by one; see L{generate_chain}.

    @ivar genesis: the network's genesis block, which block 1 follows.
    @ivar accounts: the generated accounts that hold the NEO.
    @param election: register and vote in a candidate (L{generator_votes}); from
        then on the generator elects the validators of each block as a node does.
    """

    def __init__(self, settings: ProtocolSettings, validator_keys: Sequence[KeyPair],
                 txs_per_block: int, seed: int, start_timestamp: int | None = None,
                 accounts: int = DEFAULT_ACCOUNTS, *,
                 election: ElectionPlan | None = None) -> None:
        validators = settings.standby_validators
        by_key = {pair.public_key: pair for pair in validator_keys}
        if set(by_key) != set(validators) or len(validator_keys) != len(validators):
            raise ValueError("the validator keys must be exactly the standby validators")
        if txs_per_block < 0 or accounts < 1:
            raise ValueError("txs_per_block must be >= 0 and accounts >= 1")
        if election is not None and txs_per_block < 1:
            raise ValueError("an election needs NEO moving (txs_per_block >= 1): the votes "
                             "come from accounts holding NEO, the fee from GAS spent NEO earned")
        self.genesis = genesis_block(validators)
        self._k = txs_per_block
        self._rng = random.Random(seed)
        self._spacing = settings.seconds_per_block
        first = (self.genesis.header.timestamp + self._spacing if start_timestamp is None
                 else start_timestamp)
        if first <= self.genesis.header.timestamp:
            raise ValueError(f"block 1's timestamp {first} must come after genesis's "
                             f"{self.genesis.header.timestamp}")
        self._first_timestamp = first
        self._signing_keys = dict(by_key)
        self._elected: tuple[ECPoint, ...] = ()
        self._use_validators(tuple(sorted(validators)))
        ordered = self._validators
        n = len(ordered)
        holder = _Signer(multisig_redeem_script(n // 2 + 1, validators), ordered[: n // 2 + 1])
        issue = self.genesis.transactions[3]
        assert issue.outputs[0].script_hash == holder.script_hash
        self.accounts = account_keys(seed, accounts)
        self._keeper: VoteKeeper | None = None
        if election is not None:
            self._keeper = VoteKeeper(settings, self.genesis, election, self.accounts)
            self._signing_keys[election.candidate.public_key] = election.candidate
        self._signers = [_Signer(pair.verification_script, (pair,)) for pair in self.accounts]
        self._pool: list[_Coin] = [(CoinReference(issue.hash, 0), issue.outputs[0].value, holder)]
        self._target = 4 * txs_per_block + 8  # confirmed outputs to keep at hand
        self._nonces = {GENESIS_NONCE}
        self._prev = self.genesis.header
        self._remarks = 0

    # -- blocks ---------------------------------------------------------------------------

    def next_block(self) -> Block:
        """
        The block after the last one produced (block 1 first).
        """
        index = self._prev.index + 1
        timestamp = self._first_timestamp + (index - 1) * self._spacing
        if timestamp > _MAX_UINT32:
            raise ValueError(f"block {index}'s timestamp {timestamp} overflows uint32")
        rng = self._rng
        consensus_data = rng.getrandbits(64)
        while consensus_data & _MAX_UINT32 in self._nonces:  # equal nonces, equal miner txids
            consensus_data = rng.getrandbits(64)
        self._nonces.add(consensus_data & _MAX_UINT32)
        transactions: list[Transaction] = [MinerTransaction(nonce=consensus_data & _MAX_UINT32)]
        transactions += self._transfers()
        keeper = self._keeper
        next_validators = self._elected
        next_consensus = self._next_consensus
        if keeper is not None:
            transactions += keeper.transactions(index)
            next_validators = keeper.apply(index, transactions)
            if next_validators != self._elected:
                next_consensus = consensus_address(next_validators)
        root = merkle_root([tx.hash for tx in transactions])

        def header(witness: Witness) -> Header:
            return Header(prev_hash=self._prev.hash, merkle_root=root, timestamp=timestamp,
                          index=index, consensus_data=consensus_data,
                          next_consensus=next_consensus, witness=witness)

        unsigned = header(Witness()).unsigned_bytes()
        # any M validators will do; they sign in the order of their keys in the script
        signing = sorted(rng.sample(range(len(self._validators)),
                                    bft_threshold(len(self._validators))))
        signed = header(self._consensus.witness(unsigned, [self._validators[i] for i in signing]))
        signed.set_hash_from(unsigned)
        self._prev = signed
        self._use_validators(next_validators)  # they sign the next block
        return Block(signed, tuple(transactions))

    def _use_validators(self, validators: tuple[ECPoint, ...]) -> None:
        """
        Sign from now on with C{validators} (sorted: the order of their keys in the script).
        """
        if validators == self._elected:
            return
        ordered = [self._signing_keys[point] for point in validators]
        self._elected = validators
        self._validators = ordered
        self._consensus = _Signer(multisig_redeem_script(bft_threshold(len(ordered)),
                                                         validators), ordered)
        self._next_consensus: UInt160 = self._consensus.script_hash

    def coins(self) -> list[tuple[CoinReference, int, KeyPair]]:
        """
        The confirmed, unspent outputs of the blocks produced so far that one generated
        account can spend: (where, raw value, its key). Spending them in transactions
        of one's own (L{signed_transfer}) gives valid transactions for a mempool.
        """
        return [(ref, value, signer.keys[0]) for ref, value, signer in self._pool
                if len(signer.keys) == 1 and signer.verification == signer.keys[0]
                .verification_script]

    # -- transfers ------------------------------------------------------------------------

    def _transfers(self) -> list[Transaction]:
        """
        The block's K transfers; their outputs become spendable in the next block.
        """
        pool = self._pool
        spending = min(self._k, len(pool))
        fanning = len(pool) < self._target
        crowded = len(pool) > 4 * self._target
        created: list[_Coin] = []
        transactions: list[Transaction] = []
        rng = self._rng
        for i in range(spending):
            coins = [self._take()]
            spare = len(pool) - (spending - i - 1)
            if spare > 0 and rng.random() < (0.9 if crowded else 0.25):
                coins.append(self._take())
            if fanning:
                parts = min(MAX_FANOUT, max(2, math.ceil(2 * self._target / spending)))
            else:
                parts = 1 if crowded or rng.random() < 0.2 else 2
            transactions.append(self._transfer(coins, parts, created))
        transactions.extend(self._remark() for _ in range(self._k - spending))
        pool.extend(created)
        return transactions

    def _take(self) -> _Coin:
        """
        Remove a random confirmed output from the pool (swap with the last: O(1)).
        """
        pool = self._pool
        i = self._rng.randrange(len(pool))
        coin = pool[i]
        pool[i] = pool[-1]
        pool.pop()
        return coin

    def _transfer(self, coins: list[_Coin], parts: int, created: list[_Coin]) -> Transaction:
        """
        Spend C{coins} into at most C{parts} outputs, in whole NEO (its precision is 0).

        Two parts are a payment and the change back to the first owner; more are a
        fan-out to random accounts.
        """
        rng = self._rng
        total = sum(coin[1] for coin in coins) // FIXED8_ONE
        parts = min(parts, total)
        signers = self._signers
        if parts == 1:
            amounts, owners = [total], [rng.choice(signers)]
        elif parts == 2:
            paid = rng.randint(1, total - 1)
            amounts, owners = [paid, total - paid], [rng.choice(signers), coins[0][2]]
        else:
            cuts = sorted(rng.sample(range(1, total), parts - 1))
            amounts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
            owners = [rng.choice(signers) for _ in amounts]
        inputs = tuple(coin[0] for coin in coins)
        outputs = tuple(TransactionOutput(NEO_ASSET_ID, amount * FIXED8_ONE, owner.script_hash)
                        for amount, owner in zip(amounts, owners, strict=True))
        unique = {coin[2].script_hash: coin[2] for coin in coins}
        tx = self._signed(inputs=inputs, outputs=outputs,
                          signers=[unique[h] for h in sorted(unique)])
        created.extend((CoinReference(tx.hash, i), output.value, owner)
                       for i, (output, owner) in enumerate(zip(outputs, owners, strict=True)))
        return tx

    def _remark(self) -> Transaction:
        """
        A transfer of nothing, signed by a random account named in a Script attribute.
        """
        signer = self._rng.choice(self._signers)
        self._remarks += 1
        remark = _REMARK_DATA.pack(self._remarks, self._rng.getrandbits(32))
        attributes = (TransactionAttribute(_SCRIPT, signer.script_hash),
                      TransactionAttribute(_REMARK, remark))
        return self._signed(attributes=attributes, signers=[signer])

    @staticmethod
    def _signed(signers: Sequence[_Signer], attributes: tuple[TransactionAttribute, ...] = (),
                inputs: tuple[CoinReference, ...] = (),
                outputs: tuple[TransactionOutput, ...] = ()) -> Transaction:
        """
        A ContractTransaction with one witness per signer (given in script-hash order).
        """
        unsigned = ContractTransaction(attributes=attributes, inputs=inputs,
                                       outputs=outputs).unsigned_bytes()
        tx = ContractTransaction(attributes=attributes, inputs=inputs, outputs=outputs,
                                 witnesses=tuple(s.witness(unsigned) for s in signers))
        tx.set_hash_from(unsigned)
        return tx


def generate_chain(settings: ProtocolSettings, validator_keys: Sequence[KeyPair], blocks: int,
                   txs_per_block: int, seed: int, start_timestamp: int | None = None, *,
                   accounts: int = DEFAULT_ACCOUNTS,
                   election: ElectionPlan | None = None) -> Iterator[Block]:
    """
    Blocks 1 to C{blocks} of a valid chain after C{genesis_block(settings.standby_validators)}.

    @param validator_keys: the private keys of exactly the standby validators.
    @param txs_per_block: K, the ContractTransactions in every block (after the miner's).
    @param seed: everything random (consensus data, accounts, amounts) follows from it.
    @param start_timestamp: block 1's timestamp (later than genesis's); each next block
        comes C{settings.seconds_per_block} later. By default one interval after genesis.
    @param accounts: how many generated single-signature accounts hold the NEO.
    @param election: a candidate to register and vote in (L{ElectionPlan}); its
        height must be at most C{blocks} for the votes to be in the chain.
    """
    generator = ChainGenerator(settings, validator_keys, txs_per_block, seed, start_timestamp,
                               accounts, election=election)  # bad arguments fail at the call
    return (generator.next_block() for _ in range(blocks))


def signed_transfer(inputs: Sequence[CoinReference], outputs: Sequence[TransactionOutput],
                    keys: Sequence[KeyPair],
                    attributes: Sequence[TransactionAttribute] = ()) -> Transaction:
    """
    A ContractTransaction signed by single-signature accounts C{keys} (one witness each,
    in script-hash order, as verification wants them).
    """
    by_hash = {key.script_hash: _Signer(key.verification_script, (key,)) for key in keys}
    return ChainGenerator._signed(signers=[by_hash[h] for h in sorted(by_hash)],
                                  attributes=tuple(attributes), inputs=tuple(inputs),
                                  outputs=tuple(outputs))
