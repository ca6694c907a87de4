"""
Run neo-vm v2.4.3's JSON unit tests the way its C# harness does (vectors/vm/README.md).

Each test builds a bare engine (no GAS, the four test services), loads the script and
runs its steps through the debugger; after every step the whole state is compared:
state, invocation stack top first, each context's stacks, and the result stack. A
missing key is an empty stack.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

from neo_twisted.crypto.hashes import hash160
from neo_twisted.vm.debugger import Debugger
from neo_twisted.vm.engine import ExecutionContext, ExecutionEngine
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
from neo_twisted.vm.opcodes import OPCODE_NAMES
from tests.support.vectors import vectors_dir

#: A stack item or state as plain comparable data.
Plain = object


def vm_vectors_root() -> Path:
    return vectors_dir() / "vm" / "neo-vm-v2.4.3" / "Tests"


def vector_files() -> list[Path]:
    """
    Every JSON test file, sorted, as paths relative to L{vm_vectors_root}.
    """
    root = vm_vectors_root()
    return sorted(p.relative_to(root) for p in root.rglob("*.json"))


class MessageProvider:
    """
    The C# harness's script container: only a message (its class name shows in the JSON).
    """

    def __init__(self, message: bytes) -> None:
        self.message = message

    def get_message(self) -> bytes:
        return self.message


class DictScriptTable:
    """
    Contracts by Hash160 of their script.
    """

    def __init__(self, scripts: list[bytes]) -> None:
        self.scripts = {hash160(s): s for s in scripts}

    def get_script(self, script_hash: bytes) -> bytes | None:
        return self.scripts.get(script_hash)


def decode_bytes(text: str) -> bytes:
    """
    The vectors' byte strings: hex after C{0x}, base64 otherwise.
    """
    if text.startswith("0x"):
        return bytes.fromhex(text[2:])
    return base64.b64decode(text)


def item_plain(item: StackItem) -> Plain:
    if isinstance(item, Boolean):
        return ["Boolean", item.value]
    if isinstance(item, Integer):
        return ["Integer", str(item.value)]
    if isinstance(item, ByteArray):
        return ["ByteArray", item.value.hex()]
    if isinstance(item, Array):
        return [item.type_name, [item_plain(i) for i in item.items]]
    if isinstance(item, Map):
        return ["Map", {k.item.get_bytes().hex(): item_plain(v) for k, v in item.entries.items()}]
    if isinstance(item, InteropInterface):
        return ["Interop", type(item.target).__name__]
    return ["?", repr(item)]


def _dict(value: object) -> dict[str, object]:
    assert isinstance(value, dict), value
    return value


def _list(record: dict[str, object], key: str) -> list[object]:
    """
    A list field of a vector record; a missing key is an empty list.
    """
    value = record.get(key, [])
    assert isinstance(value, list), value
    return value


def expected_item(raw: object) -> Plain:
    data = _dict(raw)
    kind, value = data["type"], data.get("value")
    if kind == "Boolean":
        return ["Boolean", bool(value)]
    if kind == "Integer":
        return ["Integer", str(int(str(value)))]
    if kind == "ByteArray":
        return ["ByteArray", decode_bytes(str(value)).hex()]
    if kind == "String":
        return ["ByteArray", str(value).encode("utf-8").hex()]
    if kind in ("Array", "Struct"):
        assert isinstance(value, list)
        return [kind, [expected_item(v) for v in value]]
    if kind == "Map":
        return ["Map", {decode_bytes(k).hex(): expected_item(v)
                        for k, v in _dict(value).items()}]
    return [str(kind), value]


def _stack(items: list[StackItem]) -> list[Plain]:
    return [item_plain(i) for i in reversed(items)]


def _context_plain(context: ExecutionContext) -> Plain:
    return {
        "scriptHash": "0x" + context.script_hash.hex().upper(),
        "instructionPointer": context.ip,
        "nextInstruction": OPCODE_NAMES[context.next_opcode()],
        "evaluationStack": _stack(context.evaluation_stack),
        "altStack": _stack(context.alt_stack),
    }


def actual_state(engine: ExecutionEngine) -> Plain:
    return {
        "state": engine.state.name,
        "invocationStack": [_context_plain(c) for c in reversed(engine.invocation_stack)],
        "resultStack": _stack(engine.result_stack),
    }


def expected_state(raw: object) -> Plain:
    result = _dict(raw)
    contexts = []
    for entry in _list(result, "invocationStack"):
        context = _dict(entry)
        contexts.append({
            "scriptHash": str(context["scriptHash"]).upper().replace("0X", "0x"),
            "instructionPointer": context["instructionPointer"],
            "nextInstruction": context["nextInstruction"],
            "evaluationStack": [expected_item(i) for i in _list(context, "evaluationStack")],
            "altStack": [expected_item(i) for i in _list(context, "altStack")],
        })
    return {
        "state": str(result["state"]).upper(),
        "invocationStack": contexts,
        "resultStack": [expected_item(i) for i in _list(result, "resultStack")],
    }


_ACTIONS = {"Execute": Debugger.execute, "StepInto": Debugger.step_into,
            "StepOver": Debugger.step_over, "StepOut": Debugger.step_out}


def run_test(test: dict[str, object]) -> Iterator[tuple[int, Plain, Plain]]:
    """
    Run one test; yield C{(step, expected, actual)} for every step that differs.
    """
    message = test.get("message")
    container = MessageProvider(decode_bytes(message)) if isinstance(message, str) else None
    table_spec = test.get("scriptTable")
    table = None
    if isinstance(table_spec, list):
        table = DictScriptTable([decode_bytes(str(_dict(e)["script"])) for e in table_spec])
    service = execution_engine_services(ServiceTable(), vm_tests=True)
    engine = ExecutionEngine(container=container, script_table=table, service=service)
    engine.load_script(decode_bytes(str(test["script"])))
    debugger = Debugger(engine)
    for index, entry in enumerate(_list(test, "steps")):
        step = _dict(entry)
        for action in _list(step, "actions"):
            _ACTIONS[str(action)](debugger)
        expected = expected_state(step["result"])
        actual = actual_state(engine)
        if expected != actual:
            yield index, expected, actual


def run_file(relative: Path) -> tuple[int, list[str]]:
    """
    Run every test of one vector file: the number of tests and a report per failing test.
    """
    path = vm_vectors_root() / relative
    document = json.loads(path.read_text(encoding="utf-8-sig"))
    failures = []
    tests = _list(_dict(document), "tests")
    for raw in tests:
        test = _dict(raw)
        for step, expected, actual in run_test(test):
            failures.append(f"{relative} / {test.get('name', '?')!r} step {step}:\n"
                            f"  expected {json.dumps(expected)}\n  actual   {json.dumps(actual)}")
            break
    return len(tests), failures
