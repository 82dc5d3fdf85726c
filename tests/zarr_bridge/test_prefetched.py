"""zarr_bridge.prefetched: the store view answering fetched keys, and Zarr's read concurrency."""

import asyncio

import numpy as np
import zarr
from zarr.storage import MemoryStore, WrapperStore

from hdmf_zarr.zarr_bridge import store_io
from hdmf_zarr.zarr_bridge.prefetched import (
    PrefetchedStore,
    concurrent_reads,
    gather,
    getitem_async,
)
from hdmf_zarr.zarr_bridge.runtime import run


class _Counting(WrapperStore):
    def __init__(self, store):
        super().__init__(store)
        self.keys = []

    async def get(self, key, prototype, byte_range=None):
        self.keys.append(key)
        return await self._store.get(key, prototype, byte_range)


def test_fetched_keys_are_answered_without_a_request():
    inner = _Counting(MemoryStore())
    store_io.set_many(inner, {"a": b"1", "b": b"2"})
    view = PrefetchedStore(inner, {"a": b"x", "gone": None})
    assert store_io.get_bytes(view, "a") == b"x"
    assert store_io.get_bytes(view, "gone") is None
    assert inner.keys == []
    assert store_io.get_many(view, ["a", "b"]) == {"a": b"x", "b": b"2"}
    assert inner.keys == ["b"]


def test_a_write_forgets_the_fetched_bytes():
    inner = MemoryStore()
    view = PrefetchedStore(inner, {"a": b"old"})
    store_io.set_bytes(view, "a", b"new")
    assert store_io.get_bytes(view, "a") == b"new"


def test_wrapper_store_forwards_what_is_not_overridden():
    inner = MemoryStore()
    store_io.set_many(inner, {"x/y": b"1"})
    view = PrefetchedStore(inner)
    assert store_io.list_prefix(view, "") == ["x/y"]
    assert view.read_only == inner.read_only


def test_reads_of_many_arrays_gather_in_one_run():
    store = MemoryStore()
    arrays = []
    for i in range(3):
        a = zarr.create_array(store, name=f"a{i}", shape=(4,), dtype="int32")
        a[...] = np.arange(4) + i
        arrays.append(a)
    out = run(gather(*(getitem_async(a, slice(1, 3)) for a in arrays)))
    for i, got in enumerate(out):
        np.testing.assert_array_equal(got, [1 + i, 2 + i])


def test_gather_returns_exceptions_in_place():
    async def fail():
        raise KeyError("x")

    async def ok():
        await asyncio.sleep(0)
        return 1

    out = run(gather(ok(), fail()))
    assert out[0] == 1 and isinstance(out[1], KeyError)


def test_concurrent_reads_raises_zarrs_limit_for_the_duration_only():
    before = zarr.config.get("async.concurrency")
    with concurrent_reads(before + 50):
        assert zarr.config.get("async.concurrency") == before + 50
    assert zarr.config.get("async.concurrency") == before
    with concurrent_reads(1):  # never lowered
        assert zarr.config.get("async.concurrency") == before
