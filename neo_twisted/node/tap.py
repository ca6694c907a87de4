# -*- test-case-name: tests.unit.test_node_tap,tests.unit.test_node_tap_options -*-
"""
C{twistd neonode}: the command-line options and the service tree they build.

The plugin in C{twisted/plugins/neonode_plugin.py} points here. Everything an
operator can set is an option (C{twistd neonode --help}); a bad value is a usage
error naming the option, raised before anything is opened or bound. Where the
node listens is given as Twisted endpoint descriptions (C{--listen},
C{--rpc-listen}, C{--metrics-listen}); the port options are shorthands for them.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import sys
from collections.abc import Callable
from pathlib import Path

import attrs
from twisted.application import service
from twisted.internet.interfaces import IReactorCore
from twisted.python import usage
from twisted.python.failure import Failure

from neo_twisted import __version__, version_text
from neo_twisted.ledger.settings import (
    AssumeValid,
    ConfigError,
    parse_assume_valid,
)
from neo_twisted.listening import tcp_description, tls_description
from neo_twisted.networks import NETWORKS
from neo_twisted.node.exits import EXIT_STORE_FAILED
from neo_twisted.node.listen_options import ListenOptions, check_description
from neo_twisted.node.network import choose_network, resolve_defaults
from neo_twisted.p2p.interfaces import Endpoint
from neo_twisted.reactors import INodeReactor, or_global
from neo_twisted.rpc.budget import DEFAULT_MAX_ANSWER

#: The defaults of the options left unset that neither C{config.json} nor the network
#: decides (the network decides C{port} and C{datadir}, see L{resolve_defaults}).
BUILTIN_DEFAULTS = {"min-peers": 10, "max-peers": 40, "max-per-address": 3,
                    "rpc-bind": "127.0.0.1", "rpc-port": None}


def _number(text: str, kind: type[int] | type[float] = int) -> float:
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def _port(text: str) -> int:
    port = int(_number(text))
    if not 0 <= port < 65536:
        raise ValueError(f"{port} is outside 0..65535")
    return port


def _count(text: str) -> int:
    """
    A number that may be 0 (meaning: the default, one per core).
    """
    value = int(_number(text))
    if value < 0:
        raise ValueError(f"{value} is negative")
    return value


def _positive(text: str) -> int:
    value = int(_number(text))
    if value < 1:
        raise ValueError(f"{value} is not a positive number")
    return value


def _seconds(text: str) -> float:
    value = _number(text, float)
    if not value > 0:
        raise ValueError(f"{value} is not a positive number of seconds")
    return value


def _assume_valid(text: str) -> AssumeValid | str:
    """
    C{HEIGHT:HASH}, or C{"none"} (then the protocol file's C{AssumeValid} is not used).
    """
    if text.strip().lower() == "none":
        return "none"
    return parse_assume_valid(text)


def _named(parameters: list[list[object]]) -> list[list[object]]:
    """
    Make each coercer's error name its option: twistd shows only the error's text.
    """
    named = []
    for entry in parameters:
        if len(entry) == 5:
            name, coerce = str(entry[0]), entry[4]
            assert callable(coerce)

            def checked(text: str, name: str = name,
                        coerce: Callable[[str], object] = coerce) -> object:
                try:
                    return coerce(text)
                except ValueError as e:
                    raise ValueError(f"--{name}: {e}") from None
            checked.coerceDoc = getattr(coerce, "coerceDoc", "")  # type: ignore[attr-defined]
            entry = [*entry[:4], checked]
        named.append(entry)
    return named


class Options(ListenOptions):
    """
    Options of C{twistd neonode}.
    """

    synopsis = "[options]"
    longdesc = (f"neo_twisted {__version__}. Run a NEO 2.x node: connect to the network "
                "(--network, or the protocol file of --config), sync headers and blocks into "
                "the data directory, serve and relay them.")

    optParameters = _named([
        ["network", "n", None,
         f"The network: {', '.join(NETWORKS)} (its bundled protocol file, neo-cli's ports "
         "and a data directory of its own; default: privnet, or the network of --config's "
         "magic)."],
        ["config", "c", None,
         "A protocol file of your own (neo-cli 2.x ProtocolConfiguration; it wins over "
         "--network's, whose magic it must have), or neo-cli's config.json (its ports and "
         "chain path become these options; name the network with --network)."],
        ["datadir", "d", None,
         "Where the chain (LMDB) and peers.dat live (default: data for the privnet, "
         "data-mainnet, data-testnet)."],
        ["port", "p", None,
         "The P2P port to listen on (default: the network's, 10333 on mainnet, 20333 on "
         "testnet and the privnet; 0: any free port).", _port],
        ["interface", "i", None, "The address to listen on (default: all)."],
        ["min-peers", None, None, "Outbound connections to keep (default: 10).", _positive],
        ["max-peers", None, None, "Connections allowed in all (default: 40).", _positive],
        ["max-per-address", None, None,
         "Connections allowed from one IP address (default: 3).", _positive],
        ["user-agent", None, f"/neo_twisted:{__version__}/", "The user agent sent to peers."],
        ["mempool-size", None, 50_000, "Transactions the memory pool holds.", _positive],
        ["mempool-mb", None, 256, "Megabytes (MiB) of transactions the memory pool holds.",
         _positive],
        ["verify-threads", None, 0,
         "Threads verifying transactions for the memory pool (0: one per core).", _count],
        ["rpc-listen", None, None,
         "Serve JSON-RPC on this endpoint (tcp:20332:interface=127.0.0.1, "
         "ssl:PORT:privateKey=KEY:certKey=CERT, unix:/run/neo/rpc.sock, "
         "systemd:domain=INET:index=0); the RPC port options are its shorthands.",
         check_description],
        ["rpc-port", None, None,
         "Serve JSON-RPC on this port (default: no RPC; 0: any free port).", _port],
        ["rpc-bind", None, None, "The address JSON-RPC listens on (default: 127.0.0.1)."],
        ["rpc-tls-cert", None, None, "Serve JSON-RPC over HTTPS with this PEM certificate."],
        ["rpc-tls-key", None, None, "The PEM private key of --rpc-tls-cert."],
        ["rpc-user", None, None, "Ask JSON-RPC callers for HTTP basic auth as this user."],
        ["rpc-password-file", None, None,
         "The file whose first line is --rpc-user's password."],
        ["rpc-max-answer", None, DEFAULT_MAX_ANSWER,
         "Bytes one JSON-RPC request's answer (a whole batch) may hold.", _positive],
        ["validator-key", None, None,
         "Take part in consensus (dBFT) with the private key in this file: a WIF, or NEP-2 "
         "with --validator-key-password (credential:NAME: systemd's LoadCredential=)."],
        ["validator-key-password", None, None,
         "The file whose first line is the NEP-2 passphrase of --validator-key "
         "(credential:NAME: systemd's LoadCredential=)."],
        ["metrics-listen", None, None,
         "Serve Prometheus metrics at /metrics on this endpoint (as --rpc-listen).",
         check_description],
        ["metrics-port", None, None,
         "Serve Prometheus metrics at /metrics on this port (default: none; 0: any free "
         "port).", _port],
        ["metrics-bind", None, None,
         "The address the metrics endpoint listens on (default: 127.0.0.1)."],
        ["log-format", None, "text",
         "The log's format: text (twistd's) or json (one event per line)."],
        ["progress-interval", None, 10.0,
         "Seconds between two sync progress lines in the log.", _seconds],
        ["assume-valid", None, None,
         "Trust block HEIGHT:HASH and its ancestors: their witnesses are not checked "
         "while syncing headers (default: the protocol file's AssumeValid; none: off).",
         _assume_valid],
    ])
    optFlags = [
        ["rpc", None, "Serve JSON-RPC on the network's port (10332 on mainnet, 20332 on "
                      "testnet and the privnet), as neo-cli's --rpc; --rpc-port wins."],
        ["no-listen", None, "Do not accept inbound connections."],
        ["no-peers-file", None, "Neither load nor save peers.dat."],
        ["allow-private-addresses", None,
         "Take private, loopback and reserved addresses from peers' addr messages (a "
         "local network); by default only public ones are dialled."],
        ["rpc-allow-get", None, "Also serve the JSON-RPC GET form (?method=...&params=...)."],
        ["allow-readable-key", None,
         "Take a --validator-key (or its password) file that its group or others may read "
         "(development keys only)."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["seeds"], self["whitelist"], self["bans"] = [], [], []
        self["rpc-cors"], self["rpc-allow-host"], self["rpc-disable"] = [], [], []

    def opt_version(self) -> None:
        """
        Show the node's version (with Twisted's and Python's) and exit.
        """
        print(version_text())
        sys.exit(0)

    def opt_seed(self, value: str) -> None:
        """
        A peer to start from, HOST:PORT (repeatable; replaces the protocol file's SeedList).
        """
        try:
            Endpoint.parse(value)
        except ValueError as e:
            raise usage.UsageError(f"--seed: {e}") from None
        self["seeds"].append(value)

    def opt_whitelist(self, value: str) -> None:
        """
        Never discourage or ban this IP or network (ADDRESS or ADDRESS/PREFIX;
        repeatable). Loopback addresses never are.
        """
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as e:
            raise usage.UsageError(f"--whitelist: {e}") from None
        self["whitelist"].append(value)

    def opt_ban(self, value: str) -> None:
        """
        Refuse this IP address and never dial it (repeatable; for the node's life;
        RPC setban changes bans while it runs).
        """
        try:
            ipaddress.ip_address(value)
        except ValueError as e:
            raise usage.UsageError(f"--ban: {e}") from None
        self["bans"].append(value)

    def opt_rpc_cors(self, value: str) -> None:
        """
        Let web pages from ORIGIN (scheme://host[:port]; * for any) call JSON-RPC
        (repeatable, or a comma list; default: none).
        """
        from neo_twisted.rpc.access import normal_origin, split_list
        try:
            self["rpc-cors"] += [normal_origin(o) for o in split_list([value])]
        except ValueError as e:
            raise usage.UsageError(f"--rpc-cors: {e}") from None

    def opt_rpc_allow_host(self, value: str) -> None:
        """
        Accept this Host header name besides the --rpc-bind address's (repeatable, or
        a comma list; * for any).
        """
        from neo_twisted.rpc.access import check_host_name, split_list
        try:
            self["rpc-allow-host"] += [check_host_name(h) for h in split_list([value])]
        except ValueError as e:
            raise usage.UsageError(f"--rpc-allow-host: {e}") from None

    def opt_rpc_disable(self, value: str) -> None:
        """
        Answer this JSON-RPC method with "Access denied" (repeatable, or a comma list).
        """
        from neo_twisted.rpc.access import split_list
        from neo_twisted.rpc.methods import NodeRpc
        for name in split_list([value]):
            if name not in NodeRpc.NAMES:
                raise usage.UsageError(f"--rpc-disable: no JSON-RPC method {name!r}")
            self["rpc-disable"].append(name)

    def postOptions(self) -> None:
        try:
            choice = choose_network(self["network"], self["config"])
        except ConfigError as e:
            raise usage.UsageError(str(e)) from None
        self["settings"] = choice.settings
        self.check_shorthands()
        self.update(resolve_defaults(self, choice, BUILTIN_DEFAULTS, rpc=bool(self["rpc"])))
        assumed = self["assume-valid"]
        if assumed is not None:
            self["settings"] = attrs.evolve(
                self["settings"], assume_valid=None if assumed == "none" else assumed)
        if self["min-peers"] > self["max-peers"]:
            raise usage.UsageError(
                f"--min-peers {self['min-peers']} exceeds --max-peers {self['max-peers']}")
        self["datadir"] = Path(self["datadir"])
        self.resolve_listen()
        self._check_rpc()
        self._check_metrics()
        self._check_log_format()
        self._check_validator_key()

    def _check_validator_key(self) -> None:
        """
        The validator's key: private files only (unless told otherwise), NEP-2 with
        its passphrase.
        """
        self["validator"] = None
        if self["validator-key"] is None:
            if self["validator-key-password"] is not None:
                raise usage.UsageError("--validator-key-password needs --validator-key")
            return
        from neo_twisted.consensus.keyfile import (
            check_private,
            load_validator_key,
            secret_path,
        )

        def secret(option: str) -> Path | None:
            if self[option] is None:
                return None
            try:
                path = secret_path(self[option])
                if not self["allow-readable-key"]:
                    check_private(path)
            except ConfigError as e:
                raise usage.UsageError(f"--{option}: {e}") from None
            return path

        key, password = secret("validator-key"), secret("validator-key-password")
        assert key is not None
        try:
            self["validator"] = load_validator_key(
                key, password, address_version=self["settings"].address_version)
        except ConfigError as e:
            raise usage.UsageError(f"--validator-key: {e}") from None

    def _check_metrics(self) -> None:
        if self["metrics-listen"] is None:
            return
        try:
            import prometheus_client  # noqa: F401
        except ImportError:
            given = "--metrics-port" if self["metrics-port"] is not None else "--metrics-listen"
            raise usage.UsageError(
                f"{given} needs the prometheus-client package "
                "(pip install 'neo_twisted[metrics]')") from None

    def _check_log_format(self) -> None:
        """
        C{json} takes twistd's C{--logger} hook, so it cannot go with C{--logger}
        or C{--syslog}.
        """
        from neo_twisted.node.logs import LOG_FORMATS, choose_json
        chosen = self["log-format"]
        if chosen not in LOG_FORMATS:
            raise usage.UsageError(f"--log-format: {chosen!r} is not one of "
                                   f"{', '.join(LOG_FORMATS)}")
        parent: usage.Options | None = getattr(self, "parent", None)
        if chosen == "text" or parent is None:
            return
        if parent.get("logger") or parent.get("syslog"):
            raise usage.UsageError("--log-format json cannot be combined with twistd's "
                                   "--logger or --syslog")
        parent["logger"] = choose_json(parent.get("logfile"), bool(parent.get("nodaemon")))

    def _check_rpc(self) -> None:
        """
        TLS needs both files, and both must load (checked now, not when binding);
        basic auth needs a user and a readable password; no RPC option goes without
        --rpc-port (or --rpc-listen). Then C{rpc-listen} is the description served.
        """
        self._check_rpc_access()
        cert, key = self["rpc-tls-cert"], self["rpc-tls-key"]
        if (cert is None) != (key is None):
            raise usage.UsageError("--rpc-tls-cert and --rpc-tls-key go together")
        if cert is not None and self["rpc-port"] is None:
            raise usage.UsageError("--rpc-tls-cert needs --rpc-port")
        if cert is not None:
            from neo_twisted.rpc.service import load_tls_options
            try:
                load_tls_options(Path(cert), Path(key))
            except ValueError as e:
                raise usage.UsageError(str(e)) from None
        if self["rpc-listen"] is None and self["rpc-port"] is not None:
            port, bind = self["rpc-port"], self["rpc-bind"]
            self["rpc-listen"] = self.shorthand("rpc-bind", (
                tcp_description(port, bind) if cert is None
                else tls_description(port, bind, Path(cert), Path(key))))

    def _check_rpc_access(self) -> None:
        from neo_twisted.rpc.access import RpcAccess
        given = [name for name in ("rpc-cors", "rpc-allow-host", "rpc-disable", "rpc-user",
                                   "rpc-password-file", "rpc-allow-get") if self[name]]
        if given and self["rpc-port"] is None and self["rpc-listen"] is None:
            raise usage.UsageError(f"--{given[0]} needs --rpc-port (or --rpc-listen)")
        user, password_file = self["rpc-user"], self["rpc-password-file"]
        if (user is None) != (password_file is None):
            raise usage.UsageError("--rpc-user and --rpc-password-file go together")
        password = None
        if user is not None:
            if not user or ":" in user:
                raise usage.UsageError(f"--rpc-user: {user!r} is empty or holds a ':'")
            password = _first_line(password_file)
        self["rpc-access"] = RpcAccess(
            cors_origins=frozenset(self["rpc-cors"]),
            allowed_hosts=frozenset(self["rpc-allow-host"]),
            allow_get=bool(self["rpc-allow-get"]), user=user, password=password,
            disabled=frozenset(self["rpc-disable"]))


def _first_line(path: str) -> str:
    """
    C{--rpc-password-file}'s password: the file's first line, without its line end.
    """
    try:
        with open(path, encoding="utf-8") as file:
            line = file.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as e:
        raise usage.UsageError(f"--rpc-password-file: cannot read {path}: {e}") from None
    if not line:
        raise usage.UsageError(f"--rpc-password-file: the first line of {path} is empty")
    return line


def makeService(options: Options, reactor: INodeReactor | None = None) -> service.IService:
    """
    The node's service tree (twistd's C{IServiceMaker} entry point), and the
    interpreter's settings for the process's run (L{neo_twisted.tuning}).
    """
    from neo_twisted.node.service import NodeConfig, make_node_service
    from neo_twisted.tuning import tune_for_run

    reactor = or_global(reactor)
    settings = options["settings"]
    seeds = tuple(options["seeds"]) or settings.seed_list
    config = NodeConfig(
        datadir=options["datadir"], listen=tuple(options["listen"]),
        seeds=seeds, min_peers=options["min-peers"],
        max_peers=options["max-peers"], max_per_address=options["max-per-address"],
        user_agent=options["user-agent"], peers_file=not options["no-peers-file"],
        mempool_capacity=options["mempool-size"],
        mempool_capacity_bytes=options["mempool-mb"] * 1024 * 1024,
        verify_threads=options["verify-threads"] or None, rpc_listen=options["rpc-listen"],
        rpc_access=options["rpc-access"], rpc_max_answer=options["rpc-max-answer"],
        validator=options["validator"], metrics_listen=options["metrics-listen"],
        progress_interval=options["progress-interval"],
        whitelist=tuple(options["whitelist"]), bans=tuple(options["bans"]),
        allow_private_addresses=bool(options["allow-private-addresses"]))
    top = make_node_service(settings, config, reactor=reactor)
    top.exit_on_store_error = True
    top.on_failure = functools.partial(_exit_process, reactor)
    tune_for_run(reactor)
    return top


def _exit_process(reactor: IReactorCore, failure: Failure) -> None:
    """
    The node stopped itself (its store failed a write): end twistd with
    L{EXIT_STORE_FAILED}, so a supervisor sees a failure, not a clean stop.
    """
    reactor.addSystemEventTrigger("after", "shutdown", os._exit, EXIT_STORE_FAILED)
    reactor.stop()
