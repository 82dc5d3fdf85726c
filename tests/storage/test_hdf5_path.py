"""A Zarr store whose directory name ends in ``.nwb``/``.h5`` is not an HDF5 file.

pynwb's ``test_file_copy`` names its files ``test_a.nwb``; through our IO that is a Zarr store
directory, and writing a copy that links into it failed: "cannot link to the HDF5 file
test_a.nwb: a link source must be a Zarr store", because the suffix alone made it HDF5.
"""

import pytest
from pynwb.base import TimeSeriesReference
from pynwb.testing.mock.base import mock_TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr.nwb import NWBZarrIO
from hdmf_zarr.storage import is_hdf5_path


def test_directory_with_hdf5_suffix_is_not_hdf5(tmp_path):
    store = tmp_path / "x.nwb"
    store.mkdir()
    assert not is_hdf5_path(str(store))
    assert is_hdf5_path(str(tmp_path / "missing.nwb"))  # a name to create keeps its meaning


@pytest.mark.parametrize("zarr_format", [2, 3], ids=["L2", "L3"])
def test_copy_linking_into_store_named_nwb(tmp_path, zarr_format):
    nwb = mock_NWBFile()
    ts = mock_TimeSeries(name="test_ts", timestamps=[1.0, 2.0, 3.0], data=[1.0, 2.0, 3.0])
    nwb.add_acquisition(ts)
    nwb.add_trial(start_time=1.0, stop_time=2.0, timeseries=[ts])
    path1, path2 = str(tmp_path / "test_a.nwb"), str(tmp_path / "test_b.nwb")
    with NWBZarrIO(path1, mode="w", zarr_format=zarr_format) as io:
        io.write(nwb)
    with NWBZarrIO(path1, mode="r") as base_io:
        copy = base_io.read().copy()
        with NWBZarrIO(path2, mode="w", manager=base_io.manager,
                       zarr_format=zarr_format) as out_io:
            out_io.write(copy)
    with NWBZarrIO(path2, mode="r") as io:
        read = io.read()
        value = read.trials["timeseries"][0][0]
        assert isinstance(value, TimeSeriesReference)
        assert (value.idx_start, value.count) == (0, 1)
        # the reference resolves into test_a.nwb; NWBHDF5IO gives the very object of
        # acquisition, ours an equal one (listed in tests/peers/known_differences.toml)
        assert value.timeseries.name == "test_ts"
        assert value.timeseries.data[:].tolist() == [1.0, 2.0, 3.0]
        assert read.acquisition["test_ts"].data[:].tolist() == [1.0, 2.0, 3.0]
