# -*- test-case-name: tests.unit.test_crypto -*-
"""
The three digests NEO uses: SHA-256, Hash256 (SHA-256 twice) and Hash160 (RIPEMD-160 of SHA-256).
"""

from __future__ import annotations

import hashlib

_sha256 = hashlib.sha256


def sha256(data: bytes) -> bytes:
    return _sha256(data).digest()


def hash256(data: bytes) -> bytes:
    """
    SHA-256 applied twice: object ids, block hashes, merkle nodes, frame checksums.
    """
    return _sha256(_sha256(data).digest()).digest()


def hash160(data: bytes) -> bytes:
    """
    RIPEMD-160 of SHA-256: script hashes.
    """
    return hashlib.new("ripemd160", _sha256(data).digest()).digest()


def checksum(data: bytes) -> bytes:
    """
    The 4-byte checksum of frames and Base58Check: the first bytes of Hash256.
    """
    return hash256(data)[:4]
