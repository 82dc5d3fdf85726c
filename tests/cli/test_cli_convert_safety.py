"""``hdmf-zarr convert`` never destroys its source or an existing DST (issue 14 item 14):
nested SRC/DST are refused, the conversion is written to a hidden sibling and replaces DST only
when complete, and a failed or interrupted conversion leaves DST as it was."""

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from _shared import snapshot_files
from hdmf_zarr.cli import main

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PICKLE = SHARED / "legacy" / "ecephys_pickle_refs.nwb.zarr"
ELECTRICAL_SERIES = SHARED / "real" / "dandi_nwb_test_data_v2.0.1" / "test_ElectricalSeries.nwb"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def zarr_src(tmp_path):
    src = tmp_path / "src.nwb.zarr"
    shutil.copytree(PICKLE, src)
    return src


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
@pytest.mark.parametrize("where", ["sub.nwb.zarr", "a/b/out.nwb", "."])
def test_dst_inside_src_is_refused(zarr_src, overwrite, where):
    before = snapshot_files(zarr_src)
    dst = zarr_src / where
    result = run("convert", *(["--overwrite"] if overwrite else []), zarr_src, dst)
    assert result.exit_code == 1, result.output
    assert "inside SRC" in result.stderr or "the same" in result.stderr
    assert snapshot_files(zarr_src) == before


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_src_inside_dst_is_refused(tmp_path, overwrite):
    dst = tmp_path / "out.nwb.zarr"
    shutil.copytree(PICKLE, dst)  # an existing store DST that holds the source file
    src = dst / "input.nwb"
    shutil.copyfile(ELECTRICAL_SERIES, src)
    before = snapshot_files(dst)
    result = run("convert", *(["--overwrite"] if overwrite else []), src, dst)
    assert result.exit_code == 1, result.output
    assert "contains SRC" in result.stderr
    assert snapshot_files(dst) == before


def _old_dst(tmp_path):
    dst = tmp_path / "out.nwb.zarr"
    shutil.copytree(PICKLE, dst)
    return dst, snapshot_files(dst)


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()],
                         ids=["error", "ctrl-c"])
def test_failed_overwrite_keeps_the_old_dst(tmp_path, monkeypatch, failure):
    import hdmf_zarr.nwb

    original = hdmf_zarr.nwb.NWBZarrIO.export

    def failing_export(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise failure

    monkeypatch.setattr(hdmf_zarr.nwb.NWBZarrIO, "export", failing_export)
    dst, before = _old_dst(tmp_path)
    result = run("convert", "--overwrite", ELECTRICAL_SERIES, dst)
    assert result.exit_code != 0
    assert snapshot_files(dst) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.nwb.zarr"]  # nothing left over


@pytest.mark.parametrize("name", ["out.nwb.zarr", "out.zip", "out.sqlite"])
def test_overwrite_replaces_dst_only_at_the_end(tmp_path, name):
    dst = tmp_path / name
    assert run("convert", "--zarr-format", "2", ELECTRICAL_SERIES, dst).exit_code == 0
    result = run("convert", "--overwrite", ELECTRICAL_SERIES, dst)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    from hdmf_zarr.nwb import NWBZarrIO

    with NWBZarrIO(str(dst), "r") as io:
        assert io.zarr_format == 3
        data = io.read().acquisition["test_eS"].data[:]
    import h5py

    with h5py.File(ELECTRICAL_SERIES, "r") as f:
        assert (data == f["acquisition/test_eS/data"][:]).all()
