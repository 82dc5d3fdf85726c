"""A bounded cache of the chunks (and shard indexes) read from a remote store.

After ``read()``, a reader of a remote file reads the same chunk again more often than not: a
time window of an ``ElectricalSeries`` then ``data[:100]`` of it, a column sliced row by row, the
index of a shard each time one of its chunks is read. Zarr keeps no chunk between two reads of
an array, so over HTTP or S3 each of them costs a round trip (docs/performance.md,
"Streaming"). :class:`ChunkCache` is a read-only store wrapper that keeps what is read through
it, whole keys and byte ranges alike, least recently used first out beyond a byte bound.

Why not Zarr's own ``zarr.experimental.cache_store.CacheStore`` (Zarr >= 3.1.4): up to Zarr
3.4.2 it keeps a whole-key value larger than its ``max_size`` in its cache store without
counting it, so one large chunk read stays in memory past the bound (its byte-range path rolls
such a value back, its whole-key path does not); and it is experimental. The cache here never
holds more than its bound: a value larger than it is not kept.

What we rely on of Zarr: ``zarr.storage.WrapperStore`` forwards every store method to the
wrapped store except those overridden here, and ``ByteRequest`` values (frozen dataclasses) are
hashable. ``tests/zarr_bridge/test_chunk_cache.py`` checks both with a counting store.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from zarr.abc.store import ByteRequest, Store
from zarr.storage import WrapperStore

from .runtime import Buffer, BufferPrototype

__all__ = ["ChunkCache", "chunk_cache", "DEFAULT_CHUNK_CACHE_BYTES"]

#: Bytes of chunks kept by default for the reader of a remote store (64 MiB).
DEFAULT_CHUNK_CACHE_BYTES = 64 * 2**20


class _Kept:
    """What a cache holds, shared by the views of one store: values by (key, byte range),
    least recently used first, and their total size."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.values: OrderedDict[tuple[str, ByteRequest | None], bytes] = OrderedDict()
        self.size = 0


class ChunkCache(WrapperStore):
    """A read-only view of ``store`` keeping the values read through it, at most ``max_bytes``.

    Parameters
    ----------
    store : zarr.abc.store.Store
        The store read (read-only).
    max_bytes : int
        Bytes of values kept at most (> 0); a value larger than this is never kept.

    Notes
    -----
    Reads of a whole key and of a byte range of it are kept apart (a range is not cut out of
    a kept whole value). Absent keys are not kept. Two concurrent reads of a key not yet kept
    both go to the store. Pickling (a ``zarr.Array`` sent to a dask worker) sends the wrapped
    store and the bound, never the kept bytes.
    """

    def __init__(self, store: Store, max_bytes: int):
        super().__init__(store)
        self._kept = _Kept(int(max_bytes))

    @property
    def max_bytes(self) -> int:
        """Bytes of values kept at most."""
        return self._kept.max_bytes

    @property
    def kept_bytes(self) -> int:
        """Bytes held now (never above ``max_bytes``)."""
        return self._kept.size

    def _with_store(self, store: Store) -> ChunkCache:
        view = type(self)(store, self.max_bytes)
        view._kept = self._kept  # one cache for the views of one store
        return view

    def with_read_only(self, read_only: bool = False) -> Store:  # type: ignore[override]
        """A view sharing this cache; opened for writing, the wrapped store itself (a cache
        over a store that may change would serve stale data)."""
        if not read_only:
            return self._store.with_read_only(False)
        return self._with_store(self._store.with_read_only(True))

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self._store, self.max_bytes)

    def __repr__(self) -> str:
        return f"ChunkCache({self._store!r}, max_bytes={self.max_bytes})"

    async def get(self, key: str, prototype: BufferPrototype,
                  byte_range: ByteRequest | None = None) -> Buffer | None:
        kept = self._kept
        entry = (key, byte_range)
        value = kept.values.get(entry)
        if value is not None:
            kept.values.move_to_end(entry)
            return prototype.buffer.from_bytes(value)
        found = await self._store.get(key, prototype, byte_range)
        # (a value larger than the bound is not copied; one kept meanwhile by a concurrent
        # read of the same entry is not added twice)
        if found is not None and len(found) <= kept.max_bytes and entry not in kept.values:
            kept.values[entry] = found.to_bytes()
            kept.size += len(found)
            while kept.size > kept.max_bytes:
                _entry, dropped = kept.values.popitem(last=False)
                kept.size -= len(dropped)
        return found


def chunk_cache(store: Store, max_bytes: int) -> Store:
    """``store`` with a bounded cache of what is read through it.

    Parameters
    ----------
    store : zarr.abc.store.Store
        A read-only store (typically a URL's ``FsspecStore``).
    max_bytes : int
        Bytes kept at most; 0 or less returns ``store`` itself.

    Returns
    -------
    zarr.abc.store.Store
        A :class:`ChunkCache` over ``store``, or ``store`` when ``max_bytes <= 0`` or the store is
        writable (its chunks may change).
    """
    if max_bytes <= 0 or not store.read_only:
        return store
    return ChunkCache(store, max_bytes)
