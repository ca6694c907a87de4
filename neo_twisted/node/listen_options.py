# -*- test-case-name: tests.unit.test_endpoints -*-
"""
Where C{twistd neonode} listens: the endpoint options (C{--listen},
C{--rpc-listen}, C{--metrics-listen}) and the port options that are their
shorthands (C{--port 0 --interface 127.0.0.1} is C{--listen tcp:0:interface=127.0.0.1}).

A description is parsed when the options are, so a bad one is a usage error naming
its option; giving an endpoint option and one of its shorthands is one too.
"""

from __future__ import annotations

from twisted.python import usage

from neo_twisted.listening import server_endpoint, tcp_description
from neo_twisted.reactors import global_reactor

__all__ = ["SHORTHANDS", "ListenOptions", "check_description"]

#: Each endpoint option, and the shorthands it cannot be given with (it says it all).
SHORTHANDS = {"listen": ("port", "interface", "no-listen"),
              "rpc-listen": ("rpc", "rpc-port", "rpc-bind", "rpc-tls-cert", "rpc-tls-key"),
              "metrics-listen": ("metrics-port", "metrics-bind")}
#: The shorthands that are flags (0 unless given), not values (None unless given).
_FLAGS = frozenset({"rpc", "no-listen"})


def check_description(text: str) -> str:
    """
    C{text}, if Twisted can listen on the endpoint it describes.

    @raise ValueError: it cannot, and why.
    """
    server_endpoint(global_reactor(), text)
    return text


class ListenOptions(usage.Options):
    """
    The C{--listen} option (repeatable) and what turns the shorthands into
    descriptions; L{neo_twisted.node.tap.Options} holds the other options named here.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["listen"] = []

    def opt_listen(self, value: str) -> None:
        """
        Listen for peers on this endpoint (repeatable: tcp:20333:interface=\\:\\:1,
        systemd:domain=INET6:index=0 ...); --port and --interface are its shorthand.
        """
        try:
            self["listen"].append(check_description(value))
        except ValueError as e:
            raise usage.UsageError(f"--listen: {e}") from None

    def check_shorthands(self) -> None:
        """
        An endpoint option and one of its shorthands, both given, would disagree
        (checked before the network's defaults fill the shorthands in).
        """
        for option, shorthands in SHORTHANDS.items():
            clash = [name for name in shorthands
                     if (bool(self[name]) if name in _FLAGS else self[name] is not None)]
            if self[option] and clash:
                raise usage.UsageError(
                    f"--{clash[0]} cannot be combined with --{option}: its description "
                    "says where to listen (tcp:PORT:interface=ADDRESS)")

    def shorthand(self, option: str, text: str) -> str:
        """
        The description a shorthand built, checked as the operator's would be; an
        error names C{option}.
        """
        try:
            return check_description(text)
        except ValueError as e:
            raise usage.UsageError(f"--{option}: {e}") from None

    def resolve_listen(self) -> None:
        """
        The P2P and metrics shorthands, once defaulted, as descriptions: C{listen} (a
        list; empty with C{--no-listen}) and C{metrics-listen} (None: no metrics).
        (C{rpc-listen} is built after the TLS files are checked.)
        """
        self["interface"] = self["interface"] or ""
        self["metrics-bind"] = self["metrics-bind"] or "127.0.0.1"
        if self["no-listen"]:
            self["listen"] = []
        elif not self["listen"]:
            self["listen"] = [self.shorthand(
                "interface", tcp_description(self["port"], self["interface"]))]
        if self["metrics-listen"] is None and self["metrics-port"] is not None:
            self["metrics-listen"] = self.shorthand(
                "metrics-bind", tcp_description(self["metrics-port"], self["metrics-bind"]))
