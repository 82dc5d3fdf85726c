"""What each layout decides (format/layout.py, layout2.py, layout3.py): every L2/L3 difference
the writer, iterators, CLI and ``hdmf-zarr info`` ask of a layout, checked against FORMAT.md."""

from __future__ import annotations

import numpy as np
import pytest

from hdmf_zarr.format.dtypes import CompoundField, DataKind
from hdmf_zarr.format.layout2 import L2
from hdmf_zarr.format.layout3 import L3

TEXT = DataKind("text", name="str")
BYTES = DataKind("bytes", name="bytes")
DATETIME = DataKind("datetime", name="bytes")
REF = DataKind("reference", name="object")
INT = DataKind("numeric", np.dtype("int16"), name="int16")
NUMERIC_COMPOUND = DataKind("compound", fields=[CompoundField("x", "numeric", np.dtype("<u4")),
                                                CompoundField("w", "numeric", np.dtype("<f4"))])
REF_COMPOUND = DataKind("compound", fields=[CompoundField("idx", "numeric", np.dtype("<i4")),
                                            CompoundField("ts", "reference")])
TEXT_COMPOUND = DataKind("compound", fields=[CompoundField("n", "numeric", np.dtype("<i8")),
                                             CompoundField("label", "text")])


def test_node_documents():  # FORMAT.md 2.1, 3.1
    l2, l3 = L2(), L3()
    assert (l2.group_document, l2.array_document, l2.attributes_document) == \
        (".zgroup", ".zarray", ".zattrs")
    assert (l3.group_document, l3.array_document, l3.attributes_document) == \
        ("zarr.json", "zarr.json", None)
    assert l2.array_documents == (".zarray", ".zattrs") and l3.array_documents == ("zarr.json",)
    assert l2.node_marker_documents == (".zgroup", ".zarray")
    assert l3.node_marker_documents == ("zarr.json",)
    assert (l2.consolidated_key, l3.consolidated_key) == (".zmetadata", "zarr.json")


def test_metadata_names_are_not_chunks():
    assert all(L2().is_metadata_name(n) for n in (".zgroup", ".zarray", ".zattrs", ".zmetadata"))
    assert not any(L2().is_metadata_name(n) for n in ("0", "0.0", "1/2"))
    assert L3().is_metadata_name("zarr.json")
    assert not any(L3().is_metadata_name(n) for n in ("c", "c.0.0", "0", ".zattrs"))


def test_group_documents_and_stale_attributes():  # FORMAT.md 2.1: no .zattrs when empty
    assert L2().group_documents({}) == {".zgroup": {"zarr_format": 2}}
    assert L2().group_documents({"a": 1})[".zattrs"] == {"a": 1}
    assert L2().stale_group_documents({".zgroup": {}}) == [".zattrs"]
    assert L2().stale_group_documents({".zgroup": {}, ".zattrs": {"a": 1}}) == []
    assert L3().group_documents({}) == {"zarr.json": {"zarr_format": 3, "node_type": "group",
                                                      "attributes": {}}}
    assert L3().stale_group_documents({"zarr.json": {}}) == []


def test_attributes_in_and_with_attributes():
    assert L2().document_holding_attributes() == ".zattrs"
    assert L2().attributes_in(None) == {}
    assert L2().attributes_in({"a": 1}) == {"a": 1}
    assert L2().attributes_in([1]) is None
    assert L2().with_attributes({"a": 1}, {"b": 2}) == {"b": 2}
    assert L3().document_holding_attributes() == "zarr.json"
    doc = {"zarr_format": 3, "node_type": "group", "attributes": {"a": 1}}
    attrs = L3().attributes_in(doc)
    assert attrs == {"a": 1}
    attrs["b"] = 2
    assert doc["attributes"] == {"a": 1}  # a copy
    assert L3().with_attributes(doc, attrs) == {**doc, "attributes": {"a": 1, "b": 2}}
    assert L3().attributes_in(None) is None
    assert L3().attributes_in({"zarr_format": 3, "attributes": None}) == {}


def test_scalar_shapes():  # FORMAT.md 2.3 shape [1], 3.3 shape []
    assert L2().stored_shape(()) == (1,) and L3().stored_shape(()) == ()
    for layout in (L2(), L3()):
        assert layout.stored_shape((4, 2)) == (4, 2)
        assert layout.stored_shape((0,)) == (0,)


def test_object_codecs():  # FORMAT.md 2.3, 2.5, 2.8; L3 writes every array through Zarr
    assert [L2().object_codec(k) for k in (TEXT, BYTES, DATETIME, REF, INT)] == \
        ["vlen-utf8", "vlen-bytes", "vlen-bytes", "json2", None]
    assert [L3().object_codec(k) for k in (TEXT, BYTES, DATETIME, REF, INT)] == [None] * 5
    assert L2().compound_object_codec(REF_COMPOUND) == "pickle"
    assert L2().compound_object_codec(TEXT_COMPOUND) == "pickle"
    assert L2().compound_object_codec(NUMERIC_COMPOUND) is None
    assert L3().compound_object_codec(REF_COMPOUND) is None


def test_flags():
    l2, l3 = L2(), L3()
    assert (l2.stores_bytes, l3.stores_bytes) == (True, False)  # 2.3 vlen-bytes / 3.2 text
    assert (l2.uses_numcodecs, l3.uses_numcodecs) == (True, False)
    assert (l2.supports_sharding, l3.supports_sharding) == (False, True)  # 3.8
    assert (l2.stores_dimension_names, l3.stores_dimension_names) == (False, True)  # 3.7
    assert (l2.scalar_reference_compounds, l3.scalar_reference_compounds) == (True, False)
    assert (l2.text_fill_value, l3.text_fill_value) == (None, "")
    assert l2.default_codec_options == {}
    opts = l3.default_codec_options
    assert opts == {"compressors": "auto", "filters": "auto"}
    opts["compressors"] = None
    assert l3.default_codec_options["compressors"] == "auto"  # a fresh dict each time
    assert l2.chunk_key_encoding is None
    assert l3.chunk_key_encoding == {"name": "default", "separator": "."}


def test_null_references():  # FORMAT.md 2.5 null, 3.5 ""
    assert L2().null_dataset_reference() is None
    assert L3().null_dataset_reference() == ""


def test_cached_spec_arrays():  # FORMAT.md 2.6, 3.6
    assert (L2().spec_object_codec, L2().spec_attributes()) == ("json2", {"zarr_dtype": "scalar"})
    assert (L3().spec_object_codec, L3().spec_attributes()) == (None, {})


def test_consolidated_array_keys():  # FORMAT.md 2.7, 3.7
    assert L2().consolidated_array_key("specifications/core/2.7.0/namespace") == \
        "specifications/core/2.7.0/namespace/.zarray"
    assert L3().consolidated_array_key("a/b") == "a/b"


def test_compound_storage_dtypes():
    rows = [(1, "/acquisition/ts")]
    assert L2().compound_storage_dtype(REF_COMPOUND, rows) == \
        np.dtype([("idx", "<i4"), ("ts", object)])  # FORMAT.md 2.3
    dt = L3().compound_storage_dtype(REF_COMPOUND, rows)  # FORMAT.md 3.4: at least 512
    assert dt == np.dtype([("idx", "<i4"), ("ts", "<U512")])
    long_rows = [(1, "x" * 700)]
    assert L3().compound_storage_dtype(REF_COMPOUND, long_rows)["ts"] == np.dtype("<U700")
    assert L3().compound_storage_dtype(REF_COMPOUND, rows, reserve=600)["ts"] == \
        np.dtype("<U600")
    unknown = DataKind("compound", fields=[CompoundField("v", "numeric")])
    assert L2().compound_storage_dtype(unknown, [(1.0,)]) == np.dtype([("v", "<f8")])


@pytest.mark.parametrize(("layout", "expected"), [
    (L2(), {"a": 1, "_ARRAY_DIMENSIONS": ["t"], "zarr_dtype": [
        {"name": "idx", "dtype": "int32"}, {"name": "ts", "dtype": "object"}]}),
    (L3(), {"a": 1, "_ARRAY_DIMENSIONS": ["t"], "_REFERENCE_FIELDS": ["ts"]}),
])
def test_dataset_attributes_of_a_reference_compound(layout, expected):
    out = layout.dataset_attributes({"a": 1}, REF_COMPOUND, False, ("t",))
    assert out == expected
    assert list(out) == list(expected)  # key order is part of the documents written


def test_dataset_attributes_of_scalars_and_plain_data():
    assert L2().dataset_attributes({}, INT, True) == {"zarr_dtype": "scalar"}
    assert L3().dataset_attributes({}, INT, True) == {"_DTYPE": "int16"}
    assert L3().dataset_attributes({}, REF, False, ("x",)) == \
        {"_ARRAY_DIMENSIONS": ["x"], "_DTYPE": "object_reference"}
    assert L3().dataset_attributes({}, NUMERIC_COMPOUND, False) == {}
