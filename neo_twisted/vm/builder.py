# -*- test-case-name: tests.unit.test_vm_script -*-
"""
Emit pushes and syscalls as neo's C{ScriptBuilder} does (the shortest form).
"""

from __future__ import annotations

from neo_twisted.crypto.hashes import sha256
from neo_twisted.vm import opcodes as op
from neo_twisted.vm.items import int_to_bytes


def push_bytes(data: bytes) -> bytes:
    """
    PUSHBYTESn up to 75 bytes, then PUSHDATA1/2/4; empty data is PUSH0.
    """
    n = len(data)
    if n == 0:
        return bytes([op.PUSH0])
    if n <= 75:
        return bytes([n]) + data
    if n < 0x100:
        return bytes([op.PUSHDATA1, n]) + data
    if n < 0x10000:
        return bytes([op.PUSHDATA2]) + n.to_bytes(2, "little") + data
    return bytes([op.PUSHDATA4]) + n.to_bytes(4, "little") + data


def push_int(value: int) -> bytes:
    """
    PUSHM1, PUSH0 or PUSH1-16 when they fit, else the minimal two's complement bytes.
    """
    if value == -1:
        return bytes([op.PUSHM1])
    if value == 0:
        return bytes([op.PUSH0])
    if 1 <= value <= 16:
        return bytes([0x50 + value])
    return push_bytes(int_to_bytes(value))


def syscall(name: str, compressed: bool = False) -> bytes:
    """
    SYSCALL by ASCII name, or by the 4-byte hash of the name.
    """
    raw = sha256(name.encode("ascii"))[:4] if compressed else name.encode("ascii")
    return bytes([op.SYSCALL, len(raw)]) + raw


def ops(*names: str) -> bytes:
    """
    Operand-less opcodes by name: C{ops("DUP", "ADD")}.
    """
    return bytes(op.BY_NAME[name] for name in names)
