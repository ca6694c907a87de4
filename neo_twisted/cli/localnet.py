# -*- test-case-name: tests.integration.test_cli_localnet -*-
"""
C{neonode localnet}: a local network of C{twistd neonode} processes that syncs,
makes blocks and carries a transaction, with a live table until Ctrl-C.

What happens, in order (L{Phase}):
 1. The first node gets a generated chain of the bundled privnet (made once and
    kept in the run directory). The validators (node I runs consensus with the
    I-th development key of C{--keys}, written to its data directory as
    C{validator.wif}) start a moment later, empty; they find each other through
    the protocol file's seeds (each listens on one seed's port) and sync.
 2. Once the validators have made C{--late-after} new blocks by dBFT (or, without
    consensus, hold the whole chain), the last node starts: a relay that knows
    only the first seed, learns the others by C{getaddr} and catches up by
    header and block sync.
 3. When it has caught up, a demo transaction is sent to it over JSON-RPC; the
    table's messages say when it is in every node's pool and in a block.
 4. With C{--elect}, the late node runs with a candidate's key (registered by the
    generated chain) and, after the demo, a vote elects it as a fifth validator
    while the network runs (L{neo_twisted.cli.election}).
A table of every node's heights, peers, pool and rate is shown each second
(redrawn in place on a terminal, printed again below the last elsewhere: see
L{Screen}) until Ctrl-C (or an C{--until-...} condition); then every node is
stopped with SIGTERM. Data directories are kept: a second run resumes from them.
"""

from __future__ import annotations

import argparse
import enum
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from neo_twisted.cli.demo import DemoWatch, demo_accounts, demo_transaction, find_coin
from neo_twisted.cli.election import ElectionWatch, vote_transaction
from neo_twisted.cli.errors import CommandError
from neo_twisted.cli.localnet_nodes import LocalNode, Screen, stop_all
from neo_twisted.consensus.keyfile import load_validator_key
from neo_twisted.ledger.generator import load_dev_keys
from neo_twisted.ledger.settings import ConfigError, ProtocolSettings, load_protocol
from neo_twisted.p2p.interfaces import Endpoint

if TYPE_CHECKING:
    from neo_twisted.cli.errors import Subcommands

#: Seconds between two lines of the table.
REFRESH = 1.0
#: Seconds between two questions to the first node while it opens its chain.
STARTING_POLL = 0.25
#: Blocks after the elected node's own that C{--until-elected} waits for (a turn of
#: five validators).
ELECTED_ROUNDS = 5
#: Offset of each node's JSON-RPC port from its P2P port (unless --rpc-ports).
RPC_OFFSET = 1000


class Phase(enum.Enum):
    """
    Where the run is; each phase ends on one condition (see L{_Run.advance}).
    """

    #: The validators sync and make their first blocks.
    STARTING = "starting"
    #: The late node catches up.
    LATE_NODE = "late node"
    #: The demo transaction travels.
    DEMO = "demo"
    #: The vote for the candidate travels, then the candidate takes part.
    ELECTION = "election"
    #: Nothing more to show: the network runs until stopped.
    RUNNING = "running"


def _run_command(command: list[str], what: str) -> None:
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        raise CommandError(f"{what} failed: {done.stderr.decode(errors='replace').strip()}")


def _neonode(*args: object) -> list[str]:
    return [sys.executable, "-m", "neo_twisted.cli", *map(str, args)]


def _prepare_chain(args: argparse.Namespace, first: LocalNode) -> None:
    """
    Give the first node a generated chain, unless its data directory has one already.
    """
    if (first.datadir / "chain").exists():
        return
    # with --elect: the candidate's GAS claimed and its registration in the last two blocks
    elect = [] if args.elect is None else ["--elect", args.elect, "--elect-at", args.blocks + 1,
                                           "--no-votes"]
    chain = args.dir / f"chain-{args.blocks}{'-elect' if elect else ''}" / "chain.acc"
    if not chain.exists():
        chain.parent.mkdir(parents=True, exist_ok=True)
        args.stderr.write(f"generating {args.blocks} blocks into {chain}\n")
        _run_command(_neonode("makechain", "--config", args.config, "--keys", args.keys,
                              "--blocks", args.blocks, "--txs-per-block", 2, "--seed", 1,
                              *elect, chain), "makechain")
    args.stderr.write(f"importing {chain} into {first.datadir}\n")
    _run_command(_neonode("import", "--config", args.config, "--datadir", first.datadir, chain),
                 "import")


def _network_config(args: argparse.Namespace) -> Path:
    """
    The protocol file the nodes run: C{--config}, or a copy in the run directory
    with C{--seconds-per-block}.
    """
    if args.seconds_per_block is None:
        config: Path = Path(args.config)
        return config
    try:
        document = json.loads(Path(args.config).read_text(encoding="utf-8"))
        document["ProtocolConfiguration"]["SecondsPerBlock"] = args.seconds_per_block
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CommandError(f"{args.config}: {e}") from None
    path: Path = args.dir / "protocol.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def _plan(args: argparse.Namespace, settings: ProtocolSettings) -> list[LocalNode]:
    """
    The nodes: ports, seeds, keys. The validators come first, the late relay last.
    """
    count = args.nodes
    if args.ports:
        if len(args.ports) < count:
            raise CommandError(f"{count} nodes need {count} ports; --ports gives "
                               f"{len(args.ports)}")
        ports = args.ports[:count]
        seeds = [f"127.0.0.1:{port}" for port in ports[:count - 1]]
    else:
        seeds = list(settings.seed_list)
        seed_ports = [Endpoint.parse(seed).port for seed in seeds]
        if len(seeds) < count - 1:
            raise CommandError(f"{count} nodes need {count - 1} seed ports; {args.config} "
                               f"lists {len(seeds)} (or give --ports)")
        ports = [*seed_ports[:count - 1], max(seed_ports) + 1]
    if args.rpc_ports and len(args.rpc_ports) < count:
        raise CommandError(f"{count} nodes need {count} RPC ports; --rpc-ports gives "
                           f"{len(args.rpc_ports)}")
    rpc_ports = args.rpc_ports[:count] if args.rpc_ports else [p + RPC_OFFSET for p in ports]
    nodes = []
    for i, (port, rpc_port) in enumerate(zip(ports, rpc_ports, strict=True)):
        late = i == count - 1
        nodes.append(LocalNode(f"node{i + 1}", args.dir / f"node{i + 1}", port, rpc_port,
                               seeds=[seeds[0]] if late else seeds, min_peers=count - 1,
                               late=late))
    if not args.no_consensus:
        try:
            keys = load_dev_keys(args.keys, settings)
        except ConfigError as e:
            raise CommandError(str(e)) from None
        validators = list(zip(nodes[:-1], keys, strict=False))
        if args.elect is not None:
            try:
                validators.append((nodes[-1], load_validator_key(args.elect)))
            except ConfigError as e:
                raise CommandError(f"--elect: {e}") from None
        for node, key in validators:
            node.key_file = node.datadir / "validator.wif"
            node.datadir.mkdir(parents=True, exist_ok=True)
            node.key_file.touch(mode=0o600)
            node.key_file.write_text(key.to_wif() + "\n")
    return nodes


class _Run:
    """
    The network's progress through the L{Phase}s, one step per table refresh.
    """

    def __init__(self, args: argparse.Namespace, nodes: list[LocalNode], config: Path,
                 screen: Screen) -> None:
        self.args = args
        self.nodes = nodes
        self.config = config
        self.screen = screen
        self.phase = Phase.STARTING
        self.early = nodes[:-1]
        self.late = nodes[-1]
        self.base = max(node.block_height for node in self.early)
        self.demo: DemoWatch | None = None
        self.demo_reported: set[str] = set()
        self.election: ElectionWatch | None = None

    def say(self, message: str) -> None:
        self.screen.message(f"-- {message}")

    def advance(self) -> None:
        """
        Move on when the current phase's condition holds.
        """
        if self.phase is Phase.STARTING and self._validators_done():
            self.say(f"{self.late.name} (a relay knowing only {self.late.seeds[0]}) starts")
            self.late.start(self.config, self.args.dir)
            self.phase = Phase.LATE_NODE
        elif self.phase is Phase.LATE_NODE and self._caught_up(self.late):
            self.say(f"{self.late.name} caught up at block {self.late.block_height}")
            if self.args.no_demo:
                self._next_after_demo()
            else:
                self._send_demo()
        elif self.phase is Phase.DEMO:
            self._watch_demo()
        elif self.phase is Phase.ELECTION:
            self._watch_election()

    def _next_after_demo(self) -> None:
        if self.args.elect is not None and self.election is None:
            self._send_vote()
        else:
            self.phase = Phase.RUNNING

    def _validators_done(self) -> bool:
        heights = [node.block_height for node in self.early]
        if self.args.no_consensus:
            tips = [node.heights() for node in self.early]
            return all(t is not None and t == tips[0] and t[1] > 0 for t in tips)
        return min(heights) >= self.base + int(self.args.late_after)

    def _caught_up(self, node: LocalNode) -> bool:
        state = node.state
        if state is None or state["syncing"]:
            return False
        return bool(node.block_height >= min(other.block_height for other in self.early))

    def _send_demo(self) -> None:
        target = self.late
        accounts = demo_accounts()
        found = find_coin(target.rpc, accounts)
        if found is None:
            self.say("no demo transaction: no unspent output of the generated accounts found")
            self._next_after_demo()
            return
        tx = demo_transaction(*found, accounts)
        target.rpc.call("sendrawtransaction", tx.to_bytes().hex())
        self.demo = DemoWatch(str(tx.hash), target.name)
        self.say(f"demo transaction {tx.hash} sent to {target.name} by sendrawtransaction")
        self.phase = Phase.DEMO

    def _watch_demo(self) -> None:
        demo = self.demo
        assert demo is not None
        running = [node for node in self.nodes if node.running]
        for node in running:
            demo.look(node.name, node.rpc)
        names = {node.name for node in running}
        if names <= demo.pooled and "pool" not in self.demo_reported:
            self.demo_reported.add("pool")
            self.say(f"demo transaction in the pool of every node ({len(names)})")
        if names <= set(demo.confirmed):
            heights = ", ".join(map(str, sorted(set(demo.confirmed.values()))))
            seen = ("" if "pool" in self.demo_reported else
                    f" (a block came before every pool was seen holding it: seen in "
                    f"{len(demo.pooled)} of {len(names)})")
            self.say(f"demo transaction in block {heights} on every node{seen}")
            self._next_after_demo()

    def _send_vote(self) -> None:
        """
        A generated account votes for the standby validators and the late node's key.
        """
        assert self.args.elect is not None
        candidate = load_validator_key(self.args.elect).public_key
        target = self.early[0]
        watch = ElectionWatch(candidate, "")
        if not any(entry.get("publickey") == candidate.encode().hex()
                   for entry in target.rpc.call("getvalidators") or []):
            self.say(f"no election: {candidate} is not registered on this chain (a run "
                     "directory made without --elect)")
            self.phase = Phase.RUNNING
            return
        keys = [*load_protocol(self.config).standby_validators, candidate]
        tx = vote_transaction(target.rpc, demo_accounts(), keys)
        if tx is None:
            self.say("no election: no generated account holds NEO")
            self.phase = Phase.RUNNING
            return
        target.rpc.call("sendrawtransaction", tx.to_bytes().hex())
        watch.txid = str(tx.hash)
        self.election = watch
        self.say(f"vote {tx.hash} for the {len(keys) - 1} standby validators and "
                 f"{self.late.name}'s key sent to {target.name}")
        self.phase = Phase.ELECTION

    def _watch_election(self) -> None:
        watch = self.election
        assert watch is not None
        running = [node for node in self.nodes if node.running]
        if watch.elected_at is None:
            voted = watch.voted_in(self.early[0].rpc)
            if voted is not None and all(watch.active_on(node.rpc) for node in running):
                watch.elected_at = voted
                self.say(f"vote in block {voted}: {self.late.name} is a validator of every "
                         f"node from block {voted + 1} on (five validators)")
            return
        proposed = watch.proposed_by(self.late.rpc)
        if proposed is not None:
            watch.proposed = proposed
            self.say(f"{self.late.name} proposed block {proposed}; blocks keep coming")
            self.phase = Phase.RUNNING

    def finished(self) -> str | None:
        """
        Why the run stops now, if an C{--until-...} condition holds.
        """
        args = self.args
        tips = [node.heights() for node in self.nodes]
        if args.until_synced and self.phase in (Phase.DEMO, Phase.RUNNING) and all(
                t is not None and t == tips[0] and t[1] > 0 for t in tips):
            return "every node holds the whole chain"
        if args.until_height and self.late.running and all(
                node.block_height >= args.until_height for node in self.nodes):
            return f"every node holds block {args.until_height}"
        if args.until_demo and self.demo is not None and self.phase is Phase.RUNNING:
            return "the demo transaction is in a block on every node"
        watch = self.election
        if (args.until_elected and watch is not None and watch.proposed is not None
                and all(node.block_height >= watch.proposed + ELECTED_ROUNDS
                        for node in self.nodes)):
            return (f"{self.late.name} was elected, proposed block {watch.proposed}, and "
                    f"every node holds {ELECTED_ROUNDS} blocks more")
        return None


def _localnet(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    try:
        settings = load_protocol(args.config)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    args.dir.mkdir(parents=True, exist_ok=True)
    nodes = _plan(args, settings)
    config = _network_config(args)
    _prepare_chain(args, nodes[0])
    screen = Screen(stdout)
    run = _Run(args, nodes, config, screen)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        nodes[0].start(config, args.dir)
        _wait_answering(nodes[0], started, args.timeout)
        for node in run.early[1:]:
            node.start(config, args.dir)
        while True:
            time.sleep(REFRESH)
            for node in nodes:
                node.poll(REFRESH)
            screen.table(nodes, time.monotonic() - started)
            run.advance()
            _check_alive(nodes)
            reason = run.finished()
            if reason is not None:
                stdout.write(f"{reason}\n")
                return 0
            if args.timeout and time.monotonic() - started > args.timeout:
                raise CommandError(f"{run.phase.value}: not done after {args.timeout} s "
                                   f"(logs in {args.dir})")
    except KeyboardInterrupt:
        stdout.write("\nstopping every node\n")
        return 0
    finally:
        stop_all(nodes)
        signal.signal(signal.SIGTERM, previous)


def _wait_answering(node: LocalNode, started: float, timeout: float) -> None:
    """
    Wait until the node holding the chain answers: validators that started empty
    before it listens would agree on blocks of their own and fork off its chain.
    """
    while True:
        node.poll(STARTING_POLL)
        if node.state is not None:
            return
        if not node.running:
            raise CommandError(f"{node.name} stopped while starting (see "
                               f"{node.datadir.parent / (node.name + '.log')})")
        if timeout and time.monotonic() - started > timeout:
            raise CommandError(f"{node.name} does not answer after {timeout} s")
        time.sleep(STARTING_POLL)


def _check_alive(nodes: list[LocalNode]) -> None:
    """
    A node started and gone ends the run at once, with why it went (its last words
    on stderr, said before its log opened, else its log).
    """
    for node in nodes:
        if node.process is None or node.running:
            continue
        log = node.datadir.parent / (node.name + ".log")
        errors = node.datadir.parent / (node.name + ".err")
        said = errors.read_text(errors="replace").strip() if errors.exists() else ""
        last = said.splitlines()[-1] if said else f"see {log}"
        raise CommandError(f"{node.name} stopped (exit {node.process.returncode}): {last}")


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


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def add_parser(commands: Subcommands) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "localnet", help="run a local network that syncs and makes blocks (Ctrl-C stops it)")
    parser.add_argument("--config", default="protocol.json", type=Path,
                        help="protocol.json of the network (default: ./protocol.json)")
    parser.add_argument("--keys", default=Path("devkeys/privnet.json"), type=Path,
                        help="the validators' development keys, to generate the chain and "
                             "run consensus")
    parser.add_argument("--dir", default=Path("run"), type=Path,
                        help="where the data directories and logs live (default: ./run)")
    parser.add_argument("--nodes", default=5, type=int, choices=range(2, 9), metavar="N",
                        help="nodes to run, 2 to 8 (default: 5: four validators, then a "
                             "late relay)")
    parser.add_argument("--no-consensus", action="store_true",
                        help="run no validator: the nodes only sync the generated chain")
    parser.add_argument("--blocks", default=3000, type=int,
                        help="blocks of the first node's generated chain (default: 3000)")
    parser.add_argument("--seconds-per-block", type=_positive, metavar="S",
                        help="run the network with this SecondsPerBlock (default: the "
                             "config's)")
    parser.add_argument("--late-after", type=int, default=2, metavar="N",
                        help="start the last node once the validators made N blocks "
                             "(default: 2)")
    parser.add_argument("--no-demo", action="store_true",
                        help="send no demo transaction")
    parser.add_argument("--ports", type=_ports,
                        help="P2P ports, comma-separated (default: the config's seeds, "
                             "then the next port for the late node)")
    parser.add_argument("--rpc-ports", type=_ports,
                        help=f"JSON-RPC ports, comma-separated (default: P2P port + "
                             f"{RPC_OFFSET})")
    parser.add_argument("--until-synced", action="store_true",
                        help="stop once every node (the late one too) holds the same chain")
    parser.add_argument("--until-height", type=int, default=0, metavar="N",
                        help="stop once every node holds block N (made by consensus)")
    parser.add_argument("--until-demo", action="store_true",
                        help="stop once the demo transaction is in a block on every node")
    parser.add_argument("--elect", nargs="?", type=Path, metavar="KEYFILE",
                        const=Path("devkeys/privnet-candidate.wif"),
                        help="the late node validates with this key (default: "
                             "devkeys/privnet-candidate.wif), which the generated chain "
                             "registers; after the demo a vote elects it while the network "
                             "runs")
    parser.add_argument("--until-elected", action="store_true",
                        help=f"with --elect: stop once the elected node proposed a block "
                             f"and every node holds {ELECTED_ROUNDS} more")
    parser.add_argument("--timeout", type=float, default=0,
                        help="give up after this many seconds (default: never)")
    parser.set_defaults(run=_localnet_guarded)
