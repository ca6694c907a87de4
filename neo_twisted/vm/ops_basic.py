# -*- test-case-name: tests.unit.test_vm_engine -*-
"""
Pushes, flow control, calls and returns, stack and splice opcodes (docs/neo2-vm.md §6, §8).

Each handler pops and checks in the reference's order, so a FAULT leaves the stacks as
neo-vm leaves them (the vectors compare them).
"""

from __future__ import annotations

from neo_twisted.vm import opcodes as op
from neo_twisted.vm.engine import (
    HANDLERS,
    INT_MAX,
    MAX_INVOCATION_STACK_SIZE,
    ExecutionContext,
    ExecutionEngine,
    VMState,
)
from neo_twisted.vm.items import ByteArray, Integer, StackItem, VMError, to_int32
from neo_twisted.vm.script import MAX_ITEM_SIZE, Instruction

_ZERO_HASH = bytes(20)
_EMPTY = b""


def pop_int32(context: ExecutionContext) -> int:
    return to_int32(context.evaluation_stack.pop().get_int())


def pop_index(context: ExecutionContext) -> int:
    """
    An int32 that must not be negative (counts, depths, indexes).
    """
    n = to_int32(context.evaluation_stack.pop().get_int())
    if n < 0:
        raise VMError("negative count")
    return n


def _target(context: ExecutionContext, offset: int) -> int:
    target = context.ip + offset
    if not 0 <= target <= len(context.script.data):
        raise VMError("jump target outside the script")
    return target


# Pushes.

def _push0(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    c.evaluation_stack.append(ByteArray(_EMPTY))
    e.grow(True, 1)


def _push_bytes(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    if len(i.operand) > MAX_ITEM_SIZE:
        raise VMError("push larger than MaxItemSize")
    c.evaluation_stack.append(ByteArray(i.operand))
    e.grow(True, 1)


def _push_int(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    c.evaluation_stack.append(Integer(i.opcode - 0x50))
    e.grow(True, 1)


# Flow control.

def _nop(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    pass


def _jmp(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    c.ip = _target(c, int.from_bytes(i.operand, "little", signed=True))


def _jmp_if(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    target = _target(c, int.from_bytes(i.operand, "little", signed=True))
    e.check_stack_size(False, -1)
    if c.evaluation_stack.pop().get_bool() == (i.opcode == op.JMPIF):
        c.ip = target
    else:
        c.ip += i.size


def _call(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    if len(e.invocation_stack) >= MAX_INVOCATION_STACK_SIZE:
        raise VMError("invocation stack full")
    target = _target(c, int.from_bytes(i.operand, "little", signed=True))
    callee = ExecutionContext(c.script, -1, target)
    callee.evaluation_stack, c.evaluation_stack = c.evaluation_stack, []
    e.invocation_stack.append(callee)


def _ret(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    stack = e.invocation_stack
    stack.pop()
    rv = c.rv_count if c.rv_count != -1 else len(c.evaluation_stack)
    if rv > 0:
        values = c.evaluation_stack
        if len(values) < rv:
            raise VMError("too few values to return")
        (stack[-1].evaluation_stack if stack else e.result_stack).extend(values[-rv:])
    if c.rv_count == -1 and stack:
        stack[-1].alt_stack.extend(c.alt_stack)
    e.check_stack_size(False, 0)
    if not stack:
        e.state = VMState.HALT


def _app_call(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    if e.script_table is None:
        raise VMError("no script table")
    tail = i.opcode == op.TAILCALL
    if not tail and len(e.invocation_stack) >= MAX_INVOCATION_STACK_SIZE:
        raise VMError("invocation stack full")
    script_hash = i.operand
    if script_hash == _ZERO_HASH:
        script_hash = c.evaluation_stack.pop().get_bytes()
    callee = e.load_by_hash(script_hash)
    callee.evaluation_stack.extend(c.evaluation_stack)
    if tail:
        del e.invocation_stack[-2]
    else:
        c.evaluation_stack.clear()
    e.check_stack_size(False, 0)


def _syscall(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    if len(i.operand) > 252:
        raise VMError("SYSCALL name too long")
    if e.service is None or not e.service.invoke(i.operand, e):
        raise VMError(f"SYSCALL {i.operand!r} failed")
    e.grow(False, INT_MAX)


def _call_isolated(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    """
    CALL_I and CALL_E*: a call that moves only C{pcount} arguments and returns C{rvcount} values.
    """
    code = i.opcode
    rv_count, p_count = i.operand[0], i.operand[1]
    stack = c.evaluation_stack
    depth_checked = code in (op.CALL_I, op.CALL_E, op.CALL_ED)
    if code == op.CALL_I:
        if len(e.invocation_stack) >= MAX_INVOCATION_STACK_SIZE:
            raise VMError("invocation stack full")
        if len(stack) < p_count:
            raise VMError("too few arguments")
        offset = int.from_bytes(i.operand[2:4], "little", signed=True)
        target = _target(c, offset + 2)
        callee = ExecutionContext(c.script, rv_count, target)
        e.invocation_stack.append(callee)
    else:
        if e.script_table is None:
            raise VMError("no script table")
        if len(stack) < p_count:
            raise VMError("too few arguments")
        if depth_checked:
            if len(e.invocation_stack) >= MAX_INVOCATION_STACK_SIZE:
                raise VMError("invocation stack full")
        elif c.rv_count != rv_count:
            raise VMError("tail call with another return count")
        if code in (op.CALL_ED, op.CALL_EDT):
            script_hash = stack.pop().get_bytes()
            e.check_stack_size(True, -1)
            if len(stack) < p_count:
                raise VMError("too few arguments")
        else:
            script_hash = i.operand[2:22]
        callee = e.load_by_hash(script_hash, rv_count)
        if not depth_checked:
            del e.invocation_stack[-2]
    if p_count:
        callee.evaluation_stack.extend(stack[-p_count:])
        del stack[-p_count:]


# Stack.

def _dup_from_alt(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    c.evaluation_stack.append(c.alt_stack[-1])
    e.grow(True, 1)


def _to_alt(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    c.alt_stack.append(c.evaluation_stack.pop())


def _from_alt(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    c.evaluation_stack.append(c.alt_stack.pop())


def _xdrop(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    n = pop_index(c)
    del c.evaluation_stack[-1 - n]
    e.check_stack_size(False, -2)


def _xswap(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    n = pop_index(c)
    e.check_stack_size(True, -1)
    if n:
        s = c.evaluation_stack
        s[-1], s[-1 - n] = s[-1 - n], s[-1]


def _xtuck(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    n = to_int32(s.pop().get_int())
    if n <= 0:
        raise VMError("XTUCK needs a positive depth")
    top = s[-1]
    if n > len(s):
        raise VMError("XTUCK past the bottom")
    s.insert(len(s) - n, top)


def _depth(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    c.evaluation_stack.append(Integer(len(c.evaluation_stack)))
    e.grow(True, 1)


def _drop(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    c.evaluation_stack.pop()
    e.check_stack_size(False, -1)


def _dup(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    c.evaluation_stack.append(c.evaluation_stack[-1])
    e.grow(True, 1)


def _nip(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    if len(s) < 2:
        raise VMError("NIP needs two items")
    del s[-2]
    e.check_stack_size(False, -1)


def _over(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    if len(s) < 2:
        raise VMError("OVER needs two items")
    s.append(s[-2])
    e.grow(True, 1)


def _pick(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    n = pop_index(c)
    c.evaluation_stack.append(c.evaluation_stack[-1 - n])


def _roll(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    n = pop_index(c)
    e.check_stack_size(True, -1)
    if n:
        s = c.evaluation_stack
        s.append(s.pop(-1 - n))


def _rot(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    if len(s) < 3:
        raise VMError("ROT needs three items")
    s.append(s.pop(-3))


def _swap(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    if len(s) < 2:
        raise VMError("SWAP needs two items")
    s.append(s.pop(-2))


def _tuck(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    if len(s) < 2:
        raise VMError("TUCK needs two items")
    s.insert(len(s) - 2, s[-1])
    e.grow(True, 1)


# Splice.

def _cat(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    x2 = s.pop().get_bytes()
    x1 = s.pop().get_bytes()
    if x1 and x2 and len(x1) + len(x2) > MAX_ITEM_SIZE:
        raise VMError("CAT result larger than MaxItemSize")
    result: StackItem = ByteArray(x1 + x2)
    s.append(result)
    e.check_stack_size(True, -1)


def _substr(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    count = pop_index(c)
    index = pop_index(c)
    x = c.evaluation_stack.pop().get_bytes()
    c.evaluation_stack.append(ByteArray(x[index:index + count]))
    e.check_stack_size(True, -2)


def _left(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    count = pop_index(c)
    x = c.evaluation_stack.pop().get_bytes()
    c.evaluation_stack.append(ByteArray(x[:count]))
    e.check_stack_size(True, -1)


def _right(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    count = pop_index(c)
    x = c.evaluation_stack.pop().get_bytes()
    if count > len(x):
        raise VMError("RIGHT past the start")
    c.evaluation_stack.append(ByteArray(x[len(x) - count:]))
    e.check_stack_size(True, -1)


def _size(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    s.append(Integer(len(s.pop().get_bytes())))


def _throw(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    raise VMError("THROW")


def _throw_if_not(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    x = c.evaluation_stack.pop()
    e.check_stack_size(False, -1)
    if not x.get_bool():
        raise VMError("THROWIFNOT")


def register() -> None:
    """
    Fill the dispatch table with this module's opcodes.
    """
    HANDLERS[op.PUSH0] = _push0
    for code in range(op.PUSHBYTES1, op.PUSHDATA4 + 1):
        HANDLERS[code] = _push_bytes
    for code in [op.PUSHM1, *range(op.PUSH1, op.PUSH16 + 1)]:
        HANDLERS[code] = _push_int
    table = {
        op.NOP: _nop, op.JMP: _jmp, op.JMPIF: _jmp_if, op.JMPIFNOT: _jmp_if, op.CALL: _call,
        op.RET: _ret, op.APPCALL: _app_call, op.TAILCALL: _app_call, op.SYSCALL: _syscall,
        op.CALL_I: _call_isolated, op.CALL_E: _call_isolated, op.CALL_ED: _call_isolated,
        op.CALL_ET: _call_isolated, op.CALL_EDT: _call_isolated,
        0x6A: _dup_from_alt, 0x6B: _to_alt, 0x6C: _from_alt, 0x6D: _xdrop, 0x72: _xswap,
        0x73: _xtuck, 0x74: _depth, 0x75: _drop, 0x76: _dup, 0x77: _nip, 0x78: _over,
        0x79: _pick, 0x7A: _roll, 0x7B: _rot, 0x7C: _swap, 0x7D: _tuck,
        0x7E: _cat, 0x7F: _substr, 0x80: _left, 0x81: _right, 0x82: _size,
        0xF0: _throw, 0xF1: _throw_if_not,
    }
    for code, handler in table.items():
        HANDLERS[code] = handler
