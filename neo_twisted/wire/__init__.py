"""
Binary primitives of the NEO 2 wire format: pure functions and plain data, no I/O.
"""

from neo_twisted.wire.binary import BinaryReader, BinaryWriter, var_int_size
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.fixed8 import FIXED8_ONE, format_fixed8, parse_fixed8
from neo_twisted.wire.uint import UInt160, UInt256

__all__ = [
    "FIXED8_ONE",
    "BinaryReader",
    "BinaryWriter",
    "ECPoint",
    "FormatError",
    "UInt160",
    "UInt256",
    "format_fixed8",
    "parse_fixed8",
    "var_int_size",
]
