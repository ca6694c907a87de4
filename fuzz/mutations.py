"""
What the hypothesis engine feeds a target: random bytes, and valid inputs (the target's
seeds and encodings drawn from its strategy) damaged the ways libFuzzer damages them.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from fuzz.registry import Target

#: Interesting values a damaged count or length takes.
_EDGES = [b"\x00", b"\xfc", b"\xfd\xff\xff", b"\xfe\xff\xff\xff\xff", b"\xff" * 9,
          b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\x01\x00"]


@st.composite
def mutations(draw: st.DrawFn, base: SearchStrategy[bytes]) -> bytes:
    """
    An input from C{base} with one to four changes: a byte flipped, bytes inserted, a range
    deleted or repeated, an edge value written over, or the end cut off.
    """
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("flip", "insert", "delete", "repeat", "edge", "cut")))
        at = draw(st.integers(0, len(data)))
        if kind == "insert" or not data:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "flip":
            data[min(at, len(data) - 1)] ^= draw(st.integers(1, 0xFF))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif kind == "repeat":
            piece = data[at:at + draw(st.integers(1, 8))] or b"["
            data[at:at] = piece * draw(st.integers(1, 1200))
        elif kind == "edge":
            edge = draw(st.sampled_from(_EDGES))
            data[at:at + len(edge)] = edge
        else:
            del data[at:]
    return bytes(data)


def inputs(seeds: list[bytes], target: Target) -> SearchStrategy[bytes]:
    """
    The inputs for C{target}: random bytes a third of the time, damaged valid ones otherwise.
    """
    valid: list[SearchStrategy[bytes]] = []
    if seeds:
        valid.append(st.sampled_from(seeds))
    if target.strategy is not None:
        valid.append(target.strategy())
    random_bytes = st.binary(max_size=min(target.max_len, 1024))
    if not valid:
        return random_bytes
    return st.one_of(random_bytes, mutations(st.one_of(valid)), mutations(st.one_of(valid)))
