# -*- test-case-name: tests.unit.test_node_network -*-
"""
neo-cli 2.x's C{config.json} (C{ApplicationConfiguration}), read as options.

An operator moving from neo-cli has this file beside C{protocol.json}. Its ports,
RPC address and chain directory become our options (an option given on the
command line wins); what has no equivalent here (WebSocket, NeoVM limits,
wallets, plugins) is named as ignored, so that nothing is dropped silently.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping

import attrs

from neo_twisted.ledger.settings import ConfigError

#: The keys read, as C{SECTION.KEY}, and the option each becomes.
MAPPED = {
    "P2P.Port": "port",
    "P2P.MinDesiredConnections": "min-peers",
    "P2P.MaxConnections": "max-peers",
    "P2P.MaxConnectionsPerAddress": "max-per-address",
    "RPC.Port": "rpc-port",
    "RPC.BindAddress": "rpc-bind",
    "Paths.Chain": "datadir",
}
#: The keys of neo-cli 2.7 to 2.12 with nothing to map to, and why.
IGNORED = {
    "P2P.WsPort": "no WebSocket transport",
    "Paths.Index": "no application logs (no NeoVM)",
    "Paths.ApplicationLogs": "no application logs (no NeoVM)",
    "RPC.SslCertPassword": "goes with RPC.SslCert",
    "RPC.ExtraGasInvoke": "no NeoVM",
    "RPC.MaxGasInvoke": "no NeoVM",
    "RPC.MaxConcurrentConnections": "no such limit here",
    "UnlockWallet": "no wallets: a validator's key is --validator-key",
    "PluginURL": "no plugins",
}


@attrs.frozen
class AppConfig:
    """
    What a C{config.json} says, as option values.

    @ivar values: option name (C{port}, C{rpc-bind}, ...) to its value.
    @ivar mapped: C{(key, option)} for each key read, in the file's order.
    @ivar ignored: each key not read, with why (C{"P2P.WsPort (no WebSocket transport)"}).
    """

    source: str
    values: Mapping[str, int | str]
    mapped: tuple[tuple[str, str], ...]
    ignored: tuple[str, ...]


def _fail(source: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: ApplicationConfiguration.{key}: {problem}")


#: What a key of the file reads as an option's value (the file's JSON value in, the
#: option's value out, or a L{ConfigError}).
_Reader = Callable[[object, str, str], int | str]


def _integer(value: object, source: str, key: str, low: int, high: int) -> int:
    """
    A number, or a string of digits (.NET reads both), from C{low} to C{high}.
    """
    number = value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        raise _fail(source, key, f"must be a number from {low} to {high}, got {value!r}")
    return number


def _port(value: object, source: str, key: str) -> int:
    return _integer(value, source, key, 0, 65535)


def _connections(value: object, source: str, key: str) -> int:
    if value in (-1, "-1"):
        raise _fail(source, key, "-1 (no limit) has no equivalent here: leave it out and "
                                 "set --max-peers")
    return _integer(value, source, key, 1, 100_000)


def _address(value: object, source: str, key: str) -> str:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise _fail(source, key, f"must be an IP address, got {value!r}") from None


def _chain_path(magic: int) -> _Reader:
    def path(value: object, source: str, key: str) -> str:
        if not isinstance(value, str) or not value:
            raise _fail(source, key, f"must be a directory name, got {value!r}")
        # neo-cli formats it with the magic as eight hex digits: Chain_{0} -> Chain_00746E41
        return value.replace("{0}", f"{magic:08X}")
    return path


def _flatten(section: Mapping[str, object]) -> list[tuple[str, object]]:
    """
    C{SECTION.KEY} and value of each entry (one level down: the file's depth).
    """
    flat: list[tuple[str, object]] = []
    for name, value in section.items():
        if isinstance(value, dict) and name != "UnlockWallet":
            flat += [(f"{name}.{key}", inner) for key, inner in value.items()]
        else:
            flat.append((name, value))
    return flat


def read_app_config(document: Mapping[str, object], source: str, magic: int) -> AppConfig:
    """
    Map C{document}'s C{ApplicationConfiguration} to options.

    @param magic: the network's, which C{Paths.Chain} may hold (C{{0}}).
    @raise ConfigError: a value that is wrong, or one whose meaning cannot be kept
        (an C{RPC.SslCert}, a C{P2P.MaxConnections} of -1), naming what to do instead.
    """
    section = document.get("ApplicationConfiguration")
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: ApplicationConfiguration: must be an object")
    readers: dict[str, _Reader] = {
        "P2P.Port": _port, "RPC.Port": _port, "RPC.BindAddress": _address,
        "P2P.MinDesiredConnections": _connections, "P2P.MaxConnections": _connections,
        "P2P.MaxConnectionsPerAddress": _connections, "Paths.Chain": _chain_path(magic)}
    values: dict[str, int | str] = {}
    mapped: list[tuple[str, str]] = []
    ignored: list[str] = []
    for key, value in _flatten(section):
        if key in MAPPED:
            values[MAPPED[key]] = readers[key](value, source, key)
            mapped.append((key, MAPPED[key]))
        elif key == "RPC.SslCert":
            if value:
                raise _fail(source, key, "a PKCS#12 certificate is not read here: convert it "
                            "to PEM (openssl pkcs12 -in FILE -nodes) and pass --rpc-tls-cert "
                            "and --rpc-tls-key")
            ignored.append(f"{key} (empty: plain HTTP)")
        else:
            ignored.append(f"{key} ({IGNORED.get(key, 'unknown key')})")
    return AppConfig(source, values, tuple(mapped), tuple(ignored))
