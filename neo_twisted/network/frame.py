# -*- test-case-name: tests.test_network_frame -*-
"""
The 24-byte message frame and an incremental decoder for C{dataReceived}.

A frame is: magic (uint32), command (12 bytes, zero padded), payload length
(uint32, at most 0x02000000), checksum (the first 4 bytes of Hash256(payload)),
then the payload. The decoder fails as early as the bytes allow: a wrong magic
as soon as its bytes arrive, an oversized length as soon as the header is in, a
bad checksum when the payload is in. It never holds more than one message.
"""

from __future__ import annotations

import struct

import attrs

from neo_twisted.crypto.hashes import checksum
from neo_twisted.wire.errors import FormatError

HEADER_SIZE = 24
MAX_PAYLOAD_SIZE = 0x02000000
COMMAND_SIZE = 12

_HEADER = struct.Struct("<I12sI4s")


@attrs.frozen
class Frame:
    """
    One message as it came off the wire: its command and raw payload.
    """

    command: str
    payload: bytes


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

    After it raises L{FormatError} the stream is out of sync and the decoder
    must not be fed again: the connection is to be dropped.
    """

    def __init__(self, magic: int, max_payload: int = MAX_PAYLOAD_SIZE) -> None:
        self._magic_bytes = magic.to_bytes(4, "little")
        self._max_payload = max_payload
        self._buffer = bytearray()
        self._consumed = 0

    @property
    def buffered(self) -> int:
        """
        Bytes held back waiting for the rest of a message.
        """
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """
        Add bytes and return the messages they complete, in order.
        """
        self._buffer += data
        frames: list[Frame] = []
        buffer = self._buffer
        pos = 0
        end = len(buffer)
        try:
            while True:
                available = end - pos
                prefix = min(available, 4)
                if buffer[pos : pos + prefix] != self._magic_bytes[:prefix]:
                    raise FormatError("wrong network magic", self._consumed + pos)
                if available < HEADER_SIZE:
                    break
                _, raw_command, length, check = _HEADER.unpack_from(buffer, pos)
                if length > self._max_payload:
                    raise FormatError(
                        f"payload length {length} exceeds {self._max_payload}",
                        self._consumed + pos + 16)
                if available < HEADER_SIZE + length:
                    break
                start = pos + HEADER_SIZE
                payload = bytes(buffer[start : start + length])
                if checksum(payload) != check:
                    raise FormatError("payload checksum mismatch", self._consumed + pos + 20)
                frames.append(Frame(_decode_command(raw_command), payload))
                pos = start + length
        finally:
            if pos:
                del buffer[:pos]
                self._consumed += pos
        return frames
