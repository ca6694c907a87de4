# -*- test-case-name: tests.unit.test_crypto -*-
"""
Key pairs, WIF, NEP-2 and addresses.

An address is Base58Check of the address version byte (23 on every public NEO 2
network) followed by the 20 script-hash bytes in wire order.
"""

from __future__ import annotations

import hashlib
import unicodedata

import attrs
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from neo_twisted.crypto.base58 import b58check_decode, b58check_encode
from neo_twisted.crypto.ecdsa import sign
from neo_twisted.crypto.hashes import hash256
from neo_twisted.crypto.scripts import script_hash, signature_redeem_script
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.uint import UInt160

ADDRESS_VERSION = 23
_CURVE = ec.SECP256R1()

#: The longest Base58 text of 25 bytes (an address) and of 38 (a WIF): anything longer
#: cannot be one, and is refused before decoding, which takes time quadratic in the length.
_MAX_ADDRESS_LENGTH = 35
_MAX_WIF_LENGTH = 52


def address_from_script_hash(hash_: UInt160, version: int = ADDRESS_VERSION) -> str:
    return b58check_encode(bytes((version,)) + hash_)


def script_hash_from_address(address: str, version: int = ADDRESS_VERSION) -> UInt160:
    """
    The script hash an address stands for; ValueError for a bad checksum, length or version.
    """
    if len(address) > _MAX_ADDRESS_LENGTH:
        raise ValueError(f"an address has at most {_MAX_ADDRESS_LENGTH} characters, "
                         f"this one {len(address)}")
    payload = b58check_decode(address)
    if len(payload) != 21:
        raise ValueError(f"an address holds 21 bytes, this one {len(payload)}")
    if payload[0] != version:
        raise ValueError(f"address version {payload[0]}, expected {version}")
    return UInt160(payload[1:])


@attrs.frozen
class KeyPair:
    """
    A P-256 private key with its public point.
    """

    private_key: bytes = attrs.field(repr=False)
    public_key: ECPoint = attrs.field(init=False)
    _key: ec.EllipticCurvePrivateKey = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if len(self.private_key) != 32:
            raise ValueError("a private key is 32 bytes")
        try:
            key = ec.derive_private_key(int.from_bytes(self.private_key, "big"), _CURVE)
        except ValueError:
            raise ValueError("private key out of range") from None
        numbers = key.public_key().public_numbers()
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "public_key", ECPoint(numbers.x, numbers.y))

    @classmethod
    def from_wif(cls, wif: str) -> KeyPair:
        """
        Import a compressed-key WIF (C{0x80 || key || 0x01}).
        """
        if len(wif) > _MAX_WIF_LENGTH:
            raise ValueError("not a compressed-key WIF")
        payload = b58check_decode(wif)
        if len(payload) != 34 or payload[0] != 0x80 or payload[33] != 0x01:
            raise ValueError("not a compressed-key WIF")
        return cls(payload[1:33])

    def to_wif(self) -> str:
        return b58check_encode(b"\x80" + self.private_key + b"\x01")

    @property
    def verification_script(self) -> bytes:
        return signature_redeem_script(self.public_key)

    @property
    def script_hash(self) -> UInt160:
        return script_hash(self.verification_script)

    def address(self, version: int = ADDRESS_VERSION) -> str:
        return address_from_script_hash(self.script_hash, version)

    def sign(self, message: bytes) -> bytes:
        return sign(self._key, message)


def _nep2_keys(passphrase: str, address_hash: bytes) -> tuple[bytes, bytes]:
    text = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    derived = hashlib.scrypt(text, salt=address_hash, n=16384, r=8, p=8, dklen=64,
                             maxmem=64 * 1024 * 1024)
    return derived[:32], derived[32:]


def _aes_ecb(key: bytes, data: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.ECB())
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def nep2_encrypt(pair: KeyPair, passphrase: str, version: int = ADDRESS_VERSION) -> str:
    """
    NEP-2: scrypt(16384, 8, 8) of the passphrase salted with the address hash, then AES-256-ECB.
    """
    address_hash = hash256(pair.address(version).encode("ascii"))[:4]
    half1, half2 = _nep2_keys(passphrase, address_hash)
    xored = bytes(a ^ b for a, b in zip(pair.private_key, half1, strict=True))
    return b58check_encode(b"\x01\x42\xe0" + address_hash + _aes_ecb(half2, xored, True))


def nep2_decrypt(nep2: str, passphrase: str, version: int = ADDRESS_VERSION) -> KeyPair:
    """
    Recover the key of a NEP-2 string; ValueError if the passphrase is wrong.
    """
    payload = b58check_decode(nep2)
    if len(payload) != 39 or payload[:3] != b"\x01\x42\xe0":
        raise ValueError("not a NEP-2 key")
    address_hash = payload[3:7]
    half1, half2 = _nep2_keys(passphrase, address_hash)
    xored = _aes_ecb(half2, payload[7:], False)
    pair = KeyPair(bytes(a ^ b for a, b in zip(xored, half1, strict=True)))
    if hash256(pair.address(version).encode("ascii"))[:4] != address_hash:
        raise ValueError("wrong NEP-2 passphrase")
    return pair
