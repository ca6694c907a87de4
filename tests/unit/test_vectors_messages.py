"""
messages.json: the shared NEO 2 network magics, frame checksums and C{headers} message
match what the framing and payload code produce.
"""

from __future__ import annotations

from collections.abc import Mapping

from neo_twisted.crypto.hashes import checksum
from neo_twisted.crypto.keys import ADDRESS_VERSION
from neo_twisted.network.frame import Frame, FrameDecoder, encode_frame
from neo_twisted.network.payloads import HeadersPayload, decode_payload, payload_bytes
from tests.support.samples import MAINNET_MAGIC
from tests.support.vector_checks import MESSAGES, KindCheck, VectorCheck, VectorTestCase
from tests.support.vectors import Vector


def _check_magic(check: VectorCheck, record: Vector) -> None:
    data = bytes.fromhex(record["hex"])
    magic = check.stated("magic")
    check.equal("magic", int.from_bytes(data, "little"))
    frame = encode_frame(magic, "verack")
    check.equal("magic", frame[:4], data, " (frame prefix)")
    check.equal("magic", FrameDecoder(magic).feed(frame), [Frame("verack", b"")],
                " (decoded frame)")
    if "magic_hex_u32" in check.expect:
        check.equal("magic_hex_u32", f"0x{magic:08x}")
    if "address_version" in check.expect:
        check.equal("address_version", ADDRESS_VERSION)


def _check_payload_checksum(check: VectorCheck, record: Vector) -> None:
    data = bytes.fromhex(record["hex"])
    check.equal("checksum_bytes", checksum(data).hex())
    check.equal("checksum_u32_le", int.from_bytes(checksum(data), "little"))
    frame = encode_frame(MAINNET_MAGIC, "ping", data)
    check.equal("checksum_bytes", frame[20:24].hex(), detail=" (in a frame)")


def _check_headers_message(check: VectorCheck, record: Vector) -> None:
    data = bytes.fromhex(record["hex"])
    frames = FrameDecoder(MAINNET_MAGIC).feed(encode_frame(MAINNET_MAGIC, "headers", data))
    check.equal("header_count", len(frames), 1, " (frames)")
    payload = decode_payload(frames[0].command, frames[0].payload)
    assert isinstance(payload, HeadersPayload)
    check.equal("header_count", len(payload.headers))
    check.equal("hash0", str(payload.headers[0].hash))
    check.equal("hash0", payload_bytes(payload), data, " (re-encoded payload)")


_MESSAGE_CHECKS: Mapping[str, KindCheck] = {
    "magic": _check_magic,
    "payload_checksum": _check_payload_checksum,
    "headers_payload": _check_headers_message,
}


class MessageVectorTests(VectorTestCase):
    """
    messages.json: network magics, frame checksums and a C{headers} payload.
    """

    def test_vector_set_is_complete(self) -> None:
        """
        The file holds the README's 6 vectors.
        """
        self.assert_vector_count(MESSAGES)

    def test_stated_values(self) -> None:
        """
        Magics are the little-endian first bytes of every frame, checksums are the first
        bytes of Hash256 of the payload, and the payload decodes as a C{headers} message.
        """
        self.assert_stated_by_kind(MESSAGES, _MESSAGE_CHECKS)
