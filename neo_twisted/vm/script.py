# -*- test-case-name: tests.unit.test_vm_script -*-
"""
Script decoding (docs/neo2-vm.md §2): instructions decoded lazily where execution reaches them.

Jumping into the middle of an operand is legal, so decoding is per instruction pointer
and cached per pointer, never done up front.
"""

from __future__ import annotations

from neo_twisted.crypto.hashes import hash160
from neo_twisted.vm import opcodes as op
from neo_twisted.vm.items import VMError

#: The largest push and CAT result (§4).
MAX_ITEM_SIZE = 1024 * 1024


class Instruction:
    """
    One decoded instruction: the opcode, its operand (empty if none) and its size in bytes.
    """

    __slots__ = ("opcode", "operand", "size")

    def __init__(self, opcode: int, operand: bytes, size: int) -> None:
        self.opcode = opcode
        self.operand = operand
        self.size = size

    def __repr__(self) -> str:
        return f"<{op.OPCODE_NAMES[self.opcode]} {self.operand.hex()}>"


#: What running past the end of a script executes.
IMPLICIT_RET = Instruction(op.RET, b"", 1)

# Fixed operand sizes; the prefixed ones (PUSHDATA*, SYSCALL) are handled apart.
_FIXED: dict[int, int] = {op.JMP: 2, op.JMPIF: 2, op.JMPIFNOT: 2, op.CALL: 2,
                          op.APPCALL: 20, op.TAILCALL: 20, op.CALL_I: 4, op.CALL_E: 22,
                          op.CALL_ET: 22, op.CALL_ED: 2, op.CALL_EDT: 2}
_FIXED.update({n: n for n in range(op.PUSHBYTES1, op.PUSHBYTES75 + 1)})
_PREFIX: dict[int, int] = {op.PUSHDATA1: 1, op.PUSHDATA2: 2, op.PUSHDATA4: 4, op.SYSCALL: 1}


def decode(data: bytes, ip: int) -> Instruction:
    """
    The instruction at C{ip}; a truncated or null operand raises L{VMError}.
    """
    if ip >= len(data):
        return IMPLICIT_RET
    opcode = data[ip]
    fixed = _FIXED.get(opcode)
    if fixed is not None:
        end = ip + 1 + fixed
        if end > len(data):
            raise VMError("operand runs past the end of the script")
        return Instruction(opcode, data[ip + 1:end], 1 + fixed)
    prefix = _PREFIX.get(opcode)
    if prefix is None:
        return Instruction(opcode, b"", 1)
    start = ip + 1 + prefix
    if start > len(data):
        raise VMError("length prefix runs past the end of the script")
    length = int.from_bytes(data[ip + 1:start], "little", signed=prefix == 4)
    # The reference leaves a zero-length (or negative) operand null; its first use throws.
    if length <= 0:
        raise VMError("null operand")
    if start + length > len(data):
        raise VMError("operand runs past the end of the script")
    return Instruction(opcode, data[start:start + length], 1 + prefix + length)


class Script:
    """
    A script's bytes, its decoded instructions by pointer, and its hash (lazily Hash160).
    """

    __slots__ = ("_decoded", "_hash", "data")

    def __init__(self, data: bytes, script_hash: bytes | None = None) -> None:
        self.data = data
        self._hash = script_hash
        self._decoded: dict[int, Instruction] = {}

    @property
    def script_hash(self) -> bytes:
        """
        The 20-byte hash in wire order: given (loaded by hash) or Hash160 of the bytes.
        """
        if self._hash is None:
            self._hash = hash160(self.data)
        return self._hash

    def __len__(self) -> int:
        return len(self.data)

    def instruction(self, ip: int) -> Instruction:
        decoded = self._decoded.get(ip)
        if decoded is None:
            decoded = self._decoded[ip] = decode(self.data, ip)
        return decoded
