"""Reading the one-text arrays that hold cached specifications (FORMAT.md 2.6, 3.6)."""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ..zarr_bridge import store_io

__all__ = ["read_text_scalar"]


def read_text_scalar(store, path: str, layout, document: dict | None = None) -> str:
    """The text of a scalar text dataset: 0-d or shape ``[1]``, either layout.

    ``document`` is the array's ``zarr.json`` (L3) or ``.zarray`` (L2) when the caller has it
    already.

    Raises
    ------
    FormatError
        When the node is missing or does not hold exactly one text value.
    """
    key = path.strip("/")
    if layout.zarr_format == 2:
        meta = document if document is not None else \
            store_io.get_json(store, store_io.node_key(key, ".zarray"))
        if meta is None:
            raise FormatError("cached specification is missing", path)
        if not isinstance(meta, dict):
            raise FormatError(".zarray of the cached specification is not a JSON object", path)
        from ..zarr_bridge.object_array import ObjectArrayV2, is_object_array_v2

        if is_object_array_v2(meta):
            arr = ObjectArrayV2(store, key, meta)
        else:
            from .lazy import array_from_metadata

            arr = array_from_metadata(store, key, meta, {}, 2)
    else:
        doc = document if document is not None else \
            store_io.get_json(store, store_io.node_key(key, "zarr.json"))
        if doc is not None and not isinstance(doc, dict):
            raise FormatError("zarr.json of the cached specification is not a JSON object",
                              path)
        if doc is None or doc.get("node_type") != "array":
            raise FormatError("cached specification is missing", path)
        from .lazy import array_from_metadata

        arr = array_from_metadata(store, key, {k: v for k, v in doc.items()
                                               if k != "attributes"}, {}, 3)
    shape = tuple(arr.shape)
    if shape not in ((), (1,)):
        raise FormatError(f"cached specification has shape {shape}, expected () or (1,)", path)
    value = arr[()] if shape == () else arr[0]
    if isinstance(value, np.ndarray):
        value = value[()]
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise FormatError("cached specification is not text", path)
    return str(value)
