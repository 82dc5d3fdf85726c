"""hdmf-zarr 0.14's API for Zarr format-2 files (``hdmf_zarr.backend_zarrv2``): the read-only
``ZarrV2IO``/``NWBZarrV2IO``, ``convert_to_v3``/``export_to_v3``, ``is_zarr_v2_file`` and the
two exceptions, on the real stores written by hdmf-zarr 0.13 (/work/shared/data/legacy, copied
into ``tmp_path`` before use: the shared data is never opened for writing)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numcodecs
import numpy as np
import pytest
from pynwb import TimeSeries, get_manager
from pynwb.testing.mock.file import mock_NWBFile

from _shared import snapshot_files
from roundtrip._compare import assert_container_equal, assert_values_equal, materialize

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LEGACY_DIR = DATA / "legacy"
LEGACY = sorted(p for p in LEGACY_DIR.glob("*.nwb.zarr") if p.is_dir())
STORES = pytest.mark.parametrize("store", LEGACY, ids=[p.name for p in LEGACY])


def test_legacy_stores_present():
    assert len(LEGACY) == 2, f"expected the two 0.13 stores under {LEGACY_DIR}"


@pytest.fixture
def copy_of(tmp_path):
    def copy(store: Path) -> Path:
        dst = tmp_path / "src" / store.name
        shutil.copytree(store, dst)
        return dst
    return copy


def _check_documented(nwbfile) -> None:
    """The values /work/shared/data/legacy/README.md documents for both stores."""
    assert nwbfile.session_start_time == datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert len(nwbfile.units) == 5
    assert len(nwbfile.epochs) == 2
    assert len(nwbfile.trials) == 4
    assert_values_equal([f"stimulus é{i}" for i in range(4)], nwbfile.trials["stim"].data,
                        label="trials.stim")
    assert [bool(x) for x in materialize(nwbfile.trials["correct"].data)] == \
        [False, True, False, True]
    es = nwbfile.acquisition["es"]
    assert es.data.shape == (3000, 8) and es.data.dtype == np.int16
    # the soft link of 0.13: lick_copy's timestamps are lick's
    assert nwbfile.acquisition["lick_copy"].timestamps is nwbfile.acquisition["lick"].timestamps


# -------------------------------------------------------------------------- public names
def test_public_names_of_014():
    import hdmf_zarr
    from hdmf_zarr import backend_zarrv2, errors

    for name in ("ZarrIO", "ZarrDataIO", "NWBZarrIO", "ZarrV2IO", "NWBZarrV2IO",
                 "is_zarr_v2_file", "IncompleteConversionError"):
        assert name in hdmf_zarr.__all__ and hasattr(hdmf_zarr, name)
    for name in ("ZarrReference", "__version__", "UnsafePickleCodecError"):
        assert name in hdmf_zarr.__all__
    assert backend_zarrv2.IncompleteConversionError is hdmf_zarr.IncompleteConversionError
    assert backend_zarrv2.UnsafePickleCodecError is hdmf_zarr.UnsafePickleCodecError
    assert issubclass(backend_zarrv2.IncompleteConversionError, RuntimeError)
    assert issubclass(backend_zarrv2.UnsafePickleCodecError, ValueError)
    # our refusal of a hostile pickle is the 0.14 error, and keeps its own name
    assert issubclass(errors.UnsafePickleError, backend_zarrv2.UnsafePickleCodecError)
    assert issubclass(hdmf_zarr.NWBZarrV2IO, hdmf_zarr.ZarrV2IO)
    assert issubclass(hdmf_zarr.NWBZarrV2IO, hdmf_zarr.NWBZarrIO)


def test_version_satisfies_clients_requiring_011():
    from importlib.metadata import version

    from packaging.specifiers import SpecifierSet

    assert version("hdmf_zarr") in SpecifierSet(">=0.11")
    assert int(version("hdmf_zarr").split(".")[0]) >= 1


# -------------------------------------------------------------------------- readers
@STORES
def test_nwb_v2_reader_reads_legacy_store(store, copy_of):
    from hdmf_zarr import NWBZarrV2IO

    src = copy_of(store)
    before = snapshot_files(src)
    with NWBZarrV2IO(str(src), mode="r") as io:
        assert io.allow_pickle is False
        _check_documented(io.read())
        assert io.skipped_entries == []
    with NWBZarrV2IO(str(src), "r-", allow_pickle=True) as io:
        assert io.allow_pickle is True
        _check_documented(io.read())
    assert snapshot_files(src) == before


@STORES
def test_zarr_v2_reader_with_a_manager(store, copy_of):
    from hdmf_zarr import ZarrV2IO

    with ZarrV2IO(str(copy_of(store)), mode="r", manager=get_manager()) as io:
        assert io.zarr_format == 2
        _check_documented(io.read())


@pytest.mark.parametrize("cls_name", ["ZarrV2IO", "NWBZarrV2IO"])
@pytest.mark.parametrize("mode", ["r+", "a", "w", "w-", "x"])
def test_v2_readers_refuse_writing_modes(cls_name, mode, copy_of, tmp_path):
    import hdmf_zarr
    from hdmf_zarr.errors import StoreModeError

    cls = getattr(hdmf_zarr, cls_name)
    src = copy_of(LEGACY[0])
    before = snapshot_files(src)
    with pytest.raises(StoreModeError, match="only reads"):
        cls(str(src), mode=mode)
    assert snapshot_files(src) == before
    new = tmp_path / "new.zarr"
    with pytest.raises(StoreModeError):
        cls(str(new), mode=mode)
    assert not new.exists()


def test_v2_readers_refuse_write_and_export(copy_of, tmp_path):
    from hdmf_zarr import NWBZarrIO, NWBZarrV2IO, ZarrV2IO
    from hdmf_zarr.errors import StoreModeError

    src = copy_of(LEGACY[0])
    before = snapshot_files(src)
    with NWBZarrV2IO(str(src), "r") as io:
        nwbfile = io.read()
        with pytest.raises(StoreModeError, match="read-only"):
            io.write(nwbfile)
        with NWBZarrIO(str(src), "r") as other, \
                pytest.raises(StoreModeError, match="read-only"):
            io.export(src_io=other)
    with ZarrV2IO(str(src), "r", manager=get_manager()) as io, \
            pytest.raises(StoreModeError, match="read-only"):
        io.write(mock_NWBFile())
    assert snapshot_files(src) == before


def test_v2_readers_docstring_says_pickle_is_never_general():
    from hdmf_zarr import NWBZarrV2IO, ZarrV2IO

    for cls in (ZarrV2IO, NWBZarrV2IO):
        assert "never enables a general" in " ".join(cls.__doc__.split())


def test_allow_pickle_true_never_runs_a_hostile_pickle(copy_of, tmp_path):
    """A 0.13 pickle-coded reference chunk replaced by a pickle that runs a shell command: read
    with allow_pickle=True, it is refused with UnsafePickleCodecError and runs nothing."""
    from hdmf_zarr import NWBZarrV2IO, UnsafePickleCodecError

    src = copy_of(LEGACY_DIR / "ecephys_pickle_refs.nwb.zarr")
    canary = tmp_path / "canary"

    class _System:
        def __reduce__(self):
            return (os.system, (f"touch {canary}",))

    chunk = src / "units" / "electrode_group" / "0"
    chunk.write_bytes(numcodecs.Blosc(cname="lz4").encode(pickle.dumps(_System(), protocol=5)))
    with pytest.raises(UnsafePickleCodecError, match="units/electrode_group"), \
            NWBZarrV2IO(str(src), "r", allow_pickle=True) as io:
        nwbfile = io.read()
        materialize(nwbfile.units["electrode_group"].data)
    assert not canary.exists(), "allow_pickle=True ran a hostile pickle"


def test_skipped_entries_list_broken_links(copy_of):
    from hdmf_zarr import NWBZarrV2IO
    from hdmf_zarr.read.builders import BrokenLinkWarning

    src = copy_of(LEGACY[0])
    _break_link(src)
    with NWBZarrV2IO(str(src), "r") as io:
        with pytest.warns(BrokenLinkWarning, match="lick_copy"):
            io.read_builder()
        skipped = io.skipped_entries
    assert len(skipped) == 1
    assert skipped[0].startswith("broken link /acquisition/lick_copy/timestamps")


def _break_link(store: Path) -> None:
    """Point lick_copy's timestamps link at a path that does not exist (in .zattrs and in the
    consolidated metadata)."""
    zattrs = store / "acquisition" / "lick_copy" / ".zattrs"
    attrs = json.loads(zattrs.read_text())
    attrs["zarr_link"][0]["path"] = "/acquisition/nothing/timestamps"
    zattrs.write_text(json.dumps(attrs))
    zmeta = store / ".zmetadata"
    meta = json.loads(zmeta.read_text())
    meta["metadata"]["acquisition/lick_copy/.zattrs"] = attrs
    zmeta.write_text(json.dumps(meta))


# -------------------------------------------------------------------------- conversion
def _compare_files(source_path: Path, converted: Path) -> None:
    """Read both files and compare every value (the converted one in Zarr format 3)."""
    from hdmf_zarr import NWBZarrIO, NWBZarrV2IO

    assert (converted / "zarr.json").is_file() and not (converted / ".zgroup").exists()
    with NWBZarrV2IO(str(source_path), "r") as src, NWBZarrIO(str(converted), "r") as dst:
        assert dst.zarr_format == 3
        source, result = src.read(), dst.read()
        assert_container_equal(source, result, strict_dtype=True)
        _check_documented(result)


@STORES
def test_convert_to_v3_legacy_store(store, copy_of, tmp_path):
    from hdmf_zarr import NWBZarrV2IO

    src = copy_of(store)
    before = snapshot_files(src)
    dest = tmp_path / "converted.nwb.zarr"
    assert NWBZarrV2IO.convert_to_v3(str(src), str(dest)) is None
    assert snapshot_files(src) == before
    _compare_files(src, dest)


def test_convert_to_v3_refuses_an_existing_destination(copy_of, tmp_path):
    from hdmf_zarr import NWBZarrV2IO
    from hdmf_zarr.errors import StoreModeError

    src = copy_of(LEGACY[0])
    dest = tmp_path / "converted.nwb.zarr"
    NWBZarrV2IO.convert_to_v3(str(src), str(dest))
    before = snapshot_files(dest)
    with pytest.raises(StoreModeError, match="exists"):
        NWBZarrV2IO.convert_to_v3(str(src), str(dest))
    assert snapshot_files(dest) == before


def test_convert_to_v3_with_write_args(copy_of, tmp_path):
    from hdmf_zarr import NWBZarrV2IO

    src = copy_of(LEGACY[0])
    dest = tmp_path / "converted.nwb.zarr"
    NWBZarrV2IO.convert_to_v3(src, dest, write_args={"number_of_jobs": 1, "link_data": False},
                              allow_pickle=True)
    _compare_files(src, dest)


def test_convert_to_v3_raises_incomplete_conversion_before_writing(copy_of, tmp_path):
    from hdmf_zarr import IncompleteConversionError, NWBZarrV2IO

    src = copy_of(LEGACY[0])
    _break_link(src)
    dest = tmp_path / "converted.nwb.zarr"
    with pytest.warns(UserWarning, match="lick_copy"), \
            pytest.raises(IncompleteConversionError, match="lick_copy/timestamps") as info:
        NWBZarrV2IO.convert_to_v3(str(src), str(dest))
    assert len(info.value.skipped_entries) == 1
    assert not dest.exists()


@STORES
def test_export_to_v3_of_an_open_reader(store, copy_of, tmp_path):
    from hdmf_zarr import NWBZarrV2IO

    src = copy_of(store)
    dest = tmp_path / "exported.nwb.zarr"
    with NWBZarrV2IO(str(src), "r") as io:
        io.export_to_v3(str(dest))
    _compare_files(src, dest)


def test_export_to_v3_of_a_changed_nwbfile(copy_of, tmp_path):
    """0.14 style: read, add a container, export the changed file with nwbfile=."""
    from hdmf_zarr import NWBZarrIO, NWBZarrV2IO

    src = copy_of(LEGACY[0])
    dest = tmp_path / "exported.nwb.zarr"
    with NWBZarrV2IO(str(src), mode="r") as io:
        nwbfile = io.read()
        nwbfile.add_acquisition(TimeSeries(name="added", data=np.arange(7.0), rate=2.0,
                                           unit="V"))
        io.export_to_v3(str(dest), nwbfile=nwbfile)
    with NWBZarrIO(str(dest), "r") as out:
        result = out.read()
        assert_values_equal(np.arange(7.0), result.acquisition["added"].data, strict_dtype=True)
        _check_documented(result)


def test_read_nwb_static(copy_of):
    from hdmf_zarr import NWBZarrV2IO

    nwbfile = NWBZarrV2IO.read_nwb(str(copy_of(LEGACY[0])))
    try:
        _check_documented(nwbfile)
    finally:
        nwbfile.read_io.close()
    nwbfile = NWBZarrV2IO.read_nwb(str(copy_of(LEGACY[1])), allow_pickle=False)
    try:
        _check_documented(nwbfile)
    finally:
        nwbfile.read_io.close()


# -------------------------------------------------------------------------- is_zarr_v2_file
def test_is_zarr_v2_file(copy_of, tmp_path):
    from hdmf_zarr import NWBZarrIO, NWBZarrV2IO, is_zarr_v2_file

    src = copy_of(LEGACY[0])
    assert is_zarr_v2_file(str(src)) is True
    assert is_zarr_v2_file(src) is True
    dest = tmp_path / "v3.nwb.zarr"
    NWBZarrV2IO.convert_to_v3(str(src), str(dest))
    assert is_zarr_v2_file(str(dest)) is False
    l2 = tmp_path / "ours_l2.nwb.zarr"
    with NWBZarrIO(str(l2), "w", zarr_format=2) as io:
        io.write(mock_NWBFile())
    assert is_zarr_v2_file(str(l2)) is True
    assert is_zarr_v2_file(str(tmp_path / "missing.zarr")) is False
    (tmp_path / "empty_dir").mkdir()
    assert is_zarr_v2_file(str(tmp_path / "empty_dir")) is False
    (tmp_path / "text.txt").write_text("hello")
    assert is_zarr_v2_file(str(tmp_path / "text.txt")) is False
