"""Where a key of a nested container store lives (DESIGN.md: storage/).

:class:`ArrayLookup` is the part of :class:`~hdmf_zarr.storage._nested.NestedContainerStore`
that maps a store key to its array (read from the array's metadata document, cached) and a chunk
to the containers and the loose file that may hold it; the rules themselves (chunk key
encodings, container and member names) are in ``_chunkkeys``.
"""

from __future__ import annotations

import os
import threading
from typing import ClassVar

from ..errors import NotHdmfStoreError
from ._chunkkeys import (
    _MAX_DIMS,
    ARRAY_DOCUMENTS,
    CONTAINER_SUFFIXES,
    ArrayKeys,
    array_keys_from_document,
    candidate_array_prefixes,
)

__all__ = ["ArrayLookup"]


class ArrayLookup:
    """Mixin of the nested container stores: the arrays of the store directory and the places
    (containers of each depth, the loose file) of their chunks.

    The store sets ``_root`` (absolute directory), ``_depth`` (consolidate depth),
    ``_write_direct``, ``_arrays`` (the cache, prefix -> :class:`ArrayKeys`) and
    ``_arrays_lock``; the class sets :attr:`suffix`.
    """

    suffix: ClassVar[str] = ""
    _root: str
    _depth: int
    _write_direct: bool
    _arrays: dict[str, ArrayKeys]
    _arrays_lock: threading.Lock

    def _abs(self, rel: str) -> str:
        return os.path.join(self._root, *rel.split("/")) if rel else self._root

    def _array(self, prefix: str) -> ArrayKeys | None:
        """Chunk key encoding of the array at ``prefix`` (read from its metadata; cached)."""
        info = self._arrays.get(prefix)
        if info is not None:
            return info
        for name in ARRAY_DOCUMENTS:
            path = self._abs(f"{prefix}/{name}" if prefix else name)
            try:
                with open(path, "rb") as fh:
                    raw = fh.read()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                continue
            info = array_keys_from_document(prefix, name, raw)
            if info is not None:
                self._check_foreign(prefix)
                with self._arrays_lock:
                    self._arrays[prefix] = info
                return info
            if name == ARRAY_DOCUMENTS[0]:  # a Zarr 3 document that is not an array's
                return None
        return None

    def _forget_arrays(self, prefix: str | None = None) -> None:
        with self._arrays_lock:
            if prefix is None:
                self._arrays.clear()
            else:
                for p in [p for p in self._arrays if p == prefix or p.startswith(prefix + "/")
                          or prefix == ""]:
                    del self._arrays[p]

    def _foreign_error(self, path: str, suffix: str) -> NotHdmfStoreError:
        owner = CONTAINER_SUFFIXES[suffix]
        return NotHdmfStoreError(
            f"not a {type(self).__name__}: it holds {suffix} containers ({path}); open it with "
            f"{owner}", self._root)

    def _check_foreign(self, prefix: str) -> None:
        """Raise when the array at ``prefix`` holds containers of the other nested store."""
        others = [s for s in CONTAINER_SUFFIXES if s != self.suffix]
        base = self._abs(prefix)
        for s in others:
            if os.path.exists(os.path.join(base, "c" + s)):
                raise self._foreign_error(os.path.join(base, "c" + s), s)
        directory = os.path.join(base, "c")
        for _ in range(_MAX_DIMS):
            try:
                with os.scandir(directory) as it:
                    entries = list(it)
            except (FileNotFoundError, NotADirectoryError):
                return
            sub = None
            for entry in entries:
                for s in others:
                    if entry.name.endswith(s):
                        raise self._foreign_error(entry.path, s)
                if entry.name.endswith(self.suffix):
                    return
                if sub is None and entry.is_dir():
                    sub = entry.path
            if sub is None:
                return
            directory = sub

    def _chunk_of(self, key: str) -> tuple[ArrayKeys, tuple[int, ...]] | None:
        """``(array, indices)`` when ``key`` is a chunk key of a (non 0-d) array, else None."""
        candidates = candidate_array_prefixes(key)
        if not candidates:
            return None
        found = None
        for prefix, rel in candidates:
            info = self._arrays.get(prefix)
            if info is not None:
                found = (info, rel)
                break
        if found is None:
            for prefix, rel in candidates:
                info = self._array(prefix)
                if info is not None:
                    found = (info, rel)
                    break
        if found is None or found[0].ndim == 0:
            return None
        idx = found[0].parse(found[1])
        return None if idx is None else (found[0], idx)

    def _array_at_or_above(self, directory: str) -> str | None:
        """Prefix of the array whose directory is ``directory`` or one of its parents."""
        parts = directory.split("/") if directory else []
        for m in range(len(parts), -1, -1):
            prefix = "/".join(parts[:m])
            if prefix in self._arrays or self._array(prefix) is not None:
                return prefix
        return None

    def _container(self, info: ArrayKeys, idx: tuple[int, ...], depth: int) -> tuple[str, str]:
        return (self._abs(info.container_key(idx[:depth], self.suffix)),
                info.member(idx[depth:]))

    def _places(self, info: ArrayKeys, idx: tuple[int, ...]) -> list[int | None]:
        """Where a chunk may be, most likely first: container depths, None for the loose file."""
        preferred = info.depth(self._depth)
        others = [d for d in range(info.ndim) if d != preferred]
        first = [preferred, None] if self._write_direct else [None, preferred]
        return first + others
