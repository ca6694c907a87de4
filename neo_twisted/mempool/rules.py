# -*- test-case-name: tests.unit.test_mempool_rules -*-
"""
C{Transaction.Verify} against the chain: whether a transaction may enter the pool.

A pure function of the transaction, a L{ChainView} and the protocol settings, run
in the pool's threads; the rules that involve other pool transactions (shared
inputs and claims, issued quantities) are the pool's own
(L{neo_twisted.mempool.pool}). The rules are those of neo2-ledger.md section 3.9,
in the reference node's order, cheap ones first and signatures last.

Two things the reference node does need its virtual machine, which this node
does not have: witnesses whose verification script is not a standard single-
or multi-signature contract (or is empty, naming a deployed contract), and the
checks of receiving contracts. A transaction needing the first is refused as
one we are unable to verify, with that reason; the second is not applied.

Witnesses are held to the reference VM's GAS budget before any signature is
checked (L{neo_twisted.crypto.witness.witness_problem}): a multisig of more keys
than the free verification GAS pays for is refused at once. Signatures already
seen to verify (a L{WitnessCache}, when given) are not checked again.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from neo_twisted.core.components import AttributeUsage, TransactionOutput
from neo_twisted.core.fees import system_fee
from neo_twisted.core.transaction import MAX_TRANSACTION_SIZE, Transaction
from neo_twisted.core.transactions import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    STATE_ACCOUNT,
    AssetType,
    ClaimTransaction,
    EnrollmentTransaction,
    InvocationTransaction,
    IssueTransaction,
    MinerTransaction,
    PublishTransaction,
    RegisterTransaction,
    StateDescriptor,
    StateTransaction,
)
from neo_twisted.crypto.budget import free_verification_gas
from neo_twisted.crypto.scripts import (
    is_signature_contract,
    parse_multisig_contract,
    script_hash,
    signature_redeem_script,
)
from neo_twisted.crypto.witness import witness_problem
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.verify import WitnessJob, check_witness
from neo_twisted.mempool.claims import calculate_bonus
from neo_twisted.mempool.outcome import Refusal
from neo_twisted.mempool.view import ChainView, SpentCoin
from neo_twisted.mempool.witness_cache import WitnessCache
from neo_twisted.wire.binary import BinaryReader
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.fixed8 import FIXED8_ONE
from neo_twisted.wire.uint import UInt160, UInt256

#: The reference node's C{Verify} of these returns false: they never enter a pool.
_OBSOLETE = (RegisterTransaction, EnrollmentTransaction, PublishTransaction)
_ECDH = (AttributeUsage.ECDH02, AttributeUsage.ECDH03)
#: Votes for at most this many candidates (C{AsSerializableArray} default).
MAX_VOTES = 1024


@attrs.frozen
class ChainCheck:
    """
    What verifying one transaction against the chain found.

    @ivar problem: why it is refused (None: it passed).
    @ivar network_fee: raw Fixed8 GAS left to the validators.
    @ivar issues: for an C{IssueTransaction}, per limited asset, (amount issued,
        what the chain still allows), for the pool to check against its other issues.
    @ivar signatures: the witnesses left for the caller to check, each with its
        index among the transaction's witnesses, when asked to
        (L{check_against_chain}'s C{verify_signatures} false); those known to
        verify are left out.
    """

    problem: str | None = None
    refusal: Refusal = Refusal.INVALID
    #: The problem is a witness whose signatures do not verify (see L{Outcome.forged}).
    forged: bool = False
    network_fee: int = 0
    system_fee: int = 0
    issues: Mapping[UInt256, tuple[int, int]] = attrs.field(factory=dict)
    signatures: tuple[tuple[int, WitnessJob], ...] = ()


def signature_problem(index: int, job: WitnessJob) -> str:
    """
    Why a transaction whose witness C{index} (the job C{job}) does not verify is refused.
    """
    return f"witness {index} for {UInt160(job.expected_hash)}: the signatures do not verify"


class _RefusedError(Exception):
    def __init__(self, problem: str, refusal: Refusal = Refusal.INVALID, *,
                 forged: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.refusal = refusal
        self.forged = forged


def check_against_chain(tx: Transaction, view: ChainView, settings: ProtocolSettings, *,
                        verify_signatures: bool = True,
                        known: WitnessCache | None = None) -> ChainCheck:
    """
    Verify C{tx} as the pool must before accepting it; never raises for a bad transaction.

    @param verify_signatures: false leaves the signature checks (the costly part) to
        the caller, in the result's C{signatures}, so that it can spread them over
        processes; everything else, scripts included, is checked here.
    @param known: witnesses known to verify, whose signatures are not checked
        again; those checked here and found good are added.
    """
    try:
        return _Verification(tx, view, settings, verify_signatures, known).run()
    except _RefusedError as refusal:
        return ChainCheck(refusal.problem, refusal.refusal, refusal.forged)


class _Verification:
    """
    One transaction's verification; the rules in the order the reference node applies them.
    """

    def __init__(self, tx: Transaction, view: ChainView, settings: ProtocolSettings,
                 verify_signatures: bool, known: WitnessCache | None) -> None:
        self.tx = tx
        self.view = view
        self.settings = settings
        self.verify_signatures = verify_signatures
        self.known = known
        #: The outputs the inputs spend, in input order.
        self.references: list[TransactionOutput] = []
        #: Per asset, inputs minus outputs (positive: destroyed, negative: issued).
        self.results: dict[UInt256, int] = {}
        self.claimed: list[SpentCoin] = []

    def run(self) -> ChainCheck:
        tx = self.tx
        if isinstance(tx, MinerTransaction):
            raise _RefusedError("a MinerTransaction is made by consensus only")
        if isinstance(tx, _OBSOLETE):
            raise _RefusedError(f"{tx.type_name} is obsolete: the pool does not accept it")
        if tx.size > MAX_TRANSACTION_SIZE:
            raise _RefusedError(f"the transaction is {tx.size} bytes, more than "
                                f"{MAX_TRANSACTION_SIZE}")
        self._inputs()
        self._outputs()
        fee = system_fee(tx, self.settings.system_fees)
        self._results(fee)
        if sum(1 for a in tx.attributes if a.usage in _ECDH) > 1:
            raise _RefusedError("more than one ECDH attribute")
        issues = self._type_rules()
        signatures = self._witnesses()
        network_fee = 0
        if not isinstance(tx, ClaimTransaction):
            network_fee = self.results.get(GAS_ASSET_ID, 0) - fee
        return ChainCheck(network_fee=network_fee, system_fee=fee, issues=issues,
                          signatures=signatures)

    # -- coins -------------------------------------------------------------------------------

    def _inputs(self) -> None:
        seen: set[tuple[bytes, int]] = set()
        view = self.view
        for ref in self.tx.inputs:
            coin = (ref.prev_hash, ref.prev_index)
            if coin in seen:
                raise _RefusedError(f"input {ref.prev_hash}:{ref.prev_index} appears twice")
            seen.add(coin)
            output = view.unspent(ref.prev_hash, ref.prev_index)
            if output is None:
                if view.has_transaction(ref.prev_hash):
                    raise _RefusedError(f"input {ref.prev_hash}:{ref.prev_index} is already spent "
                                        "(or that transaction has no such output)")
                raise _RefusedError(f"input {ref.prev_hash}:{ref.prev_index} is not a confirmed "
                                    "output: its transaction is unknown or still unconfirmed")
            self.references.append(output)

    def _outputs(self) -> None:
        height = self.view.height
        checked: set[bytes] = set()
        for output in self.tx.outputs:
            asset_id = output.asset_id
            asset = self.view.asset(asset_id)
            if asset is None:
                raise _RefusedError(f"output asset {asset_id} is not registered")
            if asset_id not in checked:
                checked.add(asset_id)
                if (asset.expiration <= height + 1 and asset.asset_type not in
                        (AssetType.GoverningToken, AssetType.UtilityToken)):
                    raise _RefusedError(f"asset {asset_id} expired at height {asset.expiration}")
            unit = 10 ** max(0, 8 - asset.precision)
            if output.value % unit:
                raise _RefusedError(f"output value {output.value} of asset {asset_id} is finer "
                                    f"than its precision of {asset.precision} decimals")

    def _results(self, fee: int) -> None:
        results = self.results
        for output in self.references:
            results[output.asset_id] = results.get(output.asset_id, 0) + output.value
        for output in self.tx.outputs:
            results[output.asset_id] = results.get(output.asset_id, 0) - output.value
        destroyed = [asset for asset, amount in results.items() if amount > 0]
        if len(destroyed) > 1 or (destroyed and destroyed[0] != GAS_ASSET_ID):
            raise _RefusedError("inputs exceed outputs in an asset other than GAS: only GAS may "
                                "be left as fees")
        if fee > 0 and results.get(GAS_ASSET_ID, 0) < fee:
            raise _RefusedError(f"the system fee is {fee / FIXED8_ONE} GAS, but the inputs leave "
                                f"only {max(0, results.get(GAS_ASSET_ID, 0)) / FIXED8_ONE}")
        issued = [asset for asset, amount in results.items() if amount < 0]
        tx = self.tx
        if isinstance(tx, ClaimTransaction):
            if any(asset != GAS_ASSET_ID for asset in issued):
                raise _RefusedError("a ClaimTransaction may create GAS only")
        elif isinstance(tx, IssueTransaction):
            if GAS_ASSET_ID in issued:
                raise _RefusedError("an IssueTransaction may not create GAS")
        elif issued:
            raise _RefusedError(f"outputs exceed inputs in asset {issued[0]}: a {tx.type_name} "
                                "creates nothing")

    # -- per type ----------------------------------------------------------------------------

    def _type_rules(self) -> dict[UInt256, tuple[int, int]]:
        tx = self.tx
        if isinstance(tx, ClaimTransaction):
            self._claims(tx)
        elif isinstance(tx, IssueTransaction):
            return self._issues()
        elif isinstance(tx, StateTransaction):
            for descriptor in tx.descriptors:
                self._descriptor(descriptor)
        elif isinstance(tx, InvocationTransaction) and tx.gas % FIXED8_ONE:
            raise _RefusedError(f"the invocation's gas {tx.gas / FIXED8_ONE} is not whole GAS")
        return {}

    def _claims(self, tx: ClaimTransaction) -> None:
        if len(set(tx.claims)) != len(tx.claims):
            raise _RefusedError("a claim appears twice")
        for claim in tx.claims:
            coin = self.view.unclaimed(claim.prev_hash, claim.prev_index)
            if coin is None:
                raise _RefusedError(f"claim {claim.prev_hash}:{claim.prev_index} is not a spent, "
                                    "unclaimed NEO output")
            self.claimed.append(coin)
        claimed = -self.results.get(GAS_ASSET_ID, 0)
        if claimed <= 0:
            raise _RefusedError("a ClaimTransaction must create GAS")
        bonus = calculate_bonus(self.claimed, self.view.system_fee_total)
        if bonus != claimed:
            raise _RefusedError(f"the claim creates {claimed / FIXED8_ONE} GAS, but "
                                f"{bonus / FIXED8_ONE} is claimable")

    def _issues(self) -> dict[UInt256, tuple[int, int]]:
        issues: dict[UInt256, tuple[int, int]] = {}
        for asset_id, amount in self.results.items():
            if amount >= 0:
                continue
            asset = self.view.asset(asset_id)
            assert asset is not None  # every output asset was found in _outputs
            if asset.amount < 0:
                continue  # no limit
            allowed = asset.amount - asset.available
            if -amount > allowed:
                raise _RefusedError(f"issuing {-amount / FIXED8_ONE} of asset {asset_id} exceeds "
                                    f"the {allowed / FIXED8_ONE} left to issue")
            issues[UInt256(asset_id)] = (-amount, allowed)
        return issues

    def _descriptor(self, descriptor: StateDescriptor) -> None:
        if descriptor.type != STATE_ACCOUNT:
            if not descriptor.value:
                raise _RefusedError("a validator registration needs a value")
            return
        account = UInt160(descriptor.key)
        candidates = _votes(descriptor.value)
        if not self.view.has_account(account):
            raise _RefusedError(f"the voting account {account} does not exist")
        if not candidates:
            return
        if self.view.balance(account, NEO_ASSET_ID) <= 0:
            raise _RefusedError(f"the voting account {account} holds no NEO")
        standby = set(self.settings.standby_validators)
        for candidate in candidates:
            if candidate not in standby and not self.view.validator_registered(candidate):
                raise _RefusedError(f"vote for {candidate}, which is not a standby validator "
                                    "and is not registered")

    # -- witnesses ---------------------------------------------------------------------------

    def _script_hashes(self) -> list[UInt160]:
        """
        C{GetScriptHashesForVerifying}: who must sign, in the order the witnesses come.
        """
        tx = self.tx
        hashes: set[bytes] = {output.script_hash for output in self.references}
        hashes.update(a.data for a in tx.attributes if a.usage == AttributeUsage.Script)
        for output in tx.outputs:
            asset = self.view.asset(output.asset_id)
            if asset is not None and asset.asset_type & AssetType.DutyFlag == AssetType.DutyFlag:
                hashes.add(output.script_hash)
        hashes.update(coin.output.script_hash for coin in self.claimed)
        if isinstance(tx, IssueTransaction):
            for asset_id, amount in self.results.items():
                asset = self.view.asset(asset_id)
                if amount < 0 and asset is not None:
                    hashes.add(asset.issuer)
        if isinstance(tx, StateTransaction):
            for descriptor in tx.descriptors:
                hashes.add(_descriptor_signer(descriptor))
        return sorted(UInt160(h) for h in hashes)

    def _witnesses(self) -> tuple[tuple[int, WitnessJob], ...]:
        """
        Check the witnesses, all within budget before any signature; their signatures
        too unless left to the caller (returned) or known to verify.
        """
        tx = self.tx
        hashes = self._script_hashes()
        if len(hashes) != len(tx.witnesses):
            raise _RefusedError(f"{len(hashes)} script hashes must sign, but the transaction has "
                                f"{len(tx.witnesses)} witnesses")
        message = tx.unsigned_bytes()
        free_gas = free_verification_gas(self.settings.magic, self.view.height)
        jobs: list[tuple[int, WitnessJob]] = []
        for i, (expected, witness) in enumerate(zip(hashes, tx.witnesses, strict=True)):
            verification = witness.verification_script
            if not verification:
                raise _RefusedError(f"witness {i} names deployed contract {expected}, whose "
                                    "verification needs a VM, which this node does not run",
                                    Refusal.UNABLE_TO_VERIFY)
            if script_hash(verification) != expected:
                raise _RefusedError(f"witness {i}'s verification script does not hash to "
                                    f"{expected}")
            if not (is_signature_contract(verification)
                    or parse_multisig_contract(verification) is not None):
                raise _RefusedError(f"witness {i} for {expected} has a non-standard verification "
                                    "script, which needs a VM, which this node does not run",
                                    Refusal.UNABLE_TO_VERIFY)
            problem = witness_problem(witness.invocation_script, verification, free_gas)
            if problem is not None:
                raise _RefusedError(f"witness {i} for {expected}: {problem}")
            jobs.append((i, WitnessJob(message, witness.invocation_script, verification,
                                       expected, free_gas)))
        known = self.known
        if known is not None:
            jobs = [(i, job) for i, job in jobs if not known.known_good(job)]
        if not self.verify_signatures:
            return tuple(jobs)
        for i, job in jobs:
            if not check_witness(job):
                raise _RefusedError(signature_problem(i, job), forged=True)
            if known is not None:
                known.add(job)
        return ()


def _votes(value: bytes) -> list[ECPoint]:
    try:
        reader = BinaryReader(value)
        candidates = reader.read_array(ECPoint.read, MAX_VOTES)
        reader.expect_end("the votes")
    except (FormatError, ValueError) as error:
        raise _RefusedError(f"the votes do not parse: {error}") from None
    return list(candidates)


def _descriptor_signer(descriptor: StateDescriptor) -> bytes:
    if descriptor.type == STATE_ACCOUNT:
        return descriptor.key
    try:
        key = ECPoint.from_bytes(descriptor.key)
    except (FormatError, ValueError) as error:
        raise _RefusedError(f"the validator key does not parse: {error}") from None
    return script_hash(signature_redeem_script(key))
