"""Stores written by the released hdmf-zarr 0.14 read back equal to their HDF5 source
(issue 12 item 8: compounds in the ``struct`` form of Zarr-Python >= 3.2, FORMAT.md 3.4)."""

from pathlib import Path

import pytest
from pynwb import NWBHDF5IO

from hdmf_zarr import NWBZarrIO
from roundtrip._compare import assert_container_equal

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
UPSTREAM = DATA / "upstream014"
REAL = DATA / "real" / "dandi_nwb_test_data_v2.0.1"
STORES = ["test_TimeIntervals", "test_PlaneSegmentation"]


@pytest.mark.parametrize("name", STORES)
def test_struct_compounds_equal_hdf5_source(name):
    store = UPSTREAM / f"{name}.nwb.zarr"
    source = REAL / f"{name}.nwb"
    assert store.is_dir() and source.is_file()
    with NWBHDF5IO(str(source), "r") as hio, NWBZarrIO(str(store), "r") as zio:
        assert_container_equal(hio.read(), zio.read(), check_object_id=False)


def test_struct_values_read():
    """The compound columns themselves, field by field."""
    with NWBHDF5IO(str(REAL / "test_TimeIntervals.nwb"), "r") as hio, \
            NWBZarrIO(str(UPSTREAM / "test_TimeIntervals.nwb.zarr"), "r") as zio:
        want = hio.read().epochs["timeseries"].target.data
        got = zio.read().epochs["timeseries"].target.data
        assert len(got) == len(want) == 4
        for w, g in zip(want[:], got[:]):
            assert (int(g[0]), int(g[1]), g[2].name) == (int(w[0]), int(w[1]), w[2].name)
    with NWBHDF5IO(str(REAL / "test_PlaneSegmentation.nwb"), "r") as hio, \
            NWBZarrIO(str(UPSTREAM / "test_PlaneSegmentation.nwb.zarr"), "r") as zio:
        want = hio.read().processing["plane_seg_test_module"]["ImageSegmentation"][
            "test_plane_seg_name"]["pixel_mask"].data[:]
        got = zio.read().processing["plane_seg_test_module"]["ImageSegmentation"][
            "test_plane_seg_name"]["pixel_mask"].data[:]
        assert got.dtype.names == want.dtype.names
        assert got.tolist() == want.tolist()
