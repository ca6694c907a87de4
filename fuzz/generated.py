"""
Valid encodings for the fuzz targets, drawn from the test strategies (L{tests.support.strategies}).

They widen the seed corpus beyond the real vectors (every payload command, every
transaction attribute and descriptor kind) and are the starting points the hypothesis
engine mutates. Imported only when needed: the strategies derive keys as they load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from neo_twisted.network.frame import encode_frame
from neo_twisted.network.payloads import Payload, payload_bytes
from tests.support import strategies as s
from tests.support.samples import MAINNET_MAGIC


def _to_bytes(value: Any) -> bytes:
    return bytes(value.to_bytes())


def _encoded(strategy: SearchStrategy[Any]) -> SearchStrategy[bytes]:
    return strategy.map(_to_bytes)


def _framed(messages: list[tuple[str, Payload]]) -> bytes:
    return b"".join(encode_frame(MAINNET_MAGIC, command, payload_bytes(payload))
                    for command, payload in messages)


_STRATEGIES: dict[str, Callable[[], SearchStrategy[bytes]]] = {
    "frame": lambda: st.lists(s.commands_and_payloads, max_size=4).map(_framed),
    "transaction": lambda: _encoded(s.transactions),
    "block": lambda: _encoded(s.blocks()),
    "header": lambda: _encoded(s.headers()),
    "consensus_payload": lambda: _encoded(s.consensus_payloads),
    "consensus_message": lambda: _encoded(s.consensus_messages),
}


def strategy_for(name: str) -> SearchStrategy[bytes]:
    """
    Valid inputs for target C{name} (C{payload.COMMAND} included).
    """
    if name.startswith("payload."):
        return s.PAYLOADS[name.removeprefix("payload.")].map(payload_bytes)
    return _STRATEGIES[name]()
