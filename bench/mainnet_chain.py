"""
The mainnet-shaped chains of bench_mainnet.py: made once and cached, and imported into
a node's data directory.

Standard library and L{neo_twisted} only.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import attrs
import bench_import  # bench/bench_import.py, next to this module
from bench_import import Import
from common import CACHE, environment, neonode  # bench/common.py
from report import ROOT  # bench/report.py

import neo_twisted
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.settings import load_protocol

PROTOCOL = ROOT / "devkeys" / "protocol.mainnet-shape.json"
KEYS = ROOT / "devkeys" / "mainnet-shape.json"
#: What the chains are made from: a change to any of these makes new ones.
CHAIN_SOURCES = (PROTOCOL, KEYS, *(ROOT / "neo_twisted" / "ledger" / name for name in (
    "generator.py", "generator_shape.py", "genesis.py")))
#: The node's options for the shape's network: twistd takes the last C{--config}, so this
#: wins over the privnet file nodes.py names first.
NETWORK = ("--config", str(PROTOCOL))


@attrs.frozen
class Chain:
    """
    A cached chain file, and what making it cost (C{neonode makechain}, start-up included).
    """

    path: Path
    blocks: int
    transactions: int  # genesis's included
    make_seconds: float

    @property
    def size(self) -> int:
        return self.path.stat().st_size


# -- chains and imports -------------------------------------------------------------------


def chain_directory(blocks: int, seed: int) -> Path:
    """
    Where the chain of C{blocks} and C{seed} is cached: named by its parameters and a
    digest of what makes it.
    """
    digest = hashlib.sha256(f"{neo_twisted.__version__} mainnet {blocks} {seed}".encode())
    for source in CHAIN_SOURCES:
        digest.update(source.read_bytes())
    return CACHE / f"mainnet-{blocks}b-seed{seed}-{digest.hexdigest()[:12]}"


def is_cached(blocks: int, seed: int) -> bool:
    return (chain_directory(blocks, seed) / "made.json").exists()


def chain_file(blocks: int, seed: int, progress: Callable[[str], None]) -> Chain:
    """
    The cached mainnet-shaped chain of C{blocks} blocks after genesis, made first if need be.

    C{made.json} beside it, written last, says what making it took and how many
    transactions it holds; a chain without it is made again.
    """
    directory = chain_directory(blocks, seed)
    path, made = directory / "chain.acc", directory / "made.json"
    if path.exists() and made.exists():
        facts = json.loads(made.read_text(encoding="utf-8"))
        return Chain(path, blocks, facts["transactions"], facts["seconds"])
    directory.mkdir(parents=True, exist_ok=True)
    progress(f"making a {blocks:,}-block mainnet-shaped chain (once; cached in {directory})")
    started = time.perf_counter()
    output = subprocess.run(neonode("makechain", "--shape", "mainnet", "--config", PROTOCOL,
                                    "--keys", KEYS, "--blocks", blocks, "--seed", seed, path),
                            check=True, stdout=subprocess.PIPE, env=environment()).stdout
    seconds = time.perf_counter() - started
    transactions = json.loads(output)["transactions"]
    made.write_text(json.dumps({"seconds": seconds, "transactions": transactions}) + "\n",
                    encoding="utf-8")
    progress(f"  made in {seconds:.1f} s ({blocks / seconds:,.0f} blocks/s)")
    return Chain(path, blocks, transactions, seconds)


def run_import(chain: Chain, datadir: Path) -> Import:
    """
    C{neonode import} of C{chain} into the new directory C{datadir} (the caller's to remove).
    """
    return bench_import.run_import(chain.path, chain.blocks, 0, datadir, config=PROTOCOL,
                                   transactions=chain.transactions)


def tip_hash(datadir: Path, height: int) -> str:
    """
    The hash of block C{height} in a stopped node's store, for C{--assume-valid}.
    """
    ledger = Ledger.open(datadir, load_protocol(PROTOCOL), create=False, drop_provisional=False)
    try:
        header = ledger.get_header(height)
        if header is None:
            raise RuntimeError(f"{datadir} holds no block {height}")
        return str(header.hash)
    finally:
        ledger.close()
