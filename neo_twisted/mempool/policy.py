# -*- test-case-name: tests.unit.test_mempool_policy -*-
"""
The pool and block policy of the reference's SimplePolicy plugin, as pure functions.

Consensus rules say what a valid block is; this says what a node lets into its
pool and what a validator puts in (or signs for) a block. Without it a peer
with no coins could fill blocks with free 100 KB transactions until one no
longer fits a P2P frame. The numbers are L{PolicySettings}; which transaction
is low priority (network fee below C{LowPriorityThreshold}) comes from the
protocol settings.

The block choice follows the plugin's C{FilterForBlock}: paying transactions by
fee per byte, then fee, then hash; then low-priority ones (high-priority types,
claims by default, are never counted as those) up to their own limit; and, ours,
no more transaction bytes than C{MaxBlockSize}.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from neo_twisted.core.transaction import Transaction
from neo_twisted.ledger.settings import PolicySettings, ProtocolSettings
from neo_twisted.wire.fixed8 import FIXED8_ONE

if TYPE_CHECKING:
    from neo_twisted.mempool.pool import PoolEntry


#: Each transaction class's type name (asked for every transaction, on the reactor).
_TYPE_NAMES: dict[type[Transaction], str] = {}


def is_high_priority(tx: Transaction, policy: PolicySettings) -> bool:
    """
    C{InHigherLowPriorityList}: a type exempt from the size rules.
    """
    name = _TYPE_NAMES.get(type(tx))
    if name is None:
        name = _TYPE_NAMES[type(tx)] = tx.type_name
    return name in policy.high_priority_types


def is_low_priority(tx: Transaction, network_fee: int, settings: ProtocolSettings) -> bool:
    """
    C{IsLowPriority}, except for the high-priority types: a network fee below the threshold.
    """
    return (network_fee < settings.low_priority_threshold
            and not is_high_priority(tx, settings.policy))


def size_problem(tx: Transaction, size: int, network_fee: int,
                 settings: ProtocolSettings) -> str | None:
    """
    C{VerifySizeLimits}: why C{tx} may not enter the pool for its size, or None.
    """
    policy = settings.policy
    limit = policy.max_free_transaction_size
    if size <= limit or is_high_priority(tx, policy):
        return None
    if network_fee < settings.low_priority_threshold:
        return (f"a low-priority transaction (network fee {network_fee / FIXED8_ONE} GAS, "
                f"below {settings.low_priority_threshold / FIXED8_ONE}) may take at most "
                f"{limit} bytes; this one takes {size}")
    needed = policy.fee_per_extra_byte * (size - limit)
    if network_fee < needed:
        return (f"a transaction of {size} bytes needs a network fee of at least "
                f"{needed / FIXED8_ONE} GAS ({policy.fee_per_extra_byte / FIXED8_ONE} per byte "
                f"past {limit}); it pays {network_fee / FIXED8_ONE}")
    return None


#: Bytes of the budget kept for the MinerTransaction (one output takes 70).
MINER_RESERVE = 128


def _order(policy: PolicySettings) -> Callable[[PoolEntry], tuple[int, int, int, int]]:
    """
    Best first: fee per byte, fee, high-priority types, then the lower hash.
    """
    def key(entry: PoolEntry) -> tuple[int, int, int, int]:
        return (-(entry.network_fee // entry.size), -entry.network_fee,
                0 if is_high_priority(entry.tx, policy) else 1,
                int.from_bytes(entry.tx.hash, "little"))
    return key


def select_for_block(entries: Iterable[PoolEntry], policy: PolicySettings) -> list[PoolEntry]:
    """
    C{FilterForBlock}: the pool entries a proposal takes, in the order it takes them.

    Room is kept for the MinerTransaction, which counts against
    C{max_transactions_per_block}; a transaction that would pass the byte budget is
    skipped (a smaller one after it may still fit).
    """
    paying: list[PoolEntry] = []
    free: list[PoolEntry] = []
    for entry in entries:
        (free if entry.low_priority else paying).append(entry)
    order = _order(policy)
    paying.sort(key=order)
    free.sort(key=order)
    room = policy.max_transactions_per_block - 1
    free_room = policy.max_free_transactions_per_block
    budget = policy.max_block_size - MINER_RESERVE
    chosen: list[PoolEntry] = []
    for group, is_free in ((paying, False), (free, True)):
        for entry in group:
            if len(chosen) >= room or (is_free and free_room <= 0):
                break
            if entry.size > budget:
                continue
            budget -= entry.size
            chosen.append(entry)
            if is_free:
                free_room -= 1
    return chosen


def block_problem(entries: Sequence[PoolEntry], miner_size: int,
                  policy: PolicySettings) -> str | None:
    """
    Why a backup should not sign a proposal of C{entries} (after the miner's), or None.
    """
    count = len(entries) + 1
    if count > policy.max_transactions_per_block:
        return (f"it holds {count} transactions, more than the policy's "
                f"{policy.max_transactions_per_block}")
    free = sum(1 for entry in entries if entry.low_priority)
    if free > policy.max_free_transactions_per_block:
        return (f"it holds {free} low-priority transactions, more than the policy's "
                f"{policy.max_free_transactions_per_block}")
    size = miner_size + sum(entry.size for entry in entries)
    if size > policy.max_block_size:
        return (f"its transactions take {size} bytes, more than the policy's "
                f"{policy.max_block_size}")
    return None
