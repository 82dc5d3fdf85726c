"""hdmf_zarr.io.stores: plain functions about the store a ZarrIO opens."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from zarr.storage import MemoryStore

from hdmf_zarr.errors import NotHdmfStoreError, StoreModeError
from hdmf_zarr.format.layout2 import L2
from hdmf_zarr.format.layout3 import L3
from hdmf_zarr.io import stores
from hdmf_zarr.zarr_bridge.store_io import set_bytes


def _put(store, key, doc):
    set_bytes(store, key, json.dumps(doc).encode())


def test_has_root_of_either_format():
    store = MemoryStore()
    assert not stores.has_root(store)
    _put(store, ".zgroup", {"zarr_format": 2})
    assert stores.has_root(store)
    other = MemoryStore()
    _put(other, "zarr.json", {"zarr_format": 3, "node_type": "group"})
    assert stores.has_root(other)


def test_has_consolidated_asks_the_layout():
    l2 = MemoryStore()
    _put(l2, ".zgroup", {"zarr_format": 2})
    assert not stores.has_consolidated(l2, L2())
    _put(l2, ".zmetadata", {"zarr_consolidated_format": 1, "metadata": {}})
    assert stores.has_consolidated(l2, L2())
    l3 = MemoryStore()
    _put(l3, "zarr.json", {"zarr_format": 3, "node_type": "group", "attributes": {}})
    assert not stores.has_consolidated(l3, L3())
    _put(l3, "zarr.json", {"zarr_format": 3, "node_type": "group", "attributes": {},
                           "consolidated_metadata": {"kind": "inline", "metadata": {}}})
    assert stores.has_consolidated(l3, L3())
    assert not stores.has_consolidated(MemoryStore(), L3())


def test_check_store_replaceable(tmp_path):
    empty = MemoryStore()
    stores.check_store_replaceable(empty, None)  # nothing there
    foreign = MemoryStore()
    set_bytes(foreign, "notes.txt", b"mine")
    with pytest.raises(StoreModeError, match="notes.txt.*force_overwrite"):
        stores.check_store_replaceable(foreign, "somewhere")
    _put(foreign, "zarr.json", {"zarr_format": 3, "node_type": "group"})
    stores.check_store_replaceable(foreign, "somewhere")  # a Zarr store may be replaced


def test_paths_given_to_zarrio(tmp_path):
    assert stores.expand_user("~/x") == os.path.expanduser("~/x")
    assert stores.expand_user(Path("~/x")) == Path("~/x").expanduser()
    assert stores.expand_user("s3://b/k") == "s3://b/k"
    h5 = tmp_path / "f.nwb"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 8)
    with pytest.raises(NotHdmfStoreError, match="HDF5IO"):
        stores.refuse_hdf5(str(h5), "HDF5IO")
    stores.refuse_hdf5(str(tmp_path), "HDF5IO")  # a directory: not refused
    stores.refuse_hdf5(str(tmp_path / "missing"), "HDF5IO")


def test_source_of_an_io_object(tmp_path):
    class _IO:
        location = None
        source = "rel/file.nwb"

    assert stores.source_of(_IO()) == os.path.abspath("rel/file.nwb")
    _IO.source = "https://host/file.nwb"
    assert stores.source_of(_IO()) == "https://host/file.nwb"
    _IO.location = "/abs/store.zarr"
    assert stores.source_of(_IO()) == "/abs/store.zarr"
