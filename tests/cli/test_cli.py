"""The hdmf-zarr command line: info, convert, validate."""

import json
import re
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import zarr
from click.testing import CliRunner
from pynwb import NWBHDF5IO

from hdmf_zarr.cli import _open_read_store, main
from hdmf_zarr.inspect import detect_layout, walk_store

LEGACY = Path(__file__).resolve().parents[3] / "shared" / "data" / "legacy"
PICKLE = LEGACY / "ecephys_pickle_refs.nwb.zarr"
JSON = LEGACY / "ecephys_json_refs.nwb.zarr"
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
WITH_EXTENSION = REAL / "pynwb-back-compat" / "2.1.0_nwbfile_with_extension.nwb"
ELECTRICAL_SERIES = REAL / "dandi_nwb_test_data_v2.0.1" / "test_ElectricalSeries.nwb"
TIMESERIES_NO_UNIT = REAL / "pynwb-back-compat" / "1.5.1_timeseries_no_unit.nwb"

SUMMARY = re.compile(r"^(?P<dst>.+): layout (?P<layout>L2|L3|HDF5), (?P<nodes>\d+) nodes, "
                     r"(?P<bytes>\d+) bytes(?: \((?P<human>[0-9.]+ [KMGT]iB)\))? stored, "
                     r"(?P<secs>[0-9.]+) s$")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _nwbzarrio():
    from hdmf_zarr.nwb import NWBZarrIO

    return NWBZarrIO


def _summary(result):
    line = result.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(line)
    assert match, line
    return match


# --- info -----------------------------------------------------------------------------------

@pytest.mark.parametrize("store", [PICKLE, JSON])
def test_info_on_legacy_stores(store):
    result = run("info", store)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "/  [core:NWBFile]"
    assert any(line.startswith("      data  <i2 (int16)  shape (3000, 8)  chunks (1000, 8)  "
                               "codecs delta,blosc") for line in lines)
    assert "    lick_copy/  [core:TimeSeries]  links 1" in lines
    total = sum(n.stored_bytes or 0 for n in walk_store(zarr.storage.LocalStore(store,
                                                                           read_only=True)))
    assert lines[-1].startswith(f"layout L2 (Zarr format 2): 30 groups, 68 arrays, {total} "
                                "bytes stored")


def test_info_depth_and_listing():
    shallow = run("info", "--depth", "1", PICKLE)
    assert shallow.exit_code == 0
    assert "  acquisition/" in shallow.stdout.splitlines()
    assert "es/" not in shallow.stdout
    listed = run("info", "--no-consolidated", PICKLE)
    assert listed.exit_code == 0
    assert listed.stdout == run("info", PICKLE).stdout


def test_info_on_a_zip_l3_store(tmp_path):
    store = zarr.storage.ZipStore(tmp_path / "s.zip", mode="w")
    root = zarr.create_group(store, zarr_format=3, attributes={"neurodata_type": "NWBFile"})
    root.create_array("x", shape=(10,), dtype="float32", chunks=(5,))[...] = np.arange(10)
    store.close()
    result = run("info", tmp_path / "s.zip")
    assert result.exit_code == 0, result.output
    assert "  x  float32  shape (10,)  chunks (5,)  codecs bytes,zstd" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("layout L3 (Zarr format 3): 1 group, "
                                                     "1 array")


def test_info_errors(tmp_path):
    missing = run("info", tmp_path / "nothing.zarr")
    assert missing.exit_code == 1
    assert "nothing.zarr" in missing.stderr
    hdf5 = run("info", ELECTRICAL_SERIES)
    assert hdf5.exit_code == 1 and "HDF5" in hdf5.stderr
    (tmp_path / "empty").mkdir()
    empty = run("info", tmp_path / "empty")
    assert empty.exit_code == 1 and "no Zarr group" in empty.stderr


def test_open_read_store(tmp_path):
    store = _open_read_store(PICKLE)
    assert store.read_only
    assert detect_layout(store) == "L2"


def test_open_read_store_without_the_storage_module(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "hdmf_zarr.storage", None)  # import fails
    local = _open_read_store(PICKLE)
    assert isinstance(local, zarr.storage.LocalStore) and local.read_only
    assert detect_layout(local) == "L2"
    zipped = zarr.storage.ZipStore(tmp_path / "z.zip", mode="w")
    zarr.create_group(zipped, zarr_format=3)
    zipped.close()
    store = _open_read_store(tmp_path / "z.zip")
    assert isinstance(store, zarr.storage.ZipStore)
    assert detect_layout(store) == "L3"
    store.close()
    result = run("info", PICKLE)
    assert result.exit_code == 0 and "30 groups, 68 arrays" in result.stdout
    missing = run("info", tmp_path / "missing")
    assert missing.exit_code == 1 and "no such file or directory" in missing.stderr


# --- convert: refusals (no backend involved) -------------------------------------------------

def test_convert_refuses_an_existing_destination(tmp_path):
    dst = tmp_path / "out.nwb.zarr"
    dst.mkdir()
    (dst / "zarr.json").write_text("{}")
    result = run("convert", ELECTRICAL_SERIES, dst)
    assert result.exit_code == 1
    assert "--overwrite" in result.stderr
    assert (dst / "zarr.json").read_text() == "{}"


def test_convert_overwrite_refuses_a_directory_that_is_not_a_store(tmp_path):
    dst = tmp_path / "precious"
    dst.mkdir()
    (dst / "notes.txt").write_text("keep me")
    result = run("convert", "--overwrite", ELECTRICAL_SERIES, dst)
    assert result.exit_code == 1
    assert "not a Zarr store" in result.stderr
    assert (dst / "notes.txt").read_text() == "keep me"


def test_convert_rejects_non_hdmf_sources(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = run("convert", text, tmp_path / "a.zarr")
    assert result.exit_code == 1
    assert "neither an HDF5 file nor a Zarr store" in result.stderr

    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3)
    result = run("convert", plain, tmp_path / "b.zarr")
    assert result.exit_code == 1
    assert "not an HDMF/NWB file" in result.stderr

    group = zarr.open_group(zarr.storage.LocalStore(tmp_path / "plain.zarr"), mode="w")
    group.create_array("x", shape=(3,), dtype="i4")
    result = run("convert", tmp_path / "plain.zarr", tmp_path / "c.nwb")
    assert result.exit_code == 1
    assert "not an HDMF/NWB file" in result.stderr
    assert not (tmp_path / "a.zarr").exists() and not (tmp_path / "c.nwb").exists()


def test_convert_usage_errors(tmp_path):
    both_hdf5 = run("convert", ELECTRICAL_SERIES, tmp_path / "copy.nwb")
    assert both_hdf5.exit_code == 1 and "both HDF5" in both_hdf5.stderr
    bad_format = run("convert", "--zarr-format", "4", ELECTRICAL_SERIES, tmp_path / "x.zarr")
    assert bad_format.exit_code == 2
    fmt_for_hdf5 = run("convert", "--zarr-format", "2", PICKLE, tmp_path / "x.nwb")
    assert fmt_for_hdf5.exit_code == 2


# --- convert and validate (need the backend) ------------------------------------------------

def _assert_same_timeseries(h5_ts, zarr_ts):
    np.testing.assert_array_equal(np.asarray(zarr_ts.data[:]), np.asarray(h5_ts.data[:]))
    assert zarr_ts.unit == h5_ts.unit
    assert zarr_ts.conversion == h5_ts.conversion
    if h5_ts.timestamps is not None:
        np.testing.assert_array_equal(np.asarray(zarr_ts.timestamps[:]),
                                      np.asarray(h5_ts.timestamps[:]))
    else:
        assert zarr_ts.starting_time == h5_ts.starting_time
        assert zarr_ts.rate == h5_ts.rate


def _assert_same_file(h5_file, zarr_file):
    assert zarr_file.identifier == h5_file.identifier
    assert zarr_file.session_description == h5_file.session_description
    assert zarr_file.session_start_time == h5_file.session_start_time
    assert set(zarr_file.acquisition) == set(h5_file.acquisition)
    for name, h5_ts in h5_file.acquisition.items():
        zarr_ts = zarr_file.acquisition[name]
        assert type(zarr_ts).__name__ == type(h5_ts).__name__
        _assert_same_timeseries(h5_ts, zarr_ts)


@pytest.mark.parametrize("fmt", ["2", "3"])
def test_convert_electrical_series(tmp_path, fmt):
    dst = tmp_path / "es.nwb.zarr"
    result = run("convert", "--zarr-format", fmt, ELECTRICAL_SERIES, dst)
    assert result.exit_code == 0, result.output
    match = _summary(result)
    assert match["dst"] == str(dst) and match["layout"] == f"L{fmt}"
    store = zarr.storage.LocalStore(dst, read_only=True)
    assert detect_layout(store) == f"L{fmt}"
    nodes = walk_store(store)
    assert int(match["nodes"]) == len(nodes)
    assert int(match["bytes"]) == sum(n.stored_bytes or 0 for n in nodes)
    assert match["human"].endswith("KiB")  # readable beside the exact count
    assert "export" in result.stderr  # the progress bar

    with NWBHDF5IO(str(ELECTRICAL_SERIES), "r") as h5_io, \
            _nwbzarrio()(str(dst), mode="r") as zarr_io:
        h5_file, zarr_file = h5_io.read(), zarr_io.read()
        _assert_same_file(h5_file, zarr_file)
        es_h5, es_zarr = h5_file.acquisition["test_eS"], zarr_file.acquisition["test_eS"]
        np.testing.assert_array_equal(es_zarr.data[:], np.arange(20).reshape(2, 10).T)
        np.testing.assert_array_equal(es_zarr.electrodes.data[:], es_h5.electrodes.data[:])
        for column in ("x", "y", "z", "imp", "location", "filtering", "group_name"):
            assert list(zarr_file.electrodes[column].data[:]) == \
                list(h5_file.electrodes[column].data[:]), column
        assert [g.name for g in zarr_file.electrodes["group"][:]] == ["tetrode1"] * 4
        assert zarr_file.electrodes["group"][0] is zarr_file.electrode_groups["tetrode1"]
        assert zarr_file.electrode_groups["tetrode1"].device is zarr_file.devices["dev1"]

    validated = run("validate", dst)
    assert validated.exit_code == 0, validated.output
    assert validated.stdout.strip().splitlines()[-1] == "0 errors"


@pytest.mark.parametrize("fmt", ["2", "3"])
def test_convert_file_with_extension(tmp_path, fmt):
    dst = tmp_path / "ext.nwb.zarr"
    result = run("convert", "--zarr-format", fmt, WITH_EXTENSION, dst)
    assert result.exit_code == 0, result.output
    nodes = {n.path: n for n in walk_store(zarr.storage.LocalStore(dst, read_only=True))}
    ts = nodes["/acquisition/test_ts"]
    assert (ts.neurodata_type, ts.namespace) == ("TimeSeriesWithID", "ndx-testextension")
    assert ts.attributes["id"] == 1
    assert any(p.startswith("/specifications/ndx-testextension/") for p in nodes)
    with NWBHDF5IO(str(WITH_EXTENSION), "r") as h5_io, \
            _nwbzarrio()(str(dst), mode="r") as zarr_io:
        h5_file, zarr_file = h5_io.read(), zarr_io.read()
        _assert_same_file(h5_file, zarr_file)
        np.testing.assert_array_equal(zarr_file.acquisition["test_ts"].data[:], [1.0, 2.0, 3.0])
        assert zarr_file.acquisition["test_ts"].id == 1
    validated = run("validate", dst)
    assert validated.exit_code == 0, validated.output
    assert validated.stdout.strip().endswith("0 errors")


def test_convert_zarr_to_hdf5_and_back(tmp_path):
    l3 = tmp_path / "a.nwb.zarr"
    assert run("convert", TIMESERIES_NO_UNIT, l3).exit_code == 0
    h5 = tmp_path / "b.nwb"
    result = run("convert", l3, h5)
    assert result.exit_code == 0, result.output
    match = _summary(result)
    assert match["layout"] == "HDF5" and int(match["bytes"]) == h5.stat().st_size
    assert h5py.is_hdf5(h5)
    l2 = tmp_path / "c.nwb.zarr"
    result = run("convert", "--zarr-format", "2", h5, l2)
    assert result.exit_code == 0, result.output
    with NWBHDF5IO(str(TIMESERIES_NO_UNIT), "r") as src_io, NWBHDF5IO(str(h5), "r") as h5_io, \
            _nwbzarrio()(str(l2), mode="r") as l2_io:
        src_file = src_io.read()
        _assert_same_file(src_file, h5_io.read())
        _assert_same_file(src_file, l2_io.read())
    assert run("validate", h5).exit_code == 0


@pytest.mark.parametrize("legacy", [PICKLE, JSON])
def test_convert_legacy_l2_store_to_l3(tmp_path, legacy):
    before = sorted((p, p.stat().st_mtime_ns) for p in legacy.rglob("*"))
    dst = tmp_path / "new.nwb.zarr"
    result = run("convert", legacy, dst)
    assert result.exit_code == 0, result.output
    assert _summary(result)["layout"] == "L3"
    assert sorted((p, p.stat().st_mtime_ns) for p in legacy.rglob("*")) == before
    NWBZarrIO = _nwbzarrio()
    with NWBZarrIO(str(legacy), mode="r") as old_io, NWBZarrIO(str(dst), mode="r") as new_io:
        old, new = old_io.read(), new_io.read()
        np.testing.assert_array_equal(new.acquisition["es"].data[:], old.acquisition["es"].data[:])
        assert new.acquisition["es"].data.shape == (3000, 8)
        assert list(new.trials["stim"].data[:]) == [f"stimulus é{i}" for i in range(4)]
        assert list(new.trials["correct"].data[:]) == [False, True, False, True]
        assert len(new.units) == 5 and len(new.epochs) == 2
        np.testing.assert_array_equal(new.units["spike_times"].target.data[:],
                                      old.units["spike_times"].target.data[:])
        assert new.acquisition["lick_copy"].timestamps is new.acquisition["lick"].timestamps \
            or np.array_equal(new.acquisition["lick_copy"].timestamps[:],
                              new.acquisition["lick"].timestamps[:])
    assert run("validate", dst).exit_code == 0


def test_convert_overwrite_replaces_a_store(tmp_path):
    dst = tmp_path / "o.nwb.zarr"
    assert run("convert", "--zarr-format", "2", ELECTRICAL_SERIES, dst).exit_code == 0
    assert (dst / ".zgroup").exists()
    assert run("convert", ELECTRICAL_SERIES, dst).exit_code == 1
    result = run("convert", "--overwrite", ELECTRICAL_SERIES, dst)
    assert result.exit_code == 0, result.output
    assert (dst / "zarr.json").exists() and not (dst / ".zgroup").exists()


# --- validate failures ----------------------------------------------------------------------

def _edit_attributes(store: Path, node: str, edit):
    """Apply ``edit(attributes)`` to a node's attributes in its document and in the
    consolidated metadata, for either layout."""
    rel = node.strip("/")
    root_doc = store / "zarr.json"
    if root_doc.exists():
        doc_path = store / rel / "zarr.json"
        doc = json.loads(doc_path.read_text())
        edit(doc["attributes"])
        doc_path.write_text(json.dumps(doc))
        root = json.loads(root_doc.read_text())
        consolidated = (root.get("consolidated_metadata") or {}).get("metadata") or {}
        if rel in consolidated:
            edit(consolidated[rel]["attributes"])
            root_doc.write_text(json.dumps(root))
    else:
        attrs_path = store / rel / ".zattrs"
        attrs = json.loads(attrs_path.read_text())
        edit(attrs)
        attrs_path.write_text(json.dumps(attrs))
        zmeta_path = store / ".zmetadata"
        if zmeta_path.exists():
            zmeta = json.loads(zmeta_path.read_text())
            key = f"{rel}/.zattrs"
            if key in zmeta["metadata"]:
                edit(zmeta["metadata"][key])
                zmeta_path.write_text(json.dumps(zmeta))


@pytest.mark.parametrize("fmt", ["2", "3"])
def test_validate_reports_invalid_data(tmp_path, fmt):
    dst = tmp_path / "bad.nwb.zarr"
    assert run("convert", "--zarr-format", fmt, ELECTRICAL_SERIES, dst).exit_code == 0

    def break_it(attrs):
        attrs["conversion"] = "not a number"
        del attrs["unit"]

    _edit_attributes(dst, "/acquisition/test_eS/data", break_it)
    result = run("validate", dst)
    assert result.exit_code == 1, result.output
    lines = result.stdout.strip().splitlines()
    assert re.fullmatch(r"\d+ errors?", lines[-1])
    count = int(lines[-1].split()[0])
    assert count >= 2 and len(lines) == count + 1
    assert any("conversion" in line and "incorrect type" in line for line in lines)
    assert any("unit" in line and "missing" in line for line in lines)


@pytest.mark.parametrize("fmt", ["2", "3"])
def test_validate_fails_on_a_corrupt_cached_spec(tmp_path, fmt):
    dst = tmp_path / "corrupt.nwb.zarr"
    assert run("convert", "--zarr-format", fmt, ELECTRICAL_SERIES, dst).exit_code == 0
    namespaces = list((dst / "specifications" / "core").glob("*/namespace"))
    assert namespaces
    corrupted = 0
    for namespace in namespaces:
        for chunk in namespace.rglob("*"):
            if chunk.is_file() and not chunk.name.startswith(".z") and chunk.name != "zarr.json":
                chunk.write_bytes(b"\x00garbage, not a namespace\xff")
                corrupted += 1
    assert corrupted
    result = run("validate", dst)
    assert result.exit_code == 1
    assert "cannot be validated" in result.stderr
    assert "Traceback" not in result.output


def test_validate_missing_path(tmp_path):
    result = run("validate", tmp_path / "missing.nwb.zarr")
    assert result.exit_code == 1
    assert "missing.nwb.zarr" in result.stderr


def test_convert_failure_removes_partial_output(tmp_path, monkeypatch):
    import hdmf_zarr.nwb

    original = hdmf_zarr.nwb.NWBZarrIO.export

    def failing_export(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(hdmf_zarr.nwb.NWBZarrIO, "export", failing_export)
    dst = tmp_path / "partial.nwb.zarr"
    result = run("convert", ELECTRICAL_SERIES, dst)
    assert result.exit_code == 1
    assert "disk full" in result.stderr
    assert not dst.exists()
