"""
Integer, bitwise, comparison and signature opcodes, checked against C#'s BigInteger rules.

The official vectors cover none of these (vectors/vm/README.md), so these tests carry
the examples of docs/neo2-vm.md §6, §7 and §16 and properties of a model of C#.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from neo_twisted.crypto.keys import KeyPair
from neo_twisted.vm.builder import ops, push_bytes, push_int
from neo_twisted.vm.items import Boolean, ByteArray, Integer, StackItem, fits_bigint
from tests.support.property_settings import ROUND_TRIP
from tests.support.vm_engine import Message, faults, result

LIMIT = 2**255
in_range = st.integers(min_value=-LIMIT, max_value=LIMIT - 1)


def _binary(a: int, b: int, name: str) -> bytes:
    return push_int(a) + push_int(b) + ops(name)


def _value(item: StackItem) -> int | bool | bytes:
    if isinstance(item, Integer | Boolean):
        return item.value
    return item.get_bytes()


class ArithmeticTests(TestCase):
    def test_reference_examples(self) -> None:
        """
        -7 / 2 = -3, -7 % 2 = -1, -7 >> 1 = -4 (§6, checked against neo-python).
        """
        self.assertEqual(_value(result(_binary(-7, 2, "DIV"))), -3)
        self.assertEqual(_value(result(_binary(-7, 2, "MOD"))), -1)
        self.assertEqual(_value(result(_binary(7, -2, "MOD"))), 1)
        self.assertEqual(_value(result(_binary(-7, 1, "SHR"))), -4)
        self.assertEqual(_value(result(_binary(1, -1, "SHR"))), 2)
        self.assertEqual(_value(result(_binary(8, -2, "SHL"))), 2)
        self.assertTrue(faults(_binary(1, 257, "SHL")))
        self.assertTrue(faults(_binary(1, 0, "DIV")))
        self.assertTrue(faults(_binary(1, 0, "MOD")))

    def test_push0_is_empty_bytes(self) -> None:
        """
        PUSH0 INC DEC is Integer 0, which is not EQUAL to PUSH0 but is NUMEQUAL.
        """
        self.assertIs(_value(result(ops("PUSH0", "INC", "DEC", "PUSH0", "EQUAL"))), False)
        self.assertIs(_value(result(ops("PUSH0", "INC", "DEC", "PUSH0", "NUMEQUAL"))), True)
        self.assertEqual(type(result(ops("PUSH0"))), ByteArray)
        self.assertEqual(type(result(ops("PUSH1"))), Integer)

    @ROUND_TRIP
    @given(in_range, in_range.filter(lambda b: b != 0))
    def test_division_truncates(self, a: int, b: int) -> None:
        """
        C#: a = q*b + r, |r| < |b|, r has the dividend's sign, q rounds toward zero.
        """
        q = _value(result(_binary(a, b, "DIV")))
        r = _value(result(_binary(a, b, "MOD")))
        assert isinstance(q, int) and isinstance(r, int)
        self.assertEqual(q * b + r, a)
        self.assertLess(abs(r), abs(b))
        self.assertTrue(r == 0 or (r < 0) == (a < 0))
        self.assertLessEqual(abs(q * b), abs(a))

    @ROUND_TRIP
    @given(in_range, in_range, st.sampled_from(["ADD", "SUB", "MUL"]))
    def test_result_limit(self, a: int, b: int, name: str) -> None:
        """
        ADD, SUB and MUL FAULT exactly when the result needs more than 32 bytes.
        """
        exact = {"ADD": a + b, "SUB": a - b, "MUL": a * b}[name]
        if fits_bigint(exact):
            self.assertEqual(_value(result(_binary(a, b, name))), exact)
        else:
            self.assertTrue(faults(_binary(a, b, name)))

    def test_input_limit(self) -> None:
        """
        INC faults on a 33-byte input; NEGATE and comparisons do not check it.
        """
        big = push_bytes(bytes(32) + b"\x01")
        self.assertTrue(faults(big + ops("INC")))
        self.assertEqual(_value(result(big + ops("NEGATE"))), -(2**256))
        self.assertEqual(_value(result(big + push_int(1) + ops("GT"))), True)
        self.assertTrue(faults(push_int(LIMIT - 1) + ops("INC")))

    def test_comparisons_and_logic(self) -> None:
        cases = [
            (_binary(3, 5, "LT"), True), (_binary(3, 5, "GTE"), False),
            (_binary(3, 5, "MIN"), 3), (_binary(3, 5, "MAX"), 5),
            (push_int(4) + _binary(3, 5, "WITHIN"), True),
            (push_int(5) + _binary(3, 5, "WITHIN"), False),
            (_binary(6, 3, "AND"), 2), (_binary(6, 3, "XOR"), 5),
            (push_int(5) + ops("INVERT"), -6), (push_int(-5) + ops("SIGN"), -1),
            (push_int(-5) + ops("ABS"), 5), (ops("PUSH0", "NOT"), True),
            (ops("PUSH0", "PUSH1", "BOOLOR"), True), (ops("PUSH0", "PUSH1", "BOOLAND"), False),
            (push_int(2) + ops("NZ"), True),
        ]
        for script, expected in cases:
            self.assertEqual(_value(result(script)), expected, script.hex())


class SignatureTests(TestCase):
    keys = sorted((KeyPair(bytes([i]) * 32) for i in (1, 2, 3)),
                  key=lambda k: k.public_key.encode())
    message = b"unsigned transaction"

    def _check(self, script: bytes) -> bool:
        value = _value(result(script, container=Message(self.message)))
        assert isinstance(value, bool)
        return value

    def test_checksig(self) -> None:
        key = self.keys[0]
        public = key.public_key.encode()
        good = push_bytes(key.sign(self.message)) + push_bytes(public) + ops("CHECKSIG")
        self.assertTrue(self._check(good))
        bad = push_bytes(key.sign(b"other")) + push_bytes(public) + ops("CHECKSIG")
        self.assertFalse(self._check(bad))
        wrong_key = push_bytes(key.sign(self.message)) + push_bytes(b"\x05" * 33) + ops("CHECKSIG")
        self.assertFalse(self._check(wrong_key))

    def test_checksig_without_container_faults(self) -> None:
        key = self.keys[0]
        script = push_bytes(key.sign(self.message)) + push_bytes(key.public_key.encode())
        self.assertTrue(faults(script + ops("CHECKSIG")))

    def test_verify_takes_the_message_from_the_stack(self) -> None:
        key = self.keys[1]
        script = (push_bytes(b"free text") + push_bytes(key.sign(b"free text"))
                  + push_bytes(key.public_key.encode()) + ops("VERIFY"))
        self.assertIs(_value(result(script)), True)

    def _multisig(self, signers: list[KeyPair], m: int, as_array: bool = False) -> bytes:
        sigs = b"".join(push_bytes(k.sign(self.message)) for k in signers)
        keys = b"".join(push_bytes(k.public_key.encode()) for k in self.keys)
        if as_array:
            return (sigs + push_int(len(signers)) + ops("PACK") + keys
                    + push_int(len(self.keys)) + ops("PACK", "CHECKMULTISIG"))
        return (sigs + push_int(len(signers)) + keys + push_int(len(self.keys))
                + ops("CHECKMULTISIG"))

    def test_checkmultisig(self) -> None:
        """
        Signatures in key order pass, in another order fail; counts and arrays both work.
        """
        a, b, c = self.keys
        self.assertTrue(self._check(self._multisig([a, c], 2)))
        self.assertTrue(self._check(self._multisig([b, c], 2, as_array=True)))
        self.assertFalse(self._check(self._multisig([c, a], 2)))
        self.assertFalse(self._check(self._multisig([a, a], 2)))

    def test_checkmultisig_bad_counts_fault(self) -> None:
        keys = push_bytes(self.keys[0].public_key.encode())
        sig = push_bytes(self.keys[0].sign(self.message))
        container = Message(self.message)
        self.assertTrue(faults(sig + push_int(2) + keys + push_int(1) + ops("CHECKMULTISIG"),
                               container))
        self.assertTrue(faults(sig + push_int(1) + keys + push_int(0) + ops("CHECKMULTISIG"),
                               container))
        self.assertTrue(faults(sig + push_int(1) + keys + push_int(5) + ops("CHECKMULTISIG"),
                               container))
