"""
Tests for the NeoVM fuzz target (L{fuzz.vm}): its seeds reach the engine's limits and
end as they should, and each of its checks fails when the engine misbehaves.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from fuzz.registry import CheckError
from fuzz.targets import TARGETS
from fuzz.vm import LIMIT_SCRIPTS, BudgetMeter, run_script, vm_seeds
from neo_twisted.cli.vm import RECURSIVE, stack_json
from neo_twisted.vm import engine as engine_module
from neo_twisted.vm import opcodes as op
from neo_twisted.vm.engine import (
    MAX_INVOCATION_STACK_SIZE,
    ExecutionContext,
    ExecutionEngine,
    Handler,
    VMState,
)
from neo_twisted.vm.items import ByteArray, Integer
from neo_twisted.vm.script import MAX_ITEM_SIZE, Instruction
from tests.support.vm_vectors import vector_files

CALL_ITSELF, APPCALL_ITSELF, DUP_FOREVER, CAT_FOREVER, JMP_ITSELF, SELF_ARRAY = LIMIT_SCRIPTS
#: NOP: the opcode the tests below make misbehave.
NOP_SCRIPT = bytes((op.NOP,))


class SeedTests(SynchronousTestCase):
    def test_registered(self) -> None:
        self.assertIs(TARGETS["vm.execute"].run, run_script)
        self.assertEqual(TARGETS["vm.execute"].allowed, ())

    def test_vector_scripts(self) -> None:
        """
        Every test of the official vectors gives a seed, on top of the limit scripts.
        """
        self.assertEqual(len(vector_files()), 109)
        seeds = vm_seeds()
        self.assertGreater(len(seeds), 295 + len(LIMIT_SCRIPTS))
        self.assertEqual(seeds, vm_seeds())

    def test_depth_limit(self) -> None:
        """
        CALL of itself and dynamic APPCALL of its own hash both stop at 1024 contexts.
        """
        for script in (CALL_ITSELF, APPCALL_ITSELF):
            engine = run_script(script)
            self.assertEqual(engine.state, VMState.FAULT)
            self.assertEqual(len(engine.invocation_stack), MAX_INVOCATION_STACK_SIZE)
            self.assertIn("invocation stack", str(engine.fault_reason))

    def test_stack_and_item_limits(self) -> None:
        self.assertIn("stack size", str(run_script(DUP_FOREVER).fault_reason))
        self.assertIn("MaxItemSize", str(run_script(CAT_FOREVER).fault_reason))

    def test_budget(self) -> None:
        """
        A jump to itself runs out of the GAS budget; with a small step budget, of steps.
        """
        self.assertIn("GAS", str(run_script(JMP_ITSELF).fault_reason))
        meter = BudgetMeter(steps=50)
        self.assertEqual(run_script(JMP_ITSELF, meter).state, VMState.FAULT)
        self.assertEqual(meter.steps, 51)

    def test_recursive_halt(self) -> None:
        """
        A HALT whose result holds an array inside itself prints neo's error string.
        """
        engine = run_script(SELF_ARRAY)
        self.assertEqual(engine.state, VMState.HALT)
        self.assertEqual(stack_json(engine.result_stack), RECURSIVE)


class CheckTests(SynchronousTestCase):
    """
    Each check fails on an engine that breaks what it checks (NOP made to misbehave).
    """

    def misbehave(self, handler: Handler) -> None:
        original = engine_module.HANDLERS[op.NOP]
        engine_module.HANDLERS[op.NOP] = handler
        self.addCleanup(engine_module.HANDLERS.__setitem__, op.NOP, original)

    def assertCaught(self, script: bytes, message: str,
                     meter: BudgetMeter | None = None) -> None:
        e = self.assertRaises(CheckError, run_script, script, meter)
        self.assertIn(message, str(e))

    def test_sane_nop(self) -> None:
        self.assertEqual(run_script(NOP_SCRIPT).state, VMState.HALT)

    def test_item_size(self) -> None:
        def push_huge(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
            c.evaluation_stack.append(ByteArray(bytes(MAX_ITEM_SIZE + 1)))
        self.misbehave(push_huge)
        self.assertCaught(NOP_SCRIPT, "ByteArray")

    def test_uncounted_pushes(self) -> None:
        def push_many(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
            c.evaluation_stack.extend(Integer(n) for n in range(3000))
        self.misbehave(push_many)
        self.assertCaught(NOP_SCRIPT + b"\x61", "items on the stacks")

    def test_counter(self) -> None:
        def overcount(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
            e._count = 5000
        self.misbehave(overcount)
        self.assertCaught(NOP_SCRIPT, "counter is 5000")

    def test_depth(self) -> None:
        def deepen(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
            for _ in range(MAX_INVOCATION_STACK_SIZE):
                e.load_script(NOP_SCRIPT)
        self.misbehave(deepen)
        self.assertCaught(NOP_SCRIPT, "invocation depth 1025")

    def test_exception_escapes(self) -> None:
        """
        What the engine lets out is not allowed: the target crashes.
        """
        def interrupt(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
            raise KeyboardInterrupt
        self.misbehave(interrupt)
        self.assertRaises(KeyboardInterrupt, TARGETS["vm.execute"].check, NOP_SCRIPT)

    def test_meter_ignored(self) -> None:
        """
        An engine still running past the step budget (here: a meter that never says stop).
        """
        self.assertCaught(JMP_ITSELF, "still running", BudgetMeter(steps=10**9, gas=10**9))
