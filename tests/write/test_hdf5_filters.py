"""HDF5 filter pipeline -> Zarr codecs (FORMAT.md section 6)."""

import json
import warnings
import zlib

import h5py
import numcodecs
import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, ZstdCodec

from hdmf_zarr.write.hdf5_filters import BLOSC_COMPRESSOR_NAMES, _map_filter, codecs_from_h5py

DATA = (np.arange(20 * 10, dtype="<i4").reshape(20, 10) // 3) * 7


def _h5(tmp_path, name="src.h5"):
    return h5py.File(tmp_path / name, "w")


def _no_warnings(func, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return func(*args)


def _zarr_array(tmp_path, settings, zarr_format, data, name="arr"):
    """Create an array in a local store with the mapped settings and write ``data``."""
    store = zarr.storage.LocalStore(tmp_path / f"out{zarr_format}.zarr")
    kwargs = {
        "name": name,
        "shape": data.shape,
        "dtype": data.dtype,
        "chunks": settings["chunks"] if settings["chunks"] is not None else "auto",
        "zarr_format": zarr_format,
    }
    if settings["fill_value"] is not None:
        kwargs["fill_value"] = settings["fill_value"]
    if zarr_format == 2:
        kwargs["compressors"] = settings["compressor"]
        kwargs["filters"] = settings["filters"]
    else:
        kwargs["compressors"] = settings["compressors"]
        kwargs["filters"] = settings["filters"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numcodecs wrappers are "not in the v3 spec"
        arr = zarr.create_array(store, **kwargs)
        arr[...] = data
    return arr, tmp_path / f"out{zarr_format}.zarr" / name


def test_gzip_maps_to_zlib_with_the_same_stream(tmp_path):
    with _h5(tmp_path) as f:
        dset = f.create_dataset("g/d", data=DATA, chunks=(5, 10), compression="gzip",
                                compression_opts=4)
        s2 = _no_warnings(codecs_from_h5py, dset, 2)
        s3 = _no_warnings(codecs_from_h5py, dset, 3)
        h5_chunk = dset.id.read_direct_chunk((5, 0))[1]

    assert s2["compressor"] == numcodecs.Zlib(level=4)
    assert s2["filters"] is None
    assert s2["chunks"] == (5, 10)
    assert s2["fill_value"] == 0
    assert [c.to_dict() for c in s3["compressors"]] == [
        {"name": "numcodecs.zlib", "configuration": {"level": 4}}]
    assert s3["filters"] == []
    assert s3["chunks"] == (5, 10)

    expected = zlib.compress(DATA[5:10].tobytes(), 4)
    assert h5_chunk == expected
    arr2, dir2 = _zarr_array(tmp_path, s2, 2, DATA)
    arr3, dir3 = _zarr_array(tmp_path, s3, 3, DATA)
    np.testing.assert_array_equal(arr2[...], DATA)
    np.testing.assert_array_equal(arr3[...], DATA)
    assert (dir2 / "1.0").read_bytes() == expected
    assert (dir3 / "c" / "1" / "0").read_bytes() == expected
    assert zlib.decompress((dir3 / "c" / "1" / "0").read_bytes()) == DATA[5:10].tobytes()


def test_shuffle_and_gzip(tmp_path):
    with _h5(tmp_path) as f:
        dset = f.create_dataset("d", data=DATA, chunks=(10, 10), compression="gzip",
                                compression_opts=6, shuffle=True)
        s2 = _no_warnings(codecs_from_h5py, dset, 2)
        s3 = _no_warnings(codecs_from_h5py, dset, 3)
        h5_chunk = dset.id.read_direct_chunk((0, 0))[1]

    assert s2["filters"] == [numcodecs.Shuffle(elementsize=4)]
    assert s2["compressor"] == numcodecs.Zlib(level=6)
    assert [c.to_dict() for c in s3["compressors"]] == [
        {"name": "numcodecs.shuffle", "configuration": {"elementsize": 4}},
        {"name": "numcodecs.zlib", "configuration": {"level": 6}},
    ]
    shuffled = numcodecs.Shuffle(elementsize=4).encode(DATA[0:10].tobytes())
    # HDF5's byte shuffle and numcodecs' are the same transform: identical chunk bytes.
    assert h5_chunk == zlib.compress(bytes(shuffled), 6)
    arr2, dir2 = _zarr_array(tmp_path, s2, 2, DATA)
    arr3, dir3 = _zarr_array(tmp_path, s3, 3, DATA)
    np.testing.assert_array_equal(arr2[...], DATA)
    np.testing.assert_array_equal(arr3[...], DATA)
    assert (dir2 / "0.0").read_bytes() == h5_chunk
    assert (dir3 / "c" / "0" / "0").read_bytes() == h5_chunk
    meta = json.loads((dir3 / "zarr.json").read_text())
    assert [c["name"] for c in meta["codecs"]] == ["bytes", "numcodecs.shuffle", "numcodecs.zlib"]


def test_shuffle_uses_the_itemsize_of_the_dtype(tmp_path):
    compound = np.dtype([("x", "<u2"), ("y", "<f8")])
    with _h5(tmp_path) as f:
        d8 = f.create_dataset("f8", data=np.arange(10.0), chunks=(5,), shuffle=True)
        dc = f.create_dataset("cmp", data=np.zeros(4, dtype=compound), chunks=(2,),
                              shuffle=True)
        assert codecs_from_h5py(d8, 2)["filters"] == [numcodecs.Shuffle(elementsize=8)]
        assert codecs_from_h5py(dc, 2)["filters"] == [numcodecs.Shuffle(elementsize=10)]
        assert codecs_from_h5py(dc, 2)["fill_value"] == np.zeros((), dtype=compound)[()]


def test_shuffle_is_skipped_for_text_data(tmp_path):
    with _h5(tmp_path) as f:
        vlen = f.create_dataset("vlen", data=["a", "bb", "ccc"], dtype=h5py.string_dtype(),
                                chunks=(3,), shuffle=True, compression="gzip")
        fixed = f.create_dataset("fixed", data=np.array([b"ab", b"c"]), chunks=(2,),
                                 shuffle=True, compression="gzip", fillvalue=b"zz")
        for dset in (vlen, fixed):
            s2 = _no_warnings(codecs_from_h5py, dset, 2)
            s3 = _no_warnings(codecs_from_h5py, dset, 3)
            assert s2["filters"] is None
            assert s2["compressor"] == numcodecs.Zlib(level=4)
            assert [c.to_dict()["name"] for c in s3["compressors"]] == ["numcodecs.zlib"]
        assert codecs_from_h5py(vlen, 2)["fill_value"] == ""
        assert codecs_from_h5py(fixed, 3)["fill_value"] == "zz"  # bytes decoded as UTF-8
        s3 = codecs_from_h5py(vlen, 3)
        values = vlen.asstr()[...].astype(str)
    arr, _ = _zarr_array(tmp_path, s3, 3, values)
    assert list(arr[...]) == ["a", "bb", "ccc"]


def test_lzf_is_dropped_with_one_warning(tmp_path):
    data = np.linspace(0, 1, 40)
    with _h5(tmp_path) as f:
        dset = f.create_dataset("acquisition/ts/data", data=data, chunks=(10,),
                                compression="lzf")
        with pytest.warns(UserWarning) as record:
            s2 = codecs_from_h5py(dset, 2)
        assert len(record) == 1
        message = str(record[0].message)
        assert "/acquisition/ts/data" in message and "lzf" in message
        with pytest.warns(UserWarning, match="lzf"):
            s3 = codecs_from_h5py(dset, 3)
    assert s2["compressor"] is None and s2["filters"] is None
    assert s3["compressors"] == [] and s3["filters"] == []
    assert s2["chunks"] == (10,)
    arr, _ = _zarr_array(tmp_path, s2, 2, data)
    np.testing.assert_array_equal(arr[...], data)


def test_fletcher32_is_dropped_and_the_compressor_kept(tmp_path):
    with _h5(tmp_path) as f:
        dset = f.create_dataset("d", data=DATA, chunks=(4, 5), compression="gzip",
                                compression_opts=1, shuffle=True, fletcher32=True)
        with pytest.warns(UserWarning) as record:
            s2 = codecs_from_h5py(dset, 2)
        assert len(record) == 1
        assert "fletcher32" in str(record[0].message) and "/d" in str(record[0].message)
        with pytest.warns(UserWarning, match="fletcher32"):
            s3 = codecs_from_h5py(dset, 3)
    assert s2["compressor"] == numcodecs.Zlib(level=1)
    assert s2["filters"] == [numcodecs.Shuffle(elementsize=4)]
    for settings, fmt in ((s2, 2), (s3, 3)):
        arr, _ = _zarr_array(tmp_path, settings, fmt, DATA, name=f"f{fmt}")
        np.testing.assert_array_equal(arr[...], DATA)


def test_scaleoffset_and_several_dropped_filters_give_one_warning(tmp_path):
    with _h5(tmp_path) as f:
        dset = f.create_dataset("so", data=np.arange(40.0), chunks=(10,), scaleoffset=2,
                                compression="lzf")
        with pytest.warns(UserWarning) as record:
            codecs_from_h5py(dset, 2)
    assert len(record) == 1
    assert "scaleoffset" in str(record[0].message)
    assert "lzf" in str(record[0].message)


def test_contiguous_dataset_has_no_chunks(tmp_path):
    with _h5(tmp_path) as f:
        dset = f.create_dataset("c", data=DATA, fillvalue=-3)
        s2 = _no_warnings(codecs_from_h5py, dset, 2)
        s3 = _no_warnings(codecs_from_h5py, dset, 3)
        scalar = f.create_dataset("s", data=2.5)
        assert _no_warnings(codecs_from_h5py, scalar, 3)["chunks"] is None
    assert s2 == {"compressor": None, "filters": None, "chunks": None, "fill_value": -3}
    assert s3 == {"compressors": [], "filters": [], "chunks": None, "fill_value": -3}
    arr, _ = _zarr_array(tmp_path, s3, 3, DATA)
    np.testing.assert_array_equal(arr[...], DATA)
    assert arr.fill_value == -3


def test_invalid_zarr_format(tmp_path):
    with _h5(tmp_path) as f:
        dset = f.create_dataset("c", data=DATA)
        with pytest.raises(ValueError, match="zarr_format"):
            codecs_from_h5py(dset, 4)


# --- plugin filters -------------------------------------------------------------------------

def _plugin_dataset(f, name, filter_id, cd_values, data):
    """A dataset with a plugin filter in its pipeline.

    When HDF5 has the filter (hdf5plugin installed) the data is really compressed through it;
    otherwise the filter is only recorded in the creation property list (h5py's
    ``allow_unknown_filter``) and no data is written, which is all the mapping reads.
    """
    try:
        import hdf5plugin  # noqa: F401  (registers the plugins with HDF5)
    except ImportError:
        pass
    have_plugins = bool(h5py.h5z.filter_avail(filter_id))
    dset = f.create_dataset(name, shape=data.shape, dtype=data.dtype, chunks=(10, 10),
                            compression=filter_id, compression_opts=tuple(cd_values),
                            allow_unknown_filter=not have_plugins)
    if have_plugins:
        dset[...] = data
    return dset, have_plugins


def test_blosc_plugin(tmp_path):
    # cd_values: filter revision, blosc format, typesize, chunk bytes, clevel, shuffle, cname code
    with _h5(tmp_path) as f:
        dset, have_plugins = _plugin_dataset(f, "b", 32001, (2, 2, 4, 400, 7, 1, 5), DATA)
        cd_values = dset.id.get_create_plist().get_filter(0)[2]
        s2 = _no_warnings(codecs_from_h5py, dset, 2)
        s3 = _no_warnings(codecs_from_h5py, dset, 3)
        if have_plugins:
            np.testing.assert_array_equal(dset[...], DATA)
            raw = dset.id.read_direct_chunk((0, 0))[1]
            assert numcodecs.Blosc().decode(raw) == DATA[0:10].tobytes()  # a Blosc 1 frame
    clevel, shuffle, code = cd_values[4], cd_values[5], cd_values[6]
    assert (clevel, shuffle, code) == (7, 1, 5)
    expected = numcodecs.Blosc(cname="zstd", clevel=7, shuffle=1, blocksize=cd_values[3])
    assert s2["compressor"] == expected
    assert s2["filters"] is None
    (codec3,) = s3["compressors"]
    assert isinstance(codec3, BloscCodec)
    assert (codec3.cname.value, codec3.clevel, codec3.shuffle.value, codec3.typesize,
            codec3.blocksize) == ("zstd", 7, "shuffle", 4, cd_values[3])
    for settings, fmt in ((s2, 2), (s3, 3)):
        arr, _ = _zarr_array(tmp_path, settings, fmt, DATA)
        np.testing.assert_array_equal(arr[...], DATA)


def test_zstd_plugin(tmp_path):
    with _h5(tmp_path) as f:
        dset, _ = _plugin_dataset(f, "z", 32015, (9,), DATA)
        s2 = _no_warnings(codecs_from_h5py, dset, 2)
        s3 = _no_warnings(codecs_from_h5py, dset, 3)
    assert s2["compressor"] == numcodecs.Zstd(level=9)
    (codec3,) = s3["compressors"]
    assert isinstance(codec3, ZstdCodec) and codec3.level == 9
    for settings, fmt in ((s2, 2), (s3, 3)):
        arr, path = _zarr_array(tmp_path, settings, fmt, DATA)
        np.testing.assert_array_equal(arr[...], DATA)
        first = path / ("0.0" if fmt == 2 else "c/0/0")
        # a plain zstd frame, as the HDF5 Zstd plugin writes
        assert numcodecs.Zstd().decode(first.read_bytes()) == DATA[0:10].tobytes()


def test_unmapped_plugins_are_dropped(tmp_path):
    with _h5(tmp_path) as f:
        for filter_id in (32004, 32008, 40000):  # LZ4, bitshuffle, an unregistered id
            dset, _ = _plugin_dataset(f, f"p{filter_id}", filter_id, (0,), DATA)
            with pytest.warns(UserWarning) as record:
                s2 = codecs_from_h5py(dset, 2)
            assert len(record) == 1
            message = str(record[0].message)
            assert f"/p{filter_id}" in message and str(filter_id) in message
            assert s2["compressor"] is None and s2["filters"] is None


def test_never_compress_twice(tmp_path):
    with _h5(tmp_path) as f:
        plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        plist.set_chunk((10, 10))
        plist.set_deflate(3)
        plist.set_filter(32015, h5py.h5z.FLAG_OPTIONAL, (5,))
        space = h5py.h5s.create_simple(DATA.shape)
        h5py.h5d.create(f.id, b"two", h5py.h5t.STD_I32LE, space, dcpl=plist)
        dset = f["two"]
        with pytest.warns(UserWarning, match="second compressor") as record:
            s2 = codecs_from_h5py(dset, 2)
        assert len(record) == 1 and "/two" in str(record[0].message)
        with pytest.warns(UserWarning):
            s3 = codecs_from_h5py(dset, 3)
    assert s2["compressor"] == numcodecs.Zlib(level=3)
    assert [c.to_dict()["name"] for c in s3["compressors"]] == ["numcodecs.zlib"]


# --- the pure mapping ----------------------------------------------------------------------

@pytest.mark.parametrize("code", range(len(BLOSC_COMPRESSOR_NAMES)))
def test_map_blosc_cd_values(code):
    mapped = _map_filter(32001, (2, 2, 8, 65536, 3, 2, code), 8, "/x")
    cname = BLOSC_COMPRESSOR_NAMES[code]
    assert mapped.role == "compressor"
    if cname in numcodecs.blosc.list_compressors():
        assert mapped.note is None
        assert mapped.config == {"id": "blosc", "cname": cname, "clevel": 3, "shuffle": 2,
                                 "blocksize": 65536}
    else:  # snappy is not built into numcodecs' Blosc
        assert mapped.config["cname"] == "lz4"
        assert cname in mapped.note


def test_map_blosc_defaults_and_errors():
    assert _map_filter(32001, (), 4, "/x").config == {
        "id": "blosc", "cname": "blosclz", "clevel": 5, "shuffle": 1, "blocksize": 0}
    assert _map_filter(32001, (2, 2, 4, 100), 4, "/x").config["blocksize"] == 100
    bad = _map_filter(32001, (2, 2, 4, 100, 5, 1, 6), 4, "/x")
    assert bad.role == "drop" and "6" in bad.note
    assert _map_filter(32001, (2, 2, 4, 100, 12, 1, 1), 4, "/x").role == "drop"


def test_map_deflate_shuffle_zstd():
    assert _map_filter(1, (9,), 2, "/x") == ("compressor", {"id": "zlib", "level": 9}, None)
    assert _map_filter(2, (2,), 2, "/x") == ("filter", {"id": "shuffle", "elementsize": 2},
                                             None)
    assert _map_filter(2, (), None, "/x").role == "skip"
    assert _map_filter(32015, (22,), 4, "/x").config == {"id": "zstd", "level": 22}
    assert _map_filter(32015, (2**32 - 5,), 4, "/x").config == {"id": "zstd", "level": -5}
    assert _map_filter(32015, (), 4, "/x").config == {"id": "zstd", "level": 3}


@pytest.mark.parametrize("filter_id,name", [
    (3, "fletcher32"), (4, "szip"), (5, "nbit"), (6, "scaleoffset"), (32000, "lzf"),
    (32004, "lz4"), (32008, "bitshuffle"), (31999, "unknown"),
])
def test_map_dropped_filters(filter_id, name):
    mapped = _map_filter(filter_id, (1, 2), 4, "/x")
    assert mapped.role == "drop"
    assert name in mapped.note and str(filter_id) in mapped.note
