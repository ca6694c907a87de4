"""
Tests for L{neo_twisted.ledger.settings}: the shipped protocol files, defaults, and every
kind of bad input reported as one L{ConfigError} naming the file and the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.genesis import genesis_block
from neo_twisted.ledger.settings import (
    AssumeValid,
    ConfigError,
    ProtocolSettings,
    load_protocol,
    parse_assume_valid,
)
from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.fixed8 import FIXED8_ONE
from neo_twisted.wire.uint import UInt256
from tests.support.ledger_samples import privnet_document

ROOT = Path(__file__).resolve().parents[2]

MAINNET_FEES = {"EnrollmentTransaction": 1000, "IssueTransaction": 500,
                "PublishTransaction": 500, "RegisterTransaction": 10000}
TESTNET_FEES = {"EnrollmentTransaction": 10, "IssueTransaction": 5,
                "PublishTransaction": 5, "RegisterTransaction": 100}

#: A compressed encoding whose X has no point on P-256 (X = 1 gives a non-residue).
OFF_CURVE_KEY = "02" + "00" * 31 + "01"


class ShippedFilesTests(SynchronousTestCase):
    def check_network(self, settings: ProtocolSettings, magic: int, port: int,
                      fees: dict[str, int], first_validator: str) -> None:
        self.assertEqual(settings.magic, magic)
        self.assertEqual(settings.address_version, 23)
        self.assertEqual(len(settings.standby_validators), 7)
        self.assertEqual(settings.standby_validators[0].encode().hex(), first_validator)
        self.assertEqual(len(settings.seed_list), 10)
        self.assertTrue(all(seed.endswith(f".ngd.network:{port}") for seed in settings.seed_list))
        self.assertEqual(settings.seconds_per_block, 15)
        self.assertEqual(settings.low_priority_threshold, 100_000)
        self.assertEqual(dict(settings.system_fees),
                         {name: gas * FIXED8_ONE for name, gas in fees.items()})

    def test_mainnet(self) -> None:
        """
        protocol.mainnet.json: magic 7630401, seven validators, port 10333, fees in raw Fixed8.
        """
        settings = load_protocol(ROOT / "protocol.mainnet.json")
        self.check_network(settings, 7630401, 10333, MAINNET_FEES,
                           "03b209fd4f53a7170ea4444e0cb0a6bb6a53c2bd016926989cf85f9b0fba17a70c")
        self.assertEqual(settings.system_fees["RegisterTransaction"], 10000 * 10**8)

    def test_testnet(self) -> None:
        """
        protocol.testnet.json: magic 1953787457, seven validators, port 20333, small fees.
        """
        settings = load_protocol(ROOT / "protocol.testnet.json")
        self.check_network(settings, 1953787457, 20333, TESTNET_FEES,
                           "0327da12b5c40200e9f65569476bbff2218da4f32548ff43b6387ec1416a231ee8")

    def test_privnet(self) -> None:
        """
        protocol.json is the community privnet: magic 56753, the four dev validators, local seeds.
        """
        settings = load_protocol(ROOT / "protocol.json")
        keys = json.loads((ROOT / "devkeys" / "privnet.json").read_text())["validators"]
        self.assertEqual(settings.magic, 56753)
        self.assertEqual(settings.address_version, 23)
        self.assertEqual([v.encode().hex() for v in settings.standby_validators],
                         [k["public_key"] for k in keys])
        self.assertEqual(settings.seed_list, tuple(f"127.0.0.1:{p}" for p in range(20333, 20337)))
        self.assertEqual(settings.system_fees["RegisterTransaction"], 10000 * 10**8)
        self.assertEqual(settings.low_priority_threshold, 100_000)

    def test_validators_keep_config_order(self) -> None:
        """
        Standby validators stay in file order (the genesis sorts them itself).
        """
        settings = load_protocol(ROOT / "protocol.mainnet.json")
        encoded = [v.encode() for v in settings.standby_validators]
        self.assertNotEqual(encoded, sorted(encoded))
        self.assertTrue(all(isinstance(v, ECPoint) for v in settings.standby_validators))


class FileProblemTests(SynchronousTestCase):
    def path(self, content: bytes) -> Path:
        path = Path(self.mktemp())
        path.write_bytes(content)
        return path

    def test_missing_file(self) -> None:
        """
        A file that does not exist is a ConfigError naming it.
        """
        path = Path(self.mktemp())
        error = self.assertRaises(ConfigError, load_protocol, path)
        self.assertTrue(str(error).startswith(f"{path}: cannot read"), str(error))

    def test_not_json(self) -> None:
        """
        Broken JSON is reported with its line and column.
        """
        path = self.path(b'{\n  "ProtocolConfiguration": {\n    "Magic": 1,,\n  }\n}\n')
        error = self.assertRaises(ConfigError, load_protocol, path)
        self.assertTrue(str(error).startswith(f"{path}: not valid JSON"), str(error))
        self.assertIn("line 3 column 16", str(error))

    def test_not_utf8(self) -> None:
        """
        Bytes that are not UTF-8 are a ConfigError, not a UnicodeDecodeError.
        """
        path = self.path(b'{"ProtocolConfiguration": {"Magic": "\xff\xfe"}}')
        error = self.assertRaises(ConfigError, load_protocol, path)
        self.assertEqual(str(error), f"{path}: not UTF-8 text")

    def test_empty_file(self) -> None:
        """
        An empty file is not valid JSON.
        """
        path = self.path(b"")
        error = self.assertRaises(ConfigError, load_protocol, path)
        self.assertIn("line 1 column 1", str(error))


class KeyProblemTests(SynchronousTestCase):
    """
    Each bad value gives C{"FILE: KEY: problem"}.
    """

    def load(self, document: Any) -> ProtocolSettings:
        path = Path(self.mktemp())
        path.write_text(json.dumps(document), encoding="utf-8")
        self.path = path
        return load_protocol(path)

    def assert_bad_key(self, key: str, value: Any, reported: str | None = None,
                       words: str = "") -> str:
        """
        Setting C{key} to C{value} (or deleting it for C{...}) fails, naming file and key.
        """
        document = privnet_document()
        config = document["ProtocolConfiguration"]
        if value is ...:
            del config[key]
        else:
            config[key] = value
        error = self.assertRaises(ConfigError, self.load, document)
        message = str(error)
        self.assertTrue(message.startswith(f"{self.path}: {reported or key}:"), message)
        self.assertIn(words, message)
        return message

    def test_missing_protocol_configuration(self) -> None:
        """
        A document without the ProtocolConfiguration object says so.
        """
        documents: list[object] = [{}, [], {"ProtocolConfiguration": []},
                                   {"protocolConfiguration": {}}]
        for document in documents:
            error = self.assertRaises(ConfigError, self.load, document)
            self.assertTrue(str(error).startswith(f"{self.path}: ProtocolConfiguration: missing"))

    def test_missing_magic(self) -> None:
        """
        Magic has no default.
        """
        self.assert_bad_key("Magic", ..., words="missing")

    def test_bad_magic(self) -> None:
        """
        Magic must be a uint32: not negative, below 2**32, not a string, not a bool.
        """
        for value in (-1, 2**32, "7630401", True, 7630401.0, None):
            self.assert_bad_key("Magic", value, words="integer from 0 to 4294967295")

    def test_magic_limits(self) -> None:
        """
        0 and 2**32 - 1 are valid magics.
        """
        for value in (0, 2**32 - 1):
            document = privnet_document()
            document["ProtocolConfiguration"]["Magic"] = value
            self.assertEqual(self.load(document).magic, value)

    def test_bad_address_version(self) -> None:
        """
        AddressVersion is one byte; missing is an error too.
        """
        self.assert_bad_key("AddressVersion", 256, words="from 0 to 255")
        self.assert_bad_key("AddressVersion", -1)
        self.assert_bad_key("AddressVersion", False)
        self.assert_bad_key("AddressVersion", ..., words="missing")

    def test_validators_empty_or_missing(self) -> None:
        """
        StandbyValidators must be a non-empty list.
        """
        one_key = "02b3622bf4017bdfe317c58aed5f4c753f206b7db896046fa7d774bbc4bf7f8dc2"
        values: list[object] = [[], ..., one_key]
        for value in values:
            self.assert_bad_key("StandbyValidators", value, words="non-empty list")

    def test_validator_not_hex(self) -> None:
        """
        A key that is not hex names its position in the list.
        """
        keys = privnet_document()["ProtocolConfiguration"]["StandbyValidators"]
        keys[1] = "zz" + keys[1][2:]
        message = self.assert_bad_key("StandbyValidators", keys, "StandbyValidators[1]",
                                      "not a P-256 public key")
        self.assertIn("zz", message)
        self.assert_bad_key("StandbyValidators", [7], "StandbyValidators[0]")
        self.assert_bad_key("StandbyValidators", ["0x" + keys[0]], "StandbyValidators[0]")

    def test_validator_off_curve(self) -> None:
        """
        A well-formed encoding of a point not on P-256 is rejected.
        """
        keys = privnet_document()["ProtocolConfiguration"]["StandbyValidators"]
        keys[3] = OFF_CURVE_KEY
        self.assert_bad_key("StandbyValidators", keys, "StandbyValidators[3]",
                            "not a P-256 public key")

    def test_validator_infinity(self) -> None:
        """
        The point at infinity (00) is not a key.
        """
        self.assert_bad_key("StandbyValidators", ["00"], "StandbyValidators[0]", "infinity")

    def test_duplicate_validator(self) -> None:
        """
        The same key twice is rejected, even when one copy is uncompressed.
        """
        keys = privnet_document()["ProtocolConfiguration"]["StandbyValidators"]
        self.assert_bad_key("StandbyValidators", [*keys, keys[0]], words="twice")
        point = ECPoint.from_bytes(bytes.fromhex(keys[0]))
        assert point.x is not None and point.y is not None
        uncompressed = (b"\x04" + point.x.to_bytes(32, "big") + point.y.to_bytes(32, "big")).hex()
        self.assert_bad_key("StandbyValidators", [*keys, uncompressed], words="twice")

    def test_more_validators_than_a_multisig_holds(self) -> None:
        """
        More than 1024 standby validators (the reference's MaxValidators) is a ConfigError.
        """
        document = privnet_document()
        document["ProtocolConfiguration"]["StandbyValidators"] = [
            KeyPair(i.to_bytes(32, "big")).public_key.encode().hex() for i in range(1, 1026)]
        try:
            settings = self.load(document)
        except ConfigError as e:
            self.assertTrue(str(e).startswith(f"{self.path}: StandbyValidators"), str(e))
            return
        error = self.assertRaises(ValueError, genesis_block, settings.standby_validators)
        self.fail(f"1025 standby validators load without a ConfigError; genesis_block then "
                  f"raises ValueError({error})")

    def test_seed_without_port(self) -> None:
        """
        Seeds are "host:port"; the port is required and must be 1..65535.
        """
        for seed in ("seed1.ngd.network", "seed1.ngd.network:", ":20333", "host:0",
                     "host:70000", "host:-1", "host:20a", 20333):
            self.assert_bad_key("SeedList", [seed], "SeedList[0]", "host:port")

    def test_seed_list_not_a_list(self) -> None:
        """
        SeedList must be a list.
        """
        self.assert_bad_key("SeedList", "127.0.0.1:20333", words="list")

    def test_seed_port_with_non_ascii_digits(self) -> None:
        """
        A port of non-ASCII digits such as "²" is a ConfigError, not a ValueError.
        """
        self.assert_bad_key("SeedList", ["host:²"], "SeedList[0]")

    def test_seed_limits(self) -> None:
        """
        Ports 1 and 65535 are valid; a missing SeedList is an empty one.
        """
        document = privnet_document()
        document["ProtocolConfiguration"]["SeedList"] = ["a:1", "b:65535", "[::1]:20333"]
        self.assertEqual(self.load(document).seed_list, ("a:1", "b:65535", "[::1]:20333"))
        del document["ProtocolConfiguration"]["SeedList"]
        self.assertEqual(self.load(document).seed_list, ())

    def test_system_fee_unknown_type(self) -> None:
        """
        A fee for a type that does not exist names the type.
        """
        self.assert_bad_key("SystemFee", {"RegisterTransactions": 1},
                            "SystemFee.RegisterTransactions", "not a transaction type")

    def test_system_fee_bad_amounts(self) -> None:
        """
        Fees are non-negative decimals with at most 8 decimal places.
        """
        key = "SystemFee.IssueTransaction"
        self.assert_bad_key("SystemFee", {"IssueTransaction": -1}, key, "negative")
        self.assert_bad_key("SystemFee", {"IssueTransaction": 0.000000001}, key, "8 decimal")
        self.assert_bad_key("SystemFee", {"IssueTransaction": "1.123456789"}, key, "8 decimal")
        self.assert_bad_key("SystemFee", {"IssueTransaction": True}, key)
        self.assert_bad_key("SystemFee", {"IssueTransaction": "lots"}, key)
        self.assert_bad_key("SystemFee", {"IssueTransaction": 10**20}, key, "range")
        self.assert_bad_key("SystemFee", [500], words="object")

    def test_system_fee_decimals(self) -> None:
        """
        Eight decimals, strings and zero are fine, in raw Fixed8.
        """
        document = privnet_document()
        document["ProtocolConfiguration"]["SystemFee"] = {
            "IssueTransaction": 0.00000001, "RegisterTransaction": "12.5",
            "PublishTransaction": 0}
        self.assertEqual(dict(self.load(document).system_fees),
                         {"IssueTransaction": 1, "RegisterTransaction": 1_250_000_000,
                          "PublishTransaction": 0})

    def test_seconds_per_block(self) -> None:
        """
        SecondsPerBlock must be a positive uint32.
        """
        self.assert_bad_key("SecondsPerBlock", 0, words="at least 1")
        self.assert_bad_key("SecondsPerBlock", -15)
        self.assert_bad_key("SecondsPerBlock", "15")

    def test_validator_count_formula(self) -> None:
        """
        ValidatorCountFormula, our own key: "2.11" (the default) or "2.6".
        """
        document = privnet_document()
        self.assertTrue(self.load(document).validator_count_plus_one)
        document["ProtocolConfiguration"]["ValidatorCountFormula"] = "2.6"
        self.assertFalse(self.load(document).validator_count_plus_one)
        self.assert_bad_key("ValidatorCountFormula", "2.10", words='"2.6"')
        self.assert_bad_key("ValidatorCountFormula", ["2.11"])

    def test_assume_valid(self) -> None:
        """
        AssumeValid, our own key: an object with the block's Height and Hash, or null.
        """
        document = privnet_document()
        config = document["ProtocolConfiguration"]
        self.assertIsNone(self.load(document).assume_valid)
        config["AssumeValid"] = {"Height": 7, "Hash": "0x" + "ab" * 31 + "01"}
        self.assertEqual(self.load(document).assume_valid,
                         AssumeValid(7, UInt256(bytes([1]) + b"\xab" * 31)))
        config["AssumeValid"] = None
        self.assertIsNone(self.load(document).assume_valid)
        self.assert_bad_key("AssumeValid", "7:0x00", words="object with Height and Hash")
        self.assert_bad_key("AssumeValid", {"Height": 7}, words="object with Height and Hash")
        self.assert_bad_key("AssumeValid", {"Height": -1, "Hash": "0x" + "00" * 32},
                            reported="Height")
        self.assert_bad_key("AssumeValid", {"Height": 0, "Hash": "0x" + "00" * 32},
                            words="outside 1..")
        self.assert_bad_key("AssumeValid", {"Height": 5, "Hash": "0x1234"},
                            words="not a block hash")
        self.assert_bad_key("AssumeValid", {"Height": 5, "Hash": 5}, reported="AssumeValid.Hash")

    def test_parse_assume_valid(self) -> None:
        """
        The option's form is HEIGHT:HASH; its text form round-trips.
        """
        value = parse_assume_valid(" 50000:0x" + "0f" * 32)
        self.assertEqual((value.height, str(value.hash)), (50000, "0x" + "0f" * 32))
        self.assertEqual(parse_assume_valid(str(value)), value)
        for bad, words in (("0x" + "0f" * 32, "HEIGHT:HASH"), ("-1:0x00", "HEIGHT:HASH"),
                           ("0:" + "0f" * 32, "outside"), ("12:zz", "not a block hash"),
                           ("١٢:" + "0f" * 32, "HEIGHT:HASH")):
            error = self.assertRaises(ValueError, parse_assume_valid, bad)
            self.assertIn(words, str(error))

    def test_low_priority_threshold(self) -> None:
        """
        LowPriorityThreshold is a non-negative Fixed8 amount.
        """
        self.assert_bad_key("LowPriorityThreshold", -0.001, words="negative")
        self.assert_bad_key("LowPriorityThreshold", "cheap")
        self.assert_bad_key("LowPriorityThreshold", 0.000000001, words="8 decimal")

    def test_defaults(self) -> None:
        """
        Without SecondsPerBlock, LowPriorityThreshold and SystemFee: 15 s, 0.001 GAS, no fees.
        """
        document = privnet_document()
        config = document["ProtocolConfiguration"]
        for key in ("SecondsPerBlock", "LowPriorityThreshold", "SystemFee"):
            del config[key]
        settings = self.load(document)
        self.assertEqual(settings.seconds_per_block, 15)
        self.assertEqual(settings.low_priority_threshold, 100_000)
        self.assertEqual(dict(settings.system_fees), {})

    def test_explicit_values(self) -> None:
        """
        Values given in the file replace the defaults.
        """
        document = privnet_document()
        document["ProtocolConfiguration"].update(SecondsPerBlock=1, LowPriorityThreshold="0.5")
        settings = self.load(document)
        self.assertEqual(settings.seconds_per_block, 1)
        self.assertEqual(settings.low_priority_threshold, 50_000_000)


class ByteOrderMarkTests(SynchronousTestCase):
    def test_utf8_bom_accepted(self) -> None:
        """
        A protocol.json saved with a UTF-8 byte-order mark loads, as it does in neo-cli.
        """
        path = Path(self.mktemp())
        text = (Path(__file__).resolve().parents[2] / "protocol.json").read_text()
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
        self.assertEqual(load_protocol(path).magic, 56753)
