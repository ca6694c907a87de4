"""
The NeoVM fuzz target: the input is a script, run on the bare engine.

Nothing may raise out of the engine (every failure is a FAULT), the limits hold after
every instruction (the stack-size counter, item and collection sizes, invocation depth),
and a run ends in HALT or FAULT within a step and GAS budget enforced through the engine's
own GAS hook. A HALT's result stack must print as strict JSON in neo's shapes.

The script may call itself: the script table holds it (dynamic APPCALL of its own hash
reaches the depth limit), and the container's message is the script, so CHECKSIG runs.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from fuzz.registry import CheckError, Target, register, strict_json
from neo_twisted.cli.vm import Message, stack_json
from neo_twisted.crypto.hashes import hash160
from neo_twisted.vm import opcodes as op
from neo_twisted.vm.engine import (
    INT_MAX,
    MAX_ARRAY_SIZE,
    MAX_INVOCATION_STACK_SIZE,
    MAX_STACK_SIZE,
    ExecutionContext,
    ExecutionEngine,
    VMState,
)
from neo_twisted.vm.gas import opcode_price
from neo_twisted.vm.interop import ServiceTable, execution_engine_services
from neo_twisted.vm.items import Array, ByteArray, Integer, Map, StackItem
from neo_twisted.vm.script import MAX_ITEM_SIZE, Instruction

#: Instructions a run may take; the engine is stopped (FAULT) on the next one.
STEP_BUDGET = 20_000
#: GAS (in price units of 0.001 GAS) a run may spend: a little over neo's 10 free GAS, so
#: that a script APPCALLing itself reaches the depth limit first.
GAS_BUDGET = 12_000
#: How often (in steps) every reachable item is walked; the cheap checks run every step.
DEEP_CHECK_EVERY = 256
#: An Integer may outgrow its operand by a byte (NEGATE of the most negative value).
_MAX_INT_BITS = 8 * (MAX_ITEM_SIZE + 1)


class BudgetMeter:
    """
    A GAS hook that charges neo's prices and also counts steps; past either budget the
    engine must FAULT.

    @ivar multisigs: CHECKMULTISIGs begun: each may leave the reference's counter one
        below the true count (docs/neo2-vm.md §5).
    """

    def __init__(self, steps: int = STEP_BUDGET, gas: int = GAS_BUDGET) -> None:
        self.max_steps = steps
        self.max_gas = gas
        self.steps = 0
        self.gas = 0
        self.multisigs = 0

    def pre_execute(self, engine: ExecutionEngine, context: ExecutionContext,
                    instruction: Instruction) -> bool:
        self.steps += 1
        if instruction.opcode == op.CHECKMULTISIG:
            self.multisigs += 1
        if context.ip < len(context.script.data):
            self.gas += opcode_price(context, instruction, {})
        return self.steps <= self.max_steps and self.gas <= self.max_gas


class SelfTable:
    """
    The script table: the script under test, by its hash.
    """

    def __init__(self, script: bytes) -> None:
        self.script_hash = hash160(script)
        self.script = script

    def get_script(self, script_hash: bytes) -> bytes | None:
        return self.script if script_hash == self.script_hash else None


def _walk(items: list[StackItem]) -> int:
    """
    Check the size of every item reachable from C{items}; how many the reference's deep
    count finds (each reference counted, each collection opened once).
    """
    queue = list(items)
    seen: set[int] = set()
    count = len(queue)
    while queue:
        item = queue.pop()
        if isinstance(item, ByteArray) and len(item.value) > MAX_ITEM_SIZE:
            raise CheckError(f"a {len(item.value)}-byte ByteArray")
        if isinstance(item, Integer) and item.value.bit_length() > _MAX_INT_BITS:
            raise CheckError(f"a {item.value.bit_length()}-bit Integer")
        if isinstance(item, (Array, Map)) and id(item) not in seen:
            seen.add(id(item))
            children = item.items if isinstance(item, Array) else list(item.entries.values())
            if len(children) > MAX_ARRAY_SIZE:
                raise CheckError(f"a {item.type_name} of {len(children)} items")
            count += len(children)
            queue.extend(children)
    return count


def _check_items(engine: ExecutionEngine, slack: int) -> None:
    """
    Every reachable item within the size limits, and the true count of the contexts'
    items within 2048 plus the drift CHECKMULTISIG may leave.
    """
    _walk(engine.result_stack)
    stacks: list[StackItem] = []
    for context in engine.invocation_stack:
        stacks.extend(context.evaluation_stack)
        stacks.extend(context.alt_stack)
    count = _walk(stacks)
    if engine.state != VMState.FAULT and count > MAX_STACK_SIZE + slack:
        raise CheckError(f"{count} items on the stacks")


def _check_step(engine: ExecutionEngine) -> None:
    depth = len(engine.invocation_stack)
    if depth > MAX_INVOCATION_STACK_SIZE:
        raise CheckError(f"invocation depth {depth}")
    # The engine's copy of the reference's counter (private: there is no public view).
    counter = engine.stack_size
    if engine.state != VMState.FAULT and MAX_STACK_SIZE < counter < INT_MAX:
        raise CheckError(f"the stack-size counter is {counter}")


def run_script(script: bytes, meter: BudgetMeter | None = None) -> ExecutionEngine:
    """
    Run C{script} under the budgets, checking the limits as it goes; the engine, stopped.
    """
    meter = BudgetMeter() if meter is None else meter
    service = execution_engine_services(ServiceTable())
    engine = ExecutionEngine(container=Message(script), script_table=SelfTable(script),
                             service=service, gas_meter=meter)
    engine.load_script(script)
    engine.state = VMState.NONE
    for step in range(STEP_BUDGET + 2):
        engine.execute_next()
        _check_step(engine)
        if engine.state != VMState.NONE:
            break
        if step % DEEP_CHECK_EVERY == 0:
            _check_items(engine, meter.multisigs)
    else:
        raise CheckError(f"still running after {STEP_BUDGET + 2} steps")
    _check_items(engine, meter.multisigs)
    if engine.state == VMState.HALT:
        if engine.invocation_stack:
            raise CheckError("HALT with contexts left")
        strict_json(json.dumps(stack_json(engine.result_stack)))
    elif engine.state != VMState.FAULT or engine.fault_reason is None:
        raise CheckError(f"ended in {engine.state.name} (reason {engine.fault_reason!r})")
    return engine


def _vector_scripts() -> list[bytes]:
    from tests.support.vm_vectors import decode_bytes, vm_vectors_root

    scripts: list[bytes] = []
    for path in sorted(Path(vm_vectors_root()).rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8-sig"))
        for test in document.get("tests", []):
            scripts.append(decode_bytes(test["script"]))
            scripts.extend(decode_bytes(e["script"]) for e in test.get("scriptTable", []))
    return scripts


def _syscall(name: str) -> bytes:
    return bytes((op.SYSCALL, len(name))) + name.encode("ascii")


#: Scripts that reach a limit: CALL and dynamic APPCALL of itself (depth), DUP forever
#: (stack size), CAT doubling (item size), a jump to itself (the budgets), an array
#: holding itself (the JSON of a HALT).
LIMIT_SCRIPTS = (
    bytes.fromhex("650000"),
    _syscall("System.ExecutionEngine.GetExecutingScriptHash") + b"\x67" + bytes(20),
    bytes.fromhex("5176" "62ffff"),
    bytes.fromhex("0161" "767e" "62feff"),
    bytes.fromhex("620000"),
    bytes.fromhex("00c5" "76" "76c8" "66"),
)


def vm_seeds() -> list[bytes]:
    """
    The limit scripts, every script of the official vectors, and random bytes (the same
    every run), weighted toward defined opcodes.
    """
    rng = random.Random(26)
    defined = sorted(op.DEFINED)
    noise = []
    for _ in range(64):
        length = rng.randrange(1, 80)
        noise.append(bytes(rng.choice(defined) if rng.random() < 0.8 else rng.randrange(256)
                           for _ in range(length)))
    return [*LIMIT_SCRIPTS, *_vector_scripts(), *noise]


register(Target("vm.execute", run_script, (), vm_seeds, max_len=4096))
