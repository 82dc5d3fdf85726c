"""Layout L2: Zarr format 2 as written by the released hdmf-zarr (FORMAT.md section 2)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FormatError
from .dtypes import DataKind
from .layout import Layout, RefTarget, _ref_target

__all__ = ["L2", "JSON2_CONFIG", "PICKLE_CONFIG", "DEFAULT_COMPRESSOR_V2"]

#: The json2 object codec configuration of FORMAT.md 2.5.
JSON2_CONFIG = {"id": "json2", "allow_nan": True, "check_circular": True, "encoding": "utf-8",
                "ensure_ascii": True, "indent": None, "separators": [",", ":"],
                "skipkeys": False, "sort_keys": True, "strict": True}
#: The pickle object codec configuration (compound datasets with references only, 2.8).
PICKLE_CONFIG = {"id": "pickle", "protocol": 5}
#: Default compressor of numeric L2 arrays (2.3).
DEFAULT_COMPRESSOR_V2 = {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1,
                         "blocksize": 0}


#: Object codec of non-compound datasets by data kind (2.3, 2.5, 2.8).
_OBJECT_CODECS = {"text": "vlen-utf8", "bytes": "vlen-bytes", "datetime": "vlen-bytes",
                  "reference": "json2"}


class L2(Layout):
    """Encode and decode layout L2 (FORMAT.md section 2)."""

    zarr_format = 2
    name = "L2"
    links_attr = "zarr_link"
    dtype_attr = "zarr_dtype"

    node_documents = (".zgroup", ".zarray", ".zattrs")
    group_document = ".zgroup"
    array_document = ".zarray"
    array_documents = (".zarray", ".zattrs")
    node_marker_documents = (".zgroup", ".zarray")
    attributes_document = ".zattrs"
    identifying_documents = (".zgroup", ".zarray", ".zmetadata")
    consolidated_key = ".zmetadata"

    scalar_shape = (1,)
    scalar_reference_compounds = True
    stores_bytes = True
    uses_numcodecs = True
    supports_sharding = False
    stores_dimension_names = False
    text_fill_value = None
    spec_object_codec = "json2"

    def consolidated_array_key(self, key: str) -> str:
        """``<key>/.zarray`` (FORMAT.md 2.7; ``.zarray`` for the root)."""
        return f"{key}/.zarray" if key else ".zarray"

    def consolidated_attributes_key(self, key: str) -> str:
        """``<key>/.zattrs`` (FORMAT.md 2.7; ``.zattrs`` for the root)."""
        return f"{key}/.zattrs" if key else ".zattrs"

    def chunk_shape(self, meta: dict) -> tuple[int, ...] | None:
        """``chunks`` of a ``.zarray`` (FORMAT.md 2.2)."""
        chunks = meta.get("chunks")
        if not isinstance(chunks, list) or not all(isinstance(c, int) for c in chunks):
            return None
        return tuple(chunks)

    def is_metadata_name(self, name: str) -> bool:
        """``.zgroup``, ``.zarray``, ``.zattrs``, ``.zmetadata`` (any name starting ``.z``;
        chunk keys are numbers, FORMAT.md 2.1, 2.3, 2.7)."""
        return name.startswith(".z")

    def attributes_in(self, document: Any) -> dict | None:
        """The ``.zattrs`` document itself (absent: no attributes, FORMAT.md 2.1)."""
        if document is None:
            return {}
        return dict(document) if isinstance(document, dict) else None

    def with_attributes(self, document: Any, attributes: dict) -> dict:
        """The new ``.zattrs``: the attributes (FORMAT.md 2.1)."""
        return attributes

    def group_documents(self, attributes: dict) -> dict[str, Any]:
        """Documents of a group node, keyed by their name (2.1)."""
        docs: dict[str, Any] = {".zgroup": {"zarr_format": 2}}
        if attributes:
            docs[".zattrs"] = attributes
        return docs

    def stale_group_documents(self, documents: dict) -> list[str]:
        """``[".zattrs"]`` for a group without attributes (FORMAT.md 2.1)."""
        return [] if ".zattrs" in documents else [".zattrs"]

    def object_codec(self, kind: DataKind) -> str | None:
        """``vlen-utf8`` for text, ``vlen-bytes`` for byte strings and datetimes, ``json2`` for
        references (FORMAT.md 2.3, 2.5, 2.8), None for numeric data."""
        return _OBJECT_CODECS.get(kind.kind)

    def compound_object_codec(self, kind: DataKind) -> str | None:
        """``pickle`` for compounds with reference or text fields (FORMAT.md 2.3, 2.8), None
        for numeric compounds."""
        if any(f.kind in ("reference", "text", "bytes", "datetime") for f in kind.fields):
            return "pickle"
        return None

    def _string_field_dtype(self, rows: Any, index: int, reserve: int | None) -> Any:
        return object  # FORMAT.md 2.3: "|O" fields

    def spec_attributes(self) -> dict:
        """``{"zarr_dtype": "scalar"}`` (FORMAT.md 2.6)."""
        return {"zarr_dtype": "scalar"}

    def null_dataset_reference(self) -> None:
        """A null reference element is ``None`` (JSON ``null``, FORMAT.md 2.5)."""
        return None

    def attribute_reference(self, path: str, object_id: str | None,
                            root_object_id: str | None) -> dict:
        return {"value": self.encode_dataset_reference(path, object_id, root_object_id),
                "zarr_dtype": "object"}

    def encode_dataset_reference(self, path: str, object_id: str | None,
                                 root_object_id: str | None) -> dict:
        # key order of FORMAT.md 2.5
        return {"source": ".", "path": path, "object_id": object_id,
                "source_object_id": root_object_id}

    def decode_dataset_reference(self, value: Any, where: str) -> RefTarget | None:
        if value is None:
            return None
        if isinstance(value, str):  # tolerate path strings
            return L3_like_path(value, where)
        return _ref_target(value, where)

    def dtype_attribute(self, kind: DataKind, scalar: bool) -> Any:
        """The ``zarr_dtype`` value of a dataset (2.2)."""
        if scalar and kind.kind != "compound":
            return "scalar"
        if kind.kind == "compound":
            out = []
            for f in kind.fields:
                if f.kind == "reference":
                    fd = "object"
                elif f.kind == "numeric":
                    # stored as float64 when unknown (Layout.compound_storage_dtype)
                    fd = f.dtype.name if f.dtype is not None else "float64"
                elif f.kind == "text":
                    fd = "str"
                else:
                    fd = "bytes"
                out.append({"name": f.name, "dtype": fd})
            return out
        if kind.kind == "numeric":
            assert kind.dtype is not None  # classify gives numeric kinds their dtype
            return kind.dtype.name
        return {"text": "str", "bytes": "bytes", "datetime": "bytes",
                "reference": "object"}[kind.kind]

    # --- added for backend
    def holds_consolidated(self, raw: bytes | None) -> bool:
        """``.zmetadata`` is the consolidated metadata: present or not (2.7)."""
        return raw is not None

    # --- added for storage
    def array_chunk_key_encoding(self, doc: dict) -> tuple[bool, Any] | None:
        if doc.get("zarr_format") != 2:
            return None
        return False, doc.get("dimension_separator") or "."

    # --- added for stream
    def array_metadata(self, document: dict) -> dict | None:
        return document

    def consolidated_in_root(self) -> bool:
        return False

    def has_object_arrays(self) -> bool:
        return True

    def codec_ids(self, meta: dict, where: str = "") -> list[str]:
        filters = meta.get("filters")
        if filters is not None and not isinstance(filters, list):
            raise FormatError(f"filters must be a list or null, not {filters!r}", where)
        out = []
        for f in filters or ():
            if not isinstance(f, dict) or not isinstance(f.get("id"), str):
                raise FormatError(f"malformed filter entry {f!r}", where)
            out.append(f["id"])
        comp = meta.get("compressor")
        if comp is not None:
            if not isinstance(comp, dict) or not isinstance(comp.get("id"), str):
                raise FormatError(f"malformed compressor {comp!r}", where)
            out.append(comp["id"])
        return out

    def is_known_codec(self, name: str) -> bool:
        from numcodecs.registry import codec_registry

        return name in codec_registry

    def plain_numeric_dtype(self, meta: dict) -> np.dtype | None:
        spec = meta.get("dtype")
        if isinstance(spec, str) and spec[1:2] in ("b", "i", "u", "f") and len(spec) <= 4:
            try:
                return np.dtype(spec)
            except TypeError:
                return None
        return None

    def is_text_array(self, meta: dict) -> bool:
        return meta.get("dtype") == "|O"


def L3_like_path(value: str, where: str) -> RefTarget | None:
    """A reference stored as a plain path string (L3 style), ``""`` meaning null."""
    from .names import check_target_path

    if value == "":
        return None
    if value.startswith("{"):
        import json

        try:
            return _ref_target(json.loads(value), where)
        except ValueError:
            raise FormatError(f"reference {value!r} is not valid JSON", where) from None
    return RefTarget(".", check_target_path(value, where))
