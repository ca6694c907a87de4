# -*- test-case-name: tests.unit.test_wire_primitives -*-
"""
Fixed8: a signed 64-bit count of 10^-8 units, as the reference node stores amounts.

Amounts stay plain C{int}s (the raw value) everywhere in the code: it is what the
wire carries, and arithmetic on them is exact. These helpers convert to and from
the decimal strings that JSON-RPC shows (C{"100000000"}, C{"0.001"}).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

#: The raw value of 1.0.
FIXED8_ONE = 100_000_000
FIXED8_MIN = -(2**63)
FIXED8_MAX = 2**63 - 1


def format_fixed8(raw: int) -> str:
    """
    Decimal string with no trailing zeros, as .NET's C{Fixed8.ToString()} prints it.
    """
    sign = "-" if raw < 0 else ""
    whole, fraction = divmod(abs(raw), FIXED8_ONE)
    if fraction == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}." + f"{fraction:08d}".rstrip("0")


def parse_fixed8(text: str) -> int:
    """
    Parse a decimal amount into its raw value; more than 8 decimals or out of range is a ValueError.
    """
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {text!r}")
    # Exact integer arithmetic on the digits: Decimal arithmetic would round to the
    # context's 28 digits (dropping a far-out ninth decimal) or overflow on huge exponents.
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # only NaN and infinities have a letter here
        raise ValueError(f"not a finite amount: {text!r}")
    coefficient = int("".join(map(str, digits)))
    shift = exponent + 8  # raw = coefficient * 10**shift
    if coefficient == 0:
        raw = 0
    elif shift < 0:
        if -shift > len(digits) or coefficient % 10**-shift:
            raise ValueError(f"more than 8 decimal places: {text!r}")
        raw = coefficient // 10**-shift
    elif shift > 19:
        raise ValueError(f"amount out of the Fixed8 range: {text!r}")
    else:
        raw = coefficient * 10**shift
    if sign:
        raw = -raw
    if not FIXED8_MIN <= raw <= FIXED8_MAX:
        raise ValueError(f"amount out of the Fixed8 range: {text!r}")
    return raw
