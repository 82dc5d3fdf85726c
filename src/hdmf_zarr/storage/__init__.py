"""Turning what the user passed as ``path`` into a Zarr-Python 3 store (DESIGN.md, "Stores").

``open_store`` is the only place that looks at paths and URLs; everything else sees a store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zarr.abc.store import Store
from zarr.storage import LocalStore, MemoryStore, ZipStore

from ..errors import NotHdmfStoreError, StoreModeError
from ..zarr_bridge.runtime import run
from ..zarr_bridge.wrapped_store import inner_store
from ._atomic import AtomicLocalStore
from ._h5nested import H5NestedStore
from ._marker import WRITE_MARKER_KEY
from ._pack import STORE_KINDS, copy_store, nested_store_kind, pack, unpack
from ._sqlite import SQLiteStore
from ._zipnested import ZipNestedStore

__all__ = ["open_store", "store_location", "array_location", "is_hdf5_path", "is_url",
           "StagedZip", "H5NestedStore", "ZipNestedStore", "SQLiteStore", "STORE_KINDS",
           "copy_store", "nested_store_kind", "pack", "unpack"]
__all__ += ["AtomicLocalStore", "WRITE_MARKER_KEY", "check_replaceable"]

_READ_MODES = ("r", "r-")


def is_url(path: str) -> bool:
    """True for ``scheme://`` locations other than ``file://``."""
    return "://" in path and not path.startswith("file://")


def is_hdf5_path(path: str) -> bool:
    """True when ``path`` names an existing HDF5 file (or a name ending in an HDF5 suffix);
    False for an existing directory, which is a Zarr store whatever its name."""
    if not is_url(path) and os.path.isdir(path):
        return False
    if path.lower().endswith((".h5", ".hdf5", ".nwb")):
        return True
    if not is_url(path) and os.path.isfile(path):
        with open(path, "rb") as fh:
            return fh.read(8) == b"\x89HDF\r\n\x1a\n"
    return False


def open_store(path: Any, mode: str, storage_options: dict | None = None, *,
               force_overwrite: bool = False) -> tuple[Store, str | None]:
    """Open the store for ``path`` in ``mode``.

    Parameters
    ----------
    path : str, pathlib.Path or zarr.abc.store.Store
        A directory, a ``.zip`` file, a SQLite file (``.sqlite``, ``.sqlite3``, ``.db`` or an
        existing file with the SQLite header), a URL (``s3://``, ``https://``, ``file://``...)
        or a store. A directory that holds ``*.h5shard``/``*.zipshard`` containers opens as
        an ``H5NestedStore``/``ZipNestedStore`` (``nested_store_kind``); to write one, pass a
        store instance.
    mode : {'r', 'r-', 'r+', 'a', 'w', 'w-', 'x'}
    storage_options : dict, optional
        fsspec options for URLs. For S3, ``max_concurrency`` defaults to 1 (one GET per key
        read; ``storage._remote``).
    force_overwrite : bool, optional
        Mode ``w`` only: replace an existing path that is not a Zarr store (see
        :func:`check_replaceable`). Without it such a path is refused.

    Returns
    -------
    (store, location)
        The store, and its location (absolute path or URL; None for in-memory stores).

    Raises
    ------
    NotHdmfStoreError
        When a read mode names a path that does not exist, or a regular file that is not zip.
    StoreModeError
        When a ``.zip`` is opened for update (``r+``/``a``), or mode ``w`` names an existing
        path that is not a Zarr store and ``force_overwrite`` is not set.
    """
    read_only = mode in _READ_MODES
    if isinstance(path, Store):
        store = path
        if read_only and not store.read_only:
            store = store.with_read_only(True)
        return store, store_location(store)
    if isinstance(path, Path):
        path = str(path)
    if not isinstance(path, str):
        raise TypeError("path must be a str, pathlib.Path or zarr Store, not "
                        f"{type(path).__name__}")
    if path.startswith("file://"):
        path = path[len("file://"):]
    path = os.path.expanduser(path) if path.startswith("~") else path
    if is_url(path):
        from ._remote import fsspec_store

        return fsspec_store(path, storage_options, read_only=read_only), path.rstrip("/")
    location = os.path.abspath(path)
    if mode == "w" and not force_overwrite:
        check_replaceable(location)
    if location.lower().endswith(".zip"):
        if mode in ("r+", "a"):
            raise StoreModeError(f"zip stores are written once; mode {mode!r} is not supported",
                                 location)
        if read_only and not os.path.isfile(location):
            raise NotHdmfStoreError("no such zip file", location)
        if read_only:
            from ._boundedzip import BoundedZipStore

            return run(BoundedZipStore.open(location)), location
        if os.path.exists(location) and mode in ("w-", "x"):
            raise StoreModeError(f"mode {mode!r}: the file already exists", location)
        return StagedZip(location).store, location
    if _is_sqlite_path(location):
        if read_only and not os.path.isfile(location):
            raise NotHdmfStoreError("no such SQLite file", location)
        if mode in ("w-", "x") and os.path.exists(location):
            raise StoreModeError(f"mode {mode!r}: the file already exists", location)
        if mode == "w" and os.path.exists(location):
            os.remove(location)
        return SQLiteStore(location, read_only=read_only), location
    if read_only:
        if not os.path.exists(location):
            raise NotHdmfStoreError("no such file or directory", location)
        if os.path.isfile(location):
            raise NotHdmfStoreError("not a Zarr store: a regular file, not a directory or .zip",
                                    location)
    elif os.path.isfile(location):
        raise NotHdmfStoreError("not a Zarr store: a regular file exists at this path", location)
    nested = nested_store_kind(location) if mode != "w" else None
    if nested is not None:  # a directory of H5NestedStore/ZipNestedStore containers
        cls = H5NestedStore if nested == "H5NestedStore" else ZipNestedStore
        return cls(location, read_only=read_only), location
    # metadata documents are replaced atomically (temporary name, then os.replace)
    return AtomicLocalStore(location, read_only=read_only), location


_SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")

#: Names at the top of a directory (or zip) that make it a Zarr store mode ``w`` may replace.
_STORE_ROOT_NAMES = frozenset({"zarr.json", ".zgroup", ".zattrs", ".zarray", ".zmetadata",
                               WRITE_MARKER_KEY})


def check_replaceable(location: str) -> None:
    """Refuse to replace (mode ``w``) a path that exists and is not a Zarr store.

    Mode ``w`` deletes what ``location`` holds. That is only done to a Zarr store (a directory or
    zip with a root metadata document or the write-in-progress marker at its top, an SQLiteStore
    database), to an empty directory or an empty file; anything else (a directory of the user's
    files, another application's database) is refused, so that a mistyped path loses nothing.
    ``ZarrIO(..., force_overwrite=True)`` skips this check.

    Parameters
    ----------
    location : str
        Absolute local path.

    Raises
    ------
    StoreModeError
        Naming ``location`` and one of the entries that make it not a Zarr store.
    """
    hint = "; pass force_overwrite=True to replace it anyway"
    if os.path.islink(location) and not os.path.exists(location):
        return
    if os.path.isdir(location):
        with os.scandir(location) as it:
            names = sorted(e.name for e in it)
        if not names or _STORE_ROOT_NAMES.intersection(names):
            return
        raise StoreModeError("mode 'w': refusing to delete a directory that is not a Zarr "
                             f"store (it holds {names[0]!r}){hint}", location)
    if not os.path.isfile(location) or os.path.getsize(location) == 0:
        return
    with open(location, "rb") as fh:
        head = fh.read(16)
    if head == b"SQLite format 3\x00":
        import sqlite3

        from ._sqlite import APPLICATION_ID

        uri = Path(location).as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True)
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.Error:
            app_id = None
        if app_id == APPLICATION_ID:
            return
        raise StoreModeError("mode 'w': refusing to delete an SQLite database that is not an "
                             f"SQLiteStore{hint}", location)
    if location.lower().endswith(".zip"):
        import zipfile

        try:
            with zipfile.ZipFile(location) as zf:
                tops = {n.lstrip("/") for n in zf.namelist()}
        except (zipfile.BadZipFile, OSError):
            tops = set()
        if _STORE_ROOT_NAMES.intersection(tops):
            return
        raise StoreModeError("mode 'w': refusing to replace a file that is not a zip of a "
                             f"Zarr store{hint}", location)


def _is_sqlite_path(location: str) -> bool:
    """A ``.sqlite``/``.sqlite3``/``.db`` name, or an existing file with the SQLite header."""
    if location.lower().endswith(_SQLITE_SUFFIXES):
        return True
    if os.path.isfile(location):
        with open(location, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    return False


def store_location(store: Store) -> str | None:
    """Absolute path or URL of a store; None for stores without one (memory)."""
    if isinstance(store, LocalStore):
        return os.path.abspath(str(store.root))
    if isinstance(store, ZipStore):
        return os.path.abspath(str(store.path))
    if isinstance(store, MemoryStore):
        return None
    if type(store).__name__ == "ObjectStore" and hasattr(store, "store"):
        return _object_store_location(store.store)
    for attr in ("path", "url", "root"):
        value = getattr(store, attr, None)
        if isinstance(value, (str, Path)):
            fs = getattr(store, "fs", None)
            protocol = getattr(fs, "protocol", None)
            if isinstance(protocol, (tuple, list)):
                protocol = protocol[0]
            if protocol and protocol not in ("file", "local") and "://" not in str(value):
                return f"{protocol}://{value}"
            return str(value)
    wrapped = inner_store(store)
    if wrapped is not None:
        return store_location(wrapped)
    return None


def _object_store_location(inner: Any) -> str | None:
    """Location of an obstore store (inside Zarr's ``ObjectStore``): a local path or a URL;
    None for memory stores and kinds without one."""
    kind = type(inner).__name__
    prefix = getattr(inner, "prefix", None)
    if kind == "LocalStore":
        return os.path.abspath(str(prefix)) if prefix is not None else None
    config = getattr(inner, "config", None) or {}
    scheme = {"S3Store": "s3", "GCSStore": "gs"}.get(kind)
    if scheme and config.get("bucket"):
        tail = str(prefix).strip("/") if prefix else ""
        return f"{scheme}://{config['bucket']}" + (f"/{tail}" if tail else "")
    url = getattr(inner, "url", None)
    if kind == "HTTPStore" and url:
        return str(url).rstrip("/")
    return None


def array_location(data: Any) -> tuple[str, str] | None:
    """``(store location, absolute array path)`` of a Zarr array (or one of our lazy arrays);
    None for anything else or for arrays of in-memory stores."""
    import zarr

    if isinstance(data, zarr.Array):
        loc = store_location(data.store)
        if loc is None:
            return None
        return loc, "/" + data.path.strip("/")
    getter = getattr(data, "hdmf_zarr_location", None)
    if getter is not None:
        return getter
    return None


class _StagingStore(LocalStore):
    """The ``LocalStore`` of a :class:`StagedZip`'s staging directory, naming its zip."""

    hdmf_zarr_staged_zip: StagedZip | None = None


class StagedZip:
    """A zip store written once: the write goes to a staging directory beside the zip file, and
    :meth:`pack` stores every key into the zip exactly once (a zip member cannot be replaced, and
    the writer rewrites some documents, e.g. consolidated metadata).

    Parameters
    ----------
    location : str
        Path of the ``.zip`` file to create.
    """

    def __init__(self, location: str):
        import tempfile

        self.location = location
        parent = os.path.dirname(location) or "."
        os.makedirs(parent, exist_ok=True)
        self.staging = tempfile.mkdtemp(prefix=".staging-", suffix=".zarr", dir=parent)
        self.store = _StagingStore(self.staging)
        self.store.hdmf_zarr_staged_zip = self

    def pack(self) -> None:
        """Write the zip file from the staging directory, then remove the staging directory."""
        import shutil
        import zipfile

        tmp = self.location + ".partial"
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for root, _dirs, files in os.walk(self.staging):
                for name in sorted(files):
                    full = os.path.join(root, name)
                    zf.write(full, os.path.relpath(full, self.staging).replace(os.sep, "/"))
        os.replace(tmp, self.location)
        shutil.rmtree(self.staging, ignore_errors=True)

    def discard(self) -> None:
        """Remove the staging directory without writing the zip file."""
        import shutil

        shutil.rmtree(self.staging, ignore_errors=True)
