"""Packing a directory store into container stores and back (hdmf_zarr.storage.pack/unpack),
and opening a directory of nested containers by path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from pynwb import NWBHDF5IO
from tests.roundtrip._compare import assert_container_equal
from zarr.storage import LocalStore

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.errors import NotHdmfStoreError, StoreModeError
from hdmf_zarr.storage import (
    H5NestedStore,
    SQLiteStore,
    ZipNestedStore,
    copy_store,
    nested_store_kind,
    open_store,
    pack,
    unpack,
)
from hdmf_zarr.zarr_bridge import store_io

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
SOURCE = REAL / "dandi_nwb_test_data_v2.0.1" / "test_ElectricalSeries.nwb"


@pytest.fixture(scope="module", params=[2, 3], ids=["L2", "L3"])
def directory_store(request, tmp_path_factory):
    """A real NWB file exported to a plain directory store (one per layout)."""
    path = tmp_path_factory.mktemp(f"dir{request.param}") / "file.nwb.zarr"
    with NWBHDF5IO(str(SOURCE), "r") as src, NWBZarrIO(str(path), "w",
                                                        zarr_format=request.param) as dst:
        dst.export(src_io=src, write_args={"link_data": False})
    return path


def _all_values(store) -> dict[str, bytes]:
    keys = store_io.list_prefix(store, "")
    return store_io.get_many(store, keys)


def _assert_same_file(expected_path, actual_path):
    with NWBZarrIO(str(expected_path), "r") as a, NWBZarrIO(str(actual_path), "r") as b:
        assert_container_equal(a.read(), b.read())


@pytest.mark.parametrize("kind, suffix, cls", [("h5", ".h5dir", H5NestedStore),
                                               ("zip", ".zip", None),
                                               ("sqlite", ".sqlite", SQLiteStore)])
def test_pack_copies_every_key(directory_store, tmp_path, kind, suffix, cls):
    target = tmp_path / f"packed{suffix}"
    result = pack(str(directory_store), kind, str(target))
    source = LocalStore(str(directory_store), read_only=True)
    expected = _all_values(source)
    assert result["keys"] == len(expected)
    assert result["bytes"] == sum(len(v) for v in expected.values())
    assert not os.path.exists(str(target) + ".partial")
    store, _ = open_store(str(target), "r")
    try:
        if cls is not None:
            assert isinstance(store, cls)
        assert _all_values(store) == expected
    finally:
        store.close()
    _assert_same_file(directory_store, target)


def test_pack_h5_file_count(directory_store, tmp_path):
    """Packed into HDF5 containers, the store has fewer files than loose keys: metadata
    documents stay loose, every array's chunks share a container per leading index."""
    target = tmp_path / "packed.h5dir"
    pack(str(directory_store), "h5", str(target))
    loose = sum(len(files) for _r, _d, files in os.walk(directory_store))
    packed = sum(len(files) for _r, _d, files in os.walk(target))
    containers = [f for _r, _d, files in os.walk(target) for f in files
                  if f.endswith(".h5shard")]
    assert containers
    # no loose chunk file is left: every file is a metadata document, a container or the one
    # chunk of a 0-d array, which the nested stores keep loose
    for root, _dirs, files in os.walk(target):
        for name in files:
            if name.endswith(".h5shard") or name in ("zarr.json", ".zarray", ".zattrs",
                                                     ".zgroup", ".zmetadata"):
                continue
            doc = Path(root) / (".zarray" if (Path(root) / ".zarray").exists() else "zarr.json")
            assert json.loads(doc.read_text())["shape"] == [], f"loose chunk {root}/{name}"
    assert packed <= loose
    assert nested_store_kind(str(target)) == "H5NestedStore"
    assert nested_store_kind(str(directory_store)) is None


def test_pack_in_place_then_unpack(directory_store, tmp_path):
    work = tmp_path / "work.nwb.zarr"
    unpack(str(directory_store), str(work))  # a plain copy to convert in place
    before = _all_values(LocalStore(str(work), read_only=True))
    result = pack(str(work), "h5")
    assert result["containers"] > 0 and result["chunks"] > 0
    store, _ = open_store(str(work), "r")
    assert isinstance(store, H5NestedStore)
    assert _all_values(store) == before
    store.close()
    with pytest.raises(NotHdmfStoreError, match="already packed"):
        pack(str(work), "h5")
    back = tmp_path / "back.nwb.zarr"
    unpack(str(work), str(back))
    assert nested_store_kind(str(back)) is None
    assert _all_values(LocalStore(str(back), read_only=True)) == before
    _assert_same_file(directory_store, back)


def test_open_nested_store_by_path_for_append(tmp_path):
    """A directory of containers opened by path in mode 'a' keeps writing into containers."""
    from pynwb.testing.mock.base import mock_TimeSeries
    from pynwb.testing.mock.file import mock_NWBFile

    path = tmp_path / "f.nwb.zarr"
    nwb = mock_NWBFile()
    nwb.add_acquisition(mock_TimeSeries(name="a", data=np.arange(50000.0).reshape(-1, 5)))
    with NWBZarrIO(ZipNestedStore(str(path)), "w") as io:
        io.write(nwb)
    assert nested_store_kind(str(path)) == "ZipNestedStore"
    with NWBZarrIO(str(path), "a") as io:
        assert isinstance(io._store, ZipNestedStore)
        f = io.read()
        f.add_acquisition(mock_TimeSeries(name="b", data=np.arange(40000.0).reshape(-1, 4)))
        io.write(f)
    loose_chunks = [f for _r, _d, files in os.walk(path / "acquisition" / "b" / "data")
                    for f in files if f not in ("zarr.json",) and not f.endswith(".zipshard")]
    assert loose_chunks == []
    with NWBZarrIO(str(path), "r") as io:
        f = io.read()
        np.testing.assert_array_equal(f.acquisition["a"].data[:],
                                      np.arange(50000.0).reshape(-1, 5))
        np.testing.assert_array_equal(f.acquisition["b"].data[:],
                                      np.arange(40000.0).reshape(-1, 4))


def test_bad_input(directory_store, tmp_path):
    with pytest.raises(StoreModeError, match="exists"):
        pack(str(directory_store), "sqlite", str(directory_store))
    with pytest.raises(ValueError, match="needs a target"):
        pack(str(directory_store), "sqlite")
    with pytest.raises(ValueError, match="cannot pack into 'dir'"):
        pack(str(directory_store), "dir", str(tmp_path / "x"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NotHdmfStoreError, match="not a Zarr store"):
        pack(str(empty), "h5")
    with pytest.raises(NotHdmfStoreError):
        unpack(str(tmp_path / "missing.sqlite"), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    with pytest.raises(StoreModeError, match="read-only"):
        copy_store(LocalStore(str(directory_store), read_only=True),
                   LocalStore(str(directory_store), read_only=True))


def test_failed_copy_leaves_no_target(directory_store, tmp_path):
    """An interrupted pack removes its staging store and never creates the target."""
    target = tmp_path / "packed.sqlite"
    seen = []

    def stop(key, nbytes):
        seen.append(key)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pack(str(directory_store), "sqlite", str(target), on_key=stop)
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("packed")]


def test_first_chunked_array_decides(directory_store, tmp_path):
    """Detection stops at the first loose chunk of an array with axes: a plain store is not
    walked to its end (a container-named file placed after it is never reached)."""
    work = tmp_path / "work.nwb.zarr"
    unpack(str(directory_store), str(work))
    # breadth-first: deeper than any chunk of the export's first arrays
    decoy = work / "zzz_last" / "a" / "b" / "c" / "d" / "c.h5shard"
    decoy.parent.mkdir(parents=True)
    decoy.write_bytes(b"")
    assert nested_store_kind(str(work)) is None
    assert nested_store_kind(str(decoy.parent)) == "H5NestedStore"
