"""Index arrays NWB tools build by accident: float64 arrays of whole numbers (nwbinspector's
Units duration check concatenates a uint64 0 with the int64 index)."""

import warnings

import numpy as np
import pytest
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr import NWBZarrIO

DATA = np.arange(50, dtype=np.float64).reshape(25, 2) * 0.5


@pytest.fixture(params=[2, 3], ids=["L2", "L3"])
def data(request, tmp_path):
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=DATA, rate=1.0, unit="m"))
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=request.param) as io:
        io.write(nwb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        io = NWBZarrIO(str(path), "r")
        yield io.read().acquisition["ts"].data
        io.close()


def test_whole_number_float_index_arrays_select_rows(data):
    idx = np.concatenate([[np.uint64(0)], np.array([3, 24], dtype=np.int64)])
    assert idx.dtype == np.float64
    np.testing.assert_array_equal(data[idx], DATA[[0, 3, 24]])
    np.testing.assert_array_equal(data[idx, 1], DATA[[0, 3, 24], 1])


def test_fractional_float_index_is_refused(data):
    with pytest.raises(IndexError):
        data[np.array([0.5, 1.0])]
