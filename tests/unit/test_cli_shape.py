"""
C{neonode makechain --shape}: the mainnet shape written and imported through the
command line, its defaults and refusals, and the uniform shape unchanged.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

from neo_twisted.ledger.chainacc import read_chain_records
from neo_twisted.ledger.generator_shape import transfer_counts
from tests.support.cli_chain_helpers import KEYS, PRIVNET, ChainCommandCase

ROOT = Path(__file__).resolve().parents[2]
SHAPE_PROTOCOL = str(ROOT / "devkeys" / "protocol.mainnet-shape.json")
SHAPE_KEYS = str(ROOT / "devkeys" / "mainnet-shape.json")
SHAPE_GENESIS = "0xe4c49388688caf39cbe80adc89029618fefc08936c26651a2ea5746819b1aefe"
BLOCKS, SEED = 200, 3


class MakechainShapeTests(ChainCommandCase):
    def make(self, path: Path, *options: str) -> Any:
        return json.loads(self.ok("makechain", "--shape", "mainnet", "--config", SHAPE_PROTOCOL,
                                  "--keys", SHAPE_KEYS, "--blocks", str(BLOCKS),
                                  "--seed", str(SEED), *options, str(path)))

    def test_make_and_import(self) -> None:
        """
        The chain makechain writes imports block for block through C{neonode import},
        and C{neonode check} finds the store sound; the output counts the transactions
        (genesis's four, a miner per block and the shape's transfers).
        """
        path = self.files_dir() / "chain.acc"
        made = self.make(path)
        transfers = sum(itertools.islice(transfer_counts(SEED), BLOCKS))
        self.assertEqual((made["blocks"], made["genesis"], made["transactions"]),
                         (BLOCKS + 1, SHAPE_GENESIS, 4 + BLOCKS + transfers))
        datadir = Path(self.mktemp())
        imported = json.loads(self.ok("import", "--config", SHAPE_PROTOCOL, "--datadir",
                                      str(datadir), str(path)))
        self.assertEqual((imported["imported"], imported["block_height"]), (BLOCKS, BLOCKS))
        out = self.ok("check", "--config", SHAPE_PROTOCOL, "--datadir", str(datadir))
        self.assertTrue(out.startswith("ok: "), out)

    def test_deterministic(self) -> None:
        """
        The same seed writes the same bytes, another seed another chain.
        """
        first, second, other = (self.files_dir() / "chain.acc" for _ in range(3))
        self.make(first)
        self.make(second)
        self.make(other, "--seed", str(SEED + 1))
        self.assertEqual(first.read_bytes(), second.read_bytes())
        self.assertNotEqual(first.read_bytes(), other.read_bytes())

    def test_defaults_follow_the_shape(self) -> None:
        """
        Run from the checkout's top directory, C{--shape mainnet} alone takes the seven
        keys and their protocol file: the chain is the one they make.
        """
        explicit, implicit = ((self.files_dir() / "chain.acc").resolve() for _ in range(2))
        self.make(explicit)
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(ROOT)
        self.ok("makechain", "--shape", "mainnet", "--blocks", str(BLOCKS), "--seed", str(SEED),
                str(implicit))
        self.assertEqual(implicit.read_bytes(), explicit.read_bytes())

    def test_refusals(self) -> None:
        """
        Keys of another network, C{--txs-per-block} and C{--elect} are one error line each,
        and no file is written.
        """
        path = self.files_dir() / "chain.acc"
        error = self.fails("makechain", "--shape", "mainnet", "--config", PRIVNET, "--keys",
                           SHAPE_KEYS, "--blocks", "5", str(path))
        self.assertIn("not the standby validators", error)
        self.assertIn("protocol.mainnet-shape.json", error)
        error = self.fails("makechain", "--shape", "mainnet", "--config", SHAPE_PROTOCOL,
                           "--keys", KEYS, "--blocks", "5", str(path))
        self.assertIn("not the standby validators", error)
        error = self.fails("makechain", "--shape", "mainnet", "--config", SHAPE_PROTOCOL,
                           "--keys", SHAPE_KEYS, "--blocks", "5", "--txs-per-block", "3",
                           str(path))
        self.assertIn("--txs-per-block", error)
        error = self.fails("makechain", "--shape", "mainnet", "--config", SHAPE_PROTOCOL,
                           "--keys", SHAPE_KEYS, "--blocks", "5", "--elect", KEYS,
                           "--elect-at", "3", str(path))
        self.assertIn("--elect", error)
        self.assertFalse(path.exists())

    def test_uniform_unchanged(self) -> None:
        """
        C{--shape uniform} (the default) still puts 5 transfers in every block when
        C{--txs-per-block} is not given: the same bytes as asking for 5.
        """
        files = self.files_dir()
        options = ("--config", PRIVNET, "--keys", KEYS, "--blocks", "20", "--seed", "1")
        self.ok("makechain", *options, str(files / "default.acc"))
        self.ok("makechain", "--shape", "uniform", *options, "--txs-per-block", "5",
                str(files / "five.acc"))
        self.assertEqual((files / "default.acc").read_bytes(), (files / "five.acc").read_bytes())
        blocks = [record.block() for record in read_chain_records(files / "default.acc")[1]]
        self.assertEqual({len(block.transactions) for block in blocks[1:]}, {6})
