"""
A value a test knows is there, out of an optional one, for the type checker.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    """
    C{value}, which must not be None.
    """
    assert value is not None
    return value
