"""ZarrIO modes, detection and bad input: clear errors naming the object path, and nothing that
was already stored is lost."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hdmf.backends.errors import UnsupportedOperation
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from _shared import snapshot_files
from hdmf_zarr import NWBZarrIO, ZarrIO
from hdmf_zarr.errors import (
    InvalidNameError,
    NotHdmfStoreError,
    StoreModeError,
    UnstorableValueError,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
LEGACY = SHARED / "legacy"
REAL_H5 = SHARED / "real" / "dandi_nwb_test_data_v2.0.1" / "test_TimeSeries.nwb"
LAYOUTS = pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])


def _file_with_series(name="ts", data=(1.0, 2.0, 3.0)):
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name=name, data=np.asarray(data), rate=1.0, unit="m"))
    return nwb


@LAYOUTS
def test_write_then_read_detects_layout(tmp_path, fmt):
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(_file_with_series())
    root_doc = "zarr.json" if fmt == 3 else ".zgroup"
    assert (path / root_doc).exists()
    with NWBZarrIO(str(path), "r") as io:
        assert io.zarr_format == fmt
        assert list(io.read().acquisition["ts"].data[:]) == [1.0, 2.0, 3.0]
    with NWBZarrIO(str(path), "r-") as io:  # ignores consolidated metadata
        assert list(io.read().acquisition["ts"].data[:]) == [1.0, 2.0, 3.0]


@LAYOUTS
def test_write_in_read_mode_is_refused_and_store_unchanged(tmp_path, fmt):
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(_file_with_series())
    before = snapshot_files(path)
    for mode in ("r", "r-"):
        with NWBZarrIO(str(path), mode) as io:
            nwb = io.read()
            with pytest.raises(StoreModeError, match="mode") as exc:
                io.write(nwb)
            assert isinstance(exc.value, UnsupportedOperation)
            assert str(path) in str(exc.value)
    assert snapshot_files(path) == before


@pytest.mark.parametrize("mode", ["w-", "x"])
def test_create_only_modes_refuse_existing_store(tmp_path, mode):
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w") as io:
        io.write(_file_with_series())
    before = snapshot_files(path)
    with pytest.raises(StoreModeError, match="already exists"):
        NWBZarrIO(str(path), mode)
    assert snapshot_files(path) == before
    fresh = tmp_path / "new.nwb.zarr"
    with NWBZarrIO(str(fresh), mode) as io:
        io.write(_file_with_series())
    with NWBZarrIO(str(fresh), "r") as io:
        assert list(io.read().acquisition["ts"].data[:]) == [1.0, 2.0, 3.0]


def test_opening_what_is_not_a_zarr_store(tmp_path):
    with pytest.raises(NotHdmfStoreError, match="no such file"):
        ZarrIO(str(tmp_path / "missing.zarr"), "r")
    with pytest.raises(NotHdmfStoreError, match="HDF5 file.*hdmf.backends.hdf5.HDF5IO"):
        ZarrIO(str(REAL_H5), "r")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NotHdmfStoreError, match="no zarr.json or .zgroup"):
        ZarrIO(str(empty), "r")


def test_can_read_never_raises(tmp_path):
    import zarr

    assert ZarrIO.can_read(str(LEGACY / "ecephys_json_refs.nwb.zarr"))
    assert not ZarrIO.can_read(str(REAL_H5))
    assert not ZarrIO.can_read(str(tmp_path / "missing"))
    arr_root = tmp_path / "array_root.zarr"
    zarr.create_array(str(arr_root), shape=(2,), dtype="i4")
    assert not ZarrIO.can_read(str(arr_root))
    assert not ZarrIO.can_read(12345)
    l3 = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(l3), "w") as io:
        io.write(_file_with_series())
    assert ZarrIO.can_read(str(l3))


@LAYOUTS
@pytest.mark.parametrize("bad", ["a/b", ".", "..", ""])
def test_invalid_names_are_refused_before_anything_is_written(tmp_path, fmt, bad):
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(_file_with_series())
    before = snapshot_files(path)
    with NWBZarrIO(str(path), "a") as io:
        nwb = io.read()
        ts = TimeSeries(name="good", data=[1.0], rate=1.0, unit="m")
        nwb.add_acquisition(ts)
        manager = io.manager
        builder = manager.build(nwb, source=io.source, root=True)
        builder["acquisition"]["good"].set_attribute("x", 1)
        builder["acquisition"].groups[bad] = builder["acquisition"].groups.pop("good")
        with pytest.raises(InvalidNameError) as exc:
            io.write_builder(builder)
        assert "/acquisition" in str(exc.value)
    assert snapshot_files(path) == before


@LAYOUTS
@pytest.mark.parametrize("value, reason", [
    ({"a": 1}, "dict"), (1 + 2j, "complex"), (object(), "object"),
])
def test_unstorable_attribute_names_object_and_key(tmp_path, fmt, value, reason):
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        nwb = _file_with_series()
        builder = io.manager.build(nwb, source=io.source, root=True)
        builder["acquisition"]["ts"].set_attribute("bad_attr", value)
        with pytest.raises(UnstorableValueError) as exc:
            io.write_builder(builder)
    msg = str(exc.value)
    assert "/acquisition/ts@bad_attr" in msg
    assert reason in msg
    # nothing was stored: the check runs before the first write
    assert not (path / "acquisition").exists()


@LAYOUTS
def test_nan_and_infinity_attributes_round_trip(tmp_path, fmt):
    path = tmp_path / "f.nwb.zarr"
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=[1.0], rate=1.0, unit="m",
                                   resolution=float("nan"), conversion=float("inf")))
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(nwb)
    with NWBZarrIO(str(path), "r") as io:
        ts = io.read().acquisition["ts"]
        assert np.isnan(ts.resolution)
        assert ts.conversion == float("inf")
    doc = (path / "acquisition/ts/data" / ("zarr.json" if fmt == 3 else ".zattrs")).read_text()
    assert "NaN" in doc and "Infinity" in doc


@LAYOUTS
def test_dangling_link_warns_and_rest_reads(tmp_path, fmt):
    path = tmp_path / "f.nwb.zarr"
    nwb = _file_with_series()
    ts2 = TimeSeries(name="linked", data=[5.0, 6.0, 7.0], timestamps=[0.0, 1.0, 2.0], unit="m")
    ts3 = TimeSeries(name="user", data=[1.0, 2.0, 3.0], timestamps=ts2, unit="m")
    nwb.add_acquisition(ts2)
    nwb.add_acquisition(ts3)
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(nwb)
    # point the link at a path that does not exist
    doc_path = path / "acquisition/user" / ("zarr.json" if fmt == 3 else ".zattrs")
    doc = json.loads(doc_path.read_text())
    attrs = doc["attributes"] if fmt == 3 else doc
    key = "_LINKS" if fmt == 3 else "zarr_link"
    assert attrs[key][0]["path"] == "/acquisition/linked/timestamps"
    attrs[key][0]["path"] = "/acquisition/nowhere/timestamps"
    doc_path.write_text(json.dumps(doc))
    with NWBZarrIO(str(path), "r-") as io:
        with pytest.warns(UserWarning, match="/acquisition/user/timestamps"):
            builder = io.read_builder()
        assert "timestamps" not in builder["acquisition"]["user"].links
        assert list(builder["acquisition"]["linked"]["data"].data[:]) == [5.0, 6.0, 7.0]


@LAYOUTS
def test_append_rows_in_place_keeps_consolidated_metadata(tmp_path, fmt):
    """hdmf appends to read datasets in place (append_data); closing the IO brings the
    consolidated metadata in step even when write() is not called."""
    path = tmp_path / "f.nwb.zarr"
    nwb = mock_NWBFile()
    nwb.add_trial_column("stim", "stimulus")
    nwb.add_trial(start_time=0.0, stop_time=1.0, stim="a")
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(nwb)
    with NWBZarrIO(str(path), "a") as io:
        io.read().add_trial(start_time=1.0, stop_time=2.0, stim="bé")
    for mode in ("r", "r-"):
        with NWBZarrIO(str(path), mode) as io:
            trials = io.read().trials.to_dataframe()
            assert trials["start_time"].tolist() == [0.0, 1.0]
            assert trials["stop_time"].tolist() == [1.0, 2.0]
            assert trials["stim"].tolist() == ["a", "bé"]


@LAYOUTS
def test_pynwb_front_doors_and_public_helpers(tmp_path, fmt):
    """pynwb.read_nwb and pynwb.validate(path=...) work on our files, and the public helper
    methods of ZarrIO answer about real objects."""
    import pynwb

    path = tmp_path / "f.nwb.zarr"
    nwb = _file_with_series()
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(nwb)
        builder = io.manager.get_builder(nwb.acquisition["ts"])
        assert io.get_builder_exists_on_disk(builder)
        assert io.get_builder_disk_path(builder) == os.path.join(str(path), "acquisition/ts")
        assert not io.is_remote()
    read = pynwb.read_nwb(str(path))
    try:
        assert list(read.acquisition["ts"].data[:]) == [1.0, 2.0, 3.0]
    finally:
        read.read_io.close()
    assert pynwb.validate(path=str(path)) == []
    read = NWBZarrIO.read_nwb(str(path))
    try:
        assert read.identifier == nwb.identifier
    finally:
        read.read_io.close()
    with NWBZarrIO(str(path), "r") as io:
        f = io.read()
        ts_builder = io.get_builder("/acquisition/ts")
        assert ts_builder.attributes["object_id"] == nwb.acquisition["ts"].object_id
        assert io.get_container("/acquisition/ts") is f.acquisition["ts"]
        ref = {"source": ".", "path": "/acquisition/ts"}
        assert io.resolve_ref(ref) == ("ts", ts_builder)
        assert io.resolve_ref("/acquisition/ts")[1] is ts_builder
        with pytest.raises(KeyError, match="/acquisition/nothing"):
            io.get_builder("/acquisition/nothing")
        html = NWBZarrIO.generate_dataset_html(f.acquisition["ts"].data)
        assert "Chunk shape" in html and "Codecs" in html
        version, parts = io.nwb_version
        assert version.startswith("2.") and parts[0] == 2
        with pytest.warns(UserWarning, match="synchronizer"):
            NWBZarrIO(str(path), "r", synchronizer=object()).close()
