# -*- test-case-name: tests.unit.test_consensus_keyfile,tests.unit.test_node_tap_options -*-
"""
The validator key of C{--validator-key}: a file holding one WIF, or one NEP-2
encrypted key whose passphrase is in another file.

Either file may come from systemd's credentials (C{LoadCredential=}): a name
given as C{credential:NAME} is read from C{$CREDENTIALS_DIRECTORY/NAME}, a
directory only the service can read. The node refuses a key or passphrase file
that the file's group or others may read (L{check_private}): a validator's key
signs blocks, and a key others can read is a key others hold.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from neo_twisted.crypto.keys import ADDRESS_VERSION, KeyPair, nep2_decrypt
from neo_twisted.ledger.settings import ConfigError

__all__ = ["check_private", "load_validator_key", "secret_path"]

CREDENTIAL_PREFIX = "credential:"
#: A NEP-2 key in Base58 starts so (its prefix bytes 01 42 E0).
NEP2_START = "6P"


def secret_path(text: str) -> Path:
    """
    A file name, or C{credential:NAME} for systemd's credential NAME.

    @raise ConfigError: a credential asked for outside a unit that passes any.
    """
    if not text.startswith(CREDENTIAL_PREFIX):
        return Path(text)
    name = text[len(CREDENTIAL_PREFIX):]
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        raise ConfigError(f"{text}: no CREDENTIALS_DIRECTORY: credentials come from a systemd "
                          "unit's LoadCredential=")
    if not name or "/" in name or name in (".", ".."):
        raise ConfigError(f"{text}: not a credential name")
    return Path(directory) / name


def check_private(path: Path) -> None:
    """
    Refuse a secret that the file's group or others may read or write.

    @raise ConfigError: they may, or the file cannot be looked at.
    """
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}: its group or others may read it (mode {stat.S_IMODE(mode):04o}): "
            f"chmod 600 it, pass it by systemd's LoadCredential= (credential:NAME), or "
            f"start with --allow-readable-key")


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the {what}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the {what} is not text") from None


def load_validator_key(path: Path, password: Path | None = None, *,
                       address_version: int = ADDRESS_VERSION) -> KeyPair:
    """
    The key in C{path}: a WIF, or a NEP-2 key decrypted with the first line of the
    file C{password}. It need not be a standby validator's: votes may elect any
    registered key, and the node takes part in consensus while its key is elected.

    @raise ConfigError: unreadable, not a key, a NEP-2 key without its passphrase
        or with a wrong one.
    """
    text = _read(path, "validator key")
    if text.startswith(NEP2_START):
        if password is None:
            raise ConfigError(f"{path}: a NEP-2 encrypted key: give its passphrase with "
                              "--validator-key-password FILE")
        lines = _read(password, "passphrase").splitlines()
        try:
            return nep2_decrypt(text, lines[0] if lines else "", address_version)
        except ValueError as e:
            raise ConfigError(f"{path}: {e}") from None
    try:
        return KeyPair.from_wif(text)
    except ValueError as e:
        raise ConfigError(f"{path}: not a WIF or NEP-2 private key: {e}") from None
