# -*- test-case-name: tests.integration.test_metrics -*-
"""
Messages and bytes per command, summed over a factory's connections.

Each L{PeerProtocol} counts its own traffic in plain dicts (the hot path stays
one dict update per message). When a connection is lost its counts are folded
into its factory's totals, so the node's figures never go backwards as peers
come and go, which is what a Prometheus counter must promise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Protocol

import attrs

from neo_twisted.network.payloads import PAYLOAD_READERS

#: Commands counted under their own name; any other is counted as L{OTHER}, so a peer
#: sending made-up commands cannot grow our counters or mint metric labels.
COUNTED_COMMANDS = frozenset(PAYLOAD_READERS) | {"stateroot", "getroots", "roots", "alert",
                                                 "reject"}
OTHER = "other"


def counted(command: str) -> str:
    """
    The name C{command} is counted under.
    """
    return command if command in COUNTED_COMMANDS else OTHER


class CountsTraffic(Protocol):
    """
    What a connection exposes of its traffic.
    """

    @property
    def bytes_in(self) -> Mapping[str, int]: ...
    @property
    def messages_in(self) -> Mapping[str, int]: ...
    @property
    def bytes_out(self) -> Mapping[str, int]: ...
    @property
    def messages_out(self) -> Mapping[str, int]: ...


@attrs.define
class Traffic:
    """
    Messages and bytes received and sent, by command.
    """

    messages_in: Counter[str] = attrs.field(factory=Counter)
    bytes_in: Counter[str] = attrs.field(factory=Counter)
    messages_out: Counter[str] = attrs.field(factory=Counter)
    bytes_out: Counter[str] = attrs.field(factory=Counter)

    def add(self, peer: CountsTraffic) -> None:
        """
        Fold one connection's counts in.
        """
        self.messages_in.update(peer.messages_in)
        self.bytes_in.update(peer.bytes_in)
        self.messages_out.update(peer.messages_out)
        self.bytes_out.update(peer.bytes_out)

    def plus(self, peers: Iterable[CountsTraffic]) -> Traffic:
        """
        A new total: these counts and those of C{peers}.
        """
        total = Traffic(Counter(self.messages_in), Counter(self.bytes_in),
                        Counter(self.messages_out), Counter(self.bytes_out))
        for peer in peers:
            total.add(peer)
        return total
