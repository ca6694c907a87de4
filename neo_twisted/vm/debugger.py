# -*- test-case-name: tests.unit.test_vm_debugger -*-
"""
neo-vm's C{Debugger}: step into, over and out of calls, or run, with breakpoints.
"""

from __future__ import annotations

from collections.abc import Callable

from neo_twisted.vm.engine import ExecutionEngine, VMState

_DONE = (VMState.HALT, VMState.FAULT)


class Debugger:
    """
    Drive an engine one instruction, one call or one return at a time.
    """

    def __init__(self, engine: ExecutionEngine) -> None:
        self.engine = engine
        self._breakpoints: set[tuple[bytes, int]] = set()

    def add_breakpoint(self, script_hash: bytes, ip: int) -> None:
        self._breakpoints.add((script_hash, ip))

    def _step(self) -> None:
        engine = self.engine
        engine.execute_next()
        if engine.state == VMState.NONE and self._breakpoints and engine.invocation_stack:
            context = engine.current_context
            if (context.script_hash, context.ip) in self._breakpoints:
                engine.state = VMState.BREAK

    def execute(self) -> VMState:
        engine = self.engine
        if engine.state == VMState.BREAK:
            engine.state = VMState.NONE
        while engine.state == VMState.NONE:
            self._step()
        return engine.state

    def step_into(self) -> VMState:
        engine = self.engine
        if engine.state in _DONE:
            return engine.state
        engine.execute_next()
        if engine.state == VMState.NONE:
            engine.state = VMState.BREAK
        return engine.state

    def step_over(self) -> VMState:
        """
        Run one instruction and any call it makes, until back at this depth or shallower.
        """
        return self._run(lambda depth, start: depth > start, first=True)

    def step_out(self) -> VMState:
        """
        Run until the current context has returned.
        """
        return self._run(lambda depth, start: depth >= start, first=False)

    def _run(self, more: Callable[[int, int], bool], first: bool) -> VMState:
        engine = self.engine
        if engine.state in _DONE:
            return engine.state
        engine.state = VMState.NONE
        start = len(engine.invocation_stack)
        if first:
            self._step()
        while engine.state == VMState.NONE and more(len(engine.invocation_stack), start):
            self._step()
        if engine.state == VMState.NONE:
            engine.state = VMState.BREAK
        return engine.state
