"""A catalogue of bad input for reading: each gives a documented error naming the path, or reads
as HDF5 would."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import zarr
from _reliability_common import attribute_homes, edit_array_meta, edit_json, read_all, set_attribute

from _shared import snapshot_files
from hdmf_zarr import NWBZarrIO
from hdmf_zarr.errors import FormatError, HdmfZarrError, NotHdmfStoreError, UnknownCodecError
from hdmf_zarr.format import limits

LAYOUTS = [2, 3]




@pytest.mark.parametrize("mode", ["r", "r-"])
def test_store_path_is_a_regular_file(tmp_path, mode):
    path = tmp_path / "file.nwb.zarr"
    path.write_bytes(b"not a zarr store\n" * 10)
    with pytest.raises(NotHdmfStoreError) as exc:
        NWBZarrIO(str(path), mode)
    assert str(path) in str(exc.value) or "/" in str(exc.value)


@pytest.mark.parametrize("mode", ["r", "r-"])
def test_store_path_is_an_empty_directory(tmp_path, mode):
    with pytest.raises(NotHdmfStoreError) as exc:
        NWBZarrIO(str(tmp_path), mode)
    assert "/" in str(exc.value)


def test_store_path_is_missing(tmp_path):
    with pytest.raises(NotHdmfStoreError):
        NWBZarrIO(str(tmp_path / "nothing.nwb.zarr"), "r")


@pytest.mark.parametrize("fmt", LAYOUTS)
@pytest.mark.parametrize("mode", ["r", "r-"])
def test_unknown_codec_names_the_array(store_copy, fmt, mode):
    store = store_copy(fmt)

    def forge(meta):
        if fmt == 3:
            meta["codecs"] = [{"name": "no-such-codec", "configuration": {}}]
        else:
            meta["compressor"] = {"id": "no-such-codec"}
    edit_array_meta(store, fmt, "acquisition/ts/data", forge)
    before = snapshot_files(store, mtimes=True)
    with pytest.raises(UnknownCodecError) as exc:
        with NWBZarrIO(str(store), mode) as io:
            io.read().acquisition["ts"].data[:]
    assert "/acquisition/ts/data" in str(exc.value)
    assert "no-such-codec" in str(exc.value)
    assert snapshot_files(store, mtimes=True) == before


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_non_finite_attributes_read_back(store_copy, fmt):
    store = store_copy(fmt)
    set_attribute(store, fmt, "acquisition/ts/data", "resolution", math.nan)
    set_attribute(store, fmt, "acquisition/ts/data", "conversion", math.inf)
    set_attribute(store, fmt, "acquisition/ts/data", "offset", -math.inf)
    raw = (store / ("acquisition/ts/data/zarr.json" if fmt == 3
                    else "acquisition/ts/data/.zattrs")).read_text()
    assert "NaN" in raw and "-Infinity" in raw  # bare tokens, as FORMAT.md 2.1 says
    for mode in ("r", "r-"):
        read_all(store, mode)
        with NWBZarrIO(str(store), mode) as io:
            ts = io.read().acquisition["ts"]
            assert math.isnan(ts.resolution)
            assert ts.conversion == math.inf
            assert ts.offset == -math.inf


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_timeseries_data_stored_as_text(store_copy, fmt):
    """A numeric dataset holding text reads like HDF5 (hdmf keeps what is stored) or fails
    with an error naming the dataset."""
    store = store_copy(fmt)
    node = store / "acquisition/ts/data"
    shutil.rmtree(node)
    zarr.create_array(str(node), shape=(3,), dtype=str, zarr_format=fmt, fill_value="")[...] = \
        np.array(["a", "b", "c"])
    attrs = {"unit": "m", "conversion": 1.0, "offset": 0.0, "resolution": -1.0}
    if fmt == 3:
        edit_json(str(store), "acquisition/ts/data/zarr.json", ["attributes"],
                  lambda cont, k: cont.__setitem__(k, {**attrs, "_DTYPE": "str"}))
        doc = __import__("_reliability_common").load_json(node / "zarr.json")
        edit_json(str(store), "zarr.json", ["consolidated_metadata", "metadata",
                                            "acquisition/ts/data"],
                  lambda cont, k: cont.__setitem__(k, doc))
    else:
        for rel, keys in attribute_homes(str(store), 2, "acquisition/ts/data"):
            for k, v in {**attrs, "zarr_dtype": "str"}.items():
                edit_json(str(store), rel, keys + [k], lambda cont, key, v=v: cont.__setitem__(
                    key, v))
        zarray = __import__("_reliability_common").load_json(node / ".zarray")
        edit_json(str(store), ".zmetadata", ["metadata", "acquisition/ts/data/.zarray"],
                  lambda cont, k: cont.__setitem__(k, zarray))
    for mode in ("r", "r-"):
        try:
            with NWBZarrIO(str(store), mode) as io:
                data = io.read().acquisition["ts"].data
                assert list(data[:]) == ["a", "b", "c"]
        except HdmfZarrError as exc:
            assert "/acquisition/ts" in str(exc)


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_forged_huge_shape_is_refused_before_allocating(store_copy, fmt):
    store = store_copy(fmt)
    edit_array_meta(store, fmt, "acquisition/ts/data",
                     lambda meta: meta.__setitem__("shape", [2**40, 2**20]))
    with NWBZarrIO(str(store), "r") as io:
        data = io.read().acquisition["ts"].data
        assert data[0:2, 0:2].shape == (2, 2)  # small reads work (fill value beyond chunks)
        with pytest.raises(FormatError, match="/acquisition/ts/data") as exc:
            data[:]
        assert "limit" in str(exc.value)


def test_read_limit_is_configurable(store_copy, monkeypatch):
    store = store_copy(3)
    monkeypatch.setattr(limits, "MAX_READ_BYTES", 64)
    with NWBZarrIO(str(store), "r") as io:
        data = io.read().acquisition["ts"].data
        assert data[0:2].shape == (2, 2)
        with pytest.raises(FormatError, match="/acquisition/ts/data"):
            data[:]


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_forged_huge_chunk_is_refused(store_copy, fmt):
    store = store_copy(fmt)

    def forge(meta):
        if fmt == 3:
            meta["chunk_grid"]["configuration"]["chunk_shape"] = [2**40, 2]
        else:
            meta["chunks"] = [2**40, 2]
    edit_array_meta(store, fmt, "acquisition/ts/data", forge)
    with pytest.raises(FormatError, match="/acquisition/ts/data"):
        with NWBZarrIO(str(store), "r") as io:
            io.read().acquisition["ts"].data[:]


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_corrupt_chunk_names_the_array(store_copy, fmt):
    store = store_copy(fmt)
    chunk = store / ("acquisition/ts/data/c.0.0" if fmt == 3 else "acquisition/ts/data/0.0")
    chunk.write_bytes(chunk.read_bytes()[:7])
    with NWBZarrIO(str(store), "r") as io:
        with pytest.raises(FormatError, match="/acquisition/ts/data") as exc:
            io.read().acquisition["ts"].data[:]
    assert exc.value.__cause__ is not None  # the codec's own error is kept


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_missing_required_dataset_is_a_construction_error(store_copy, fmt):
    """hdmf's ConstructError becomes a documented error naming the builder; still catchable
    as ConstructError."""
    from hdmf.build.errors import ConstructError

    store = store_copy(fmt)
    for rel, keys in attribute_homes(str(store), fmt, "acquisition/es/starting_time"):
        edit_json(str(store), rel, keys + ["rate"], lambda cont, k: cont.pop(k, None))
    for mode in ("r", "r-"):
        with NWBZarrIO(str(store), mode) as io:
            with pytest.raises(ConstructError) as exc:
                io.read()
        assert isinstance(exc.value, HdmfZarrError)
        assert "/acquisition/es" in str(exc.value)
        assert isinstance(exc.value.__cause__, ConstructError)


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_documented_error_raised_during_construction_keeps_its_class(store_copy, fmt):
    store = store_copy(fmt)
    edit_array_meta(store, fmt, "acquisition/es/electrodes",
                     lambda meta: meta.__setitem__("shape", [2**40]))
    with NWBZarrIO(str(store), "r") as io:
        with pytest.raises(FormatError, match="/acquisition/es/electrodes"):
            io.read()


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_typed_attribute_of_wrong_type(store_copy, fmt):
    store = store_copy(fmt)
    set_attribute(store, fmt, "acquisition/ts", "object_id", [1, 2])
    with pytest.raises(FormatError, match="/acquisition/ts@object_id"):
        with NWBZarrIO(str(store), "r") as io:
            io.read()
