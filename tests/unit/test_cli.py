"""
Tests for the C{neonode} command line (L{neo_twisted.cli}).
"""

from __future__ import annotations

import io
import json
import random
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.cli import main
from neo_twisted.network.frame import encode_frame
from neo_twisted.network.payloads import InventoryType, InvPayload, payload_bytes
from neo_twisted.wire.uint import UInt256
from tests.support.samples import GENESIS_HASH, GENESIS_HEX, MAINNET_MAGIC


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


class DecodeTests(SynchronousTestCase):
    def decoded(self, *argv: str, stdin: str = "") -> Any:
        status, out, err = run(*argv, stdin=stdin)
        self.assertEqual((status, err), (0, ""))
        return json.loads(out)

    def test_genesis_block(self) -> None:
        """
        The mainnet genesis block decodes with its known hash as the first field.
        """
        result = self.decoded("decode", "block", GENESIS_HEX)
        self.assertEqual(next(iter(result)), "hash")
        self.assertEqual(result["hash"], GENESIS_HASH)
        self.assertEqual(result["size"], 401)
        self.assertEqual([tx["type"] for tx in result["tx"]],
                         ["MinerTransaction", "RegisterTransaction", "RegisterTransaction",
                          "IssueTransaction"])

    def test_standard_input(self) -> None:
        """
        With '-' or no hex argument the bytes come from standard input, whitespace allowed.
        """
        text = "0x" + GENESIS_HEX[:200] + "\n" + GENESIS_HEX[200:] + "\n"
        self.assertEqual(self.decoded("decode", "block", "-", stdin=text)["hash"], GENESIS_HASH)
        self.assertEqual(self.decoded("decode", "block", stdin=text)["hash"], GENESIS_HASH)

    def test_transaction(self) -> None:
        """
        A transaction decodes with its txid first and RPC field names.
        """
        result = self.decoded("decode", "tx", "0000d11f7a2800000000")
        self.assertEqual(result["txid"],
                         "0x8e3a32ba3a7e8bdb0ad9a2ad064713e45bd20eb0dab0d2e77df5b5ce985276d0")
        self.assertEqual(result["type"], "MinerTransaction")
        self.assertEqual(result["nonce"], 679092177)
        self.assertEqual(next(iter(result)), "txid")

    def test_header(self) -> None:
        """
        A header (block base plus the 00 trailer) decodes with the block's hash.
        """
        header_hex = GENESIS_HEX[:2 * 108] + "00"
        result = self.decoded("decode", "header", header_hex)
        self.assertEqual(result["hash"], GENESIS_HASH)
        self.assertEqual(result["nonce"], "000000007c2bac1d")

    def test_message(self) -> None:
        """
        A framed message decodes to its magic, command, checksum and payload.
        """
        inv = InvPayload(InventoryType.Block, (UInt256.from_string(GENESIS_HASH),))
        frame = encode_frame(MAINNET_MAGIC, "inv", payload_bytes(inv))
        result = self.decoded("decode", "message", frame.hex())
        self.assertEqual(result["network"], "mainnet")
        self.assertEqual(result["command"], "inv")
        self.assertEqual(result["payload"], {"type": "Block", "hashes": [GENESIS_HASH]})

    def test_unknown_command(self) -> None:
        """
        A message with a command the node does not know shows its raw payload.
        """
        frame = encode_frame(MAINNET_MAGIC, "alert", b"\x01\x02")
        result = self.decoded("decode", "message", frame.hex())
        self.assertEqual((result["command"], result["payload"]), ("alert", "0102"))


class BadInputTests(SynchronousTestCase):
    def assert_one_line_error(self, *argv: str, contains: str = "") -> str:
        status, out, err = run(*argv)
        self.assertEqual(status, 1)
        self.assertEqual(out, "")
        self.assertEqual(err.count("\n"), 1, err)
        self.assertTrue(err.startswith("neonode: error: "), err)
        self.assertNotIn("Traceback", err)
        self.assertIn(contains, err)
        return err

    def test_not_hex(self) -> None:
        """
        Non-hex input names the offending digit.
        """
        self.assert_one_line_error("decode", "tx", "00zz", contains="'z' at digit 2")
        self.assert_one_line_error("decode", "tx", "000", contains="odd number")
        self.assert_one_line_error("decode", "tx", "", contains="no input")

    def test_truncated_block(self) -> None:
        """
        A truncated block reports what is missing and the offset.
        """
        self.assert_one_line_error("decode", "block", GENESIS_HEX[:300], contains="offset")

    def test_trailing_bytes(self) -> None:
        """
        Bytes after a whole structure are reported, not ignored.
        """
        self.assert_one_line_error("decode", "block", GENESIS_HEX + "00", contains="trailing")
        frame = encode_frame(MAINNET_MAGIC, "verack").hex()
        self.assert_one_line_error("decode", "message", frame + "41", contains="after the message")

    def test_bad_frames(self) -> None:
        """
        A short, incomplete or corrupted frame is a one-line error.
        """
        frame = encode_frame(MAINNET_MAGIC, "ping", bytes(12))
        self.assert_one_line_error("decode", "message", frame[:10].hex(), contains="24-byte")
        self.assert_one_line_error("decode", "message", frame[:-1].hex(), contains="incomplete")
        corrupted = frame[:-1] + b"\x01"
        self.assert_one_line_error("decode", "message", corrupted.hex(), contains="checksum")
        short_ping = encode_frame(MAINNET_MAGIC, "ping", bytes(11))
        self.assert_one_line_error("decode", "message", short_ping.hex(), contains="ping payload")

    def test_random_bytes_never_trace(self) -> None:
        """
        Random input to every kind ends in a clean result or a one-line error.
        """
        rng = random.Random(2)
        for kind in ("block", "header", "tx", "message", "consensus"):
            for _ in range(100):
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
                status, _, err = run("decode", kind, data.hex())
                self.assertIn(status, (0, 1))
                if status:
                    self.assertEqual(err.count("\n"), 1, err)

    def test_usage_errors(self) -> None:
        """
        An unknown kind is a usage error (status 2), as argparse reports it.
        """
        status, _, _ = run("decode", "wallet", "00")
        self.assertEqual(status, 2)
