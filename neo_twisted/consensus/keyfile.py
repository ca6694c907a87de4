# -*- test-case-name: tests.test_node_tap,tests.test_node_tap_options -*-
"""
The validator key of C{--validator-key}: a file holding one WIF.
"""

from __future__ import annotations

from pathlib import Path

from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.settings import ConfigError


def load_validator_key(path: Path) -> KeyPair:
    """
    The key in C{path}. It need not be a standby validator's: votes may elect any
    registered key, and the node takes part in consensus while its key is elected.

    @raise ConfigError: unreadable, or not a WIF.
    """
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the validator key: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: a validator key file holds one WIF (ASCII)") from None
    try:
        key = KeyPair.from_wif(text)
    except ValueError as e:
        raise ConfigError(f"{path}: not a WIF private key: {e}") from None
    return key
