"""Arrays read straight from their one chunk, off their parsed document (read.scalars
``single_chunk_plan`` / ``read_single_chunk``, used by ``read.lazy.ZarrArray`` and the batched
scalar read): the values are exactly Zarr's, Zarr is not asked to parse the array, and whatever
the fast path does not handle is still read by Zarr."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest
import zarr

# the same codec chains as the batched scalar tests
from test_scalars import V2_COMPRESSORS, V3_CODECS
from zarr.codecs import Crc32cCodec, ZstdCodec
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import MemoryStore

from hdmf_zarr.errors import FormatError
from hdmf_zarr.read.lazy import array_from_metadata
from hdmf_zarr.read.scalars import MISSING, read_scalar_chunks, single_chunk_plan
from hdmf_zarr.zarr_bridge.store_io import get_json

DTYPES = ["int8", "uint16", "<i4", ">i8", "float32", ">f8", "bool"]
SHAPES = [(), (1,), (7,), (3, 4)]


def _values(dtype, shape):
    rng = np.random.default_rng(sum(shape) + len(dtype))
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) > 0.5
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 1e3).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, dtype=dt.newbyteorder("="),
                        endpoint=True).astype(dt)


def _ours(store, zarr_array, zarr_format):
    """Our lazy array over the same stored array, built from its documents."""
    path = zarr_array.path
    if zarr_format == 3:
        meta = get_json(store, f"{path}/zarr.json")
        attrs = meta.pop("attributes", {})
    else:
        meta = get_json(store, f"{path}/.zarray")
        attrs = get_json(store, f"{path}/.zattrs") or {}
    return array_from_metadata(store.with_read_only(True), path, meta, attrs, zarr_format)


def _check(store, arrays, zarr_format):
    for zarr_array, values in arrays:
        ours = _ours(store, zarr_array, zarr_format)
        expected = zarr_array[...]
        np.testing.assert_array_equal(expected, values)
        if zarr_array.shape in ((), (1,)):
            (got,) = read_scalar_chunks([ours])
            assert got is not MISSING, zarr_array.path
            assert got == np.asarray(expected).reshape(-1)[0]
            assert got.dtype == np.asarray(expected).dtype.newbyteorder("=") or \
                got.dtype == np.asarray(expected).dtype
        if zarr_array.ndim:
            whole = ours[...]
            assert whole.dtype.isnative
            assert whole.dtype == expected.dtype.newbyteorder("=")
            np.testing.assert_array_equal(whole, expected)
            np.testing.assert_array_equal(ours[0], expected[0])
            np.testing.assert_array_equal(ours[1:], expected[1:])
        # Zarr never parsed the array: everything came from the chunk
        assert ours.__dict__["_hdmf_zarr_async"] is None, zarr_array.path


@pytest.mark.parametrize("codecs", V3_CODECS)
def test_v3_single_chunk_equals_zarr(codecs):
    store = MemoryStore()
    arrays = []
    for i, dtype in enumerate(DTYPES):
        for j, shape in enumerate(SHAPES):
            dt = np.dtype(dtype)
            arr = zarr.create_array(store, name=f"g/a{i}_{j}", shape=shape,
                                    dtype=dt.newbyteorder("<") if dt.itemsize > 1 else dt,
                                    chunks=shape or (), serializer=V3_CODECS[codecs][0],
                                    compressors=V3_CODECS[codecs][1:], zarr_format=3)
            values = _values(dtype, shape)
            arr[...] = values
            arrays.append((arr, values))
    _check(store, arrays, 3)


@pytest.mark.parametrize("separator", [".", "/"])
@pytest.mark.parametrize("compressor", V2_COMPRESSORS)
def test_v2_single_chunk_equals_zarr(compressor, separator):
    store = MemoryStore()
    arrays = []
    for i, dtype in enumerate(DTYPES):
        for j, shape in enumerate(SHAPES):
            arr = zarr.create_array(store, name=f"a{i}_{j}", shape=shape, dtype=dtype,
                                    chunks=shape or (), compressors=V2_COMPRESSORS[compressor],
                                    chunk_key_encoding={"name": "v2", "separator": separator},
                                    zarr_format=2)
            values = _values(dtype, shape)
            arr[...] = values
            arrays.append((arr, values))
    _check(store, arrays, 2)


def test_plan_refuses_what_zarr_must_read():
    """Several chunks, other codecs, sharding, text and Fortran order get no plan."""
    store = MemoryStore()
    cases = {
        "several": {"shape": (8,), "chunks": (4,), "dtype": "i4", "zarr_format": 3},
        "crc": {"shape": (4,), "dtype": "i4", "compressors": [Crc32cCodec()], "zarr_format": 3},
        "sharded": {"shape": (8,), "chunks": (4,), "shards": (8,), "dtype": "i4", "zarr_format": 3},
        "text": {"shape": (2,), "dtype": str, "zarr_format": 3},
        "delta": {"shape": (4,), "dtype": "i4", "filters": [numcodecs.Delta(dtype="i4")],
                      "zarr_format": 2},
        "fortran": {"shape": (2, 2), "dtype": "i4", "order": "F", "zarr_format": 2},
    }
    for name, kw in cases.items():
        fmt = kw["zarr_format"]
        zarr.create_array(store, name=name, **kw)
        meta = get_json(store, f"{name}/zarr.json" if fmt == 3 else f"{name}/.zarray")
        assert single_chunk_plan(store, name, meta, fmt) is None, name


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_absent_and_corrupt_chunks_go_through_zarr(zarr_format):
    store = MemoryStore()
    absent = zarr.create_array(store, name="absent", shape=(5,), dtype="f8", fill_value=4.5,
                               zarr_format=zarr_format)
    ours = _ours(store, absent, zarr_format)
    np.testing.assert_array_equal(ours[...], np.full(5, 4.5))
    (got,) = read_scalar_chunks([_ours(store, zarr.create_array(
        store, name="absent0", shape=(), dtype="f8", fill_value=2.5, zarr_format=zarr_format),
        zarr_format)])
    assert got is MISSING  # the caller asks Zarr, which gives the fill value

    corrupt = zarr.create_array(store, name="corrupt", shape=(5,), dtype="f8",
                                compressors=[ZstdCodec() if zarr_format == 3
                                             else numcodecs.Zstd()],
                                zarr_format=zarr_format)
    corrupt[...] = 1.0
    key = "corrupt/c/0" if zarr_format == 3 else "corrupt/0"
    sync(store.set(key, default_buffer_prototype().buffer.from_bytes(b"not zstd at all")))
    with pytest.raises(FormatError, match="/corrupt"):
        _ours(store, corrupt, zarr_format)[...]

    short = zarr.create_array(store, name="short", shape=(5,), dtype="f8",
                              compressors=None, zarr_format=zarr_format)
    short[...] = 1.0
    key = "short/c/0" if zarr_format == 3 else "short/0"
    sync(store.set(key, default_buffer_prototype().buffer.from_bytes(b"\0" * 16)))
    with pytest.raises(FormatError, match="/short"):
        _ours(store, short, zarr_format)[...]
