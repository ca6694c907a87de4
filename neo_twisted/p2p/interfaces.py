"""
The seams of the peer-to-peer layer: what a connection offers and what it calls.

A connection (L{IPeer}, provided by L{neo_twisted.p2p.protocol.PeerProtocol})
only frames bytes, runs the handshake and keeps the link alive. It reports to
one L{IPeerListener}: the node's L{neo_twisted.p2p.controller.PeerController},
the only registry of live peers. The controller asks an L{IAdmission} (the
connection service) whom to keep and an L{ILocalNode} (the node's policy) what
to say, and publishes each established peer's life to L{IPeerObserver}s. Tests
drive either side alone through these interfaces.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IAddress
from zope.interface import Attribute, Interface

from neo_twisted.core.serializable import Serializable
from neo_twisted.network.payloads import Payload, VersionPayload
from neo_twisted.p2p.faults import Fault
from neo_twisted.wire.uint import UInt256

if TYPE_CHECKING:
    from neo_twisted.p2p.controller import PeerRecord


@attrs.frozen(order=True)
class Endpoint:
    """
    A TCP endpoint: a literal IP address (v4 or v6, never a host name) and a port.
    """

    host: str
    port: int

    @classmethod
    def of_address(cls, address: IAddress | None) -> Endpoint:
        """
        The host and port of a TCP address; port 0 for anything else (test transports).
        """
        if isinstance(address, IPv4Address | IPv6Address):
            return cls(address.host, address.port)
        return cls(str(address), 0)

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """
        C{"host:port"} or C{"[v6]:port"}; the host may be a name (seeds) here.

        @raise ValueError: no port, or a port outside 1..65535.
        """
        host, sep, port_text = text.rpartition(":")
        if not sep or not host:
            raise ValueError(f"{text!r} is not host:port")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"{text!r}: port {port_text!r} is not a number") from None
        if not 0 < port < 65536:
            raise ValueError(f"{text!r}: port {port} is outside 1..65535")
        return cls(host, port)

    @property
    def is_literal(self) -> bool:
        """
        Whether C{host} is an IP address rather than a name to resolve.
        """
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


class IPeer(Interface):
    """
    One connection to another node, as the node's policy sees it.
    """

    inbound: bool = Attribute("True when the other side dialled us.")
    remote: Endpoint = Attribute("The TCP address of the other side of the connection.")
    version: VersionPayload | None = Attribute("The peer's version message, once received.")
    listener: Endpoint | None = Attribute(
        "Where the peer accepts connections: its IP and the port of its version message "
        "(None before the version or when that port is 0).")
    last_block_index: int = Attribute(
        "The peer's block height: its version's StartHeight, raised by ping and pong.")
    established: bool = Attribute("Both sides have sent and received verack.")
    messages_in: Mapping[str, int] = Attribute("Messages received, by command.")
    bytes_in: Mapping[str, int] = Attribute("Bytes received (headers included), by command.")
    messages_out: Mapping[str, int] = Attribute("Messages sent, by command.")
    bytes_out: Mapping[str, int] = Attribute("Bytes sent (headers included), by command.")

    def send(command: str, payload: Serializable | None = None) -> None:
        """
        Queue one message (an empty payload when None). Ignored once disconnecting.
        """

    def disconnect(reason: str) -> None:
        """
        Close the connection, logging C{reason}: for no fault of the peer's (limits,
        timeouts, stopping). Faults go through L{fault}.
        """

    def fault(fault: Fault, detail: str) -> None:
        """
        The peer committed C{fault} (C{detail} says how): the fault table's response
        follows, from ignoring it (the listener counts it) to closing the connection
        (the listener then applies any discouragement or ban, see L{IPeerListener.peer_lost}).
        """

    def hold() -> None:
        """
        Handle no more of the peer's messages (and stop reading its socket) until as
        many L{release}s: back-pressure on a peer that asks faster than we answer.
        """

    def release() -> None:
        """
        Undo one L{hold}; with none left, go on with the peer's messages.
        """


class IPeerListener(Interface):
    """
    What a connection reports to the node, on the reactor thread.
    """

    def peer_connected(peer: IPeer) -> None:
        """
        C{peer}'s transport is up (before its version is sent): it is live from now
        until L{peer_lost}.
        """

    def local_version(peer: IPeer) -> VersionPayload:
        """
        The version message to send to C{peer} (our nonce, port, height, agent).
        """

    def check_version(peer: IPeer, version: VersionPayload) -> str | None:
        """
        Why C{peer} must be dropped after its C{version} (self-connection, duplicate,
        too many), or None to go on with the handshake.
        """

    def current_height() -> int:
        """
        Our block height, for C{pong}.
        """

    def peer_established(peer: IPeer) -> None:
        """
        The handshake is complete: C{peer} may now be sent anything.
        """

    def accepts_block_frame(peer: IPeer, index: int, hash: UInt256) -> bool:
        """
        Whether a C{block} from the established C{peer}, whose raw header says this
        index and hash, is worth decoding. When not, the protocol drops it unread (the
        listener may drop the peer too): decoding a block is work a peer could
        otherwise make us do at will.
        """

    def message_received(peer: IPeer, command: str, payload: Payload) -> None:
        """
        A decoded message from an established peer (never version, verack, ping or pong).
        """

    def fault_ignored(peer: IPeer, fault: Fault, detail: str) -> None:
        """
        C{peer} committed a fault whose response is to ignore it: counted, logged.
        """

    def peer_lost(peer: IPeer, reason: str, fault: Fault | None) -> None:
        """
        The connection is gone (established or not), for C{fault} if one closed it.
        """


class IPeerObserver(Interface):
    """
    A part of the node that follows peers' lives, subscribed to the controller.
    """

    def peer_established(peer: IPeer) -> None:
        """
        The handshake of C{peer} is complete and its version accepted.
        """

    def message_received(peer: IPeer, command: str, payload: Payload) -> None:
        """
        A decoded message from an established peer (never version, verack, ping or pong).
        """

    def peer_lost(peer: IPeer, record: PeerRecord, reason: str, fault: Fault | None) -> None:
        """
        C{peer} is gone (established or not), for C{fault} if one closed it; C{record}
        is what the registry held of it, already out of the registry.
        """


class IAdmission(Interface):
    """
    Whom the node keeps: the connection service, as the controller asks it.
    """

    listening_port: int | None = Attribute(
        "The port we accept connections on (None: not listening), for our version.")

    def check_version(peer: IPeer, version: VersionPayload) -> str | None:
        """
        Why C{peer} must be dropped after its C{version} (banned, duplicate, over a
        limit), or None to keep it.
        """

    def connected_to_self(peer: IPeer) -> None:
        """
        C{peer}, which we dialled, sent our own nonce: its endpoint is one of ours.
        """

    def fault_ignored(peer: IPeer, fault: Fault) -> None:
        """
        Count a fault whose response is to ignore it.
        """


class ILocalNode(Interface):
    """
    What the controller asks of the node it serves: our version and block frames.
    """

    nonce: int = Attribute("Our version's nonce: a connection to it is one to ourselves.")
    user_agent: str = Attribute("Our version's user agent.")

    def current_height() -> int:
        """
        Our block height, for our version and C{pong}.
        """

    def accepts_block_frame(peer: IPeer, index: int, hash: UInt256) -> bool:
        """
        See L{IPeerListener.accepts_block_frame}.
        """
