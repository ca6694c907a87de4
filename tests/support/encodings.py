"""
Encodings built by hand for tests: the bytes a structure writes, a var int in any width
(canonical or not), and a point in uncompressed or hybrid form.
"""

from __future__ import annotations

import struct
from typing import Protocol

from neo_twisted.wire.binary import BinaryWriter, var_int_size
from neo_twisted.wire.ecpoint import ECPoint


class Writable(Protocol):
    """
    Anything with a C{write(writer)} method: every wire structure.
    """

    def write(self, writer: BinaryWriter) -> None: ...


def encode(value: Writable) -> bytes:
    """
    The bytes C{value.write} produces.
    """
    writer = BinaryWriter()
    value.write(writer)
    return writer.to_bytes()


def var_int(value: int, width: int) -> bytes:
    """
    C{value} as a var int of exactly C{width} bytes (1, 3, 5 or 9), canonical or not.
    """
    if width == 1:
        return bytes((value,))
    prefix, fmt = {3: (b"\xfd", "<H"), 5: (b"\xfe", "<I"), 9: (b"\xff", "<Q")}[width]
    return prefix + struct.pack(fmt, value)


def widths_for(value: int) -> list[int]:
    """
    Every var int width that can hold C{value}, the canonical one first.
    """
    return [w for w in (1, 3, 5, 9) if w >= var_int_size(value)]


def uncompressed(p: ECPoint, prefix: int = 4) -> bytes:
    """
    The 65-byte uncompressed (or, with prefix 6/7, hybrid) encoding of C{p}.
    """
    assert p.x is not None and p.y is not None
    return bytes((prefix,)) + p.x.to_bytes(32, "big") + p.y.to_bytes(32, "big")
