"""
Tests for the fuzzing harness (L{fuzz}): every registered target accepts its seeds and
rejects garbage cleanly, the registry covers every parser it should, and the runner's
hypothesis engine saves what crashes. So the harness cannot rot between C{make fuzz} runs.
"""

from __future__ import annotations

import io
import json
import random
from contextlib import redirect_stdout
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from fuzz import engines, run
from fuzz.registry import CheckError, Target
from fuzz.rpc import get, harness, post, post_request
from fuzz.targets import TARGETS, frames, model_frames, random_splits
from neo_twisted.core import TransactionType
from neo_twisted.network.frame import encode_frame
from neo_twisted.network.payloads import PAYLOAD_READERS
from neo_twisted.wire.errors import FormatError
from tests.support.samples import MAINNET_CONTRACT_TX, MAINNET_MAGIC, TESTNET_MAGIC

#: Seeds per target the tests run (the longest are the slowest and the least useful here).
SEEDS_PER_TARGET = 4


def garbage(data: bytes) -> list[bytes]:
    """
    Damaged forms of C{data}: truncated, a byte flipped, doubled; and fixed noise.
    """
    rng = random.Random(len(data))
    damaged = [data[:len(data) // 2], data + data, data[:-1] + b"\xff"]
    if data:
        flipped = bytearray(data)
        flipped[rng.randrange(len(data))] ^= 0x5A
        damaged.append(bytes(flipped))
    noise = [b"", b"\x00", b"\xff" * 64, b"[" * 2000, b"{\"a\":" * 50,
             bytes(rng.randrange(256) for _ in range(300))]
    return damaged + noise


def short_seeds(target: Target) -> list[bytes]:
    return sorted(target.seeds(), key=len)[:SEEDS_PER_TARGET]


class RegistryTests(SynchronousTestCase):
    def test_every_parser_registered(self) -> None:
        """
        Every payload command, every transaction type and every structure has a target, as
        do the RPC server, the command line and the files a node reads.
        """
        expected = {f"payload.{command}" for command in PAYLOAD_READERS}
        expected |= {f"tx.{kind.name}" for kind in TransactionType}
        expected |= {"frame", "transaction", "block", "header", "consensus_payload",
                     "consensus_message", "rpc.post", "rpc.get", "protocol.json", "peers.dat",
                     "cli.decode.tx", "cli.decode.message", "vm.execute"}
        self.assertEqual(expected - set(TARGETS), set())

    def test_names(self) -> None:
        for name, target in TARGETS.items():
            self.assertEqual(target.name, name)
            self.assertTrue(all(issubclass(e, BaseException) for e in target.allowed), name)

    def test_wire_targets_have_seeds(self) -> None:
        """
        Where the vectors hold real encodings, the fuzzers start from them.
        """
        for name in ("frame", "transaction", "block", "header", "payload.tx", "payload.block",
                     "payload.headers", "rpc.post", "rpc.get", "protocol.json", "address"):
            self.assertTrue(list(TARGETS[name].seeds()), name)
        for kind in TransactionType:
            self.assertTrue(list(TARGETS[f"tx.{kind.name}"].seeds()), kind.name)


class TargetTests(SynchronousTestCase):
    def test_seeds_and_garbage(self) -> None:
        """
        Each target takes a few of its seeds and their damaged forms without a crash.
        """
        for name, target in TARGETS.items():
            for seed in short_seeds(target) or [b"\x00" * 40]:
                for data in [seed, *garbage(seed)]:
                    try:
                        target.check(data)
                    except Exception as e:
                        self.fail(f"{name} crashed on {data[:80].hex()}...: {e!r}")

    def test_seed_decodes(self) -> None:
        """
        The structure seeds are valid: the decoders accept them (so they reach the readers).
        """
        for name in ("transaction", "block", "header", "payload.tx", "payload.headers"):
            target = TARGETS[name]
            for seed in short_seeds(target):
                self.assertIsNotNone(target.run(seed), name)

    def test_allowed_is_enforced(self) -> None:
        """
        A target whose function raises what it does not allow lets the exception out.
        """
        def broken(data: bytes) -> None:
            raise KeyError(data)

        target = Target("broken", broken, (ValueError,), lambda: [])
        self.assertRaises(KeyError, target.check, b"x")
        Target("rejects", lambda data: int("x"), (ValueError,), lambda: []).check(b"")


class FrameTargetTests(SynchronousTestCase):
    STREAM = (encode_frame(MAINNET_MAGIC, "verack")
              + encode_frame(MAINNET_MAGIC, "tx", MAINNET_CONTRACT_TX))

    def test_valid_stream(self) -> None:
        self.assertEqual([f.command for f in frames(self.STREAM)], ["verack", "tx"])

    def test_bad_stream(self) -> None:
        """
        A wrong magic after a good message is a FormatError at the second message.
        """
        bad = self.STREAM[:24] + encode_frame(TESTNET_MAGIC, "verack")
        error = self.assertRaises(FormatError, frames, bad)
        self.assertEqual(error.offset, 24)
        self.assertEqual(model_frames(bad)[1], 24)

    def test_splits_replay(self) -> None:
        """
        The random splits depend on the data alone, so a saved crash replays the same way.
        """
        self.assertEqual(random_splits(self.STREAM), random_splits(self.STREAM))
        self.assertEqual(b"".join(random_splits(self.STREAM)), self.STREAM)


class RpcTargetTests(SynchronousTestCase):
    def test_answers(self) -> None:
        """
        The harness answers with the node's real methods (the genesis block is there).
        """
        rpc = harness()
        request = post_request(
            b'{"jsonrpc":"2.0","method":"getblockcount","params":[],"id":7}')
        self.assertEqual(json.loads(rpc.answer(request)),
                         {"jsonrpc": "2.0", "id": 7, "result": 1})

    def test_internal_error_is_a_crash(self) -> None:
        """
        A method that fails unexpectedly (-32603) is reported, with its traceback.
        """
        rpc = harness()

        def broken(params: list[object]) -> object:
            return 1 // 0

        self.patch(rpc.resource, "methods", {**rpc.resource.methods, "getblockcount": broken})
        error = self.assertRaises(CheckError, post,
                                  b'{"jsonrpc":"2.0","method":"getblockcount","params":[],"id":1}')
        self.assertIn("ZeroDivisionError", str(error))
        self.assertRaises(CheckError, get, b"method=getblockcount&params=[]&id=1")
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 2)


class RunnerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.crashes = Path(self.mktemp())
        self.patch(engines, "CRASH_DIR", self.crashes)

    def test_select(self) -> None:
        self.assertEqual([t.name for t in run.select(["tx.M*", "frame"])],
                         ["frame", "tx.MinerTransaction"])
        self.assertEqual(len(run.select([])), len(TARGETS))
        self.assertRaises(SystemExit, run.select, ["no-such-target"])

    def test_list(self) -> None:
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(run.main(["--list", "payload.*"]), 0)
        self.assertEqual(len(out.getvalue().splitlines()), len(PAYLOAD_READERS))

    def test_hypothesis_clean(self) -> None:
        """
        A short hypothesis run of a sound target: executions counted, nothing saved.
        """
        result = engines.fuzz_with_hypothesis(TARGETS["peers.dat"], 1,
                                              list(TARGETS["peers.dat"].seeds()), batch=50)
        self.assertGreater(result.executions, 0)
        self.assertEqual(result.crashes, ())

    def test_hypothesis_saves_crash(self) -> None:
        """
        A crash is shrunk and saved under crashes/TARGET/.
        """
        def picky(data: bytes) -> None:
            if b"\x07" in data:
                raise CheckError("seven")

        target = Target("picky", picky, (), lambda: [b"\x01\x02\x07"])
        result = engines.fuzz_with_hypothesis(target, 5, [b"\x01\x02\x07"], batch=50)
        self.assertEqual(len(result.crashes), 1)
        saved = result.crashes[0]
        self.assertEqual(saved.parent, self.crashes / "picky")
        self.assertEqual(saved.read_bytes(), b"\x07")
        self.assertIn("CheckError: seven", result.detail)
