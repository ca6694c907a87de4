# -*- test-case-name: tests.unit.test_crypto -*-
"""
The standard verification scripts NEO builds for accounts and validators.

A single-signature contract is C{21 <33-byte key> AC}; an m-of-n contract is
C{PUSH(m) (21 <key>)*n PUSH(n) AE} with the keys sorted by ECPoint order
(X, then Y). Their Hash160 is the account's script hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from neo_twisted.crypto.hashes import hash160
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160

PUSHBYTES64 = 0x40
PUSHDATA1 = 0x4C
PUSHDATA2 = 0x4D
PUSHDATA4 = 0x4E
PUSHM1 = 0x4F
PUSH1 = 0x51
PUSH16 = 0x60
CHECKSIG = 0xAC
CHECKMULTISIG = 0xAE
#: C{CreateMultiSigRedeemScript}'s limit on the keys of a script. A witness of more
#: than 100 never verifies (L{neo_twisted.crypto.budget}); wallets could still make one.
MAX_MULTISIG_KEYS = 1024


def push_data(data: bytes) -> bytes:
    """
    The shortest push of C{data}, as the VM's C{ScriptBuilder.EmitPush(byte[])} writes it.
    """
    n = len(data)
    if n <= 0x4B:
        return bytes((n,)) + data
    if n < 0x100:
        return bytes((PUSHDATA1, n)) + data
    if n < 0x10000:
        return bytes((PUSHDATA2,)) + n.to_bytes(2, "little") + data
    return bytes((PUSHDATA4,)) + n.to_bytes(4, "little") + data


def push_int(value: int) -> bytes:
    """
    C{ScriptBuilder.EmitPush(BigInteger)}: PUSHM1, PUSH0, PUSH1..16, else the
    minimal two's-complement little-endian bytes as data.
    """
    if value == -1:
        return bytes((PUSHM1,))
    if value == 0:
        return b"\x00"
    if 1 <= value <= 16:
        return bytes((0x50 + value,))
    magnitude = value if value >= 0 else ~value  # -128 fits one byte, as 127 does
    length = (magnitude.bit_length() + 8) // 8  # room for the sign bit
    return push_data(value.to_bytes(length, "little", signed=True))


def signature_redeem_script(key: ECPoint) -> bytes:
    """
    C{Contract.CreateSignatureRedeemScript}: 35 bytes.
    """
    return b"\x21" + key.encode() + bytes((CHECKSIG,))


def multisig_redeem_script(m: int, keys: Iterable[ECPoint]) -> bytes:
    """
    C{Contract.CreateMultiSigRedeemScript}: keys sorted by (X, Y), never by their encodings.
    """
    ordered = sorted(keys)
    if not 1 <= m <= len(ordered) <= MAX_MULTISIG_KEYS:
        raise ValueError(f"invalid multisig: {m} of {len(ordered)}")
    parts = [push_int(m)]
    parts += [b"\x21" + key.encode() for key in ordered]
    parts += [push_int(len(ordered)), bytes((CHECKMULTISIG,))]
    return b"".join(parts)


def script_hash(script: bytes) -> UInt160:
    return UInt160(hash160(script))


def bft_threshold(validator_count: int) -> int:
    """
    M = N - (N-1)/3: the signatures a block needs.
    """
    return validator_count - (validator_count - 1) // 3


def consensus_address(validators: Sequence[ECPoint]) -> UInt160:
    """
    C{GetConsensusAddress}: the script hash of the BFT multisig of C{validators} (NextConsensus).
    """
    return script_hash(multisig_redeem_script(bft_threshold(len(validators)), validators))


def is_signature_contract(script: bytes) -> bool:
    return len(script) == 35 and script[0] == 0x21 and script[34] == CHECKSIG


def _read_small_int(script: bytes, pos: int) -> tuple[int, int] | None:
    """
    An m or n as C{IsMultiSigContract} accepts it (PUSH1..16, C{01 xx}, C{02 xx xx}),
    and the offset after it.
    """
    if pos >= len(script):
        return None
    op = script[pos]
    if PUSH1 <= op <= PUSH16:
        return op - 0x50, pos + 1
    if op == 1 and pos + 2 <= len(script):
        return script[pos + 1], pos + 2
    if op == 2 and pos + 3 <= len(script):
        return int.from_bytes(script[pos + 1 : pos + 3], "little"), pos + 3
    return None


def parse_multisig_contract(script: bytes) -> tuple[int, list[bytes]] | None:
    """
    (m, encoded keys) when C{script} is a standard m-of-n contract, else None.
    """
    head = _read_small_int(script, 0)
    if head is None:
        return None
    m, pos = head
    keys: list[bytes] = []
    while pos < len(script) and script[pos] == 0x21:
        if pos + 34 > len(script):
            return None
        keys.append(script[pos + 1 : pos + 34])
        pos += 34
    tail = _read_small_int(script, pos)
    if tail is None:
        return None
    n, pos = tail
    if n != len(keys) or not 1 <= m <= n or pos + 1 != len(script) or script[pos] != CHECKMULTISIG:
        return None
    return m, keys
