"""
The registry of fuzz targets: every parser that bytes from a peer, an RPC client or an
operator's file reach.

A target is a function of one input that returns or raises one of its I{allowed}
exceptions: L{FormatError} for the wire decoders, the documented C{ValueError} or
L{ConfigError} for text and file parsers. Anything else (an C{IndexError} from deep inside
a reader, a C{RecursionError}, a failed self-check) is a crash, and so is a hang.

Where a decoder accepts the input, the targets also check what the property tests check:
the value re-encodes to bytes that decode to the same value.
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuzz import seeds
from fuzz.registry import TARGETS, CheckError, Target, register, strict_json
from neo_twisted.cli import decode
from neo_twisted.cli.errors import CommandError
from neo_twisted.core import Block, Header, Transaction, TransactionType
from neo_twisted.core.consensus import ConsensusMessage, ConsensusPayload
from neo_twisted.crypto.hashes import checksum
from neo_twisted.crypto.keys import KeyPair, script_hash_from_address
from neo_twisted.ledger.settings import ConfigError, load_protocol, parse_assume_valid
from neo_twisted.network.frame import HEADER_SIZE, MAX_PAYLOAD_SIZE, Frame, FrameDecoder
from neo_twisted.network.payloads import PAYLOAD_READERS, payload_bytes, read_payload
from neo_twisted.p2p.addresses import decode_peers
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.errors import FormatError
from neo_twisted.wire.fixed8 import parse_fixed8
from neo_twisted.wire.uint import UInt256
from tests.support.samples import MAINNET_MAGIC

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["TARGETS", "CheckError", "Target"]


# -- round trips ----------------------------------------------------------------------------

def _round_trip(decode: Callable[[bytes], Any], encode: Callable[[Any], bytes],
                data: bytes) -> Any:
    """
    Decode C{data}; what decodes must re-encode to bytes that decode to the same value.
    """
    decoded = decode(data)
    if decoded is None:
        return None
    canonical = encode(decoded)
    try:
        again = decode(canonical)
    except FormatError as e:
        # Invalid UTF-8 reads as U+FFFD (three bytes), so a string near its byte limit can
        # outgrow it once re-encoded: the reference node behaves the same.
        if "exceeds the maximum" in e.reason and "\ufffd".encode() in canonical:
            return decoded
        raise CheckError(f"the canonical re-encoding does not decode: {e}") from e
    if again != decoded:
        raise CheckError(f"the re-encoding decodes to another value: {decoded!r} != "
                         f"{again!r}")
    return decoded


def _to_bytes(value: Any) -> bytes:
    encoded: bytes = value.to_bytes()
    return encoded


def structure(name: str, decode: Callable[[bytes], Any], seed: Callable[[], Iterable[bytes]],
              strategy: Callable[[], SearchStrategy[bytes]], max_len: int = 4096) -> Target:
    """
    A target for a whole-input decoder whose values have C{to_bytes}.
    """
    def run(data: bytes) -> object:
        return _round_trip(decode, _to_bytes, data)
    return register(Target(name, run, (FormatError,), seed, strategy, max_len))


# -- the frame decoder ----------------------------------------------------------------------

FrameResult = tuple[list[Frame], int | None, int]


def feed_frames(chunks: Iterable[bytes]) -> FrameResult:
    """
    The frames a fresh decoder emits for C{chunks}, the offset of its error (if any) and
    how many bytes it holds at the end.
    """
    decoder = FrameDecoder(MAINNET_MAGIC)
    frames: list[Frame] = []
    for chunk in chunks:
        try:
            frames.extend(decoder.feed(chunk))
        except FormatError as e:
            return frames, e.offset, decoder.buffered
    return frames, None, decoder.buffered


def random_splits(data: bytes) -> list[bytes]:
    """
    C{data} cut at up to eight points that depend only on the data (so a crash replays).
    """
    rng = random.Random(zlib.crc32(data))
    points = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randrange(9)))
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def model_frames(data: bytes) -> FrameResult:
    """
    What the decoder should make of C{data}, worked out frame by frame from the format
    (not from the decoder's code): the frames, the offset of the first error, the leftover.
    """
    magic = MAINNET_MAGIC.to_bytes(4, "little")
    found: list[Frame] = []
    pos = 0
    while True:
        rest = data[pos:]
        if rest[:4] != magic[:len(rest[:4])]:
            return found, pos, len(rest)
        if len(rest) < HEADER_SIZE:
            return found, None, len(rest)
        length = int.from_bytes(rest[16:20], "little")
        if length > MAX_PAYLOAD_SIZE:
            return found, pos + 16, len(rest)
        if len(rest) < HEADER_SIZE + length:
            return found, None, len(rest)
        payload = rest[HEADER_SIZE:HEADER_SIZE + length]
        if checksum(payload) != rest[20:24]:
            return found, pos + 20, len(rest)
        command = rest[4:16].split(b"\x00", 1)[0].decode("utf-8", "replace")
        found.append(Frame(command, payload))
        pos += HEADER_SIZE + length


def frames(data: bytes) -> list[Frame]:
    """
    Feed C{data} at once, in random splits and (when short) byte by byte: each way fails
    at the offset L{model_frames} says (raised as L{FormatError}), or gives its frames and
    leftover.

    Frames completed in the chunk that fails are lost with it (the connection is dropped),
    so before an error a feed has emitted a prefix of the model's frames.
    """
    expected = model_frames(data)
    ways = [feed_frames([data]), feed_frames(random_splits(data))]
    if len(data) <= 256:
        ways.append(feed_frames([data[i:i + 1] for i in range(len(data))]))
    for got in ways:
        same = (got == expected if expected[1] is None
                else got[1] == expected[1] and got[0] == expected[0][:len(got[0])])
        if not same:
            raise CheckError(f"the decoder gives {got!r}, the format {expected!r}")
    if expected[1] is not None:
        raise FormatError("the stream does not frame", expected[1])
    return expected[0]


register(Target("frame", frames, (FormatError,), seeds.frame_streams,
                lambda: _generated("frame"), max_len=8192))


# -- payloads and structures ----------------------------------------------------------------

def _payload_seeds(command: str) -> list[bytes]:
    """
    Real payloads where there are some; the runner adds strategy-drawn ones for every command.
    """
    if command == "tx":
        return list(seeds.transactions())
    if command == "block":
        return list(seeds.blocks())
    if command == "headers":
        return seeds.headers_payloads()
    if command == "consensus":
        return seeds.consensus_payloads()
    return []


def _payload_target(command: str) -> Target:
    def run(data: bytes) -> object:
        return _round_trip(lambda raw: read_payload(command, raw), payload_bytes, data)
    return Target(f"payload.{command}", run, (FormatError,),
                  lambda: _payload_seeds(command), lambda: _generated(f"payload.{command}"),
                  max_len=40_000 if command == "block" else 4096)


for _command in PAYLOAD_READERS:
    register(_payload_target(_command))

structure("transaction", Transaction.from_bytes, seeds.transactions,
          lambda: _generated("transaction"))


def _typed_transaction(kind: TransactionType) -> Target:
    """
    The input read as a transaction of C{kind}: its first byte is replaced by the type.
    """
    def decode(data: bytes) -> Transaction:
        return Transaction.from_bytes(bytes((kind,)) + data[1:])

    def run(data: bytes) -> object:
        return _round_trip(decode, _to_bytes, data)
    return Target(f"tx.{kind.name}", run, (FormatError,),
                  lambda: seeds.transactions_of_type(kind),
                  lambda: _generated("transaction"))


for _kind in TransactionType:
    register(_typed_transaction(_kind))

structure("block", Block.from_bytes, seeds.blocks, lambda: _generated("block"),
          max_len=40_000)
structure("header", Header.from_bytes, seeds.headers, lambda: _generated("header"))
structure("consensus_payload", ConsensusPayload.from_bytes, seeds.consensus_payloads,
          lambda: _generated("consensus_payload"))
structure("consensus_message", ConsensusMessage.from_bytes, seeds.consensus_messages,
          lambda: _generated("consensus_message"))


# -- the command line -----------------------------------------------------------------------

def _cli_decode(kind: str) -> Callable[[bytes], object]:
    """
    C{neonode decode KIND -} with the input's hex on standard input: decoding, JSON and
    printing. C{CommandError} is how the command reports bad input (exit status 1).
    """
    parser = argparse.ArgumentParser()
    decode.add_parser(parser.add_subparsers())
    args = parser.parse_args(["decode", kind, "-"])

    def run(data: bytes) -> object:
        out = io.StringIO()
        args.run(args, io.StringIO(data.hex()), out)
        return strict_json(out.getvalue())
    return run


_CLI_SEEDS: dict[str, Callable[[], Iterable[bytes]]] = {
    "block": seeds.blocks, "header": seeds.headers, "tx": seeds.transactions,
    "consensus": seeds.consensus_payloads, "message": seeds.frame_streams,
}
for _cli_kind, _cli_seeds in _CLI_SEEDS.items():
    register(Target(f"cli.decode.{_cli_kind}", _cli_decode(_cli_kind), (CommandError,),
                    _cli_seeds,
                    max_len=40_000 if _cli_kind == "block" else 4096))


# -- files and text -------------------------------------------------------------------------

_scratch = tempfile.TemporaryDirectory(prefix="neo-fuzz-")


def _load_protocol(data: bytes) -> object:
    """
    C{protocol.json}, read from a file as the node reads it.
    """
    path = Path(_scratch.name) / "protocol.json"
    path.write_bytes(data)
    return load_protocol(path)


register(Target("protocol.json", _load_protocol, (ConfigError,), seeds.protocol_files))


def _peers_seeds() -> list[bytes]:
    return [bytes(4), bytes.fromhex("02000000" "7f000001" "5d4f" "0a000002" "5e4f"),
            b"\x01\x00\x00\x00" + bytes(6)]


# load_peers catches only ValueError from decode_peers, so this covers peers.dat loading.
register(Target("peers.dat", decode_peers, (ValueError,), _peers_seeds))


def _text(parse: Callable[[str], object]) -> Callable[[bytes], object]:
    """
    C{parse} of the input as text; invalid UTF-8 becomes lone surrogates, which JSON
    strings from an RPC client can hold too.
    """
    return lambda data: parse(data.decode("utf-8", "surrogateescape"))


register(Target("address", _text(script_hash_from_address), (ValueError,),
                lambda: seeds.crypto_strings("address")))
register(Target("wif", _text(KeyPair.from_wif), (ValueError,),
                lambda: seeds.crypto_strings("wif")))
register(Target("uint256", _text(UInt256.from_string), (ValueError,),
                lambda: [b"0x" + b"ab" * 32, b"cd" * 32]))
register(Target("fixed8", _text(parse_fixed8), (ValueError,),
                lambda: [b"1", b"-0.00000001", b"92233720368.54775807", b"1e3", b" 0.5 "]))
register(Target("assume_valid", _text(parse_assume_valid), (ValueError,),
                lambda: [b"4000000:0x" + b"1f" * 32]))
register(Target("ecpoint", ECPoint.from_bytes, (ValueError,),
                lambda: [b"\x00", bytes.fromhex(
                    "03b209fd4f53a7170ea4444e0cb0a6bb6a53c2bd016926989cf85f9b0fba17a70c")]))


def _generated(name: str) -> SearchStrategy[bytes]:
    from fuzz.generated import strategy_for
    return strategy_for(name)


# The RPC targets (a node's JSON-RPC over a privnet ledger) register themselves.
from fuzz import rpc as _rpc  # noqa: E402, F401
from fuzz import session as _session  # noqa: E402, F401
from fuzz import vm as _vm  # noqa: E402, F401
