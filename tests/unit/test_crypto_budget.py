"""
Tests for L{neo_twisted.crypto.budget} and the budget checks of
L{neo_twisted.crypto.witness}: what a standard witness costs in the reference's
VM, the widest multisig that can ever verify, and refusing wider ones (and
misshapen invocations) before any signature is checked.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.crypto import witness as witness_module
from neo_twisted.crypto.budget import (
    FREE_VERIFICATION_GAS,
    FREE_VERIFICATION_GAS_2_12,
    GAS_RATIO,
    affordable,
    free_verification_gas,
    max_multisig_keys,
    multisig_witness_price,
    signature_witness_price,
)
from neo_twisted.crypto.scripts import multisig_redeem_script, script_hash
from neo_twisted.crypto.witness import verify_witness, witness_problem
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.fixed8 import FIXED8_ONE
from tests.support.ledger_samples import DEV_KEYS, PRIVNET
from tests.support.samples import MAINNET_VALIDATORS
from tests.support.witness_samples import wide_multisig, wide_witness

MAINNET_MAGIC = 7630401
TESTNET_MAGIC = 1953787457
MESSAGE = b"the unsigned bytes of some transaction"


class PriceTests(SynchronousTestCase):
    """
    The price arithmetic, in units of 0.001 GAS (neo2-vm.md section 10).
    """

    def test_single_signature(self) -> None:
        """
        Two free pushes and CHECKSIG: 100 units, 0.1 GAS.
        """
        self.assertEqual(signature_witness_price(), 100)
        self.assertEqual(signature_witness_price() * GAS_RATIO, FIXED8_ONE // 10)
        self.assertTrue(affordable(signature_witness_price()))

    def test_multisig_costs_per_key(self) -> None:
        """
        CHECKMULTISIG costs 100 a key, whatever m; pushes cost nothing.
        """
        self.assertEqual(multisig_witness_price(1, 7), 700)
        self.assertEqual(multisig_witness_price(5, 7), 700)
        self.assertEqual(multisig_witness_price(7, 7), 700)
        self.assertEqual(multisig_witness_price(1, 1024), 102_400)

    def test_widest_multisig_with_ten_gas(self) -> None:
        """
        100 keys cost exactly the 10 free GAS (the engine FAULTs only past it); 101 do not fit.
        """
        self.assertEqual(max_multisig_keys(), 100)
        self.assertEqual(multisig_witness_price(100, 100) * GAS_RATIO, FREE_VERIFICATION_GAS)
        self.assertTrue(affordable(multisig_witness_price(1, 100)))
        self.assertTrue(affordable(multisig_witness_price(100, 100)))
        self.assertFalse(affordable(multisig_witness_price(1, 101)))
        self.assertFalse(affordable(multisig_witness_price(1, 1024)))

    def test_widest_multisig_with_fifty_gas(self) -> None:
        """
        2.12's 50 free GAS pay for 500 keys, not 501.
        """
        self.assertEqual(max_multisig_keys(FREE_VERIFICATION_GAS_2_12), 500)
        self.assertTrue(affordable(multisig_witness_price(1, 500), FREE_VERIFICATION_GAS_2_12))
        self.assertFalse(affordable(multisig_witness_price(1, 501), FREE_VERIFICATION_GAS_2_12))

    def test_free_gas_by_height(self) -> None:
        """
        neo-cli 2.12.2's FreeGasChangeHeight: mainnet 6,195,000, testnet 4,840,000,
        compared with the chain's height; other networks never change.
        """
        self.assertEqual(free_verification_gas(MAINNET_MAGIC, 6_194_999), FREE_VERIFICATION_GAS)
        self.assertEqual(free_verification_gas(MAINNET_MAGIC, 6_195_000),
                         FREE_VERIFICATION_GAS_2_12)
        self.assertEqual(free_verification_gas(TESTNET_MAGIC, 4_839_999), FREE_VERIFICATION_GAS)
        self.assertEqual(free_verification_gas(TESTNET_MAGIC, 4_840_000),
                         FREE_VERIFICATION_GAS_2_12)
        self.assertEqual(free_verification_gas(PRIVNET.magic, 10**9), FREE_VERIFICATION_GAS)


class CountingChecks:
    """
    Counts the signature checks of L{neo_twisted.crypto.witness} (the real ones run).
    """

    def __init__(self, case: SynchronousTestCase) -> None:
        self.calls = 0
        original = witness_module.verify_signature  # type: ignore[attr-defined]

        def counting(*args: Any) -> bool:
            self.calls += 1
            return original(*args)

        case.patch(witness_module, "verify_signature", counting)


class WitnessBudgetTests(SynchronousTestCase):
    def test_mainnet_validators_within_budget(self) -> None:
        """
        The mainnet 5-of-7 and a 7-of-7 of the same keys, with their m signatures, fit.
        """
        keys = [ECPoint.from_bytes(bytes.fromhex(k)) for k in MAINNET_VALIDATORS]
        for m in (5, 7):
            script = multisig_redeem_script(m, keys)
            self.assertIsNone(witness_problem((b"\x40" + bytes(64)) * m, script))

    def test_hundred_keys_verify(self) -> None:
        """
        A 1-of-100 multisig is as wide as 10 GAS allows: it verifies.
        """
        witness = wide_witness(MESSAGE, 100)
        script = witness.verification_script
        self.assertIsNone(witness_problem(witness.invocation_script, script))
        self.assertTrue(verify_witness(MESSAGE, witness.invocation_script, script,
                                       script_hash(script)))

    def test_hundred_and_one_keys_refused_unchecked(self) -> None:
        """
        A 1-of-101 multisig, validly signed, costs 10.1 GAS: refused without a
        signature check; with 2.12's 50 GAS it verifies.
        """
        witness = wide_witness(MESSAGE, 101)
        script = witness.verification_script
        problem = witness_problem(witness.invocation_script, script)
        assert problem is not None
        self.assertIn("101 keys costs 10.1 GAS", problem)
        self.assertIn("at most 100 keys", problem)
        checks = CountingChecks(self)
        self.assertFalse(verify_witness(MESSAGE, witness.invocation_script, script,
                                        script_hash(script)))
        self.assertEqual(checks.calls, 0)
        self.assertTrue(verify_witness(MESSAGE, witness.invocation_script, script,
                                       script_hash(script), FREE_VERIFICATION_GAS_2_12))
        self.assertEqual(checks.calls, 101)  # every key tried, the last one matches

    def test_1024_keys_refused_quickly(self) -> None:
        """
        The widest multisig a wallet can make (1024 keys): before, checking a validly
        signed one took every key (about 169 ms); now it is refused at once.
        """
        witness = wide_witness(MESSAGE, 1024)
        script = witness.verification_script
        checks = CountingChecks(self)
        started = time.perf_counter()
        ok = verify_witness(MESSAGE, witness.invocation_script, script, script_hash(script))
        elapsed = time.perf_counter() - started
        self.assertFalse(ok)
        self.assertEqual(checks.calls, 0)
        self.assertLess(elapsed, 0.05)

    def test_invocation_shapes(self) -> None:
        """
        An invocation that cannot be m signatures of 64 bytes is refused unchecked; a
        signature pushed with PUSHDATA1 (valid in the reference) is not.
        """
        key = DEV_KEYS[0]
        script = key.verification_script
        signature = key.sign(MESSAGE)
        cases = {
            b"\x40" + signature + b"\x40" + signature: "1 signature pushes take at most 69",
            b"\x01\x07\x01\x07": "pushes 2 items, not 1",
            b"\x3f" + signature[:63]: "other than 64-byte signatures",
            b"\x51": "other than 64-byte signatures",
            b"": "pushes 0 items",
            b"\x61\x40" + signature: "does more than push",
            b"\x4e" + (200).to_bytes(4, "little") + bytes(200): "take at most 69",
        }
        checks = CountingChecks(self)
        for invocation, fragment in cases.items():
            problem = witness_problem(invocation, script)
            assert problem is not None, invocation.hex()
            self.assertIn(fragment, problem)
            self.assertFalse(verify_witness(MESSAGE, invocation, script, key.script_hash))
        self.assertEqual(checks.calls, 0)
        long_push = b"\x4c\x40" + signature
        self.assertIsNone(witness_problem(long_push, script))
        self.assertTrue(verify_witness(MESSAGE, long_push, script, key.script_hash))

    def test_multisig_invocation_bound(self) -> None:
        """
        A 2-of-3 invocation longer than two signature pushes can be is refused unchecked.
        """
        script, signers = wide_multisig(3, 2)
        invocation = b"".join(b"\x40" + key.sign(MESSAGE) for key in signers)
        self.assertIsNone(witness_problem(invocation, script))
        self.assertTrue(verify_witness(MESSAGE, invocation, script, script_hash(script)))
        problem = witness_problem(invocation + b"\x00" * 9, script)
        assert problem is not None
        self.assertIn("2 signature pushes take at most 138", problem)
