# -*- test-case-name: tests.unit.test_mempool_witness_cache -*-
"""
The witnesses the pool has seen verify, so that checking a transaction again
(after every block, for the whole pool) does not check its signatures again.

Whether a standard witness verifies depends only on the signed message and its
two scripts, never on the chain; what the chain decides (which script hashes
must sign, the GAS budget) is checked again every time, before this is asked.
Only successes are kept, as a digest of the three, in a bounded LRU (about
150 bytes an entry), shared by the pool's threads.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterable

from neo_twisted.ledger.verify import WitnessJob

#: Witnesses remembered, at most: a full pool's (50,000 transactions, most with
#: one or two witnesses), in about 20 MB.
DEFAULT_CAPACITY = 131_072


_LENGTHS = struct.Struct("<III")


def witness_digest(job: WitnessJob) -> bytes:
    """
    SHA-256 over the three lengths, then the message and both scripts (no two
    different triples give the same bytes); in one call, as it runs for every
    transaction on the reactor too.
    """
    message, invocation, verification = job.message, job.invocation, job.verification
    return hashlib.sha256(_LENGTHS.pack(len(message), len(invocation), len(verification))
                          + message + invocation + verification).digest()


class WitnessCache:
    """
    A bounded set of witnesses known to verify; the least recently used go first.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self._known: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        #: Lookups that found the witness, and those that did not.
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._known)

    def known_good(self, job: WitnessJob) -> bool:
        """
        Whether C{job} was seen to verify (it then counts as just used).
        """
        key = witness_digest(job)
        with self._lock:
            if key in self._known:
                self._known.move_to_end(key)
                self.hits += 1
                return True
            self.misses += 1
            return False

    def add(self, job: WitnessJob) -> None:
        """
        Remember that C{job} verifies; call it only after its signatures were checked.
        """
        self.add_all([job])

    def add_all(self, jobs: Iterable[WitnessJob]) -> None:
        """
        L{add} each of C{jobs}, hashed before the lock is taken.
        """
        keys = [witness_digest(job) for job in jobs]
        with self._lock:
            for key in keys:
                self._known[key] = None
                self._known.move_to_end(key)
            while len(self._known) > self.capacity:
                self._known.popitem(last=False)

    def remember_only(self) -> WitnessCache:
        """
        This cache for a first verification: a new transaction's witnesses were never
        seen, so looking them up costs a digest each for nothing; they are only added.
        """
        return _RememberOnly(self)


class _RememberOnly(WitnessCache):
    """
    L{WitnessCache.remember_only}: lookups find nothing, additions go to the cache.
    """

    def __init__(self, cache: WitnessCache) -> None:  # no state of its own: no super()
        self._cache = cache

    def __len__(self) -> int:
        return len(self._cache)

    def known_good(self, job: WitnessJob) -> bool:
        return False

    def add_all(self, jobs: Iterable[WitnessJob]) -> None:
        self._cache.add_all(jobs)
