# -*- test-case-name: tests.unit.test_p2p_controller,tests.integration.test_node_registry -*-
"""
The peer controller: the one registry of a node's live peers, and what they say.

Both factories (dialling and accepting) report every connection here (the
controller pattern of C{twisted.names}' C{DNSServerFactory}). The controller
keeps one L{PeerRecord} per live peer, from accept or connect to loss: what
the connection service counts against its limits and the node's per-peer
session alike, so no part of the node keeps a set of peers of its own (issue
21: three registries drifted apart). Versions are judged here (our own nonce)
and by the L{IAdmission} (the connection service); what a peer says once
established is published to L{IPeerObserver}s in the order they subscribed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from zope.interface import implementer

from neo_twisted.network.payloads import Payload, VersionPayload
from neo_twisted.p2p.addresses import normalise_host
from neo_twisted.p2p.disconnects import disconnect_label
from neo_twisted.p2p.faults import Fault
from neo_twisted.p2p.interfaces import (
    Endpoint,
    IAdmission,
    ILocalNode,
    IPeer,
    IPeerListener,
    IPeerObserver,
)
from neo_twisted.p2p.traffic import Traffic
from neo_twisted.wire.uint import UInt256

__all__ = ["LossObserver", "PeerController", "PeerRecord", "Sessions"]

S = TypeVar("S")


@attrs.define
class PeerRecord:
    """
    What the node knows of one live connection, from TCP connect (or accept) to loss.
    """

    inbound: bool
    host: str
    #: The endpoint we dialled (outbound connections).
    dialled: Endpoint | None = None
    #: Its version's nonce, once the version was accepted.
    nonce: int | None = None
    established: bool = False
    #: Where it accepts connections (its IP and its version's port).
    listener: Endpoint | None = None
    #: When it connected (reactor seconds).
    since: float = 0.0
    #: When it last sent us a block or transaction we did not have (0: never).
    useful_at: float = 0.0
    #: Being closed to make room for another: its slot is no longer counted.
    evicted: bool = False
    #: The node's per-peer state while established (None before): typed by its owner.
    session: Any = None


class Sessions(Mapping[IPeer, S], Generic[S]):
    """
    The sessions of the registry's peers that have one: a view of the registry,
    never a copy, so it cannot drift from it.
    """

    def __init__(self, records: Mapping[IPeer, PeerRecord]) -> None:
        self._records = records

    def __getitem__(self, peer: IPeer) -> S:
        session = self._records[peer].session
        if session is None:
            raise KeyError(peer)
        found: S = session
        return found

    def __contains__(self, peer: object) -> bool:
        record = self._records.get(peer)  # type: ignore[call-overload]
        return record is not None and record.session is not None

    def __iter__(self) -> Iterator[IPeer]:
        return (peer for peer, record in list(self._records.items())
                if record.session is not None)

    def __len__(self) -> int:
        return sum(1 for record in self._records.values() if record.session is not None)

    def __repr__(self) -> str:
        return f"<Sessions of {len(self)} peers>"


@implementer(IPeerObserver)
@attrs.frozen
class LossObserver:
    """
    A part that only forgets peers: told of each established peer's loss.
    """

    #: What the part does with a lost peer.
    forget: Callable[[IPeer], object]

    def peer_established(self, peer: IPeer) -> None:
        pass

    def message_received(self, peer: IPeer, command: str, payload: Payload) -> None:
        pass

    def peer_lost(self, peer: IPeer, record: PeerRecord, reason: str,
                  fault: Fault | None) -> None:
        if record.established:
            self.forget(peer)


@implementer(IPeerListener)
class PeerController:
    """
    The factories' listener and the registry of live peers.

    @ivar records: the live peers and what is known of them; the only such dict.
    @ivar retired: the traffic of the connections already lost.
    @ivar disconnects: connections lost, by L{disconnect_label} (the metrics read it).
    """

    _log = Logger()

    def __init__(self, clock: IReactorTime) -> None:
        self.clock = clock
        self.records: dict[IPeer, PeerRecord] = {}
        self.retired = Traffic()
        self.disconnects: Counter[str] = Counter()
        self._observers: list[IPeerObserver] = []
        self._admission: IAdmission | None = None
        self._node: ILocalNode | None = None

    # -- wiring (each part subscribes itself once, in its constructor) ------------------------

    def subscribe(self, observer: IPeerObserver) -> None:
        """
        Tell C{observer} of every peer's life from now on, after those before it.
        """
        self._observers.append(observer)

    def use_admission(self, admission: IAdmission) -> None:
        """
        Ask C{admission} about every version, and our listening port.

        @raise ValueError: one was set already.
        """
        if self._admission is not None:
            raise ValueError("the controller has an admission already")
        self._admission = admission

    def use_node(self, node: ILocalNode) -> None:
        """
        Take our version's fields and the judgement of block frames from C{node}.

        @raise ValueError: one was set already.
        """
        if self._node is not None:
            raise ValueError("the controller serves a node already")
        self._node = node

    # -- the registry --------------------------------------------------------------------------

    def admit(self, peer: IPeer, *, inbound: bool, host: str) -> PeerRecord:
        """
        The record of C{peer}, made now if it has none (an accepted connection is
        recorded before its transport is up: its slot is taken from then).
        """
        record = self.records.get(peer)
        if record is None:
            record = PeerRecord(inbound=inbound, host=host, since=self.clock.seconds())
            self.records[peer] = record
        return record

    def _record(self, peer: IPeer) -> PeerRecord:
        return self.admit(peer, inbound=peer.inbound, host=normalise_host(peer.remote.host))

    def established_peers(self) -> list[IPeer]:
        return [peer for peer, record in self.records.items() if record.established]

    def note_useful(self, peer: IPeer) -> None:
        """
        C{peer} just sent us a block or transaction we did not have (see eviction).
        """
        record = self.records.get(peer)
        if record is not None:
            record.useful_at = self.clock.seconds()

    def traffic(self) -> Traffic:
        """
        Messages and bytes by command over every connection, lost ones included.
        """
        return self.retired.plus(self.records)

    # -- IPeerListener -------------------------------------------------------------------------

    def peer_connected(self, peer: IPeer) -> None:
        self._record(peer)

    def local_version(self, peer: IPeer) -> VersionPayload:
        node = self._node
        port = None if self._admission is None else self._admission.listening_port
        return VersionPayload(timestamp=int(self.clock.seconds()), port=port or 0,
                              nonce=0 if node is None else node.nonce,
                              user_agent="" if node is None else node.user_agent,
                              start_height=self.current_height())

    def check_version(self, peer: IPeer, version: VersionPayload) -> str | None:
        node = self._node
        if node is not None and version.nonce == node.nonce:
            if not peer.inbound and self._admission is not None:
                self._admission.connected_to_self(peer)  # never dial it again
            return "connected to ourselves"
        if self._admission is not None:
            reason = self._admission.check_version(peer, version)
            if reason is not None:
                return reason
        self._record(peer).nonce = version.nonce  # counted as this node from now on
        return None

    def current_height(self) -> int:
        return 0 if self._node is None else self._node.current_height()

    def peer_established(self, peer: IPeer) -> None:
        self._record(peer).established = True
        for observer in list(self._observers):
            observer.peer_established(peer)

    def accepts_block_frame(self, peer: IPeer, index: int, hash: UInt256) -> bool:
        return self._node is None or self._node.accepts_block_frame(peer, index, hash)

    def message_received(self, peer: IPeer, command: str, payload: Payload) -> None:
        record = self.records.get(peer)
        if record is None or not record.established:
            return
        for observer in list(self._observers):
            observer.message_received(peer, command, payload)

    def fault_ignored(self, peer: IPeer, fault: Fault, detail: str) -> None:
        self._log.debug("ignored from {peer} ({fault}): {detail}", peer=peer,
                        fault=fault.label, detail=detail)
        if self._admission is not None:
            self._admission.fault_ignored(peer, fault)

    def peer_lost(self, peer: IPeer, reason: str, fault: Fault | None) -> None:
        record = self.records.pop(peer, None)
        if record is None:  # never connected (or told twice): nothing to count
            record = PeerRecord(inbound=peer.inbound, host=normalise_host(peer.remote.host))
        else:
            self.retired.add(peer)
            self.disconnects[disconnect_label(reason, fault)] += 1
        for observer in list(self._observers):
            observer.peer_lost(peer, record, reason, fault)

    def __repr__(self) -> str:
        return f"<PeerController peers={len(self.records)}>"
