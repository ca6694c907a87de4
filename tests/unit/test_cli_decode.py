"""
Tests for C{neonode decode message} (L{neo_twisted.cli.decode}) on what honest peers of
other versions send (issue 21): the full table of layouts, read strictly, with what a
node makes of the message differently shown beside it.

The rest of the command is tested in L{tests.unit.test_cli}.
"""

from __future__ import annotations

import io
import json
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.cli import main
from neo_twisted.network.frame import encode_frame
from neo_twisted.network.payloads import InventoryType, InvPayload, payload_bytes
from neo_twisted.wire.uint import UInt256
from tests.support.samples import MAINNET_MAGIC

HASHES = tuple(UInt256(bytes([i % 256, i // 256]) + bytes(30)) for i in range(600))


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(""), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


class DecodeMessageTests(SynchronousTestCase):
    def message(self, command: str, payload: bytes) -> Any:
        """
        The JSON C{neonode decode message} prints for one mainnet frame.
        """
        status, out, err = run("decode", "message",
                               encode_frame(MAINNET_MAGIC, command, payload).hex())
        self.assertEqual((status, err), (0, ""))
        return json.loads(out)

    def test_trailing_bytes_shown(self) -> None:
        """
        Bytes left over after a payload are shown apart, and the payload decodes as
        without them.
        """
        inv = InvPayload(InventoryType.TX, HASHES[:1])
        result = self.message("inv", payload_bytes(inv) + b"\xab\xcd")
        self.assertEqual(result["payload"]["hashes"], [str(HASHES[0])])
        self.assertEqual(result["trailing"], "abcd")
        self.assertNotIn("ignored", result)

    def test_no_trailing_key_without_leftover(self) -> None:
        """
        A payload that fills its frame has no C{trailing} key.
        """
        result = self.message("inv", payload_bytes(InvPayload(InventoryType.TX, HASHES[:2])))
        self.assertNotIn("trailing", result)

    def test_big_inv_of_state_roots(self) -> None:
        """
        An inv of 600 state-root hashes decodes with its type named.
        """
        result = self.message("inv", payload_bytes(InvPayload(InventoryType.StateRoot, HASHES)))
        self.assertEqual(result["payload"]["type"], "StateRoot")
        self.assertEqual(len(result["payload"]["hashes"]), 600)

    def test_empty_addr(self) -> None:
        """
        An empty addr (2.8, neo-go) decodes to no addresses.
        """
        self.assertEqual(self.message("addr", b"\x00")["payload"], {"addresses": []})

    def test_ignored_command_still_decoded(self) -> None:
        """
        A notfound, which a node leaves undecoded, is decoded and marked ignored.
        """
        result = self.message("notfound", payload_bytes(InvPayload(InventoryType.Block,
                                                                   HASHES[:1])))
        self.assertEqual(result["payload"], {"type": "Block", "hashes": [str(HASHES[0])]})
        self.assertIs(result["ignored"], True)

    def test_unknown_command_marked_ignored(self) -> None:
        """
        A command with no known layout (2.11's stateroot) shows its raw bytes, ignored.
        """
        result = self.message("stateroot", b"\x00\x01")
        self.assertEqual((result["payload"], result["ignored"]), ("0001", True))

    def test_malformed_payload_still_an_error(self) -> None:
        """
        An empty ping, which a node ignores, is still reported as malformed, where.
        """
        status, out, err = run("decode", "message", encode_frame(MAINNET_MAGIC, "ping").hex())
        self.assertEqual((status, out), (1, ""))
        self.assertIn("ping payload", err)
