"""The assumptions zarr_bridge.lazy_array makes about the installed Zarr, each checked."""

import dataclasses

import numpy as np
import pytest
import zarr
from zarr.storage import MemoryStore

from hdmf_zarr.zarr_bridge import store_io
from hdmf_zarr.zarr_bridge.lazy_array import (
    LazyArray,
    open_async_array,
    parsed_one_element_plan,
    unparsed_document,
)


def _array(fmt, shape=(4,), dtype="int16", **kw):
    store = MemoryStore()
    arr = zarr.create_array(store, name="a", shape=shape, dtype=dtype, chunks=shape or None,
                            zarr_format=fmt, **kw)
    if shape:
        arr[...] = np.arange(1, int(np.prod(shape)) + 1, dtype=dtype).reshape(shape)
    else:
        arr[()] = 7
    doc = store_io.get_json(store, "a/zarr.json" if fmt == 3 else "a/.zarray")
    doc.pop("attributes", None)
    return store, arr, doc


def test_zarr_array_is_a_dataclass_of_one_field():
    assert dataclasses.is_dataclass(zarr.Array)
    assert [f.name for f in dataclasses.fields(zarr.Array)] == ["_async_array"]


@pytest.mark.parametrize("fmt", [2, 3])
def test_lazy_array_parses_on_first_use_only(fmt):
    store, arr, doc = _array(fmt)
    calls = []

    def factory():
        calls.append(1)
        return open_async_array(store, "a", {**doc, "attributes": {}}, fmt)

    lazy = LazyArray(factory=factory, shape=(4,), dtype=np.dtype("int16"),
                     document=(store, "a", doc, fmt))
    assert lazy.shape == (4,) and lazy.ndim == 1 and lazy.dtype == np.int16
    assert unparsed_document(lazy) == (store, "a", doc, fmt)
    assert not calls
    np.testing.assert_array_equal(lazy[...], arr[...])  # zarr.Array methods reach it
    assert calls == [1] and lazy.is_parsed() and unparsed_document(lazy) is None
    lazy.set_extra("x", 5)
    assert lazy.extra("x") == 5 and lazy.extra("y") is None


@pytest.mark.parametrize("fmt", [2, 3])
def test_one_element_plan_reads_zarrs_parsed_metadata(fmt):
    store, arr, doc = _array(fmt, shape=(1,), dtype="float64")
    aa = open_async_array(store, "a", {**doc, "attributes": {}}, fmt)
    plan = parsed_one_element_plan(LazyArray(aa), frozenset({"zstd", "blosc"}))
    assert plan is not None
    got_store, key, dtype, decoders = plan
    assert got_store is store and key == ("a/c/0" if fmt == 3 else "a/0")
    assert dtype == np.float64
    raw = store_io.get_bytes(store, key)
    for d in reversed(decoders):
        raw = d.decode(raw)
    assert np.frombuffer(raw, dtype=dtype)[0] == arr[0]


def test_one_element_plan_refuses_larger_arrays():
    store, _arr, doc = _array(3, shape=(4,))
    aa = open_async_array(store, "a", {**doc, "attributes": {}}, 3)
    assert parsed_one_element_plan(LazyArray(aa), frozenset()) is None
