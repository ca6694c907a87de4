"""
Tests for L{neo_twisted.node.tap.Options}: parsing and checking the command line of
C{twistd neonode}, every option from one table of good and bad values, and
C{--assume-valid}.

The service tree the options build is in L{tests.unit.test_node_tap}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.crypto.keys import nep2_encrypt
from neo_twisted.ledger.generator import account_keys
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.node import tap
from neo_twisted.rpc.access import RpcAccess
from tests.support.node_tap_helpers import DEVKEYS, PROTOCOL
from tests.support.tls_samples import make_test_ca


class OptionsTests(SynchronousTestCase):
    """
    Parsing and checking the command line.
    """

    def parse(self, *argv: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(["--config", str(PROTOCOL), *argv])
        return options

    def refused(self, *argv: str) -> str:
        """
        The message of the usage error C{argv} raises.
        """
        error = self.assertRaises(usage.UsageError, self.parse, *argv)
        return str(error)

    def test_defaults(self) -> None:
        """
        Without options the node runs the bundled privnet (C{protocol.json}) and keeps
        10 to 40 peers, 3 per address, listening on 20333 with a peers file.
        """
        self.assertEqual((tap.Options()["config"], tap.Options()["network"]), (None, None))
        options = tap.Options()
        options.parseOptions([])
        self.assertEqual(options["settings"], load_protocol(PROTOCOL))
        options = self.parse()
        self.assertEqual(
            (options["port"], options["min-peers"], options["max-peers"],
             options["max-per-address"], options["interface"], options["seeds"]),
            (20333, 10, 40, 3, "", []))
        self.assertEqual(options["datadir"], Path("data"))
        self.assertFalse(options["no-listen"])
        self.assertFalse(options["no-peers-file"])
        self.assertEqual(options["settings"], load_protocol(PROTOCOL))

    def test_values(self) -> None:
        """
        Every option is converted to the type the node expects.
        """
        options = self.parse("--port", "0", "--min-peers", "2", "--max-peers", "5",
                             "--max-per-address", "1", "--datadir", "/srv/neo",
                             "--interface", "127.0.0.1", "--user-agent", "/x/")
        self.assertEqual(
            (options["port"], options["min-peers"], options["max-peers"],
             options["max-per-address"], options["datadir"], options["interface"],
             options["user-agent"]),
            (0, 2, 5, 1, Path("/srv/neo"), "127.0.0.1", "/x/"))

    def test_seeds_repeatable(self) -> None:
        """
        C{--seed} may be given several times; the seeds are kept in order.
        """
        options = self.parse("--seed", "10.0.0.1:20333", "--seed", "[::1]:20334")
        self.assertEqual(options["seeds"], ["10.0.0.1:20333", "[::1]:20334"])

    def test_bad_seed(self) -> None:
        """
        A seed that is not C{host:port} is a usage error naming C{--seed}.
        """
        self.assertIn("--seed", self.refused("--seed", "nonsense"))
        self.assertIn("--seed", self.refused("--seed", "1.2.3.4:99999"))

    def test_bad_port(self) -> None:
        """
        A port outside 0..65535, or not a number, is a usage error.
        """
        self.assertIn("65535", self.refused("--port", "70000"))
        self.refused("--port", "abc")
        self.refused("--port", "-1")

    def test_bad_peer_counts(self) -> None:
        """
        Peer counts must be positive, and C{--min-peers} at most C{--max-peers}.
        """
        message = self.refused("--min-peers", "50")
        self.assertIn("--min-peers 50", message)
        self.assertIn("--max-peers 40", message)
        self.refused("--max-peers", "0")
        self.refused("--max-per-address", "x")

    def test_missing_config(self) -> None:
        """
        A protocol file that cannot be read is a usage error naming the file.
        """
        missing = self.mktemp()
        options = tap.Options()
        error = self.assertRaises(usage.UsageError, options.parseOptions,
                                  ["--config", missing])
        self.assertIn(missing, str(error))

    def test_broken_config(self) -> None:
        """
        A protocol file that is not valid JSON is a usage error naming the file.
        """
        broken = Path(self.mktemp())
        broken.write_text('{"ProtocolConfiguration": ', encoding="utf-8")
        options = tap.Options()
        error = self.assertRaises(usage.UsageError, options.parseOptions,
                                  ["--config", str(broken)])
        self.assertIn(str(broken), str(error))
        self.assertIn("JSON", str(error))

    def test_mempool_and_rpc_defaults(self) -> None:
        """
        The pool holds 50,000 with a thread per core; no RPC unless a port is given,
        and then on loopback only, over HTTP.
        """
        options = self.parse()
        self.assertEqual(
            (options["mempool-size"], options["verify-threads"], options["rpc-port"],
             options["rpc-bind"], options["rpc-tls-cert"], options["rpc-tls-key"]),
            (50_000, 0, None, "127.0.0.1", None, None))

    def test_bad_mempool_and_rpc_values(self) -> None:
        """
        Sizes, thread counts and the RPC port are checked like the others.
        """
        self.refused("--mempool-size", "0")
        self.assertIn("negative", self.refused("--verify-threads", "-1"))
        self.assertIn("65535", self.refused("--rpc-port", "70000"))
        self.refused("--rpc-port", "http")

    def test_validator_key(self) -> None:
        """
        --validator-key loads a WIF file; the development keys (mode 0644 in a
        checkout) need --allow-readable-key.
        """
        options = self.parse("--allow-readable-key", "--validator-key",
                             str(DEVKEYS / "privnet-validator-2.wif"))
        self.assertEqual(options["validator"].public_key.encode().hex(),
                         "02103a7f7dd016558597f7960d27c516a4394fd968b9e65155eb4b013e4040406e")
        self.assertIsNone(self.parse()["validator"])

    def key_file(self, name: str, text: str | bytes, mode: int = 0o600) -> Path:
        directory = Path(self.mktemp())
        directory.mkdir()
        path = directory / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        path.chmod(mode)
        return path

    def test_bad_validator_key(self) -> None:
        """
        A missing file, one that holds no key, and one others may read are each
        refused with the reason; a key that is no standby validator's is taken
        (votes may elect it).
        """
        missing = Path(self.mktemp()) / "none"
        self.assertIn("cannot read", self.refused("--validator-key", str(missing)))
        garbage = self.key_file("garbage.wif", "not a key\n")
        self.assertIn("not a WIF", self.refused("--validator-key", str(garbage)))
        stranger = account_keys(5, 1)[0]
        private = self.key_file("stranger.wif", stranger.to_wif())
        self.assertEqual(self.parse("--validator-key", str(private))["validator"].public_key,
                         stranger.public_key)
        readable = self.key_file("readable.wif", stranger.to_wif(), 0o640)
        self.assertIn("(mode 0640)", self.refused("--validator-key", str(readable)))
        binary = self.key_file("binary.wif", b"\xff\xfe")
        self.assertIn("not text", self.refused("--validator-key", str(binary)))
        self.assertIn("needs --validator-key",
                      self.refused("--validator-key-password", str(private)))

    def test_nep2_validator_key(self) -> None:
        """
        A NEP-2 key with its passphrase file; a readable passphrase file is refused.
        """
        encrypted = nep2_encrypt(account_keys(6, 1)[0], "correct horse")
        key = self.key_file("v.nep2", encrypted)
        password = self.key_file("pass", "correct horse\n")
        options = self.parse("--validator-key", str(key), "--validator-key-password",
                             str(password))
        self.assertEqual(options["validator"].public_key, account_keys(6, 1)[0].public_key)
        password.chmod(0o644)
        self.assertIn("--validator-key-password:", self.refused(
            "--validator-key", str(key), "--validator-key-password", str(password)))

    def test_tls_options(self) -> None:
        """
        HTTPS needs a certificate and its key, both loadable, and an RPC port.
        """
        cert, key = make_test_ca().write(Path(self.mktemp()))
        options = self.parse("--rpc-port", "0", "--rpc-tls-cert", str(cert),
                             "--rpc-tls-key", str(key))
        self.assertEqual(options["rpc-tls-cert"], str(cert))
        self.assertIn("go together", self.refused("--rpc-port", "1", "--rpc-tls-cert",
                                                  str(cert)))
        self.assertIn("needs --rpc-port", self.refused("--rpc-tls-cert", str(cert),
                                                       "--rpc-tls-key", str(key)))
        missing = self.refused("--rpc-port", "1", "--rpc-tls-cert", str(cert) + ".nope",
                               "--rpc-tls-key", str(key))
        self.assertIn("cannot read", missing)
        other_cert, _ = make_test_ca().write(Path(self.mktemp()))
        self.assertIn("is not the key of", self.refused(
            "--rpc-port", "1", "--rpc-tls-cert", str(other_cert), "--rpc-tls-key", str(key)))
        self.assertIn("no PEM certificate", self.refused(
            "--rpc-port", "1", "--rpc-tls-cert", str(key), "--rpc-tls-key", str(key)))

    def test_rpc_access_options(self) -> None:
        """
        No CORS, no GET form, no auth, nothing disabled unless asked; lists may be
        repeated or comma-separated; each value is checked.
        """
        self.assertEqual(self.parse("--rpc-port", "0")["rpc-access"], RpcAccess())
        options = self.parse("--rpc-port", "0", "--rpc-cors", "https://a.example, HTTP://B:81",
                             "--rpc-cors", "*", "--rpc-allow-host", "node.lan,[::1]",
                             "--rpc-disable", "submitblock", "--rpc-disable",
                             "sendrawtransaction,getpeers", "--rpc-allow-get",
                             "--rpc-max-answer", "1000")
        self.assertEqual(options["rpc-access"], RpcAccess(
            cors_origins=frozenset({"https://a.example", "http://b:81", "*"}),
            allowed_hosts=frozenset({"node.lan", "::1"}), allow_get=True,
            disabled=frozenset({"submitblock", "sendrawtransaction", "getpeers"})))
        self.assertEqual(options["rpc-max-answer"], 1000)
        self.assertIn("--rpc-cors: 'a.example' is not an origin",
                      self.refused("--rpc-port", "0", "--rpc-cors", "a.example"))
        self.assertIn("--rpc-allow-host", self.refused("--rpc-allow-host", "a b"))
        self.assertIn("--rpc-disable: no JSON-RPC method 'getnothing'",
                      self.refused("--rpc-disable", "getnothing"))
        self.assertIn("--rpc-allow-get needs --rpc-port", self.refused("--rpc-allow-get"))
        self.assertIn("--rpc-cors needs --rpc-port",
                      self.refused("--rpc-cors", "https://a.example"))

    def test_rpc_auth_options(self) -> None:
        """
        Basic auth: a user and a password file's first line, both or neither.
        """
        secret = Path(self.mktemp())
        secret.write_text("correct horse\nignored\n", encoding="utf-8")
        options = self.parse("--rpc-port", "0", "--rpc-user", "operator",
                             "--rpc-password-file", str(secret))
        access = options["rpc-access"]
        self.assertEqual((access.user, access.password), ("operator", "correct horse"))
        self.assertIn("go together", self.refused("--rpc-port", "0", "--rpc-user", "operator"))
        self.assertIn("go together", self.refused("--rpc-port", "0",
                                                  "--rpc-password-file", str(secret)))
        self.assertIn("--rpc-user needs --rpc-port", self.refused(
            "--rpc-user", "operator", "--rpc-password-file", str(secret)))
        self.assertIn("--rpc-password-file: cannot read", self.refused(
            "--rpc-port", "0", "--rpc-user", "operator", "--rpc-password-file",
            str(secret) + ".nope"))
        empty = Path(self.mktemp())
        empty.write_text("\nsecond\n", encoding="utf-8")
        self.assertIn("is empty", self.refused(
            "--rpc-port", "0", "--rpc-user", "operator", "--rpc-password-file", str(empty)))
        self.assertIn("--rpc-user", self.refused(
            "--rpc-port", "0", "--rpc-user", "a:b", "--rpc-password-file", str(secret)))

    def test_metrics_and_log_options(self) -> None:
        """
        No metrics endpoint and text logs by default; a progress line every 10 s.
        """
        options = self.parse()
        self.assertEqual((options["metrics-port"], options["metrics-bind"],
                          options["log-format"], options["progress-interval"]),
                         (None, "127.0.0.1", "text", 10.0))
        options = self.parse("--metrics-port", "9100", "--metrics-bind", "0.0.0.0",
                             "--log-format", "text", "--progress-interval", "2.5")
        self.assertEqual((options["metrics-port"], options["metrics-bind"],
                          options["progress-interval"]), (9100, "0.0.0.0", 2.5))

    def test_bad_metrics_and_log_values(self) -> None:
        self.assertIn("65535", self.refused("--metrics-port", "65536"))
        self.refused("--metrics-port", "nine")
        message = self.refused("--log-format", "xml")
        self.assertIn("--log-format", message)
        self.assertIn("text, json", message)
        self.assertIn("positive", self.refused("--progress-interval", "0"))
        self.refused("--progress-interval", "soon")

    def test_metrics_without_package(self) -> None:
        """
        Without prometheus-client (an optional extra), C{--metrics-port} says what
        to install.
        """
        import sys
        from unittest import mock
        with mock.patch.dict(sys.modules, {"prometheus_client": None}):
            self.assertIn("neo_twisted[metrics]", self.refused("--metrics-port", "9100"))

    def test_flags(self) -> None:
        """
        C{--no-listen} and C{--no-peers-file} are off unless given.
        """
        options = self.parse("--no-listen", "--no-peers-file")
        self.assertTrue(options["no-listen"])
        self.assertTrue(options["no-peers-file"])


#: A valid value for every option of C{twistd neonode} (flags: None).
GOOD_VALUES: dict[str, str | None] = {
    "config": str(PROTOCOL), "network": "privnet", "rpc": None, "datadir": "/srv/neo",
    "port": "0", "interface": "127.0.0.1",
    "min-peers": "2", "max-peers": "5", "max-per-address": "1", "user-agent": "/x/",
    "mempool-size": "10", "mempool-mb": "64", "verify-threads": "0", "rpc-port": "10332",
    "rpc-bind": "::1",
    "validator-key": str(DEVKEYS / "privnet-validator-1.wif"), "metrics-port": "9108",
    "metrics-bind": "0.0.0.0", "log-format": "text", "progress-interval": "30",
    "seed": "10.0.0.1:20333", "no-listen": None, "no-peers-file": None,
    "rpc-cors": "https://wallet.example", "rpc-allow-host": "node.lan",
    "rpc-disable": "submitblock", "rpc-max-answer": "1048576", "rpc-allow-get": None,
    "assume-valid": "5000:0x" + "ab" * 32,
    "whitelist": "10.1.0.0/16", "ban": "203.0.113.9", "allow-private-addresses": None,
    "allow-readable-key": None,
}
#: TLS needs real files: covered by test_tls_options; so does auth (test_rpc_auth_options),
#: and a NEP-2 key's passphrase (test_nep2_validator_key). The endpoint options cannot go
#: with their shorthands, which GOOD_VALUES holds: they are in tests.unit.test_endpoints.
TLS_OPTIONS = {"rpc-tls-cert", "rpc-tls-key", "rpc-user", "rpc-password-file",
               "validator-key-password", "listen", "rpc-listen", "metrics-listen"}
#: A bad value for every option that can have one, and what the message must say.
BAD_VALUES = {
    "config": ("/nonexistent/protocol.json", "/nonexistent/protocol.json"),
    "network": ("moonnet", "--network: 'moonnet' is not one of mainnet, testnet, privnet"),
    "port": ("70000", "--port: 70000 is outside 0..65535"),
    "min-peers": ("zero", "--min-peers: 'zero' is not a number"),
    "max-peers": ("0", "--max-peers: 0 is not a positive number"),
    "max-per-address": ("-3", "--max-per-address: -3 is not a positive number"),
    "mempool-size": ("0", "--mempool-size: 0 is not a positive number"),
    "mempool-mb": ("-1", "--mempool-mb: -1 is not a positive number"),
    "verify-threads": ("-1", "--verify-threads: -1 is negative"),
    "rpc-port": ("65536", "--rpc-port: 65536 is outside 0..65535"),
    "validator-key": ("/nonexistent.wif", "--validator-key"),
    "validator-key-password": ("/nonexistent", "--validator-key-password needs"),
    "metrics-port": ("http", "--metrics-port: 'http' is not a number"),
    "log-format": ("yaml", "--log-format: 'yaml' is not one of text, json"),
    "progress-interval": ("-5", "--progress-interval: -5.0 is not a positive number of "
                                "seconds"),
    "seed": ("nowhere", "--seed"),
    "assume-valid": ("0x" + "ab" * 32, "--assume-valid: expected HEIGHT:HASH"),
    "rpc-cors": ("wallet.example", "--rpc-cors: 'wallet.example' is not an origin"),
    "rpc-allow-host": ("a/b", "--rpc-allow-host: 'a/b' is not a host name"),
    "rpc-disable": ("getnothing", "--rpc-disable: no JSON-RPC method 'getnothing'"),
    "rpc-max-answer": ("0", "--rpc-max-answer: 0 is not a positive number"),
    "whitelist": ("10.1.0.0/33", "--whitelist:"),
    "ban": ("10.1.0.0/16", "--ban:"),
    "listen": ("tcp:1:interface=nothost",
               "--listen: 'tcp:1:interface=nothost': interface 'nothost' is not an IP address"),
    "rpc-listen": ("tcp:70000", "--rpc-listen: 'tcp:70000': the port must be a number from "
                                "0 to 65535"),
    "metrics-listen": ("nope:1", "--metrics-listen: 'nope:1': ValueError: Unknown endpoint "
                                 "type: 'nope'"),
}


class EveryOptionTests(SynchronousTestCase):
    """
    Each option, good and bad, from one table, so a new option cannot go untested.
    """

    def all_options(self) -> set[str]:
        options = tap.Options()
        names = {cast(str, entry[0]) for entry in options.optParameters}
        names |= {cast(str, entry[0]) for entry in options.optFlags}
        return names | {"seed", "rpc-cors", "rpc-allow-host", "rpc-disable", "whitelist", "ban",
                        "listen"}

    def test_table_covers_every_option(self) -> None:
        self.assertEqual(set(GOOD_VALUES) | TLS_OPTIONS, self.all_options())

    def test_good_values(self) -> None:
        argv: list[str] = []
        for name, value in GOOD_VALUES.items():
            argv += [f"--{name}"] if value is None else [f"--{name}", value]
        options = tap.Options()
        options.parseOptions(argv)
        self.assertEqual((options["port"], options["verify-threads"],
                          options["progress-interval"], options["no-listen"]), (0, 0, 30.0, 1))

    def test_bad_values(self) -> None:
        for name, (value, message) in BAD_VALUES.items():
            options = tap.Options()
            argv = [f"--{name}", value] if name == "config" else [
                "--config", str(PROTOCOL), f"--{name}", value]
            error = self.assertRaises(usage.UsageError, options.parseOptions, argv)
            self.assertIn(message, str(error), name)


class AssumeValidOptionTests(SynchronousTestCase):
    """
    --assume-valid replaces the protocol file's AssumeValid; none turns it off.
    """

    def settings(self, *argv: str, document: dict[str, Any] | None = None) -> Any:
        config = str(PROTOCOL)
        if document is not None:
            path = Path(self.mktemp())
            path.write_text(json.dumps(document), encoding="utf-8")
            config = str(path)
        options = tap.Options()
        options.parseOptions(["--config", config, *argv])
        return options["settings"].assume_valid

    def test_option(self) -> None:
        hash_ = "0x" + "cd" * 32
        self.assertIsNone(self.settings())
        self.assertEqual(str(self.settings("--assume-valid", f"77:{hash_}")), f"77:{hash_}")
        document = json.loads(PROTOCOL.read_text(encoding="utf-8"))
        document["ProtocolConfiguration"]["AssumeValid"] = {"Height": 9, "Hash": hash_}
        self.assertEqual(str(self.settings(document=document)), f"9:{hash_}")
        self.assertEqual(str(self.settings("--assume-valid", f"10:{hash_}", document=document)),
                         f"10:{hash_}")
        self.assertIsNone(self.settings("--assume-valid", "none", document=document))
