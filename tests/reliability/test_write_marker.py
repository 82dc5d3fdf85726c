"""The write-in-progress marker (docs/format-notes.md): set by every write, removed at its end,
left by a write that ends with an exception, and reported on open."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import zarr
from hdmf.data_utils import DataChunkIterator
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr import NWBZarrIO, ZarrIO
from hdmf_zarr.errors import FormatError, IncompleteWriteError, IncompleteWriteWarning
from hdmf_zarr.storage import WRITE_MARKER_KEY, H5NestedStore, SQLiteStore
from hdmf_zarr.zarr_bridge import store_io

LAYOUTS = pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])


def _nwb(data=None):
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=np.arange(4.0) if data is None else data,
                                   rate=1.0, unit="m"))
    return nwb


def _failing_iterator():
    def gen():
        yield from (1.0, 2.0, 3.0)
        raise RuntimeError("the acquisition board went away")

    return DataChunkIterator(data=gen(), maxshape=(None,), dtype=np.dtype("float64"))


def _has_marker(target) -> bool:
    store = target if not isinstance(target, str) else zarr.storage.LocalStore(target)
    return store_io.exists(store, WRITE_MARKER_KEY)


@LAYOUTS
def test_no_marker_after_writes_and_zarr_reads_cleanly(tmp_path, fmt):
    path = str(tmp_path / "f.nwb.zarr")
    with NWBZarrIO(path, "w", zarr_format=fmt) as io:
        io.write(_nwb())
    assert not _has_marker(path)
    with NWBZarrIO(path, "a") as io:
        nwb = io.read()
        nwb.add_acquisition(TimeSeries(name="more", data=[1.0], rate=1.0, unit="m"))
        io.write(nwb)
    assert not _has_marker(path)
    export = str(tmp_path / "e.nwb.zarr")
    with NWBZarrIO(path, "r") as src, NWBZarrIO(export, "w", zarr_format=fmt) as dst:
        dst.export(src_io=src)
    assert not _has_marker(export)
    # a complete store holds nothing Zarr does not know: no warning listing it
    with warnings.catch_warnings():
        warnings.simplefilter("error", zarr.errors.ZarrUserWarning)
        group = zarr.open_group(path, mode="r", use_consolidated=False)
        assert "acquisition" in [name for name, _ in group.members()]


@LAYOUTS
@pytest.mark.parametrize("kind", ["dir", "sqlite", "h5nested"])
def test_exception_mid_write_leaves_marker_and_open_reports_it(tmp_path, fmt, kind):
    path = str(tmp_path / ("f.sqlite" if kind == "sqlite" else "f.nwb.zarr"))

    def target(read_only=False):
        return H5NestedStore(path, read_only=read_only) if kind == "h5nested" else path

    with pytest.raises(Exception, match="acquisition board went away"):
        with NWBZarrIO(target(), "w", zarr_format=fmt) as io:
            io.write(_nwb(_failing_iterator()))
    store = SQLiteStore(path) if kind == "sqlite" else H5NestedStore(path) \
        if kind == "h5nested" else zarr.storage.LocalStore(path)
    marker = json.loads(store_io.get_bytes(store, WRITE_MARKER_KEY))
    assert marker["writer"] == "hdmf_zarr" and marker["mode"] == "w"
    if hasattr(store, "close"):
        store.close()
    for mode in ("r", "r+", "a"):
        with pytest.raises(IncompleteWriteError, match="interrupted") as info:
            NWBZarrIO(target(mode == "r"), mode)
        assert isinstance(info.value, FormatError)
        if kind != "h5nested":
            assert path in str(info.value)
    with pytest.raises(IncompleteWriteError):
        ZarrIO.load_namespaces(_catalog(), path=target(True))
    with pytest.warns(IncompleteWriteWarning, match="reading what it holds"):
        with NWBZarrIO(target(True), "r-") as io:
            assert io.read_builder() is not None
    # writing it again makes it complete
    with NWBZarrIO(target(), "w", zarr_format=fmt) as io:
        io.write(_nwb())
    with NWBZarrIO(target(True), "r") as io:
        assert list(io.read().acquisition["ts"].data[:]) == [0.0, 1.0, 2.0, 3.0]


def _catalog():
    from hdmf.spec import NamespaceCatalog
    from pynwb.spec import NWBDatasetSpec, NWBGroupSpec, NWBNamespace

    return NamespaceCatalog(NWBGroupSpec, NWBDatasetSpec, NWBNamespace)


def test_failed_append_keeps_the_marker_through_close(tmp_path):
    """close() re-consolidates after an append; it must not clear the marker a failed write
    left."""
    path = str(tmp_path / "f.nwb.zarr")
    with NWBZarrIO(path, "w") as io:
        io.write(_nwb())
    with pytest.raises(Exception, match="acquisition board went away"):
        with NWBZarrIO(path, "a") as io:
            nwb = io.read()
            nwb.add_acquisition(TimeSeries(name="live", data=_failing_iterator(), rate=1.0,
                                           unit="m"))
            io.write(nwb)
    assert _has_marker(path)
    with pytest.raises(IncompleteWriteError):
        NWBZarrIO(path, "r")
