# -*- test-case-name: tests.test_p2p_addresses -*-
"""
Where the node may dial: the address book and the neo-cli C{peers.dat} file.

L{AddressBook} is a plain data structure: every method that depends on time
takes C{now} (the reactor's C{seconds()}), so it is tested without a clock.
It holds listener endpoints learnt from C{addr}, C{peers.dat}, seeds and past
connections; it never does I/O.

C{peers.dat} is the neo-cli 2.8- format (C{LocalNode.SaveState}): an int32 LE
count, then per entry 4 bytes of IPv4 address (network order) and a uint16 LE
port. 2.9+ neo-cli neither reads nor writes it; we keep it so a restarted node
does not need the seeds.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import struct
import tempfile
from collections.abc import Collection, Iterable
from pathlib import Path

import attrs
from twisted.logger import Logger

from neo_twisted.p2p.interfaces import Endpoint

__all__ = [
    "BOOK_CAPACITY",
    "FORGET_AFTER",
    "PEERS_FILE_MAX",
    "RETRY_BASE",
    "RETRY_CAP",
    "AddressBook",
    "decode_peers",
    "encode_peers",
    "load_peers",
    "normalise_host",
    "save_peers",
]

#: Unconnected endpoints kept (C{UnconnectedMax} of both eras).
BOOK_CAPACITY = 1000
#: Entries at most in C{peers.dat}; the reference refuses more.
PEERS_FILE_MAX = 1000
#: Seconds before an endpoint is offered again after its first failure or a clean disconnect.
RETRY_BASE = 15.0
#: The back-off doubles per consecutive failure up to this many seconds.
RETRY_CAP = 3600.0
#: Consecutive failures after which an endpoint is forgotten (until advertised again).
FORGET_AFTER = 10

_COUNT = struct.Struct("<i")
_ENTRY = struct.Struct("<4sH")

_log = Logger()


def normalise_host(host: str) -> str:
    """
    The canonical text of an IP address, IPv4-mapped IPv6 unmapped (a dual-stack
    socket reports C{::ffff:1.2.3.4}); anything else (a name) unchanged.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _dialable(endpoint: Endpoint) -> bool:
    """
    Whether an advertised endpoint could be a node at all: a literal unicast address
    and a real port.
    """
    if not 0 < endpoint.port < 65536:
        return False
    try:
        address = ipaddress.ip_address(endpoint.host)
    except ValueError:
        return False
    return not (address.is_unspecified or address.is_multicast)


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


@attrs.define
class _Entry:
    """
    What the book remembers of one endpoint: its run of failures and when it may
    be dialled again.
    """

    failures: int = 0
    retry_at: float = 0.0


class AddressBook:
    """
    Known listener endpoints to dial, with reconnect back-off and bans.

    Endpoints are either I{idle} (candidates for L{take} once their back-off has
    passed) or I{in use} (being dialled or connected: L{mark_connected}); only idle
    ones count towards the capacity and L{__len__}.

    When the book is full a new endpoint replaces a random idle one that has
    already failed, if any, and is dropped otherwise: a flood of advertised
    addresses can then only push out addresses that do not work.

    Bans are per IP address, not per endpoint: a misbehaving node cannot come back
    by advertising itself on another port, and one IP rarely hosts many nodes.

    @ivar own: endpoints we listen on, never stored.
    @ivar own_port: our listening port: a loopback or unspecified address with this
        port is us too.
    """

    def __init__(self, capacity: int = BOOK_CAPACITY, *, own: Iterable[Endpoint] = (),
                 own_port: int | None = None, retry_base: float = RETRY_BASE,
                 retry_cap: float = RETRY_CAP, forget_after: int = FORGET_AFTER,
                 rng: random.Random | None = None) -> None:
        """
        @param capacity: idle endpoints kept at most.
        @param rng: the source of randomness for L{take} and eviction (tests seed it).
        """
        if capacity < 1 or forget_after < 1 or not 0 < retry_base <= retry_cap:
            raise ValueError("capacity, forget_after and retry_base must be positive, "
                             "retry_base at most retry_cap")
        self.capacity = capacity
        self.own: set[Endpoint] = set(own)
        self.own_port = own_port
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.forget_after = forget_after
        self._rng = rng or random.Random()
        self._entries: dict[Endpoint, _Entry] = {}
        self._in_use: set[Endpoint] = set()
        self._bans: dict[str, float] = {}

    # -- own endpoints and bans --------------------------------------------------------------

    def is_own(self, endpoint: Endpoint) -> bool:
        """
        Whether C{endpoint} is (very probably) this node.
        """
        if endpoint in self.own:
            return True
        if self.own_port is None or endpoint.port != self.own_port:
            return False
        try:
            address = ipaddress.ip_address(normalise_host(endpoint.host))
        except ValueError:
            return False
        return address.is_loopback or address.is_unspecified

    def add_own(self, endpoint: Endpoint) -> None:
        """
        Learn one more endpoint of ours, and forget it as a candidate.
        """
        self.own.add(endpoint)
        self._entries.pop(endpoint, None)

    def ban(self, target: str | Endpoint, until: float) -> None:
        """
        Refuse the IP address of C{target} until C{until}, and forget its endpoints.
        """
        host = normalise_host(target.host if isinstance(target, Endpoint) else target)
        self._bans[host] = max(until, self._bans.get(host, until))
        for endpoint in [e for e in self._entries if e.host == host]:
            del self._entries[endpoint]

    def is_banned(self, target: str | Endpoint, now: float) -> bool:
        """
        Whether the IP address of C{target} is banned at C{now}; expired bans are dropped.
        """
        host = normalise_host(target.host if isinstance(target, Endpoint) else target)
        until = self._bans.get(host)
        if until is None:
            return False
        if until > now:
            return True
        del self._bans[host]
        return False

    def expire_bans(self, now: float) -> None:
        """
        Forget the bans over at C{now} (call now and then: the list is not bounded).
        """
        self._bans = {host: until for host, until in self._bans.items() if until > now}

    # -- learning and offering endpoints -----------------------------------------------------

    def _acceptable(self, endpoint: Endpoint, now: float) -> bool:
        return (_dialable(endpoint) and not self.is_own(endpoint)
                and not self.is_banned(endpoint, now))

    def _make_room(self) -> bool:
        """
        Whether one more idle endpoint fits, evicting a failed one if the book is full.
        """
        if len(self) < self.capacity:
            return True
        failed = self._failed_idle()
        if not failed:
            return False
        del self._entries[self._rng.choice(failed)]
        return True

    def _failed_idle(self) -> list[Endpoint]:
        return [e for e, entry in self._entries.items()
                if entry.failures and e not in self._in_use]

    def add(self, endpoints: Iterable[Endpoint], now: float) -> int:
        """
        Learn endpoints (from C{addr}, C{peers.dat}, seeds); known ones keep their
        back-off, own, banned and undialable ones are skipped. In a full book a new
        endpoint takes the place of one that failed, if there is one.

        @return: how many were new.
        """
        added = 0
        # The book is walked once (its size, its failed idle endpoints), not once per
        # endpoint: an addr of 200 to a full book of 1,000 held the reactor 50 ms.
        idle = len(self)
        failed: list[Endpoint] | None = None
        for endpoint in endpoints:
            endpoint = Endpoint(normalise_host(endpoint.host), endpoint.port)
            if endpoint in self._entries or endpoint in self._in_use:
                continue
            if not self._acceptable(endpoint, now):
                continue
            if idle >= self.capacity:
                if failed is None:
                    failed = self._failed_idle()
                    self._rng.shuffle(failed)
                if not failed:
                    break  # nothing may leave: the rest cannot get in either
                del self._entries[failed.pop()]
                idle -= 1
            self._entries[endpoint] = _Entry()
            idle += 1
            added += 1
        return added

    def take(self, count: int, now: float, *, exclude: Collection[Endpoint] = (),
             exclude_hosts: Collection[str] = ()) -> list[Endpoint]:
        """
        Up to C{count} distinct random idle endpoints whose back-off has passed.

        Nothing is reserved: call L{mark_connected} for each one dialled.
        """
        ready = [e for e, entry in self._entries.items()
                 if entry.retry_at <= now and e not in self._in_use and e not in exclude
                 and e.host not in exclude_hosts and not self.is_banned(e.host, now)]
        return self._rng.sample(ready, min(max(count, 0), len(ready)))

    def retry_at(self, endpoint: Endpoint) -> float | None:
        """
        When C{endpoint} may be offered again (0: now), or None when it is not known.
        """
        entry = self._entries.get(endpoint)
        return None if entry is None else entry.retry_at

    def is_ready(self, endpoint: Endpoint, now: float) -> bool:
        """
        Whether C{endpoint} may be dialled now: not in use, own, banned or backing off.
        """
        entry = self._entries.get(endpoint)
        return (endpoint not in self._in_use and self._acceptable(endpoint, now)
                and (entry is None or entry.retry_at <= now))

    # -- the life of a connection ------------------------------------------------------------

    def mark_connected(self, endpoint: Endpoint) -> None:
        """
        C{endpoint} is being dialled or is connected: not a candidate until released.
        """
        self._in_use.add(endpoint)

    def mark_failed(self, endpoint: Endpoint, now: float) -> None:
        """
        Dialling or handshaking with C{endpoint} failed: back off exponentially,
        forgetting it after L{FORGET_AFTER} failures in a row.
        """
        self._in_use.discard(endpoint)
        entry = self._release(endpoint, now)
        if entry is None:
            return
        entry.failures += 1
        if entry.failures >= self.forget_after:
            del self._entries[endpoint]
            return
        delay = self.retry_base * 2 ** (entry.failures - 1)
        entry.retry_at = now + min(delay, self.retry_cap)

    def mark_disconnected(self, endpoint: Endpoint, now: float) -> None:
        """
        A working connection to C{endpoint} ended: it may be dialled again after
        L{retry_base} seconds, its failures forgiven.
        """
        self._in_use.discard(endpoint)
        entry = self._release(endpoint, now)
        if entry is not None:
            entry.failures = 0
            entry.retry_at = now + self.retry_base

    def _release(self, endpoint: Endpoint, now: float) -> _Entry | None:
        """
        The entry of an endpoint back to idle, made if needed; None if it is not kept.
        """
        if not self._acceptable(endpoint, now):
            self._entries.pop(endpoint, None)
            return None
        entry = self._entries.get(endpoint)
        if entry is None and self._make_room():
            entry = self._entries[endpoint] = _Entry()
        return entry

    # -- inspection --------------------------------------------------------------------------

    def snapshot(self) -> list[Endpoint]:
        """
        The idle endpoints, fewest failures first (what C{peers.dat} should keep).
        """
        idle = [(entry.failures, e) for e, entry in self._entries.items()
                if e not in self._in_use]
        return [e for _, e in sorted(idle)]

    def __len__(self) -> int:
        return sum(1 for e in self._entries if e not in self._in_use)

    def __contains__(self, endpoint: object) -> bool:
        return endpoint in self._entries and endpoint not in self._in_use

    def __repr__(self) -> str:
        return f"<AddressBook {len(self)} idle, {len(self._in_use)} in use>"
