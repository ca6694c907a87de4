"""
C{neonode makechain --elect KEYFILE --elect-at HEIGHT}: the chain file it writes,
its refusals, and an import of that chain killed with SIGKILL and resumed.

The kill is placed exactly, without timing: the chain is split into
C{chain.<start>.acc} files, and the last one is a named pipe that the test feeds
only half of, so the import commits every earlier file, reads part of the last
and waits for the rest when it is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.chainacc import read_chain_file, write_chain_file
from neo_twisted.ledger.check import check_store
from neo_twisted.ledger.settings import load_protocol
from neo_twisted.wire.ecpoint import ECPoint
from tests.support.cli_chain_helpers import KEYS, PRIVNET, run
from tests.support.election_chain import (
    BLOCKS,
    ELECT_AT,
    SEED,
    K,
    election_chain,
    five,
)
from tests.support.processes import descendants, running
from tests.support.store_compare import dump_store, store_differences

ROOT = Path(__file__).resolve().parents[2]
CANDIDATE = str(ROOT / "devkeys" / "privnet-candidate.wif")
STANDBY_KEY = str(ROOT / "devkeys" / "privnet-validator-1.wif")
NEONODE = [sys.executable, "-m", "neo_twisted.cli"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
#: Upper bound for any one child process or wait, whatever the machine's load.
TIMEOUT = 120.0


def makechain(path: Path, *options: str) -> tuple[int, str, str]:
    return run("makechain", "--config", PRIVNET, "--keys", KEYS, "--blocks", str(BLOCKS),
               "--txs-per-block", str(K), "--seed", str(SEED), *options, str(path))


def made_chain(directory: Path) -> Path:
    """
    The election chain as C{makechain} writes it, in C{directory} (made here).
    """
    directory.mkdir(parents=True)
    path = directory / "chain.acc"
    status, _, err = makechain(path, "--elect", CANDIDATE, "--elect-at", str(ELECT_AT))
    assert status == 0, err
    return path


def next_validators(datadir: Path) -> tuple[ECPoint, ...]:
    ledger = Ledger.open(datadir, load_protocol(PRIVNET), create=False)
    try:
        return ledger.validators.next_validators
    finally:
        ledger.close()


class MakechainElectTests(SynchronousTestCase):
    """
    The options write the generator's election chain, and refuse what cannot be done.
    """

    def test_writes_the_election(self) -> None:
        """
        The file holds genesis and then exactly the generator's chain with the election.
        """
        path = made_chain(Path(self.mktemp()))
        blocks = [b.to_bytes() for b in read_chain_file(path)[1]]
        self.assertEqual(len(blocks), BLOCKS + 1)
        self.assertEqual(blocks[1:], [b.to_bytes() for b in election_chain()])

    def test_refusals(self) -> None:
        """
        One option without the other, a height outside 3..--blocks, a height too early
        for the GAS, a standby key: a one-line error, and no file.
        """
        directory = Path(self.mktemp())
        directory.mkdir()
        for options, fragment in (
                (["--elect", CANDIDATE], "go together"),
                (["--elect-at", "150"], "go together"),
                (["--elect", CANDIDATE, "--elect-at", str(BLOCKS + 1)], "--elect-at"),
                (["--elect", CANDIDATE, "--elect-at", "2"], "--elect-at"),
                (["--elect", CANDIDATE, "--elect-at", "50"], "can claim only"),
                (["--elect", STANDBY_KEY, "--elect-at", "150"], "standby validator"),
                (["--elect", str(directory / "missing.wif"), "--elect-at", "150"],
                 "cannot read")):
            status, out, err = makechain(directory / "chain.acc", *options)
            self.assertEqual((status, out), (1, ""), options)
            self.assertIn(fragment, err, options)
            self.assertEqual(err.count("\n"), 1, err)
            self.assertEqual(list(directory.iterdir()), [], options)


class KilledImportTests(SynchronousTestCase):
    """
    An import of the election chain killed with SIGKILL leaves a whole store, with
    the validators of its height, and resumes to the store of a clean import.
    """

    def split(self, chain: Path, directory: Path, stop: int) -> tuple[list[Path], bytes]:
        """
        Blocks 1..C{stop} as two regular chain files in C{directory}; the rest as the
        bytes of the file C{chain.<stop + 1>.acc}, whose path is returned last.
        """
        directory.mkdir()
        blocks = list(read_chain_file(chain)[1])
        pieces = [(1, stop // 2), (stop // 2 + 1, stop), (stop + 1, BLOCKS)]
        paths = [directory / f"chain.{start}.acc" for start, _ in pieces]
        for path, (start, end) in zip(paths, pieces, strict=True):
            write_chain_file(path, blocks[start:end + 1], start)
        rest = paths[-1].read_bytes()
        paths[-1].unlink()
        return paths, rest

    def import_killed(self, datadir: Path, paths: list[Path], rest: bytes) -> None:
        """
        Import C{paths}, the last a named pipe fed half of C{rest}; SIGKILL the import
        while it waits for the other half.
        """
        fifo = paths[-1]
        os.mkfifo(fifo)
        with open(f"{datadir}.stderr", "wb") as stderr:
            proc = subprocess.Popen(
                [*NEONODE, "import", "--datadir", str(datadir), "--config", PRIVNET,
                 *map(str, paths)], stdout=subprocess.DEVNULL, stderr=stderr, env=ENV)

        def reap() -> None:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=TIMEOUT)
        self.addCleanup(reap)
        deadline = time.monotonic() + TIMEOUT
        while True:  # the pipe opens once the import reaches it: every file before is in
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:  # ENXIO: no reader yet
                self.assertIsNone(proc.poll(), Path(f"{datadir}.stderr").read_text())
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.01)  # a real process starting: nothing to fake
        try:
            os.set_blocking(fd, True)
            os.write(fd, rest[:len(rest) // 2])
            workers = descendants(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=TIMEOUT)
        finally:
            os.close(fd)
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        while running(workers) and time.monotonic() < deadline:
            time.sleep(0.05)  # real processes exiting: nothing to fake
        self.assertEqual(running(workers), set())
        fifo.unlink()

    def kill_and_resume(self, stop: int) -> None:
        chain = made_chain(Path(self.mktemp()).resolve())
        settings = load_protocol(PRIVNET)
        reference = chain.parent / "reference"
        status, _, err = run("import", "--datadir", str(reference), "--config", PRIVNET,
                             str(chain))
        self.assertEqual((status, err), (0, ""))
        paths, rest = self.split(chain, chain.parent / "files", stop)
        datadir = chain.parent / "killed"
        self.import_killed(datadir, paths, rest)

        status, out, err = run("info", "--datadir", str(datadir))
        self.assertEqual(status, 0, err)
        info = json.loads(out)
        self.assertEqual((info["header_height"], info["block_height"]), (stop, stop))
        self.assertEqual(check_store(datadir, settings), [])
        left = next_validators(datadir)
        self.assertEqual(left, five() if stop >= ELECT_AT
                         else tuple(sorted(settings.standby_validators)))

        paths[-1].write_bytes(rest)
        status, out, err = run("import", "--datadir", str(datadir), "--config", PRIVNET,
                               *map(str, paths))
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(json.loads(out)["imported"], BLOCKS - stop)
        self.assertEqual(check_store(datadir, settings), [])
        self.assertEqual(next_validators(datadir), five())
        self.assertEqual(next_validators(datadir), next_validators(reference))
        self.assertEqual(store_differences(dump_store(datadir), dump_store(reference)), [])

    def test_killed_before_the_vote(self) -> None:
        """
        Killed with the candidate registered but not voted for: the standby validators
        are next; the resumed import elects the candidate.
        """
        self.kill_and_resume(ELECT_AT - 1)

    def test_killed_after_the_vote(self) -> None:
        """
        Killed after the vote: the five are next, and stay so once resumed.
        """
        self.kill_and_resume(ELECT_AT + 20)
