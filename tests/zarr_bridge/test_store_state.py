"""The Zarr store internals zarr_bridge.store_state relies on: a ZipStore in read mode opens
lazily (``_is_open`` False until ``_ensure_open()``), and listing needs it open."""

from __future__ import annotations

import zarr
from zarr.storage import MemoryStore, ZipStore

from hdmf_zarr.zarr_bridge.runtime import run
from hdmf_zarr.zarr_bridge.store_io import list_prefix
from hdmf_zarr.zarr_bridge.store_state import ensure_open, is_open


def _zip(tmp_path):
    path = tmp_path / "a.zip"
    writer = ZipStore(path, mode="w")
    zarr.create_group(writer, zarr_format=3)
    writer.close()
    return path


def test_zipstore_in_read_mode_starts_closed_and_opens(tmp_path):
    store = ZipStore(_zip(tmp_path), mode="r")
    assert hasattr(store, "_is_open") and hasattr(store, "_ensure_open")
    assert not is_open(store)
    ensure_open(store)
    assert is_open(store)
    assert "zarr.json" in list_prefix(store, "")
    ensure_open(store)  # a second call does nothing
    store.close()


def test_open_stores_and_stores_without_the_flag_count_as_open():
    store = run(MemoryStore.open())
    assert is_open(store)
    ensure_open(store)

    class Plain:
        pass

    assert is_open(Plain())
    ensure_open(Plain())  # nothing to open
