# -*- test-case-name: tests.unit.test_wire_primitives -*-
"""
ECPoint: a point on NIST P-256 (secp256r1), the curve of every NEO 2 key.

The wire form is always the 33-byte compressed encoding (or C{00} for the point
at infinity); uncompressed and hybrid encodings are accepted on read and
re-encoded compressed, which is why hashes are taken over re-serialized data.
Points off the curve are rejected: C{cryptography} (OpenSSL) does the check and
the decompression. Points order by X, then Y, as the reference node sorts
validator keys (not by their encodings: the 02/03 prefix does not count).
"""

from __future__ import annotations

import functools

import attrs
from cryptography.hazmat.primitives.asymmetric import ec

from neo_twisted.wire.binary import BinaryReader, BinaryWriter
from neo_twisted.wire.errors import FormatError

_CURVE = ec.SECP256R1()


@functools.total_ordering
@attrs.frozen(eq=True, order=False)
class ECPoint:
    """
    A public key, or the point at infinity when C{x} and C{y} are C{None}.
    """

    x: int | None
    y: int | None

    @property
    def is_infinity(self) -> bool:
        return self.x is None

    @classmethod
    def infinity(cls) -> ECPoint:
        return cls(None, None)

    @classmethod
    def from_bytes(cls, data: bytes) -> ECPoint:
        """
        Decode one complete encoding (C{00}, compressed, uncompressed or hybrid);
        ValueError if it is invalid.
        """
        if data == b"\x00":
            return cls.infinity()
        prefix = data[0] if data else -1
        if prefix in (6, 7):
            if len(data) != 65 or (data[64] & 1) != (prefix & 1):
                raise ValueError("malformed hybrid point encoding")
            data = b"\x04" + data[1:]
        try:
            numbers = ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, data).public_numbers()
        except ValueError:
            raise ValueError(f"not a point on P-256: {data.hex()}") from None
        return cls(numbers.x, numbers.y)

    @classmethod
    def read(cls, reader: BinaryReader) -> ECPoint:
        start = reader.pos
        prefix = reader.read_u8()
        if prefix == 0:
            return cls.infinity()
        if prefix in (2, 3):
            body = reader.read_bytes(32)
        elif prefix in (4, 6, 7):
            body = reader.read_bytes(64)
            reader.canonical = False
        else:
            raise FormatError(f"invalid ECPoint prefix 0x{prefix:02x}", start)
        try:
            return cls.from_bytes(bytes((prefix,)) + body)
        except ValueError as e:
            raise FormatError(str(e), start) from None

    def encode(self) -> bytes:
        """
        The compressed encoding (C{00} for infinity).
        """
        if self.x is None or self.y is None:
            return b"\x00"
        return bytes((2 + (self.y & 1),)) + self.x.to_bytes(32, "big")

    def write(self, writer: BinaryWriter) -> None:
        writer.write_bytes(self.encode())

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """
        The key as C{cryptography} uses it, for signature checks.
        """
        if self.x is None or self.y is None:
            raise ValueError("the point at infinity is not a public key")
        return ec.EllipticCurvePublicNumbers(self.x, self.y, _CURVE).public_key()

    def _sort_key(self) -> tuple[int, int]:
        return (-1, -1) if self.x is None or self.y is None else (self.x, self.y)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ECPoint):
            return NotImplemented
        return self._sort_key() < other._sort_key()

    def __str__(self) -> str:
        return self.encode().hex()
