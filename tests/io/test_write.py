"""hdmf_zarr.io.write: the write-in-progress session of ZarrIO, kept as a plain attribute."""

from __future__ import annotations

import pytest
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.io.write import WriteState
from hdmf_zarr.storage._atomic import read_write_marker


def _nwb():
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=[1.0, 2.0, 3.0], unit="m", rate=1.0))
    return nwb


@pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
def test_nested_sessions_remove_the_marker_once_the_outermost_ends(tmp_path, fmt):
    with NWBZarrIO(str(tmp_path / "f.zarr"), mode="w", zarr_format=fmt) as io:
        assert io._write_state is None  # no write yet: nothing set on the object
        with io._write_session():
            with io._write_session():
                io._begin_write()
                assert read_write_marker(io.store) is not None
            assert read_write_marker(io.store) is not None  # still inside the outer session
        assert read_write_marker(io.store) is None
        assert isinstance(io._write_state, WriteState) and "_write_state" in vars(io)
        io.write(_nwb())
        assert io._write_state == WriteState(depth=0, marked=False, failed=False,
                                             token=io._write_state.token)


def test_a_failed_session_leaves_the_marker(tmp_path):
    with NWBZarrIO(str(tmp_path / "f.zarr"), mode="w") as io:
        with pytest.raises(RuntimeError), io._write_session():
            io._begin_write()
            raise RuntimeError("interrupted")
        assert io._write_state.failed
        assert read_write_marker(io.store) is not None
        with io._write_session():  # later sessions do not remove it either
            io._begin_write()
        assert read_write_marker(io.store) is not None
