# -*- test-case-name: tests.unit.test_vm_items -*-
"""
NeoVM stack items, with C#'s conversions and equality (docs/neo2-vm.md §3).

The reference's quirks are kept on purpose: PUSH0 is an empty ByteArray, not
Integer 0; Boolean false is empty bytes; arrays and maps compare by reference.
"""

from __future__ import annotations

from typing import ClassVar

#: The largest integer operand the arithmetic opcodes accept, in bytes (§4).
MAX_BIGINTEGER_SIZE = 32
_INT_LIMIT = 1 << (MAX_BIGINTEGER_SIZE * 8 - 1)


class VMError(Exception):
    """
    An instruction failed: the engine turns this (and any other error) into FAULT.
    """


def int_to_bytes(value: int) -> bytes:
    """
    C# C{BigInteger.ToByteArray()}: minimal two's complement, little-endian, 0 is C{00}.
    """
    length = (value if value >= 0 else ~value).bit_length() // 8 + 1
    return value.to_bytes(length, "little", signed=True)


def bytes_to_int(data: bytes) -> int:
    """
    C# C{new BigInteger(bytes)}: two's complement little-endian of any length; empty is 0.
    """
    return int.from_bytes(data, "little", signed=True)


def fits_bigint(value: int) -> bool:
    """
    Whether C{value} passes the 32-byte check of the arithmetic opcodes.
    """
    return -_INT_LIMIT <= value < _INT_LIMIT


def to_int32(value: int) -> int:
    """
    C#'s C{(int)BigInteger}: out of range throws, so it is a FAULT.
    """
    if -0x80000000 <= value <= 0x7FFFFFFF:
        return value
    raise VMError("integer does not fit an int32")


class StackItem:
    """
    The base of every item; collections and interop refuse the byte and integer views.
    """

    __slots__ = ()
    type_name: ClassVar[str] = "StackItem"

    def get_bytes(self) -> bytes:
        raise VMError(f"{self.type_name} has no byte representation")

    def get_int(self) -> int:
        raise VMError(f"{self.type_name} has no integer value")

    def get_bool(self) -> bool:
        return True

    def equals(self, other: StackItem) -> bool:
        return self is other

    def map_hash(self) -> int:
        """
        The hash a Map uses: computed from the bytes, so collections cannot be keys.
        """
        return hash(self.get_bytes())


class ByteArray(StackItem):
    __slots__ = ("value",)
    type_name = "ByteArray"

    def __init__(self, value: bytes) -> None:
        self.value = value

    def get_bytes(self) -> bytes:
        return self.value

    def get_int(self) -> int:
        return int.from_bytes(self.value, "little", signed=True)

    def get_bool(self) -> bool:
        value = self.value
        return len(value) > MAX_BIGINTEGER_SIZE or value.count(0) != len(value)

    def equals(self, other: StackItem) -> bool:
        if other is self:
            return True
        try:
            return self.value == other.get_bytes()
        except VMError:
            return False


class Integer(StackItem):
    __slots__ = ("value",)
    type_name = "Integer"

    def __init__(self, value: int) -> None:
        self.value = value

    def get_bytes(self) -> bytes:
        return int_to_bytes(self.value)

    def get_int(self) -> int:
        return self.value

    def get_bool(self) -> bool:
        return self.value != 0

    def equals(self, other: StackItem) -> bool:
        if other is self:
            return True
        if isinstance(other, Integer):
            return self.value == other.value
        try:
            return int_to_bytes(self.value) == other.get_bytes()
        except VMError:
            return False


class Boolean(StackItem):
    __slots__ = ("value",)
    type_name = "Boolean"

    def __init__(self, value: bool) -> None:
        self.value = value

    def get_bytes(self) -> bytes:
        return b"\x01" if self.value else b""

    def get_int(self) -> int:
        return 1 if self.value else 0

    def get_bool(self) -> bool:
        return self.value

    def equals(self, other: StackItem) -> bool:
        if other is self:
            return True
        if isinstance(other, Boolean):
            return self.value == other.value
        try:
            return self.get_bytes() == other.get_bytes()
        except VMError:
            return False


class Array(StackItem):
    """
    A list of items; equality is by reference.
    """

    __slots__ = ("items",)
    type_name = "Array"

    def __init__(self, items: list[StackItem] | None = None) -> None:
        self.items: list[StackItem] = [] if items is None else items


class Struct(Array):
    """
    An Array with value semantics: compared deeply, cloned when stored.
    """

    __slots__ = ()
    type_name = "Struct"

    def clone(self) -> Struct:
        """
        A copy made through nested Structs only; other items are shared.
        """
        return Struct([i.clone() if isinstance(i, Struct) else i for i in self.items])

    def equals(self, other: StackItem) -> bool:
        if other is self:
            return True
        if not isinstance(other, Struct) or len(other.items) != len(self.items):
            return False
        return all(a.equals(b) for a, b in zip(self.items, other.items, strict=True))


class MapKey:
    """
    A Map key wrapper: hashed by the key's bytes, compared with the VM's equality.
    """

    __slots__ = ("_hash", "item")

    def __init__(self, item: StackItem) -> None:
        self.item = item
        self._hash = item.map_hash()

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MapKey) and self.item.equals(other.item)


class Map(StackItem):
    """
    A dictionary keyed by primitive items; the first key object inserted is kept.
    """

    __slots__ = ("entries",)
    type_name = "Map"

    def __init__(self) -> None:
        self.entries: dict[MapKey, StackItem] = {}


class InteropInterface(StackItem):
    """
    A host object handed to the script (a transaction, a storage context...).
    """

    __slots__ = ("target",)
    type_name = "InteropInterface"

    def __init__(self, target: object) -> None:
        self.target = target

    def get_bool(self) -> bool:
        return self.target is not None

    def equals(self, other: StackItem) -> bool:
        if other is self:
            return True
        if not isinstance(other, InteropInterface):
            return False
        return type(self.target) is type(other.target) and self.target == other.target


def is_collection(item: StackItem) -> bool:
    """
    Array, Struct or Map: what may not be a key.
    """
    return isinstance(item, (Array, Map))
