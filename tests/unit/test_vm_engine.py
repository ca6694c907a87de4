"""
The execution engine: calls and returns, interop dispatch, the GAS hook, the stack-size
counter and FAULT handling (docs/neo2-vm.md §1, §5, §8, §9, §11.1).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from neo_twisted.crypto.hashes import hash160
from neo_twisted.vm.builder import ops, push_bytes, push_int, syscall
from neo_twisted.vm.debugger import Debugger
from neo_twisted.vm.engine import (
    INT_MAX,
    MAX_STACK_SIZE,
    ExecutionContext,
    ExecutionEngine,
    VMState,
)
from neo_twisted.vm.interop import ServiceTable, execution_engine_services
from neo_twisted.vm.items import Array, Integer, Struct
from neo_twisted.vm.script import Instruction
from tests.support.property_settings import FUZZ
from tests.support.vm_engine import run
from tests.support.vm_vectors import DictScriptTable


class CountingMeter:
    """
    A GAS meter that allows C{budget} charged instructions and records what it saw.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.seen: list[tuple[int, bool]] = []

    def pre_execute(self, engine: ExecutionEngine, context: ExecutionContext,
                    instruction: Instruction) -> bool:
        implicit = context.ip >= len(context.script)
        self.seen.append((instruction.opcode, implicit))
        if implicit:
            return True
        self.budget -= 1
        return self.budget >= 0


class CallTests(TestCase):
    def test_call_moves_the_stack_and_returns(self) -> None:
        """
        CALL runs a subroutine on the caller's whole stack; RET hands everything back.
        """
        # 0: PUSH2, 1: CALL +4 -> 5, 4: RET, 5: PUSH3, 6: ADD, 7: RET
        script = ops("PUSH2") + bytes([0x65, 4, 0]) + ops("RET", "PUSH3", "ADD", "RET")
        engine = run(script)
        self.assertEqual(engine.state, VMState.HALT)
        self.assertEqual([i.get_int() for i in engine.result_stack], [5])

    def test_call_i_moves_only_its_parameters(self) -> None:
        """
        CALL_I takes pcount items and returns rvcount; the rest stays with the caller.
        """
        # 0: PUSH7 PUSH1 PUSH2, 3: CALL_I(rv=1, p=2, 3 + 6 + 2 = 11), 8: RET, 11: ADD RET
        script = ops("PUSH7", "PUSH1", "PUSH2") + bytes([0xE0, 1, 2, 6, 0]) + ops("RET") \
            + ops("NOP", "NOP", "ADD", "RET")
        engine = run(script)
        self.assertEqual(engine.state, VMState.HALT, engine.fault_reason)
        self.assertEqual([i.get_int() for i in engine.result_stack], [7, 3])

    def test_dynamic_appcall_and_tailcall(self) -> None:
        """
        A zero operand takes the hash from the stack; TAILCALL drops the caller.
        """
        callee = ops("PUSH5", "ADD")
        table = DictScriptTable([callee])
        target = hash160(callee)
        dynamic = push_int(1) + push_bytes(target) + bytes([0x67]) + bytes(20) + ops("PUSH1")
        engine = run(dynamic, table=table)
        self.assertEqual([i.get_int() for i in engine.result_stack], [6, 1])
        tail = push_int(2) + bytes([0x69]) + target + ops("PUSH1")
        engine = run(tail, table=table)
        self.assertEqual([i.get_int() for i in engine.result_stack], [7])

    def test_missing_contract_faults(self) -> None:
        script = bytes([0x67]) + b"\x01" * 20
        self.assertEqual(run(script, table=DictScriptTable([])).state, VMState.FAULT)
        self.assertEqual(run(script).state, VMState.FAULT)

    def test_jump_targets(self) -> None:
        """
        A jump to the script's length is an implicit RET; one past it FAULTs.
        """
        self.assertEqual(run(ops("PUSH1") + bytes([0x62, 3, 0]) + ops("PUSH2")).state,
                         VMState.HALT)
        self.assertEqual(run(ops("PUSH1") + bytes([0x62, 4, 0])).state, VMState.FAULT)
        self.assertEqual(run(bytes([0x62, 0xFF, 0xFF])).state, VMState.FAULT)

    def test_step_over_and_out(self) -> None:
        script = bytes([0x65, 4, 0]) + ops("RET", "PUSH1", "PUSH2", "RET")
        engine = ExecutionEngine()
        engine.load_script(script)
        debugger = Debugger(engine)
        self.assertEqual(debugger.step_over(), VMState.BREAK)
        self.assertEqual(len(engine.invocation_stack), 1)
        self.assertEqual(engine.current_context.ip, 3)
        engine2 = ExecutionEngine()
        engine2.load_script(script)
        debugger2 = Debugger(engine2)
        debugger2.step_into()
        debugger2.step_into()
        self.assertEqual(len(engine2.invocation_stack), 2)
        self.assertEqual(debugger2.step_out(), VMState.BREAK)
        self.assertEqual(len(engine2.invocation_stack), 1)
        self.assertEqual(len(engine2.current_context.evaluation_stack), 2)

    def test_breakpoint_stops_execute(self) -> None:
        script = ops("PUSH1", "PUSH2", "PUSH3")
        engine = ExecutionEngine()
        engine.load_script(script)
        debugger = Debugger(engine)
        debugger.add_breakpoint(hash160(script), 2)
        self.assertEqual(debugger.execute(), VMState.BREAK)
        self.assertEqual(engine.current_context.ip, 2)
        self.assertEqual(debugger.execute(), VMState.HALT)
        self.assertEqual(len(engine.result_stack), 3)


class InteropTests(TestCase):
    def test_syscall_by_name_and_by_hash(self) -> None:
        name = "System.ExecutionEngine.GetExecutingScriptHash"
        for compressed in (False, True):
            script = syscall(name, compressed)
            engine = run(script)
            self.assertEqual(engine.state, VMState.HALT)
            self.assertEqual(engine.result_stack[0].get_bytes(), hash160(script))

    def test_calling_hash_is_empty_without_caller(self) -> None:
        engine = run(syscall("System.ExecutionEngine.GetCallingScriptHash"))
        self.assertEqual(engine.result_stack[0].get_bytes(), b"")

    def test_script_hashes_across_a_call(self) -> None:
        """
        Inside a contract: executing = its hash, calling and entry = the entry script's.
        """
        names = ("GetExecutingScriptHash", "GetCallingScriptHash", "GetEntryScriptHash")
        callee = b"".join(syscall("System.ExecutionEngine." + n) for n in names)
        entry = bytes([0x67]) + hash160(callee)
        engine = run(entry, table=DictScriptTable([callee]))
        self.assertEqual(engine.state, VMState.HALT, engine.fault_reason)
        self.assertEqual([i.get_bytes() for i in engine.result_stack],
                         [hash160(callee), hash160(entry), hash160(entry)])

    def test_vm_tests_calling_hash_faults_without_caller(self) -> None:
        service = execution_engine_services(ServiceTable(), vm_tests=True)
        engine = ExecutionEngine(service=service)
        engine.load_script(syscall("System.ExecutionEngine.GetCallingScriptHash"))
        self.assertEqual(engine.execute(), VMState.FAULT)

    def test_unknown_service_faults(self) -> None:
        self.assertEqual(run(syscall("System.Nothing")).state, VMState.FAULT)
        self.assertEqual(run(bytes([0x68, 4]) + b"\0\0\0\0").state, VMState.FAULT)


class GasMeterTests(TestCase):
    def test_meter_sees_each_instruction_and_can_stop(self) -> None:
        """
        The hook runs before every instruction (the implicit RET flagged) and False FAULTs
        before the instruction runs.
        """
        meter = CountingMeter(10)
        engine = run(ops("PUSH1", "PUSH2", "ADD"), gas_meter=meter)
        self.assertEqual(engine.state, VMState.HALT)
        self.assertEqual(meter.seen, [(0x51, False), (0x52, False), (0x93, False), (0x66, True)])
        meter = CountingMeter(2)
        engine = run(ops("PUSH1", "PUSH2", "ADD"), gas_meter=meter)
        self.assertEqual(engine.state, VMState.FAULT)
        self.assertEqual(engine.current_context.ip, 2)
        self.assertEqual(len(engine.current_context.evaluation_stack), 2)


class StackSizeTests(TestCase):
    def test_counter_rules(self) -> None:
        """
        Strict growth past 2048 fails; a non-strict call recounts; below zero means int.MaxValue.
        """
        engine = ExecutionEngine()
        engine.load_script(b"")
        self.assertTrue(engine.check_stack_size(True, MAX_STACK_SIZE))
        self.assertFalse(engine.check_stack_size(True, 1))
        self.assertTrue(engine.check_stack_size(False, 0))  # deep recount: 0 items
        self.assertTrue(engine.check_stack_size(True, 1))
        engine.check_stack_size(True, -5)  # below zero: int.MaxValue, still strict
        self.assertFalse(engine.check_stack_size(True, 1))
        self.assertEqual(engine.stack_size, INT_MAX)
        self.assertTrue(engine.check_stack_size(False, INT_MAX))

    def test_deep_count_follows_references_once(self) -> None:
        engine = ExecutionEngine()
        context = engine.load_script(b"")
        shared = Array([Integer(1), Integer(2)])
        context.evaluation_stack.extend([shared, shared])
        context.alt_stack.append(Struct([shared]))
        engine.check_stack_size(True, INT_MAX)
        # 2 + 2 (shared's items, once) + 1 (struct) + 1 (shared inside it) = 6
        self.assertTrue(engine.check_stack_size(False, 0))
        self.assertEqual(engine.stack_size, 6)

    def test_limit_through_dup(self) -> None:
        script = ops("PUSH1") + ops("DUP") * 2047
        self.assertEqual(run(script).state, VMState.HALT)
        self.assertEqual(run(script + ops("DUP")).state, VMState.FAULT)


class CollectionTests(TestCase):
    def test_struct_cloned_when_stored_not_when_picked(self) -> None:
        # s = NEWSTRUCT(1); a = NEWARRAY(1); a[0] = s (clone); s[0] = 5; a[0][0] stays false
        script = (push_int(1) + ops("NEWSTRUCT", "DUP") + push_int(1) + ops("NEWARRAY", "DUP")
                  + push_int(0) + ops("PUSH3", "PICK", "SETITEM", "SWAP") + push_int(0)
                  + push_int(5) + ops("SETITEM") + push_int(0) + ops("PICKITEM")
                  + push_int(0) + ops("PICKITEM"))
        engine = run(script)
        self.assertEqual(engine.state, VMState.HALT, engine.fault_reason)
        self.assertIs(engine.result_stack[-1].get_bool(), False)

    def test_map_round_trip(self) -> None:
        script = (ops("NEWMAP", "DUP") + push_int(1) + push_bytes(b"v") + ops("SETITEM", "DUP")
                  + push_bytes(b"\x01") + ops("PICKITEM"))
        engine = run(script)
        self.assertEqual(engine.result_stack[-1].get_bytes(), b"v")


class FaultTests(TestCase):
    def test_decoding_faults(self) -> None:
        for script in ("4c05010203", "4c00", "4d0000", "6800", "01", "e001"):
            self.assertEqual(run(bytes.fromhex(script)).state, VMState.FAULT, script)

    def test_fault_is_final(self) -> None:
        """
        Executing a FAULTed engine again does nothing.
        """
        engine = run(ops("PUSH1", "THROW", "PUSH2"))
        self.assertEqual(engine.state, VMState.FAULT)
        self.assertEqual(engine.execute(), VMState.FAULT)
        self.assertEqual(engine.current_context.ip, 1)

    def test_undefined_opcodes_fault(self) -> None:
        for code in (0x50, 0x6E, 0x8E, 0xAF, 0xFF):
            self.assertEqual(run(bytes([code])).state, VMState.FAULT, hex(code))

    @FUZZ
    @given(st.binary(max_size=64), st.lists(st.binary(max_size=40), max_size=2))
    def test_random_scripts_end_cleanly(self, script: bytes, contracts: list[bytes]) -> None:
        """
        Whatever the bytes, stepping never raises and ends HALT, FAULT or still BREAK.
        """
        engine = ExecutionEngine(container=None, script_table=DictScriptTable(contracts))
        engine.load_script(script)
        debugger = Debugger(engine)
        for _ in range(300):
            if debugger.step_into() in (VMState.HALT, VMState.FAULT):
                break
            self.assertLessEqual(len(engine.invocation_stack), 1024)
        self.assertIn(engine.state, (VMState.HALT, VMState.FAULT, VMState.BREAK))
        if engine.state == VMState.HALT:
            self.assertEqual(engine.invocation_stack, [])


class StackOpcodeTests(TestCase):
    """
    The stack opcodes, which no official vector covers, against §6's table.
    """

    def _stack(self, script: bytes) -> list[int]:
        engine = ExecutionEngine()
        context = engine.load_script(script + bytes([0x61]))
        for _ in range(len(script) + 5):
            if context.ip >= len(script):
                break
            engine.execute_next()
            self.assertEqual(engine.state, VMState.BREAK, engine.fault_reason)
        return [item.get_int() for item in context.evaluation_stack]

    def test_table(self) -> None:
        base = ops("PUSH1", "PUSH2", "PUSH3", "PUSH4")
        cases = [
            ("PUSH2 XDROP", [1, 3, 4]), ("PUSH2 XSWAP", [1, 4, 3, 2]),
            ("PUSH0 XSWAP", [1, 2, 3, 4]), ("PUSH2 XTUCK", [1, 2, 4, 3, 4]),
            ("PUSH4 XTUCK", [4, 1, 2, 3, 4]), ("DEPTH", [1, 2, 3, 4, 4]),
            ("NIP", [1, 2, 4]), ("OVER", [1, 2, 3, 4, 3]), ("PUSH3 PICK", [1, 2, 3, 4, 1]),
            ("PUSH3 ROLL", [2, 3, 4, 1]), ("ROT", [1, 3, 4, 2]), ("SWAP", [1, 2, 4, 3]),
            ("TUCK", [1, 2, 4, 3, 4]), ("TOALTSTACK DUPFROMALTSTACK FROMALTSTACK", [1, 2, 3, 4, 4]),
        ]
        for names, expected in cases:
            self.assertEqual(self._stack(base + ops(*names.split())), expected, names)

    def test_faults(self) -> None:
        base = ops("PUSH1", "PUSH2")
        for names in ("PUSHM1 XDROP", "PUSH2 XDROP", "PUSH0 XTUCK", "PUSH3 XTUCK", "PUSH2 PICK",
                      "PUSHM1 ROLL", "ROT", "FROMALTSTACK", "DUPFROMALTSTACK", "DROP DROP DROP"):
            self.assertEqual(run(base + ops(*names.split())).state, VMState.FAULT, names)
