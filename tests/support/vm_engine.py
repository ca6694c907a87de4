"""
Run a NeoVM script to its end and read what it left, for the unit tests.
"""

from __future__ import annotations

from neo_twisted.vm.engine import ExecutionEngine, VMState
from neo_twisted.vm.interfaces import GasMeter, ScriptContainer, ScriptTable
from neo_twisted.vm.interop import ServiceTable, execution_engine_services
from neo_twisted.vm.items import StackItem


class Message:
    """
    A script container that signs over fixed bytes.
    """

    def __init__(self, message: bytes) -> None:
        self.message = message

    def get_message(self) -> bytes:
        return self.message


def run(script: bytes, container: ScriptContainer | None = None,
        table: ScriptTable | None = None, gas_meter: GasMeter | None = None) -> ExecutionEngine:
    """
    Execute C{script} with the standard execution-engine services; the engine, HALT or FAULT.
    """
    engine = ExecutionEngine(container=container, script_table=table,
                             service=execution_engine_services(ServiceTable()),
                             gas_meter=gas_meter)
    engine.load_script(script)
    engine.execute()
    return engine


def result(script: bytes, **kwargs: ScriptContainer | None) -> StackItem:
    """
    The single value a script that HALTs returns.
    """
    engine = run(script, container=kwargs.get("container"))
    if engine.state != VMState.HALT or len(engine.result_stack) != 1:
        raise AssertionError(f"{script.hex()}: {engine.state.name}, {engine.fault_reason}, "
                             f"{len(engine.result_stack)} results")
    return engine.result_stack[0]


def faults(script: bytes, container: ScriptContainer | None = None) -> bool:
    return run(script, container=container).state == VMState.FAULT
