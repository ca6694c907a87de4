# -*- test-case-name: tests.test_cli_localnet -*-
"""
C{neonode localnet}: a local network of C{twistd neonode} processes that syncs
and makes new blocks.

The first node gets a generated chain of the bundled privnet (made once and kept
in the run directory); the others start empty a moment later, find their peers
through the protocol file's seeds (each node listens on one seed's port) and
C{getaddr}, and catch up by header and block sync. Node I runs consensus with
the I-th development key of C{--keys} (written to its data directory as
C{validator.wif}), so once three of the four validators hold the chain, a block
follows every SecondsPerBlock; nodes beyond the validators only relay. A table
of every node's heights is printed each second until Ctrl-C (or, with
C{--until-synced}, until all hold the same chain); then every node is stopped
with SIGTERM. Data directories are kept: a second run resumes from them.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import attrs

from neo_twisted.cli.errors import CommandError
from neo_twisted.ledger.check import store_info
from neo_twisted.ledger.generator import load_dev_keys
from neo_twisted.ledger.settings import ConfigError, load_protocol
from neo_twisted.ledger.store import StoreError
from neo_twisted.p2p.interfaces import Endpoint

#: Seconds between two lines of the table.
REFRESH = 1.0
#: Seconds the empty nodes start after the one holding the chain.
STAGGER = 2.0
#: Seconds a node has to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 30.0


@attrs.define
class _Node:
    name: str
    datadir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    last_blocks: int = 0
    key_file: Path | None = None

    def heights(self) -> tuple[int, int] | None:
        try:
            info = store_info(self.datadir)
        except (StoreError, OSError):
            return None
        return int(info["header_height"]), int(info["block_height"])


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        raise CommandError(f"{what} failed: {done.stderr.decode(errors='replace').strip()}")


def _neonode(*args: object) -> list[str]:
    return [sys.executable, "-m", "neo_twisted.cli", *map(str, args)]


def _prepare_chain(args: argparse.Namespace, first: _Node) -> None:
    """
    Give the first node a generated chain, unless its data directory has one already.
    """
    if (first.datadir / "chain").exists():
        return
    chain = args.dir / f"chain-{args.blocks}" / "chain.acc"
    if not chain.exists():
        chain.parent.mkdir(parents=True, exist_ok=True)
        args.stderr.write(f"generating {args.blocks} blocks into {chain}\n")
        _run(_neonode("makechain", "--config", args.config, "--keys", args.keys,
                      "--blocks", args.blocks, "--txs-per-block", 2, "--seed", 1, chain),
             "makechain")
    args.stderr.write(f"importing {chain} into {first.datadir}\n")
    _run(_neonode("import", "--config", args.config, "--datadir", first.datadir, chain), "import")


def _validator_keys(args: argparse.Namespace, nodes: list[_Node], settings: Any) -> None:
    """
    Give node I the I-th development key (the others, if any, only relay).
    """
    try:
        keys = load_dev_keys(args.keys, settings)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    for node, key in zip(nodes, keys, strict=False):
        node.key_file = node.datadir / "validator.wif"
        node.datadir.mkdir(parents=True, exist_ok=True)
        node.key_file.touch(mode=0o600)
        node.key_file.write_text(key.to_wif() + "\n")


def _start(args: argparse.Namespace, node: _Node, seeds: list[str]) -> None:
    log = args.dir / f"{node.name}.log"
    command = [str(Path(sys.executable).with_name("twistd")), "--nodaemon", "--pidfile=",
               f"--logfile={log}", "neonode", "--config", str(args.config),
               "--datadir", str(node.datadir), "--port", str(node.port),
               "--interface", "127.0.0.1", "--min-peers", str(len(seeds) - 1),
               "--max-per-address", str(4 * len(seeds))]
    for seed in seeds:
        command += ["--seed", seed]
    if node.key_file is not None:
        command += ["--validator-key", str(node.key_file)]
    node.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)


def _stop(nodes: list[_Node]) -> None:
    for node in nodes:
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for node in nodes:
        if node.process is None:
            continue
        try:
            node.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()


def _table(nodes: list[_Node], started: float, out: TextIO) -> bool:
    """
    Print one line per node; whether every node holds the first node's whole chain.
    """
    rows = []
    for node in nodes:
        heights = node.heights()
        state = "running" if node.process is not None and node.process.poll() is None \
            else "stopped"
        if heights is None:
            rows.append((node, "-", "-", "-", state))
            continue
        headers, blocks = heights
        rate = (blocks - node.last_blocks) / REFRESH
        node.last_blocks = blocks
        rows.append((node, str(headers), str(blocks), f"{rate:,.0f}", state))
    out.write(f"\n{time.monotonic() - started:6.1f} s  node      port  headers   blocks  "
              f"blocks/s  state    role\n")
    for node, headers_text, blocks_text, rate_text, state in rows:
        role = "relay" if node.key_file is None else "validator"
        out.write(f"         {node.name:<8} {node.port:>5} {headers_text:>8} {blocks_text:>8} "
                  f"{rate_text:>9}  {state:<8} {role}\n")
    out.flush()
    tips = [node.heights() for node in nodes]
    return all(t is not None and t == tips[0] and t[1] > 0 for t in tips)


def _localnet(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    try:
        settings = load_protocol(args.config)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    seeds = ([f"127.0.0.1:{port}" for port in args.ports] if args.ports
             else list(settings.seed_list))
    if len(seeds) < args.nodes:
        raise CommandError(f"{args.nodes} nodes need {args.nodes} seed ports; "
                           f"{args.config} lists {len(seeds)} (or give --ports)")
    args.dir.mkdir(parents=True, exist_ok=True)
    nodes = [_Node(f"node{i + 1}", args.dir / f"node{i + 1}", Endpoint.parse(seeds[i]).port)
             for i in range(args.nodes)]
    _prepare_chain(args, nodes[0])
    if not args.no_consensus:
        _validator_keys(args, nodes, settings)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    for node in nodes:
        node.last_blocks = (node.heights() or (0, 0))[1]
    started = time.monotonic()
    try:
        _start(args, nodes[0], seeds)
        time.sleep(STAGGER)
        for node in nodes[1:]:
            _start(args, node, seeds)
        while True:
            time.sleep(REFRESH)
            synced = _table(nodes, started, stdout)
            if args.until_synced and synced:
                stdout.write("every node holds the whole chain\n")
                return 0
            if args.until_height and all((node.heights() or (0, 0))[1] >= args.until_height
                                         for node in nodes):
                stdout.write(f"every node holds block {args.until_height}\n")
                return 0
            if args.timeout and time.monotonic() - started > args.timeout:
                raise CommandError(f"not synced after {args.timeout} s (logs in {args.dir})")
    except KeyboardInterrupt:
        stdout.write("\nstopping every node\n")
        return 0
    finally:
        _stop(nodes)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the nodes as Ctrl-C does


def _localnet_guarded(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    try:
        return _localnet(args, stdin, stdout)
    except OSError as e:
        raise CommandError(f"localnet: {e}") from None


def _ports(text: str) -> list[int]:
    try:
        ports = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of ports: {text!r}") from None
    if not all(0 < port < 65536 for port in ports):
        raise argparse.ArgumentTypeError(f"a port outside 1..65535 in {text!r}")
    return ports


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "localnet", help="run a local network of nodes that sync (Ctrl-C stops it)")
    parser.add_argument("--config", default="protocol.json", type=Path,
                        help="protocol.json of the network (default: ./protocol.json)")
    parser.add_argument("--keys", default=Path("devkeys/privnet.json"), type=Path,
                        help="the validators' development keys, to generate the chain and "
                             "run consensus")
    parser.add_argument("--dir", default=Path("run"), type=Path,
                        help="where the data directories and logs live (default: ./run)")
    parser.add_argument("--nodes", default=4, type=int, choices=range(2, 9), metavar="N",
                        help="nodes to run, 2 to 8 (default: 4, one per validator)")
    parser.add_argument("--no-consensus", action="store_true",
                        help="run no validator: the nodes only sync the generated chain")
    parser.add_argument("--blocks", default=3000, type=int,
                        help="blocks of the first node's generated chain (default: 3000)")
    parser.add_argument("--ports", type=_ports,
                        help="listening ports, comma-separated (default: the config's seeds)")
    parser.add_argument("--until-synced", action="store_true",
                        help="stop once every node holds the whole chain")
    parser.add_argument("--until-height", type=int, default=0, metavar="N",
                        help="stop once every node holds block N (made by consensus)")
    parser.add_argument("--timeout", type=float, default=0,
                        help="give up after this many seconds (default: never)")
    parser.set_defaults(run=_localnet_guarded)
