"""Helpers shared by test directories that do not import one another.

Import it as ``from _shared import ...`` from any test module: ``tests/`` has no ``__init__.py``,
so pytest (default ``prepend`` import mode) puts ``tests/`` on ``sys.path`` when it loads
``tests/conftest.py``, before any test module is imported. Worker processes of a parallel write
(forkserver or spawn) inherit that ``sys.path``, so :class:`ArrayIterator` unpickles there too.
Worker *scripts* started with a fresh interpreter (``tests/reliability/_*_worker.py``) do not
have ``tests/`` on their path: modules they import must not import this one at module level.
"""

from __future__ import annotations

import os
import sqlite3

import numpy as np
from hdmf.data_utils import GenericDataChunkIterator

__all__ = ["ArrayIterator", "snapshot_files"]


def snapshot_files(path, *, mtimes: bool = False) -> dict:
    """Everything stored in the store at ``path``, to compare before and after an operation.

    A directory (directory store, nested store): ``{relative file name: bytes}`` of every file
    below it; with ``mtimes=True`` the values are ``(bytes, st_mtime_ns)``, so that rewriting a
    file with the same bytes counts as a change too. A file is taken for an SQLite store:
    ``{key: bytes}`` of its ``zarr_kv`` table (``mtimes`` is refused there).
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        if mtimes:
            raise ValueError(f"{path}: mtimes=True needs a directory, not a single-file store")
        con = sqlite3.connect(path)
        try:
            return {k: bytes(v) for k, v in con.execute("SELECT key, value FROM zarr_kv")}
        finally:
            con.close()
    out = {}
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as fh:
                data = fh.read()
            out[os.path.relpath(full, path)] = (data, os.stat(full).st_mtime_ns) if mtimes else data
    return out


class ArrayIterator(GenericDataChunkIterator):
    """A GenericDataChunkIterator over an in-memory array (picklable: defined in a module, so the
    workers of a parallel write can rebuild it)."""

    def __init__(self, array, **kwargs):
        self.array = np.asarray(array)
        super().__init__(**kwargs)

    def _get_data(self, selection):
        return self.array[selection]

    def _get_maxshape(self):
        return self.array.shape

    def _get_dtype(self):
        return self.array.dtype
