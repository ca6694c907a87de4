# -*- test-case-name: tests.unit.test_core_blocks -*-
"""
What every wire structure shares: bytes from C{write}, and (for signed ones) a cached hash.

L{Verifiable} mirrors the reference node's C{IVerifiable}: the object is signed over
its unsigned part and identified by the Hash256 of that part. The hash is computed
once; parsers that saw canonical input set it straight from the input bytes.
"""

from __future__ import annotations

from neo_twisted.crypto.hashes import hash256
from neo_twisted.wire.binary import BinaryWriter
from neo_twisted.wire.uint import UInt256


class Serializable:
    """
    A structure that can C{write} itself; gives L{to_bytes} and L{size}.
    """

    __slots__ = ()

    def write(self, writer: BinaryWriter) -> None:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        writer = BinaryWriter()
        self.write(writer)
        return writer.to_bytes()

    @property
    def size(self) -> int:
        """
        The serialized size in bytes (what JSON-RPC calls C{size}).
        """
        return len(self.to_bytes())


class Verifiable(Serializable):
    """
    A signed structure: subclasses write their unsigned part and declare C{_hash_cache}.
    """

    __slots__ = ()
    _hash_cache: UInt256 | None

    def write_unsigned(self, writer: BinaryWriter) -> None:
        raise NotImplementedError

    def unsigned_bytes(self) -> bytes:
        """
        C{GetHashData}: the signed message, and what the hash is taken over.
        """
        writer = BinaryWriter()
        self.write_unsigned(writer)
        return writer.to_bytes()

    @property
    def hash(self) -> UInt256:
        cached = self._hash_cache
        if cached is None:
            cached = bytes.__new__(UInt256, hash256(self.unsigned_bytes()))
            object.__setattr__(self, "_hash_cache", cached)
        return cached

    def set_hash_from(self, unsigned: bytes) -> None:
        """
        Cache the hash of C{unsigned}, the canonical unsigned bytes a parser already holds.
        """
        object.__setattr__(self, "_hash_cache", bytes.__new__(UInt256, hash256(unsigned)))
