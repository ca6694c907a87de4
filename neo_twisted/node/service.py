# -*- test-case-name: tests.unit.test_node_network_start,tests.unit.test_verifier_service -*-
"""
The service tree of one node: the ledger, the connections, and the node's timer.

C{twistd neonode} builds it from its options (L{neo_twisted.node.tap}); tests
build it directly with a port of 0 and their own seeds. Children start in order
(the ledger is open before the first peer connects) and the whole tree stops on
SIGTERM: the syncs stop asking, C{peers.dat} is saved, every peer is dropped,
the batch being written is committed and the store closed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
from twisted.application.internet import TimerService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from neo_twisted import __version__
from neo_twisted.consensus.service import ConsensusService
from neo_twisted.crypto.keys import KeyPair
from neo_twisted.ledger.service import LedgerService
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.store import StoreError
from neo_twisted.ledger.verifiers import VerifierService
from neo_twisted.listening import Description, tcp_description, tls_description
from neo_twisted.mempool.pool import DEFAULT_CAPACITY, DEFAULT_CAPACITY_BYTES
from neo_twisted.mempool.service import MempoolService
from neo_twisted.node.exits import EXIT_STORE_UNUSABLE
from neo_twisted.node.policy import Node
from neo_twisted.node.progress import PROGRESS_INTERVAL, SyncProgress
from neo_twisted.node.startup import log_startup
from neo_twisted.p2p.connections import ConnectionService
from neo_twisted.p2p.controller import PeerController
from neo_twisted.p2p.decoding import PayloadDecoder
from neo_twisted.p2p.discipline import FOREVER, Discipline
from neo_twisted.p2p.factory import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_SEND_BACKLOG,
    PeerFactory,
)
from neo_twisted.reactors import INodeReactor, or_global
from neo_twisted.rpc.access import AccessPolicy, RpcAccess
from neo_twisted.rpc.budget import DEFAULT_MAX_ANSWER, AnswerBudget
from neo_twisted.rpc.methods import NodeRpc
from neo_twisted.rpc.server import JsonRpcResource
from neo_twisted.rpc.service import RpcService
from neo_twisted.rpc.site import RpcSite, make_site
from neo_twisted.sync import DEFAULT_SYNC_TIMEOUTS, SyncTimeouts

#: Seconds between the node's housekeeping ticks (request expiry, sync timeouts).
TICK_INTERVAL = 5.0
PEERS_FILE = "peers.dat"


@attrs.frozen
class NodeConfig:
    """
    What an operator chooses about one node (the protocol file says the rest).

    Where it listens is given by endpoint descriptions (L{listen}, L{rpc_listen},
    L{metrics_listen}); left None, each is built from its shorthand fields (C{port}
    and C{interface}, C{rpc_port} and the other C{rpc_} ones, C{metrics_port} and
    C{metrics_bind}): see L{p2p_descriptions} and the two after it.

    @ivar port: the P2P port to listen on; 0 picks a free one, None does not listen.
    @ivar seeds: C{host:port} endpoints dialled when the address book runs dry.
    @ivar peers_file: whether C{peers.dat} in C{datadir} is loaded and saved.
    """

    datadir: Path
    port: int | None = 20333
    interface: str = ""
    seeds: Sequence[str] = ()
    min_peers: int = 10
    max_peers: int = 40
    max_per_address: int = 3
    #: IPs or networks never discouraged or banned (loopback never is, unless
    #: C{protect_loopback} is off: tests of discipline on 127.x).
    whitelist: Sequence[str] = ()
    protect_loopback: bool = True
    #: IPs refused and never dialled, for the node's life (the operator's C{--ban}).
    bans: Sequence[str] = ()
    #: Take private and reserved addresses from peers' C{addr} (a local network).
    allow_private_addresses: bool = False
    user_agent: str = f"/neo_twisted:{__version__}/"
    peers_file: bool = True
    tick_interval: float = TICK_INTERVAL
    #: Seconds between the connection service's checks (dial when short, ask for addresses).
    maintenance_interval: float = 5.0
    #: Transactions the memory pool holds, their bytes, and its verification threads
    #: (None: one per core).
    mempool_capacity: int = DEFAULT_CAPACITY
    mempool_capacity_bytes: int = DEFAULT_CAPACITY_BYTES
    verify_threads: int | None = None
    #: JSON-RPC: the port (None: no RPC, 0: any free one), the address, and for HTTPS
    #: the PEM certificate and key.
    rpc_port: int | None = None
    rpc_bind: str = "127.0.0.1"
    rpc_tls_cert: Path | None = None
    rpc_tls_key: Path | None = None
    #: Who may call (CORS origins, Host names, GET form, basic auth, disabled methods),
    #: and the bytes one request's answer may hold.
    rpc_access: RpcAccess = attrs.field(factory=RpcAccess)
    rpc_max_answer: int = DEFAULT_MAX_ANSWER
    #: The key this node takes part in consensus with (None: it only relays consensus).
    validator: KeyPair | None = None
    #: The Prometheus endpoint: the port (None: none, 0: any free one) and the address.
    metrics_port: int | None = None
    metrics_bind: str = "127.0.0.1"
    #: Seconds between two sync progress lines in the log.
    progress_interval: float = PROGRESS_INTERVAL
    #: Seconds for a peer's handshake, and without a whole message from it; the bytes
    #: that may wait for a peer that does not read: past them, it is dropped.
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_send_backlog: int = DEFAULT_SEND_BACKLOG
    #: How long header and block sync wait for a peer.
    sync_timeouts: SyncTimeouts = DEFAULT_SYNC_TIMEOUTS
    #: Endpoint descriptions to listen on for peers, JSON-RPC and metrics (None: the
    #: shorthand fields above say; an empty P2P list: no listening).
    listen: Sequence[str] | None = None
    rpc_listen: str | None = None
    metrics_listen: str | None = None

    def p2p_descriptions(self) -> tuple[str, ...]:
        """
        Where to listen for peers: L{listen}, or C{port} on C{interface}.
        """
        if self.listen is not None:
            return tuple(self.listen)
        return () if self.port is None else (tcp_description(self.port, self.interface),)

    def rpc_description(self) -> str | None:
        """
        Where to serve JSON-RPC (None: nowhere): L{rpc_listen}, or C{rpc_port} on
        C{rpc_bind}, over TLS with C{rpc_tls_cert} and C{rpc_tls_key}.
        """
        if self.rpc_listen is not None or self.rpc_port is None:
            return self.rpc_listen
        if self.rpc_tls_cert is not None and self.rpc_tls_key is not None:
            return tls_description(self.rpc_port, self.rpc_bind, self.rpc_tls_cert,
                                   self.rpc_tls_key)
        return tcp_description(self.rpc_port, self.rpc_bind)

    def metrics_description(self) -> str | None:
        """
        Where to serve metrics (None: nowhere): L{metrics_listen}, or C{metrics_port}
        on C{metrics_bind}.
        """
        if self.metrics_listen is not None or self.metrics_port is None:
            return self.metrics_listen
        return tcp_description(self.metrics_port, self.metrics_bind)


class NodeService(MultiService):
    """
    The node's services, and the node itself (L{node}) for whoever embeds it.
    """

    _log = Logger()

    def __init__(self, node: Node, progress: SyncProgress | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped
        self.node = node
        #: The sync's progress line and rate.
        self.progress = progress if progress is not None else SyncProgress(node, node.clock)
        #: The Prometheus endpoint, when the node serves one.
        self.metrics: RpcService | None = None
        #: The JSON-RPC server, when the node serves one.
        self.rpc: RpcService | None = None
        #: dBFT, when the node is a validator.
        self.consensus: ConsensusService | None = None
        #: The verifier processes the ledger and the memory pool share.
        self.verifiers: VerifierService | None = None
        #: What the node was built with (the start-up line names its directory and
        #: addresses).
        self.config: NodeConfig | None = None
        #: Why the node stopped itself (its store failed a write), if it did.
        self.failure: Failure | None = None
        #: Called with that failure instead of stopping (twistd ends the process).
        self.on_failure: Callable[[Failure], None] | None = None
        #: Whether a store that cannot be opened ends the process (twistd) rather than
        #: raising to the caller (a program embedding the node).
        self.exit_on_store_error = False
        #: While the services stop: who else waits for that (see L{stopService}).
        self._stopping: list[Deferred[object]] | None = None

    def startService(self) -> None:
        """
        Start every service in order; a store that cannot be opened (damaged, foreign,
        on a read-only file system) stops the start with L{StoreError}, or, for twistd
        (L{exit_on_store_error}), ends the process with one line saying why.

        The interpreter is left as it is: the settings a node process runs with are
        twistd's to apply (L{neo_twisted.tuning}).
        """
        try:
            super().startService()  # type: ignore[no-untyped-call]
        except StoreError as error:
            if not self.exit_on_store_error:
                raise
            self._log.critical("cannot start: {error}", error=str(error))
            sys.stderr.write(f"neonode: cannot start: {error}\n")
            raise SystemExit(EXIT_STORE_UNUSABLE) from None
        log_startup(self._log, self)

    def stopService(self) -> Deferred[object]:
        """
        Stop every service, once: a node that stopped itself (its store failed) is
        stopped again by whoever runs it, and that call only waits for the first. (A
        second stop of the children would cancel a listener's port closing under way.)
        """
        if self._stopping is not None:
            waiting: Deferred[object] = Deferred()
            self._stopping.append(waiting)
            return waiting
        if not self.running:
            return succeed(None)  # stopped already
        self._stopping = []
        self.node.stop()
        stopped: Deferred[object] = super().stopService()  # type: ignore[no-untyped-call]
        return stopped.addBoth(self._stopped)

    def _stopped(self, result: object) -> object:
        waiting, self._stopping = self._stopping or [], None
        for d in waiting:
            d.callback(None)
        return result

    def storage_failed(self, failure: Failure) -> None:
        """
        The store refused a write: stop everything (the peers are dropped, nothing more
        is written), or let L{on_failure} do it (twistd stops the reactor, which stops us).
        """
        if self.failure is not None:
            return
        self.failure = failure
        if self.on_failure is not None:
            self.on_failure(failure)
        elif self.running:
            self.stopService()


def make_rpc_service(settings: ProtocolSettings, config: NodeConfig, ledger: LedgerService,
                     node: Node, mempool: MempoolService, reactor: INodeReactor,
                     consensus: ConsensusService | None = None,
                     progress: SyncProgress | None = None) -> RpcService:
    """
    The JSON-RPC server of a node: its methods, over HTTP or (with a certificate) HTTPS.

    The Host names it answers are those of the TCP address it binds; on a UNIX or a
    systemd socket (no address known in advance) any Host is taken.
    """
    description = config.rpc_description()
    assert description is not None
    rpc = NodeRpc(ledger, node, mempool, settings, reactor, consensus, progress)
    access = config.rpc_access
    bind = Description.parse(description).interface or ""
    resource = JsonRpcResource(rpc.methods(), clock=reactor, estimates=rpc.estimates(),
                               access=AccessPolicy(access, bind),
                               budget=AnswerBudget(config.rpc_max_answer),
                               disabled=access.disabled)
    return RpcService(make_site(resource, reactor=reactor), description, reactor=reactor)


def make_node_service(settings: ProtocolSettings, config: NodeConfig,
                      reactor: INodeReactor | None = None,
                      ledger: LedgerService | None = None) -> NodeService:
    """
    Build (without starting) the services of a node.

    @param reactor: the reactor for sockets, timers and threads (default: the global one).
    @param ledger: an already configured ledger service (tests), instead of one on
        C{config.datadir}.
    @raise ValueError: a listening description that cannot be used.
    """
    reactor = or_global(reactor)
    config.datadir.mkdir(parents=True, exist_ok=True)
    # one set of verifier processes, one per core, for every witness the node checks
    # (a ledger given ready-made checks its own way, and the pool then on its threads)
    verifiers = None
    if ledger is None:
        verifiers = VerifierService()
        ledger = LedgerService(config.datadir, settings, reactor=reactor, verifiers=verifiers)
    mempool = MempoolService(ledger, settings, capacity=config.mempool_capacity,
                             capacity_bytes=config.mempool_capacity_bytes,
                             threads_count=config.verify_threads, reactor=reactor,
                             verifiers=verifiers)
    # Wired once, in order (each part is given what it reports to, and subscribes
    # itself): the registry of peers, the factories reporting to it, then the
    # connection service and the node's policy observing it.
    controller = PeerController(reactor)
    decoding = PayloadDecoder(reactor)  # big payloads, off the reactor
    factory_out, factory_in = (
        PeerFactory(controller, settings.magic, reactor, inbound=inbound, decoding=decoding,
                    handshake_timeout=config.handshake_timeout,
                    idle_timeout=config.idle_timeout, max_send_backlog=config.max_send_backlog)
        for inbound in (False, True))
    connections = ConnectionService(
        controller, factory_out, factory_in, listen=config.p2p_descriptions(),
        seeds=config.seeds, peers_path=config.datadir / PEERS_FILE if config.peers_file else None,
        min_peers=config.min_peers, max_peers=config.max_peers,
        max_per_address=config.max_per_address, reactor=reactor,
        maintenance_interval=config.maintenance_interval,
        discipline=Discipline(whitelist=config.whitelist,
                              protect_loopback=config.protect_loopback),
        allow_private_addresses=config.allow_private_addresses)
    for host in config.bans:
        connections.ban(host, FOREVER)
    node = Node(ledger, reactor, controller, connections, user_agent=config.user_agent,
                mempool=mempool, timeouts=config.sync_timeouts)
    top = NodeService(node, SyncProgress(node, reactor))
    top.config = config
    ledger.on_write_failure = top.storage_failed
    if verifiers is not None:
        top.verifiers = verifiers
        verifiers.setServiceParent(top)  # type: ignore[no-untyped-call]
    ledger.setServiceParent(top)  # type: ignore[no-untyped-call]
    mempool.setServiceParent(top)  # type: ignore[no-untyped-call]
    decoding.setServiceParent(top)  # type: ignore[no-untyped-call]
    connections.setServiceParent(top)  # type: ignore[no-untyped-call]
    if config.validator is not None:
        top.consensus = ConsensusService(node, config.validator, reactor)
        top.consensus.setServiceParent(top)  # type: ignore[no-untyped-call]
    if config.rpc_description() is not None:
        top.rpc = make_rpc_service(settings, config, ledger, node, mempool, reactor,
                                   top.consensus, top.progress)
        top.rpc.setServiceParent(top)  # type: ignore[no-untyped-call]
    if config.metrics_description() is not None:
        top.metrics = make_metrics_service(config, top, mempool, reactor)
        top.metrics.setServiceParent(top)  # type: ignore[no-untyped-call]
    for interval, call in ((config.tick_interval, node.tick),
                           (config.progress_interval, top.progress.tick)):
        ticker = TimerService(interval, call)  # type: ignore[no-untyped-call]
        ticker.clock = reactor
        ticker.setServiceParent(top)  # type: ignore[no-untyped-call]
    return top


def make_metrics_service(config: NodeConfig, top: NodeService, mempool: MempoolService,
                         reactor: INodeReactor) -> RpcService:
    """
    The Prometheus endpoint (imported only when asked for: C{prometheus-client} is
    an optional dependency, the C{metrics} extra).
    """
    from neo_twisted.metrics.collector import NodeCollector, node_registry
    from neo_twisted.metrics.resource import metrics_site

    description = config.metrics_description()
    assert description is not None
    rpc_site = None if top.rpc is None else top.rpc.site
    rpc = rpc_site.rpc if isinstance(rpc_site, RpcSite) else None
    registry = node_registry(NodeCollector(top.node, mempool, top.progress, rpc))
    return RpcService(metrics_site(registry, reactor), description, reactor=reactor,
                      label="metrics", name="metrics")
