"""The write-in-progress marker (docs/reliability.md, docs/format-notes.md "Write-in-progress
marker").

The **write-in-progress marker** is the key :data:`WRITE_MARKER_KEY` at the store root. A write
sets it before its first key (:func:`begin_write`) and removes it after its last (consolidated
metadata included), once the store's data is on disk (:func:`end_write`). A store holding the
marker is incomplete: a write was interrupted (killed, out of power, or ended by an exception).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
import uuid
from typing import NoReturn

from zarr.abc.store import Store
from zarr.storage import LocalStore

from ..zarr_bridge.runtime import default_buffer_prototype, run
from ._files import fsync_path

__all__ = ["WRITE_MARKER_KEY", "begin_write", "end_write", "local_root", "read_write_marker"]

#: Store key of the write-in-progress marker. Not a Zarr metadata name and not a node: Zarr
#: readers skip it (Zarr-Python 3 warns "not recognized as a component of a Zarr hierarchy"
#: when it lists the root without consolidated metadata, which only happens while a write is
#: unfinished); hdmf-zarr 0.13's Zarr 2 never looks at it.
WRITE_MARKER_KEY = ".hdmf_zarr_write_in_progress"

def local_root(store: Store) -> str | None:
    """The local directory of a store kept in one (``LocalStore``, the nested container stores),
    else None (SQLite, memory, remote stores)."""
    if isinstance(store, LocalStore):
        return str(store.root)
    from ._nested import NestedContainerStore

    if isinstance(store, NestedContainerStore):
        return store.root
    return None


def read_write_marker(store: Store) -> dict | None:
    """The content of the write-in-progress marker of ``store``, or None when there is none.

    An unparsable marker is returned as ``{}``: its presence is what counts.
    """
    buf = run(store.get(WRITE_MARKER_KEY, prototype=default_buffer_prototype()))
    if buf is None:
        return None
    try:
        value = json.loads(buf.to_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def begin_write(store: Store, mode: str) -> str:
    """Set the write-in-progress marker, durably, before any other key of a write.

    The marker is created only if absent (``O_EXCL`` on a local directory, ``set_if_not_exists``
    elsewhere, then read back): one writer owns it, identified by the token returned. A second
    writer that opened the store before the first one started (so that opening did not see a
    marker) is refused here instead of sharing the marker, which the first writer to finish would
    remove while the other is still writing.

    Parameters
    ----------
    store : zarr.abc.store.Store
        A writable store.
    mode : str
        The mode of the write (recorded in the marker, for people reading it).

    Returns
    -------
    str
        The token of this writer's marker, for :func:`end_write`.

    Raises
    ------
    StoreModeError
        When the store already holds a marker: another writer is writing it (or was interrupted
        after this store was opened).
    """
    from .. import __version__

    token = uuid.uuid4().hex
    doc = {"writer": "hdmf_zarr", "version": __version__, "mode": mode, "pid": os.getpid(),
           "started": datetime.datetime.now(datetime.UTC).isoformat(), "token": token}
    raw = json.dumps(doc).encode("utf-8")
    root = local_root(store)
    if isinstance(store, LocalStore) and root is not None:
        # created here, exclusively, fsync-ed: the marker must reach the disk before the data
        # it guards
        os.makedirs(root, exist_ok=True)
        path = os.path.join(root, WRITE_MARKER_KEY)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            _refuse_second_writer(store, root)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_path(root)
        fsync_path(os.path.dirname(os.path.abspath(root)) or ".")
        return token
    proto = default_buffer_prototype()
    if read_write_marker(store) is not None:
        _refuse_second_writer(store, root)
    run(store.set_if_not_exists(WRITE_MARKER_KEY, proto.buffer.from_bytes(raw)))
    if (read_write_marker(store) or {}).get("token") != token:
        _refuse_second_writer(store, root)
    if root is not None:
        with contextlib.suppress(OSError):
            fd = os.open(os.path.join(root, WRITE_MARKER_KEY), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_path(root)
    return token


def _refuse_second_writer(store: Store, root: str | None) -> NoReturn:
    from ..errors import StoreModeError

    other = read_write_marker(store) or {}
    who = ", ".join(f"{k} {other[k]}" for k in ("pid", "mode", "started")
                    if isinstance(other.get(k), (str, int)))
    raise StoreModeError("another write is in progress in this store (write-in-progress marker "
                         f"{WRITE_MARKER_KEY!r} present{': ' + who if who else ''}); one writer "
                         "at a time: retry when it has finished", root or str(store))


def end_write(store: Store, token: str | None = None) -> None:
    """Remove the write-in-progress marker after the last key of a write.

    Everything the write stored is first made durable: on a local directory the file system is
    synced (``syncfs`` on Linux, ``sync`` elsewhere) before the marker is removed, so that a
    power failure cannot leave data missing while the marker is gone. SQLite commits reach its
    write-ahead log in order, so the removal, committed last, never survives an earlier commit
    that was lost.

    Parameters
    ----------
    store : zarr.abc.store.Store
    token : str, optional
        The token :func:`begin_write` returned: a marker holding another token (another
        writer's) is left in place.
    """
    root = local_root(store)
    if root is not None:
        _sync_filesystem(root)
    if token is not None:
        marker = read_write_marker(store)
        if marker is None or marker.get("token") != token:
            return
    run(store.delete(WRITE_MARKER_KEY))
    if root is not None:
        fsync_path(root)


def _sync_filesystem(root: str) -> None:
    """Flush the file system holding ``root`` to disk."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(root, os.O_RDONLY)
        except OSError:
            fd = None
        if fd is not None:
            try:
                if libc.syncfs(fd) == 0:
                    return
            finally:
                os.close(fd)
    if hasattr(os, "sync"):
        os.sync()
