"""
Script decoding (docs/neo2-vm.md §2), the push builder, and every opcode on every kind
of stack item: each either runs or FAULTs, nothing escapes the engine.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from neo_twisted.vm.builder import push_bytes, push_int
from neo_twisted.vm.engine import ExecutionEngine, VMState
from neo_twisted.vm.items import (
    Array,
    Boolean,
    ByteArray,
    Integer,
    InteropInterface,
    Map,
    MapKey,
    StackItem,
    Struct,
    VMError,
)
from neo_twisted.vm.opcodes import DEFINED, OPCODE_NAMES
from neo_twisted.vm.script import Script, decode
from tests.support.property_settings import FUZZ, ROUND_TRIP
from tests.support.vm_engine import Message
from tests.support.vm_vectors import DictScriptTable


class DecodeTests(TestCase):
    def test_operand_sizes(self) -> None:
        cases = {"4c0201020304": (4, "0102"), "4d02000102": (5, "0102"),
                 "4e020000000102": (7, "0102"), "620500": (3, "0500"),
                 "e0010203040506": (5, "01020304"), "e20102": (3, "0102"),
                 "6804aabbccdd": (6, "aabbccdd"), "93": (1, "")}
        for script, (size, operand) in cases.items():
            instruction = decode(bytes.fromhex(script), 0)
            self.assertEqual((instruction.size, instruction.operand.hex()), (size, operand),
                             script)

    def test_truncated_and_null_operands_raise(self) -> None:
        for script in ("4c", "4c05010203", "4c00", "4d0000", "4effffffff", "6800", "0201",
                       "6701"):
            self.assertRaises(VMError, decode, bytes.fromhex(script), 0)

    def test_past_the_end_is_ret(self) -> None:
        script = Script(b"\x51")
        self.assertEqual(script.instruction(1).opcode, 0x66)
        self.assertIs(script.instruction(0), script.instruction(0))

    def test_names(self) -> None:
        self.assertEqual(OPCODE_NAMES[0x00], "PUSH0")
        self.assertEqual(OPCODE_NAMES[0x02], "2")
        self.assertEqual(OPCODE_NAMES[0x4B], "PUSHBYTES75")
        self.assertEqual(OPCODE_NAMES[0x51], "PUSH1")
        self.assertEqual(OPCODE_NAMES[0x50], "80")
        undefined = {0x50, 0x8E, 0x9D, 0xA6, 0xAB, *range(0x6E, 0x72), *range(0x88, 0x8B),
                     *range(0xAF, 0xC0), *range(0xCE, 0xE0), *range(0xE5, 0xF0),
                     *range(0xF2, 0x100)}
        self.assertEqual(DEFINED, frozenset(range(256)) - undefined)

    @ROUND_TRIP
    @given(st.binary(max_size=70_000))
    def test_push_bytes_round_trip(self, data: bytes) -> None:
        """
        Whatever the length, the builder's push decodes to one instruction carrying the data.
        """
        script = push_bytes(data)
        engine = ExecutionEngine()
        engine.load_script(script)
        self.assertEqual(engine.execute(), VMState.HALT)
        self.assertEqual(engine.result_stack[0].get_bytes(), data)
        if data:
            self.assertEqual(decode(script, 0).size, len(script))

    @ROUND_TRIP
    @given(st.integers(min_value=-(2**255), max_value=2**255 - 1))
    def test_push_int_round_trip(self, value: int) -> None:
        engine = ExecutionEngine()
        engine.load_script(push_int(value))
        engine.execute()
        self.assertEqual(engine.result_stack[0].get_int(), value)


def _items() -> st.SearchStrategy[StackItem]:
    def with_map(entries: list[tuple[bytes, StackItem]]) -> Map:
        m = Map()
        for key, value in entries:
            m.entries[MapKey(ByteArray(key))] = value
        return m

    primitives: st.SearchStrategy[StackItem] = st.one_of(
        st.binary(max_size=40).map(ByteArray),
        st.integers(min_value=-(2**260), max_value=2**260).map(Integer),
        st.integers(min_value=-3, max_value=40).map(Integer),
        st.booleans().map(Boolean),
        st.just(InteropInterface(object())),
    )
    return st.recursive(primitives, lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(Array),
        st.lists(inner, max_size=4).map(Struct),
        st.lists(st.tuples(st.binary(max_size=2), inner), max_size=3).map(with_map),
    ), max_leaves=8)


class EveryOpcodeTests(TestCase):
    @FUZZ
    @given(st.integers(min_value=0, max_value=255), st.binary(min_size=22, max_size=22),
           st.lists(_items(), max_size=6), st.lists(_items(), max_size=2))
    def test_never_raises(self, code: int, operand: bytes, stack: list[StackItem],
                          alt: list[StackItem]) -> None:
        """
        One instruction on arbitrary items: the engine ends in BREAK-able NONE, HALT or FAULT.
        """
        engine = ExecutionEngine(container=Message(b"m"), script_table=DictScriptTable([b"\x51"]))
        context = engine.load_script(bytes([code]) + operand)
        context.evaluation_stack.extend(stack)
        context.alt_stack.extend(alt)
        engine.execute_next()
        self.assertIn(engine.state, (VMState.NONE, VMState.HALT, VMState.FAULT, VMState.BREAK))
        if code not in DEFINED:
            self.assertEqual(engine.state, VMState.FAULT)
