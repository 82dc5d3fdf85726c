"""Layout L2: Zarr format 2 as written by the released hdmf-zarr (FORMAT.md section 2)."""

from __future__ import annotations

from typing import Any

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


class L2(Layout):
    """Encode and decode layout L2 (FORMAT.md section 2)."""

    zarr_format = 2
    name = "L2"
    links_attr = "zarr_link"
    dtype_attr = "zarr_dtype"

    def group_documents(self, attributes: dict) -> dict[str, Any]:
        """Documents of a group node, keyed by their name (2.1)."""
        docs = {".zgroup": {"zarr_format": 2}}
        if attributes:
            docs[".zattrs"] = attributes
        return docs

    def attribute_reference(self, path, object_id, root_object_id) -> dict:
        return {"value": self.encode_dataset_reference(path, object_id, root_object_id),
                "zarr_dtype": "object"}

    def encode_dataset_reference(self, path, object_id, root_object_id) -> dict:
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
                    fd = f.dtype.name
                elif f.kind == "text":
                    fd = "str"
                else:
                    fd = "bytes"
                out.append({"name": f.name, "dtype": fd})
            return out
        if kind.kind == "numeric":
            return kind.dtype.name
        return {"text": "str", "bytes": "bytes", "datetime": "bytes",
                "reference": "object"}[kind.kind]

    # --- added for storage
    array_document = ".zarray"

    def array_chunk_key_encoding(self, doc: dict) -> tuple[bool, Any] | None:
        if doc.get("zarr_format") != 2:
            return None
        return False, doc.get("dimension_separator") or "."


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
