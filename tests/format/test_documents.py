"""Tests of the node-document checks shared by the reader and ``hdmf-zarr info``."""

from __future__ import annotations

import pytest

from hdmf_zarr.errors import FormatError
from hdmf_zarr.format import limits
from hdmf_zarr.format.documents import check_node_document

V3 = {"zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "int16",
      "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
      "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                 {"name": "zstd", "configuration": {"level": 0}}],
      "fill_value": 0, "attributes": {}}
V2 = {"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<i2", "compressor": None,
      "filters": None, "fill_value": 0, "order": "C"}


def test_valid_documents_pass_unchanged():
    assert check_node_document(V3, "zarr.json", "/a") is V3
    assert check_node_document(V2, ".zarray", "/a") is V2
    sharded = dict(V3, codecs=[{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [1], "codecs": [{"name": "bytes"}], "index_codecs": ["bytes"]}}])
    check_node_document(sharded, "zarr.json", "/a")
    check_node_document({"node_type": "group", "attributes": {}}, "zarr.json", "/g")


@pytest.mark.parametrize("change,match", [
    ({"chunk_grid": "regular"}, "chunk_grid"),
    ({"chunk_grid": {"name": "regular", "configuration": [2]}}, "chunk_grid configuration"),
    ({"chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [0]}}}, "chunk_shape"),
    ({"codecs": [{"name": "sharding_indexed", "configuration": []}]}, "sharding"),
    ({"codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": "1"}}]},
     "sharding chunk_shape"),
    ({"codecs": [{"name": 3}]}, "codec entry"),
    ({"shape": [2**63]}, "shape"),
    ({"shape": [True]}, "shape"),
    ({"shape": [1] * 33}, "shape"),
    ({"data_type": {"configuration": {}}}, "data_type"),
    ({"attributes": []}, "attributes"),
    ({"node_type": "link"}, "node_type"),
    ({"dimension_names": "x"}, "dimension_names"),
])
def test_v3_array_documents_of_the_wrong_shape(change, match):
    with pytest.raises(FormatError, match=match) as info:
        check_node_document(dict(V3, **change), "zarr.json", "/acq/x")
    assert "/acq/x" in str(info.value)


@pytest.mark.parametrize("change,match", [
    ({"chunks": "2"}, "chunks"), ({"dtype": 4}, "dtype"), ({"filters": {"id": "x"}}, "filters"),
    ({"compressor": "zstd"}, "compressor"), ({"order": "X"}, "order"),
    ({"dimension_separator": "-"}, "dimension_separator"),
])
def test_v2_array_documents_of_the_wrong_shape(change, match):
    with pytest.raises(FormatError, match=match):
        check_node_document(dict(V2, **change), ".zarray", "a/.zarray")
    with pytest.raises(FormatError, match="not a JSON object"):
        check_node_document([], ".zattrs", "a/.zattrs")


def test_document_limits_by_key():
    assert limits.document_limit("zarr.json") == limits.MAX_CONSOLIDATED_BYTES
    assert limits.document_limit(".zmetadata") == limits.MAX_CONSOLIDATED_BYTES
    for key in ("a/zarr.json", "a/b/zarr.json", "a/.zarray", ".zattrs", "x.zarr.json"):
        assert limits.document_limit(key) == limits.MAX_DOCUMENT_BYTES


def test_node_depth_and_decoded_chunk_limits():
    limits.check_node_depth("/".join(["g"] * limits.MAX_NODE_DEPTH))
    with pytest.raises(FormatError, match="65 levels deep"):
        limits.check_node_depth("/".join(["g"] * 65))
    assert limits.decoded_chunk_limit(10, 8) == 160 + limits.CODEC_OVERHEAD_BYTES
    assert limits.decoded_chunk_limit(10, 0) == limits.MAX_VARIABLE_CHUNK_BYTES
