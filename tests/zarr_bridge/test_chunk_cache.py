"""The chunk cache of remote readers (hdmf_zarr.zarr_bridge.chunk_cache), and what it relies on
in Zarr's WrapperStore and byte requests, checked against the installed Zarr with a counting
store."""

import asyncio
import pickle
from collections import Counter

import numpy as np
import zarr
from zarr.abc.store import RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import default_buffer_prototype
from zarr.storage import MemoryStore, WrapperStore

from hdmf_zarr.zarr_bridge.chunk_cache import ChunkCache, chunk_cache


class _Counting(WrapperStore):
    def __init__(self, store, counts=None):
        super().__init__(store)
        self.counts = Counter() if counts is None else counts

    def _with_store(self, store):
        return type(self)(store, self.counts)

    async def get(self, key, prototype, byte_range=None):
        self.counts[key, byte_range] += 1
        return await self._store.get(key, prototype, byte_range)


def _store(values):
    memory = MemoryStore()
    for key, value in values.items():
        zarr.core.sync.sync(memory.set(key, default_buffer_prototype().buffer.from_bytes(value)))
    return _Counting(memory.with_read_only(True))


def _get(store, key, byte_range=None):
    async def go():
        value = await store.get(key, default_buffer_prototype(), byte_range)
        return None if value is None else value.to_bytes()
    return zarr.core.sync.sync(go())


def test_a_key_or_range_read_again_is_served_from_the_cache():
    inner = _store({"a/c/0": b"0123456789", "b/c/0": b"abc"})
    cached = chunk_cache(inner, 1000)
    assert isinstance(cached, ChunkCache)
    for _ in range(3):
        assert _get(cached, "a/c/0") == b"0123456789"
        assert _get(cached, "a/c/0", RangeByteRequest(2, 5)) == b"234"
        assert _get(cached, "a/c/0", SuffixByteRequest(4)) == b"6789"
    assert set(inner.counts.values()) == {1}
    assert _get(cached, "missing") is None and _get(cached, "missing") is None
    assert inner.counts["missing", None] == 2  # absence is not kept


def test_the_cache_is_bounded():
    inner = _store({f"k{i}": bytes([i]) * 100 for i in range(10)} | {"big": b"x" * 500})
    cached = chunk_cache(inner, 250)
    for i in range(10):
        _get(cached, f"k{i}")
    _get(cached, "k0")  # evicted long ago: read again
    _get(cached, "k9")  # most recent: kept
    assert inner.counts["k0", None] == 2 and inner.counts["k9", None] == 1
    assert cached.kept_bytes <= 250
    _get(cached, "big")
    _get(cached, "big")  # larger than the bound: never kept
    assert inner.counts["big", None] == 2


def test_read_only_views_share_the_cache_and_writable_stores_get_none():
    inner = _store({"a": b"1"})
    cached = chunk_cache(inner, 100)
    _get(cached, "a")
    view = cached.with_read_only(True)
    assert isinstance(view, ChunkCache)
    _get(view, "a")
    assert inner.counts["a", None] == 1
    assert not isinstance(cached.with_read_only(False), ChunkCache)
    assert chunk_cache(MemoryStore(), 100).__class__ is MemoryStore  # writable: no cache
    assert chunk_cache(inner, 0) is inner


def test_arrays_read_through_the_cache_and_pickle_without_it():
    memory = MemoryStore()
    array = zarr.create_array(memory, shape=(1000,), chunks=(100,), shards=(500,), dtype="i4")
    array[:] = np.arange(1000)
    counting = _Counting(memory.with_read_only(True))
    read = zarr.open_array(chunk_cache(counting, 2**20), mode="r")
    np.testing.assert_array_equal(read[100:150], np.arange(100, 150))
    before = sum(counting.counts.values())
    np.testing.assert_array_equal(read[100:150], np.arange(100, 150))
    np.testing.assert_array_equal(read[120:130], np.arange(120, 130))
    assert sum(counting.counts.values()) == before
    copy = pickle.loads(pickle.dumps(read))
    assert isinstance(copy.store, ChunkCache)
    assert copy.store.kept_bytes == 0
    np.testing.assert_array_equal(copy[:], np.arange(1000))


def test_concurrent_reads_of_one_key():
    inner = _store({"a": b"1" * 10})
    cached = chunk_cache(inner, 100)

    async def many():
        prototype = default_buffer_prototype()
        return await asyncio.gather(*(cached.get("a", prototype) for _ in range(20)))
    assert all(v.to_bytes() == b"1" * 10 for v in zarr.core.sync.sync(many()))
    assert _get(cached, "a") == b"1" * 10
