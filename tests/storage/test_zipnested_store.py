"""ZipNestedStore: Zarr's store test harness, and what is particular to zip containers (write
once: replacing or deleting a member rewrites the container atomically).

The behaviour both nested stores share (layout, consolidate, concurrency, bad input) is tested
over both classes in test_h5nested_store.py.
"""

from __future__ import annotations

import datetime
import os
import zipfile
from typing import ClassVar

import numpy as np
import pytest
import zarr
from _harness import NestedStoreHarness, run_coroutine_tests

from hdmf_zarr import NWBZarrIO, ZarrDataIO
from hdmf_zarr.errors import FormatError
from hdmf_zarr.storage import ZipNestedStore


# ---------------------------------------------------------------------------------- harness
@run_coroutine_tests
class _ZipHarness(NestedStoreHarness):
    store_cls = ZipNestedStore


class TestZipHarnessDirectDepth0(_ZipHarness):
    config: ClassVar[dict] = {"consolidate_depth": 0, "write_direct": True}


class TestZipHarnessDirectDepth1(_ZipHarness):
    config: ClassVar[dict] = {"consolidate_depth": 1, "write_direct": True}


class TestZipHarnessLoose(_ZipHarness):
    config: ClassVar[dict] = {"consolidate_depth": 1, "write_direct": False}


# ---------------------------------------------------------------------------------- write once
def _array(root, **kwargs):
    store = ZipNestedStore(root, consolidate_depth=0, **kwargs)
    arr = zarr.create_array(store, name="a", shape=(6,), chunks=(2,), dtype="i8", fill_value=-1)
    return store, arr


def test_new_keys_append_in_place_existing_keys_rewrite_atomically(tmp_path):
    _store, arr = _array(tmp_path / "s")
    container = tmp_path / "s" / "a" / "c.zipshard"
    arr[0:2] = 1
    inode = os.stat(container).st_ino
    arr[2:4] = 2  # a new member: appended to the same file
    assert os.stat(container).st_ino == inode
    arr[0:2] = 3  # a member the container holds: a new file replaces it
    assert os.stat(container).st_ino != inode
    with zipfile.ZipFile(container) as zf:
        assert sorted(zf.namelist()) == ["0", "1"]  # no duplicate entries
    np.testing.assert_array_equal(arr[:], [3, 3, 2, 2, -1, -1])
    assert not [f for f in os.listdir(container.parent) if "rewrite" in f or "partial" in f]


def test_deleting_members_rewrites_then_removes_the_container(tmp_path):
    store, arr = _array(tmp_path / "s")
    container = tmp_path / "s" / "a" / "c.zipshard"
    arr[:] = 5
    inode = os.stat(container).st_ino
    arr[0:2] = -1  # the fill value: zarr deletes the chunk key
    assert os.stat(container).st_ino != inode
    with zipfile.ZipFile(container) as zf:
        assert sorted(zf.namelist()) == ["1", "2"]
    arr[:] = -1
    assert not container.exists()
    assert store.get_sync("a/c/1") is None


def test_members_are_stored_uncompressed_with_a_fixed_time(tmp_path):
    for name in ("one", "two"):
        _store, arr = _array(tmp_path / name)
        arr[:] = np.arange(6)
    entries = []
    for name in ("one", "two"):
        with zipfile.ZipFile(tmp_path / name / "a" / "c.zipshard") as zf:
            entries.append(sorted((i.filename, i.date_time, i.compress_type, i.CRC,
                                   zf.read(i)) for i in zf.infolist()))
    assert entries[0] == entries[1]  # the member order may differ (concurrent writes)
    for _name, date_time, compress_type, _crc, _data in entries[0]:
        assert compress_type == zipfile.ZIP_STORED and date_time == (1980, 1, 1, 0, 0, 0)


def test_text_file_in_place_of_a_container_is_not_appended_to(tmp_path):
    _store, arr = _array(tmp_path / "s")
    arr[:] = 1
    container = tmp_path / "s" / "a" / "c.zipshard"
    container.write_text("plain text, not a zip archive\n")
    with pytest.raises(FormatError, match="zip") as info:
        arr[0:2] = 2
    assert str(container) in str(info.value)
    assert container.read_text() == "plain text, not a zip archive\n"


# ---------------------------------------------------------------------------------- NWB layout
def _nwbfile(data):
    from pynwb import NWBFile
    from pynwb.ecephys import ElectricalSeries

    start = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    nwbfile = NWBFile(session_description="zip", identifier="zip-1", session_start_time=start)
    device = nwbfile.create_device(name="probe")
    group = nwbfile.create_electrode_group(name="shank", description="d", location="CA1",
                                           device=device)
    for _ in range(32):
        nwbfile.add_electrode(location="CA1", group=group)
    region = nwbfile.create_electrode_table_region(list(range(32)), "all")
    nwbfile.add_acquisition(ElectricalSeries(name="es", data=ZarrDataIO(data, chunks=(1000, 32)),
                                             electrodes=region, rate=30000.0))
    return nwbfile


@pytest.mark.parametrize("layout", [2, 3], ids=["L2", "L3"])
def test_nwb_layout(tmp_path, layout):
    data = ((np.arange(60000 * 32, dtype=np.int64) * 7919) % 65521 - 32760).astype(np.int16)
    data = data.reshape(60000, 32)
    root = tmp_path / "session.nwb.zarr"
    with NWBZarrIO(ZipNestedStore(root, consolidate_depth=1), mode="w", zarr_format=layout) as io:
        io.write(_nwbfile(data))
    es_dir = root / "acquisition" / "es" / "data"
    shards = sorted(p.relative_to(es_dir).as_posix() for p in es_dir.rglob("*.zipshard"))
    assert shards == [f"c/{i}.zipshard" for i in sorted(range(60), key=str)]  # 60 rows of chunks
    for shard in shards:
        with zipfile.ZipFile(es_dir / shard) as zf:
            assert zf.namelist() == ["0"]
    assert not [p for p in es_dir.rglob("*") if p.is_file() and p.suffix != ".zipshard"
                and p.name not in ("zarr.json", ".zarray", ".zattrs")]
    with NWBZarrIO(ZipNestedStore(root, read_only=True), "r") as io:
        np.testing.assert_array_equal(io.read().acquisition["es"].data[:], data)
