"""
Tests for L{neo_twisted.mempool.rules}: one test per rule of neo2-ledger.md section 3.9,
each with a transaction that passes and one that breaks it, over a real LMDB chain.
"""

from __future__ import annotations

from typing import Any

import attrs

from neo_twisted.core.components import (
    AttributeUsage,
    CoinReference,
    TransactionAttribute,
    TransactionOutput,
    Witness,
)
from neo_twisted.core.transaction import Transaction
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    STATE_ACCOUNT,
    STATE_VALIDATOR,
    ContractTransaction,
    EnrollmentTransaction,
    InvocationTransaction,
    IssueTransaction,
    MinerTransaction,
    PublishTransaction,
    RegisterTransaction,
    StateDescriptor,
    StateTransaction,
)
from neo_twisted.crypto.scripts import multisig_redeem_script, script_hash
from neo_twisted.ledger.state import AssetState
from neo_twisted.ledger.verify import WitnessJob
from neo_twisted.ledger.view import LedgerView, ledger_view
from neo_twisted.mempool.outcome import Refusal
from neo_twisted.mempool.rules import check_against_chain
from neo_twisted.mempool.witness_cache import WitnessCache
from neo_twisted.wire.binary import BinaryWriter
from neo_twisted.wire.uint import UInt160, UInt256
from tests.support.ledger_samples import DEV_KEYS, PRIVNET
from tests.support.mempool_rules_case import ONE, STRANGER, RulesTestCase
from tests.support.mempool_samples import (
    GAS_KEY,
    ISSUER,
    PAYEE,
    signed,
)
from tests.support.witness_samples import (
    count_witness_checks,
    wide_multisig,
    wide_transaction,
    wide_witness,
)


class ExpiredAssets:
    """
    A view of the chain in which every asset has expired at the current height.
    """

    def __init__(self, view: LedgerView) -> None:
        self._view = view

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    def asset(self, asset_id: bytes) -> AssetState | None:
        state = self._view.asset(asset_id)
        return None if state is None else attrs.evolve(state, expiration=self._view.height)


def votes(*keys: Any) -> bytes:
    writer = BinaryWriter()
    writer.write_var_int(len(keys))
    for key in keys:
        key.write(writer)
    return writer.to_bytes()


class SizeAndInputTests(RulesTestCase):
    def test_valid_transfer(self) -> None:
        result = self.assert_accepted(self.neo_transfer())
        self.assertEqual((result.network_fee, result.system_fee), (0, 0))

    def test_size_limit(self) -> None:
        remarks = tuple(TransactionAttribute(AttributeUsage.Remark, bytes(40_000))
                        for _ in range(2))
        self.assert_accepted(self.neo_transfer(attributes=remarks))
        remarks += (TransactionAttribute(AttributeUsage.Remark1, bytes(30_000)),)
        self.assert_refused(self.neo_transfer(attributes=remarks), "more than 102400")

    def test_duplicate_inputs(self) -> None:
        ref = self.chain.coins[0][0]
        self.assert_refused(self.neo_transfer(extra_inputs=(ref,)), "appears twice")

    def test_input_spent_on_chain(self) -> None:
        key = self.chain.coins[0][2]
        tx = signed(ContractTransaction(inputs=(self.chain.claimable,), outputs=(
            TransactionOutput(NEO_ASSET_ID, self.chain.claimable_value, PAYEE.script_hash),)),
            [key])
        self.assert_refused(tx, "is already spent")

    def test_input_unknown(self) -> None:
        unknown = CoinReference(UInt256(b"\x42" * 32), 0)
        self.assert_refused(self.neo_transfer(extra_inputs=(unknown,)), "not a confirmed output")


class OutputAssetTests(RulesTestCase):
    def test_unregistered_asset(self) -> None:
        tx = signed(ContractTransaction(inputs=(self.chain.gas[0],), outputs=(
            TransactionOutput(UInt256(b"\x09" * 32), ONE, PAYEE.script_hash),)), [GAS_KEY])
        self.assert_refused(tx, "is not registered")

    def test_expired_asset(self) -> None:
        tx = self.gas_spend(IssueTransaction(version=1, outputs=(
            TransactionOutput(self.chain.token, ONE, PAYEE.script_hash),
            TransactionOutput(GAS_ASSET_ID, 2 * ONE, GAS_KEY.script_hash))), 0)
        tx = signed(tx, [GAS_KEY, ISSUER])
        self.assert_accepted(tx)
        self.assert_refused(tx, "expired at height", wrap=ExpiredAssets)

    def test_neo_and_gas_never_expire(self) -> None:
        self.assert_accepted(self.neo_transfer(), wrap=ExpiredAssets)

    def test_precision(self) -> None:
        def issue(value: int) -> Transaction:
            return signed(IssueTransaction(version=1, outputs=(
                TransactionOutput(self.chain.token, value, PAYEE.script_hash),)), [ISSUER])
        self.assert_accepted(issue(ONE + ONE // 100))
        self.assert_refused(issue(ONE + ONE // 1000), "finer than its precision of 2")
        self.assert_refused(self.neo_transfer(keep=ONE // 2), "finer than its precision of 0")


class ResultTests(RulesTestCase):
    def test_only_gas_may_be_destroyed(self) -> None:
        ref, value, key = self.chain.coins[0]
        tx = signed(ContractTransaction(inputs=(ref,), outputs=(
            TransactionOutput(NEO_ASSET_ID, value - ONE, PAYEE.script_hash),)), [key])
        self.assert_refused(tx, "only GAS may be left as fees")

    def test_network_fee(self) -> None:
        tx = self.gas_spend(ContractTransaction(outputs=(
            TransactionOutput(GAS_ASSET_ID, 3 * ONE // 2, PAYEE.script_hash),)), 0)
        result = self.assert_accepted(tx)
        self.assertEqual(result.network_fee, ONE // 2)

    def test_system_fee_paid_from_destroyed_gas(self) -> None:
        tx = self.gas_spend(InvocationTransaction(version=1, gas=ONE, outputs=(
            TransactionOutput(GAS_ASSET_ID, ONE // 2, GAS_KEY.script_hash),)), 0)
        result = self.assert_accepted(tx)
        self.assertEqual((result.system_fee, result.network_fee), (ONE, ONE // 2))
        tx = self.gas_spend(InvocationTransaction(version=1, gas=3 * ONE), 0)
        self.assert_refused(tx, "the system fee is 3.0 GAS, but the inputs leave only 2.0")

    def test_type_fee_from_protocol(self) -> None:
        # version 0 issues of a user asset cost IssueTransaction's 500 GAS on the privnet
        issue = IssueTransaction(outputs=(
            TransactionOutput(self.chain.token, ONE, PAYEE.script_hash),))
        tx = signed(self.gas_spend(issue, 0, 1), [GAS_KEY, ISSUER])
        self.assert_refused(tx, "the system fee is 500.0 GAS")

    def test_contract_creates_nothing(self) -> None:
        ref, value, key = self.chain.coins[0]
        tx = signed(ContractTransaction(inputs=(ref,), outputs=(
            TransactionOutput(NEO_ASSET_ID, value + ONE, PAYEE.script_hash),)), [key])
        self.assert_refused(tx, "creates nothing")

    def test_issue_may_not_create_gas(self) -> None:
        tx = signed(IssueTransaction(version=1, outputs=(
            TransactionOutput(GAS_ASSET_ID, ONE, PAYEE.script_hash),)), [ISSUER])
        self.assert_refused(tx, "may not create GAS")

    def test_claim_may_create_gas_only(self) -> None:
        tx = self.make_claim(extra=(TransactionOutput(self.chain.token, ONE, PAYEE.script_hash),))
        self.assert_refused(tx, "may create GAS only")


class AttributeTests(RulesTestCase):
    def test_one_ecdh_attribute(self) -> None:
        ecdh = TransactionAttribute(AttributeUsage.ECDH02, b"\x02" + bytes(32))
        self.assert_accepted(self.neo_transfer(attributes=(ecdh,)))
        other = TransactionAttribute(AttributeUsage.ECDH03, b"\x03" + bytes(32))
        self.assert_refused(self.neo_transfer(attributes=(ecdh, other)),
                            "more than one ECDH attribute")


class ObsoleteTypeTests(RulesTestCase):
    def test_miner(self) -> None:
        self.assert_refused(MinerTransaction(nonce=5), "consensus only")

    def test_register_enrollment_publish(self) -> None:
        for tx in (RegisterTransaction(owner=ISSUER.public_key, admin=ISSUER.script_hash),
                   EnrollmentTransaction(public_key=ISSUER.public_key), PublishTransaction()):
            self.assert_refused(signed(tx, [ISSUER]), "is obsolete")


class ClaimsTests(RulesTestCase):
    def test_valid_claim_includes_system_fees(self) -> None:
        result = self.assert_accepted(self.make_claim())
        self.assertEqual(result.network_fee, 0)

    def test_wrong_amount(self) -> None:
        right = self.make_claim().outputs[0].value
        self.assert_refused(self.make_claim(right + 1), "is claimable")
        self.assert_refused(self.make_claim(right - 1), "is claimable")

    def test_unspent_coin_not_claimable(self) -> None:
        tx = self.make_claim(claims=(self.chain.coins[0][0],))
        self.assert_refused(tx, "not a spent, unclaimed NEO output")

    def test_claimed_coin_not_claimable_again(self) -> None:
        tx = self.make_claim(claims=(self.chain.genesis_claim,))
        self.assert_refused(tx, "not a spent, unclaimed NEO output")

    def test_duplicate_claims(self) -> None:
        tx = self.make_claim(claims=(self.chain.claimable, self.chain.claimable))
        self.assert_refused(tx, "a claim appears twice")


class IssueTests(RulesTestCase):
    def issue(self, value: int) -> Transaction:
        return signed(IssueTransaction(version=1, outputs=(
            TransactionOutput(self.chain.token, value, PAYEE.script_hash),)), [ISSUER])

    def test_within_amount(self) -> None:
        result = self.assert_accepted(self.issue(1000 * ONE))
        self.assertEqual(dict(result.issues), {self.chain.token: (1000 * ONE, 1000 * ONE)})

    def test_over_amount(self) -> None:
        self.assert_refused(self.issue(1000 * ONE + ONE), "exceeds the 1000.0 left to issue")

    def test_unlimited_asset(self) -> None:
        tx = signed(IssueTransaction(version=1, outputs=(
            TransactionOutput(self.chain.duty, 10**9 * ONE, PAYEE.script_hash),)),
            [ISSUER, PAYEE])
        result = self.assert_accepted(tx)
        self.assertEqual(dict(result.issues), {})

    def test_issuer_must_sign(self) -> None:
        tx = signed(IssueTransaction(version=1, outputs=(
            TransactionOutput(self.chain.token, ONE, PAYEE.script_hash),)), [PAYEE])
        self.assert_refused(tx, "does not hash to")


class StateTests(RulesTestCase):
    def vote(self, key: Any, *candidates: Any) -> Transaction:
        descriptor = StateDescriptor(STATE_ACCOUNT, key.script_hash, "Votes", votes(*candidates))
        return signed(StateTransaction(descriptors=(descriptor,)), [key])

    def test_vote_for_standby_validator(self) -> None:
        key = self.chain.coins[0][2]
        self.assert_accepted(self.vote(key, PRIVNET.standby_validators[0]))

    def test_vote_for_unknown_candidate(self) -> None:
        key = self.chain.coins[0][2]
        self.assert_refused(self.vote(key, STRANGER.public_key), "not a standby validator")

    def test_voter_without_neo(self) -> None:
        self.assert_refused(self.vote(GAS_KEY, PRIVNET.standby_validators[0]), "holds no NEO")

    def test_voter_unknown(self) -> None:
        self.assert_refused(self.vote(STRANGER, PRIVNET.standby_validators[0]), "does not exist")

    def test_votes_that_do_not_parse(self) -> None:
        key = self.chain.coins[0][2]
        descriptor = StateDescriptor(STATE_ACCOUNT, key.script_hash, "Votes", b"\x01\x02")
        tx = signed(StateTransaction(descriptors=(descriptor,)), [key])
        self.assert_refused(tx, "the votes do not parse")

    def test_validator_registration_signed_by_its_key(self) -> None:
        key = ISSUER.public_key.encode()
        descriptor = StateDescriptor(STATE_VALIDATOR, key, "Registered", b"\x01")
        # registering costs 1000 GAS, which nobody here has: the fee rule refuses it first
        tx = signed(StateTransaction(descriptors=(descriptor,)), [ISSUER])
        self.assert_refused(tx, "the system fee is 1000.0 GAS")
        descriptor = StateDescriptor(STATE_VALIDATOR, key, "Registered", b"\x00")
        self.assert_accepted(signed(StateTransaction(descriptors=(descriptor,)), [ISSUER]))
        self.assert_refused(signed(StateTransaction(descriptors=(descriptor,)), [PAYEE]),
                            "does not hash to")


class InvocationTests(RulesTestCase):
    def test_whole_gas_only(self) -> None:
        tx = self.gas_spend(InvocationTransaction(version=1, gas=ONE // 2, outputs=(
            TransactionOutput(GAS_ASSET_ID, ONE, GAS_KEY.script_hash),)), 0)
        self.assert_refused(tx, "is not whole GAS")


class WitnessTests(RulesTestCase):
    def test_wrong_signature(self) -> None:
        tx = self.neo_transfer()
        forged = Witness(b"\x40" + STRANGER.sign(tx.unsigned_bytes()),
                         tx.witnesses[0].verification_script)
        self.assert_refused(attrs.evolve(tx, witnesses=(forged,)), "signatures do not verify")

    def test_signature_of_another_transaction(self) -> None:
        # the right key's witness, replayed from another transaction
        tx = self.neo_transfer()
        other = self.neo_transfer(keep=0, attributes=(
            TransactionAttribute(AttributeUsage.Remark, b"other"),))
        self.assertEqual(tx.witnesses[0].verification_script,
                         other.witnesses[0].verification_script)
        self.assert_refused(attrs.evolve(tx, witnesses=other.witnesses), "signatures do not verify")

    def test_witness_of_another_account(self) -> None:
        tx = self.neo_transfer()
        self.assert_refused(attrs.evolve(tx, witnesses=signed(tx, [STRANGER]).witnesses),
                            "does not hash to")

    def test_witness_count(self) -> None:
        tx = self.neo_transfer()
        self.assert_refused(attrs.evolve(tx, witnesses=()), "1 script hashes must sign")
        self.assert_refused(attrs.evolve(tx, witnesses=tx.witnesses * 2), "2 witnesses")

    def test_witness_order(self) -> None:
        script = TransactionAttribute(AttributeUsage.Script, STRANGER.script_hash)
        tx = self.neo_transfer(attributes=(script,))
        owner = self.chain.coins[0][2]
        tx = signed(tx, [owner, STRANGER])
        self.assert_accepted(tx)
        swapped = attrs.evolve(tx, witnesses=tx.witnesses[::-1])
        self.assert_refused(swapped, "does not hash to")

    def test_script_attribute_needs_signature(self) -> None:
        script = TransactionAttribute(AttributeUsage.Script, STRANGER.script_hash)
        self.assert_refused(self.neo_transfer(attributes=(script,)), "2 script hashes must sign")

    def test_multisig(self) -> None:
        verification = multisig_redeem_script(2, [k.public_key for k in DEV_KEYS[:3]])
        script = TransactionAttribute(AttributeUsage.Script, script_hash(verification))
        tx = ContractTransaction(attributes=(script,))
        self.assert_accepted(signed(tx, multisig=(verification, DEV_KEYS[:2])))
        self.assert_accepted(signed(tx, multisig=(verification, DEV_KEYS[1:3])))
        self.assert_refused(signed(tx, multisig=(verification, DEV_KEYS[1::-1])),
                            "signatures do not verify")
        self.assert_refused(signed(tx, multisig=(verification, DEV_KEYS[3:])),
                            "pushes 1 items, not 2 signatures")

    def test_duty_flag_receiver_signs(self) -> None:
        tx = ContractTransaction(inputs=(self.chain.duty_coin,), outputs=(
            TransactionOutput(self.chain.duty, 100 * ONE, PAYEE.script_hash),))
        self.assert_refused(signed(tx, [GAS_KEY]), "2 script hashes must sign")
        self.assert_accepted(signed(tx, [GAS_KEY, PAYEE]))

    def test_contract_verification_needs_vm(self) -> None:
        contract = UInt160(b"\x33" * 20)
        script = TransactionAttribute(AttributeUsage.Script, contract)
        tx = ContractTransaction(attributes=(script,), witnesses=(Witness(b"", b""),))
        self.assert_refused(tx, "needs a VM", Refusal.UNABLE_TO_VERIFY)

    def test_non_standard_script(self) -> None:
        verification = b"\x51"  # PUSH1: true for any invocation, in a VM
        script = TransactionAttribute(AttributeUsage.Script, script_hash(verification))
        tx = ContractTransaction(attributes=(script,), witnesses=(Witness(b"", verification),))
        self.assert_refused(tx, "non-standard verification script", Refusal.UNABLE_TO_VERIFY)


class WitnessBudgetTests(RulesTestCase):
    """
    The reference VM's GAS budget for witnesses, applied before any signature check.
    """

    def count_checks(self) -> list[WitnessJob]:
        return count_witness_checks(self)

    def test_widest_affordable_multisig_accepted(self) -> None:
        """
        A validly signed 1-of-100 multisig costs exactly the 10 free GAS: accepted.
        """
        self.assert_accepted(wide_transaction(100))

    def test_wider_multisig_refused_unchecked(self) -> None:
        """
        A validly signed 1-of-101 (or 1-of-1024) multisig could never verify in the
        reference's VM: refused with the reason, no signature checked. Before, it was
        accepted after trying every key (169 ms for 1024).
        """
        checked = self.count_checks()
        self.assert_refused(wide_transaction(101), "a multisig of 101 keys costs 10.1 GAS")
        self.assert_refused(wide_transaction(1024), "a multisig of 1024 keys costs 102.4 GAS")
        self.assertEqual(checked, [])

    def test_budget_before_any_signature(self) -> None:
        """
        A transaction whose second witness is over budget has its first one unchecked too.
        """
        verification, _ = wide_multisig(101)
        wide = TransactionAttribute(AttributeUsage.Script, script_hash(verification))
        tx = self.neo_transfer(attributes=(wide,))
        message = tx.unsigned_bytes()
        owner = self.chain.coins[0][2]
        witnesses = sorted([signed(tx, [owner]).witnesses[0], wide_witness(message, 101)],
                           key=lambda w: script_hash(w.verification_script))
        checked = self.count_checks()
        self.assert_refused(attrs.evolve(tx, witnesses=tuple(witnesses)), "101 keys")
        self.assertEqual(checked, [])

    def test_known_witnesses_not_checked(self) -> None:
        """
        With a cache, a witness is checked once; the chain rules are applied every time.
        """
        known = WitnessCache()
        tx = self.neo_transfer()
        checked = self.count_checks()
        for _ in range(2):
            with ledger_view(self.ledger) as view:
                self.assertIsNone(check_against_chain(tx, view, PRIVNET, known=known).problem)
        self.assertEqual((len(checked), known.hits), (1, 1))
        with ledger_view(self.ledger) as view:
            result = check_against_chain(tx, view, PRIVNET, known=known,
                                         verify_signatures=False)
        self.assertEqual(result.signatures, ())  # known: none left to the caller
        swapped = attrs.evolve(tx, witnesses=signed(tx, [STRANGER]).witnesses)
        self.assert_refused(swapped, "does not hash to")
