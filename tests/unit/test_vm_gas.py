"""
GAS prices (docs/neo2-vm.md §10): the 13 pricing cases of neo's unit tests, run against
the engine's GAS hook with a stub service table, and the meter's limit.
"""

from __future__ import annotations

import json

from twisted.trial.unittest import TestCase

from neo_twisted.vm.builder import ops, push_bytes, push_int, syscall
from neo_twisted.vm.debugger import Debugger
from neo_twisted.vm.engine import ExecutionEngine, VMState
from neo_twisted.vm.gas import GAS_FREE, RATIO, GasLimitMeter, opcode_price
from neo_twisted.vm.items import Integer
from tests.support.vectors import vectors_dir


def _load(name: str) -> dict[str, object]:
    data = json.loads((vectors_dir() / "vm" / name).read_text(encoding="utf-8-sig"))
    assert isinstance(data, dict)
    return data


def stub_prices() -> dict[int, int]:
    """
    The fixed prices of interop_services.json by method hash ("dynamic" ones left out, as 0).
    """
    services = _load("interop_services.json")["services"]
    assert isinstance(services, list)
    return {int(s["hash_uint32_le"]): s["price"] for s in services if isinstance(s["price"], int)}


class PriceCaseTests(TestCase):
    def test_interop_price_cases(self) -> None:
        """
        Each case: step over its pushes, then the SYSCALL at the pointer has the expected price.
        """
        cases = _load("interop_price_cases.json")["cases"]
        assert isinstance(cases, list)
        self.assertEqual(len(cases), 13)
        prices = stub_prices()
        for case in cases:
            engine = ExecutionEngine()
            engine.load_script(bytes.fromhex(case["script"]))
            debugger = Debugger(engine)
            for _ in range(case["step_into"]):
                debugger.step_into()
            self.assertEqual(engine.state, VMState.BREAK, case["name"])
            context = engine.current_context
            instruction = context.script.instruction(context.ip)
            self.assertEqual(opcode_price(context, instruction, prices), case["expected_price"],
                             case["name"])

    def test_opcode_prices(self) -> None:
        cases = [("PUSH16", 0), ("NOP", 0), ("ADD", 1), ("SHA256", 10), ("HASH160", 20),
                 ("CHECKSIG", 100), ("RET", 1), ("THROW", 1)]
        engine = ExecutionEngine()
        context = engine.load_script(b"")
        for name, price in cases:
            self.assertEqual(opcode_price(context, engine.load_script(ops(name)).script
                                          .instruction(0), {}), price, name)
        multisig = engine.load_script(ops("CHECKMULTISIG")).script.instruction(0)
        self.assertEqual(opcode_price(context, multisig, {}), 1)
        context.evaluation_stack.append(Integer(3))
        self.assertEqual(opcode_price(context, multisig, {}), 300)


class MeterTests(TestCase):
    def test_out_of_gas_includes_the_failing_instruction(self) -> None:
        """
        A loop stops with FAULT once it spends more than the free 10 GAS plus the extra.
        """
        loop = bytes([0x62, 0, 0])  # JMP to itself: 1 unit a step
        meter = GasLimitMeter({}, gas=0)
        engine = ExecutionEngine(gas_meter=meter)
        engine.load_script(loop)
        self.assertEqual(engine.execute(), VMState.FAULT)
        self.assertEqual(meter.consumed, GAS_FREE + RATIO)

    def test_unknown_syscall_costs_one_unit(self) -> None:
        meter = GasLimitMeter({}, test_mode=True)
        engine = ExecutionEngine(gas_meter=meter)
        engine.load_script(push_int(1) + push_bytes(b"x") + syscall("System.Unknown"))
        self.assertEqual(engine.execute(), VMState.FAULT)
        self.assertEqual(meter.consumed, RATIO)
