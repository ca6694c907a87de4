# -*- test-case-name: tests.unit.test_crypto -*-
"""
ECDSA on P-256 over SHA-256, with NEO's 64-byte r||s signatures.

NEO signs the unsigned serialization itself (hashed once with SHA-256 inside
ECDSA), never the double-SHA-256 object id. Signatures are IEEE P1363 (r||s,
each 32 bytes big-endian), not DER; there is no low-S rule.
"""

from __future__ import annotations

import functools

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

_CURVE = ec.SECP256R1()
_ECDSA = ec.ECDSA(hashes.SHA256())
_DETERMINISTIC = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@functools.lru_cache(maxsize=4096)
def load_public_key(encoded: bytes) -> ec.EllipticCurvePublicKey | None:
    """
    A public key from 33 (compressed), 65 (uncompressed) or 64 (raw X||Y) bytes; None if invalid.

    Cached: validators and busy accounts sign again and again, and decompressing a
    point costs more than checking a signature's arithmetic bounds.
    """
    if len(encoded) == 64:
        encoded = b"\x04" + encoded
    if len(encoded) not in (33, 65):
        return None
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, encoded)
    except ValueError:
        return None


def verify_signature(public_key: ec.EllipticCurvePublicKey, message: bytes,
                     signature: bytes) -> bool:
    """
    Whether C{signature} (64 bytes r||s) signs C{message} under C{public_key}.
    """
    if len(signature) != 64:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < _ORDER and 0 < s < _ORDER):
        return False
    try:
        public_key.verify(encode_dss_signature(r, s), message, _ECDSA)
    except InvalidSignature:
        return False
    return True


def sign(private_key: ec.EllipticCurvePrivateKey, message: bytes,
         deterministic: bool = True) -> bytes:
    """
    Sign C{message}; deterministic (RFC 6979) by default, so the same input gives the same bytes.
    """
    der = private_key.sign(message, _DETERMINISTIC if deterministic else _ECDSA)
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")
