# -*- test-case-name: tests.unit.test_crypto -*-
"""
Base58 and Base58Check with Bitcoin's alphabet, for addresses and WIF keys.
"""

from __future__ import annotations

from neo_twisted.crypto.hashes import checksum

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\x00"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(ALPHABET[rest])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """
    Decode Base58; ValueError on a character outside the alphabet.
    """
    number = 0
    for char in text:
        digit = _INDEX.get(char)
        if digit is None:
            raise ValueError(f"invalid Base58 character {char!r}")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\x00" * zeros + body


def b58check_encode(payload: bytes) -> str:
    return b58encode(payload + checksum(payload))


def b58check_decode(text: str) -> bytes:
    """
    Decode Base58Check and verify its checksum; ValueError if it does not match.
    """
    raw = b58decode(text)
    if len(raw) < 4:
        raise ValueError("Base58Check string too short")
    payload, check = raw[:-4], raw[-4:]
    if checksum(payload) != check:
        raise ValueError("Base58Check checksum mismatch")
    return payload
