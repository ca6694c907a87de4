# -*- test-case-name: tests.test_cli -*-
"""
The C{neonode} command line.

C{neonode decode KIND [HEX|-]} decodes one structure from hex (an argument, or
standard input with C{-} or no argument) and prints it as JSON, hash first.
Bad input exits with status 1 and one line on standard error that says what is
wrong and where; it never shows a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from neo_twisted.core.block import Block, Header
from neo_twisted.core.consensus import ConsensusPayload
from neo_twisted.core.jsonify import block_json, consensus_json, header_json, transaction_json
from neo_twisted.core.transaction import Transaction
from neo_twisted.crypto.keys import ADDRESS_VERSION
from neo_twisted.network.frame import HEADER_SIZE, FrameDecoder
from neo_twisted.network.jsonify import NETWORKS, payload_json
from neo_twisted.network.payloads import decode_payload
from neo_twisted.wire.binary import BinaryReader
from neo_twisted.wire.errors import FormatError


class CommandError(Exception):
    """
    A user-facing failure: printed as one line, exit status 1.
    """


def _parse_hex(text: str) -> bytes:
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


def _decode_message(data: bytes, address_version: int) -> dict[str, Any]:
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
        payload = decode_payload(frame.command, frame.payload)
    except FormatError as e:
        raise FormatError(f"{frame.command} payload: {e.reason}", HEADER_SIZE + e.offset) from e
    return {
        "magic": magic,
        "network": NETWORKS.get(magic, "unknown"),
        "command": frame.command,
        "length": len(frame.payload),
        "checksum": data[20:24].hex(),
        "payload": (frame.payload.hex() if payload is None
                    else payload_json(payload, address_version)),
    }


_DECODERS: dict[str, Callable[[bytes, int], dict[str, Any]]] = {
    "block": lambda data, v: block_json(Block.from_bytes(data), v),
    "header": lambda data, v: header_json(Header.from_bytes(data), v),
    "tx": lambda data, v: transaction_json(Transaction.from_bytes(data), v),
    "consensus": lambda data, v: consensus_json(ConsensusPayload.from_bytes(data), v),
    "message": _decode_message,
}


def _decode(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    text = stdin.read() if args.hex == "-" else args.hex
    data = _parse_hex(text)
    try:
        result = _DECODERS[args.kind](data, args.address_version)
    except FormatError as e:
        raise CommandError(f"cannot decode {args.kind}: {e}") from None
    json.dump(result, stdout, indent=2, ensure_ascii=False)
    stdout.write("\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neonode", description="A NEO 2.x node on Twisted.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    decode = commands.add_parser("decode", help="decode NEO 2 bytes (hex) and print them as JSON")
    decode.add_argument("kind", choices=sorted(_DECODERS), help="what the bytes are")
    decode.add_argument("hex", nargs="?", default="-",
                        help="the bytes in hex; '-' or nothing reads standard input")
    decode.add_argument("--address-version", type=int, default=ADDRESS_VERSION,
                        help="address version byte for addresses in the output (default 23)")
    decode.set_defaults(run=_decode)
    return parser


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """
    Run the command line; returns the exit status (streams are injectable for tests).
    """
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        args.run(args, stdin, stdout)
    except CommandError as e:
        stderr.write(f"neonode: error: {e}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (say, `head`) went away: not an error of ours, and nothing more to say.
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
