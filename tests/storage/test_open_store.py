"""open_store: what a path names becomes the right store; a whole NWB file in one SQLite file,
written, appended to and read by path."""

import os

import numpy as np
import pytest
import zarr
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile
from zarr.storage import LocalStore

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.errors import NotHdmfStoreError, StoreModeError
from hdmf_zarr.storage import SQLiteStore, open_store


def test_paths_name_their_store(tmp_path):
    store, loc = open_store(str(tmp_path / "a.zarr"), "w")
    assert isinstance(store, LocalStore) and loc == str(tmp_path / "a.zarr")
    store, loc = open_store(str(tmp_path / "b.sqlite"), "w")
    assert isinstance(store, SQLiteStore)
    zarr.create_group(store, attributes={"a": 1})
    store.close()
    # an existing SQLite file is recognised by its header whatever its name
    os.rename(tmp_path / "b.sqlite", tmp_path / "renamed.bin")
    store, _ = open_store(str(tmp_path / "renamed.bin"), "r")
    assert isinstance(store, SQLiteStore)
    assert zarr.open_group(store, mode="r").attrs["a"] == 1
    store.close()
    with pytest.raises(NotHdmfStoreError, match="no such zip"):
        open_store(str(tmp_path / "missing.zip"), "r")
    with pytest.raises(StoreModeError, match="written once"):
        open_store(str(tmp_path / "c.zip"), "a")
    (tmp_path / "plain.txt").write_text("not a store")
    with pytest.raises(NotHdmfStoreError, match="regular file"):
        open_store(str(tmp_path / "plain.txt"), "r")


@pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
def test_sqlite_file_by_path(tmp_path, fmt):
    path = tmp_path / "session.nwb.sqlite"
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="t", data=np.arange(5.0), rate=1.0, unit="m"))
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(nwb)
    assert sorted(os.listdir(tmp_path)) == ["session.nwb.sqlite"]
    with NWBZarrIO(str(path), "a") as io:
        f = io.read()
        f.add_acquisition(TimeSeries(name="t2", data=np.arange(3.0), rate=1.0, unit="m"))
        io.write(f)
    with NWBZarrIO(str(path), "r") as io:
        f = io.read()
        assert sorted(f.acquisition) == ["t", "t2"]
        np.testing.assert_array_equal(f.acquisition["t"].data[:], np.arange(5.0))
        np.testing.assert_array_equal(f.acquisition["t2"].data[:], np.arange(3.0))
    with pytest.raises(StoreModeError, match="already exists"):
        NWBZarrIO(str(path), "w-")
