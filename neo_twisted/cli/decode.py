# -*- test-case-name: tests.unit.test_cli,tests.unit.test_cli_decode -*-
"""
C{neonode decode KIND [HEX|-]}: one structure from hex (an argument, or standard
input with C{-} or no argument), printed as JSON, hash first.

A C{message} payload is read with the full table of layouts, strictly (a payload
that does not parse is an error, which shows where), even for commands a node
ignores; what a node would make of it differently is shown beside it: bytes left
over after the payload (C{trailing}, ignored by a node, as by 2.9+) and whether a
node leaves the command undecoded (C{ignored}).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from neo_twisted.cli.errors import CommandError
from neo_twisted.core.block import Block, Header
from neo_twisted.core.consensus import ConsensusPayload
from neo_twisted.core.jsonify import (
    JSON,
    block_json,
    consensus_json,
    header_json,
    transaction_json,
)
from neo_twisted.core.transaction import Transaction
from neo_twisted.crypto.keys import ADDRESS_VERSION
from neo_twisted.network.frame import HEADER_SIZE, FrameDecoder
from neo_twisted.network.jsonify import payload_json
from neo_twisted.network.payloads import PAYLOAD_READERS, PEER_COMMANDS, Payload
from neo_twisted.networks import CUSTOM, network_name
from neo_twisted.wire.binary import BinaryReader
from neo_twisted.wire.errors import FormatError

if TYPE_CHECKING:
    from neo_twisted.cli.errors import Subcommands


def parse_hex(text: str) -> bytes:
    digits = "".join(text.split())
    if digits[:2] in ("0x", "0X"):
        digits = digits[2:]
    if not digits:
        raise CommandError("no input: give the hex as an argument or on standard input")
    if len(digits) % 2:
        raise CommandError(f"odd number of hex digits ({len(digits)})")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        bad = next(i for i, c in enumerate(digits) if c not in "0123456789abcdefABCDEF")
        raise CommandError(f"not hex: {digits[bad]!r} at digit {bad}") from None


def _read_payload(command: str, payload: bytes) -> tuple[Payload | None, bytes]:
    """
    C{payload} read with the full table, and the bytes left over after it; None for a
    command whose layout we do not know.
    """
    read = PAYLOAD_READERS.get(command)
    if read is None:
        return None, b""
    reader = BinaryReader(payload)
    decoded = read(reader)
    return decoded, payload[reader.pos:]


def _decode_message(data: bytes, address_version: int) -> JSON:
    if len(data) < HEADER_SIZE:
        raise FormatError(f"a message has a {HEADER_SIZE}-byte header, got {len(data)} bytes",
                          len(data))
    magic = BinaryReader(data).read_u32()
    frames = FrameDecoder(magic).feed(data)
    if not frames:
        raise FormatError("incomplete message: the payload is shorter than its length",
                          len(data))
    frame = frames[0]
    consumed = HEADER_SIZE + len(frame.payload)
    if len(frames) > 1 or consumed != len(data):
        raise FormatError(f"{len(data) - consumed} bytes after the message", consumed)
    try:
        payload, trailing = _read_payload(frame.command, frame.payload)
    except FormatError as e:
        raise FormatError(f"{frame.command} payload: {e.reason}", HEADER_SIZE + e.offset) from e
    result: JSON = {
        "magic": magic,
        "network": "unknown" if network_name(magic) == CUSTOM else network_name(magic),
        "command": frame.command,
        "length": len(frame.payload),
        "checksum": data[20:24].hex(),
        "payload": (frame.payload.hex() if payload is None
                    else payload_json(payload, address_version)),
    }
    if trailing:
        result["trailing"] = trailing.hex()
    if frame.command not in PEER_COMMANDS:
        result["ignored"] = True
    return result


_DECODERS: dict[str, Callable[[bytes, int], JSON]] = {
    "block": lambda data, v: block_json(Block.from_bytes(data), v),
    "header": lambda data, v: header_json(Header.from_bytes(data), v),
    "tx": lambda data, v: transaction_json(Transaction.from_bytes(data), v),
    "consensus": lambda data, v: consensus_json(ConsensusPayload.from_bytes(data), v),
    "message": _decode_message,
}


def _decode(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    text = stdin.read() if args.hex == "-" else args.hex
    data = parse_hex(text)
    try:
        result = _DECODERS[args.kind](data, args.address_version)
    except FormatError as e:
        raise CommandError(f"cannot decode {args.kind}: {e}") from None
    json.dump(result, stdout, indent=2, ensure_ascii=False)
    stdout.write("\n")


def add_parser(commands: Subcommands) -> None:
    decode = commands.add_parser("decode", help="decode NEO 2 bytes (hex) and print them as JSON")
    decode.add_argument("kind", choices=sorted(_DECODERS), help="what the bytes are")
    decode.add_argument("hex", nargs="?", default="-",
                        help="the bytes in hex; '-' or nothing reads standard input")
    decode.add_argument("--address-version", type=int, default=ADDRESS_VERSION,
                        help="address version byte for addresses in the output (default 23)")
    decode.set_defaults(run=_decode)
