"""Layout L3: Zarr format 3, the unified convention (FORMAT.md section 3)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FormatError
from .dtypes import DataKind
from .layout import Layout, RefTarget
from .layout2 import L3_like_path

__all__ = ["L3", "COMPOUND_DTYPE_MIN_STRING_LENGTH"]

#: Minimum length in characters of text and reference fields of compounds (3.4).
COMPOUND_DTYPE_MIN_STRING_LENGTH = 512


class L3(Layout):
    """Encode and decode layout L3 (FORMAT.md section 3)."""

    zarr_format = 3
    name = "L3"
    links_attr = "_LINKS"
    dtype_attr = "_DTYPE"

    node_documents = ("zarr.json",)
    group_document = "zarr.json"
    array_document = "zarr.json"
    array_documents = ("zarr.json",)
    node_marker_documents = ("zarr.json",)
    attributes_document = None
    identifying_documents = ("zarr.json",)
    consolidated_key = "zarr.json"

    scalar_shape = ()
    scalar_reference_compounds = False
    stores_bytes = False
    uses_numcodecs = False
    supports_sharding = True
    stores_dimension_names = True
    text_fill_value = ""
    spec_object_codec = None

    def consolidated_array_key(self, key: str) -> str:
        """The node path itself (FORMAT.md 3.7)."""
        return key

    def consolidated_attributes_key(self, key: str) -> str:
        """The node path itself: attributes are part of ``zarr.json`` (FORMAT.md 3.7)."""
        return key

    def chunk_shape(self, meta: dict) -> tuple[int, ...] | None:
        """``chunk_shape`` of a regular ``chunk_grid`` (FORMAT.md 3.3)."""
        grid = meta.get("chunk_grid")
        if not isinstance(grid, dict) or grid.get("name") != "regular":
            return None
        config = grid.get("configuration")
        chunks = config.get("chunk_shape") if isinstance(config, dict) else None
        if not isinstance(chunks, list) or not all(isinstance(c, int) for c in chunks):
            return None
        return tuple(chunks)

    def is_metadata_name(self, name: str) -> bool:
        """``zarr.json`` only (FORMAT.md 3.1; chunk keys start with ``c``)."""
        return name == "zarr.json"

    def attributes_in(self, document: Any) -> dict | None:
        """The ``attributes`` of a ``zarr.json`` (FORMAT.md 3.1); None when the document is
        missing or not a JSON object."""
        if not isinstance(document, dict):
            return None
        return dict(document.get("attributes") or {})

    def with_attributes(self, document: Any, attributes: dict) -> dict:
        """The ``zarr.json`` with ``attributes`` replaced (FORMAT.md 3.1)."""
        return {**document, "attributes": attributes}

    @property
    def default_codec_options(self) -> dict[str, Any]:
        """Zarr's ``"auto"`` compressors and filters (zstd for numeric data, FORMAT.md 3.1)."""
        return {"compressors": "auto", "filters": "auto"}

    def _string_field_dtype(self, rows: Any, index: int, reserve: int | None) -> Any:
        longest = reserve or 0
        for row in rows:
            longest = max(longest, len(row[index]))
        return f"<U{max(longest, COMPOUND_DTYPE_MIN_STRING_LENGTH)}"  # FORMAT.md 3.4

    def compound_attributes(self, kind: DataKind) -> dict:
        """``_REFERENCE_FIELDS`` naming the reference fields, when there are some (3.4)."""
        refs = [f.name for f in kind.fields if f.kind == "reference"]
        return {"_REFERENCE_FIELDS": refs} if refs else {}

    def null_dataset_reference(self) -> str:
        """A null reference element is the empty path ``""`` (FORMAT.md 3.5)."""
        return self.encode_dataset_reference("", None, None)

    @property
    def chunk_key_encoding(self) -> dict:
        """Chunk keys ``c.i.j`` (FORMAT.md 3.1): Zarr's ``default`` encoding with the ``.``
        separator, so that a chunk of ``processing/ecephys/LFP/ElectricalSeries/data`` is one
        path component below its array (DANDI accepts at most 7 components per key). A 0-d
        array's single chunk is ``c`` whatever the separator. Readers follow the encoding named
        in each array's ``zarr.json``, so stores written with ``/`` read as before."""
        return {"name": "default", "separator": "."}

    def group_documents(self, attributes: dict) -> dict[str, Any]:
        """Documents of a group node, keyed by their name (3.1)."""
        return {"zarr.json": {"zarr_format": 3, "node_type": "group",
                              "attributes": attributes}}

    def attribute_reference(self, path: str, object_id: str | None,
                            root_object_id: str | None) -> dict:
        return {"_REFERENCE": {"source": ".", "path": path}}

    def encode_dataset_reference(self, path: str, object_id: str | None,
                                 root_object_id: str | None) -> str:
        return path

    def decode_dataset_reference(self, value: Any, where: str) -> RefTarget | None:
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if not isinstance(value, str):
            from ..errors import FormatError

            raise FormatError(f"reference element {value!r} is not a path string", where)
        return L3_like_path(value, where)

    def dtype_attribute(self, kind: DataKind, scalar: bool) -> Any:
        """The ``_DTYPE`` value of a dataset (3.2); None for compounds."""
        if kind.kind == "compound":
            return None
        if kind.kind == "numeric":
            assert kind.dtype is not None  # classify gives numeric kinds their dtype
            return kind.dtype.name
        if kind.kind == "reference":
            return "object_reference"
        return "str"

    # --- added for backend
    def holds_consolidated(self, raw: bytes | None) -> bool:
        """True when the root ``zarr.json`` has a ``consolidated_metadata`` object (3.7)."""
        if raw is None:
            return False
        import json

        document = json.loads(raw)
        return isinstance(document, dict) and isinstance(
            document.get("consolidated_metadata"), dict)

    # --- added for storage
    def array_chunk_key_encoding(self, doc: dict) -> tuple[bool, Any] | None:
        if doc.get("node_type") != "array" or doc.get("zarr_format") != 3:
            return None
        enc = doc.get("chunk_key_encoding", {"name": "default"})
        if isinstance(enc, str):
            enc = {"name": enc}
        if not isinstance(enc, dict) or enc.get("name") not in ("default", "v2"):
            return None
        default = enc["name"] == "default"
        config = enc.get("configuration") or {}
        sep = config.get("separator", "/" if default else ".") if isinstance(config, dict) else None
        return default, sep

    # --- added for stream
    def array_metadata(self, document: dict) -> dict | None:
        if document.get("node_type") != "array":
            return None
        return {k: v for k, v in document.items() if k != "attributes"}

    def consolidated_in_root(self) -> bool:
        return True

    def codec_ids(self, meta: dict, where: str = "") -> list[str]:
        seq = meta.get("codecs")
        if seq is None:
            return []
        if not isinstance(seq, list):
            raise FormatError(f"codecs must be a list, not {seq!r}", where)
        out = []
        for c in seq:
            name = c.get("name") if isinstance(c, dict) else c
            if not isinstance(name, str):
                raise FormatError(f"malformed codec entry {c!r}", where)
            out.append(name)
            if name == "sharding_indexed" and isinstance(c, dict):
                cfg = c.get("configuration")
                if not isinstance(cfg, dict):
                    raise FormatError("sharding_indexed has no configuration object", where)
                out += self.codec_ids({"codecs": cfg.get("codecs") or []}, where)
                out += self.codec_ids({"codecs": cfg.get("index_codecs") or []}, where)
        return out

    def is_known_codec(self, name: str) -> bool:
        from zarr.registry import get_codec_class

        try:
            get_codec_class(name)
        except Exception:  # Zarr raises KeyError, or what a broken entry point raises
            return False
        return True

    def plain_numeric_dtype(self, meta: dict) -> np.dtype | None:
        name = meta.get("data_type")
        return np.dtype(name) if isinstance(name, str) and name in _NUMERIC_TYPES else None

    def is_text_array(self, meta: dict) -> bool:
        data_type = meta.get("data_type")
        if isinstance(data_type, dict):
            data_type = data_type.get("name")
        return isinstance(data_type, str) and data_type in _TEXT_TYPES


#: Zarr 3 data type names of plain numeric arrays and of text arrays (FORMAT.md 3.3)
_NUMERIC_TYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                            "uint32", "uint64", "float16", "float32", "float64"})
_TEXT_TYPES = frozenset({"string", "variable_length_utf8"})
