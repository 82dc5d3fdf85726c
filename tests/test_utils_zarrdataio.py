"""ZarrDataIO's public API of hdmf-zarr 0.14 beside 0.13's (issue 13; ../shared/API-0.14.md).

Each configuration is written in both layouts (L2, L3), the stored codecs are read from the
array document and every value is compared after reading back.
"""

import json
import sys
from pathlib import Path

import h5py
import numcodecs
import numpy as np
import pytest
from hdmf.utils import get_docval
from zarr.codecs import BloscCodec, ZstdCodec

from hdmf_zarr.errors import UnsupportedDataError
from hdmf_zarr.utils import ZarrDataIO

sys.path.insert(0, str(Path(__file__).parent / "write"))
from _large import LAYOUT, array_doc, check_roundtrip, nwbfile_with, read_values, write_nwb

NODE = "acquisition/ts/data"
DATA = (np.arange(200 * 10, dtype="<i4").reshape(200, 10) % 89) * 7


def _write(tmp_path, layout, dataio, expected=DATA, stem="d"):
    nwbfile = nwbfile_with(dataio)
    path = write_nwb(tmp_path / f"{stem}{layout}.nwb.zarr", nwbfile, layout)
    check_roundtrip(path, nwbfile)
    np.testing.assert_array_equal(read_values(path), expected)
    return array_doc(path, NODE)


def _chunks(doc):
    if doc["zarr_format"] == 2:
        return doc["chunks"]
    grid = doc["chunk_grid"]["configuration"]["chunk_shape"]
    for codec in doc["codecs"]:
        if codec["name"] == "sharding_indexed":
            return codec["configuration"]["chunk_shape"]
    return grid


def _v3_names(doc):
    codecs = doc["codecs"]
    if codecs[0]["name"] == "sharding_indexed":
        codecs = codecs[0]["configuration"]["codecs"]
    return [c["name"] for c in codecs]


# signature ----------------------------------------------------------------------------------
def test_signature_is_014_order():
    names = [a["name"] for a in get_docval(ZarrDataIO.__init__)]
    assert names == ["data", "chunks", "fillvalue", "compressors", "compressor", "filters",
                     "serializer", "shards", "link_data"]
    defaults = {a["name"]: a.get("default", "required") for a in get_docval(ZarrDataIO.__init__)}
    assert defaults["link_data"] is False
    assert all(defaults[k] is None for k in names if k != "link_data")


@LAYOUT
def test_compressors_and_compressor_spellings_store_the_same(tmp_path, layout):
    new = _write(tmp_path, layout, ZarrDataIO(DATA, chunks=(50, 10),
                                              compressors=[ZstdCodec(level=3)]), stem="new")
    old = _write(tmp_path, layout, ZarrDataIO(DATA, chunks=(50, 10),
                                              compressor=numcodecs.Zstd(level=3)), stem="old")
    if layout == 2:
        assert new["compressor"] == old["compressor"]
        assert new["compressor"]["id"] == "zstd" and new["compressor"]["level"] == 3
    else:
        assert new["codecs"] == old["codecs"]
        assert new["codecs"][-1] == {"name": "zstd", "configuration": {"level": 3,
                                                                       "checksum": False}}


@LAYOUT
def test_positional_fourth_argument_is_a_compressor_in_both_apis(tmp_path, layout):
    """0.13 code passes one codec as the fourth positional argument (its ``compressor``); in
    0.14's order that slot is ``compressors``, which takes one codec the same way."""
    dataio = ZarrDataIO(DATA, (50, 10), None, numcodecs.Blosc(cname="zstd", clevel=2))
    doc = _write(tmp_path, layout, dataio)
    if layout == 2:
        assert doc["compressor"]["id"] == "blosc" and doc["compressor"]["cname"] == "zstd"
    else:
        assert _v3_names(doc) == ["bytes", "blosc"]
    assert _chunks(doc) == [50, 10]


# shards="auto" ------------------------------------------------------------------------------
def test_shards_auto_is_the_policy(tmp_path):
    data = np.arange(4000, dtype="<i2")
    auto = _write(tmp_path, 3, ZarrDataIO(data, chunks=(10,), shards="auto"), expected=data,
                  stem="auto")
    assert auto["codecs"][0]["name"] == "sharding_indexed"  # 400 chunks: the policy shards
    assert auto["codecs"][0]["configuration"]["chunk_shape"] == [10]
    policy = _write(tmp_path, 3, ZarrDataIO(data, chunks=(10,), shards=True), expected=data,
                    stem="true")
    assert auto["chunk_grid"] == policy["chunk_grid"]
    assert auto["codecs"] == policy["codecs"]
    small = _write(tmp_path, 3, ZarrDataIO(data, chunks=(1000,), shards="auto"),
                   expected=data, stem="small")
    assert small["codecs"][0]["name"] != "sharding_indexed"  # 4 chunks: not sharded


def test_shards_auto_in_l2_stores_plain_chunks(tmp_path):
    data = np.arange(4000, dtype="<i2")
    doc = _write(tmp_path, 2, ZarrDataIO(data, chunks=(10,), shards="auto"), expected=data)
    assert doc["chunks"] == [10]


def test_shards_other_string_refused():
    with pytest.raises(UnsupportedDataError, match="'auto'"):
        ZarrDataIO(DATA, shards="big")


# HDF5 datasets ------------------------------------------------------------------------------
@pytest.fixture
def h5file(tmp_path):
    f = h5py.File(tmp_path / "src.h5", "w")
    f.create_dataset("gzip", data=DATA, chunks=(20, 10), compression="gzip",
                     compression_opts=4, shuffle=True)
    f.create_dataset("plain", data=DATA)
    f.create_dataset("filled", shape=DATA.shape, dtype=DATA.dtype, chunks=(40, 10),
                     fillvalue=-5)
    f["filled"][:100] = DATA[:100]
    yield f
    f.close()


def test_is_h5py_dataset(h5file):
    assert ZarrDataIO.is_h5py_dataset(h5file["gzip"]) is True
    assert ZarrDataIO.is_h5py_dataset(DATA) is False
    assert ZarrDataIO.is_h5py_dataset(h5file) is False  # a File, not a Dataset


def test_hdf5_to_zarr_filters(h5file):
    codecs = ZarrDataIO.hdf5_to_zarr_filters(h5file["gzip"])
    assert [c.to_dict() for c in codecs] == [
        {"name": "numcodecs.shuffle", "configuration": {"elementsize": 4}},
        {"name": "numcodecs.zlib", "configuration": {"level": 4}}]
    assert ZarrDataIO.hdf5_to_zarr_filters(h5file["plain"]) == []
    with pytest.raises(TypeError, match="h5py.Dataset"):
        ZarrDataIO.hdf5_to_zarr_filters(DATA)


@LAYOUT
def test_from_h5py_dataset_keeps_chunks_and_filters(tmp_path, layout, h5file):
    dataio = ZarrDataIO.from_h5py_dataset(h5file["gzip"])
    assert dataio.data == h5file["gzip"]  # h5py makes a new object per access
    assert dataio.io_settings["chunks"] == (20, 10)
    doc = _write(tmp_path, layout, dataio)
    assert _chunks(doc) == [20, 10]
    if layout == 2:
        assert doc["compressor"] == {"id": "zlib", "level": 4}
        assert doc["filters"] == [{"id": "shuffle", "elementsize": 4}]
    else:
        assert _v3_names(doc) == ["bytes", "numcodecs.shuffle", "numcodecs.zlib"]


@LAYOUT
def test_from_h5py_dataset_kwargs_replace(tmp_path, layout, h5file):
    dataio = ZarrDataIO.from_h5py_dataset(h5file["gzip"], chunks=(50, 10),
                                          compressors=[BloscCodec(cname="lz4", clevel=1)])
    doc = _write(tmp_path, layout, dataio)
    assert _chunks(doc) == [50, 10]
    if layout == 2:
        assert doc["compressor"]["id"] == "blosc" and doc["filters"] is None
    else:
        assert _v3_names(doc) == ["bytes", "blosc"]


@LAYOUT
def test_from_h5py_dataset_fill_value(tmp_path, layout, h5file):
    dataio = ZarrDataIO.from_h5py_dataset(h5file["filled"])
    assert dataio.io_settings["fillvalue"] == -5
    expected = np.full(DATA.shape, -5, dtype=DATA.dtype)
    expected[:100] = DATA[:100]
    doc = _write(tmp_path, layout, dataio, expected=expected)
    assert doc["fill_value"] == -5


def test_from_h5py_dataset_refuses_other_data():
    with pytest.raises(TypeError, match="h5py.Dataset"):
        ZarrDataIO.from_h5py_dataset(DATA)


# parameters, properties, repr ---------------------------------------------------------------
def test_get_io_params_rebuilds_the_settings():
    dataio = ZarrDataIO(DATA, chunks=[50, 10], fillvalue=3, compressors=[ZstdCodec(level=1)],
                        filters=[numcodecs.Delta(dtype="<i4")], shards="auto", link_data=True)
    assert dataio.link_data is True
    assert dataio.io_settings == {"chunks": (50, 10), "shards": True, "fillvalue": 3,
                                  "compressors": [ZstdCodec(level=1)],
                                  "filters": [numcodecs.Delta(dtype="<i4")]}
    params = dataio.get_io_params()
    assert params == {**dataio.io_settings, "link_data": True}
    again = ZarrDataIO(DATA[:10], **params)
    assert again.io_settings == dataio.io_settings and again.link_data is True
    assert ZarrDataIO(DATA).link_data is False
    assert ZarrDataIO(DATA).get_io_params() == {"link_data": False}


def test_repr_says_what_it_holds(h5file):
    text = repr(ZarrDataIO(DATA, chunks=(50, 10), compressor=numcodecs.Zstd(level=2),
                           filters=[numcodecs.Delta(dtype="<i4")]))
    assert text.startswith("ZarrDataIO(")
    for part in ("shape=(200, 10)", "dtype=int32", "chunks=(50, 10)", "Zstd(level=2",
                 "Delta(dtype='<i4'"):
        assert part in text, text
    h5 = repr(ZarrDataIO.from_h5py_dataset(h5file["gzip"]))
    for part in ("shape=(200, 10)", "dtype=int32", "chunks=(20, 10)", "numcodecs.shuffle",
                 "numcodecs.zlib"):
        assert part in h5, h5
    assert repr(ZarrDataIO([1, 2, 3])) == "ZarrDataIO(shape=(3,))"
    assert "link_data=True" in repr(ZarrDataIO(DATA, link_data=True))


def test_l2_text_takes_compressors(tmp_path):
    """0.14's compressors= on a text column in L2 (an object array written by our encoder)."""
    from hdmf.common import DynamicTable, VectorData, get_manager

    from hdmf_zarr.backend import ZarrIO

    words = [f"w{i}" for i in range(100)]
    table = DynamicTable(name="t", description="text", id=list(range(100)), columns=[
        VectorData(name="s", description="words",
                   data=ZarrDataIO(words, compressors=[ZstdCodec(level=5)]))])
    path = tmp_path / "t.zarr"
    with ZarrIO(str(path), mode="w", zarr_format=2, manager=get_manager()) as io:
        io.write(table)
    with ZarrIO(str(path), mode="r", manager=get_manager()) as io:
        assert [str(v) for v in io.read()["s"].data[()]] == words
    doc = json.loads((path / "s" / ".zarray").read_text())
    assert doc["compressor"]["id"] == "zstd" and doc["compressor"]["level"] == 5
