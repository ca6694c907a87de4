# -*- test-case-name: tests.unit.test_cli_vm -*-
"""
C{neonode vm run SCRIPT_HEX}: a script run on the bare NeoVM, its final state and stacks
printed as JSON in the shapes neo's RPC gives stack items (docs/neo2-vm.md §14.1).

The engine gets what neo-vm's own test harness gives it: the four
C{System.ExecutionEngine.*} services, no contracts and no container (C{--message} supplies
one, for CHECKSIG). A step cap keeps a script that loops forever from hanging the command:
hitting it leaves the engine in BREAK, which is what is printed.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, TextIO

from neo_twisted.cli.decode import parse_hex
from neo_twisted.cli.errors import CommandError
from neo_twisted.core.jsonify import JSON, Json
from neo_twisted.vm.engine import ExecutionContext, ExecutionEngine, VMState
from neo_twisted.vm.gas import GAS_FREE, GasLimitMeter
from neo_twisted.vm.interop import ServiceTable, execution_engine_services
from neo_twisted.vm.items import (
    Array,
    Boolean,
    ByteArray,
    Integer,
    InteropInterface,
    Map,
    StackItem,
)
from neo_twisted.vm.opcodes import OPCODE_NAMES, PUSHBYTES1, PUSHBYTES75
from neo_twisted.vm.script import MAX_ITEM_SIZE
from neo_twisted.wire.fixed8 import format_fixed8, parse_fixed8

if TYPE_CHECKING:
    from neo_twisted.cli.errors import Subcommands

#: The longest script accepted: neo refuses to deploy a contract over 1 MiB (§4).
MAX_SCRIPT_SIZE = MAX_ITEM_SIZE
#: Instructions run before the command gives up on a script (it then shows BREAK).
DEFAULT_MAX_STEPS = 1_000_000
#: What C{ToJson} makes of a stack holding one collection twice (§14.1).
RECURSIVE = "error: recursive reference"


class _RecursiveError(Exception):
    """
    An item holds the same Array or Map object twice.
    """


class Message:
    """
    A script container that is only the bytes CHECKSIG verifies (as neo-vm's test harness).
    """

    def __init__(self, message: bytes) -> None:
        self.message = message

    def get_message(self) -> bytes:
        return self.message


def _item_json(item: StackItem, seen: set[int]) -> JSON:
    if isinstance(item, Boolean):
        return {"type": "Boolean", "value": item.value}
    if isinstance(item, Integer):
        return {"type": "Integer", "value": str(item.value)}
    if isinstance(item, ByteArray):
        return {"type": "ByteArray", "value": item.value.hex()}
    if isinstance(item, (Array, Map)):
        if id(item) in seen:
            raise _RecursiveError
        seen.add(id(item))
        if isinstance(item, Array):
            return {"type": "Array", "value": [_item_json(i, seen) for i in item.items]}
        return {"type": "Map", "value": [
            {"key": _item_json(k.item, seen), "value": _item_json(v, seen)}
            for k, v in item.entries.items()]}
    if isinstance(item, InteropInterface):
        return {"type": "InteropInterface"}
    raise TypeError(f"not a stack item: {item!r}")


def stack_item_json(item: StackItem) -> JSON:
    """
    One item as neo's C{ContractParameter.ToJson} (Struct shows as Array); raises
    C{ValueError} when it holds a collection twice, which neo refuses too.
    """
    try:
        return _item_json(item, set())
    except _RecursiveError:
        raise ValueError(RECURSIVE) from None


def stack_json(items: list[StackItem]) -> Json:
    """
    A stack bottom to top, or neo's error string if an item holds a collection twice.
    """
    try:
        return [stack_item_json(i) for i in items]
    except ValueError:
        return RECURSIVE


def opcode_name(code: int) -> str:
    """
    The opcode's name; the pushes C# leaves nameless are shown as C{PUSHBYTESn}.
    """
    if PUSHBYTES1 <= code <= PUSHBYTES75:
        return f"PUSHBYTES{code}"
    return OPCODE_NAMES[code]


def _context_json(context: ExecutionContext) -> JSON:
    return {
        "script_hash": "0x" + context.script_hash[::-1].hex(),
        "ip": context.ip,
        "evaluation_stack": stack_json(context.evaluation_stack),
        "alt_stack": stack_json(context.alt_stack),
    }


def final_json(engine: ExecutionEngine, meter: GasLimitMeter | None) -> JSON:
    """
    The document printed last: state, result stack and what is left of the invocation stack.
    """
    result: JSON = {"state": engine.state.name}
    if meter is not None:
        result["gas_consumed"] = format_fixed8(meter.consumed)
    result["stack"] = stack_json(engine.result_stack)
    if engine.fault_reason is not None:
        result["fault"] = engine.fault_reason
    result["invocation_stack"] = [_context_json(c) for c in reversed(engine.invocation_stack)]
    return result


def _trace_json(ip: int, code: int, engine: ExecutionEngine) -> JSON:
    stack = (engine.current_context.evaluation_stack if engine.invocation_stack
             else engine.result_stack)
    return {"ip": ip, "opcode": opcode_name(code), "depth": len(engine.invocation_stack),
            "stack": stack_json(stack)}


def run_script(engine: ExecutionEngine, max_steps: int, trace: TextIO | None) -> VMState:
    """
    Step C{engine} until it stops or C{max_steps} instructions ran (then BREAK); with
    C{trace}, one JSON line per instruction: where it was, and the stack it left.
    """
    engine.state = VMState.NONE
    for _ in range(max_steps):
        if engine.state != VMState.NONE:
            return engine.state
        if not engine.invocation_stack:
            engine.execute_next()
            continue
        context = engine.current_context
        ip, code = context.ip, context.next_opcode()
        engine.execute_next()
        if trace is not None:
            trace.write(json.dumps(_trace_json(ip, code, engine), separators=(",", ":")))
            trace.write("\n")
    if engine.state == VMState.NONE:
        engine.state = VMState.BREAK
    return engine.state


def _engine(script: bytes, message: bytes | None,
            meter: GasLimitMeter | None) -> ExecutionEngine:
    service = execution_engine_services(ServiceTable(), vm_tests=True)
    engine = ExecutionEngine(container=None if message is None else Message(message),
                             service=service, gas_meter=meter)
    engine.load_script(script)
    return engine


def _gas_meter(text: str | None) -> GasLimitMeter | None:
    if text is None:
        return None
    try:
        limit = parse_fixed8(text)
    except ValueError as e:
        raise CommandError(f"--gas-limit: {e}") from None
    if limit < 0:
        raise CommandError("--gas-limit: must not be negative")
    # The meter adds the free 10 GAS to what it is given; the limit given here is the total.
    return GasLimitMeter({}, gas=limit - GAS_FREE)


def _run(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    text = stdin.read() if args.script == "-" else args.script
    script = parse_hex(text)
    if len(script) > MAX_SCRIPT_SIZE:
        raise CommandError(f"the script is {len(script)} bytes, over the VM's limit of "
                           f"{MAX_SCRIPT_SIZE}")
    message = None if args.message is None else parse_hex(args.message)
    if args.max_steps < 1:
        raise CommandError("--max-steps must be at least 1")
    meter = _gas_meter(args.gas_limit)
    engine = _engine(script, message, meter)
    run_script(engine, args.max_steps, stdout if args.trace else None)
    json.dump(final_json(engine, meter), stdout, indent=2)
    stdout.write("\n")


def add_parser(commands: Subcommands) -> None:
    vm = commands.add_parser("vm", help="run NeoVM scripts")
    actions = vm.add_subparsers(dest="vm_command", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run", help="run a script on the bare VM; print its final state and stacks as JSON")
    run.add_argument("script", metavar="SCRIPT_HEX",
                     help="the script in hex (- or nothing: read it from standard input)",
                     nargs="?", default="-")
    run.add_argument("--trace", action="store_true",
                     help="first print one JSON line per instruction executed")
    run.add_argument("--message", metavar="HEX",
                     help="the script container's message (what CHECKSIG verifies)")
    run.add_argument("--gas-limit", metavar="GAS",
                     help="stop with FAULT past this much GAS, at neo's prices "
                          "(default: no GAS accounting)")
    run.add_argument("--max-steps", type=int, default=DEFAULT_MAX_STEPS, metavar="N",
                     help=f"stop with BREAK after N instructions (default {DEFAULT_MAX_STEPS})")
    run.set_defaults(run=_run)
