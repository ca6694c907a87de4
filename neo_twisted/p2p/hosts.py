# -*- test-case-name: tests.unit.test_p2p_addrbook,tests.unit.test_p2p_addresses -*-
"""
What a peer's host text means to the address book: its IP address, the network it is
counted in, whether it is on the internet and whether it could be dialled at all.

Kept apart from L{neo_twisted.p2p.addresses} (which re-exports the public names) so
the book holds only its bookkeeping; every function here is pure.
"""

from __future__ import annotations

import ipaddress
import socket

from neo_twisted.p2p.interfaces import Endpoint

__all__ = [
    "IPAddress",
    "address_group",
    "dial_candidate",
    "group_of",
    "is_dialable",
    "is_public_address",
    "is_public_ip",
    "normalise_host",
    "parse_ip",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Not globally routable whatever this Python's C{is_global} says (its lists changed
#: in 3.11 patch releases): CGNAT, IETF, documentation, 6to4 relay, benchmarking, ...
_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
    "2001::/23", "2001:db8::/32", "64:ff9b:1::/48", "fec0::/10", "fc00::/7"))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: IPv4 that C{ipaddress} calls private, loopback, link-local, unspecified or multicast
#: (the rest of its lists is in L{_NOT_PUBLIC} already): a test checks they agree.
_IPV4_NOT_GLOBAL = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "224.0.0.0/4"))


def parse_ip(host: str) -> IPAddress | None:
    """
    The IP address of C{host}, IPv4-mapped IPv6 unmapped; None for a name.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def normalise_host(host: str) -> str:
    """
    The canonical text of an IP address, IPv4-mapped IPv6 unmapped (a dual-stack
    socket reports C{::ffff:1.2.3.4}); anything else (a name) unchanged.
    """
    address = parse_ip(host)
    return host if address is None else str(address)


def group_of(address: IPAddress) -> str:
    """
    The L{address_group} of an already parsed C{address}, without parsing it again.
    """
    packed = address.packed
    if address.version == 4:
        return f"{packed[0]}.{packed[1]}.0.0/16"
    return f"{packed[0] << 8 | packed[1]:x}:{packed[2] << 8 | packed[3]:x}::/32"


def address_group(host: str) -> str:
    """
    The network C{host} is counted in: its /16 for IPv4 (IPv4-mapped too), its /32
    for IPv6, as text (C{"10.1.0.0/16"}); a name is a group of its own.

    Addresses in one such prefix usually share an operator, so they are limited as one.
    """
    address = parse_ip(host)
    return host if address is None else group_of(address)


def is_public_address(host: str) -> bool:
    """
    Whether C{host} is a globally routable unicast IP address: not private,
    loopback, link-local, shared (CGNAT), reserved, multicast, unspecified,
    documentation or benchmarking; IPv4-mapped, 6to4 and NAT64 forms are judged by
    the IPv4 address they carry. A name is not an address: False.

    Remote peers must not make us dial into our own network (or theirs).
    """
    return is_public_ip(parse_ip(host))


def is_public_ip(address: IPAddress | None) -> bool:
    """
    L{is_public_address} of an address already parsed (and unmapped): the address
    exchange has it so from the C{addr} it read.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            address = embedded
    if address is None:
        return False
    number = int(address)
    if address.version == 4:  # the common case, by integer ranges alone (see _ranges)
        return not any(start <= number <= end for start, end in _ranges(4))
    if not address.is_global:
        return False
    if (address.is_multicast or address.is_private or address.is_reserved
            or address.is_loopback or address.is_link_local or address.is_unspecified):
        return False
    return not any(start <= number <= end for start, end in _ranges(6))


_RANGES: dict[int, tuple[tuple[object, ...], list[tuple[int, int]]]] = {}


def _ranges(version: int) -> list[tuple[int, int]]:
    """
    The networks of one IP version that are not public, as integer ranges: a
    comparison each, where C{ipaddress}'s properties and C{address in network} cost a
    quarter of a microsecond apiece (an C{addr} of 200 took 5 ms through the address
    exchange). For IPv4 these are L{_NOT_PUBLIC}'s and L{_IPV4_NOT_GLOBAL} (what
    C{is_global}, C{is_multicast} and the like say), for IPv6 L{_NOT_PUBLIC}'s only.
    """
    cached = _RANGES.get(version)
    if cached is None or cached[0] is not _NOT_PUBLIC:  # (tests replace the list)
        networks = [*_NOT_PUBLIC, *(_IPV4_NOT_GLOBAL if version == 4 else ())]
        ranges = [(int(n.network_address), int(n.broadcast_address))
                  for n in networks if n.version == version]
        cached = _RANGES[version] = (_NOT_PUBLIC, ranges)
    return cached[1]


def is_dialable(address: IPAddress | None, port: int) -> bool:
    """
    Whether an advertised endpoint could be a node at all: a literal unicast address
    and a real port.
    """
    return (address is not None and 0 < port < 65536
            and not (address.is_unspecified or address.is_multicast))


def dial_candidate(endpoint: Endpoint) -> tuple[Endpoint, str] | None:
    """
    C{endpoint} with its host normalised, and its address group; None if it is not
    L{is_dialable}. Canonical IPv4 text (nearly every C{addr} entry) is read by the C
    library: C{ipaddress} took half of an C{addr}'s time in the book.
    """
    try:
        packed = socket.inet_pton(socket.AF_INET, endpoint.host)
    except (OSError, ValueError):  # not IPv4 text; ValueError: a NUL or a lone surrogate
        packed = b""
    if packed and socket.inet_ntoa(packed) == endpoint.host:
        if packed == b"\0\0\0\0" or packed[0] >> 4 == 14 or not 0 < endpoint.port < 65536:
            return None
        return endpoint, f"{packed[0]}.{packed[1]}.0.0/16"
    address = parse_ip(endpoint.host)
    if address is None or not is_dialable(address, endpoint.port):
        return None
    return Endpoint(str(address), endpoint.port), group_of(address)
