"""``io._file`` and the direct writes of the hdmf-zarr 0.13/0.14 API (``hdmf_zarr.direct_write``):
``write_group(parent, builder)``, ``write_dataset(parent, builder)``,
``write_attributes(obj, attributes)`` and ``write_link(parent, builder)`` with a ``zarr.Group``
parent, in both layouts, checked with zarr and by reading the store back."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from hdmf.build import DatasetBuilder, GroupBuilder, LinkBuilder
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from _shared import snapshot_files
from hdmf_zarr import NWBZarrIO, ZarrIO
from hdmf_zarr.errors import InvalidNameError, StoreModeError

LAYOUTS = pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])


def _nwbfile():
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=np.arange(10.0), rate=1.0, unit="m"))
    return nwb


@LAYOUTS
def test_file_is_the_root_group(fmt, tmp_path):
    import pynwb

    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(_nwbfile())
    with NWBZarrIO(str(path), "r") as io:
        root = io._file
        assert isinstance(root, zarr.Group)
        assert root.path == "" and root.metadata.zarr_format == fmt
        assert root.attrs["neurodata_type"] == "NWBFile"
        np.testing.assert_array_equal(root["acquisition/ts/data"][:], np.arange(10.0))
        # pynwb's validator hands io._file to load_namespaces
        assert pynwb.validate(io=io) == []
    assert io._file is None  # closed


@LAYOUTS
def test_direct_writes_into_a_new_store(fmt, tmp_path):
    """0.13/0.14 style: write nodes one by one under io._file; each call writes at once and
    returns the new zarr node."""
    path = tmp_path / "direct.zarr"
    with ZarrIO(str(path), "w", zarr_format=fmt) as io:
        root = io._file
        assert isinstance(root, zarr.Group)
        group = io.write_group(root, GroupBuilder(
            "g", attributes={"a": 1},
            datasets={"d": DatasetBuilder("d", data=np.arange(5, dtype="int32"))}))
        assert isinstance(group, zarr.Group) and group.path == "g"
        # written at once: visible with zarr before the IO closes
        np.testing.assert_array_equal(
            zarr.open_group(str(path), mode="r")["g/d"][:], np.arange(5, dtype="int32"))
        array = io.write_dataset(group, DatasetBuilder("x", data=np.array([1.5, 2.5]),
                                                       attributes={"unit": "s"}))
        assert isinstance(array, zarr.Array) and array.path == "g/x"
        np.testing.assert_array_equal(array[:], [1.5, 2.5])
        assert io.write_attributes(group, {"b": "text", "c": [1, 2, 3]}) is None
        assert io.write_attributes(array, {"scale": 2.0}) is None
        assert io.write_link(root, LinkBuilder(builder=_written(io, "g/d"), name="lnk")) is None
        sub = io.write_group(group, GroupBuilder("sub"))
        assert sub.path == "g/sub"
    with ZarrIO(str(path), "r") as io:
        root = io.read_builder()
        g = root.groups["g"]
        assert g.attributes["a"] == 1 and g.attributes["b"] == "text"
        assert list(g.attributes["c"]) == [1, 2, 3]
        np.testing.assert_array_equal(g.datasets["d"].data[:], np.arange(5))
        x = g.datasets["x"]
        np.testing.assert_array_equal(x.data[:], [1.5, 2.5])
        assert x.attributes == {"unit": "s", "scale": 2.0}
        assert "sub" in g.groups
        link = root.links["lnk"]
        assert link.builder is g.datasets["d"]


def _written(io, path):
    """The DatasetBuilder the direct writes recorded for ``path`` (a builder of this store)."""
    for builder, where in io.__dict__["_hdmf_zarr_direct_paths"].values():
        if where == "/" + path:
            return builder
    raise KeyError(path)


@LAYOUTS
def test_direct_write_into_an_existing_file_updates_consolidated_metadata(fmt, tmp_path):
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(_nwbfile())
    with ZarrIO(str(path), "r+") as io:
        scratch = io._file["acquisition"]
        node = io.write_dataset(scratch, DatasetBuilder("extra", data=np.arange(3.0)))
        assert node.path == "acquisition/extra"
        io.write_attributes(io._file["acquisition/ts"], {"comments": "changed"})
    # mode "r" reads the consolidated metadata: it must hold the new node and attribute
    with ZarrIO(str(path), "r") as io:
        acq = io.read_builder().groups["acquisition"]
        np.testing.assert_array_equal(acq.datasets["extra"].data[:], np.arange(3.0))
        assert acq.groups["ts"].attributes["comments"] == "changed"
    with NWBZarrIO(str(path), "r") as io:
        assert io.read().acquisition["ts"].comments == "changed"


@LAYOUTS
def test_direct_writes_refuse_bad_input_and_leave_the_store_unchanged(fmt, tmp_path):
    path = tmp_path / "f.zarr"
    other = tmp_path / "other.zarr"
    with ZarrIO(str(other), "w", zarr_format=fmt) as io:
        io.write_group(io._file, GroupBuilder("o"))
    with ZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write_group(io._file, GroupBuilder("g"))
        before = snapshot_files(path)
        foreign = zarr.open_group(str(other), mode="r")
        with pytest.raises(ValueError, match="another store"):
            io.write_group(foreign, GroupBuilder("x"))
        with pytest.raises(TypeError, match="zarr.Group"):
            io.write_group("not a group", GroupBuilder("x"))
        with pytest.raises(TypeError, match="GroupBuilder"):
            io.write_group(io._file, DatasetBuilder("x", data=[1]))
        with pytest.raises(InvalidNameError):
            io.write_group(io._file, GroupBuilder("a/b"))
        with pytest.raises(TypeError, match="dict"):
            io.write_attributes(io._file, [("a", 1)])
        with pytest.raises(InvalidNameError, match="reserved"):
            io.write_attributes(io._file["g"], {io._layout.links_attr: []})
        assert snapshot_files(path) == before
    with ZarrIO(str(path), "r") as io:
        with pytest.raises(StoreModeError):
            io.write_group(io._file, GroupBuilder("x"))
        with pytest.raises(StoreModeError):
            io.write_attributes(io._file, {"a": 1})


def test_older_builder_first_form_still_works(tmp_path):
    """``write_group(builder, path)`` as this package had it keeps working."""
    path = tmp_path / "f.zarr"
    with ZarrIO(str(path), "w") as io:
        assert io._file is not None  # the root group
        io.write_group(GroupBuilder("g", attributes={"k": "v"}), "/g")
        io.write_dataset(DatasetBuilder("d", data=[1, 2]), path="/g/d")
    with ZarrIO(str(path), "r") as io:
        g = io.read_builder().groups["g"]
        assert g.attributes["k"] == "v"
        np.testing.assert_array_equal(g.datasets["d"].data[:], [1, 2])
