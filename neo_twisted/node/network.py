# -*- test-case-name: tests.unit.test_node_network -*-
"""
Which network C{twistd neonode} runs, and the defaults that follow from it.

C{--network} names a bundled network; C{--config} a file of the operator's: a
protocol file (it wins over C{--network}'s, whose magic must then agree), or
neo-cli's C{config.json} (ports and paths, no network: C{--network} says which).
The node's defaults (P2P and RPC ports, data directory) are those of the network
the magic names, so a mainnet protocol file gets mainnet's ports even without
C{--network}; a network of its own gets the privnet's.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from twisted.logger import Logger

from neo_twisted.ledger.settings import (
    ConfigError,
    ProtocolSettings,
    WarnUnknown,
    log_unknown_key,
    read_json,
    settings_from_json,
)
from neo_twisted.networks import CUSTOM, DEFAULT_NETWORK, NETWORKS, Network, network_name
from neo_twisted.node.appconfig import AppConfig, read_app_config

_log = Logger()


@attrs.frozen
class NetworkChoice:
    """
    The network the options chose.

    @ivar name: C{mainnet}, C{testnet}, C{privnet} or C{custom}, by magic.
    @ivar defaults: the ports and data directory of that network (the privnet's for
        a custom one).
    @ivar app: what neo-cli's C{config.json} said, when C{--config} was one.
    """

    settings: ProtocolSettings
    name: str
    defaults: Network
    app: AppConfig | None = None


def choose_network(network: str | None, config: str | None,
                   warn: WarnUnknown = log_unknown_key) -> NetworkChoice:
    """
    Read the protocol file that C{--network} and C{--config} name.

    @raise ConfigError: an unknown network, a file that cannot be used, or a file
        and a network that disagree on the magic.
    """
    if network is not None and network not in NETWORKS:
        raise ConfigError(f"--network: {network!r} is not one of {', '.join(NETWORKS)}")
    named = NETWORKS[network] if network is not None else None
    app = None
    if config is None:
        settings = (named or NETWORKS[DEFAULT_NETWORK]).load(warn)
    else:
        document = read_json(config)
        if _is_app_config_only(document):
            if named is None:
                raise ConfigError(
                    f"{config}: this is neo-cli's config.json (ApplicationConfiguration), "
                    f"which names no network: add --network {'|'.join(NETWORKS)} (or give "
                    "the network's protocol file with --config and the ports as options: "
                    "P2P.Port is --port, RPC.Port --rpc-port, RPC.BindAddress --rpc-bind, "
                    "Paths.Chain --datadir)")
            settings = named.load(warn)
        else:
            settings = settings_from_json(document, config, warn)
            if named is not None:
                _check_agree(config, settings, named)
        if isinstance(document, dict) and "ApplicationConfiguration" in document:
            app = read_app_config(document, config, settings.magic)
    name = network_name(settings.magic)
    defaults = NETWORKS[DEFAULT_NETWORK if name == CUSTOM else name]
    return NetworkChoice(settings, name, defaults, app)


def _is_app_config_only(document: object) -> bool:
    return (isinstance(document, dict) and "ApplicationConfiguration" in document
            and "ProtocolConfiguration" not in document)


def _check_agree(config: str, settings: ProtocolSettings, named: Network) -> None:
    bundled = named.load(_quiet)
    if settings.magic != bundled.magic:
        raise ConfigError(
            f"--config {config} is the network of magic {settings.magic} "
            f"({network_name(settings.magic)}), --network {named.name} the one of magic "
            f"{bundled.magic}: give one of them, or a file of that network")


def _quiet(unknown: object) -> None:
    """
    The bundled files' keys are the tests' business, not the operator's.
    """


def resolve_defaults(options: Mapping[str, object], choice: NetworkChoice,
                     builtin: Mapping[str, object], rpc: bool) -> dict[str, object]:
    """
    The value of each option left unset (None): C{config.json}'s, else the network's
    (C{port}, C{datadir}; C{rpc-port} when C{rpc}), else C{builtin}'s. An option
    given on the command line is kept.
    """
    from_app = dict(choice.app.values) if choice.app is not None else {}
    network = {"port": choice.defaults.port, "datadir": choice.defaults.datadir}
    if rpc:
        network["rpc-port"] = choice.defaults.rpc_port
    chosen = {}
    for name in {*builtin, *network, *from_app}:
        if options.get(name) is not None:
            chosen[name] = options[name]
        else:
            chosen[name] = from_app.get(name, network.get(name, builtin.get(name)))
    if choice.app is not None:
        _log_app_config(choice.app, options)
    return chosen


def _log_app_config(app: AppConfig, options: Mapping[str, object]) -> None:
    """
    Say what C{config.json} set, what the command line overrode, and what it ignored.
    """
    mapped = ", ".join(
        f"{key} -> --{option} {app.values[option]}"
        + (f" (--{option} {options[option]} given: it wins)"
           if options.get(option) is not None else "")
        for key, option in app.mapped)
    _log.info("{source}: neo-cli config.json read: {mapped}", source=app.source,
              mapped=mapped or "nothing to map")
    if app.ignored:
        _log.warn("{source}: neo-cli config.json keys ignored: {ignored}", source=app.source,
                  ignored="; ".join(app.ignored))
