"""Reading an SQLiteStore changes no byte of it, and no open switches the journal mode of a
database (issue 14 item 6): a rollback-journal database stays one (header bytes 18-19 are 1,1;
WAL is 2,2)."""

import sqlite3

import numpy as np
import pytest
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.storage import SQLiteStore


def _rollback_journal_store(path, fmt):
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=np.arange(4.0), rate=1.0, unit="m"))
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(nwb)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    con.close()
    raw = path.read_bytes()
    assert raw[18:20] == b"\x01\x01"
    return raw


@pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
def test_read_changes_no_byte_of_a_rollback_journal_database(tmp_path, fmt):
    path = tmp_path / "f.sqlite"
    raw = _rollback_journal_store(path, fmt)
    for mode in ("r", "r-"):
        with NWBZarrIO(str(path), mode) as io:
            assert list(io.read().acquisition["ts"].data[:]) == [0.0, 1.0, 2.0, 3.0]
        assert path.read_bytes() == raw, mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.sqlite"]


def test_a_write_keeps_the_journal_mode(tmp_path):
    path = tmp_path / "f.sqlite"
    _rollback_journal_store(path, 3)
    store = SQLiteStore(str(path))
    sync(store.set("extra/key", default_buffer_prototype().buffer.from_bytes(b"x")))
    store.close()
    assert path.read_bytes()[18:20] == b"\x01\x01"
    fresh = SQLiteStore(str(tmp_path / "new.sqlite"))  # databases we create use WAL
    sync(fresh.set("k", default_buffer_prototype().buffer.from_bytes(b"x")))
    fresh.close()
    assert (tmp_path / "new.sqlite").read_bytes()[18:20] == b"\x02\x02"
