# -*- test-case-name: tests.unit.test_network_frame -*-
"""
The 24-byte message frame and an incremental decoder for C{dataReceived}.

A frame is: magic (uint32), command (12 bytes, zero padded), payload length
(uint32, at most 0x02000000), checksum (the first 4 bytes of Hash256(payload)),
then the payload. The decoder fails as early as the bytes allow: a wrong magic
as soon as its bytes arrive, an oversized length as soon as the header is in, a
bad checksum when the payload is in.

A connection pulls frames one at a time (L{FrameDecoder.next_frame}), so it can
stop between two of them (while one is decoded elsewhere) and judge each from its
first bytes before the rest arrives: a frame judged worthless is skipped as it
streams in, never buffered, hashed or decoded.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import attrs

from neo_twisted.crypto.hashes import checksum
from neo_twisted.wire.errors import FormatError

HEADER_SIZE = 24
MAX_PAYLOAD_SIZE = 0x02000000
COMMAND_SIZE = 12

_HEADER = struct.Struct("<I12sI4s")


class WrongMagicError(FormatError):
    """
    A frame of another network: its first bytes are not our magic (a testnet node
    dialling a mainnet port, say).
    """


@attrs.frozen
class Frame:
    """
    One message as it came off the wire: its command and raw payload.
    """

    command: str
    payload: bytes
    #: The checksum the header carried, when the decoder left it to the caller to
    #: verify (a payload over its C{verify_up_to}); None once verified.
    check: bytes | None = None


@attrs.frozen
class SkippedFrame:
    """
    A message its judge refused on its first bytes: its payload is dropped unread.
    """

    command: str
    length: int


#: Decides from a frame's command, payload length and first payload bytes (up to
#: the decoder's C{head_size}) whether the frame is read (True) or skipped.
Judge = Callable[[str, int, bytes], bool]


def encode_frame(magic: int, command: str, payload: bytes = b"") -> bytes:
    """
    The bytes of one message.
    """
    name = command.encode("ascii")
    if len(name) > COMMAND_SIZE:
        raise ValueError(f"command {command!r} is longer than {COMMAND_SIZE} bytes")
    if len(payload) > MAX_PAYLOAD_SIZE:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_SIZE}")
    return _HEADER.pack(magic, name, len(payload), checksum(payload)) + payload


def _decode_command(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("utf-8", "replace")


class FrameDecoder:
    """
    Turns any split of a byte stream into whole L{Frame}s.

    Bytes go in with L{push} and frames come out, in order, from L{next_frame};
    L{feed} does both for callers that want every frame at once. After a
    L{FormatError} the stream is out of sync and the decoder must not be used
    again: the connection is to be dropped.

    @param judge: asked once per frame, as soon as its header and its first
        C{head_size} payload bytes (all of a shorter payload) are in, whether to read
        it; a refused frame comes out as a L{SkippedFrame} at once, and the rest of its
        payload is dropped as it arrives.
    @param verify_up_to: payloads longer than this come out unverified, their
        checksum in L{Frame.check} (hashing 32 MiB is work to do elsewhere).
    """

    def __init__(self, magic: int, max_payload: int = MAX_PAYLOAD_SIZE, *,
                 judge: Judge | None = None, head_size: int = 0,
                 verify_up_to: int | None = None) -> None:
        self._magic_bytes = magic.to_bytes(4, "little")
        self._max_payload = max_payload
        self._judge = judge
        self._head_size = head_size
        self._verify_up_to = max_payload if verify_up_to is None else verify_up_to
        self._buffer = bytearray()
        self._pos = 0  # where the next frame starts in the buffer
        self._consumed = 0  # stream offset of the buffer's first byte
        self._judged = False  # whether the frame at _pos was judged and kept
        self._skipping = 0  # payload bytes of a skipped frame still to arrive

    @property
    def buffered(self) -> int:
        """
        Bytes held back waiting for the rest of a message (or for L{next_frame}).
        """
        return len(self._buffer) - self._pos

    def push(self, data: bytes) -> None:
        """
        Add bytes from the stream (those of a skipped payload are dropped at once).
        """
        if self._skipping:
            dropped = min(self._skipping, len(data))
            self._skipping -= dropped
            self._consumed += dropped
            data = data[dropped:]
        if self._pos:
            del self._buffer[:self._pos]
            self._consumed += self._pos
            self._pos = 0
        self._buffer += data

    def feed(self, data: bytes) -> list[Frame]:
        """
        Add bytes and return the messages they complete, in order (no judge: every
        frame is read).
        """
        if self._judge is not None:
            raise ValueError("a judging decoder is read with next_frame")
        self.push(data)
        frames: list[Frame] = []
        while (frame := self.next_frame()) is not None:
            assert isinstance(frame, Frame)
            frames.append(frame)
        return frames

    def next_frame(self) -> Frame | SkippedFrame | None:
        """
        The next message, if its bytes are in (or, skipped, its first bytes).

        @raise FormatError: a wrong magic, an oversized length, a bad checksum.
        """
        buffer = self._buffer
        pos = self._pos
        available = len(buffer) - pos
        prefix = min(available, 4)
        if buffer[pos : pos + prefix] != self._magic_bytes[:prefix]:
            raise WrongMagicError("wrong network magic", self._consumed + pos)
        if available < HEADER_SIZE:
            return None
        _, raw_command, length, check = _HEADER.unpack_from(buffer, pos)
        if length > self._max_payload:
            raise FormatError(f"payload length {length} exceeds {self._max_payload}",
                              self._consumed + pos + 16)
        start = pos + HEADER_SIZE
        if self._judge is not None and not self._judged:
            head = min(length, self._head_size)
            if available < HEADER_SIZE + head:
                return None
            command = _decode_command(raw_command)
            if not self._judge(command, length, bytes(buffer[start : start + head])):
                kept = min(length, available - HEADER_SIZE)
                self._skipping = length - kept
                self._advance(start + kept)
                return SkippedFrame(command, length)
            self._judged = True
        if available < HEADER_SIZE + length:
            return None
        with memoryview(buffer) as view:  # one copy, not two
            payload = bytes(view[start : start + length])
        unverified: bytes | None = None
        if length > self._verify_up_to:
            unverified = bytes(check)
        elif checksum(payload) != check:
            raise FormatError("payload checksum mismatch", self._consumed + pos + 20)
        self._advance(start + length)
        return Frame(_decode_command(raw_command), payload, unverified)

    def _advance(self, pos: int) -> None:
        """
        The frame at C{_pos} is done: the next starts at C{pos}.
        """
        self._judged = False
        if pos == len(self._buffer):
            self._consumed += pos
            self._buffer.clear()
            self._pos = 0
        else:
            self._pos = pos
