"""
Tests for L{neo_twisted.mempool.claims}: the GAS a spent NEO output may claim.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import assume, given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.components import TransactionOutput
from neo_twisted.core.transactions import NEO_ASSET_ID
from neo_twisted.mempool.claims import DECREMENT_INTERVAL, calculate_bonus, generated_gas
from neo_twisted.mempool.view import SpentCoin
from neo_twisted.wire.fixed8 import FIXED8_ONE
from neo_twisted.wire.uint import UInt160
from tests.support.property_settings import ROUND_TRIP

ONE = FIXED8_ONE
OWNER = UInt160(b"\x01" * 20)
HEIGHTS = st.integers(min_value=0, max_value=50_000_000)


def coin(neo: int, start: int, end: int, raw: int = 0) -> SpentCoin:
    return SpentCoin(TransactionOutput(NEO_ASSET_ID, neo * ONE + raw, OWNER), start, end)


class GeneratedGasTests(SynchronousTestCase):
    def test_first_period(self) -> None:
        self.assertEqual(generated_gas(0, 1), 8)
        self.assertEqual(generated_gas(10, 20), 80)

    def test_across_a_decrement(self) -> None:
        self.assertEqual(generated_gas(DECREMENT_INTERVAL - 1, DECREMENT_INTERVAL + 1), 8 + 7)

    def test_end_on_a_boundary(self) -> None:
        self.assertEqual(generated_gas(DECREMENT_INTERVAL - 2, DECREMENT_INTERVAL), 16)

    def test_all_gas_ever(self) -> None:
        # 100 million GAS over the 22 periods, then nothing
        self.assertEqual(generated_gas(0, 22 * DECREMENT_INTERVAL), 100_000_000)
        self.assertEqual(generated_gas(0, 30 * DECREMENT_INTERVAL), 100_000_000)
        self.assertEqual(generated_gas(22 * DECREMENT_INTERVAL, 23 * DECREMENT_INTERVAL), 0)

    def test_same_block_spend_on_a_boundary(self) -> None:
        # the reference's quirk, kept for compatibility: an output created and spent in a
        # block whose height is a multiple of the interval earns a whole period
        self.assertEqual(generated_gas(5, 5), 0)
        self.assertEqual(generated_gas(DECREMENT_INTERVAL, DECREMENT_INTERVAL),
                         7 * DECREMENT_INTERVAL)

    @ROUND_TRIP
    @given(HEIGHTS, HEIGHTS, HEIGHTS)
    def test_additive(self, a: int, b: int, c: int) -> None:
        low, mid, high = sorted((a, b, c))
        assume(low < mid < high)
        self.assertEqual(generated_gas(low, mid) + generated_gas(mid, high),
                         generated_gas(low, high))


class BonusTests(SynchronousTestCase):
    def fees(self, per_block: dict[int, int]) -> Callable[[int], int]:
        def total(index: int) -> int:
            return sum(fee for height, fee in per_block.items() if height <= index)
        return total

    def test_generation_only(self) -> None:
        bonus = calculate_bonus([coin(10, 5, 15)], lambda index: 0)
        self.assertEqual(bonus, 10 * 8 * 10)

    def test_system_fees_of_the_span(self) -> None:
        # fees of blocks start..end-1 count; the spending block's do not
        per_block = {4: 500 * ONE, 5: 10 * ONE, 14: 3 * ONE, 15: 1000 * ONE}
        total = self.fees(per_block)
        bonus = calculate_bonus([coin(2, 5, 15)], total)
        self.assertEqual(bonus, 2 * (8 * 10 + 10 + 3))

    def test_fees_in_whole_gas(self) -> None:
        # the reference node sums fees in whole GAS, dropping fractions of the running total
        total = self.fees({3: ONE + ONE // 2, 4: ONE // 2})
        bonus = calculate_bonus([coin(1, 3, 5)], total)
        self.assertEqual(bonus, 8 * 2 + 2)

    def test_fractions_of_neo_earn_nothing(self) -> None:
        self.assertEqual(calculate_bonus([coin(0, 0, 100, raw=ONE - 1)], lambda index: 0), 0)

    def test_coins_with_the_same_span_pool_their_value(self) -> None:
        # two half-NEO outputs over one span earn as one NEO
        half = [coin(0, 1, 3, raw=ONE // 2), coin(0, 1, 3, raw=ONE // 2)]
        self.assertEqual(calculate_bonus(half, lambda index: 0), 16)
        self.assertEqual(calculate_bonus([half[0], coin(0, 2, 4, raw=ONE // 2)],
                                         lambda index: 0), 0)
