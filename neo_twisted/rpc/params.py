# -*- test-case-name: tests.unit.test_rpc_methods,tests.unit.test_rpc_plugins -*-
"""
Reading a method's positional parameters as the reference node reads them, and the
answers shared by every method module (not found, busy).

A wrong parameter is an L{RpcError} -32602 with the reason in C{data}.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

from twisted.python.failure import Failure

from neo_twisted.core.jsonify import Json
from neo_twisted.crypto.keys import script_hash_from_address
from neo_twisted.ledger.service import ReadQueueFullError
from neo_twisted.rpc.errors import SERVER_BUSY, RpcError, invalid_params, unknown
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.uint import UInt160, UInt256

T = TypeVar("T")

#: A method's positional parameters, as the request carried them.
Params = Sequence[Json]


def param(params: Params, position: int, name: str) -> Json:
    if position >= len(params):
        raise invalid_params(f"parameter {position} ({name}) is missing")
    return params[position]


def block_index(params: Params, position: int, name: str) -> int:
    """
    A block index: a JSON number, or its decimal string (C{uint.Parse} takes either).
    """
    value = param(params, position, name)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
        raise invalid_params(f"{name} must be a block index, not {value!r}")
    return value


def hash256(params: Params, position: int, name: str) -> UInt256:
    value = param(params, position, name)
    if not isinstance(value, str):
        raise invalid_params(f"{name} must be a hash string, not {value!r}")
    try:
        return UInt256.from_string(value)
    except ValueError as e:
        raise invalid_params(f"{name}: {e}") from None


def flag(params: Params, position: int) -> bool:
    """
    An optional verbose flag: true, or a non-zero number (C{AsBoolean}).
    """
    if position >= len(params) or params[position] is None:
        return False
    value = params[position]
    if isinstance(value, (bool, int, float)):
        return bool(value)
    raise invalid_params(f"parameter {position} must be a boolean, not {value!r}")


def hex_bytes(params: Params, position: int, name: str) -> bytes:
    value = param(params, position, name)
    if not isinstance(value, str):
        raise invalid_params(f"{name} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise invalid_params(f"{name} is not hex") from None


def decoded(kind: Callable[[bytes], T], data: bytes, name: str) -> T:
    try:
        return kind(data)
    except FormatError as e:
        raise invalid_params(f"{name} does not decode: {e}") from None


def address(params: Params, position: int, version: int) -> UInt160:
    """
    An address, or (40 hex digits or more, as the asset tracker plugin tells them
    apart) a script hash in its display form.
    """
    value = param(params, position, "address")
    if not isinstance(value, str):
        raise invalid_params(f"the address must be a string, not {value!r}")
    try:
        if len(value) < 40:
            return script_hash_from_address(value, version)
        return UInt160.from_string(value)
    except ValueError as e:
        raise invalid_params(f"{value!r} is not an address or a script hash: {e}") from None


def found(result: T | None, what: str) -> T:
    if result is None:
        raise unknown(what)
    return result


def busy(failure: Failure) -> NoReturn:
    """
    The ledger's read queue is full: the server's busy answer (-32000), not a failure.
    """
    failure.trap(ReadQueueFullError)  # type: ignore[no-untyped-call]
    raise RpcError(SERVER_BUSY, data=str(failure.value))
