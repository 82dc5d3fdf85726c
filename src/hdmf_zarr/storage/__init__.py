"""Turning what the user passed as ``path`` into a Zarr-Python 3 store (DESIGN.md, "Stores").

``open_store`` is the only place that looks at paths and URLs; everything else sees a store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zarr.abc.store import Store

from ..errors import NotHdmfStoreError, StoreModeError
from ..zarr_bridge.runtime import run
from ._atomic import AtomicLocalStore
from ._h5nested import H5NestedStore
from ._location import array_location, store_location
from ._marker import WRITE_MARKER_KEY
from ._pack import STORE_KINDS, copy_store, nested_store_kind, pack, unpack
from ._sqlite import SQLiteStore
from ._stagedzip import StagedZip
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
