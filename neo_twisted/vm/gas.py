# -*- test-case-name: tests.unit.test_vm_gas -*-
"""
The ApplicationEngine's GAS prices and a GAS meter for the engine's per-instruction hook
(docs/neo2-vm.md §10).

Prices are in units of 0.001 GAS; C{RATIO} turns them into Fixed8. The fixed price of
each interop service comes from whoever registers the services (the next issue); the
prices that depend on the stack are computed here, as neo computes them.
"""

from __future__ import annotations

from collections.abc import Mapping

from neo_twisted.vm import opcodes as op
from neo_twisted.vm.engine import ExecutionContext, ExecutionEngine
from neo_twisted.vm.interop import method_hash, operand_hash
from neo_twisted.vm.items import Array, StackItem, VMError
from neo_twisted.vm.script import Instruction

#: One price unit in Fixed8 (0.001 GAS).
RATIO = 100_000
#: The GAS every execution gets for free, in Fixed8 (10 GAS).
GAS_FREE = 10 * 100_000_000

_FIXED_OPCODE_PRICES: dict[int, int] = {
    op.APPCALL: 10, op.TAILCALL: 10, 0xA7: 10, 0xA8: 10, 0xA9: 20, 0xAA: 20,
    0xAC: 100, 0xAD: 100,
}


def _hashes(*names: str) -> frozenset[int]:
    return frozenset(method_hash(n) for n in names)


_ASSET_CREATE = _hashes("Neo.Asset.Create", "AntShares.Asset.Create")
_ASSET_RENEW = _hashes("Neo.Asset.Renew", "AntShares.Asset.Renew")
_CONTRACT_CREATE = _hashes("Neo.Contract.Create", "Neo.Contract.Migrate",
                           "AntShares.Contract.Create", "AntShares.Contract.Migrate")
_STORAGE_PUT = _hashes("System.Storage.Put", "System.Storage.PutEx", "Neo.Storage.Put",
                       "AntShares.Storage.Put")


def _to_byte(item: StackItem) -> int:
    """
    C#'s C{(byte)BigInteger}: out of 0..255 throws.
    """
    value = item.get_int()
    if not 0 <= value <= 255:
        raise VMError("value does not fit a byte")
    return value


def syscall_price(operand: bytes, stack: list[StackItem], fixed: Mapping[int, int]) -> int:
    """
    C{GetPriceForSysCall}: the registered price if positive, else the stack-dependent rules, else 1.
    """
    key = operand_hash(operand)
    price = fixed.get(key, 0)
    if price > 0:
        return price
    if key in _ASSET_CREATE:
        return 5000 * 100_000_000 // RATIO
    if key in _ASSET_RENEW:
        return _to_byte(stack[-2]) * 5000 * 100_000_000 // RATIO
    if key in _CONTRACT_CREATE:
        flags = _to_byte(stack[-4])
        fee = 100 + (400 if flags & 1 else 0) + (500 if flags & 2 else 0)
        return fee * 100_000_000 // RATIO
    if key in _STORAGE_PUT:
        size = len(stack[-2].get_bytes()) + len(stack[-3].get_bytes())
        # C# divides (size - 1) by 1024 truncating, so an empty key and value still cost 1 GAS.
        return (max(size - 1, 0) // 1024 + 1) * 1000
    return 1


def opcode_price(context: ExecutionContext, instruction: Instruction,
                 fixed: Mapping[int, int]) -> int:
    """
    C{ApplicationEngine.GetPrice} for the instruction at the context's pointer.
    """
    code = instruction.opcode
    if code <= op.NOP:
        return 0
    if code == op.SYSCALL:
        return syscall_price(instruction.operand, context.evaluation_stack, fixed)
    if code == op.CHECKMULTISIG:
        stack = context.evaluation_stack
        if not stack:
            return 1
        top = stack[-1]
        n = len(top.items) if isinstance(top, Array) else top.get_int()
        if not -0x80000000 <= n <= 0x7FFFFFFF:
            raise VMError("CHECKMULTISIG count does not fit an int32")
        return 1 if n < 1 else 100 * n
    return _FIXED_OPCODE_PRICES.get(code, 1)


class GasLimitMeter:
    """
    Charges each instruction before it runs; more than the limit stops the engine with FAULT.

    @ivar consumed: Fixed8 GAS charged so far, including the instruction that ran out.
    """

    def __init__(self, service_prices: Mapping[int, int], gas: int = 0,
                 test_mode: bool = False) -> None:
        self.service_prices = service_prices
        self.limit = GAS_FREE + gas
        self.test_mode = test_mode
        self.consumed = 0

    def pre_execute(self, engine: ExecutionEngine, context: ExecutionContext,
                    instruction: Instruction) -> bool:
        if context.ip >= len(context.script.data):
            return True
        self.consumed += opcode_price(context, instruction, self.service_prices) * RATIO
        return self.test_mode or self.consumed <= self.limit
