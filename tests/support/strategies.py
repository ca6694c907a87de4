"""
Hypothesis strategies for every wire structure of L{neo_twisted}.

Everything generated here is I{valid}: it satisfies the checks the decoders
make, so a correct decoder reads it back equal and re-encodes it to the same
bytes. Sizes are kept small (a few items per array, short scripts) so that
property tests stay fast, but every var int width up to C{fd} is reached by the
larger byte strings.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from neo_twisted.core import (
    GAS_ASSET_ID,
    AssetType,
    Block,
    ClaimTransaction,
    CoinReference,
    ContractTransaction,
    EnrollmentTransaction,
    Header,
    InvocationTransaction,
    IssueTransaction,
    MinerTransaction,
    PublishTransaction,
    RegisterTransaction,
    StateDescriptor,
    StateTransaction,
    Transaction,
    TransactionAttribute,
    TransactionOutput,
    Witness,
    merkle_root,
)
from neo_twisted.core.consensus import (
    ChangeView,
    ConsensusMessage,
    ConsensusPayload,
    PrepareRequest,
    PrepareResponse,
)
from neo_twisted.core.transactions import STATE_ACCOUNT, STATE_VALIDATOR
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.network.payloads import (
    MAX_FILTER_ADD,
    MAX_FILTER_FUNCTIONS,
    AddrPayload,
    EmptyPayload,
    FilterAddPayload,
    FilterLoadPayload,
    GetBlocksPayload,
    HeadersPayload,
    InventoryType,
    InvPayload,
    MerkleBlockPayload,
    NetworkAddressWithTime,
    Payload,
    PingPayload,
    VersionPayload,
)
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160, UInt256

#: The order n of P-256: a private key is an integer in [1, n - 1].
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

#: Array sizes stay this small unless a structure needs more.
SMALL = 3

# -- primitives ---------------------------------------------------------------------------

u8s = st.integers(0, 0xFF)
u16s = st.integers(0, 0xFFFF)
u32s = st.integers(0, 0xFFFFFFFF)
u64s = st.integers(0, 0xFFFFFFFFFFFFFFFF)
i64s = st.integers(-(2**63), 2**63 - 1)
positive_i64s = st.integers(1, 2**63 - 1)

uint160s: SearchStrategy[UInt160] = st.binary(min_size=20, max_size=20).map(UInt160)
uint256s: SearchStrategy[UInt256] = st.binary(min_size=32, max_size=32).map(UInt256)

#: Scripts and other var bytes: mostly short, sometimes past 252 bytes (an C{fd} length).
scripts = st.one_of(st.binary(max_size=40), st.binary(min_size=250, max_size=300))


def texts(max_bytes: int, max_size: int = 24) -> SearchStrategy[str]:
    """
    Any text (no lone surrogates: they have no UTF-8 form) within C{max_bytes} once encoded.
    """
    return st.text(st.characters(codec="utf-8"), max_size=max_size).filter(
        lambda text: len(text.encode("utf-8")) <= max_bytes)


def public_key_of(secret: int) -> ECPoint:
    """
    The public key of private key C{secret} (in [1, n - 1]).
    """
    return KeyPair(secret.to_bytes(32, "big")).public_key


#: Real public keys, from private keys drawn in [1, n - 1].
public_keys: SearchStrategy[ECPoint] = st.integers(1, P256_ORDER - 1).map(public_key_of)

#: Any ECPoint the wire can carry: a public key or the point at infinity.
ec_points: SearchStrategy[ECPoint] = st.one_of(st.just(ECPoint.infinity()), public_keys)

# -- transaction components ---------------------------------------------------------------

witnesses: SearchStrategy[Witness] = st.builds(Witness, scripts, scripts)

coin_references: SearchStrategy[CoinReference] = st.builds(CoinReference, uint256s, u16s)

transaction_outputs: SearchStrategy[TransactionOutput] = st.builds(
    TransactionOutput, uint256s, positive_i64s, uint160s)

_FIXED_32_USAGES = [0x00, 0x30, *range(0xA1, 0xB0)]
_VAR_USAGES = [0x90, *range(0xF0, 0x100)]


def _ecdh_attribute(usage: int) -> SearchStrategy[TransactionAttribute]:
    return st.binary(min_size=32, max_size=32).map(
        lambda body: TransactionAttribute(usage, bytes((usage,)) + body))


#: Every usage with its own data shape.
transaction_attributes: SearchStrategy[TransactionAttribute] = st.one_of(
    st.builds(TransactionAttribute, st.sampled_from(_FIXED_32_USAGES),
              st.binary(min_size=32, max_size=32)),
    st.sampled_from([0x02, 0x03]).flatmap(_ecdh_attribute),
    st.builds(TransactionAttribute, st.just(0x20), st.binary(min_size=20, max_size=20)),
    st.builds(TransactionAttribute, st.just(0x81), st.binary(max_size=255)),
    st.builds(TransactionAttribute, st.sampled_from(_VAR_USAGES), scripts),
)


_VERSION_0 = st.just(0)


def _common(version: SearchStrategy[int] = _VERSION_0,
            inputs: SearchStrategy[tuple[CoinReference, ...]] | None = None,
            outputs: SearchStrategy[tuple[TransactionOutput, ...]] | None = None,
            ) -> dict[str, SearchStrategy[Any]]:
    """
    Keyword strategies for the fields every transaction type shares.
    """
    return {
        "version": version,
        "attributes": st.lists(transaction_attributes, max_size=SMALL).map(tuple),
        "inputs": inputs if inputs is not None
        else st.lists(coin_references, max_size=SMALL).map(tuple),
        "outputs": outputs if outputs is not None
        else st.lists(transaction_outputs, max_size=SMALL).map(tuple),
        "witnesses": st.lists(witnesses, max_size=2).map(tuple),
    }


# -- the nine transaction types -----------------------------------------------------------

_gas_outputs = st.lists(
    st.builds(TransactionOutput, st.just(GAS_ASSET_ID), positive_i64s, uint160s),
    max_size=SMALL).map(tuple)

miner_transactions: SearchStrategy[MinerTransaction] = st.builds(
    MinerTransaction, nonce=u32s, **_common(inputs=st.just(()), outputs=_gas_outputs))

issue_transactions: SearchStrategy[IssueTransaction] = st.builds(
    IssueTransaction, **_common(version=st.integers(0, 1)))

claim_transactions: SearchStrategy[ClaimTransaction] = st.builds(
    ClaimTransaction, claims=st.lists(coin_references, min_size=1, max_size=SMALL).map(tuple),
    **_common())

enrollment_transactions: SearchStrategy[EnrollmentTransaction] = st.builds(
    EnrollmentTransaction, public_key=ec_points, **_common())

#: Asset types 0 and 1 are only valid for the genesis NEO and GAS registrations.
_asset_types = st.one_of(
    st.sampled_from([t for t in AssetType
                     if t not in (AssetType.GoverningToken, AssetType.UtilityToken)]),
    st.integers(2, 0xFF))

register_transactions: SearchStrategy[RegisterTransaction] = st.builds(
    RegisterTransaction, asset_type=_asset_types, name=texts(1024), amount=i64s,
    precision=u8s, owner=public_keys, admin=uint160s, **_common())

contract_transactions: SearchStrategy[ContractTransaction] = st.builds(
    ContractTransaction, **_common())

state_descriptors: SearchStrategy[StateDescriptor] = st.one_of(
    st.builds(StateDescriptor, st.just(STATE_ACCOUNT), st.binary(min_size=20, max_size=20),
              st.just("Votes"), scripts),
    st.builds(StateDescriptor, st.just(STATE_VALIDATOR), st.binary(min_size=33, max_size=33),
              st.just("Registered"), scripts),
)

state_transactions: SearchStrategy[StateTransaction] = st.builds(
    StateTransaction, descriptors=st.lists(state_descriptors, max_size=SMALL).map(tuple),
    **_common(version=u8s))


@st.composite
def publish_transactions(draw: st.DrawFn) -> PublishTransaction:
    """
    Version 0 has no need_storage byte on the wire, so it is only ever False there.
    """
    version = draw(st.integers(0, 1))
    fields: dict[str, Any] = {name: draw(strategy) for name, strategy in _common().items()}
    fields["version"] = version
    return PublishTransaction(
        script=draw(scripts), parameter_list=draw(st.binary(max_size=8)),
        return_type=draw(u8s), need_storage=draw(st.booleans()) if version else False,
        name=draw(texts(252)), code_version=draw(texts(252)), author=draw(texts(252)),
        email=draw(texts(252)), description=draw(texts(65536, max_size=100)),
        **fields)


@st.composite
def invocation_transactions(draw: st.DrawFn) -> InvocationTransaction:
    """
    Gas is on the wire only from version 1, so a version 0 transaction has none.
    """
    version = draw(st.integers(0, 1))
    fields: dict[str, Any] = {name: draw(strategy) for name, strategy in _common().items()}
    fields["version"] = version
    return InvocationTransaction(
        script=draw(st.one_of(st.binary(min_size=1, max_size=40),
                              st.binary(min_size=250, max_size=300))),
        gas=draw(st.integers(0, 2**63 - 1)) if version else 0,
        **fields)


#: Every type but MinerTransaction, the one a block may hold only first.
non_miner_transactions: SearchStrategy[Transaction] = st.one_of(
    issue_transactions, claim_transactions, enrollment_transactions, register_transactions,
    contract_transactions, state_transactions, publish_transactions(),
    invocation_transactions(),
)

transactions: SearchStrategy[Transaction] = st.one_of(miner_transactions, non_miner_transactions)

# -- blocks -------------------------------------------------------------------------------


def headers(merkle: UInt256 | None = None) -> SearchStrategy[Header]:
    """
    Headers with any field values (the merkle root is C{merkle} when given).
    """
    return st.builds(
        Header, version=u32s, prev_hash=uint256s,
        merkle_root=st.just(merkle) if merkle is not None else uint256s,
        timestamp=u32s, index=u32s, consensus_data=u64s, next_consensus=uint160s,
        witness=witnesses)


@st.composite
def blocks(draw: st.DrawFn, max_transactions: int = SMALL) -> Block:
    """
    A MinerTransaction, then other types with distinct hashes, under the matching merkle root.
    """
    miner = draw(miner_transactions)
    others = draw(st.lists(non_miner_transactions, max_size=max_transactions,
                           unique_by=lambda tx: tx.hash))
    txs = (miner, *others)
    header = draw(headers(merkle_root([tx.hash for tx in txs])))
    return Block(header, txs)


# -- consensus ----------------------------------------------------------------------------

signatures = st.binary(min_size=64, max_size=64)

change_views: SearchStrategy[ChangeView] = st.builds(
    ChangeView, view_number=u8s, new_view_number=st.integers(1, 0xFF))


@st.composite
def prepare_requests(draw: st.DrawFn) -> PrepareRequest:
    """
    The MinerTransaction's hash comes first, and no hash repeats.
    """
    miner = draw(miner_transactions)
    others = draw(st.lists(uint256s, max_size=SMALL, unique=True))
    hashes = (miner.hash, *[h for h in others if h != miner.hash])
    return PrepareRequest(view_number=draw(u8s), nonce=draw(u64s),
                          next_consensus=draw(uint160s), transaction_hashes=hashes,
                          miner_transaction=miner, signature=draw(signatures))


prepare_responses: SearchStrategy[PrepareResponse] = st.builds(
    PrepareResponse, view_number=u8s, signature=signatures)

consensus_messages: SearchStrategy[ConsensusMessage] = st.one_of(
    change_views, prepare_requests(), prepare_responses)

consensus_payloads: SearchStrategy[ConsensusPayload] = st.builds(
    ConsensusPayload, version=u32s, prev_hash=uint256s, block_index=u32s,
    validator_index=u16s, timestamp=u32s,
    data=st.one_of(consensus_messages.map(ConsensusMessage.to_bytes), st.binary(max_size=40)),
    witness=witnesses)

# -- P2P payloads -------------------------------------------------------------------------

def _not_ipv4_mapped(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None


#: IPv4-mapped IPv6 addresses decode as IPv4, so IPv6 ones are never mapped.
ip_addresses: SearchStrategy[ipaddress.IPv4Address | ipaddress.IPv6Address] = st.one_of(
    st.ip_addresses(v=4), st.ip_addresses(v=6).filter(_not_ipv4_mapped))

network_addresses: SearchStrategy[NetworkAddressWithTime] = st.builds(
    NetworkAddressWithTime, u32s, u64s, ip_addresses, u16s)

version_payloads: SearchStrategy[VersionPayload] = st.builds(
    VersionPayload, version=u32s, services=u64s, timestamp=u32s, port=u16s, nonce=u32s,
    user_agent=texts(1024), start_height=u32s, relay=st.booleans())

addr_payloads: SearchStrategy[AddrPayload] = st.builds(
    AddrPayload, st.lists(network_addresses, min_size=1, max_size=200).map(tuple))

get_blocks_payloads: SearchStrategy[GetBlocksPayload] = st.builds(
    GetBlocksPayload, st.lists(uint256s, min_size=1, max_size=16).map(tuple), uint256s)

headers_payloads: SearchStrategy[HeadersPayload] = st.builds(
    HeadersPayload, st.lists(headers(), max_size=SMALL).map(tuple))

inv_payloads: SearchStrategy[InvPayload] = st.builds(
    InvPayload, st.sampled_from(InventoryType), st.lists(uint256s, max_size=8).map(tuple))

ping_payloads: SearchStrategy[PingPayload] = st.builds(PingPayload, u32s, u32s, u32s)

filter_load_payloads: SearchStrategy[FilterLoadPayload] = st.builds(
    FilterLoadPayload, scripts, st.integers(0, MAX_FILTER_FUNCTIONS), u32s)

filter_add_payloads: SearchStrategy[FilterAddPayload] = st.builds(
    FilterAddPayload, st.binary(max_size=MAX_FILTER_ADD))

merkle_block_payloads: SearchStrategy[MerkleBlockPayload] = st.builds(
    MerkleBlockPayload, headers(), u32s, st.lists(uint256s, max_size=8).map(tuple),
    st.binary(max_size=8))

_empty = st.just(EmptyPayload())

#: The payloads each command carries, for every command L{PAYLOAD_READERS} knows.
PAYLOADS: dict[str, SearchStrategy[Payload]] = {
    "version": version_payloads,
    "verack": _empty,
    "getaddr": _empty,
    "addr": addr_payloads,
    "getheaders": get_blocks_payloads,
    "getblocks": get_blocks_payloads,
    "headers": headers_payloads,
    "inv": inv_payloads,
    "getdata": inv_payloads,
    "notfound": inv_payloads,
    "block": blocks(),
    "tx": transactions,
    "consensus": consensus_payloads,
    "mempool": _empty,
    "ping": ping_payloads,
    "pong": ping_payloads,
    "filterload": filter_load_payloads,
    "filteradd": filter_add_payloads,
    "filterclear": _empty,
    "merkleblock": merkle_block_payloads,
}


def _with_command(command: str) -> SearchStrategy[tuple[str, Payload]]:
    return PAYLOADS[command].map(lambda payload: (command, payload))


#: A command and a payload it carries.
commands_and_payloads: SearchStrategy[tuple[str, Payload]] = st.sampled_from(
    sorted(PAYLOADS)).flatmap(_with_command)
