# -*- test-case-name: tests.unit.test_crypto -*-
"""
Verification of standard witnesses without a VM.

The reference node runs the invocation script, then the verification script,
in its VM. For the two standard contracts the outcome is fixed by a few rules,
which this module applies directly:

  - the invocation script may only push data;
  - a single-signature contract needs exactly one pushed item, a valid signature;
  - an m-of-n contract needs exactly m pushed signatures, matched against the keys
    in script order as CHECKMULTISIG walks them (a match advances the signature,
    every step advances the key, and it gives up once too few keys are left).

Anything else (a deployed contract, a non-standard script) is reported as not
verifiable here, and is therefore rejected.

Before any signature is checked, L{witness_problem} applies the reference VM's
GAS budget (L{neo_twisted.crypto.budget}) and the shape every valid invocation
has: a multisig of more keys than the free GAS pays for, or an invocation that
does not push exactly the signatures needed, 64 bytes each, can never verify.
"""

from __future__ import annotations

from neo_twisted.crypto.budget import (
    FREE_VERIFICATION_GAS,
    MAX_SIGNATURE_PUSH,
    SIGNATURE_SIZE,
    affordable,
    max_multisig_keys,
    multisig_witness_price,
    signature_witness_price,
)
from neo_twisted.crypto.ecdsa import load_public_key, verify_signature
from neo_twisted.crypto.hashes import hash160
from neo_twisted.crypto.scripts import (
    PUSH1,
    PUSH16,
    PUSHDATA1,
    PUSHDATA2,
    PUSHDATA4,
    PUSHM1,
    is_signature_contract,
    parse_multisig_contract,
)

_PUSHDATA_WIDTH = {PUSHDATA1: 1, PUSHDATA2: 2, PUSHDATA4: 4}


def pushed_items(script: bytes) -> list[bytes | int] | None:
    """
    The stack a push-only script leaves (bottom first), or None if it does anything but push.
    """
    items: list[bytes | int] = []
    pos, end = 0, len(script)
    while pos < end:
        op = script[pos]
        pos += 1
        if op <= 0x4B:
            length = op
        elif op in _PUSHDATA_WIDTH:
            width = _PUSHDATA_WIDTH[op]
            if pos + width > end:
                return None
            length = int.from_bytes(script[pos : pos + width], "little")
            pos += width
        elif op == PUSHM1:
            items.append(-1)
            continue
        elif PUSH1 <= op <= PUSH16:
            items.append(op - 0x50)
            continue
        else:
            return None
        if pos + length > end:
            return None
        items.append(script[pos : pos + length])
        pos += length
    return items


def _check(message: bytes, signature: bytes | int, key: bytes) -> bool:
    if not isinstance(signature, bytes):
        return False
    public_key = load_public_key(key)
    return public_key is not None and verify_signature(public_key, message, signature)


def witness_problem(invocation: bytes, verification: bytes,
                    free_gas: int = FREE_VERIFICATION_GAS) -> str | None:
    """
    Why the witness cannot verify whatever its signatures, found without checking
    any; None if only the signatures can tell.

    @param free_gas: the Fixed8 GAS the reference's VM would let the witness spend
        (L{neo_twisted.crypto.budget.free_verification_gas}).
    """
    if is_signature_contract(verification):
        m, price = 1, signature_witness_price()
    else:
        multisig = parse_multisig_contract(verification)
        if multisig is None:
            return "the verification script is not a standard contract"
        m, n = multisig[0], len(multisig[1])
        price = multisig_witness_price(m, n)
        if not affordable(price, free_gas):
            return (f"a multisig of {n} keys costs {price / 1000} GAS to verify, more than "
                    f"the {free_gas / 100_000_000:g} GAS free (at most "
                    f"{max_multisig_keys(free_gas)} keys)")
    if len(invocation) > m * MAX_SIGNATURE_PUSH:
        return (f"the invocation script is {len(invocation)} bytes; {m} signature "
                f"pushes take at most {m * MAX_SIGNATURE_PUSH}")
    stack = pushed_items(invocation)
    if stack is None:
        return "the invocation script does more than push signatures"
    if len(stack) != m:
        return f"the invocation script pushes {len(stack)} items, not {m} signatures"
    if not all(isinstance(item, bytes) and len(item) == SIGNATURE_SIZE for item in stack):
        return f"the invocation script pushes something other than {SIGNATURE_SIZE}-byte signatures"
    return None


def verify_witness(message: bytes, invocation: bytes, verification: bytes,
                   expected_hash: bytes, free_gas: int = FREE_VERIFICATION_GAS) -> bool:
    """
    Whether the witness (C{invocation}, C{verification}) authorizes C{message} for C{expected_hash}.

    @param message: the signed bytes (the unsigned serialization of the container).
    @param expected_hash: the script hash the container requires (UInt160 wire bytes).
    @param free_gas: the verification budget (L{witness_problem}).
    """
    if not verification or hash160(verification) != expected_hash:
        return False
    if witness_problem(invocation, verification, free_gas) is not None:
        return False
    stack = pushed_items(invocation)
    assert stack is not None  # witness_problem parsed it
    if is_signature_contract(verification):
        return _check(message, stack[0], verification[1:34])
    multisig = parse_multisig_contract(verification)
    assert multisig is not None
    m, keys = multisig
    i = j = 0
    n = len(keys)
    while i < m and j < n:
        if _check(message, stack[i], keys[j]):
            i += 1
        j += 1
        if m - i > n - j:
            return False
    return i == m
