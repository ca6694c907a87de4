"""
The fuzz target type and the registry L{fuzz.targets} fills.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["TARGETS", "CheckError", "Target", "register", "strict_json"]


class CheckError(AssertionError):
    """
    A target's own check failed: what a decoder accepted does not behave as it should.
    """


@attrs.frozen
class Target:
    """
    One fuzz target.

    @ivar run: the function under test, given one input.
    @ivar allowed: the exceptions that are a clean rejection of the input.
    @ivar seeds: valid (or nearly valid) inputs to start from; cheap and deterministic.
    @ivar strategy: valid inputs drawn from the test strategies, for long runs (None: none).
    @ivar max_len: the longest input the coverage-guided fuzzer makes.
    """

    name: str
    run: Callable[[bytes], object]
    allowed: tuple[type[BaseException], ...]
    seeds: Callable[[], Iterable[bytes]]
    strategy: Callable[[], SearchStrategy[bytes]] | None = None
    max_len: int = 4096

    def check(self, data: bytes) -> None:
        """
        Run the target on C{data}; only an exception that is not allowed gets out.
        """
        with contextlib.suppress(*self.allowed):
            self.run(data)


TARGETS: dict[str, Target] = {}


def register(target: Target) -> Target:
    if target.name in TARGETS:
        raise ValueError(f"fuzz target {target.name!r} registered twice")
    TARGETS[target.name] = target
    return target


def _reject_constant(constant: str) -> object:
    raise CheckError(f"{constant} is not JSON")


def strict_json(text: str | bytes) -> object:
    """
    C{text} as JSON, NaN and Infinity refused (as strict clients refuse them); a
    L{CheckError} if it is not JSON.
    """
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as e:
        raise CheckError(f"not JSON: {e}: {text[:200]!r}") from None
