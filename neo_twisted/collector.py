# -*- test-case-name: tests.unit.test_collector -*-
"""
Running the cyclic garbage collector seldom while blocks stream through.

An import or a sync allocates millions of short-lived objects (transactions,
outputs, witnesses). They are freed by reference counting, since blocks hold no
cycles, so the collector's frequent passes over the blocks in flight only cost
time: about a tenth of it with the default thresholds. What exists before
(modules, the reactor, the services) is frozen out of its passes as well.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

#: Allocations between two young-generation passes (the default is 700).
GC_THRESHOLD = 100_000

_lock = threading.Lock()
_users = 0
_saved: tuple[int, ...] = ()


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """
    Within the block: what exists when the first such block starts is left out of
    collections, and the young generation is collected after C{GC_THRESHOLD}
    allocations, not 700. Blocks may nest or overlap (several nodes in one
    process): the settings come back when the last one ends.
    """
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_saved[0], GC_THRESHOLD), *_saved[1:])
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()
