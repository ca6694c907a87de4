# -*- test-case-name: tests.unit.test_node_network -*-
"""
The networks this package ships: the protocol files of mainnet, testnet and the
community privnet, with the ports neo-cli 2.x gives each and a data directory apiece.

The files are package data, so that a node installed anywhere finds them (the
repository's top-level C{protocol*.json} are links to them). A network is named by
C{--network}, or recognised by its magic (L{network_name}) in a protocol file of
the operator's own.
"""

from __future__ import annotations

import functools
from importlib import resources

import attrs

from neo_twisted.ledger.settings import (
    ProtocolSettings,
    UnknownKey,
    WarnUnknown,
    load_protocol,
    log_unknown_key,
)

#: What a network that is none of the bundled ones is called (in the start-up line).
CUSTOM = "custom"


@attrs.frozen
class Network:
    """
    A bundled network and its defaults.

    @ivar protocol_file: the file's name among the package data.
    @ivar port: the P2P port (neo-cli's C{config.json} of that network).
    @ivar rpc_port: the JSON-RPC port, likewise.
    @ivar datadir: the default data directory, relative to the working directory.
    """

    name: str
    protocol_file: str
    port: int
    rpc_port: int
    datadir: str

    def load(self, warn: WarnUnknown = log_unknown_key) -> ProtocolSettings:
        """
        Read the bundled protocol file.
        """
        with resources.as_file(resources.files(__name__) / self.protocol_file) as path:
            return load_protocol(path, warn)

    def source(self) -> str:
        """
        Where the bundled file is, as messages name it.
        """
        return str(resources.files(__name__) / self.protocol_file)


#: The privnet keeps the defaults of the node before C{--network} (P2P 20333,
#: C{data}); the real networks get neo-cli's ports and directories beside it, not in
#: it (wiping a privnet must not wipe a synced mainnet).
NETWORKS = {network.name: network for network in (
    Network("mainnet", "protocol.mainnet.json", 10333, 10332, "data-mainnet"),
    Network("testnet", "protocol.testnet.json", 20333, 20332, "data-testnet"),
    Network("privnet", "protocol.json", 20333, 20332, "data"),
)}
DEFAULT_NETWORK = "privnet"


def _ignore(unknown: UnknownKey) -> None:
    """
    The bundled files are checked by the tests; their magic is all that is read here.
    """


@functools.cache
def _bundled_magics() -> dict[int, str]:
    return {network.load(_ignore).magic: name for name, network in NETWORKS.items()}


def network_name(magic: int) -> str:
    """
    The bundled network with this magic, or L{CUSTOM}.
    """
    return _bundled_magics().get(magic, CUSTOM)
