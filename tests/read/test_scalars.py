"""The batched read of one-element numeric arrays (hdmf_zarr.read.scalars) gives exactly what
Zarr gives, and leaves to Zarr what it does not handle."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, ZstdCodec
from zarr.storage import MemoryStore

from hdmf_zarr.read.scalars import MISSING, read_scalar_chunks

DTYPES = ["int8", "uint16", "<i4", ">i8", "float32", ">f8", "bool", "complex128"]
VALUES = {"int8": -7, "uint16": 65000, "<i4": -123456, ">i8": 2**40 + 3, "float32": 1.5,
          ">f8": -2.25e-300, "bool": True, "complex128": 1 - 2j}

V3_CODECS = {
    "bytes": [BytesCodec()],
    "bytes-big": [BytesCodec(endian="big")],
    "zstd": [BytesCodec(), ZstdCodec(level=3)],
    "blosc": [BytesCodec(), BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=4)],
    "gzip": [BytesCodec(), GzipCodec(level=2)],
}
V2_COMPRESSORS = {"none": None, "zstd": numcodecs.Zstd(level=1),
                  "blosc": numcodecs.Blosc(cname="zstd", clevel=5, shuffle=1),
                  "zlib": numcodecs.Zlib(level=1), "gzip": numcodecs.GZip(level=1),
                  "lz4": numcodecs.LZ4()}


def _v3(store, name, dtype, shape, codecs):
    dt = np.dtype(dtype)
    if dt.byteorder == ">" and dt.itemsize > 1:
        dt = dt.newbyteorder("<")  # zarr 3 takes the endianness from the bytes codec
    return zarr.create_array(store, name=name, shape=shape, dtype=dt, chunks=shape or (),
                             serializer=codecs[0], compressors=codecs[1:], zarr_format=3)


def _assert_same_as_zarr(arrays, shape):
    got = read_scalar_chunks(arrays)
    for arr, value in zip(arrays, got):
        assert value is not MISSING, arr.path
        # what the reader keeps of Zarr's answer: the element as a numpy scalar
        expected = np.asarray(arr[()] if shape == () else arr[0])[()]
        assert type(value) is type(expected), arr.path
        assert value == expected, arr.path


@pytest.mark.parametrize("codecs", V3_CODECS)
@pytest.mark.parametrize("shape", [(), (1,)], ids=["0d", "1"])
def test_v3_values_equal_zarr(codecs, shape):
    store = MemoryStore()
    arrays = []
    for i, dtype in enumerate(DTYPES):
        arr = _v3(store, f"g/a{i}", dtype, shape, V3_CODECS[codecs])
        arr[...] = VALUES[dtype]
        arrays.append(arr)
    _assert_same_as_zarr(arrays, shape)


@pytest.mark.parametrize("compressor", V2_COMPRESSORS)
@pytest.mark.parametrize("shape", [(), (1,)], ids=["0d", "1"])
def test_v2_values_equal_zarr(compressor, shape):
    store = MemoryStore()
    arrays = []
    for i, dtype in enumerate(DTYPES):
        arr = zarr.create_array(store, name=f"a{i}", shape=shape, dtype=dtype,
                                chunks=shape or (), compressors=V2_COMPRESSORS[compressor],
                                zarr_format=2)
        arr[...] = VALUES[dtype]
        arrays.append(arr)
    _assert_same_as_zarr(arrays, shape)


def test_left_to_zarr():
    """Absent chunks (fill value), other codec chains, filters, text, several elements and
    corrupt chunks are not read here."""
    store = MemoryStore()
    absent = zarr.create_array(store, name="absent", shape=(), dtype="f8", fill_value=4.5,
                               zarr_format=3)
    delta = zarr.create_array(store, name="delta", shape=(1,), dtype="i4", chunks=(1,),
                              filters=[numcodecs.Delta(dtype="i4")], zarr_format=2)
    delta[...] = 3
    crc = zarr.create_array(store, name="crc", shape=(), dtype="i4",
                            compressors=[zarr.codecs.Crc32cCodec()], zarr_format=3)
    crc[...] = 3
    text = zarr.create_array(store, name="text", shape=(), dtype=str, zarr_format=3)
    text[...] = "x"
    two = zarr.create_array(store, name="two", shape=(2,), dtype="i4", chunks=(2,),
                            zarr_format=3)
    two[...] = [1, 2]
    corrupt = zarr.create_array(store, name="corrupt", shape=(), dtype="f8",
                                compressors=[ZstdCodec()], zarr_format=3)
    corrupt[...] = 1.0
    zarr.core.sync.sync(store.set("corrupt/c", zarr.core.buffer.default_buffer_prototype()
                                  .buffer.from_bytes(b"not zstd")))
    good = zarr.create_array(store, name="good", shape=(), dtype="u1", zarr_format=3)
    good[...] = 9
    got = read_scalar_chunks([absent, delta, crc, text, two, corrupt, good])
    assert got[:6] == [MISSING] * 6
    assert got[6] == 9 and got[6].dtype == np.uint8
