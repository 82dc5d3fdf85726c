"""Writing the one-text arrays that hold cached specifications (FORMAT.md 2.6, 3.6)."""

from __future__ import annotations

import numpy as np
import zarr

__all__ = ["write_text_scalar"]


def write_text_scalar(store, path: str, text: str, layout) -> None:
    """Store ``text`` as a scalar text dataset at ``path``.

    L3: a 0-d ``string`` array without attributes. L2: a shape-``[1]`` ``|O`` array with the json2
    codec, no compressor and ``zarr_dtype: "scalar"``, readable by the released hdmf-zarr.
    """
    if layout.zarr_format == 2:
        from ..zarr_bridge.object_array_write import write_object_array_v2

        write_object_array_v2(store, path, np.array([text], dtype=object), object_codec="json2",
                              compressor=None, attributes={"zarr_dtype": "scalar"})
        return
    arr = zarr.create_array(store, name=path.strip("/"), shape=(), dtype=str, fill_value="",
                            zarr_format=3, overwrite=True,
                            chunk_key_encoding=layout.chunk_key_encoding)
    arr[()] = text
