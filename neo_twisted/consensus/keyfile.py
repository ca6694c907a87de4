# -*- test-case-name: tests.test_node_tap,tests.test_node_tap_options -*-
"""
The validator key of C{--validator-key}: a file holding one WIF.
"""

from __future__ import annotations

from pathlib import Path

from neo_twisted.consensus.proposal import validators_of
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.settings import ConfigError, ProtocolSettings


def load_validator_key(path: Path, settings: ProtocolSettings) -> KeyPair:
    """
    The key in C{path}, which must be one of the settings' validators.

    @raise ConfigError: unreadable, not a WIF, or not a validator's key.
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
    validators = validators_of(settings)
    if key.public_key not in validators:
        raise ConfigError(f"{path}: {key.public_key.encode().hex()} is not one of the "
                          f"{len(validators)} validators of the protocol file")
    return key
