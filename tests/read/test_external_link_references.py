"""References a linked store's data holds give the very container its external link gives
(pynwb #1863's scenario: a copy whose trials table and TimeSeries are links into the original)."""

import warnings

import pytest
from pynwb import TimeSeries
from pynwb.base import TimeSeriesReference
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr import NWBZarrIO


@pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
def test_reference_in_linked_table_is_the_linked_series(tmp_path, fmt):
    original, copy_path = tmp_path / "a.nwb.zarr", tmp_path / "b.nwb.zarr"
    nwb = mock_NWBFile()
    series = TimeSeries(name="ts", data=[1.0, 2.0, 3.0], timestamps=[0.5, 1.0, 1.5], unit="m")
    nwb.add_acquisition(series)
    nwb.add_trial(start_time=0.5, stop_time=1.5, timeseries=[series])
    with NWBZarrIO(str(original), "w", zarr_format=fmt) as io:
        io.write(nwb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(str(original), "r") as src:
            linked = src.read().copy()  # the series and the trials' columns link into a
            with NWBZarrIO(str(copy_path), "w", manager=src.manager, zarr_format=fmt) as out:
                out.write(linked)
        with NWBZarrIO(str(copy_path), "r") as io:
            read = io.read()
            ref = read.trials["timeseries"][0][0]
            assert isinstance(ref, TimeSeriesReference)
            assert ref.timeseries is read.acquisition["ts"]
            assert list(ref.timeseries.data[:]) == [1.0, 2.0, 3.0]
            assert (ref.idx_start, ref.count) == (0, 2)
