# -*- test-case-name: tests.unit.test_ledger_chainacc,tests.unit.test_cli_import_names -*-
"""
The names and layouts of neo-cli's chain packages (read and written in
L{neo_twisted.ledger.chainacc}).

  - C{chain.acc}: uint32 LE count, then count records, heights 0, 1, ...
  - C{chain.<start>.acc}: uint32 LE start, uint32 LE count, then records from height start.
  - A record: int32 LE length, then that many bytes of a full serialized block.
  - C{<name>.zip}: a zip archive whose entry C{<name>} holds one of the above.

neo-cli tells the layout by the name; a file named otherwise (an operator's
C{blocks.acc}) is told by its first record (L{sniff_layout}).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from pathlib import Path

import attrs

#: A block travels in one P2P payload, so no real block is larger; the cap stops a
#: corrupt length from making the reader allocate gigabytes.
MAX_RECORD_SIZE = 0x02000000
#: Below this a record cannot even hold a header (104 bytes, marker, empty witness, tx count).
MIN_RECORD_SIZE = 104 + 1 + 2 + 1
MAX_UINT32 = 0xFFFFFFFF
U32 = struct.Struct("<I")
I32 = struct.Struct("<i")
#: The offset of the header's Index field inside a serialized block.
INDEX_AT = 72
#: The bytes that tell the layout: start, count, the first record's length and index.
PROBE = 4 + 4 + 4 + INDEX_AT + 4
_PARTIAL_NAME = re.compile(r"chain\.(\d+)\.acc")


@attrs.frozen
class ChainFileName:
    """
    What a chain file's name says about it.

    @ivar partial: whether the file starts with a start height (C{chain.<start>.acc}).
    @ivar start: the start height the name claims (0 for C{chain.acc}).
    @ivar entry: the name of the data inside: the file name, without C{.zip} if compressed.
    """

    path: Path
    partial: bool
    start: int
    compressed: bool
    entry: str


def parse_chain_file_name(path: str | Path) -> ChainFileName:
    """
    The layout a name implies; names other than C{chain.<start>.acc[.zip]} mean
    C{chain.acc}'s to the writer (the reader looks: L{sniff_layout}).
    """
    path = Path(path)
    compressed = path.name.endswith(".zip")
    entry = path.name[:-4] if compressed else path.name
    match = _PARTIAL_NAME.fullmatch(entry)
    if match is not None and int(match.group(1)) <= MAX_UINT32:
        return ChainFileName(path, True, int(match.group(1)), compressed, entry)
    return ChainFileName(path, False, 0, compressed, entry)


def chain_file_name(start: int | None = None, compressed: bool = False) -> str:
    """
    The name neo-cli gives an export: C{chain.acc} for a full one (C{start} None), else
    C{chain.<start>.acc}; with C{.zip} appended when compressed.
    """
    name = "chain.acc" if start is None else f"chain.{start}.acc"
    return name + ".zip" if compressed else name


def is_named(info: ChainFileName) -> bool:
    """
    Whether the name is one neo-cli gives (and so tells the layout).
    """
    return info.partial or info.entry == "chain.acc"


def order_chain_files(paths: Iterable[str | Path], *,
                      any_name: bool = False) -> list[ChainFileName]:
    """
    The chain files among C{paths} in import order: C{chain.acc} first, then
    C{chain.<start>.acc} by ascending start.

    Other names are left out, or with C{any_name} (files named one by one) come
    last, in the order given: their start is in their header, which the reader
    reads. When both a file and its C{.zip} are present the plain file wins, so the
    same blocks are not offered twice. Deciding where to stop (a start beyond the
    local height + 1) is the importer's business: it has the height.
    """
    chosen: dict[tuple[bool, int], ChainFileName] = {}
    others: list[ChainFileName] = []
    for path in paths:
        info = parse_chain_file_name(path)
        if not is_named(info):
            if any_name:
                others.append(info)
            continue
        key = (info.partial, info.start)
        other = chosen.get(key)
        if other is None or (other.compressed and not info.compressed):
            chosen[key] = info
    return [chosen[key] for key in sorted(chosen)] + others


def sniff_layout(head: bytes) -> tuple[bool, int] | None:
    """
    C{(partial, start)} of the layout a file's first bytes fit, None if neither: a
    first record holding a block at the height the layout gives it (0, or the start).

    A C{chain.acc}'s bytes 8 to 12 are its first block's version, 0, so never a
    record length: the two layouts cannot both fit a real file.
    """
    def fits(at: int, height: int) -> bool:
        if len(head) < at + 4 + INDEX_AT + 4:
            return False
        length: int = I32.unpack_from(head, at)[0]
        index: int = U32.unpack_from(head, at + 4 + INDEX_AT)[0]
        return MIN_RECORD_SIZE <= length <= MAX_RECORD_SIZE and index == height

    if head == bytes(4) or fits(4, 0):
        return False, 0
    if len(head) >= 8:
        start: int = U32.unpack_from(head, 0)[0]
        if fits(8, start) or (len(head) == 8 and head[4:] == bytes(4)):
            return True, start
    return None


def find_chain_files(directory: str | Path) -> list[ChainFileName]:
    """
    The chain files in C{directory}, in import order (see L{order_chain_files}).
    """
    return order_chain_files(p for p in Path(directory).iterdir() if p.is_file())
