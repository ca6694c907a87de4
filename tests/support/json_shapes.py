"""
A JSON value (L{neo_twisted.core.jsonify.Json}, or an RPC method's C{object} result)
narrowed to the shape a test reads, for the type checker: an object, an array, or
what lies at a path of keys and indices.

A value of another shape raises L{TypeError}, as indexing it would have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from neo_twisted.core.jsonify import Json


def json_object(value: object) -> Mapping[str, Json]:
    """
    C{value}, a JSON object.
    """
    if not isinstance(value, Mapping):
        raise TypeError(f"not a JSON object: {value!r}")
    return value


def json_array(value: object) -> Sequence[Json]:
    """
    C{value}, a JSON array (a string is not one).
    """
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"not a JSON array: {value!r}")
    return value


def json_at(value: object, first: str | int, *rest: str | int) -> Json:
    """
    What lies in C{value} at the path C{first, *rest}: at each step a key of an object
    or an index of an array, as C{value[first][rest[0]]...} reads it.
    """
    found = _step(value, first)
    for step in rest:
        found = _step(found, step)
    return found


def _step(value: object, step: str | int) -> Json:
    return json_object(value)[step] if isinstance(step, str) else json_array(value)[step]
