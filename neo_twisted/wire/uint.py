# -*- test-case-name: tests.unit.test_wire_primitives -*-
"""
UInt160 and UInt256: fixed-size hashes kept in wire order.

They are C{bytes} subclasses so that they hash, compare for equality and slice
as fast as bytes do. Their text form, and their ordering, follow the reference
node: the display string is C{0x} plus the bytes reversed, and C{<} compares
from the last byte down, as an unsigned little-endian integer.
"""

from __future__ import annotations

from typing import ClassVar, Self


class _UIntBase(bytes):
    __slots__ = ()
    SIZE: ClassVar[int]

    def __new__(cls, data: bytes | None = None) -> Self:
        if data is None:
            data = bytes(cls.SIZE)
        if len(data) != cls.SIZE:
            raise ValueError(f"{cls.__name__} needs {cls.SIZE} bytes, got {len(data)}")
        return bytes.__new__(cls, data)

    @classmethod
    def from_string(cls, text: str) -> Self:
        """
        Parse the display form (with or without C{0x}): hex digits in reversed byte order.
        """
        digits = text[2:] if text[:2] in ("0x", "0X") else text
        if len(digits) != cls.SIZE * 2:
            raise ValueError(f"{cls.__name__} needs {cls.SIZE * 2} hex digits, got {len(digits)}")
        return cls(bytes.fromhex(digits)[::-1])

    def __str__(self) -> str:
        return "0x" + self[::-1].hex()

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self}')"

    # bytes ordering compares from byte 0; the reference node compares from the last byte.
    def __lt__(self, other: bytes) -> bool:
        return self[::-1] < other[::-1]

    def __le__(self, other: bytes) -> bool:
        return self[::-1] <= other[::-1]

    def __gt__(self, other: bytes) -> bool:
        return self[::-1] > other[::-1]

    def __ge__(self, other: bytes) -> bool:
        return self[::-1] >= other[::-1]

    __hash__ = bytes.__hash__


class UInt160(_UIntBase):
    """
    A 20-byte script hash, in wire order.
    """

    __slots__ = ()
    SIZE = 20


class UInt256(_UIntBase):
    """
    A 32-byte object hash (transaction, block, asset id), in wire order.
    """

    __slots__ = ()
    SIZE = 32


#: The all-zero hashes, used as "none" (genesis PrevHash, "no stop" in getblocks).
ZERO_UINT160 = UInt160()
ZERO_UINT256 = UInt256()
