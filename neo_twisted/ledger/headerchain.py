# -*- test-case-name: tests.unit.test_ledger_chain,tests.unit.test_ledger_assume_valid -*-
"""
The header chain of L{neo_twisted.ledger.chain.Ledger}: C{OnNewHeaders}, and the
headers taken on trust below an assume-valid block (I{provisional}) until it comes.
"""

from __future__ import annotations

from collections.abc import Sequence

import lmdb
from twisted.logger import Logger

from neo_twisted.core.block import Header
from neo_twisted.ledger.reads import ChainReads
from neo_twisted.ledger.results import HeaderProblem, HeaderResult
from neo_twisted.ledger.settings import ProtocolSettings
from neo_twisted.ledger.store import StoreError, fetch, height_key, u32
from neo_twisted.ledger.trust import trusted_witnesses_bounded
from neo_twisted.ledger.verify import Mapper, verify_chain

#: Headers written between two looks at the store's resident map (a block looks once).
TRIM_EVERY_HEADERS = 16


class HeaderChain(ChainReads):
    """
    The header half of the ledger's writes; the ledger sets the attributes below.
    """

    _log = Logger()
    settings: ProtocolSettings
    _mapper: Mapper
    _tip: Header
    #: Headers up to here are vouched for (see L{neo_twisted.ledger.chain.Ledger}).
    verified_height: int

    def _trusted_to(self) -> int:
        """
        Headers at or below this height need no witness check (-1: all need one).
        """
        assumed = self.settings.assume_valid
        if assumed is None or self.verified_height >= assumed.height:
            return -1
        return assumed.height

    def witness_needed(self, index: int) -> bool:
        """
        Whether a new header at C{index} gets its witness checked (not under assume-valid).
        """
        return index > self._trusted_to()

    def _provisional_allowed(self) -> bool:
        assumed = self.settings.assume_valid
        return assumed is not None and self.header_height < assumed.height

    def drop_provisional(self) -> int:
        """
        Delete the headers taken on trust under assume-valid (those above the verified
        height), as when nobody extended them to the trusted block: a peer made them up,
        or we took them from one that had only part of the chain. Returns how many.
        """
        if self.verified_height >= self.header_height:
            return 0
        dropped = self._drop_provisional()
        self._log.warn("dropped {count} unverified headers above {height}: nobody "
                       "extended them to the assume-valid block", count=dropped,
                       height=self.header_height)
        return dropped

    def _drop_provisional(self) -> int:
        """
        Delete the headers above the verified height (block heights never reach them).
        """
        dropped = self.header_height - self.verified_height
        keep = self.verified_height

        def batch(txn: lmdb.Transaction) -> None:
            for index in range(keep + 1, self.header_height + 1):
                hash_ = fetch(txn, height_key(index), db=self._dbs["height"])
                txn.delete(height_key(index), db=self._dbs["height"])
                if hash_ is not None:
                    txn.delete(hash_, db=self._dbs["header"])
            txn.put(b"header_height", u32(keep), db=self._dbs["meta"])

        self.store.write(batch)
        tip = self.get_header(keep)
        if tip is None:
            raise StoreError(f"{self.store.path}: damaged: header {keep} is missing")
        self._tip, self.header_height = tip, keep
        return dropped

    def _put_header(self, txn: lmdb.Transaction, header: Header) -> None:
        txn.put(header.hash, header.to_bytes(), db=self._dbs["header"])
        txn.put(height_key(header.index), header.hash, db=self._dbs["height"])

    def _append_headers(self, headers: Sequence[Header], verified: int) -> None:
        """
        Append C{headers}; those up to C{verified} (the new verified height) are vouched for.
        """
        if not headers:
            return

        def batch(txn: lmdb.Transaction) -> None:
            for count, header in enumerate(headers, 1):
                self._put_header(txn, header)
                if count % TRIM_EVERY_HEADERS == 0:  # random keys: see _write
                    self.store.trim_mapped_pages()
            txn.put(b"header_height", u32(headers[-1].index), db=self._dbs["meta"])
            txn.put(b"verified_height", u32(verified), db=self._dbs["meta"])

        self.store.write(batch)
        self.store.trim_mapped_pages()
        self._tip = headers[-1]
        self.header_height = headers[-1].index
        self.verified_height = verified

    def add_headers(self, headers: Sequence[Header]) -> HeaderResult:
        """
        C{OnNewHeaders}: skip known headers, stop at a gap, append the valid prefix.
        """
        fresh: list[Header] = []
        expected = self.header_height + 1
        for header in headers:
            if header.index < expected:
                continue  # known already, or repeated within the batch
            fresh.append(header)
            expected = header.index + 1
        if not fresh:
            return HeaderResult(0)
        if fresh[0].index != self.header_height + 1:
            return HeaderResult(0, f"header {fresh[0].index} leaves a gap after "
                                   f"{self.header_height}", HeaderProblem.UNLINKED)
        if self.verified_height < self.header_height and fresh[0].prev_hash != self._tip.hash:
            # Another chain than the headers we took on trust: perhaps the real one (a
            # peer that answered our locator from below them). Neither is proven; ours
            # are dropped if nobody extends them (see drop_provisional). No fault.
            self._log.debug("headers from {index} fork from our unverified ones",
                            index=fresh[0].index)
            return HeaderResult(0)
        trusted_to = self._trusted_to()
        fresh, oversized = trusted_witnesses_bounded(fresh, trusted_to)
        count, problem, forged = verify_chain(fresh, self._tip, self._mapper, trusted_to)
        kind = None if oversized is None else HeaderProblem.REFUSED
        if problem is not None:  # it stopped at fresh[count]
            after = fresh[count - 1].hash if count else self._tip.hash
            kind = (HeaderProblem.FORGED if forged
                    else HeaderProblem.UNLINKED if fresh[count].prev_hash != after
                    else HeaderProblem.REFUSED)
        problem = problem or oversized
        added = fresh[:count]
        verified = added[-1].index if added else self.verified_height
        if trusted_to >= 0 and added:
            assumed = self.settings.assume_valid
            assert assumed is not None
            if added[-1].index < assumed.height:
                verified = self.verified_height  # taken on trust until the block comes
            elif (found := added[assumed.height - fresh[0].index].hash) != assumed.hash:
                # Not the chain of the block we trust: nothing it sent below it can be
                # believed, nor what came before on trust (perhaps from the same peer).
                dropped = self._drop_provisional()
                self._log.warn("header {height} is {found}, not the assume-valid block "
                               "{hash}: dropped {count} unverified headers",
                               height=assumed.height, found=found, hash=assumed.hash,
                               count=dropped + assumed.height - fresh[0].index)
                return HeaderResult(0, f"header {assumed.height} is {found}, not the "
                                       f"assume-valid block {assumed.hash}",
                                    HeaderProblem.REFUSED)
        self._append_headers(added, verified)
        return HeaderResult(count, problem, kind)
