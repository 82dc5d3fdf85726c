"""Cached specification arrays written outside a builder write (write/specs.py; FORMAT.md 2.6,
3.6)."""

from __future__ import annotations

import json

import zarr
from zarr.storage import MemoryStore

from hdmf_zarr.format.select import layout_for
from hdmf_zarr.write.specs import write_text_scalar
from hdmf_zarr.zarr_bridge.runtime import run
from hdmf_zarr.zarr_bridge.store_io import get_bytes, get_json, list_prefix

TEXT = '{"namespaces":[{"name":"core"}]}'


def test_l2_spec_array_is_a_json2_scalar_without_compressor():
    store = run(MemoryStore.open())
    write_text_scalar(store, "/specifications/core/2.7.0/namespace", TEXT, layout_for(2))
    key = "specifications/core/2.7.0/namespace"
    zarray = get_json(store, f"{key}/.zarray")
    assert zarray["shape"] == [1] and zarray["chunks"] == [1] and zarray["dtype"] == "|O"
    assert zarray["compressor"] is None
    assert [f["id"] for f in zarray["filters"]] == ["json2"]
    assert get_json(store, f"{key}/.zattrs") == {"zarr_dtype": "scalar"}
    assert json.loads(get_bytes(store, f"{key}/0")) == [TEXT, "|O", [1]]


def test_l3_spec_array_is_a_0d_string_without_attributes():
    store = run(MemoryStore.open())
    write_text_scalar(store, "/specifications/core/2.7.0/namespace", TEXT, layout_for(3))
    key = "specifications/core/2.7.0/namespace"
    doc = get_json(store, f"{key}/zarr.json")
    assert doc["shape"] == [] and doc["attributes"] == {}
    assert doc["chunk_key_encoding"] == {"name": "default", "configuration": {"separator": "."}}
    assert f"{key}/c" in list_prefix(store, key)
    assert zarr.open_array(store, path=key, mode="r")[()] == TEXT
