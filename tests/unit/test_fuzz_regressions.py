"""
Regression tests for the inputs the fuzz targets (C{make fuzz}, L{fuzz.targets}) found to
crash a parser: each now gets the parser's own clean rejection, or a correct result.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from fuzz.rpc import harness, post_request
from neo_twisted.cli import main as cli_main
from neo_twisted.core import AssetType, RegisterTransaction, Transaction
from neo_twisted.core.jsonify import asset_name_json, transaction_json
from neo_twisted.crypto.base58 import b58check_encode
from neo_twisted.crypto.keys import KeyPair, script_hash_from_address
from neo_twisted.ledger.settings import ConfigError, load_protocol
from neo_twisted.rpc.errors import PARSE_ERROR
from neo_twisted.rpc.server import JsonRpcResource, parse_json
from tests.support.json_shapes import json_at
from tests.support.transaction_samples import KEY

#: Deeper than Python's recursion limit, within a RegisterTransaction's 1,024-byte name.
DEEP_NAME = "[" * 1000 + "]" * 24


def register_named(name: str) -> bytes:
    """
    The bytes of a RegisterTransaction whose asset name is C{name}, as a peer may send.
    """
    return RegisterTransaction(asset_type=AssetType.Token, name=name, amount=1,
                               owner=KEY).to_bytes()


def strict_json(text: str) -> object:
    """
    C{text} parsed as strict JSON: NaN and Infinity are not JSON.
    """
    def reject(constant: str) -> object:
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=reject)


class AssetNameTests(SynchronousTestCase):
    """
    C{asset_name_json} parses a peer's asset name for C{getrawtransaction}, C{getblock} and
    C{neonode decode}: names that are not plain JSON are shown as they are.
    """

    def test_nested_too_deep(self) -> None:
        """
        Nesting deeper than the recursion limit (a RecursionError before) is not JSON.
        """
        self.assertEqual(asset_name_json(DEEP_NAME), DEEP_NAME)
        tx = Transaction.from_bytes(register_named(DEEP_NAME))
        self.assertEqual(json_at(transaction_json(tx), "asset", "name"), DEEP_NAME)

    def test_constants(self) -> None:
        """
        NaN and Infinity parse in Python's JSON but are not JSON: printed as parsed they
        made C{getrawtransaction} answer with something no strict client can read.
        """
        for name in ("NaN", "-Infinity", '[{"lang":"en","name":Infinity}]', "1e400"):
            self.assertEqual(asset_name_json(name), name)

    def test_plain_names_still_parse(self) -> None:
        self.assertEqual(asset_name_json('[{"lang":"en","name":"AntShare"}]'),
                         [{"lang": "en", "name": "AntShare"}])
        self.assertEqual(asset_name_json("12"), 12)
        self.assertEqual(asset_name_json("Token"), "Token")
        self.assertIsNone(asset_name_json(""))

    def test_cli_decode(self) -> None:
        """
        C{neonode decode tx} prints strict JSON for such names (it raised before).
        """
        for name in (DEEP_NAME, "NaN", "-1e999"):
            out, err = io.StringIO(), io.StringIO()
            status = cli_main(["decode", "tx", register_named(name).hex()], stdout=out,
                              stderr=err)
            self.assertEqual((status, err.getvalue()), (0, ""))
            document = strict_json(out.getvalue())
            assert isinstance(document, dict)
            self.assertEqual(document["asset"]["name"], name)


class RpcNumberTests(SynchronousTestCase):
    """
    A number that overflows a float (C{1e400}) read as infinity, and a request's C{id} of
    it was answered as C{Infinity}, which no JSON client reads: it is a parse error now.
    """

    def test_overflowing_id(self) -> None:
        for body in (b'{"jsonrpc":"2.0","method":"getblockcount","params":[],"id":1e400}',
                     b'{"jsonrpc":"2.0","method":"x","params":[],"id":-1e400}', b"[1e999]"):
            error = self.assertRaises(ValueError, parse_json, body)
            self.assertIn("out of range", str(error))

    def test_finite_numbers(self) -> None:
        """
        Every finite number still reads, and a fractional id is answered as it came.
        """
        self.assertEqual(parse_json(b"[1e308, -2.5, 0.1, 10]"), [1e308, -2.5, 0.1, 10])
        request = parse_json(b'{"jsonrpc":"2.0","method":"x","params":[],"id":1.5}')
        response = self.successResultOf(JsonRpcResource({}).handle(request))
        assert response is not None
        document = strict_json(response.decode())
        assert isinstance(document, dict)
        self.assertEqual(document["id"], 1.5)

    def test_answered_as_parse_error(self) -> None:
        """
        Through the fuzz target's server: the answer is strict JSON, a -32700.
        """
        request = post_request(
            b'{"jsonrpc":"2.0","method":"getblockcount","params":[],"id":1e400}')
        document = strict_json(harness().answer(request).decode())
        assert isinstance(document, dict)
        self.assertEqual(document["error"]["code"], PARSE_ERROR)


class ProtocolFileTests(SynchronousTestCase):
    """
    C{load_protocol} reports every unreadable C{protocol.json} as L{ConfigError}.
    """

    def load(self, text: str) -> ConfigError:
        path = Path(self.mktemp())
        path.write_text(text, encoding="utf-8")
        error: ConfigError = self.assertRaises(ConfigError, load_protocol, path)
        self.assertIn("not valid JSON", str(error))
        return error

    def test_nested_too_deep(self) -> None:
        """
        Nesting past the recursion limit was a RecursionError.
        """
        self.load("[" * 100_000)
        self.load('{"ProtocolConfiguration": ' * 5000)

    def test_huge_number(self) -> None:
        """
        A number past Python's integer digit limit was a bare ValueError.
        """
        self.load('{"ProtocolConfiguration": {"Magic": ' + "1" * 5000 + "}}")


class Base58LengthTests(SynchronousTestCase):
    """
    Base58 decoding is quadratic in the length: an RPC client's megabyte "address"
    (C{validateaddress}, C{getaccountstate}, run on the reactor) took minutes of CPU.
    Anything longer than an address or a WIF can be is refused before decoding.
    """

    def test_long_address(self) -> None:
        started = time.perf_counter()
        for text in ("z" * 1_000_000, "1" * 100_000):
            self.assertRaises(ValueError, script_hash_from_address, text)
        self.assertLess(time.perf_counter() - started, 1.0)

    def test_long_wif(self) -> None:
        started = time.perf_counter()
        self.assertRaises(ValueError, KeyPair.from_wif, "K" * 1_000_000)
        self.assertLess(time.perf_counter() - started, 1.0)

    def test_longest_valid(self) -> None:
        """
        The limits keep every real address and WIF: 25 and 38 bytes, Base58Check.
        """
        for secret in (bytes(31) + b"\x01", bytes.fromhex("fe" * 16 + "00" * 16)):
            key = KeyPair(secret)
            self.assertEqual(KeyPair.from_wif(key.to_wif()), key)
        for version in (0, 23, 255):
            for script_hash in (bytes(20), b"\xff" * 20):
                address = b58check_encode(bytes((version,)) + script_hash)
                self.assertEqual(script_hash_from_address(address, version), script_hash)
