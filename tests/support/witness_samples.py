"""
Wide multisig witnesses for the witness-budget tests: a 1-of-n contract whose only
signer holds the key the script lists last, so that checking the witness tries
every key before it matches (the costliest valid witness of n keys).
"""

from __future__ import annotations

import functools

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.core.components import AttributeUsage, TransactionAttribute, Witness
from neo_twisted.core.transactions import ContractTransaction
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.crypto.scripts import multisig_redeem_script, parse_multisig_contract, script_hash
from neo_twisted.ledger.generator import account_keys
from neo_twisted.ledger.verify import WitnessJob
from neo_twisted.mempool import rules


@functools.lru_cache(maxsize=8)
def wide_multisig(n: int, m: int = 1, seed: int = 2020) -> tuple[bytes, tuple[KeyPair, ...]]:
    """
    An m-of-n verification script and the m keys that sign for it, the last ones
    in script order.
    """
    keys = account_keys(seed, n)
    script = multisig_redeem_script(m, [key.public_key for key in keys])
    parsed = parse_multisig_contract(script)
    assert parsed is not None
    by_encoding = {key.public_key.encode(): key for key in keys}
    return script, tuple(by_encoding[encoded] for encoded in parsed[1][-m:])


def wide_witness(message: bytes, n: int, m: int = 1) -> Witness:
    """
    A valid m-of-n witness of C{message}, its signatures matching the last keys.
    """
    script, signers = wide_multisig(n, m)
    return Witness(b"".join(b"\x40" + key.sign(message) for key in signers), script)


def wide_transaction(n: int, remark: bytes = b"") -> ContractTransaction:
    """
    A ContractTransaction with no coins that the 1-of-n contract must sign (a Script
    attribute), signed: valid on any chain, and costly to check.
    """
    script, _ = wide_multisig(n)
    attributes = [TransactionAttribute(AttributeUsage.Script, script_hash(script))]
    if remark:
        attributes.append(TransactionAttribute(AttributeUsage.Remark, remark))
    tx = ContractTransaction(attributes=tuple(attributes))
    return ContractTransaction(attributes=tx.attributes,
                               witnesses=(wide_witness(tx.unsigned_bytes(), n),))


def count_witness_checks(case: SynchronousTestCase) -> list[WitnessJob]:
    """
    The witnesses the pool's rules check from now on (until C{case} ends), in order.
    """
    checked: list[WitnessJob] = []
    original = rules.check_witness  # type: ignore[attr-defined]

    def counting(job: WitnessJob) -> bool:
        checked.append(job)
        return original(job)

    case.patch(rules, "check_witness", counting)
    return checked
