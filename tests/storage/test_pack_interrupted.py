"""An in-place pack killed half-way is detected and resumed (issue 14 item 16).

``pack(DIR, "h5")`` moves loose chunks into HDF5 containers one container at a time. Killed
(SIGKILL) between two containers, the directory used to open as a plain directory store, in
which every array already moved read as fill values, silently. The pack marker now makes it
open as an H5NestedStore (containers and loose chunks both read) and a second pack resumes."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.storage import pack
from hdmf_zarr.storage._pack import PACK_MARKER, nested_store_kind

SERIES = {f"s{i}": np.arange(40.0) * (i + 1) for i in range(4)}

KILLER = textwrap.dedent("""
    import os, signal, sys
    from hdmf_zarr.storage import _nested, pack

    original = _nested.NestedContainerStore._remove_copies
    done = [0]

    def remove_copies(self, pairs):
        original(self, pairs)
        done[0] += 1
        if done[0] == int(sys.argv[2]):  # this container is in place, the rest still loose
            os.kill(os.getpid(), signal.SIGKILL)

    _nested.NestedContainerStore._remove_copies = remove_copies
    pack(sys.argv[1], "h5")
""")


def _write(path, fmt):
    nwb = mock_NWBFile()
    for name, data in SERIES.items():
        nwb.add_acquisition(TimeSeries(name=name, data=data, rate=1.0, unit="m"))
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(nwb)


def _check(path):
    with NWBZarrIO(str(path), "r") as io:
        nwb = io.read()
        for name, data in SERIES.items():
            np.testing.assert_array_equal(nwb.acquisition[name].data[:], data)
        assert len(nwb.file_create_date) == 1


@pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
@pytest.mark.parametrize("kill_after", [1, 3])
def test_killed_pack_reads_right_and_resumes(tmp_path, fmt, kill_after):
    path = tmp_path / "f.nwb.zarr"
    _write(path, fmt)
    run = subprocess.run([sys.executable, "-c", KILLER, str(path), str(kill_after)],
                         capture_output=True, timeout=300)
    assert run.returncode == -9, run.stderr.decode()
    assert (path / PACK_MARKER).exists()
    assert nested_store_kind(str(path)) == "H5NestedStore"
    _check(path)  # every array reads its values, moved or not
    result = pack(str(path), "h5")  # resumes
    assert result["chunks"] > 0
    assert not (path / PACK_MARKER).exists()
    assert any(f.endswith(".h5shard") for _d, _s, files in os.walk(path) for f in files)
    _check(path)


def test_complete_pack_leaves_no_marker_and_refuses_a_second_pack(tmp_path):
    path = tmp_path / "f.nwb.zarr"
    _write(path, 3)
    pack(str(path), "h5")
    assert not (path / PACK_MARKER).exists()
    _check(path)
    with pytest.raises(Exception, match="already packed"):
        pack(str(path), "h5")
