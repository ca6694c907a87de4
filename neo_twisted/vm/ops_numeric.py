# -*- test-case-name: tests.unit.test_vm_numeric -*-
"""
Bitwise, numeric and crypto opcodes with C#'s BigInteger rules (docs/neo2-vm.md §6, §7, §16).

Python floors where C# truncates (DIV, MOD) and Python integers have no size; the
32-byte check is applied only where the reference applies it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from neo_twisted.crypto.ecdsa import load_public_key, verify_signature
from neo_twisted.crypto.hashes import hash160, hash256, sha256
from neo_twisted.vm.engine import HANDLERS, ExecutionContext, ExecutionEngine
from neo_twisted.vm.items import (
    Array,
    Boolean,
    ByteArray,
    Integer,
    VMError,
    fits_bigint,
    to_int32,
)
from neo_twisted.vm.script import Instruction

MAX_SHIFT = 256


def _checked(value: int) -> int:
    if not fits_bigint(value):
        raise VMError("integer larger than 32 bytes")
    return value


def truncating_div(a: int, b: int) -> int:
    """
    C#'s BigInteger division: the quotient rounded toward zero.
    """
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def truncating_mod(a: int, b: int) -> int:
    """
    C#'s BigInteger remainder: the sign of the dividend.
    """
    return a - truncating_div(a, b) * b


def shift_left(a: int, s: int) -> int:
    return a << s if s >= 0 else a >> -s


def _unary(fn: Callable[[int], int], checked: bool) -> Callable[
        [ExecutionEngine, ExecutionContext, Instruction], None]:
    def handler(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
        s = c.evaluation_stack
        a = s.pop().get_int()
        if checked:
            s.append(Integer(_checked(fn(_checked(a)))))
        else:
            s.append(Integer(fn(a)))
    return handler


def _binary(fn: Callable[[int, int], int], checked: bool) -> Callable[
        [ExecutionEngine, ExecutionContext, Instruction], None]:
    def handler(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
        s = c.evaluation_stack
        if checked:
            b = _checked(s.pop().get_int())
            a = _checked(s.pop().get_int())
            result = _checked(fn(a, b))
        else:
            b = s.pop().get_int()
            a = s.pop().get_int()
            result = fn(a, b)
        s.append(Integer(result))
        e.check_stack_size(True, -1)
    return handler


def _compare(fn: Callable[[int, int], bool]) -> Callable[
        [ExecutionEngine, ExecutionContext, Instruction], None]:
    def handler(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
        s = c.evaluation_stack
        b = s.pop().get_int()
        a = s.pop().get_int()
        s.append(Boolean(fn(a, b)))
        e.check_stack_size(True, -1)
    return handler


def _divide(fn: Callable[[int, int], int]) -> Callable[
        [ExecutionEngine, ExecutionContext, Instruction], None]:
    def handler(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
        s = c.evaluation_stack
        b = _checked(s.pop().get_int())
        a = _checked(s.pop().get_int())
        if b == 0:
            raise VMError("division by zero")
        s.append(Integer(fn(a, b)))
        e.check_stack_size(True, -1)
    return handler


def _shift(left: bool) -> Callable[[ExecutionEngine, ExecutionContext, Instruction], None]:
    def handler(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
        s = c.evaluation_stack
        shift = to_int32(s.pop().get_int())
        if not -MAX_SHIFT <= shift <= MAX_SHIFT:
            raise VMError("shift out of range")
        a = _checked(s.pop().get_int())
        s.append(Integer(_checked(shift_left(a, shift if left else -shift))))
        e.check_stack_size(True, -1)
    return handler


def _equal(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    x2 = s.pop()
    x1 = s.pop()
    s.append(Boolean(x1.equals(x2)))
    e.check_stack_size(False, -1)


def _not(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    x = s.pop().get_bool()
    e.check_stack_size(False, 0)
    s.append(Boolean(not x))


def _nz(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    s.append(Boolean(s.pop().get_int() != 0))


def _bool_op(is_and: bool) -> Callable[[ExecutionEngine, ExecutionContext, Instruction], None]:
    def handler(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
        s = c.evaluation_stack
        x2 = s.pop().get_bool()
        x1 = s.pop().get_bool()
        s.append(Boolean((x1 and x2) if is_and else (x1 or x2)))
        e.check_stack_size(False, -1)
    return handler


def _within(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    b = s.pop().get_int()
    a = s.pop().get_int()
    x = s.pop().get_int()
    s.append(Boolean(a <= x < b))
    e.check_stack_size(True, -2)


def _digest(fn: Callable[[bytes], bytes]) -> Callable[
        [ExecutionEngine, ExecutionContext, Instruction], None]:
    def handler(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
        s = c.evaluation_stack
        s.append(ByteArray(fn(s.pop().get_bytes())))
    return handler


def _sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()


# Signatures (§7).

class KeyFormatError(ValueError):
    """
    neo's C{ArgumentException}: a public key of a length or prefix no encoding has.
    """


def verify(message: bytes, signature: bytes, public_key: bytes) -> bool:
    """
    neo's C{Crypto.VerifySignature}: False for a bad signature or an undecodable point.

    @raise KeyFormatError: the key is neither 33 bytes (02/03), 65 bytes (04) nor 64 bytes.
    """
    size = len(public_key)
    if not ((size == 33 and public_key[0] in (2, 3)) or (size == 65 and public_key[0] == 4)
            or size == 64):
        raise KeyFormatError("not a public key encoding")
    key = load_public_key(public_key)
    return key is not None and verify_signature(key, message, signature)


def _verify_or_false(message: bytes, signature: bytes, public_key: bytes) -> bool:
    try:
        return verify(message, signature, public_key)
    except KeyFormatError:
        return False


def _message(e: ExecutionEngine) -> bytes:
    if e.container is None:
        raise VMError("no script container")
    return e.container.get_message()


def _checksig(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    public_key = s.pop().get_bytes()
    signature = s.pop().get_bytes()
    s.append(Boolean(_verify_or_false(_message(e), signature, public_key)))
    e.check_stack_size(True, -1)


def _verify(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    public_key = s.pop().get_bytes()
    signature = s.pop().get_bytes()
    message = s.pop().get_bytes()
    s.append(Boolean(_verify_or_false(message, signature, public_key)))
    e.check_stack_size(True, -2)


def _pop_list(e: ExecutionEngine, c: ExecutionContext, limit: int | None) -> list[bytes]:
    """
    CHECKMULTISIG's keys (C{limit} None) or signatures: an Array, or a count then that many items.
    """
    s = c.evaluation_stack
    item = s.pop()
    if isinstance(item, Array):
        values = [x.get_bytes() for x in item.items]
        if not values or (limit is not None and len(values) > limit):
            raise VMError("bad CHECKMULTISIG array")
        e.check_stack_size(False, -1)
        return values
    n = to_int32(item.get_int())
    if n < 1 or (limit is not None and n > limit) or n > len(s):
        raise VMError("bad CHECKMULTISIG count")
    e.check_stack_size(True, -n - 1)
    return [s.pop().get_bytes() for _ in range(n)]


def _checkmultisig(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    keys = _pop_list(e, c, None)
    signatures = _pop_list(e, c, len(keys))
    message = _message(e)
    m, n = len(signatures), len(keys)
    ok = True
    si = ki = 0
    try:
        while ok and si < m:
            if verify(message, signatures[si], keys[ki]):
                si += 1
            ki += 1
            if m - si > n - ki:
                ok = False
    except KeyFormatError:
        ok = False
    c.evaluation_stack.append(Boolean(ok))


def register() -> None:
    """
    Fill the dispatch table with this module's opcodes.
    """
    table = {
        0x83: _unary(lambda a: ~a, False),
        0x84: _binary(lambda a, b: a & b, False),
        0x85: _binary(lambda a, b: a | b, False),
        0x86: _binary(lambda a, b: a ^ b, False),
        0x87: _equal,
        0x8B: _unary(lambda a: a + 1, True),
        0x8C: _unary(lambda a: a - 1, True),
        0x8D: _unary(lambda a: (a > 0) - (a < 0), False),
        0x8F: _unary(lambda a: -a, False),
        0x90: _unary(abs, False),
        0x91: _not,
        0x92: _nz,
        0x93: _binary(lambda a, b: a + b, True),
        0x94: _binary(lambda a, b: a - b, True),
        0x95: _binary(lambda a, b: a * b, True),
        0x96: _divide(truncating_div),
        0x97: _divide(truncating_mod),
        0x98: _shift(True),
        0x99: _shift(False),
        0x9A: _bool_op(True),
        0x9B: _bool_op(False),
        0x9C: _compare(lambda a, b: a == b),
        0x9E: _compare(lambda a, b: a != b),
        0x9F: _compare(lambda a, b: a < b),
        0xA0: _compare(lambda a, b: a > b),
        0xA1: _compare(lambda a, b: a <= b),
        0xA2: _compare(lambda a, b: a >= b),
        0xA3: _binary(min, False),
        0xA4: _binary(max, False),
        0xA5: _within,
        0xA7: _digest(_sha1),
        0xA8: _digest(sha256),
        0xA9: _digest(hash160),
        0xAA: _digest(hash256),
        0xAC: _checksig,
        0xAD: _verify,
        0xAE: _checkmultisig,
    }
    for code, handler in table.items():
        HANDLERS[code] = handler
