"""``_chunkkeys.array_keys_from_document``: the chunk key encoding of an array document, read by
the layout whose array document it is (``Layout.array_chunk_key_encoding``)."""

import json

import pytest

from hdmf_zarr.format.layout2 import L2
from hdmf_zarr.format.layout3 import L3
from hdmf_zarr.storage._chunkkeys import ARRAY_DOCUMENTS, ArrayKeys, array_keys_from_document


def _doc(**fields) -> bytes:
    return json.dumps({"shape": [4, 5], **fields}).encode()


def test_array_documents_come_from_the_layouts():
    assert (L3().array_document, L2().array_document) == ARRAY_DOCUMENTS
    assert ARRAY_DOCUMENTS == ("zarr.json", ".zarray")


@pytest.mark.parametrize("fields, expected", [
    ({"zarr_format": 3, "node_type": "array"}, (True, "/")),
    ({"zarr_format": 3, "node_type": "array", "chunk_key_encoding": "v2"}, (False, ".")),
    ({"zarr_format": 3, "node_type": "array",
      "chunk_key_encoding": {"name": "default", "configuration": {"separator": "."}}},
     (True, ".")),
    ({"zarr_format": 3, "node_type": "array",
      "chunk_key_encoding": {"name": "v2", "configuration": {"separator": "/"}}}, (False, "/")),
    ({"zarr_format": 3, "node_type": "group"}, None),
    ({"zarr_format": 2, "node_type": "array"}, None),
    ({"zarr_format": 3, "node_type": "array", "chunk_key_encoding": {"name": "other"}}, None),
    ({"zarr_format": 3, "node_type": "array",
      "chunk_key_encoding": {"name": "default", "configuration": {"separator": "-"}}}, None),
])
def test_zarr_json(fields, expected):
    keys = array_keys_from_document("g/a", "zarr.json", _doc(**fields))
    assert keys == (None if expected is None else ArrayKeys("g/a", 2, *expected))


@pytest.mark.parametrize("fields, expected", [
    ({"zarr_format": 2}, (False, ".")),
    ({"zarr_format": 2, "dimension_separator": "/"}, (False, "/")),
    ({"zarr_format": 2, "dimension_separator": None}, (False, ".")),
    ({"zarr_format": 3}, None),
    ({"zarr_format": 2, "dimension_separator": "|"}, None),
])
def test_zarray(fields, expected):
    keys = array_keys_from_document("a", ".zarray", _doc(**fields))
    assert keys == (None if expected is None else ArrayKeys("a", 2, *expected))


@pytest.mark.parametrize("name, raw", [
    (".zattrs", _doc(zarr_format=2)),
    ("zarr.json", b"not json"),
    ("zarr.json", json.dumps([1, 2]).encode()),
    ("zarr.json", json.dumps({"zarr_format": 3, "node_type": "array"}).encode()),
])
def test_not_an_array_document(name, raw):
    assert array_keys_from_document("a", name, raw) is None
