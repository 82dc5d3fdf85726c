"""``.compressor`` and ``.filters`` of read datasets answer as Zarr 2 did (issue 13): tools
such as nwbinspector read ``dataset.compressor``, which Zarr 3 refuses on format 3 arrays."""

import numcodecs
import numpy as np
import pytest
import zarr
from pynwb.testing.mock.base import mock_TimeSeries
from pynwb.testing.mock.ecephys import mock_ElectricalSeries
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr import NWBZarrIO, ZarrDataIO


def _write(path, layout):
    nwbfile = mock_NWBFile()
    data = np.arange(4000, dtype=np.int32).reshape(1000, 4)
    nwbfile.add_acquisition(mock_TimeSeries(name="zstd", data=ZarrDataIO(
        data, chunks=(500, 4), compressor=numcodecs.Zstd(level=3))))
    nwbfile.add_acquisition(mock_TimeSeries(name="raw", data=ZarrDataIO(
        data, chunks=(500, 4), compressor=False)))
    mock_ElectricalSeries(nwbfile=nwbfile, name="es")
    nwbfile.add_epoch(0.0, 1.0, timeseries=[nwbfile.acquisition["raw"]])
    with NWBZarrIO(str(path), "w", zarr_format=layout) as io:
        io.write(nwbfile)


@pytest.mark.parametrize("layout", [3, 2])
def test_compressor_of_numeric_datasets(tmp_path, layout):
    path = tmp_path / f"c{layout}.nwb.zarr"
    _write(path, layout)
    with NWBZarrIO(str(path), "r") as io:
        f = io.read()
        assert f.acquisition["zstd"].data.compressor == numcodecs.Zstd(level=3)
        assert f.acquisition["raw"].data.compressor is None
        plain = zarr.open_group(str(path), mode="r")
        if layout == 2:  # what Zarr itself reports for format 2 arrays
            assert plain["acquisition/zstd/data"].compressor == numcodecs.Zstd(level=3)


@pytest.mark.parametrize("layout", [3, 2])
def test_compressor_of_text_and_table_datasets(tmp_path, layout):
    path = tmp_path / f"t{layout}.nwb.zarr"
    _write(path, layout)
    plain = zarr.open_group(str(path), mode="r")
    with NWBZarrIO(str(path), "r") as io:
        f = io.read()
        columns = {"location": f.electrodes["location"].data,
                   "group": f.electrodes["group"].data,
                   "timeseries": f.epochs["timeseries"].target.data}
        nodes = {"location": "general/extracellular_ephys/electrodes/location",
                 "group": "general/extracellular_ephys/electrodes/group",
                 "timeseries": "intervals/epochs/timeseries"}
        for name, dataset in columns.items():
            array = plain[nodes[name]]
            if layout == 2:
                assert dataset.compressor == array.compressor, name
                assert list(dataset.filters or ()) == list(array.filters or ()), name
                assert dataset.filters, name  # every L2 object array has its object codec
            else:
                want = array.compressors[-1] if array.compressors else None
                got = dataset.compressor
                if want is None:
                    assert got is None, name
                else:
                    assert isinstance(got, numcodecs.abc.Codec), name
                    assert got.codec_id in type(want).__name__.lower(), name
