# -*- test-case-name: tests.unit.test_p2p_connections,tests.unit.test_p2p_dialling -*-
"""
Connection management: listening, keeping enough outbound peers, limits and bans.

It subscribes to the node's L{PeerController} (whose registry of live peers it
counts against its limits) and answers its version checks. Every
5 s a tick dials L{AddressBook} candidates while fewer than C{min_peers}
outbound connections are up or dialling; with no candidate it asks established
peers for addresses, and dials seeds when nothing is connected or the shortage
lasts 180 s (as the 2.8 reference does).

Whom to let in, refuse or evict (inbound connections take at most C{max_peers -
min_peers} slots) is decided by L{Admission}; this service applies it: at accept
time, before a byte is read (the wrapping L{AcceptingFactory} builds no protocol
for a refused connection), and again at C{check_version}. What a fault costs a
peer's IP comes from the fault table, applied by L{Discipline} when the
connection it closed is lost.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from twisted.application.service import MultiService
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint
from twisted.internet.error import ConnectingCancelledError
from twisted.internet.interfaces import IAddress, IProtocol, IProtocolFactory
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from neo_twisted.listening import DEFAULT_BACKLOG, tcp_description
from neo_twisted.network.payloads import AddrPayload, Payload, VersionPayload
from neo_twisted.p2p.addresses import AddressBook, load_peers, normalise_host, save_peers
from neo_twisted.p2p.admission import AcceptingFactory, Admission, Verdict
from neo_twisted.p2p.controller import PeerController, PeerRecord
from neo_twisted.p2p.discipline import BAN_DURATION, Discipline
from neo_twisted.p2p.exchange import AddressExchange
from neo_twisted.p2p.faults import Fault, Response
from neo_twisted.p2p.interfaces import Endpoint, IAdmission, IPeer, IPeerObserver
from neo_twisted.p2p.listeners import PeerListeners
from neo_twisted.reactors import INodeReactor, or_global

__all__ = ["BAN_DURATION", "GETADDR_INTERVAL", "SEEDS_WHEN_ALONE", "SEEDS_WHEN_SHORT",
           "SEED_FALLBACK_AFTER", "ConnectionService"]

#: Seconds of shortage, while some peers are connected, before the seeds are tried too.
SEED_FALLBACK_AFTER = 180.0
#: Seeds dialled when nothing is connected, and when the shortage lasted too long.
SEEDS_WHEN_ALONE = 5
SEEDS_WHEN_SHORT = 2
#: Connections the kernel may queue before we accept them (see L{DEFAULT_BACKLOG}).
LISTEN_BACKLOG = DEFAULT_BACKLOG
#: Seconds between two rounds of C{getaddr} to every peer while the book is empty.
GETADDR_INTERVAL = 30.0


@implementer(IAdmission, IPeerObserver)
class ConnectionService(MultiService):
    """
    Listens (its child, L{listeners}), dials and keeps the peer set within its limits.

    @ivar controller: the registry of live peers this service counts and subscribes to.
    @ivar book: the address book (its idle endpoints are what C{peers.dat} keeps).
    @ivar admission: the limits, and whom they let in, refuse or evict.
    """

    _log = Logger()

    def __init__(self, controller: PeerController, factory_out: IProtocolFactory,
                 factory_in: IProtocolFactory | None = None,
                 *, listen: Sequence[str] = (), listen_port: int | None = None,
                 listen_interface: str = "",
                 seeds: Sequence[str] = (), peers_path: Path | None = None,
                 min_peers: int = 10, max_peers: int = 40, max_per_address: int = 3,
                 max_dialling: int = 10, ask_addresses: bool = True,
                 reactor: INodeReactor | None = None,
                 maintenance_interval: float = 5.0, save_interval: float = 300.0,
                 ban_duration: float = BAN_DURATION, dial_timeout: float = 10.0,
                 book: AddressBook | None = None, rng: random.Random | None = None,
                 discipline: Discipline | None = None,
                 allow_private_addresses: bool = False) -> None:
        """
        @param controller: the registry of live peers, which the factories report to;
            the service subscribes to it and judges its versions.
        @param factory_out: builds the connections we dial (IPeer providers).
        @param factory_in: builds accepted ones; without it, no listening.
        @param listen: endpoint descriptions to listen on (C{tcp:20333:interface=\\:\\:}).
        @param listen_port: the shorthand of one more: this port (0 picks a free one, see
            L{listening_port}) on C{listen_interface} (C{""}: every IPv4 address).
        @param seeds: C{"host:port"} (the C{SeedList}); names are resolved when needed.
        @param peers_path: C{peers.dat}, loaded at start, saved periodically and at stop.
        @param min_peers: outbound connections to keep.
        @param max_peers: connections in all; C{max_per_address}: with one IP.
        @param max_dialling: dials in flight at most.
        @param ask_addresses: send C{getaddr} to every newly established peer.
        @param reactor: for time, dialling, listening and resolving seeds.
        @param discipline: the IPs discouraged and banned (default: a new one, loopback
            protected, banning for C{ban_duration}).
        @param allow_private_addresses: learn private and reserved addresses from peers.
        @raise ValueError: contradicting limits, a malformed seed or description.
        """
        super().__init__()  # type: ignore[no-untyped-call]  # Twisted leaves it untyped
        if max_dialling < 1:
            raise ValueError("need 0 < max_dialling")
        self._reactor = reactor = or_global(reactor)
        self._factory_out = factory_out
        self._factory_in = factory_in
        if listen_port is not None:
            listen = (*listen, tcp_description(listen_port, listen_interface))
        #: Where it listens for peers (none without an inbound factory).
        self.listen = tuple(listen) if factory_in is not None else ()
        self.seeds = [Endpoint.parse(seed) for seed in seeds]
        self.peers_path = peers_path
        self.max_dialling = max_dialling
        self.ask_addresses = ask_addresses
        self.maintenance_interval = maintenance_interval
        self.save_interval = save_interval
        self.discipline = (discipline if discipline is not None
                           else Discipline(ban_for=ban_duration))
        self.admission = Admission(self.discipline, min_peers=min_peers, max_peers=max_peers,
                                   max_per_address=max_per_address)
        self.dial_timeout = dial_timeout
        self._rng = rng or random.Random()
        self.book = book if book is not None else AddressBook(rng=self._rng)
        self.exchange = AddressExchange(self.book, busy=self._busy_endpoints,
                                        established=self.established_peers, rng=self._rng,
                                        allow_private=allow_private_addresses)
        self.controller = controller
        #: The controller's registry itself (not a copy): the live peers.
        self._records = controller.records
        self._dialling: dict[Endpoint, Deferred[IProtocol]] = {}
        self._resolving = 0
        self._short_since: float | None = None
        self._next_getaddr = 0.0
        self._loops: list[LoopingCall] = []
        controller.use_admission(self)
        controller.subscribe(self)
        #: Its child: a listener for each of L{listen} (none without C{factory_in}).
        self.listeners = PeerListeners(reactor, self.listen, AcceptingFactory(
            factory_in or factory_out, self._accept), self.book)
        self.listeners.setServiceParent(self)  # type: ignore[no-untyped-call]

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def listening_port(self) -> int | None:
        """
        The TCP port we accept connections on once started (the real one when asked
        for 0; the first listener's, when several).
        """
        return self.listeners.port

    def startService(self) -> None:
        """
        Load C{peers.dat} into the book, listen, and start maintenance (a first tick now).
        """
        if self.peers_path is not None:
            added = self.book.add(load_peers(self.peers_path), self._now())
            self._log.info("{count} peers loaded from {path}", count=added,
                           path=str(self.peers_path))
        super().startService()  # type: ignore[no-untyped-call]  # the listeners start
        self._start_loop(self._tick, self.maintenance_interval, now=True)
        if self.peers_path is not None and self.save_interval > 0:
            self._start_loop(self.save_now, self.save_interval, now=False)

    def _start_loop(self, function: Callable[[], None], interval: float, *,
                    now: bool) -> None:
        loop = LoopingCall(function)
        loop.clock = self._reactor
        self._loops.append(loop)
        loop.start(interval, now=now).addErrback(
            lambda failure: self._log.failure("a periodic task stopped", failure))

    def stopService(self) -> Deferred[None]:
        """
        Stop the timers and dials, save C{peers.dat}, drop every peer, stop listening.

        @return: fires when the listening ports are closed.
        """
        listeners: Deferred[object] = super().stopService()  # type: ignore[no-untyped-call]
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self._loops = []
        for dial in list(self._dialling.values()):
            dial.cancel()
        if self.peers_path is not None:
            self.save_now()
        for peer in list(self._records):
            peer.disconnect("node stopping")
        return listeners.addCallback(lambda _: None)

    def save_now(self) -> None:
        """
        Write C{peers.dat}: connected peers' endpoints, those being dialled, the book.
        """
        if self.peers_path is None:
            return
        try:
            save_peers(self.peers_path, [*self._busy_endpoints(), *self.book.snapshot()])
        except OSError as error:
            self._log.warn("cannot save {path}: {error}", path=str(self.peers_path),
                           error=error)

    # -- limits and counts (the limits live in L{admission}; these read them) -----------------

    @property
    def min_peers(self) -> int:
        return self.admission.min_peers

    @property
    def max_peers(self) -> int:
        return self.admission.max_peers

    @property
    def max_per_address(self) -> int:
        return self.admission.max_per_address

    @property
    def max_inbound(self) -> int:
        return self.admission.max_inbound

    def _now(self) -> float:
        return float(self._reactor.seconds())

    @property
    def peer_count(self) -> int:
        """
        Connections up (handshaking or established), inbound and outbound, but those
        evicted and closing.
        """
        return sum(1 for c in self._records.values() if not c.evicted)

    @property
    def inbound_count(self) -> int:
        return sum(1 for c in self._records.values() if c.inbound and not c.evicted)

    @property
    def outbound_count(self) -> int:
        return sum(1 for c in self._records.values() if not c.inbound)

    @property
    def dialling_count(self) -> int:
        return len(self._dialling)

    def established_peers(self) -> list[IPeer]:
        return [p for p, c in self._records.items() if c.established]

    @property
    def factories(self) -> tuple[IProtocolFactory, ...]:
        """
        The factories of the connections we dial and accept.
        """
        return tuple(f for f in (self._factory_out, self._factory_in) if f is not None)

    def _busy_endpoints(self) -> set[Endpoint]:
        """
        Endpoints dialled or connected: never dialled again meanwhile.
        """
        busy = set(self._dialling)
        for connection in self._records.values():
            busy.update(e for e in (connection.dialled, connection.listener) if e is not None)
        return busy

    def _per_host(self) -> Counter[str]:
        return Counter([c.host for c in self._records.values()]
                       + [e.host for e in self._dialling])

    # -- maintenance -------------------------------------------------------------------------

    def _tick(self) -> None:
        """
        Dial book candidates while short of outbound peers; with none, look for more.
        """
        now = self._now()
        need = self.min_peers - self.outbound_count - len(self._dialling)
        if need <= 0:
            self._short_since = None
            return
        room = min(need, self.max_dialling - len(self._dialling),
                   self.max_peers - self.peer_count - len(self._dialling))
        if room <= 0:
            return
        per_host = self._per_host()
        candidates = self.book.take(room, now, exclude=self._busy_endpoints(),
                                    exclude_hosts=self.admission.undiallable(per_host, now))
        for endpoint in candidates:
            if per_host[endpoint.host] < self.max_per_address:
                per_host[endpoint.host] += 1
                self._dial(endpoint)
        if candidates:
            self._short_since = None
            return
        if self._short_since is None:
            self._short_since = now
        established = self.established_peers()
        if not established:
            if not self._records and not self._dialling:
                self._dial_seeds(SEEDS_WHEN_ALONE)
            return
        if now >= self._next_getaddr:
            self._next_getaddr = now + GETADDR_INTERVAL
            for peer in established:
                peer.send("getaddr")
        if now - self._short_since >= SEED_FALLBACK_AFTER:
            self._short_since = now
            self._dial_seeds(SEEDS_WHEN_SHORT)

    def _dial_seeds(self, count: int) -> None:
        """
        Resolve C{count} random seeds (literal IPs need not be) and dial them.
        """
        if self._resolving or not self.seeds:
            return
        chosen = self._rng.sample(self.seeds, min(count, len(self.seeds)))
        self._log.info("dialling seeds {seeds}", seeds=", ".join(map(str, chosen)))
        for seed in chosen:
            if seed.is_literal:
                self._dial_seed(seed.host, seed)
                continue
            self._resolving += 1
            resolved: Deferred[str] = self._reactor.resolve(seed.host)
            resolved.addCallbacks(self._dial_seed, self._resolve_failed,
                                  callbackArgs=(seed,), errbackArgs=(seed,))

    def _resolve_failed(self, failure: Failure, seed: Endpoint) -> None:
        self._resolving -= 1
        self._log.warn("cannot resolve seed {seed}: {error}", seed=str(seed),
                       error=failure.getErrorMessage())

    def _dial_seed(self, address: str, seed: Endpoint) -> None:
        if not seed.is_literal:
            self._resolving -= 1
        endpoint = Endpoint(normalise_host(address), seed.port)
        if (self.running and endpoint not in self._busy_endpoints()
                and len(self._dialling) < self.max_dialling
                and self.book.is_ready(endpoint, self._now())
                and not self.discipline.is_banned(endpoint.host, self._now())):
            self._dial(endpoint)

    def _dial(self, endpoint: Endpoint) -> None:
        """
        Connect to C{endpoint} with the outbound factory; the result feeds the book.
        """
        kind = TCP6ClientEndpoint if ":" in endpoint.host else TCP4ClientEndpoint
        client = kind(self._reactor, endpoint.host, endpoint.port,
                      timeout=self.dial_timeout)
        self.book.mark_connected(endpoint)
        self._log.debug("dialling {endpoint}", endpoint=str(endpoint))
        dial: Deferred[IProtocol] = client.connect(self._factory_out)
        self._dialling[endpoint] = dial
        dial.addCallbacks(self._dialled, self._dial_failed,
                          callbackArgs=(endpoint,), errbackArgs=(endpoint,))

    def _dialled(self, protocol: object, endpoint: Endpoint) -> None:
        self._dialling.pop(endpoint, None)
        peer = IPeer(protocol)
        record = self._records.get(peer)
        if record is None:  # lost as it connected
            self.book.mark_failed(endpoint, self._now())
            return
        record.host, record.dialled = endpoint.host, endpoint
        if not self.running:
            peer.disconnect("node stopping")

    def _dial_failed(self, failure: Failure, endpoint: Endpoint) -> None:
        self._dialling.pop(endpoint, None)
        cancelled = isinstance(failure.value, CancelledError | ConnectingCancelledError)
        if cancelled and not self.running:
            self.book.mark_disconnected(endpoint, self._now())
            return
        self._log.debug("dialling {endpoint} failed: {error}", endpoint=str(endpoint),
                        error=failure.getErrorMessage())
        self.book.mark_failed(endpoint, self._now())

    # -- accepting ---------------------------------------------------------------------------

    def _accept(self, addr: IAddress, wrapped: IProtocolFactory) -> IProtocol | None:
        """
        The protocol for an accepted connection, or None to close it at once.
        """
        host = normalise_host(str(getattr(addr, "host", addr)))
        verdict = (Verdict("node stopping") if not self.running
                   else self.admission.inbound(host, self._records, self._now()))
        if verdict.refusal is not None:
            self._log.debug("refused connection from {host}: {reason}", host=host,
                            reason=verdict.refusal)
            return None
        if verdict.evict is not None:
            victim = verdict.evict
            self._log.info("evicting {peer} for a new inbound connection from {host}",
                           peer=str(victim.remote), host=host)
            self._records[victim].evicted = True  # its slot is the newcomer's from now
            victim.disconnect("evicted for a new inbound connection")
        protocol = wrapped.buildProtocol(addr)
        if protocol is not None:
            self.controller.admit(IPeer(protocol), inbound=True, host=host)
        return protocol

    # -- what the controller asks and tells ----------------------------------------------------

    def check_version(self, peer: IPeer, version: VersionPayload) -> str | None:
        """
        Why C{peer} must be dropped after its version (banned, duplicate, over a
        limit), or None.
        """
        connection = self._records.get(peer)
        host = (connection.host if connection is not None
                else normalise_host(peer.remote.host))
        return self.admission.after_version(peer, host, version.nonce, self._records,
                                            self._now())

    def connected_to_self(self, peer: IPeer) -> None:
        """
        We dialled one of our own endpoints: never dial it again.
        """
        self.book.add_own(peer.remote)

    def peer_established(self, peer: IPeer) -> None:
        """
        Take C{peer}'s listener off the candidates, ask it for addresses.
        """
        connection = self.controller.admit(peer, inbound=peer.inbound,
                                            host=normalise_host(peer.remote.host))
        if peer.listener is not None:
            connection.listener = Endpoint(normalise_host(peer.listener.host),
                                           peer.listener.port)
            self.book.mark_connected(connection.listener)
        self._log.info("peer {peer} established ({count} connections)",
                       peer=str(peer.remote), count=len(self._records))
        if self.ask_addresses:
            peer.send("getaddr")

    def message_received(self, peer: IPeer, command: str, payload: Payload) -> None:
        """
        Answer C{getaddr}, learn from C{addr}; the rest is the node's.
        """
        if command == "getaddr":
            self.exchange.answer(peer)
        elif command == "addr" and isinstance(payload, AddrPayload):
            self.exchange.received(peer, payload, self._now())  # see AddressExchange

    def peer_lost(self, peer: IPeer, record: PeerRecord, reason: str,
                  fault: Fault | None) -> None:
        """
        Forget C{peer} (its C{record} is out of the registry already); its endpoints go
        back to the book (after a back-off), and the fault that closed it, if one did,
        costs its IP what the fault table says.
        """
        self.exchange.forget(peer)
        now = self._now()
        if fault is not None and self.discipline.judged(record.host, fault, now) is Response.BAN:
            self.book.forget_host(record.host)  # its room in the book is others'
        if record.established:
            self._log.info("peer {peer} disconnected: {reason} ({count} connections)",
                           peer=str(peer.remote), reason=reason, count=len(self._records))
        busy = self._busy_endpoints()
        dialled, listener = record.dialled, record.listener
        if dialled is not None and dialled not in busy:
            if record.established:
                self.book.mark_disconnected(dialled, now)
            else:
                self.book.mark_failed(dialled, now)
        if listener is not None and listener != dialled and listener not in busy:
            self.book.mark_disconnected(listener, now)

    def ban(self, host: str, duration: float | None = None) -> None:
        """
        The operator's ban: refuse connections with the IP C{host}, never dial it, and
        drop those open, for C{duration} seconds (default: the discipline's).
        """
        host = normalise_host(host)
        until = self._now() + (self.discipline.ban_for if duration is None else duration)
        self.discipline.ban(host, until)
        self.book.forget_host(host)
        for peer, connection in list(self._records.items()):
            if connection.host == host:
                peer.disconnect(f"{host} banned by the operator")

    def fault_ignored(self, peer: IPeer, fault: Fault) -> None:
        """
        Count a fault whose response is to ignore it.
        """
        self.discipline.ignored(fault)
