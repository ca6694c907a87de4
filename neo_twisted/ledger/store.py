# -*- test-case-name: tests.unit.test_ledger_store -*-
"""
The LMDB chain store: one environment per data directory, named sub-databases.

Layout (all integers little-endian unless marked BE; hashes in wire order):

  ========  =====================================  ==========================================
  database  key                                    value
  ========  =====================================  ==========================================
  meta      C{magic}, C{genesis}, C{schema}        u32 magic, 32-byte genesis hash, u32 version
  meta      C{header_height}, C{block_height}      u32: highest header / persisted block
  header    block hash                             C{Header.to_bytes()} (with the 00 trailer)
  height    u32 BE index                           block hash (the header chain)
  block     block hash                             u32 count + the tx hashes, in block order
  tx        txid                                   u32 height + the full transaction
  unspent   txid + u16 output index                C{TransactionOutput} (60 bytes)
  spent     txid + u16 output index                output (60) + u32 height created + u32 spent:
                                                   spent NEO outputs whose GAS is not claimed yet
  balance   script hash (20) + asset id (32)       i64 raw Fixed8
  asset     asset id                               L{neo_twisted.ledger.state.AssetState}
  sysfee    u32 BE index                           i64: system fees of blocks 0..index, summed
  votes     script hash (20)                       the account's votes (schema 2: see
  validator compressed public key (33)             L{neo_twisted.ledger.votestore})
  account_  script hash (20) + txid + u16 output   schema 3, the C{unspent} coins by owner:
  unspent   index                                  asset id (32) + i64 value + u32 height
                                                   created
  account_  script hash (20) + u32 BE height       schema 3, the C{spent} records by owner:
  spent     spent + txid + u16 output index        i64 value + u32 height created
  ========  =====================================  ==========================================

The two account databases let a wallet's coins (C{getunspents}, C{getclaimable}) be
read as one key range instead of a scan of every coin. Their keys end with the
coin's own key, so that a writer holding a coin record (owner at bytes 40:60) makes
them by concatenation. A spent coin's key has its spending height first, so that
the records a batch adds go after the account's older ones instead of all over its
pages: they stay until claimed, so this database grows with every NEO spend.

Every batch of writes is one LMDB write transaction, durable when it commits
(LMDB syncs on commit and never leaves a half-written transaction behind), so a
crash or C{kill -9} loses at most the batch in flight. The map is doubled before
a batch when less than half of it is left; should a batch still not fit, it is
aborted, the map doubled, and the batch run again. Readers use their own read
transactions and never wait for the writer.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, TypeVar, cast

import lmdb

from neo_twisted.ledger.writebudget import thread_written

if TYPE_CHECKING:
    # the type lmdb's stubs give a named database's handle (the module does not export it)
    from lmdb import _Database

    Database: TypeAlias = _Database
else:
    Database = object

#: The store's named databases, by name.
Databases = Mapping[str, Database]

T = TypeVar("T")

#: 2 added the vote state (C{votes}, C{validator}, meta C{validators_count}), 3 the
#: coins by account (C{account_unspent}, C{account_spent}); a store of an older schema
#: is upgraded when a ledger opens it (L{neo_twisted.ledger.upgrade}).
SCHEMA_VERSION = 3
DATABASES = ("meta", "header", "height", "block", "tx", "unspent", "spent", "balance",
             "asset", "sysfee", "votes", "validator", "account_unspent", "account_spent")
#: Sub-databases a store of an older schema lacks until it is upgraded.
LATER_DATABASES = frozenset({"votes", "validator", "account_unspent", "account_spent"})
#: Address space only: the file grows as pages are written, whatever the map size.
INITIAL_MAP_SIZE = 1024 * 1024 * 1024
#: Bytes of the store's map a writer keeps resident before it drops them (see
#: L{ChainStore.trim_mapped_pages}).
MAPPED_PAGES_BUDGET = 16 * 1024 * 1024

_U32 = struct.Struct("<I")
_U32BE = struct.Struct(">I")


def u32(value: int) -> bytes:
    return _U32.pack(value)


def read_u32(data: bytes, offset: int = 0) -> int:
    return int(_U32.unpack_from(data, offset)[0])


def height_key(index: int) -> bytes:
    """
    Heights are big-endian keys so that LMDB's byte order is height order.
    """
    return _U32BE.pack(index)


def coin_key(txid: bytes, index: int) -> bytes:
    return txid + struct.pack("<H", index)


def fetch(txn: lmdb.Transaction, key: bytes, db: Database) -> bytes | None:
    """
    C{txn.get} typed for our transactions, which never hand out buffers.
    """
    return cast("bytes | None", txn.get(key, db=db))


def take(txn: lmdb.Transaction, key: bytes, db: Database) -> bytes | None:
    """
    C{txn.pop}: fetch and delete.
    """
    return cast("bytes | None", txn.pop(key, db=db))


_MADV_DONTNEED = 4  # Linux: drop the pages from the resident set


def _find_madvise() -> Callable[[ctypes.c_void_p, ctypes.c_size_t, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    madvise.restype = ctypes.c_int
    return madvise


_MADVISE = _find_madvise()
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


_statm: int | None = None


def _file_resident() -> int | None:
    """
    Bytes of this process's resident set backed by files (statm's third field).

    Asked after every block applied, so the file stays open and is read with
    C{pread} (one system call instead of three).
    """
    global _statm
    try:
        if _statm is None:
            _statm = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        return int(os.pread(_statm, 128, 0).split()[2]) * _PAGE
    except (OSError, IndexError, ValueError):
        return None


class StoreError(Exception):
    """
    A data directory that cannot be used (foreign network, damaged, unreadable).
    """


class StoreWriteError(StoreError):
    """
    A write the store refused (a full disk, an I/O error, a file system gone read-only).

    LMDB kept its last commit whole, so nothing committed is lost; but the ledger's view
    in memory may be ahead of the store, so its owner must stop writing.
    """


class ChainStore:
    """
    The LMDB environment of one data directory and its sub-databases.

    @ivar path: the directory holding the LMDB files.
    """

    def __init__(self, datadir: str | Path, readonly: bool = False, create: bool = True) -> None:
        """
        @param create: make a new store when there is none (never when C{readonly}).
        """
        self.path = Path(datadir) / "chain"
        if (readonly or not create) and not (self.path / "data.mdb").exists():
            raise StoreError(f"{datadir}: no chain store here")
        try:
            if not readonly:
                self.path.mkdir(parents=True, exist_ok=True)
            self.env = lmdb.open(str(self.path), map_size=INITIAL_MAP_SIZE,
                                 max_dbs=len(DATABASES), readonly=readonly, max_readers=256)
        except (lmdb.Error, OSError) as e:
            raise StoreError(f"{datadir}: cannot open the chain store: {e}") from None
        self.readonly = readonly
        try:
            # All sub-databases come into being in one transaction: a crash while a store
            # is created leaves either none of them or all of them.
            if readonly:  # a handle opened in a read transaction dies with it
                self.dbs: dict[str, Database] = {}
                for name in DATABASES:
                    try:
                        self.dbs[name] = self.env.open_db(name.encode(), create=False)
                    except lmdb.NotFoundError:
                        if name not in LATER_DATABASES:  # else: an older schema
                            raise
            else:
                with self.env.begin(write=True) as txn:
                    self.dbs = {name: self.env.open_db(name.encode(), txn=txn, create=True)
                                for name in DATABASES}
        except lmdb.NotFoundError:
            self.env.close()
            raise StoreError(f"{datadir}: no chain store here (none was completed)") from None
        except lmdb.Error as e:
            self.env.close()
            raise StoreError(f"{datadir}: damaged or foreign chain store: {e}") from None
        self._page_size = int(self.env.stat()["psize"])
        #: Bytes the last L{write} wrote to the file (its commit), when they could be read.
        self.last_written: int | None = None
        self._file_resident: int | None = None
        #: The map size and the address ranges of data.mdb in this process for it.
        self._mapped: tuple[int, list[tuple[int, int]]] | None = None

    def close(self) -> None:
        self.env.close()

    @property
    def page_size(self) -> int:
        return self._page_size

    @contextmanager
    def read(self) -> Iterator[lmdb.Transaction]:
        """
        A consistent snapshot for reading; it never blocks, nor is blocked by, the writer.
        """
        with self.env.begin(buffers=False) as txn:
            yield txn

    def write(self, batch: Callable[[lmdb.Transaction], T]) -> T:
        """
        Run C{batch} in one write transaction and commit it durably.

        C{batch} may run more than once (after the map grows), so it must only touch
        the store through the transaction it is given.

        @raise StoreWriteError: the store could not be written; nothing of C{batch} was.
        """
        before = thread_written()
        try:
            self._make_room()
            while True:
                try:
                    with self.env.begin(write=True) as txn:
                        result = batch(txn)
                    break
                except lmdb.MapFullError:
                    self.env.set_mapsize(self.env.info()["map_size"] * 2)
        except (lmdb.Error, OSError) as e:
            raise StoreWriteError(f"{self.path}: cannot write the chain store: {e}") from e
        after = thread_written()
        self.last_written = None if before is None or after is None else after - before
        return result

    def _make_room(self) -> None:
        """
        Double the map when less than half of it is left, so that batches rarely run twice.
        """
        info = self.env.info()
        used = (int(info["last_pgno"]) + 1) * self._page_size
        if 2 * used > info["map_size"]:
            self.env.set_mapsize(2 * info["map_size"])

    def release_mapped_pages(self) -> None:
        """
        Drop the store's pages from this process's resident set (Linux C{madvise}).

        LMDB reads through a memory map, so every page a long import touches stays
        counted in its RSS although it is only clean page cache. The data stays in
        the kernel's cache and is mapped again on the next read.
        """
        if _MADVISE is None:
            return
        map_size = self.env.info()["map_size"]
        if self._mapped is None or self._mapped[0] != map_size:
            # where the map is only changes when it grows: look it up once per size
            data_file = str((self.path / "data.mdb").resolve())
            try:
                with open("/proc/self/maps") as maps:
                    spans = [line.split(None, 1)[0] for line in maps
                             if line.rstrip("\n").endswith(data_file)]
            except OSError:
                return
            ranges = []
            for span in spans:
                start, end = (int(part, 16) for part in span.split("-"))
                ranges.append((start, end - start))
            self._mapped = (map_size, ranges)
        for start, length in self._mapped[1]:
            _MADVISE(ctypes.c_void_p(start), ctypes.c_size_t(length), _MADV_DONTNEED)
        self._file_resident = _file_resident()

    def trim_mapped_pages(self, budget: int = MAPPED_PAGES_BUDGET) -> bool:
        """
        Release the mapped pages once they take more than C{budget} bytes of RSS.

        A count of blocks between releases cannot bound memory: the larger the
        store, the more distinct pages (64 KiB of fault-around each) the same
        blocks touch. So this looks at the process's file-backed resident pages
        (C{/proc/self/statm}, a cheap read) against what they were after the last
        release. Returns whether it released.
        """
        if _MADVISE is None:
            return False
        resident = _file_resident()
        if resident is None:
            return False
        if self._file_resident is None or resident < self._file_resident:
            self._file_resident = resident
            return False
        if resident - self._file_resident <= budget:
            return False
        self.release_mapped_pages()
        return True

    def disk_size(self) -> int:
        """
        Bytes the store takes on disk.
        """
        return sum(entry.stat().st_size for entry in os.scandir(self.path) if entry.is_file())
