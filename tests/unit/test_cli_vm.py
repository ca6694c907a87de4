"""
Tests for C{neonode vm run} (L{neo_twisted.cli.vm}): the final state and stacks as JSON in
neo's shapes (docs/neo2-vm.md §14.1), the trace, GAS and step limits, and bad input.
"""

from __future__ import annotations

import io
import json
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.cli import main
from neo_twisted.cli.vm import MAX_SCRIPT_SIZE, RECURSIVE, stack_item_json
from neo_twisted.crypto.hashes import hash160
from neo_twisted.vm.items import Array, Boolean, ByteArray, Integer, InteropInterface, Struct


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["vm", "run", *argv], stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


class RunTests(SynchronousTestCase):
    def document(self, *argv: str) -> Any:
        """
        The JSON document the command prints, after checking it succeeded.
        """
        status, out, err = run(*argv)
        self.assertEqual((status, err), (0, ""))
        return json.loads(out)

    def test_halt_with_result(self) -> None:
        """
        PUSH1 PUSH2 ADD PUSHBYTES2 "ab" PUSHT: HALT, the result stack bottom to top.
        """
        result = self.document("515293" "026162" "51" "00")
        self.assertEqual(result, {
            "state": "HALT",
            "stack": [{"type": "Integer", "value": "3"},
                      {"type": "ByteArray", "value": "6162"},
                      {"type": "Integer", "value": "1"},
                      {"type": "ByteArray", "value": ""}],
            "invocation_stack": [],
        })

    def test_hex_on_stdin(self) -> None:
        status, out, _ = run("-", stdin=" 0x 4f \n")
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out)["stack"], [{"type": "Integer", "value": "-1"}])

    def test_fault(self) -> None:
        """
        PUSH5 THROW: FAULT, an empty result stack, the reason, and the context where it
        stopped (its hash in neo's display order).
        """
        result = self.document("55f0")
        self.assertEqual(result["state"], "FAULT")
        self.assertEqual(result["stack"], [])
        self.assertIn("THROW", str(result["fault"]))
        [context] = result["invocation_stack"]
        self.assertEqual(context["ip"], 1)
        self.assertEqual(context["evaluation_stack"], [{"type": "Integer", "value": "5"}])
        self.assertEqual(context["alt_stack"], [])
        self.assertEqual(context["script_hash"],
                         "0x" + hash160(bytes.fromhex("55f0"))[::-1].hex())

    def test_checksig_without_container_faults(self) -> None:
        """
        No C{--message}: no container, so CHECKSIG FAULTs as neo's RPC invocations do.
        """
        script = "21" + "02" + "11" * 32 + "40" + "00" * 64 + "ac"
        self.assertEqual(self.document(script)["state"], "FAULT")

    def test_message_container(self) -> None:
        """
        With C{--message}, CHECKSIG gets its message: a bad signature is false, not a FAULT.
        """
        script = "40" + "00" * 64 + "21" + "02" + "11" * 32 + "ac"
        result = self.document(script, "--message", "abcd")
        self.assertEqual(result["state"], "HALT")
        self.assertEqual(result["stack"], [{"type": "Boolean", "value": False}])

    def test_map_and_array_shapes(self) -> None:
        """
        NEWMAP DUP PUSH1 PUSH2 SWAP SETITEM; PUSH2 NEWSTRUCT: a Map of key/value objects and
        a Struct shown as an Array.
        """
        result = self.document("c77651527cc4" "52c6")
        self.assertEqual(result["stack"], [
            {"type": "Map", "value": [{"key": {"type": "Integer", "value": "2"},
                                       "value": {"type": "Integer", "value": "1"}}]},
            {"type": "Array", "value": [{"type": "Boolean", "value": False},
                                        {"type": "Boolean", "value": False}]},
        ])

    def test_recursive_reference(self) -> None:
        """
        An array appended to itself: neo's error string instead of the stack.
        """
        result = self.document("00c57676c8")
        self.assertEqual((result["state"], result["stack"]), ("HALT", RECURSIVE))

    def test_trace(self) -> None:
        """
        One compact JSON line per instruction, the implicit RET included, then the document.
        """
        status, out, _ = run("5152" "93", "--trace")
        self.assertEqual(status, 0)
        lines = out.split("\n")
        trace = [json.loads(line) for line in lines[:4]]
        self.assertEqual([(t["ip"], t["opcode"], t["depth"]) for t in trace],
                         [(0, "PUSH1", 1), (1, "PUSH2", 1), (2, "ADD", 1), (3, "RET", 0)])
        self.assertEqual(trace[1]["stack"], [{"type": "Integer", "value": "1"},
                                             {"type": "Integer", "value": "2"}])
        self.assertEqual(trace[2]["stack"], [{"type": "Integer", "value": "3"}])
        self.assertEqual(json.loads("\n".join(lines[4:]))["state"], "HALT")

    def test_trace_names_pushbytes(self) -> None:
        status, out, _ = run("03616263", "--trace")
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out.split("\n")[0])["opcode"], "PUSHBYTES3")

    def test_gas_limit(self) -> None:
        """
        JMP to itself costs 0.001 GAS a turn: with a 0.005 limit the sixth turn FAULTs, and
        the GAS charged includes it (as neo reports it).
        """
        result = self.document("620000", "--gas-limit", "0.005")
        self.assertEqual(result["state"], "FAULT")
        self.assertEqual(result["gas_consumed"], "0.006")
        self.assertIn("GAS", str(result["fault"]))

    def test_gas_reported(self) -> None:
        result = self.document("515293", "--gas-limit", "10")
        self.assertEqual((result["state"], result["gas_consumed"]), ("HALT", "0.001"))

    def test_step_cap(self) -> None:
        """
        A script looping forever stops at the cap, in BREAK, where it was.
        """
        result = self.document("620000", "--max-steps", "7")
        self.assertEqual(result["state"], "BREAK")
        [context] = result["invocation_stack"]
        self.assertEqual(context["ip"], 0)


class BadInputTests(SynchronousTestCase):
    def assertError(self, argv: tuple[str, ...], message: str, stdin: str = "") -> None:
        status, out, err = run(*argv, stdin=stdin)
        self.assertEqual((status, out), (1, ""))
        self.assertTrue(err.startswith("neonode: error: "), err)
        self.assertIn(message, err)
        self.assertEqual(err.count("\n"), 1)

    def test_not_hex(self) -> None:
        self.assertError(("51zz",), "not hex: 'z' at digit 2")

    def test_odd_digits(self) -> None:
        self.assertError(("515",), "odd number of hex digits")

    def test_empty(self) -> None:
        self.assertError((), "no input")

    def test_too_long(self) -> None:
        """
        A script over 1 MiB is refused before it runs; exactly 1 MiB runs.
        """
        self.assertError(("-",), f"over the VM's limit of {MAX_SCRIPT_SIZE}",
                         stdin="61" * (MAX_SCRIPT_SIZE + 1))
        status, out, _ = run("-", stdin="66" + "00" * (MAX_SCRIPT_SIZE - 1))
        self.assertEqual((status, json.loads(out)["state"]), (0, "HALT"))

    def test_bad_message(self) -> None:
        self.assertError(("51", "--message", "xyzw"), "not hex")

    def test_bad_gas_limit(self) -> None:
        self.assertError(("51", "--gas-limit", "lots"), "--gas-limit")
        self.assertError(("51", "--gas-limit", "-1"), "--gas-limit")

    def test_bad_max_steps(self) -> None:
        self.assertError(("51", "--max-steps", "0"), "--max-steps")


class ItemJsonTests(SynchronousTestCase):
    def test_shapes(self) -> None:
        self.assertEqual(stack_item_json(Boolean(True)), {"type": "Boolean", "value": True})
        self.assertEqual(stack_item_json(Integer(-10**30)),
                         {"type": "Integer", "value": str(-10**30)})
        self.assertEqual(stack_item_json(ByteArray(b"\x00\xff")),
                         {"type": "ByteArray", "value": "00ff"})
        self.assertEqual(stack_item_json(InteropInterface(object())),
                         {"type": "InteropInterface"})

    def test_shared_child(self) -> None:
        """
        The same array twice in one item is refused even without a cycle (neo does too);
        two equal but distinct arrays are fine.
        """
        child = Array([Integer(1)])
        self.assertRaises(ValueError, stack_item_json, Struct([child, child]))
        self.assertEqual(stack_item_json(Array([Array(), Array()]))["value"],
                         [{"type": "Array", "value": []}] * 2)
