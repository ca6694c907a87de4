"""
Decode-and-hash throughput of transactions and blocks, on one core.

Every measurement decodes from bytes and takes each transaction's hash, which is
what a node does for every C{tx} and C{block} message it receives. Each one is
repeated (7 times by default) and the median reported, next to the cost of
Hash256 alone over the same bytes, so the share spent on parsing is visible.

Usage::

    python bench/bench_decode.py            # print the table
    python bench/bench_decode.py --write    # also rewrite its section of BENCHMARKS.md
    python bench/bench_decode.py --profile  # where the time of one transaction goes

Standard library and L{neo_twisted} only.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from neo_twisted.core import (
    GAS_ASSET_ID,
    NEO_ASSET_ID,
    Block,
    CoinReference,
    ContractTransaction,
    Header,
    MinerTransaction,
    Transaction,
    TransactionOutput,
    TransactionType,
    Witness,
    merkle_root,
)
from neo_twisted.crypto.hashes import hash256
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.wire.uint import UInt160, UInt256

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # bench/report.py, next to this script

#: The repository's conformance vectors (C{$NEO_VECTORS} or --vectors override).
DEFAULT_VECTORS = Path(__file__).resolve().parents[1] / "tests" / "data" / "vectors"
COMMAND = "make bench"
#: ContractTransactions per second, decoded and hashed on one core.
TARGET = 40_000
#: Transactions per timed pass in the per-transaction measurements.
TX_PASS = 20_000


class Result:
    """
    One measured row: C{items} handled per pass, in a median of C{seconds} per pass.

    @ivar baseline: the Hash256-only row over the same transaction bytes, if any.
    """

    def __init__(self, name: str, unit: str, items: int, seconds: float,
                 per_pass: int = 1, per_pass_unit: str = "",
                 baseline: Result | None = None) -> None:
        self.name = name
        self.unit = unit
        self.items = items
        self.seconds = seconds
        self.per_pass = per_pass
        self.per_pass_unit = per_pass_unit
        self.baseline = baseline

    @property
    def rate(self) -> float:
        return self.items / self.seconds


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    """
    The median wall time of C{repeat} calls of C{run}, after one untimed warm-up call.
    """
    run()
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# -- inputs -------------------------------------------------------------------------------


def load(vectors: Path, name: str) -> list[dict[str, object]]:
    with open(vectors / name, encoding="utf-8") as f:
        records: list[dict[str, object]] = json.load(f)
    return records


def typical(tx: Transaction) -> bool:
    """
    A transfer as wallets make them: inputs, outputs and a signature.
    """
    return (TransactionType.ContractTransaction == tx.TYPE and bool(tx.inputs)
            and bool(tx.outputs) and bool(tx.witnesses))


def real_contract_transactions(vectors: Path) -> list[bytes]:
    """
    Every typical ContractTransaction in the vectors, alone or inside blocks.
    """
    found: dict[bytes, bytes] = {}
    for record in load(vectors, "transactions.json"):
        if record.get("unsigned_only"):
            continue
        tx = Transaction.from_bytes(bytes.fromhex(str(record["hex"])))
        if typical(tx):
            found[tx.hash] = tx.to_bytes()
    for record in load(vectors, "blocks.json"):
        for tx in Block.from_bytes(bytes.fromhex(str(record["hex"]))).transactions:
            if typical(tx):
                found[tx.hash] = tx.to_bytes()
    return list(found.values())


def largest_block(vectors: Path) -> bytes:
    return max((bytes.fromhex(str(r["hex"])) for r in load(vectors, "blocks.json")), key=len)


def synthetic_contract_transactions(count: int, seed: int = 2) -> list[ContractTransaction]:
    """
    Realistic transfers: 1-2 inputs, 2 outputs (payment and change), one single-signature
    witness (a 65-byte invocation, a 35-byte verification script), signed for real.
    """
    rng = random.Random(seed)
    key = KeyPair(rng.randbytes(31).rjust(32, b"\x01"))
    verification = key.verification_script
    txs = []
    for _ in range(count):
        asset = rng.choice((NEO_ASSET_ID, GAS_ASSET_ID))
        unsigned = ContractTransaction(
            inputs=tuple(CoinReference(UInt256(rng.randbytes(32)), rng.randrange(4))
                         for _ in range(rng.choice((1, 2)))),
            outputs=(TransactionOutput(asset, rng.randrange(1, 10**10), UInt160(rng.randbytes(20))),
                     TransactionOutput(asset, rng.randrange(1, 10**10), key.script_hash)))
        signature = key.sign(unsigned.unsigned_bytes())
        txs.append(ContractTransaction(
            inputs=unsigned.inputs, outputs=unsigned.outputs,
            witnesses=(Witness(b"\x40" + signature, verification),)))
    return txs


def synthetic_block(transactions: list[ContractTransaction], seed: int = 3) -> bytes:
    """
    A valid block: a MinerTransaction, then C{transactions}, under their merkle root.
    """
    rng = random.Random(seed)
    miner = MinerTransaction(nonce=rng.randrange(2**32))
    txs: tuple[Transaction, ...] = (miner, *transactions)
    header = Header(
        prev_hash=UInt256(rng.randbytes(32)),
        merkle_root=merkle_root([tx.hash for tx in txs]), timestamp=1_500_000_000,
        index=1_000_000, consensus_data=rng.randrange(2**64),
        next_consensus=UInt160(rng.randbytes(20)),
        witness=Witness(b"".join(b"\x40" + rng.randbytes(64) for _ in range(5)),
                        rng.randbytes(7 * 34 + 3)))
    block = Block(header, txs)
    data = block.to_bytes()
    assert Block.from_bytes(data) == block
    return data


# -- measurements -------------------------------------------------------------------------


def decode_transactions(corpus: list[bytes]) -> Callable[[], object]:
    def run() -> object:
        from_bytes = Transaction.from_bytes
        return [from_bytes(raw).hash for raw in corpus]
    return run


def hash_only(corpus: list[bytes]) -> Callable[[], object]:
    def run() -> object:
        return [hash256(raw) for raw in corpus]
    return run


def decode_blocks(data: bytes, times: int) -> Callable[[], object]:
    """
    C{Block.from_bytes} C{times} over; it hashes every transaction and checks the merkle root.
    """
    def run() -> object:
        for _ in range(times):
            block = Block.from_bytes(data)
            hashes = [tx.hash for tx in block.transactions]
        return hashes
    return run


def cycle(corpus: list[bytes], count: int) -> list[bytes]:
    return [corpus[i % len(corpus)] for i in range(count)]


def measure(vectors: Path | None, repeat: int, progress: Callable[[str], None]) -> list[Result]:
    """
    Every row of the table: the decoding rows first, then their Hash256 baselines.
    """
    rows: list[Result] = []
    baselines: list[Result] = []

    def baseline(name: str, corpus: list[bytes]) -> Result:
        result = Result(f"baseline: Hash256 alone of {name}", "hash", len(corpus),
                        median_seconds(hash_only(corpus), repeat))
        baselines.append(result)
        return result

    if vectors is not None:
        real = real_contract_transactions(vectors)
        progress(f"real ContractTransactions ({len(real)} distinct)")
        corpus = cycle(real, TX_PASS)
        rows.append(Result(
            f"ContractTransaction decode + hash, real ({len(real)} distinct from the vectors, "
            f"avg {sum(map(len, real)) // len(real)} B)", "tx", TX_PASS,
            median_seconds(decode_transactions(corpus), repeat),
            baseline=baseline("the real tx bytes", corpus)))

    progress("synthetic ContractTransactions")
    synthetic = synthetic_contract_transactions(2000)
    corpus = cycle([tx.to_bytes() for tx in synthetic], TX_PASS)
    synthetic_baseline = baseline("the synthetic tx bytes", corpus)
    rows.append(Result(
        "ContractTransaction decode + hash, synthetic "
        f"(1-2 in, 2 out, 1 sig, avg {sum(map(len, corpus)) // len(corpus)} B)",
        "tx", TX_PASS, median_seconds(decode_transactions(corpus), repeat),
        baseline=synthetic_baseline))

    progress("500-transaction block")
    block = synthetic_block(synthetic[:499])
    times = 20
    rows.append(Result(
        f"Block.from_bytes, 500 txs ({len(block) // 1024} KiB, synthetic)", "tx", 500 * times,
        median_seconds(decode_blocks(block, times), repeat), times, "block",
        baseline=synthetic_baseline))

    if vectors is not None:
        progress("17,221-transaction testnet block")
        big = largest_block(vectors)
        txs = [tx.to_bytes() for tx in Block.from_bytes(big).transactions]
        rows.append(Result(
            f"Block.from_bytes, testnet block ({len(txs):,} txs, {len(big) // 1024} KiB, real)",
            "tx", len(txs), median_seconds(decode_blocks(big, 1), repeat), 1, "block",
            baseline=baseline("the testnet block's tx bytes", txs)))
    return rows + baselines


def profile(top: int = 20) -> None:
    """
    Print cProfile's busiest functions while decoding and hashing the synthetic transfers.
    """
    corpus = [tx.to_bytes() for tx in synthetic_contract_transactions(2000)] * 5
    profiler = cProfile.Profile()
    profiler.runcall(decode_transactions(corpus))
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


# -- report -------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    lines = [
        "| measurement | per pass | median pass | throughput | vs Hash256 alone |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        per_pass = f"{r.items:,} {r.unit}"
        throughput = f"{r.rate:,.0f} {r.unit}/s"
        if r.per_pass_unit:
            per_pass = f"{r.per_pass} {r.per_pass_unit} x {r.items // r.per_pass:,} tx"
            throughput = f"{r.per_pass / r.seconds:,.1f} {r.per_pass_unit}/s, " + throughput
        ratio = f"{r.baseline.rate / r.rate:.1f}x slower" if r.baseline else "-"
        lines.append(f"| {r.name} | {per_pass} | {r.seconds * 1000:,.1f} ms | {throughput} "
                     f"| {ratio} |")
    return "\n".join(lines)


def verdict(results: list[Result]) -> str:
    rates = [r.rate for r in results if r.name.startswith("ContractTransaction")]
    worst = min(rates)
    met = "met" if worst >= TARGET else "NOT met"
    return (f"**Target: >= {TARGET:,} ContractTransactions/s decoded and hashed on one core: "
            f"{met}** (slowest ContractTransaction row: {worst:,.0f} tx/s).")


def report_section(results: list[Result], repeat: int) -> str:
    return f"""## Decode and hash

Decode-and-hash throughput of `neo_twisted` (`bench/bench_decode.py --write`).

- Date: {report.now()}
- Machine: {report.machine()} (the benchmark runs in one thread, so it uses one core)
- Command: `{COMMAND}` (runs `.venv/bin/python bench/bench_decode.py --write`)
- Method: `time.perf_counter`, median of {repeat} timed passes after one warm-up pass, garbage
  collector enabled (collected before each pass).

{verdict(results)}

{table(results)}

What each row does:

- *ContractTransaction decode + hash*: `Transaction.from_bytes(raw).hash` for each transaction
  of the pass. The hash is Hash256 of the unsigned part, taken from the input bytes while they
  are canonical (re-serialized otherwise). *Real* transactions are every ContractTransaction
  with inputs, outputs and witnesses in `transactions.json` and `blocks.json`. *Synthetic*
  ones have 1-2 inputs, 2 outputs and one real single-signature witness (65 + 35 bytes).
- *Block.from_bytes*: it decodes the header and every transaction, hashes them, checks the
  MinerTransaction rules, looks for duplicates and recomputes the merkle root. The 500-tx
  block is a MinerTransaction plus 499 synthetic transfers. The testnet block is the
  17,221-transaction block 797966 from `blocks.json`. Most of its transactions are
  ContractTransactions with no inputs, outputs or witnesses and a single `f0` remark.
- *baseline*: `hash256(raw)` of each whole transaction, with no parsing. The last column
  compares a row with the baseline over the same transaction bytes: for the 500-tx block, the
  synthetic transfers.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help="rewrite this script's section of BENCHMARKS.md")
    parser.add_argument("--profile", action="store_true",
                        help="profile the transaction decode path instead of timing it")
    parser.add_argument("--repeat", type=int, default=7, help="timed passes per measurement")
    parser.add_argument("--vectors", type=Path,
                        default=Path(os.environ.get("NEO_VECTORS", DEFAULT_VECTORS)),
                        help="directory of the conformance vectors (real transactions)")
    args = parser.parse_args(argv)
    if args.profile:
        profile()
        return 0
    vectors: Path | None = args.vectors
    if vectors is not None and not (vectors / "blocks.json").exists():
        print(f"no vectors in {vectors}: real-data rows skipped", file=sys.stderr)
        vectors = None

    results = measure(vectors, args.repeat, lambda text: print(f"... {text}", file=sys.stderr))
    print(table(results))
    print()
    print(verdict(results))
    if args.write:
        report.write_section("bench_decode", report_section(results, args.repeat))
        print(f"wrote its section of {report.PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
