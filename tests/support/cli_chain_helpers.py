"""
Shared pieces of the tests of the chain commands of C{neonode} (L{neo_twisted.cli.chain}):
the bundled configs and keys, an in-process runner, the shared generated chain and its
reference import (made once per test process), and a test case with command helpers.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.cli import main
from tests.support.store_compare import StoreDump, dump_store, store_differences

ROOT = Path(__file__).resolve().parents[2]
PRIVNET = str(ROOT / "protocol.json")
MAINNET = str(ROOT / "protocol.mainnet.json")
TESTNET = str(ROOT / "protocol.testnet.json")
KEYS = str(ROOT / "devkeys" / "privnet.json")
PRIVNET_GENESIS = "0x996e37358dc369912041f966f8c5d8d3a8255ba5dcbd3447f8a82b55db869099"
MAINNET_GENESIS = "0xd42561e3d30e15be6400b6df2f328e02d2bf6354c41dce433bc57687c82144bf"
TESTNET_GENESIS = "0xb3181718ef6167105b70920e4a8fbbd0a0a56aacf460d70e10ba6fa1668f1fef"
PRIVNET_MAGIC = 56753
#: The shared chain: blocks after genesis, transfers per block, seed.
BLOCKS, TXS, SEED = 300, 3, 7

_cache: dict[str, Any] = {}


def run(*argv: str) -> tuple[int, str, str]:
    """Run C{neonode argv} in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def _workdir() -> Path:
    if "dir" not in _cache:
        # removed by the object's finalizer when the test process exits
        _cache["dir"] = tempfile.TemporaryDirectory(prefix="neonode-cli-chain-")
    return Path(_cache["dir"].name)


def chain_file() -> Path:
    """The shared C{chain.acc} (genesis and L{BLOCKS} blocks), made once per test run."""
    path = _workdir() / "made" / "chain.acc"
    if not path.exists():
        path.parent.mkdir()
        status, _, err = run("makechain", "--config", PRIVNET, "--keys", KEYS, "--blocks",
                             str(BLOCKS), "--txs-per-block", str(TXS), "--seed", str(SEED),
                             str(path))
        assert status == 0, err
    return path


def reference() -> Path:
    """The data directory of a clean import of L{chain_file}; only read, never written."""
    datadir = _workdir() / "reference"
    if "reference" not in _cache:
        status, _, err = run("import", "--datadir", str(datadir), "--config", PRIVNET,
                             str(chain_file()))
        assert status == 0, err
        _cache["reference"] = dump_store(datadir)
    return datadir


def reference_dump() -> StoreDump:
    """The store contents of L{reference}."""
    reference()
    dump: StoreDump = _cache["reference"]
    return dump


class ChainCommandCase(SynchronousTestCase):
    """Helpers to run the commands and to check their outcome."""

    def ok(self, *argv: str) -> str:
        """Run a command that must succeed silently on stderr; its output."""
        status, out, err = run(*argv)
        self.assertEqual((status, err), (0, ""), f"neonode {' '.join(argv)}")
        return out

    def fails(self, *argv: str) -> str:
        """Run a command that must fail with one error line and no output; the line."""
        status, out, err = run(*argv)
        self.assertEqual((status, out), (1, ""))
        self.assertTrue(err.startswith("neonode: error: "), err)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertNotIn("Traceback", err)
        return err

    def import_(self, datadir: Path | str, *files: Path | str) -> Any:
        return json.loads(self.ok("import", "--datadir", str(datadir), "--config", PRIVNET,
                                  *map(str, files)))

    def info(self, datadir: Path | str) -> Any:
        return json.loads(self.ok("info", "--datadir", str(datadir)))

    def export(self, datadir: Path | str, file: Path, *options: str) -> Any:
        return json.loads(self.ok("export", "--datadir", str(datadir), "--config", PRIVNET,
                                  *options, str(file)))

    def imported(self) -> Path:
        """A fresh data directory holding the whole shared chain."""
        datadir = Path(self.mktemp())
        self.import_(datadir, chain_file())
        return datadir

    def assert_same_store(self, datadir: Path | str, expected: StoreDump | None = None) -> None:
        expected = reference_dump() if expected is None else expected
        self.assertEqual(store_differences(dump_store(datadir), expected), [])

    def assert_checks(self, datadir: Path | str) -> None:
        out = self.ok("check", "--datadir", str(datadir), "--config", PRIVNET)
        self.assertTrue(out.startswith("ok: "), out)

    def files_dir(self) -> Path:
        path = Path(self.mktemp())
        path.mkdir()
        return path
