# -*- test-case-name: tests.unit.test_node_network -*-
"""
The start-up line: the first thing an operator checks is which network the node
runs (a node started on the wrong one syncs the wrong chain without an error),
where its data is, and what it listens on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.logger import Logger

from neo_twisted import __version__
from neo_twisted.networks import network_name

if TYPE_CHECKING:
    from neo_twisted.node.service import NodeService

STARTUP_FORMAT = ("neo_twisted {version} started on {network} (magic {magic}, genesis "
                  "{genesis}), data in {datadir}, listening: {listening}")


def startup_fields(top: NodeService) -> dict[str, Any]:
    """
    The start-up line's fields, read from the running services (real ports, when
    asked for 0).
    """
    ledger = top.node.ledger
    assert ledger.ledger is not None, "the ledger is not open"
    settings = ledger.settings
    config = top.config
    p2p = getattr(top.node.connections, "listening_port", None)
    listeners = getattr(top.node.connections, "listeners", None)
    addresses = [] if listeners is None else listeners.addresses
    listening = [f"P2P {', '.join(addresses)}" if addresses else "P2P not listening"]
    for label, served, path in (("RPC", top.rpc, ""), ("metrics", top.metrics, "metrics")):
        url = None if served is None else served.url(path)
        if url is not None:
            listening.append(f"{label} {url}")
    return {"version": __version__, "network": network_name(settings.magic),
            "magic": settings.magic, "genesis": str(ledger.ledger.genesis.hash),
            "datadir": str(config.datadir.absolute()) if config is not None else "?",
            "p2p_port": p2p, "listening": ", ".join(listening)}


def log_startup(log: Logger, top: NodeService) -> None:
    log.info(STARTUP_FORMAT, **startup_fields(top))
