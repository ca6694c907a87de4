# -*- test-case-name: tests.unit.test_vm_engine -*-
"""
The NeoVM execution engine (docs/neo2-vm.md §1, §4, §5, §8).

Every error while an instruction runs becomes FAULT: nothing escapes
L{ExecutionEngine.execute_next}.
The stack-size counter reproduces the reference's running counter (§5), drift included,
so the 2048 limit FAULTs exactly where neo-vm's does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from neo_twisted.vm import opcodes as op
from neo_twisted.vm.interfaces import (
    GasMeter,
    InteropService,
    NoGasMeter,
    ScriptContainer,
    ScriptTable,
)
from neo_twisted.vm.items import Array, Map, StackItem, VMError
from neo_twisted.vm.script import Instruction, Script

MAX_STACK_SIZE = 2 * 1024
MAX_ARRAY_SIZE = 1024
MAX_INVOCATION_STACK_SIZE = 1024
INT_MAX = 0x7FFFFFFF


class VMState(enum.IntEnum):
    NONE = 0
    HALT = 1
    FAULT = 2
    BREAK = 4


class ExecutionContext:
    """
    One running script: its stacks, its instruction pointer and how many values RET hands back.
    """

    __slots__ = ("alt_stack", "evaluation_stack", "ip", "rv_count", "script")

    def __init__(self, script: Script, rv_count: int = -1, ip: int = 0) -> None:
        self.script = script
        self.evaluation_stack: list[StackItem] = []
        self.alt_stack: list[StackItem] = []
        self.ip = ip
        self.rv_count = rv_count

    @property
    def script_hash(self) -> bytes:
        return self.script.script_hash

    def next_opcode(self) -> int:
        """
        The opcode byte at the pointer, RET past the end (what the debugger shows).
        """
        data = self.script.data
        return data[self.ip] if self.ip < len(data) else op.RET


Handler = Callable[["ExecutionEngine", ExecutionContext, Instruction], None]


def _undefined(engine: ExecutionEngine, context: ExecutionContext,
               instruction: Instruction) -> None:
    raise VMError(f"undefined opcode {instruction.opcode:#04x}")


#: The dispatch table, filled by L{neo_twisted.vm.operations}: one handler per opcode byte.
HANDLERS: list[Handler] = [_undefined] * 256
#: Opcodes that set the instruction pointer themselves (no MoveNext after them).
NO_ADVANCE: list[bool] = [False] * 256
for _code in (op.JMP, op.JMPIF, op.JMPIFNOT, op.RET):
    NO_ADVANCE[_code] = True


class ExecutionEngine:
    """
    NeoVM as neo-vm v2.4.3's C{ExecutionEngine}; drive it with L{execute} or a debugger.
    """

    def __init__(self, container: ScriptContainer | None = None,
                 script_table: ScriptTable | None = None,
                 service: InteropService | None = None,
                 gas_meter: GasMeter | None = None) -> None:
        self.container = container
        self.script_table = script_table
        self.service = service
        self.gas_meter: GasMeter = gas_meter if gas_meter is not None else NoGasMeter()
        self.invocation_stack: list[ExecutionContext] = []
        self.result_stack: list[StackItem] = []
        self.state = VMState.BREAK
        self.fault_reason: str | None = None
        self._count = 0
        self._strict = True

    @property
    def stack_size(self) -> int:
        """
        The reference's running stack-size counter (not a true count: see neo2-vm.md
        section 5), which the 2,048-item limit is checked against.
        """
        return self._count

    @property
    def current_context(self) -> ExecutionContext:
        return self.invocation_stack[-1]

    @property
    def calling_context(self) -> ExecutionContext | None:
        return self.invocation_stack[-2] if len(self.invocation_stack) > 1 else None

    @property
    def entry_context(self) -> ExecutionContext:
        return self.invocation_stack[0]

    def load_script(self, script: bytes | Script, rv_count: int = -1) -> ExecutionContext:
        """
        Push a context for C{script} (hashed with Hash160 when first asked).
        """
        loaded = script if isinstance(script, Script) else Script(script)
        context = ExecutionContext(loaded, rv_count)
        self.invocation_stack.append(context)
        return context

    def load_by_hash(self, script_hash: bytes, rv_count: int = -1) -> ExecutionContext:
        """
        Push a context for the contract C{script_hash}; its hash is the one looked up.
        """
        if self.script_table is None:
            raise VMError("no script table")
        if len(script_hash) != 20:
            raise VMError("a script hash is 20 bytes")
        data = self.script_table.get_script(script_hash)
        if data is None:
            raise VMError(f"no contract {script_hash.hex()}")
        return self.load_script(Script(data, script_hash), rv_count)

    def execute(self) -> VMState:
        """
        Run until HALT, FAULT or BREAK (an engine already HALT or FAULT stays so).
        """
        if self.state == VMState.BREAK:
            self.state = VMState.NONE
        while self.state == VMState.NONE:
            self.execute_next()
        return self.state

    def execute_next(self) -> None:
        """
        Execute one instruction; any failure sets FAULT.
        """
        stack = self.invocation_stack
        if not stack:
            self.state = VMState.HALT
            return
        context = stack[-1]
        try:
            instruction = context.script.instruction(context.ip)
            if not self.gas_meter.pre_execute(self, context, instruction):
                raise VMError("out of GAS")
            code = instruction.opcode
            HANDLERS[code](self, context, instruction)
            if not NO_ADVANCE[code]:
                context.ip += instruction.size
        except Exception as e:
            self.state = VMState.FAULT
            self.fault_reason = f"{type(e).__name__}: {e}"

    # The reference's running stack-size counter (§5).

    def check_stack_size(self, strict: bool, delta: int = 0) -> bool:
        """
        Update the counter by C{delta}; False when the limit is passed (a FAULT for growing calls).
        """
        self._strict = self._strict and strict
        count = self._count + delta
        if count < 0 or count > INT_MAX:
            count = INT_MAX
        self._count = count
        if count <= MAX_STACK_SIZE:
            return True
        if self._strict:
            return False
        self._count = count = self._deep_count()
        if count > MAX_STACK_SIZE:
            return False
        self._strict = True
        return True

    def grow(self, strict: bool, delta: int) -> None:
        """
        L{check_stack_size} for the calls whose failure is a FAULT.
        """
        if not self.check_stack_size(strict, delta):
            raise VMError("stack size limit")

    def _deep_count(self) -> int:
        seen: set[int] = set()
        queue: list[StackItem] = []
        for context in reversed(self.invocation_stack):
            queue.extend(context.evaluation_stack)
            queue.extend(context.alt_stack)
        count = 0
        while queue:
            item = queue.pop()
            count += 1
            if isinstance(item, (Array, Map)):
                if id(item) in seen:
                    continue
                seen.add(id(item))
                queue.extend(item.items if isinstance(item, Array) else item.entries.values())
        return count
