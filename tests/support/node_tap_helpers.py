"""
Shared pieces of the tests of L{neo_twisted.node.tap}: the repository's protocol file
and development keys.
"""

from __future__ import annotations

from pathlib import Path

PROTOCOL = Path(__file__).parents[2] / "protocol.json"
DEVKEYS = Path(__file__).parents[2] / "devkeys"
