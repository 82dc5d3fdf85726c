"""Writing the one-text arrays that hold cached specifications (FORMAT.md 2.6, 3.6)."""

from __future__ import annotations

from typing import Any

import numpy as np
import zarr

from ..format.layout import Layout

__all__ = ["write_text_scalar"]


def write_text_scalar(store: Any, path: str, text: str, layout: Layout) -> None:
    """Store ``text`` as a scalar text dataset at ``path``.

    L3: a 0-d ``string`` array without attributes (FORMAT.md 3.6). L2: a shape-``[1]`` ``|O``
    array with the json2 codec, no compressor and ``zarr_dtype: "scalar"`` (2.6), readable by the
    released hdmf-zarr. The layout decides (``Layout.spec_object_codec``,
    ``Layout.spec_attributes``, ``Layout.scalar_shape``).

    Parameters
    ----------
    store : zarr.abc.store.Store
        A writable store.
    path : str
        Absolute dataset path.
    text : str
        The text (a compact JSON document).
    layout : Layout
        The store's layout.
    """
    codec = layout.spec_object_codec
    if codec is not None:
        from ..zarr_bridge.object_array_write import write_object_array_v2

        values = np.empty(1, dtype=object)
        values[0] = text
        write_object_array_v2(store, path, values.reshape(layout.scalar_shape),
                              object_codec=codec, compressor=None,
                              attributes=layout.spec_attributes())
        return
    arr = zarr.create_array(store, name=path.strip("/"), shape=layout.scalar_shape, dtype=str,
                            fill_value=layout.text_fill_value,
                            zarr_format=layout.zarr_format, overwrite=True,
                            attributes=layout.spec_attributes(),
                            chunk_key_encoding=layout.chunk_key_encoding)
    arr[...] = text
