"""
Tests for L{neo_twisted.consensus.keyfile}: WIF and NEP-2 validator keys, private
files only, systemd credentials.
"""

from __future__ import annotations

import os
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.consensus.keyfile import check_private, load_validator_key, secret_path
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.settings import ConfigError

#: The NEP-2 proposal's test vector (neo-project/proposals, nep-2).
NEP2_WIF = "L44B5gGEpqEDRS9vVPz7QT35jcBG2r3CZwSwQ4fCewXAhAhqGVpP"
NEP2_PASSPHRASE = "TestingOneTwoThree"
NEP2_KEY = "6PYVPVe1fQznphjbUxXP9KZJqPMVnVwCx5s5pr5axRJ8uHkMtZg97eT5kL"


class KeyFileCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.directory = Path(self.mktemp())
        self.directory.mkdir()

    def file(self, name: str, text: str, mode: int = 0o600) -> Path:
        path = self.directory / name
        path.write_text(text + "\n")
        path.chmod(mode)
        return path


class LoadTests(KeyFileCase):
    def test_wif(self) -> None:
        key = load_validator_key(self.file("v.wif", NEP2_WIF))
        self.assertEqual(key.to_wif(), NEP2_WIF)

    def test_nep2_with_its_passphrase(self) -> None:
        """
        The NEP-2 proposal's vector: the encrypted key and the passphrase's file give
        the WIF's key.
        """
        key = load_validator_key(self.file("v.nep2", NEP2_KEY),
                                 self.file("pass", NEP2_PASSPHRASE))
        self.assertEqual(key.public_key, KeyPair.from_wif(NEP2_WIF).public_key)

    def test_nep2_refusals(self) -> None:
        """
        Without a passphrase file, or with a wrong passphrase, a NEP-2 key is refused
        with the reason.
        """
        encrypted = self.file("v.nep2", NEP2_KEY)
        error = self.assertRaises(ConfigError, load_validator_key, encrypted)
        self.assertIn("--validator-key-password", str(error))
        error = self.assertRaises(ConfigError, load_validator_key, encrypted,
                                  self.file("pass", "TestingOneTwoFour"))
        self.assertIn("wrong NEP-2 passphrase", str(error))

    def test_not_a_key(self) -> None:
        error = self.assertRaises(ConfigError, load_validator_key, self.file("v", "hello"))
        self.assertIn("not a WIF or NEP-2 private key", str(error))
        error = self.assertRaises(ConfigError, load_validator_key, self.directory / "none")
        self.assertIn("cannot read the validator key", str(error))


class PrivateTests(KeyFileCase):
    def test_owner_only(self) -> None:
        check_private(self.file("v.wif", NEP2_WIF, 0o600))
        check_private(self.file("r.wif", NEP2_WIF, 0o400))

    def test_readable_by_others_refused(self) -> None:
        """
        A key the group or others may read is refused, saying what to do.
        """
        for mode in (0o640, 0o604, 0o644, 0o620):
            path = self.file(f"v{mode:o}.wif", NEP2_WIF, mode)
            error = self.assertRaises(ConfigError, check_private, path)
            self.assertIn(f"(mode {mode:04o})", str(error))
            self.assertIn("--allow-readable-key", str(error))


class CredentialTests(KeyFileCase):
    def setUp(self) -> None:
        super().setUp()
        self.saved = os.environ.pop("CREDENTIALS_DIRECTORY", None)
        self.addCleanup(self.restore)

    def restore(self) -> None:
        os.environ.pop("CREDENTIALS_DIRECTORY", None)
        if self.saved is not None:
            os.environ["CREDENTIALS_DIRECTORY"] = self.saved

    def test_credential_read_from_the_directory(self) -> None:
        os.environ["CREDENTIALS_DIRECTORY"] = str(self.directory)
        self.file("validator-key", NEP2_WIF, 0o400)
        path = secret_path("credential:validator-key")
        self.assertEqual(path, self.directory / "validator-key")
        self.assertEqual(load_validator_key(path).to_wif(), NEP2_WIF)
        self.assertEqual(secret_path("/etc/neonode/v.wif"), Path("/etc/neonode/v.wif"))

    def test_credential_refusals(self) -> None:
        error = self.assertRaises(ConfigError, secret_path, "credential:validator-key")
        self.assertIn("LoadCredential", str(error))
        os.environ["CREDENTIALS_DIRECTORY"] = str(self.directory)
        for name in ("credential:", "credential:../x", "credential:.."):
            self.assertRaises(ConfigError, secret_path, name)
