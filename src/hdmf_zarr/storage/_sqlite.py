"""``SQLiteStore``: every key of a Zarr hierarchy in one SQLite database file.

One table, ``zarr_kv(key TEXT PRIMARY KEY, value BLOB)``, holds everything; the file is marked
with SQLite's ``application_id`` (:data:`APPLICATION_ID`) and ``user_version`` (schema version
1), so that any other SQLite database is recognised and refused.

* **In place and crash safe.** A database this class creates runs in WAL mode with
  ``synchronous=NORMAL``: writes are transactions, a process killed in the middle of one leaves
  the file with its last committed state, and the file is never corrupt (a power failure may
  lose the last commits but not consistency). An existing database keeps the journal mode it
  has (a rollback journal is as safe, only slower with concurrent readers): opening never
  rewrites a database's header, and a read-only open changes no byte of the file.
* **One transaction per batch.** ``_set_many`` is one transaction, and concurrent ``set`` calls
  (Zarr writes chunks with ``asyncio.gather``) are group-committed: whichever thread gets the
  database commits everything queued so far.
* **One file.** While a connection is open SQLite keeps ``-wal`` and ``-shm`` files beside the
  database; closing the last connection checkpoints and removes them.
* **Byte ranges** are read with SQLite's incremental blob I/O, so a suffix request (a shard
  index) does not load the whole value.

Several processes may read and write one database at the same time; writers wait for each other
(up to :data:`~hdmf_zarr.storage._locks.LOCK_TIMEOUT` seconds).
"""

from __future__ import annotations

import os
import pathlib
import sqlite3
import threading
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any, TypeVar

from zarr.abc.store import ByteRequest

from ..errors import FormatError, NotHdmfStoreError, StoreModeError
from ..zarr_bridge.runtime import Buffer, BufferPrototype
from ._chunkkeys import get_many_batched, resolve_byte_range
from ._locks import LOCK_TIMEOUT, BatchQueue
from ._threaded import ThreadedStore

T = TypeVar("T")

__all__ = ["APPLICATION_ID", "SQLiteStore"]

#: ``PRAGMA application_id`` of SQLiteStore databases ("HZKV").
APPLICATION_ID = 0x485A4B56
_SCHEMA_VERSION = 1
_MAGIC = b"SQLite format 3\x00"
_TABLE = "zarr_kv"


class SQLiteStore(ThreadedStore):
    """A Zarr-Python 3 store keeping every key in one SQLite database file.

    Parameters
    ----------
    path : str or os.PathLike
        The database file. It is created (with its parent directory) on first use unless
        ``read_only``; an existing file must be an SQLiteStore database (or empty).
    read_only : bool, optional
        Refuse writes. The database is still opened read-write at the SQLite level when the file
        permits it, so that closing the last connection can remove the ``-wal``/``-shm`` files.

    Raises
    ------
    NotHdmfStoreError
        (on first use) When ``path`` is a directory, a file that is not an SQLite database, an
        SQLite database of something else, or (``read_only``) does not exist.
    FormatError
        (on first use or any access) When the database is damaged (truncated, corrupt pages).
    StoreModeError
        When a write waits for another writer longer than ``LOCK_TIMEOUT`` seconds, and (a
        ``ValueError`` too) for writes to a read-only store.
    TypeError
        When ``path`` is not a path.
    """

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if not isinstance(path, str):
            raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
        self._path = os.path.abspath(path)
        self._conn: sqlite3.Connection | None = None
        self._conn_pid: int | None = None
        self._lock = threading.RLock()
        self._queue = BatchQueue()

    # ------------------------------------------------------------------ identity
    @property
    def path(self) -> str:
        """Absolute path of the database file."""
        return self._path

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._path == self._path

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._path))

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r}, read_only={self.read_only})"

    def __str__(self) -> str:
        return f"sqlite://{self._path}"

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self._path, "read_only": self.read_only}

    def __setstate__(self, state: dict[str, Any]) -> None:
        SQLiteStore.__init__(self, state["path"], read_only=state["read_only"])

    def with_read_only(self, read_only: bool = False) -> SQLiteStore:
        """A new (unopened) store on the same file.

        Parameters
        ----------
        read_only : bool, optional
            The read-only flag of the new store.
        """
        return type(self)(self._path, read_only=read_only)

    @property
    def _location(self) -> str:
        return self._path

    def _check_file(self) -> None:
        if os.path.isdir(self._path):
            raise NotHdmfStoreError("not an SQLiteStore: a directory, not a database file",
                                    self._path)
        if not os.path.exists(self._path):
            if self.read_only:
                raise NotHdmfStoreError("no such SQLiteStore database", self._path)
            os.makedirs(os.path.dirname(self._path) or ".", exist_ok=True)
            return
        with open(self._path, "rb") as fh:
            head = fh.read(len(_MAGIC))
        if head and head != _MAGIC[: len(head)] or 0 < len(head) < len(_MAGIC):
            raise NotHdmfStoreError("not an SQLiteStore: the file is not an SQLite database",
                                    self._path)

    def _connect(self) -> sqlite3.Connection:
        """The connection of this process (opened, checked and initialised on first use)."""
        conn = self._conn
        if conn is not None and self._conn_pid == os.getpid():
            return conn
        with self._lock:
            if self._conn is not None and self._conn_pid == os.getpid():
                return self._conn
            self._check_file()
            directory = os.path.dirname(self._path) or "."
            writable = (not os.path.exists(self._path) or os.access(self._path, os.W_OK)) and (
                os.access(directory, os.W_OK))
            try:
                if writable:
                    conn = sqlite3.connect(self._path, timeout=LOCK_TIMEOUT, isolation_level=None,
                                           check_same_thread=False)
                else:  # read-only media: no -shm can be created; without a -wal the file is all
                    uri = pathlib.Path(self._path).as_uri() + "?mode=ro"
                    if not os.path.exists(self._path + "-wal"):
                        uri += "&immutable=1"
                    conn = sqlite3.connect(uri, uri=True, timeout=LOCK_TIMEOUT,
                                           isolation_level=None, check_same_thread=False)
            except sqlite3.Error as exc:
                raise NotHdmfStoreError(f"cannot open the database ({exc})", self._path) from None
            try:
                self._setup(conn, writable)
            except BaseException:
                conn.close()
                raise
            self._conn, self._conn_pid = conn, os.getpid()
            return conn

    def _setup(self, conn: sqlite3.Connection, writable: bool) -> None:
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            if app_id != APPLICATION_ID:
                if app_id != 0 or tables:
                    raise NotHdmfStoreError(
                        "not an SQLiteStore: an SQLite database of another application "
                        f"(application_id {app_id:#x}, tables {tables[:5]})", self._path)
                if not writable or self.read_only:
                    raise NotHdmfStoreError("not an SQLiteStore: an empty SQLite database",
                                            self._path)
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} "
                             "(key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL)")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
                conn.execute("COMMIT")
            else:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > _SCHEMA_VERSION:
                    raise NotHdmfStoreError(
                        f"SQLiteStore schema version {version} is newer than this reader's "
                        f"({_SCHEMA_VERSION})", self._path)
                if _TABLE not in tables:
                    raise FormatError(f"the table {_TABLE} is missing", self._path)
                # an existing database keeps its journal mode: switching a rollback-journal
                # database to WAL rewrites its header, and a read must change no byte
            conn.execute("PRAGMA synchronous = NORMAL")
            if self.read_only:
                conn.execute("PRAGMA query_only = ON")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreModeError(f"the database is locked ({exc})", self._path) from None
            raise FormatError(f"damaged database ({exc})", self._path) from None
        except sqlite3.DatabaseError as exc:
            raise FormatError(f"damaged or not an SQLite database ({exc})", self._path) from None

    def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` holding the connection; SQLite errors become ours."""
        conn = self._connect()
        with self._lock:
            try:
                return fn(conn, *args)
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if "locked" in str(exc) or "busy" in str(exc):
                    raise StoreModeError(f"the database is locked by another writer ({exc})",
                                         self._path) from None
                raise FormatError(f"database error ({exc})", self._path) from None
            except sqlite3.DatabaseError as exc:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                raise FormatError(f"damaged database ({exc})", self._path) from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the connection; the last one to close removes the ``-wal``/``-shm`` files."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._conn_pid == os.getpid():
                conn.close()
        super().close()

    def _prepare(self) -> None:
        self._connect()

    # ------------------------------------------------------------------ sync core
    @staticmethod
    def _q_get(conn: sqlite3.Connection, key: str, byte_range: ByteRequest | None) -> bytes | None:
        if byte_range is None:
            row = conn.execute(f"SELECT value FROM {_TABLE} WHERE key = ?", (key,)).fetchone()
            return None if row is None else bytes(row[0])
        conn.execute("BEGIN")
        try:
            row = conn.execute(f"SELECT rowid, length(value) FROM {_TABLE} WHERE key = ?",
                               (key,)).fetchone()
            if row is None:
                return None
            start, stop = resolve_byte_range(row[1], byte_range)
            if stop <= start:
                return b""
            with conn.blobopen(_TABLE, "value", row[0], readonly=True) as blob:
                blob.seek(start)
                return blob.read(stop - start)
        finally:
            conn.execute("COMMIT")

    #: keys per ``SELECT ... IN (...)`` of a batch read (SQLite allows 32766 parameters)
    _GET_BATCH = 500

    @classmethod
    def _q_get_whole(cls, conn: sqlite3.Connection, keys: list[str]) -> dict[str, bytes]:
        """Values of the present keys among ``keys``, in one read transaction."""
        out: dict[str, bytes] = {}
        conn.execute("BEGIN")
        try:
            for i in range(0, len(keys), cls._GET_BATCH):
                part = keys[i:i + cls._GET_BATCH]
                marks = ",".join("?" * len(part))
                for key, value in conn.execute(
                        f"SELECT key, value FROM {_TABLE} WHERE key IN ({marks})", part):
                    out[key] = bytes(value)
        finally:
            conn.execute("COMMIT")
        return out

    @staticmethod
    def _q_size(conn: sqlite3.Connection, key: str) -> int | None:
        row = conn.execute(f"SELECT length(value) FROM {_TABLE} WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    @staticmethod
    def _q_write(conn: sqlite3.Connection, items: list[tuple[str, bytes]]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT OR REPLACE INTO {_TABLE} (key, value) VALUES (?, ?)", items)
        conn.execute("COMMIT")

    @staticmethod
    def _q_insert_absent(conn: sqlite3.Connection, key: str, value: bytes) -> None:
        conn.execute(f"INSERT OR IGNORE INTO {_TABLE} (key, value) VALUES (?, ?)", (key, value))

    @staticmethod
    def _q_delete(conn: sqlite3.Connection, keys: list[str]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"DELETE FROM {_TABLE} WHERE key = ?", [(k,) for k in keys])
        conn.execute("COMMIT")

    @staticmethod
    def _q_delete_prefix(conn: sqlite3.Connection, prefix: str) -> None:
        if prefix:
            conn.execute(f"DELETE FROM {_TABLE} WHERE key >= ? AND substr(key, 1, ?) = ?",
                         (prefix, len(prefix), prefix))
        else:
            conn.execute(f"DELETE FROM {_TABLE}")

    @staticmethod
    def _q_list_prefix(conn: sqlite3.Connection, prefix: str) -> list[str]:
        if not prefix:
            return [r[0] for r in conn.execute(f"SELECT key FROM {_TABLE} ORDER BY key")]
        return [r[0] for r in conn.execute(
            f"SELECT key FROM {_TABLE} WHERE key >= ? AND substr(key, 1, ?) = ? ORDER BY key",
            (prefix, len(prefix), prefix))]

    @staticmethod
    def _q_list_dir(conn: sqlite3.Connection, prefix: str) -> list[str]:
        """Children of ``prefix`` by skipping over each child's subtree (index seeks only)."""
        children: list[str] = []
        seen: set[str] = set()
        bound, inclusive = prefix, True
        while True:
            op = ">=" if inclusive else ">"
            row = conn.execute(f"SELECT key FROM {_TABLE} WHERE key {op} ? ORDER BY key LIMIT 1",
                               (bound,)).fetchone()
            if row is None or not row[0].startswith(prefix):
                return children
            rest = row[0][len(prefix):]
            name, slash, _ = rest.partition("/")
            if name not in seen:
                seen.add(name)
                children.append(name)
            if slash:
                bound, inclusive = prefix + name + "/\U0010ffff", True
            else:
                bound, inclusive = row[0], False

    # ------------------------------------------------------------------ primitives (ThreadedStore)
    def _read_sync(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        return self._run(self._q_get, key, byte_range)

    def _size_sync(self, key: str) -> int | None:
        return self._run(self._q_size, key)

    def _set_sync(self, items: list[tuple[str, bytes]]) -> None:
        """Group-committed with concurrent calls: one transaction for what is queued."""
        self._connect()
        self._queue.submit(self._path, items, lambda batch: self._run(self._q_write, batch))

    def _set_if_absent_sync(self, key: str, data: bytes) -> None:
        self._run(self._q_insert_absent, key, data)

    def _delete_sync(self, keys: Iterable[str]) -> None:
        self._run(self._q_delete, list(keys))

    def _delete_dir_sync(self, prefix: str) -> None:
        """Every key below ``prefix`` in one statement."""
        prefix = prefix.rstrip("/")
        self._run(self._q_delete_prefix, prefix + "/" if prefix else "")

    def _list_prefix_sync(self, prefix: str) -> list[str]:
        return self._run(self._q_list_prefix, prefix)

    def _list_dir_sync(self, prefix: str) -> list[str]:
        prefix = prefix.rstrip("/")
        return self._run(self._q_list_dir, prefix + "/" if prefix else "")

    # ------------------------------------------------------------------ batch read
    async def _get_many(
            self, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]]
    ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        """Zarr's batch read, as ``_chunkkeys.get_many_batched`` describes it (requests and
        results): whole keys in one read transaction (``SELECT ... IN``, 500 keys a
        statement)."""
        await self._ensure_open()
        async for item in get_many_batched(self, requests,
                                           lambda keys: self._run(self._q_get_whole, keys)):
            yield item
