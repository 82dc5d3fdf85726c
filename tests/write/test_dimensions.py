"""Stored dimension names keep every group consistent for xarray (write/dimensions.py;
FORMAT.md 2.1, 3.7).

The specs call unnamed dimensions ``dim0``; the data of a ragged column (``spike_times``) and
the table's other columns share that name with different lengths, and
``xarray.open_datatree`` refused the whole file ("conflicting sizes for dimension 'dim0'").
"""

import json
import warnings

import numpy as np
import pytest
import xarray as xr
from _large import LAYOUT, nwbfile_with, write_nwb
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr.nwb import NWBZarrIO
from hdmf_zarr.write.dimensions import DimensionNamer, is_placeholder


def test_placeholders():
    assert all(is_placeholder(v) for v in ("dim0", "dim1", "dim_2", "dim10"))
    assert not any(is_placeholder(v) for v in ("num_times", "dimension", "dim", "xdim0"))


def test_namer_rules():
    namer = DimensionNamer()
    assert namer.names("/units/quality", ("dim0",), (10,)) == ("quality_dim_0",)
    assert namer.names("/units/spike_times", ("dim0",), (195,)) == ("spike_times_dim_0",)
    assert namer.names("/units/id", ("num_rows",), (10,)) == ("num_rows",)
    assert namer.names("/units/spike_times_index", ("num_rows",), (10,)) == ("num_rows",)
    # the same name with another length in the same group
    assert namer.names("/units/other", ("num_rows",), (3,)) == ("other_num_rows",)
    # ... but not in another group
    assert namer.names("/trials/id", ("num_rows",), (3,)) == ("num_rows",)
    # one name on two axes
    assert namer.names("/g/m", ("num_x", "num_x"), (4, 4)) == ("m_num_x_0", "m_num_x_1")
    assert namer.names("/g/w", ("dim0", "dim1"), (4, 5)) == ("w_dim_0", "w_dim_1")
    # a growing first axis (unknown final length) neither claims nor conflicts
    assert namer.names("/a/ts/data", ("num_times", "num_channels"), (0, 4),
                       growing=True) == ("num_times", "num_channels")
    assert namer.names("/a/ts/timestamps", ("num_times",), (100,)) == ("num_times",)


def _units_file():
    nwbfile = mock_NWBFile()
    nwbfile.add_unit_column(name="quality", description="q")
    rng = np.random.default_rng(0)
    for i in range(10):
        nwbfile.add_unit(spike_times=np.sort(rng.uniform(0, 10, 5 + 3 * i)), quality=0.5 + i)
    return nwbfile


def _dims(path, node, layout):
    if layout == 3:
        doc = json.loads((path / node / "zarr.json").read_text())
        assert doc["dimension_names"] == doc["attributes"]["_ARRAY_DIMENSIONS"]
        return doc["dimension_names"]
    return json.loads((path / node / ".zattrs").read_text())["_ARRAY_DIMENSIONS"]


@LAYOUT
def test_units_table_names(tmp_path, layout):
    path = write_nwb(tmp_path / "u.nwb.zarr", _units_file(), layout)
    assert _dims(path, "units/quality", layout) == ["quality_dim_0"]
    assert _dims(path, "units/spike_times", layout) == ["spike_times_dim_0"]
    assert _dims(path, "units/spike_times_index", layout) == ["num_rows"]
    assert _dims(path, "units/id", layout) == ["num_rows"]
    with NWBZarrIO(str(path), "r") as io:
        units = io.read().units
        np.testing.assert_array_equal(units["quality"][:], 0.5 + np.arange(10))
        assert [len(units["spike_times"][i]) for i in range(10)] == [5 + 3 * i
                                                                     for i in range(10)]


def test_xarray_opens_the_tree_and_a_series(tmp_path):
    nwbfile = _units_file()
    path = tmp_path / "x.nwb.zarr"
    with NWBZarrIO(str(path), mode="w", zarr_format=3) as io:
        io.write(nwbfile)
    ts_file = nwbfile_with(np.arange(40, dtype="f4").reshape(10, 4))
    ts_path = write_nwb(tmp_path / "ts.nwb.zarr", ts_file, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = xr.open_datatree(str(path), engine="zarr")
        units = tree["units"].to_dataset()
        np.testing.assert_array_equal(units["quality"].values, 0.5 + np.arange(10))
        assert units.sizes["num_rows"] == 10
        assert units["spike_times"].dims == ("spike_times_dim_0",)
        series = xr.open_zarr(str(ts_path), group="acquisition/ts")
        assert series["data"].dims == ("num_times", "num_DIM2")
        np.testing.assert_array_equal(series["data"].values,
                                      np.arange(40, dtype="f4").reshape(10, 4))


@pytest.mark.parametrize("layout", [2, 3], ids=["L2", "L3"])
def test_iterator_dataset_names(tmp_path, layout):
    from _shared import ArrayIterator

    data = np.arange(60, dtype="i4").reshape(15, 4)
    dci = ArrayIterator(data, buffer_shape=(5, 4), chunk_shape=(5, 4), display_progress=False)
    path = write_nwb(tmp_path / "i.nwb.zarr", nwbfile_with(dci), layout)
    assert _dims(path, "acquisition/ts/data", layout) == ["num_times", "num_DIM2"]
