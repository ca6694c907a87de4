# -*- test-case-name: tests.unit.test_p2p_addresses -*-
"""
The neo-cli C{peers.dat} file: where a restarted node finds peers without the seeds.

C{peers.dat} is the neo-cli 2.8- format (C{LocalNode.SaveState}): an int32 LE
count, then per entry 4 bytes of IPv4 address (network order) and a uint16 LE
port. 2.9+ neo-cli neither reads nor writes it; we keep it so a restarted node
does not need the seeds.

Kept apart from L{neo_twisted.p2p.addresses} (which re-exports these names) so
the address book holds no I/O at all.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path

from twisted.logger import Logger

from neo_twisted.p2p.interfaces import Endpoint

__all__ = [
    "PEERS_FILE_MAX",
    "decode_peers",
    "encode_peers",
    "load_peers",
    "save_peers",
]

#: Entries at most in C{peers.dat}; the reference refuses more.
PEERS_FILE_MAX = 1000

_COUNT = struct.Struct("<i")
_ENTRY = struct.Struct("<4sH")

_log = Logger()


def encode_peers(endpoints: Iterable[Endpoint]) -> bytes:
    """
    The C{peers.dat} bytes of the first L{PEERS_FILE_MAX} distinct IPv4 endpoints;
    IPv6 endpoints and names are skipped (the format has 4 address bytes).
    """
    entries: dict[Endpoint, bytes] = {}
    for endpoint in endpoints:
        if len(entries) >= PEERS_FILE_MAX:
            break
        if endpoint in entries or not 0 < endpoint.port < 65536:
            continue
        try:
            address = ipaddress.IPv4Address(endpoint.host)
        except ValueError:
            continue
        entries[endpoint] = _ENTRY.pack(address.packed, endpoint.port)
    return _COUNT.pack(len(entries)) + b"".join(entries.values())


def decode_peers(data: bytes) -> list[Endpoint]:
    """
    The endpoints of C{peers.dat} bytes.

    @raise ValueError: truncated data, a negative count or one over L{PEERS_FILE_MAX},
        or a length that does not match the count.
    """
    if len(data) < _COUNT.size:
        raise ValueError(f"peers.dat is truncated: {len(data)} bytes, no count")
    (count,) = _COUNT.unpack_from(data)
    if count < 0:
        raise ValueError(f"peers.dat is corrupt: negative count {count}")
    if count > PEERS_FILE_MAX:
        raise ValueError(f"peers.dat is corrupt: {count} entries, at most {PEERS_FILE_MAX}")
    expected = _COUNT.size + count * _ENTRY.size
    if len(data) != expected:
        raise ValueError(f"peers.dat is corrupt: {len(data)} bytes for {count} entries "
                         f"({expected} expected)")
    result = []
    for offset in range(_COUNT.size, expected, _ENTRY.size):
        packed, port = _ENTRY.unpack_from(data, offset)
        result.append(Endpoint(str(ipaddress.IPv4Address(packed)), port))
    return result


def load_peers(path: Path) -> list[Endpoint]:
    """
    The endpoints saved in C{path}, or none (with a warning) when the file is
    missing, unreadable, truncated or corrupt: losing it only costs a seed lookup.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _log.warn("no peers file at {path}; starting from the seeds", path=str(path))
        return []
    except OSError as error:
        _log.warn("cannot read peers file {path}: {error}", path=str(path), error=error)
        return []
    try:
        return decode_peers(data)
    except ValueError as error:
        _log.warn("ignoring peers file {path}: {error}", path=str(path), error=error)
        return []


def save_peers(path: Path, endpoints: Iterable[Endpoint]) -> int:
    """
    Write C{peers.dat} atomically: a synced temporary file in the same directory
    renamed over C{path}, so a crash leaves either the old or the new file.

    @return: how many entries were written.
    @raise OSError: the file could not be written (the old one is left in place).
    """
    data = encode_peers(endpoints)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                     dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as output:
            output.write(data)
            output.flush()
            os.fsync(output.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return (len(data) - _COUNT.size) // _ENTRY.size
