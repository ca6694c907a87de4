# -*- test-case-name: tests.test_node_serving -*-
"""
Answers to what peers ask of us: C{getheaders}, C{getblocks} and C{getdata}.

The answers come from the store as stored bytes (a stored header or block is
already in its wire form), read on the ledger's read threads so that a peer
asking for 2000 headers or 500 blocks never holds up the reactor. The rules are
the reference node's (2.9+): only the first start hash counts; nothing is sent
when there is nothing to send; a block goes no higher than our block height; an
item is served at most once per connection; unknown items are skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import defer
from twisted.logger import Logger

from neo_twisted.core.serializable import Serializable
from neo_twisted.ledger.chain import Ledger
from neo_twisted.ledger.service import LedgerService
from neo_twisted.network.payloads import GetBlocksPayload, InventoryType, InvPayload, RawPayload
from neo_twisted.p2p.interfaces import IPeer
from neo_twisted.wire.binary import encode_var_int
from neo_twisted.wire.uint import UInt256

#: The command that carries each inventory type.
INVENTORY_COMMANDS = {
    InventoryType.TX: "tx",
    InventoryType.Block: "block",
    InventoryType.Consensus: "consensus",
}

#: Finds an item that lives in memory (the relay cache, later the mempool), or None.
Lookup = Callable[[InventoryType, UInt256], Serializable | None]


def _blocks(ledger: Ledger, hashes: list[UInt256]) -> list[bytes | None]:
    return [ledger.get_block_bytes(h) for h in hashes]


def _transactions(ledger: Ledger, hashes: list[UInt256]) -> list[bytes | None]:
    return [ledger.get_transaction_bytes(h) for h in hashes]


#: How items not in memory are read from the store, by type (consensus payloads live
#: in memory only).
_FROM_STORE = {InventoryType.Block: _blocks, InventoryType.TX: _transactions}


class Server:
    """
    Serves one node's chain to its peers.
    """

    _log = Logger()

    def __init__(self, ledger: LedgerService, lookup: Lookup) -> None:
        self._ledger = ledger
        self._lookup = lookup

    def getheaders(self, peer: IPeer, request: GetBlocksPayload) -> defer.Deferred[None]:
        """
        Up to 2000 headers after the first start hash, stopping at the stop hash.
        """
        def send(headers: list[bytes]) -> None:
            if headers and peer.established:
                peer.send("headers", RawPayload(encode_var_int(len(headers)) + b"".join(headers)))

        return (self._ledger.read(Ledger.header_bytes_after, request.hash_start[0],
                                  request.hash_stop)
                .addCallback(send))

    def getblocks(self, peer: IPeer, request: GetBlocksPayload) -> defer.Deferred[None]:
        """
        Up to 500 hashes of persisted blocks after the first start hash, as an C{inv}.
        """
        def send(hashes: list[UInt256]) -> None:
            if hashes and peer.established:
                peer.send("inv", InvPayload(InventoryType.Block, tuple(hashes)))

        return (self._ledger.read(Ledger.block_hashes_after, request.hash_start[0],
                                  request.hash_stop)
                .addCallback(send))

    def getdata(self, peer: IPeer, request: InvPayload,
                first_time: Callable[[UInt256], bool]) -> defer.Deferred[None]:
        """
        Each item asked for, from memory or (blocks, and transactions already in a
        block, as the reference node's C{GetTransaction} finds them) from the store;
        C{first_time(hash)} says whether this peer may still be sent that item (and
        records that it was). A transaction announced from the pool and confirmed before
        the peer asked for it is still sent, so the peer is not left waiting.
        """
        command = INVENTORY_COMMANDS[request.type]
        wanted = [h for h in request.hashes if first_time(h)]
        from_store: list[UInt256] = []
        for hash_ in wanted:
            item = self._lookup(request.type, hash_)
            if item is not None:
                peer.send(command, item)
            elif request.type in _FROM_STORE:
                from_store.append(hash_)
        if not from_store:
            return defer.succeed(None)

        def send(items: list[bytes | None]) -> None:
            for data in items:
                if data is not None and peer.established:
                    peer.send(command, RawPayload(data))

        return self._ledger.read(_FROM_STORE[request.type], from_store).addCallback(send)
