"""Mode ``w`` never deletes what is not a Zarr store (issue 14 item 13): a directory of the
user's files, another application's SQLite database or a zip that is not a store are refused
unless ``force_overwrite=True``; Zarr stores, empty directories and interrupted writes are
replaced as before."""

import os
import sqlite3
import zipfile

import numpy as np
import pytest
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile
from zarr.storage import LocalStore

from _shared import snapshot_files
from hdmf_zarr import NWBZarrIO
from hdmf_zarr.errors import StoreModeError

LAYOUTS = pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])


def _nwb(values=(1.0, 2.0, 3.0)):
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=np.asarray(values), rate=1.0, unit="m"))
    return nwb


def _user_dir(path):
    (path / "sub").mkdir(parents=True)
    (path / "thesis.docx").write_bytes(b"years of work")
    (path / "sub" / "raw.bin").write_bytes(b"\x00\x01raw")
    return snapshot_files(path)


def _read_ts(path):
    with NWBZarrIO(str(path), "r") as io:
        return list(io.read().acquisition["ts"].data[:])


@LAYOUTS
def test_mode_w_refuses_a_directory_that_is_not_a_store(tmp_path, fmt):
    path = tmp_path / "mydir"
    before = _user_dir(path)
    with pytest.raises(StoreModeError, match="not a Zarr store.*force_overwrite") as exc, \
            NWBZarrIO(str(path), mode="w", zarr_format=fmt) as io:
        io.write(_nwb())
    assert str(path) in str(exc.value)
    assert snapshot_files(path) == before


def test_mode_w_refuses_a_store_instance_holding_other_files(tmp_path):
    path = tmp_path / "mydir"
    before = _user_dir(path)
    with pytest.raises(StoreModeError, match="not a Zarr store"):
        NWBZarrIO(LocalStore(str(path)), mode="w")
    assert snapshot_files(path) == before


def test_force_overwrite_replaces_a_directory_that_is_not_a_store(tmp_path):
    path = tmp_path / "mydir"
    _user_dir(path)
    with NWBZarrIO(str(path), mode="w", force_overwrite=True) as io:
        io.write(_nwb())
    assert not (path / "thesis.docx").exists()
    assert _read_ts(path) == [1.0, 2.0, 3.0]


@LAYOUTS
def test_mode_w_still_replaces_stores_and_empty_directories(tmp_path, fmt):
    path = tmp_path / "store.zarr"
    path.mkdir()  # empty directory
    with NWBZarrIO(str(path), mode="w", zarr_format=fmt) as io:
        io.write(_nwb())
    with NWBZarrIO(str(path), mode="w", zarr_format=fmt) as io:  # an existing store
        io.write(_nwb((4.0, 5.0)))
    assert _read_ts(path) == [4.0, 5.0]
    # an interrupted write (marker, no root document yet) is replaced too
    for name in os.listdir(path):
        if name in ("zarr.json", ".zgroup", ".zattrs", ".zmetadata"):
            os.remove(path / name)
    (path / ".hdmf_zarr_write_in_progress").write_text("{}")
    with NWBZarrIO(str(path), mode="w", zarr_format=fmt) as io:
        io.write(_nwb((6.0,)))
    assert _read_ts(path) == [6.0]


def test_mode_w_refuses_a_foreign_sqlite_database_and_a_foreign_zip(tmp_path):
    db = tmp_path / "app.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES (42)")
    con.commit()
    con.close()
    raw = db.read_bytes()
    with pytest.raises(StoreModeError, match="not an SQLiteStore"):
        NWBZarrIO(str(db), mode="w")
    assert db.read_bytes() == raw
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("img.jpg", b"jpeg")
    raw = archive.read_bytes()
    with pytest.raises(StoreModeError, match="not a zip of a Zarr store"):
        NWBZarrIO(str(archive), mode="w")
    assert archive.read_bytes() == raw
    # stores of those kinds are replaced
    for name in ("s.sqlite", "s.zip"):
        with NWBZarrIO(str(tmp_path / name), mode="w") as io:
            io.write(_nwb())
        with NWBZarrIO(str(tmp_path / name), mode="w") as io:
            io.write(_nwb((7.0,)))
        assert _read_ts(tmp_path / name) == [7.0]
