"""One writer at a time, and an interrupted write still reads in mode r- (issue 14 items 17
and 18).

* Two objects that opened a store in mode ``a`` before either wrote used to share one
  write-in-progress marker: the first to finish removed it while the other was still writing.
  The marker is now owned (a token): a second writer is refused while it is there, and a writer
  removes only its own.
* A write interrupted by Ctrl-C left a root without attributes, so mode ``r-`` failed with
  "No data_type found for builder root"; the root's attributes are now stored first, and
  ``hdmf-zarr info`` reports the marker.
"""


import numpy as np
import pytest
from click.testing import CliRunner
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile
from zarr.storage import LocalStore

from _shared import snapshot_files
from hdmf_zarr import NWBZarrIO
from hdmf_zarr.cli import main
from hdmf_zarr.errors import IncompleteWriteError, IncompleteWriteWarning, StoreModeError
from hdmf_zarr.storage._atomic import begin_write, end_write, read_write_marker

LAYOUTS = pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
KINDS = pytest.mark.parametrize("kind", ["dir", "sqlite"])


def _nwb(name="ts", data=None):
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name=name, data=np.arange(4.0) if data is None else data,
                                   rate=1.0, unit="m"))
    return nwb


def _path(tmp_path, kind):
    return str(tmp_path / ("f.sqlite" if kind == "sqlite" else "f.nwb.zarr"))


def _append(io, name):
    nwb = io.read()
    nwb.add_acquisition(TimeSeries(name=name, data=np.arange(3.0), rate=1.0, unit="m"))
    return nwb


@LAYOUTS
@KINDS
def test_second_writer_is_refused_and_first_marker_kept(tmp_path, fmt, kind):
    path = _path(tmp_path, kind)
    with NWBZarrIO(path, "w", zarr_format=fmt) as io:
        io.write(_nwb())
    first = NWBZarrIO(path, "a")
    second = NWBZarrIO(path, "a")  # both opened before either wrote: no marker seen
    try:
        nwb1, nwb2 = _append(first, "one"), _append(second, "two")
        # the first writer is in the middle of its write (its marker is set)...
        with first._write_session():
            first._begin_write()
            token = read_write_marker(first._store)["token"]
            # ...when the second starts: refused, the first one's marker left as it was
            with pytest.raises(StoreModeError, match="another write is in progress"):
                second.write(nwb2)
            assert read_write_marker(first._store)["token"] == token
            first.write(nwb1)
        assert read_write_marker(first._store) is None  # the first removed its own marker
        second.write(nwb2)  # one at a time works
    finally:
        first.close()
        second.close()
    with NWBZarrIO(path, "r") as io:
        acq = io.read().acquisition
        assert sorted(acq) == ["one", "ts", "two"]
        assert list(acq["one"].data[:]) == list(acq["two"].data[:]) == [0.0, 1.0, 2.0]


def test_end_write_leaves_another_writers_marker(tmp_path):
    store = LocalStore(str(tmp_path / "s"))
    mine = begin_write(store, "a")
    with pytest.raises(StoreModeError, match="another write is in progress.*pid"):
        begin_write(store, "a")
    end_write(store, "not-my-token")
    assert read_write_marker(store)["token"] == mine
    end_write(store, mine)
    assert read_write_marker(store) is None


@LAYOUTS
@KINDS
def test_interrupted_write_reads_in_mode_r_minus_and_info_reports_it(tmp_path, fmt, kind,
                                                                    monkeypatch):
    from hdmf_zarr.write.writer import BuilderWriter

    path = _path(tmp_path, kind)
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="done", data=np.arange(4.0), rate=1.0, unit="m"))
    nwb.add_acquisition(TimeSeries(name="live", data=np.arange(3.0), rate=1.0, unit="m"))
    original = BuilderWriter.write_dataset

    def write_dataset(self, builder, path, *args, **kwargs):
        if path == "/acquisition/live/data":  # Ctrl-C in the middle of the tree
            raise KeyboardInterrupt
        return original(self, builder, path, *args, **kwargs)

    monkeypatch.setattr(BuilderWriter, "write_dataset", write_dataset)
    with pytest.raises(KeyboardInterrupt), NWBZarrIO(path, "w", zarr_format=fmt) as io:
        io.write(nwb)
    monkeypatch.undo()
    with pytest.raises(IncompleteWriteError):
        NWBZarrIO(path, "r")
    with pytest.warns(IncompleteWriteWarning), NWBZarrIO(path, "r-") as io:
        root = io.read_builder()  # what the store holds, the root's attributes included
        assert root.attributes["neurodata_type"] == "NWBFile"
        assert root.attributes["namespace"] == "core"
        with pytest.raises(IncompleteWriteError, match="interrupted.*read_builder"):
            io.read()  # not a whole NWB file: said so, instead of a missing part
    if kind == "dir":
        before = snapshot_files(path)
        result = CliRunner().invoke(main, ["info", path])
        assert result.exit_code == 0, result.output
        assert "INCOMPLETE" in result.stdout and "interrupted" in result.stdout
        assert snapshot_files(path) == before


def test_info_says_nothing_of_a_complete_store(tmp_path):
    path = _path(tmp_path, "dir")
    with NWBZarrIO(path, "w") as io:
        io.write(_nwb())
    result = CliRunner().invoke(main, ["info", path])
    assert result.exit_code == 0 and "INCOMPLETE" not in result.stdout
