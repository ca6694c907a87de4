"""
Small transactions and parts of them, shared by the tests of L{neo_twisted.core.components},
L{neo_twisted.core.transaction}, L{neo_twisted.core.transactions} and their JSON views; a
free transaction of Remarks and the script hashes a transfer needs, for the policy and
generator tests.
"""

from __future__ import annotations

from neo_twisted.core import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    AssetType,
    AttributeUsage,
    ClaimTransaction,
    CoinReference,
    ContractTransaction,
    EnrollmentTransaction,
    InvocationTransaction,
    IssueTransaction,
    MinerTransaction,
    PublishTransaction,
    RegisterTransaction,
    StateDescriptor,
    StateTransaction,
    Transaction,
    TransactionOutput,
    Witness,
)
from neo_twisted.core.components import TransactionAttribute
from neo_twisted.crypto.hashes import hash160
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160, UInt256
from tests.support.samples import MAINNET_VALIDATORS

#: A real public key (the first mainnet standby validator), compressed, and its point.
KEY_HEX = MAINNET_VALIDATORS[0]
KEY = ECPoint.from_bytes(bytes.fromhex(KEY_HEX))


def output(asset: UInt256 = GAS_ASSET_ID, value: int = 10**8, to: int = 1) -> TransactionOutput:
    """
    An output paying C{value} of C{asset} to a script hash made of byte C{to}.
    """
    return TransactionOutput(asset_id=asset, value=value, script_hash=UInt160(bytes((to,)) * 20))


def coin(n: int = 1, index: int = 0) -> CoinReference:
    """
    A reference to output C{index} of a transaction hash made of byte C{n}.
    """
    return CoinReference(prev_hash=UInt256(bytes((n,)) * 32), prev_index=index)


def witness(tag: bytes = b"\x51") -> Witness:
    """
    A witness whose verification script is C{tag}.
    """
    return Witness(invocation_script=b"\x40" + b"\x07" * 64, verification_script=tag)


def contract_tx() -> ContractTransaction:
    """
    A typical transfer: one input, one NEO output, one witness.
    """
    return ContractTransaction(inputs=(coin(),), outputs=(output(NEO_ASSET_ID),),
                               witnesses=(witness(),))


def genesis_register(governing: bool) -> RegisterTransaction:
    """
    The genesis block's NEO (governing) or GAS (utility) registration.
    """
    if governing:
        return RegisterTransaction(
            asset_type=AssetType.GoverningToken,
            name='[{"lang":"zh-CN","name":"小蚁股"},{"lang":"en","name":"AntShare"}]',
            amount=10**16, precision=0, owner=ECPoint.infinity(),
            admin=UInt160(hash160(b"\x51")))
    return RegisterTransaction(
        asset_type=AssetType.UtilityToken,
        name='[{"lang":"zh-CN","name":"小蚁币"},{"lang":"en","name":"AntCoin"}]',
        amount=10**16, precision=8, owner=ECPoint.infinity(),
        admin=UInt160(hash160(b"\x00")))


def one_of_each() -> list[Transaction]:
    """
    One valid transaction of each of the nine types.
    """
    return [
        MinerTransaction(nonce=2083236893, outputs=(output(),)),
        IssueTransaction(version=1, outputs=(output(NEO_ASSET_ID),), witnesses=(witness(),)),
        ClaimTransaction(claims=(coin(2), coin(3, 1)), outputs=(output(),)),
        EnrollmentTransaction(public_key=KEY),
        RegisterTransaction(asset_type=AssetType.Token, name="T", amount=10**10,
                            precision=2, owner=KEY, admin=UInt160(bytes(range(20)))),
        contract_tx(),
        StateTransaction(descriptors=(
            StateDescriptor(0x40, bytes(20), "Votes", b"\x01" + bytes.fromhex(KEY_HEX)),
            StateDescriptor(0x48, bytes.fromhex(KEY_HEX), "Registered", b"\x01"))),
        PublishTransaction(version=1, script=b"\x00\x61", parameter_list=b"\x07\x10",
                           return_type=5, need_storage=True, name="n", code_version="1",
                           author="a", email="e", description="d"),
        InvocationTransaction(version=1, script=b"\x00\xc1\x04test", gas=10**8),
    ]


def remarks(tag: int, size: int) -> ContractTransaction:
    """
    A transaction with no inputs, outputs or witnesses: valid, free, C{size}-ish bytes.
    """
    chunks = []
    left = size
    while left > 0:
        chunks.append(min(left, 60_000))
        left -= chunks[-1]
    return ContractTransaction(attributes=tuple(
        TransactionAttribute(int(AttributeUsage.Remark), tag.to_bytes(4, "big") + bytes(n))
        for n in chunks))


def verifying_hashes(tx: Transaction, utxo: dict[tuple[bytes, int], TransactionOutput]
                     ) -> list[UInt160]:
    """
    C{GetScriptHashesForVerifying} for a transfer: input owners and Script attributes, sorted.
    """
    hashes = {utxo[(i.prev_hash, i.prev_index)].script_hash for i in tx.inputs}
    hashes |= {UInt160(a.data) for a in tx.attributes if a.usage == AttributeUsage.Script}
    return sorted(hashes)
