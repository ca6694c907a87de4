# -*- test-case-name: tests.unit.test_ledger_election -*-
"""
C{GetValidators}: who validates the next block, from the votes (issue 22).

Pure functions over plain data; the vote state they read is kept by the ledger.
The arithmetic is the reference's operation by operation (neo2-validators.md
section 5): IEEE doubles where C# uses them, truncation where it casts to
C{long}, so that the same votes elect the same validators in every node.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import attrs

from neo_twisted.core.jsonify import JSON
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.fixed8 import format_fixed8

__all__ = ["Candidate", "elect", "enrollments", "validator_count", "weighted_average",
           "weighted_filter"]

#: The part of the voting stake whose wishes set the validator count (section 5.3).
FILTER_START, FILTER_END = 0.25, 0.75


@attrs.frozen
class Candidate:
    """
    One stored validator state: its key, whether it registered, its votes (raw Fixed8).
    """

    public_key: ECPoint
    registered: bool
    votes: int


def weighted_filter(items: Sequence[tuple[int, int]], start: float = FILTER_START,
                    end: float = FILTER_END) -> list[tuple[int, int]]:
    """
    C{Helper.WeightedFilter}: of (value, weight) pairs in ascending order, the part whose
    cumulated weight lies between C{start} and C{end} of the total, the weights at the
    edges cut to what lies inside, truncated as C#'s C{(long)} cast does.
    """
    if not items or start == end:
        return []
    amount = float(sum(weight for _, weight in items))  # C#: a long sum, then a double
    running = 0
    current = 0.0
    kept: list[tuple[int, int]] = []
    for value, weight in items:
        if current >= end:
            break
        running += weight
        old = current
        current = float(running) / amount  # the int -> double rounding where C# does it
        if current <= start:
            continue
        if old < start:
            weight = int(((end if current > end else current) - start) * amount)
        elif current > end:
            weight = int((end - old) * amount)
        kept.append((value, weight))
    return kept


def weighted_average(items: Iterable[tuple[int, int]]) -> int:
    """
    C{Helper.WeightedAverage}: the weighted mean of the values, by long division; 0
    when the weighted values sum to 0 (not only when the list is empty).
    """
    total_weight = total_value = 0
    for value, weight in items:
        total_weight += weight
        total_value += value * weight
    return 0 if total_value == 0 else total_value // total_weight


def validator_count(validators_count: Sequence[int], standby: int, *,
                    plus_one: bool) -> int:
    """
    How many validators: the weighted average, over the middle half of the voting
    stake, of how many candidates each vote named, at least the standby count.

    @param validators_count: the C{ValidatorsCount} record: the NEO (raw) that voted
        for 1, 2, ... candidates.
    @param plus_one: 2.11's formula (bucket C{i} counts C{i + 1} candidates); before,
        C{i} (section 5.2).
    """
    items = [(i + 1 if plus_one else i, weight)
             for i, weight in enumerate(validators_count) if weight > 0]
    return max(weighted_average(weighted_filter(items)), standby)


def elect(candidates: Iterable[Candidate], standby: Sequence[ECPoint],
          count: int) -> list[ECPoint]:
    """
    The validators, in ascending key order: the C{count} candidates with the most
    votes (registered with votes, or standby), padded with standby keys in the
    protocol file's order; fewer than C{count} when there are not enough keys
    (section 6, E6: never invented).
    """
    standby_keys = set(standby)
    eligible = [c for c in candidates
                if (c.registered and c.votes > 0) or c.public_key in standby_keys]
    eligible.sort(key=lambda c: (-c.votes, c.public_key))
    chosen = [c.public_key for c in eligible[:count]]
    if len(chosen) < count:
        for key in standby:
            if len(chosen) >= count:
                break
            if key not in chosen:
                chosen.append(key)
    return sorted(chosen)


def enrollments(candidates: Iterable[Candidate], standby: Sequence[ECPoint],
                active: Collection[ECPoint]) -> list[JSON]:
    """
    RPC C{getvalidators} (section 8): every stored validator state that registered or
    is a standby key (a standby key with no record is left out, though it may be
    active), in the bytewise order of the compressed keys (the reference's storage
    order, not the keys' order), its votes as a Fixed8 string, and whether it is
    among the validators of the next block (C{active}).
    """
    standby_keys = set(standby)
    listed = [c for c in candidates if c.registered or c.public_key in standby_keys]
    listed.sort(key=lambda c: c.public_key.encode())
    return [{"publickey": c.public_key.encode().hex(), "votes": format_fixed8(c.votes),
             "active": c.public_key in active} for c in listed]
