# -*- test-case-name: tests.unit.test_crypto_budget -*-
"""
What verifying a standard witness costs in the reference's VM, and what it may cost.

The reference runs every witness in an C{ApplicationEngine} with the free
verification allowance (10 GAS; 50 GAS from C{FreeGasChangeHeight} in 2.12) and
FAULTs as soon as the opcodes' prices pass it (neo2-vm.md section 10). For the
two standard contracts the prices are fixed: pushes cost nothing, the implicit
returns cost nothing, CHECKSIG costs 100 units of 0.001 GAS and CHECKMULTISIG
100 per key. So an m-of-n multisig costs 0.1 GAS per key whatever m is, and one
of more than 100 keys can never verify with 10 GAS: it is refused before any of
its signatures is checked (169 ms for a 1024-key one), as the reference's VM
would refuse it.
"""

from __future__ import annotations

from neo_twisted.wire.fixed8 import FIXED8_ONE

#: Fixed8 GAS per price unit (C{ApplicationEngine.ratio}): a unit is 0.001 GAS.
GAS_RATIO = 100_000
#: C{ApplicationEngine.gas_free}: the GAS a witness may spend.
FREE_VERIFICATION_GAS = 10 * FIXED8_ONE
#: C{gas_free_new} (2.12): from C{FreeGasChangeHeight} on.
FREE_VERIFICATION_GAS_2_12 = 50 * FIXED8_ONE
#: C{FreeGasChangeHeight} of neo-cli 2.12.2's protocol files, by network magic;
#: any other network keeps the code default (100,000,000: never).
FREE_GAS_CHANGE_HEIGHTS = {7630401: 6_195_000, 1953787457: 4_840_000}

#: Price units (C{GetPrice}) of the opcodes a standard witness runs.
PUSH_PRICE = 0
CHECKSIG_PRICE = 100
CHECKMULTISIG_PRICE_PER_KEY = 100

#: A signature is 64 bytes (r||s); its longest push is PUSHDATA4 (5 bytes) + 64.
SIGNATURE_SIZE = 64
MAX_SIGNATURE_PUSH = 5 + SIGNATURE_SIZE


def free_verification_gas(magic: int, height: int) -> int:
    """
    The Fixed8 GAS a witness may spend when checked on a chain of C{height} blocks
    (C{snapshot.Height >= FreeGasChangeHeight}: 50 GAS, else 10).
    """
    change = FREE_GAS_CHANGE_HEIGHTS.get(magic)
    if change is not None and height >= change:
        return FREE_VERIFICATION_GAS_2_12
    return FREE_VERIFICATION_GAS


def signature_witness_price() -> int:
    """
    Price units of a single-signature witness: PUSHBYTES64, then PUSHBYTES33 and
    CHECKSIG, each RET implicit (free).
    """
    return PUSH_PRICE + PUSH_PRICE + CHECKSIG_PRICE


def multisig_witness_price(m: int, n: int) -> int:
    """
    Price units of an m-of-n multisig witness: m signature pushes, PUSH(m), n key
    pushes, PUSH(n) (PUSH1-16 or a data push: all free), CHECKMULTISIG (100 per key).
    """
    return (m * PUSH_PRICE + PUSH_PRICE + n * PUSH_PRICE + PUSH_PRICE
            + CHECKMULTISIG_PRICE_PER_KEY * n)


def affordable(price: int, free_gas: int = FREE_VERIFICATION_GAS) -> bool:
    """
    Whether a run of C{price} units stays within C{free_gas} (the engine FAULTs only
    once the GAS consumed is strictly greater).
    """
    return price * GAS_RATIO <= free_gas


def max_multisig_keys(free_gas: int = FREE_VERIFICATION_GAS) -> int:
    """
    The most keys a multisig witness can have and still verify: 100 with 10 GAS.
    """
    return free_gas // (CHECKMULTISIG_PRICE_PER_KEY * GAS_RATIO)
