"""Layout L3: Zarr format 3, the unified convention (FORMAT.md section 3)."""

from __future__ import annotations

from typing import Any

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

    def attribute_reference(self, path, object_id, root_object_id) -> dict:
        return {"_REFERENCE": {"source": ".", "path": path}}

    def encode_dataset_reference(self, path, object_id, root_object_id) -> str:
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
            return kind.dtype.name
        if kind.kind == "reference":
            return "object_reference"
        return "str"

    # --- added for storage
    array_document = "zarr.json"

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
