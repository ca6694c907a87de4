# -*- test-case-name: tests.unit.test_vm_interop -*-
"""
SYSCALL dispatch (docs/neo2-vm.md §11.1) and the execution-engine services the bare VM knows.

A SYSCALL names its service by ASCII name or, compressed, by the 4-byte
C{SHA256(name)[0:4]}; both resolve to the same uint32, so one table serves both.
"""

from __future__ import annotations

from collections.abc import Callable

from neo_twisted.crypto.hashes import sha256
from neo_twisted.vm.engine import ExecutionEngine
from neo_twisted.vm.items import ByteArray, InteropInterface, VMError

#: A service handler: reads and pushes on the engine's current context; False is a FAULT.
ServiceHandler = Callable[[ExecutionEngine], bool]


def method_hash(name: str | bytes) -> int:
    """
    C{ToInteropMethodHash}: the first 4 bytes of SHA-256 of the ASCII name, as a uint32 LE.
    """
    raw = name.encode("ascii") if isinstance(name, str) else name
    return int.from_bytes(sha256(raw)[:4], "little")


def operand_hash(operand: bytes) -> int:
    """
    The hash a SYSCALL operand designates: 4 bytes are the hash itself, anything else a name.
    """
    if len(operand) == 4:
        return int.from_bytes(operand, "little")
    return method_hash(operand)


class ServiceTable:
    """
    An L{neo_twisted.vm.interfaces.InteropService} holding handlers by method hash.
    """

    def __init__(self) -> None:
        self._handlers: dict[int, ServiceHandler] = {}
        self._names: dict[int, str] = {}

    def register(self, name: str, handler: ServiceHandler) -> None:
        key = method_hash(name)
        self._handlers[key] = handler
        self._names[key] = name

    def name_of(self, operand: bytes) -> str | None:
        return self._names.get(operand_hash(operand))

    def invoke(self, method: bytes, engine: ExecutionEngine) -> bool:
        handler = self._handlers.get(operand_hash(method))
        return handler is not None and handler(engine)


def _push(engine: ExecutionEngine, value: bytes) -> bool:
    engine.current_context.evaluation_stack.append(ByteArray(value))
    return True


def _entry_hash(engine: ExecutionEngine) -> bool:
    return _push(engine, engine.entry_context.script_hash)


def _executing_hash(engine: ExecutionEngine) -> bool:
    return _push(engine, engine.current_context.script_hash)


def _calling_hash_or_empty(engine: ExecutionEngine) -> bool:
    caller = engine.calling_context
    return _push(engine, b"" if caller is None else caller.script_hash)


def _calling_hash_strict(engine: ExecutionEngine) -> bool:
    caller = engine.calling_context
    if caller is None:
        raise VMError("no calling context")
    return _push(engine, caller.script_hash)


def _script_container(engine: ExecutionEngine) -> bool:
    engine.current_context.evaluation_stack.append(InteropInterface(engine.container))
    return True


def execution_engine_services(table: ServiceTable, *, vm_tests: bool = False) -> ServiceTable:
    """
    Register the four C{System.ExecutionEngine.*} services on C{table}.

    @param vm_tests: neo-vm's test harness behaviour, where C{GetCallingScriptHash}
        throws without a caller; neo pushes an empty array instead.
    """
    prefix = "System.ExecutionEngine."
    table.register(prefix + "GetScriptContainer", _script_container)
    table.register(prefix + "GetExecutingScriptHash", _executing_hash)
    table.register(prefix + "GetCallingScriptHash",
                   _calling_hash_strict if vm_tests else _calling_hash_or_empty)
    table.register(prefix + "GetEntryScriptHash", _entry_hash)
    return table
