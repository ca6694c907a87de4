# -*- test-case-name: tests.unit.test_vm_script -*-
"""
Emit pushes and syscalls as neo's C{ScriptBuilder} does (the shortest form); the
pushes are the ones witness scripts are built with (L{neo_twisted.crypto.scripts}).
"""

from __future__ import annotations

from neo_twisted.crypto.hashes import sha256
from neo_twisted.crypto.scripts import push_data as push_bytes
from neo_twisted.crypto.scripts import push_int
from neo_twisted.vm import opcodes as op

__all__ = ["ops", "push_bytes", "push_int", "syscall"]


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
