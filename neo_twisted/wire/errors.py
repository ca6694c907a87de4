"""
The one exception family raised for bytes that do not parse.

Callers (protocols, the CLI, RPC) catch L{FormatError} alone: every parser in
L{neo_twisted} converts lower-level failures into it, with the offset at which
the input went wrong, so a hostile peer can never surface an C{IndexError} or
C{struct.error} from deep inside a decoder.
"""

from __future__ import annotations


class FormatError(Exception):
    """
    Bytes that are not a valid encoding of the expected structure.

    @ivar reason: what is wrong, in words.
    @ivar offset: byte offset in the input where the problem was found.
    """

    def __init__(self, reason: str, offset: int = 0) -> None:
        super().__init__(reason, offset)
        self.reason = reason
        self.offset = offset

    def __str__(self) -> str:
        return f"{self.reason} (at offset {self.offset})"
