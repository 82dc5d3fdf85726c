"""Bad input on the write side (issue 6, docs/reliability.md "Bad input on the write side").

Every case gives a clear error naming the object path and leaves the store as it was: its keys
and bytes are compared before and after. Cases already covered elsewhere are not repeated here
(docs/reliability.md lists them): names ``a/b``, ``.``, ``..`` and the empty name, attributes
holding a dict, a complex number or an arbitrary object, NaN and infinity as scalar attributes
(tests/test_backend.py), writing in ``r``/``r-`` and ``w-``/``x`` on a directory
(tests/test_backend.py), a regular file opened for reading (test_bad_input_read.py), codecs
without an equivalent in the layout (tests/write/test_codecs.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hdmf.build.errors import BuildError
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from _shared import snapshot_files
from hdmf_zarr import NWBZarrIO, ZarrDataIO
from hdmf_zarr.errors import (
    InvalidNameError,
    NotHdmfStoreError,
    StoreModeError,
    UnknownCodecError,
    UnstorableValueError,
    UnsupportedDataError,
)
from hdmf_zarr.format import names
from hdmf_zarr.storage import H5NestedStore

LAYOUTS = pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])


def _nwb():
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=np.arange(5.0), rate=1.0, unit="m"))
    return nwb


@pytest.fixture(params=[2, 3], ids=["L2", "L3"])
def stored(request, tmp_path):
    """A written file (directory store) and its content."""
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=request.param) as io:
        io.write(_nwb())
    return path


def _append_fails(path, change, error):
    """Open ``path`` in ``a``, add a TimeSeries ``new``, let ``change(builder)`` spoil the
    builder tree, write: ``error`` must be raised and the store be as it was."""
    before = snapshot_files(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(str(path), "a") as io:
            nwb = io.read()
            nwb.add_acquisition(TimeSeries(name="new", data=np.arange(3.0), rate=1.0, unit="m"))
            builder = io.manager.build(nwb, source=io.source, root=True)
            change(builder)
            with pytest.raises(error) as info:
                io.write_builder(builder)
    assert snapshot_files(path) == before, "the failed write changed the store"
    return info.value


def _rename(group, old, new):
    for table in (group.groups, group.datasets):
        if old in table:
            table[new] = table.pop(old)
            return


# ------------------------------------------------------------------------------ names
@pytest.mark.parametrize("bad", ["a\x00b", "tab\tname", "line\nfeed", "esc\x1b[31m", "del\x7f"],
                         ids=["NUL", "tab", "newline", "escape", "DEL"])
@pytest.mark.parametrize("where", ["group", "dataset"])
def test_control_characters_in_names(stored, bad, where):
    if where == "group":
        exc = _append_fails(stored, lambda b: _rename(b["acquisition"], "new", bad),
                            InvalidNameError)
        assert "/acquisition/" in str(exc) and "control characters" in str(exc)
    else:
        exc = _append_fails(stored, lambda b: _rename(b["acquisition"]["new"], "data", bad),
                            InvalidNameError)
        assert "/acquisition/new/" in str(exc)
    code = next(f"U+{ord(c):04X}" for c in bad if ord(c) < 0x20 or ord(c) == 0x7F)
    assert code in str(exc)


@pytest.mark.parametrize("char", list('<>:"\\|?*'))
def test_windows_reserved_characters_refused_on_windows(stored, monkeypatch, char):
    monkeypatch.setattr(names, "ON_WINDOWS", True)
    exc = _append_fails(stored, lambda b: _rename(b["acquisition"], "new", f"a{char}b"),
                        InvalidNameError)
    assert f"/acquisition/a{char}b" in str(exc) and "Windows" in str(exc)


def test_windows_reserved_characters_warn_elsewhere_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setattr(names, "ON_WINDOWS", False)

    def nwb():  # hdmf itself refuses ':' in container names; the others reach the store
        f = mock_NWBFile()
        f.add_acquisition(TimeSeries(name="trial?1*", data=np.arange(3.0), rate=1.0, unit="m"))
        return f

    path = tmp_path / "d.nwb.zarr"
    with pytest.warns(names.NonPortableNameWarning, match=r"/acquisition/trial\?1\*"):
        with NWBZarrIO(str(path), "w") as io:
            io.write(nwb())
    sqlite_path, zip_path = tmp_path / "s.sqlite", tmp_path / "z.nwb.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("error", names.NonPortableNameWarning)  # any name fits these
        for single_file in (sqlite_path, zip_path):
            with NWBZarrIO(str(single_file), "w") as io:
                io.write(nwb())
    for p in (path, sqlite_path, zip_path):
        with NWBZarrIO(str(p), "r") as io:
            assert list(io.read().acquisition["trial?1*"].data[:]) == [0.0, 1.0, 2.0]


# ------------------------------------------------------------------------------ attributes
class _Container:
    read_io = None
    object_id = "x"


@pytest.mark.parametrize("value, reason", [
    (None, "None"),
    (b"\xff\xfe", "UTF-8"),
    (np.array([1 + 1j]), "complex arrays"),
    (np.zeros(2, dtype=[("a", "i4"), ("b", "f4")]), "compound"),
    ({1, 2}, "set"),
    (_Container(), "container"),
], ids=["None", "bad-utf8", "complex-array", "structured", "set", "container"])
def test_unstorable_attribute_values(stored, value, reason):
    def spoil(builder):  # set directly: hdmf's set_attribute refuses None itself
        builder["acquisition"]["new"].attributes["bad"] = value

    exc = _append_fails(stored, spoil, UnstorableValueError)
    assert "/acquisition/new@bad" in str(exc) and reason in str(exc)


@LAYOUTS
def test_non_finite_attribute_arrays_round_trip(tmp_path, fmt):
    """Scalars are covered by tests/test_backend.py; lists, -Infinity and a spec-typed float."""
    path = tmp_path / "f.nwb.zarr"
    values = [float("nan"), float("inf"), float("-inf"), 1.5]
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        nwb = _nwb()
        builder = io.manager.build(nwb, source=io.source, root=True)
        builder["acquisition"]["ts"].set_attribute("limits", values)
        builder["acquisition"]["ts"]["data"].set_attribute("offset", float("-inf"))
        io.write_builder(builder)
    with NWBZarrIO(str(path), "r") as io:
        b = io.read_builder()
        got = list(b["acquisition"]["ts"].attributes["limits"])
        assert np.isnan(got[0]) and got[1:] == values[1:]
        assert io.read().acquisition["ts"].offset == float("-inf")
    doc = "acquisition/ts/" + ("zarr.json" if fmt == 3 else ".zattrs")
    text = (path / doc).read_text()
    assert "[NaN,Infinity,-Infinity,1.5]" in text


# ------------------------------------------------------------------------------ data vs spec
def _series(**kwargs):
    return TimeSeries(name="new", unit="m", **kwargs)


def _append_container_fails(path, series, error):
    before = snapshot_files(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(str(path), "a") as io:
            nwb = io.read()
            nwb.add_acquisition(series)
            with pytest.raises(error) as info:
                io.write(nwb)
    assert snapshot_files(path) == before, "the failed write changed the store"
    return info.value


def test_complex_data_for_a_float_dataset(stored):
    exc = _append_container_fails(stored, _series(data=np.arange(3) + 1j, rate=1.0), BuildError)
    assert "new" in str(exc) and "data" in str(exc)


def test_text_data_for_a_numeric_dataset(stored):
    """hdmf refuses to build a container with text where the spec asks for numbers; a builder
    made by hand (an extension's own mapper, say) is refused by the writer."""
    from hdmf.build import DatasetBuilder
    from pynwb.image import ImageSeries

    exc = _append_container_fails(
        stored, ImageSeries(name="new", data=np.array([[["a"]]]), unit="m", rate=1.0),
        BuildError)
    assert "new" in str(exc) and "data" in str(exc)

    def spoil(builder):  # starting_time is float64 in the spec
        builder["acquisition"]["new"].datasets["starting_time"] = DatasetBuilder(
            "starting_time", data="soon", dtype="text", attributes={"rate": 1.0, "unit": "s"})

    exc = _append_fails(stored, spoil, UnsupportedDataError)
    assert "/acquisition/new/starting_time" in str(exc) and "float64 numbers" in str(exc)


def test_objects_in_a_text_dataset(stored):
    exc = _append_fails(stored, _put_text, UnstorableValueError)
    assert "/acquisition/new/notes" in str(exc) and "type object" in str(exc)


def _put_text(builder):
    from hdmf.build import DatasetBuilder

    builder["acquisition"]["new"].set_dataset(
        DatasetBuilder("notes", data=np.array(["ok", object()], dtype=object), dtype="text"))


@pytest.mark.parametrize("field, shape", [("timestamps", (3, 2)), ("data", (3, 2, 2, 2, 2))])
def test_shape_contradicting_the_spec(stored, field, shape):
    from hdmf.build import DatasetBuilder

    def spoil(builder):
        group = builder["acquisition"]["new"]
        old = group.datasets.get(field)
        attrs = dict(old.attributes) if old is not None else {}
        group.datasets[field] = DatasetBuilder(field, data=np.zeros(shape), attributes=attrs)

    exc = _append_fails(stored, spoil, UnsupportedDataError)
    assert f"/acquisition/new/{field}" in str(exc) and "contradicts the specification" in str(exc)


# ------------------------------------------------------------------------------ modes, codecs
@pytest.mark.parametrize("kind", ["sqlite", "h5nested"])
@pytest.mark.parametrize("mode", ["w-", "x"])
def test_create_only_modes_on_existing_single_file_stores(tmp_path, kind, mode):
    """The directory case is in tests/test_backend.py."""
    path = tmp_path / ("f.sqlite" if kind == "sqlite" else "f.h5n.zarr")

    def target():
        return str(path) if kind == "sqlite" else H5NestedStore(str(path))

    with NWBZarrIO(target(), "w") as io:
        io.write(_nwb())
    before = snapshot_files(path)
    with pytest.raises(StoreModeError, match="already exists") as info:
        NWBZarrIO(target(), mode)
    assert str(path) in str(info.value)
    assert snapshot_files(path) == before


@pytest.mark.parametrize("setting", [
    {"compressor": {"id": "no-such-codec"}},
    {"filters": [{"id": "no-such-filter"}]},
], ids=["compressor", "filter"])
def test_unknown_codec_id(stored, setting):
    series = _series(data=ZarrDataIO(np.arange(10.0), **setting), rate=1.0)
    exc = _append_container_fails(stored, series, UnknownCodecError)
    assert "/acquisition/new/data" in str(exc) and "no-such" in str(exc)


@pytest.mark.parametrize("mode", ["w", "w-", "a", "r+"])
def test_store_path_is_a_regular_file(tmp_path, mode):
    """Read modes are in test_bad_input_read.py."""
    path = tmp_path / "file.nwb.zarr"
    path.write_bytes(b"not a zarr store\n" * 10)
    with pytest.raises(NotHdmfStoreError, match="regular file") as info:
        with NWBZarrIO(str(path), mode) as io:
            io.write(_nwb())
    assert str(path) in str(info.value)
    assert path.read_bytes() == b"not a zarr store\n" * 10


def test_a_failed_write_leaves_no_marker_before_its_first_key(stored):
    """The checks run before the write-in-progress marker is set: a refused write does not
    make the store incomplete (it reads as before)."""
    _append_fails(stored, lambda b: _rename(b["acquisition"], "new", "bad\x01"),
                  InvalidNameError)
    with NWBZarrIO(str(stored), "r") as io:
        assert list(io.read().acquisition["ts"].data[:]) == [0.0, 1.0, 2.0, 3.0, 4.0]
