"""Codecs of ZarrDataIO in both layouts (write/codecs.py; docs/large-data.md "Codecs").

numcodecs codecs given to layout L3 and Zarr 3 codecs given to layout L2 are translated; what
has no equivalent is an error naming the dataset. Every case writes an NWB file, checks the
codec stored in the array document and compares every value read back.
"""

import numcodecs
import numpy as np
import pytest
import zarr
from _large import (
    LAYOUT,
    array_doc,
    check_roundtrip,
    nwbfile_with,
    read_values,
    stored_objects,
    write_nwb,
)
from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, TransposeCodec, ZstdCodec

from hdmf_zarr.errors import UnknownCodecError, UnsupportedDataError
from hdmf_zarr.utils import ZarrDataIO
from hdmf_zarr.write.codecs import to_numcodecs, to_zarr3

NODE = "acquisition/ts/data"
DATA = (np.arange(300 * 4, dtype="<i2").reshape(300, 4) % 97) * 3


def _write(tmp_path, layout, **dataio_kwargs):
    nwbfile = nwbfile_with(ZarrDataIO(DATA, chunks=(100, 4), **dataio_kwargs))
    path = write_nwb(tmp_path / f"c{layout}.nwb.zarr", nwbfile, layout)
    check_roundtrip(path, nwbfile)
    np.testing.assert_array_equal(read_values(path), DATA)
    return path


def _v2_codecs(path):
    doc = array_doc(path, NODE)
    assert doc["zarr_format"] == 2
    return doc["compressor"], doc["filters"]


def _v3_codecs(path):
    doc = array_doc(path, NODE)
    assert doc["zarr_format"] == 3
    return doc["codecs"]


# numcodecs codecs -------------------------------------------------------------------------
@pytest.mark.parametrize("codec, v2, v3", [
    (numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
     {"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 1, "blocksize": 0},
     {"name": "blosc", "configuration": {"typesize": 2, "cname": "zstd", "clevel": 5,
                                         "shuffle": "shuffle", "blocksize": 0}}),
    (numcodecs.Blosc(cname="lz4", clevel=1, shuffle=numcodecs.Blosc.AUTOSHUFFLE),
     {"id": "blosc", "cname": "lz4", "clevel": 1, "shuffle": -1, "blocksize": 0},
     {"name": "blosc", "configuration": {"typesize": 2, "cname": "lz4", "clevel": 1,
                                         "shuffle": "shuffle", "blocksize": 0}}),
    (numcodecs.Zstd(level=7), {"id": "zstd", "level": 7},
     {"name": "zstd", "configuration": {"level": 7, "checksum": False}}),
    (numcodecs.GZip(level=2), {"id": "gzip", "level": 2},
     {"name": "gzip", "configuration": {"level": 2}}),
    (numcodecs.Zlib(level=3), {"id": "zlib", "level": 3},
     {"name": "numcodecs.zlib", "configuration": {"level": 3}}),
], ids=["blosc", "blosc-autoshuffle", "zstd", "gzip", "zlib-wrapper"])
@LAYOUT
def test_numcodecs_compressor(tmp_path, layout, codec, v2, v3):
    _assert_stored_compressor(_write(tmp_path, layout, compressor=codec), layout, v2, v3)


def _assert_stored_compressor(path, layout, v2, v3):
    """The stored codecs are exactly the compressor ``v2`` (L2, no filters) or the bytes codec
    then ``v3`` (L3)."""
    if layout == 2:
        compressor, filters = _v2_codecs(path)
        assert compressor == v2
        assert filters is None
    else:
        assert _v3_codecs(path) == [{"name": "bytes", "configuration": {"endian": "little"}}, v3]


@LAYOUT
def test_numcodecs_filters_before_compressor(tmp_path, layout):
    path = _write(tmp_path, layout, filters=[numcodecs.Delta(dtype="<i2")],
                  compressor=numcodecs.Blosc(cname="zstd", clevel=3))
    if layout == 2:
        compressor, filters = _v2_codecs(path)
        assert filters == [{"id": "delta", "dtype": "<i2", "astype": "<i2"}]
        assert compressor["id"] == "blosc" and compressor["cname"] == "zstd"
    else:
        names = [c["name"] for c in _v3_codecs(path)]
        assert names == ["numcodecs.delta", "bytes", "blosc"]


# Zarr 3 codecs ----------------------------------------------------------------------------
@pytest.mark.parametrize("codec, v2, v3", [
    (BloscCodec(cname="zstd", clevel=3, shuffle="shuffle"),
     {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 1, "blocksize": 0},
     {"name": "blosc", "configuration": {"typesize": 2, "cname": "zstd", "clevel": 3,
                                         "shuffle": "shuffle", "blocksize": 0}}),
    # shuffle left to Zarr: byte shuffle for 2-byte elements, in both layouts
    (BloscCodec(cname="lz4", clevel=4),
     {"id": "blosc", "cname": "lz4", "clevel": 4, "shuffle": 1, "blocksize": 0},
     {"name": "blosc", "configuration": {"typesize": 2, "cname": "lz4", "clevel": 4,
                                         "shuffle": "shuffle", "blocksize": 0}}),
    (ZstdCodec(level=4, checksum=True), {"id": "zstd", "level": 4, "checksum": True},
     {"name": "zstd", "configuration": {"level": 4, "checksum": True}}),
    (GzipCodec(level=6), {"id": "gzip", "level": 6},
     {"name": "gzip", "configuration": {"level": 6}}),
], ids=["blosc", "blosc-default-shuffle", "zstd", "gzip"])
@LAYOUT
def test_zarr3_compressor(tmp_path, layout, codec, v2, v3):
    _assert_stored_compressor(_write(tmp_path, layout, compressor=codec), layout, v2, v3)


@LAYOUT
def test_compressors_list(tmp_path, layout):
    """Several bytes-to-bytes codecs: in L2 the last is the compressor, the others filters."""
    import zarr.codecs.numcodecs as nz3

    path = _write(tmp_path, layout,
                  compressors=[nz3.Shuffle(elementsize=2), ZstdCodec(level=2)])
    if layout == 2:
        compressor, filters = _v2_codecs(path)
        assert compressor == {"id": "zstd", "level": 2}
        assert filters == [{"id": "shuffle", "elementsize": 2}]
    else:
        names = [c["name"] for c in _v3_codecs(path)]
        assert names == ["bytes", "numcodecs.shuffle", "zstd"]


@LAYOUT
def test_no_compression(tmp_path, layout):
    path = _write(tmp_path, layout, compressor=False)
    if layout == 2:
        assert _v2_codecs(path) == (None, None)
    else:
        assert _v3_codecs(path) == [{"name": "bytes", "configuration": {"endian": "little"}}]


def test_serializer_in_l3(tmp_path):
    path = _write(tmp_path, 3, serializer=BytesCodec(endian="big"))
    assert _v3_codecs(path)[0] == {"name": "bytes", "configuration": {"endian": "big"}}


def test_array_filter_in_l3(tmp_path):
    path = _write(tmp_path, 3, filters=[TransposeCodec(order=(1, 0))])
    assert _v3_codecs(path)[0] == {"name": "transpose", "configuration": {"order": [1, 0]}}


# errors -----------------------------------------------------------------------------------
def _write_fails(tmp_path, layout, error, match, **dataio_kwargs):
    nwbfile = nwbfile_with(ZarrDataIO(DATA, chunks=(100, 4), **dataio_kwargs))
    path = tmp_path / f"bad{layout}.nwb.zarr"
    with pytest.raises(error, match=match) as info:
        write_nwb(path, nwbfile, layout)
    assert info.value.path == "/acquisition/ts/data"
    assert "/acquisition/ts/data" in str(info.value)
    # refused before the first key of the write is stored
    assert not (path / NODE).exists()
    return path


def test_serializer_refused_in_l2(tmp_path):
    _write_fails(tmp_path, 2, UnsupportedDataError, "serializer BytesCodec needs layout L3",
                 serializer=BytesCodec(endian="big"))


@pytest.mark.parametrize("codec", [numcodecs.Pickle(), numcodecs.JSON()], ids=["pickle", "json"])
def test_numcodecs_without_l3_equivalent(tmp_path, codec):
    _write_fails(tmp_path, 3, UnknownCodecError, "no Zarr format 3 equivalent", compressor=codec)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"filters": [TransposeCodec(order=(1, 0))]}, UnknownCodecError,
     "TransposeCodec has no Zarr format 2 equivalent"),
    ({"compressor": zarr.codecs.ShardingCodec(chunk_shape=(10, 4))}, UnsupportedDataError,
     "ShardingCodec is not a bytes-to-bytes codec"),
], ids=["transpose", "sharding"])
def test_zarr3_without_l2_equivalent(tmp_path, kwargs, error, match):
    _write_fails(tmp_path, 2, error, match, **kwargs)


@LAYOUT
def test_serializer_as_compressor_refused(tmp_path, layout):
    _write_fails(tmp_path, layout, UnsupportedDataError,
                 "BytesCodec is not a bytes-to-bytes codec", compressor=BytesCodec())


def test_sharding_codec_as_serializer_refused(tmp_path):
    _write_fails(tmp_path, 3, UnsupportedDataError, "pass shards= instead",
                 serializer=zarr.codecs.ShardingCodec(chunk_shape=(10, 4)))


@LAYOUT
def test_compressor_and_compressors_refused(tmp_path, layout):
    _write_fails(tmp_path, layout, UnsupportedDataError, "compressor or compressors, not both",
                 compressor=ZstdCodec(), compressors=[GzipCodec()])


def test_not_a_codec(tmp_path):
    _write_fails(tmp_path, 3, UnknownCodecError, "neither a numcodecs codec nor a Zarr 3 codec",
                 compressor="zstd")


# translation functions -------------------------------------------------------------------
def test_translation_round_trips():
    for codec in (numcodecs.Blosc(cname="zstd", clevel=5, shuffle=2), numcodecs.Zstd(level=3),
                  numcodecs.GZip(level=1), numcodecs.LZ4(acceleration=2)):
        back = to_numcodecs(to_zarr3(codec, "/x", np.dtype("<i4")), "/x")
        assert back == codec, (codec, back)
    with pytest.raises(UnknownCodecError, match="/x: Zarr 3 codec TransposeCodec"):
        to_numcodecs(TransposeCodec(order=(0,)), "/x")
    with pytest.raises(UnknownCodecError, match="/y: numcodecs codec 'vlen-utf8'"):
        to_zarr3(numcodecs.VLenUTF8(), "/y")


# other ZarrDataIO settings -----------------------------------------------------------------
@LAYOUT
def test_text_column_compressor(tmp_path, layout):
    """A compressor given for text is used in both layouts (L3 used to drop it)."""
    from hdmf.common import DynamicTable, VectorData, get_manager

    from hdmf_zarr.backend import ZarrIO

    words = ["alpha", "beta", "gamma", "delta"] * 50
    table = DynamicTable(name="t", description="text", id=list(range(200)), columns=[
        VectorData(name="s", description="words",
                   data=ZarrDataIO(words, chunks=(50,), compressor=numcodecs.Zstd(level=4)))])
    path = tmp_path / "t.zarr"
    with ZarrIO(str(path), mode="w", zarr_format=layout, manager=get_manager()) as io:
        io.write(table)
    doc = array_doc(path, "s")
    if layout == 2:
        assert doc["compressor"]["id"] == "zstd" and doc["compressor"]["level"] == 4
        assert doc["chunks"] == [50]
    else:
        assert doc["codecs"] == [{"name": "vlen-utf8", "configuration": {}},
                                 {"name": "zstd", "configuration": {"level": 4,
                                                                    "checksum": False}}]
    with ZarrIO(str(path), mode="r", manager=get_manager()) as io:
        assert [str(v) for v in io.read()["s"].data[()]] == words


@LAYOUT
def test_fillvalue(tmp_path, layout):
    path = _write(tmp_path, layout, fillvalue=-7)
    assert array_doc(path, NODE)["fill_value"] == -7


@LAYOUT
def test_link_data_to_a_zarr_array_of_another_store(tmp_path, layout):
    """link_data=True with a zarr.Array of another store writes an external link (a Zarr 3
    array has no __iter__, which hdmf's DataIO used to call while building)."""
    import json

    src = zarr.create_array(zarr.storage.LocalStore(tmp_path / "other.zarr"), name="raw",
                            shape=DATA.shape, dtype=DATA.dtype, chunks=(100, 4),
                            zarr_format=layout)
    src[...] = DATA
    path = write_nwb(tmp_path / f"l{layout}.nwb.zarr",
                     nwbfile_with(ZarrDataIO(src, link_data=True)), layout)
    assert not (path / NODE).exists()
    group = path / "acquisition" / "ts"
    attrs = (json.loads((group / "zarr.json").read_text())["attributes"] if layout == 3
             else json.loads((group / ".zattrs").read_text()))
    links = attrs["_LINKS" if layout == 3 else "zarr_link"]
    assert [(entry["name"], entry["source"], entry["path"]) for entry in links] == [
        ("data", "../other.zarr", "/raw")]
    np.testing.assert_array_equal(read_values(path), DATA)
    # link_data=False copies it
    path = write_nwb(tmp_path / f"c{layout}.nwb.zarr",
                     nwbfile_with(ZarrDataIO(src, link_data=False)), layout)
    assert stored_objects(path, NODE)
    np.testing.assert_array_equal(read_values(path), DATA)
