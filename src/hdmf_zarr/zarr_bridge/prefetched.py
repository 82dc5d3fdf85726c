"""Reads in waves: keys fetched together, and a store view serving what was fetched.

On a remote store every sequential request costs a round trip (20-100 ms), so the reader asks
for everything it knows it needs at once (docs/performance.md, "Streaming"). This module holds
the Zarr-facing parts of that:

* :class:`PrefetchedStore`, a read view of a store that answers whole-key ``get`` requests from
  bytes fetched earlier (and forwards everything else), so that code which reads through a store
  (the L2 object arrays, the cached specifications) reads fetched bytes without a request;
* :func:`concurrent_reads`, raising how many chunk requests one selection keeps in flight
  (Zarr's ``async.concurrency``, read by Zarr when a selection is read);
* :func:`getitem_async`, the coroutine reading a selection of a ``zarr.Array``, so that the reads
  of many arrays can be gathered in one wave with :func:`~.runtime.run`.

What we rely on (checked by ``tests/zarr_bridge/test_prefetched.py``): ``zarr.Array`` keeps its
``AsyncArray`` in ``_async_array`` and ``AsyncArray.getitem(selection)`` reads a selection;
``zarr.storage.WrapperStore`` forwards every store method to the wrapped store except those
overridden here; a store's ``_get_many`` yields ``(key, buffer or None)`` pairs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping
from typing import Any

import zarr
from zarr.abc.store import ByteRequest, Store
from zarr.storage import WrapperStore

from .runtime import Buffer, BufferPrototype

__all__ = ["PrefetchedStore", "getitem_async", "gather", "concurrent_reads",
           "READ_CONCURRENCY"]

#: Chunk (or shard) requests one selection keeps in flight (Zarr's default is 10, so a slice
#: over 40 chunks waited for 4 round trips on a remote store).
READ_CONCURRENCY = 64


class PrefetchedStore(WrapperStore):
    """A view of ``store`` that answers whole-key reads from fetched bytes.

    Parameters
    ----------
    store : zarr.abc.store.Store
        The store read (every request not answered from ``fetched`` goes to it).
    fetched : mapping of str to bytes or None, optional
        Store key -> the bytes fetched (None: the key was found absent). More are added with
        :meth:`add`.

    Notes
    -----
    Only whole-key reads (no byte range) are answered from memory; writes and deletes go to the
    wrapped store and forget the fetched bytes of their key, so the view never serves stale
    data.
    """

    def __init__(self, store: Store, fetched: Mapping[str, bytes | None] | None = None):
        super().__init__(store)
        self.fetched: dict[str, bytes | None] = dict(fetched or {})

    def _with_store(self, store: Store) -> PrefetchedStore:
        return type(self)(store, self.fetched)

    def add(self, fetched: Mapping[str, bytes | None]) -> None:
        """Remember more fetched keys (bytes, or None for a key found absent)."""
        self.fetched.update(fetched)

    async def get(self, key: str, prototype: BufferPrototype,
                  byte_range: ByteRequest | None = None) -> Buffer | None:
        if byte_range is None and key in self.fetched:
            value = self.fetched[key]
            return None if value is None else prototype.buffer.from_bytes(value)
        return await self._store.get(key, prototype, byte_range)

    async def _get_many(self, requests: Iterable[tuple[str, BufferPrototype,
                                                       ByteRequest | None]]
                        ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        rest = []
        for key, prototype, byte_range in requests:
            if byte_range is None and key in self.fetched:
                value = self.fetched[key]
                yield key, None if value is None else prototype.buffer.from_bytes(value)
            else:
                rest.append((key, prototype, byte_range))
        if rest:
            async for item in self._store._get_many(rest):
                yield item

    async def set(self, key: str, value: Buffer) -> None:
        self.fetched.pop(key, None)
        await self._store.set(key, value)

    async def _set_many(self, values: Iterable[tuple[str, Buffer]]) -> None:
        values = list(values)
        for key, _value in values:
            self.fetched.pop(key, None)
        await self._store._set_many(values)

    async def delete(self, key: str) -> None:
        self.fetched.pop(key, None)
        await self._store.delete(key)


@contextlib.contextmanager
def concurrent_reads(limit: int = READ_CONCURRENCY) -> Iterator[None]:
    """Let the reads made inside keep up to ``limit`` chunk requests in flight (Zarr's
    ``async.concurrency`` setting, raised for the duration when lower; never lowered)."""
    if int(zarr.config.get("async.concurrency") or 0) >= limit:
        yield
        return
    with zarr.config.set({"async.concurrency": limit}):
        yield


def getitem_async(array: Any, selection: Any):
    """The coroutine reading ``array[selection]`` of a ``zarr.Array`` (Zarr's result type: a
    numpy array, 0-d for a single element), to be gathered with other reads in one wave."""
    return array._async_array.getitem(selection)


async def gather(*coros: Any) -> list:
    """Await ``coros`` concurrently; exceptions are returned in place of results."""
    return list(await asyncio.gather(*coros, return_exceptions=True))
