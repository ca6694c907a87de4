# -*- test-case-name: tests.unit.test_cli_chain,tests.unit.test_cli_chain_errors,tests.unit.test_cli_shape -*-  # noqa: E501
"""
The chain commands: C{genesis}, C{import}, C{export}, C{makechain}, C{check}, C{info}.

They work on a data directory directly, without a reactor: an operator runs them
with the node stopped (C{info} also works while it runs). Import verifies every
block witness, as sync does, in one verifier process per core; the witnesses of
the next batch are checked while the current one is written.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from neo_twisted.cli.errors import CommandError
from neo_twisted.collector import few_collections
from neo_twisted.consensus.keyfile import load_validator_key
from neo_twisted.core.block import Block, Header
from neo_twisted.core.jsonify import block_json
from neo_twisted.ledger.chain import Ledger, Verdict
from neo_twisted.ledger.chainacc import (
    ChainFileError,
    ChainReader,
    ChainWriter,
    order_chain_files,
    parse_chain_file_name,
    write_chain_file,
)
from neo_twisted.ledger.chainnames import is_named
from neo_twisted.ledger.check import check_store, store_info
from neo_twisted.ledger.generator import generate_chain, load_dev_keys
from neo_twisted.ledger.generator_shape import generate_mainnet_shape
from neo_twisted.ledger.generator_votes import ElectionPlan
from neo_twisted.ledger.genesis import genesis_block
from neo_twisted.ledger.settings import ConfigError, ProtocolSettings, UnknownKey
from neo_twisted.ledger.store import StoreError
from neo_twisted.ledger.verify import ProcessMapper, witness_job
from neo_twisted.networks import DEFAULT_NETWORK, NETWORKS
from neo_twisted.node.network import choose_network

if TYPE_CHECKING:
    from neo_twisted.cli.errors import Subcommands

#: Blocks per write transaction (and per verification batch) when importing.
IMPORT_BATCH = 1000
_FAILURES = (ConfigError, StoreError, ChainFileError, OSError)
#: C{makechain --shape}: its default C{--keys}, and C{--config} (None: C{--network}'s).
SHAPES: dict[str, tuple[Path, Path | None]] = {
    "uniform": (Path("devkeys/privnet.json"), None),
    "mainnet": (Path("devkeys/mainnet-shape.json"), Path("devkeys/protocol.mainnet-shape.json")),
}
#: C{--txs-per-block} of the uniform shape when not given.
DEFAULT_TXS_PER_BLOCK = 5


def _settings(args: argparse.Namespace) -> ProtocolSettings:
    """
    The network of C{--network} and C{--config}, as C{twistd neonode} reads them;
    unknown keys are warned of on standard error.
    """
    def warn(unknown: UnknownKey) -> None:
        args.stderr.write(f"neonode: warning: {unknown}\n")

    config = None if args.config is None else str(args.config)
    return choose_network(args.network, config, warn).settings


def _json(value: object, stdout: TextIO) -> None:
    json.dump(value, stdout, indent=2, ensure_ascii=False)
    stdout.write("\n")


class _Progress:
    """
    A one-line progress display on a terminal; silent when stderr is not one.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty()
        self._started = time.monotonic()
        self._last = 0.0

    def show(self, done: int, height: int, final: bool = False) -> None:
        now = time.monotonic()
        if not self._live or (not final and now - self._last < 0.5):
            return
        self._last = now
        rate = done / max(now - self._started, 1e-9)
        self._stream.write(f"\rimported {done} blocks, height {height} ({rate:,.0f} blocks/s)")
        if final:
            self._stream.write("\n")
        self._stream.flush()


def _genesis(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    settings = _settings(args)
    _json(block_json(genesis_block(settings.standby_validators), settings.address_version,
                     settings.system_fees), stdout)


class _Importer:
    """
    Feeds one chain file to the ledger in batches of L{IMPORT_BATCH} blocks, one write
    transaction each, with the witnesses of each batch checked ahead of its write.

    A batch is decoded, its witness checks handed to the verifier processes, and
    only then is the batch before it added: the checks of one batch run while the
    previous one is written. The ledger still asks for every check itself and
    persists what passes, exactly as when nothing is checked ahead.
    """

    def __init__(self, ledger: Ledger, mapper: ProcessMapper, path: Path,
                 progress: _Progress, done: int) -> None:
        self._ledger = ledger
        self._mapper = mapper
        self._path = path
        self._progress = progress
        self.done = done
        #: The header before the next block to check ahead (None: read it from the store).
        self._previous: Header | None = None
        #: The file's start height, once opened.
        self.start = 0

    def _check_ahead(self, blocks: list[Block]) -> None:
        ledger = self._ledger
        jobs = []
        for block in blocks:
            previous = self._previous
            if previous is None:
                previous = ledger.get_header(block.index - 1)
            if previous is not None and block.index > ledger.header_height:
                jobs.append(witness_job(block.header, previous))
            self._previous = block.header
        self._mapper.prefetch(jobs)

    def _add(self, batch: list[Block]) -> None:
        if not batch:
            return
        ledger = self._ledger
        results = ledger.add_blocks(batch)
        for block, result in zip(batch, results, strict=True):
            if result.verdict is Verdict.INVALID:
                raise CommandError(f"{self._path}: block {block.index} rejected: {result.reason}")
        self.done += len(batch)
        self._progress.show(self.done, ledger.block_height)

    def run(self) -> bool:
        """
        Import the file; False if it starts past the next height (nothing is read then).
        """
        waiting: list[Block] = []  # checked ahead, added once the next batch is read
        batch: list[Block] = []
        try:
            with ChainReader(self._path) as chain:
                self.start = chain.start
                if chain.start > self._ledger.block_height + 1:
                    return False
                for record in chain.records():
                    if record.height <= self._ledger.block_height:
                        continue
                    batch.append(record.block())
                    if len(batch) >= IMPORT_BATCH:
                        self._check_ahead(batch)
                        self._add(waiting)
                        waiting, batch = batch, []
        except ChainFileError:
            # a damaged record: the blocks read before it are imported all the same
            self._add(waiting)
            self._add(batch)
            raise
        self._check_ahead(batch)
        self._add(waiting)
        self._add(batch)
        return True


def _import(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    settings = _settings(args)
    files = order_chain_files(args.files, any_name=True)
    mapper = ProcessMapper(os.cpu_count() or 1)
    try:
        ledger = Ledger.open(args.datadir, settings, mapper)
    except BaseException:
        mapper.shutdown()
        raise
    progress = _Progress(args.stderr)
    done = 0
    started = time.monotonic()
    try:
        with few_collections():
            for info in files:
                if info.start > ledger.block_height + 1:
                    args.stderr.write(f"neonode: stopping before {info.path}: it starts at "
                                      f"{info.start}, after height {ledger.block_height} + 1\n")
                    break
                importer = _Importer(ledger, mapper, info.path, progress, done)
                if not importer.run():  # a file of another name: its start is in its header
                    args.stderr.write(f"neonode: stopping before {info.path}: it starts at "
                                      f"{importer.start}, after height {ledger.block_height} "
                                      "+ 1\n")
                    break
                done = importer.done
        progress.show(done, ledger.block_height, final=True)
        elapsed = time.monotonic() - started
        _json({"imported": done, "block_height": ledger.block_height,
               "header_height": ledger.header_height, "seconds": round(elapsed, 3)}, stdout)
    finally:
        ledger.close()
        mapper.shutdown()


def _export(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    settings = _settings(args)
    ledger = Ledger.open(args.datadir, settings, create=False)
    try:
        start = args.start or 0
        last = ledger.block_height if args.count is None else start + args.count - 1
        if start > ledger.block_height or last > ledger.block_height or last < start:
            raise CommandError(f"blocks {start}..{last} are not all in the store "
                               f"(block height {ledger.block_height})")

        def blocks() -> Iterator[Block]:
            for index in range(start, last + 1):
                block = ledger.get_block(index)
                if block is None:
                    raise StoreError(f"block {index} cannot be read")
                yield block

        # a chain file name decides the layout (a --start it contradicts is an error);
        # another name has the chain.<start>.acc layout with --start, which import reads
        partial = None if is_named(parse_chain_file_name(args.file)) else args.start is not None
        try:
            writer = ChainWriter(args.file, start, count=last - start + 1, partial=partial)
        except ValueError as e:
            raise CommandError(str(e)) from None
        with writer:
            for block in blocks():
                writer.write(block)
        _json({"exported": writer.written, "start": start, "file": str(args.file)}, stdout)
    finally:
        ledger.close()


def _election(args: argparse.Namespace) -> ElectionPlan | None:
    """
    The C{--elect KEYFILE --elect-at HEIGHT} plan, if any.
    """
    if (args.elect is None) != (args.elect_at is None):
        raise CommandError("--elect and --elect-at go together")
    if args.elect is None:
        if args.no_votes:
            raise CommandError("--no-votes goes with --elect and --elect-at")
        return None
    last = args.blocks + 1 if args.no_votes else args.blocks  # no votes: only the steps before
    if not 3 <= args.elect_at <= last:
        raise CommandError(f"--elect-at {args.elect_at}: the votes need a height from 3 (a "
                           f"claim and a registration come before them) to {last}")
    return ElectionPlan(load_validator_key(args.elect), args.elect_at, votes=not args.no_votes)


def _shape_arguments(args: argparse.Namespace) -> None:
    """
    Check the options against C{--shape} and fill in the defaults that follow from it.
    """
    keys, config = SHAPES[args.shape]
    if args.shape == "mainnet":
        if args.txs_per_block is not None:
            raise CommandError("--txs-per-block goes with --shape uniform: the mainnet shape "
                               "draws each block's transfers from the seed")
        if args.elect is not None or args.elect_at is not None or args.no_votes:
            raise CommandError("--elect goes with --shape uniform")
        if args.config is None and args.network is None:
            args.config = config
    elif args.txs_per_block is None:
        args.txs_per_block = DEFAULT_TXS_PER_BLOCK
    if args.keys is None:
        args.keys = keys


def _makechain(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    _shape_arguments(args)
    settings = _settings(args)
    try:
        keys = load_dev_keys(args.keys, settings)
    except ConfigError as e:
        if args.shape != "mainnet":
            raise  # reported by _guarded
        keys_file, config = SHAPES["mainnet"]
        raise CommandError(f"{e} (--shape mainnet: the keys of {keys_file} sign for the "
                           f"network of {config}, paths from the checkout's top directory; "
                           "or give --keys and --config of one network)") from None
    election = _election(args)
    genesis = genesis_block(settings.standby_validators)
    transactions = len(genesis.transactions)
    try:
        if args.shape == "mainnet":
            chain = generate_mainnet_shape(settings, keys, args.blocks, args.seed)
        else:
            chain = generate_chain(settings, keys, args.blocks, args.txs_per_block, args.seed,
                                   election=election)

        def blocks() -> Iterator[Block]:
            nonlocal transactions
            yield genesis
            for block in chain:
                transactions += len(block.transactions)
                yield block

        written = write_chain_file(args.file, blocks(), count=args.blocks + 1)
    except ValueError as e:  # arguments the generator refuses (the file is not written)
        raise CommandError(str(e)) from None
    _json({"file": str(args.file), "blocks": written, "genesis": str(genesis.hash),
           "transactions": transactions}, stdout)


def _check(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    problems = check_store(args.datadir, _settings(args))
    for problem in problems:
        stdout.write(f"problem: {problem}\n")
    if not problems:
        info = store_info(args.datadir)
        stdout.write(f"ok: {info['header_height']} headers and {info['block_height']} blocks "
                     "after genesis, state equal to a replay of the blocks\n")
    return 1 if problems else 0


def _info(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    _json(store_info(args.datadir), stdout)


def _guarded(run: Callable[[argparse.Namespace, TextIO, TextIO], int | None]
             ) -> Callable[[argparse.Namespace, TextIO, TextIO], int | None]:
    """
    Turn the expected failures (bad config, foreign store, damaged file) into one-line errors.
    """
    def guarded(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int | None:
        try:
            return run(args, stdin, stdout)
        except BrokenPipeError:
            raise
        except _FAILURES as e:
            raise CommandError(str(e)) from None
    return guarded


def add_parsers(commands: Subcommands) -> None:
    def command(name: str, help_: str, run: Callable[..., int | None],
                datadir: bool = True, config: bool = True) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help_)
        if config:
            parser.add_argument("--network", choices=sorted(NETWORKS),
                                help=f"a bundled network (default: {DEFAULT_NETWORK}, or "
                                "the one of --config)")
            parser.add_argument("--config", type=Path,
                                help="a protocol.json of your own (it wins over --network's, "
                                "whose magic it must have)")
        if datadir:
            parser.add_argument("--datadir", required=True, type=Path,
                                help="the node's data directory")
        parser.set_defaults(run=_guarded(run))
        return parser

    command("genesis", "print the genesis block of a network as JSON", _genesis, datadir=False)
    imp = command("import", "import chain files: chain.acc, chain.<start>.acc, zipped or "
                  "not, or any name (the layout read from the file)", _import)
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    exp = command("export", "export blocks to a chain.acc or chain.<start>.acc file (another "
                  "name: the latter layout with --start)", _export)
    exp.add_argument("file", type=Path, metavar="FILE")
    exp.add_argument("--start", type=int, help="first height (writes the chain.<start> layout)")
    exp.add_argument("--count", type=int, help="number of blocks (default: up to the tip)")
    make = command("makechain", "write a deterministic valid chain for the config's validators",
                   _makechain, datadir=False)
    make.add_argument("file", type=Path, metavar="FILE")
    make.add_argument("--blocks", type=int, required=True, help="blocks after genesis")
    make.add_argument("--shape", choices=sorted(SHAPES), default="uniform",
                      help="uniform: --txs-per-block transfers in every block; mainnet: most "
                      "blocks hold only the MinerTransaction and some many transfers, signed "
                      "by 5 of 7 validators (neo_twisted.ledger.generator_shape; default "
                      "--keys devkeys/mainnet-shape.json, --config "
                      "devkeys/protocol.mainnet-shape.json)")
    make.add_argument("--txs-per-block", type=int,
                      help=f"transfers per block (--shape uniform; default "
                      f"{DEFAULT_TXS_PER_BLOCK})")
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--keys", type=Path,
                      help="the validators' development keys (default: the shape's, "
                      "devkeys/privnet.json for uniform)")
    make.add_argument("--elect", type=Path, metavar="KEYFILE",
                      help="register the key in this WIF file (devkeys/privnet-candidate.wif) "
                      "and vote it in as a validator; needs --elect-at")
    make.add_argument("--elect-at", type=int, metavar="HEIGHT",
                      help="the block holding the votes (its GAS claimed two blocks before, "
                      "its registration one block before); the candidate signs from the next")
    make.add_argument("--no-votes", action="store_true",
                      help="with --elect: claim and register only, and leave the votes out "
                      "(to be sent later, as neonode localnet --elect does)")
    command("check", "verify a data directory's invariants (exit 0 only if all hold)", _check)
    command("info", "print a data directory's network, heights and size as JSON", _info,
            config=False)
