"""
What the host plugs into the engine: the script table, the script container, interop
services and a GAS meter.

These are structural (typing protocols): neo's application engine supplies the real
ones in a later issue; the vector harness and the tests supply small ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from neo_twisted.vm.engine import ExecutionContext, ExecutionEngine
    from neo_twisted.vm.script import Instruction


class ScriptTable(Protocol):
    """
    Contracts reachable by APPCALL, TAILCALL and CALL_E*: a script by its 20-byte hash.
    """

    def get_script(self, script_hash: bytes) -> bytes | None:
        """
        The script, or None when no contract has that hash (a FAULT).
        """


class ScriptContainer(Protocol):
    """
    The transaction or block being verified or executed.
    """

    def get_message(self) -> bytes:
        """
        The bytes CHECKSIG verifies (the unsigned serialization).
        """


class InteropService(Protocol):
    """
    The SYSCALL target: an operand (a name, or a 4-byte hash) to a handler.
    """

    def invoke(self, method: bytes, engine: ExecutionEngine) -> bool:
        """
        Run the service; False (or an exception) makes the instruction FAULT.
        """


class GasMeter(Protocol):
    """
    A hook called before every instruction; False stops the engine with FAULT (out of GAS).
    """

    def pre_execute(self, engine: ExecutionEngine, context: ExecutionContext,
                    instruction: Instruction) -> bool:
        """
        Charge the instruction about to run; C{context.ip >= len(script)} is an implicit RET.
        """


class NoGasMeter:
    """
    The bare VM's meter: everything is free.
    """

    def pre_execute(self, engine: ExecutionEngine, context: ExecutionContext,
                    instruction: Instruction) -> bool:
        return True
