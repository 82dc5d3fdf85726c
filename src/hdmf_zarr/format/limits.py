"""Size limits of the reader (FORMAT.md 5) that do not belong to one codec or document.

The limits are module attributes read at call time, so that a user can raise them
(``hdmf_zarr.format.limits.MAX_READ_BYTES = 2**40``) or set them from the environment.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import FormatError

__all__ = ["MAX_READ_BYTES", "selection_size", "check_read_size", "MAX_PICKLE_ELEMENTS",
           "MAX_PICKLE_BYTES"]

#: Largest result of one read of a lazy dataset, in bytes (elements times item size), checked
#: before anything is allocated, so that a forged ``shape`` cannot make a read allocate
#: unbounded memory (FORMAT.md 5). ``HDMF_ZARR_MAX_READ_BYTES`` overrides the default (16 GiB).
MAX_READ_BYTES = int(os.environ.get("HDMF_ZARR_MAX_READ_BYTES", str(16 * 2**30)))


def selection_size(shape: tuple, selection: Any) -> int | None:
    """Number of elements a basic selection (integers, slices, Ellipsis) of an array of
    ``shape`` reads; None for other selections (fancy indices are bounded by their length)."""
    if not isinstance(selection, tuple):
        selection = (selection,)
    if sum(1 for k in selection if k is Ellipsis) > 1:
        return None
    if any(k is Ellipsis for k in selection):
        at = next(i for i, k in enumerate(selection) if k is Ellipsis)
        fill = len(shape) - (len(selection) - 1)
        selection = selection[:at] + (slice(None),) * max(fill, 0) + selection[at + 1:]
    selection = selection + (slice(None),) * (len(shape) - len(selection))
    count = 1
    for k, n in zip(selection, shape):
        if isinstance(k, slice):
            try:
                count *= len(range(*k.indices(n)))
            except (TypeError, ValueError):
                return None
        elif isinstance(k, (int, np.integer)):
            continue
        else:
            return None
    return count


def check_read_size(shape: tuple, selection: Any, itemsize: int, where: str) -> None:
    """Refuse a read whose result would exceed :data:`MAX_READ_BYTES`.

    Parameters
    ----------
    shape : tuple of int
        Shape of the array as its metadata states it.
    selection : object
        The index passed to ``__getitem__``.
    itemsize : int
        Bytes per element of the result.
    where : str
        Path of the array, for the message.

    Raises
    ------
    FormatError
        When the selection holds more bytes than the limit (a forged or absurd shape).
    """
    count = selection_size(tuple(shape), selection)
    if count is not None and count * max(int(itemsize), 1) > MAX_READ_BYTES:
        raise FormatError(f"reading {count} elements of shape {tuple(shape)} exceeds the read "
                          f"limit of {MAX_READ_BYTES} bytes (hdmf_zarr.format.limits."
                          "MAX_READ_BYTES); slice a smaller part", where)


# ------------------------------------------------------------------------------------------------
# pickled chunks (format/safe_pickle.py, FORMAT.md 2.5 and 5)
# ------------------------------------------------------------------------------------------------

#: Largest number of elements of one array built from a pickle stream.
MAX_PICKLE_ELEMENTS = 2**26
#: Largest memory size (bytes) of all the arrays one pickle stream builds together, when the
#: caller does not state the chunk it expects (then the budget is derived from the chunk).
MAX_PICKLE_BYTES = 2**30
#: Opcodes a pickled chunk may use: this many for the stream...
PICKLE_OPCODES_BASE = 4096
#: ...plus this many per element, plus :data:`PICKLE_OPCODES_PER_FIELD` per element and field
#: (0.13's streams use about 12 per reference and 2 per record field).
PICKLE_OPCODES_PER_ELEMENT = 64
PICKLE_OPCODES_PER_FIELD = 8
#: Containers (lists, tuples, dicts) the post-decode check visits per element, at most.
PICKLE_CONTAINERS_PER_ELEMENT = 64


# ------------------------------------------------------------------------------------------------
# metadata documents (FORMAT.md 5)
# ------------------------------------------------------------------------------------------------

#: Largest node document (``.zarray``, ``.zattrs``, ``.zgroup``, a node's ``zarr.json``).
MAX_DOCUMENT_BYTES = 16 * 2**20
#: Largest consolidated document (``.zmetadata``, the root ``zarr.json`` of L3).
MAX_CONSOLIDATED_BYTES = 256 * 2**20


def document_limit(key: str) -> int:
    """The size limit of the metadata document stored under ``key`` (FORMAT.md 5): only the
    root ``zarr.json`` and a ``.zmetadata`` hold consolidated metadata; every other key, even
    one ending in ``zarr.json``, is a node document."""
    name = key.rsplit("/", 1)[-1]
    if key.strip("/") == "zarr.json" or name == ".zmetadata":
        return MAX_CONSOLIDATED_BYTES
    return MAX_DOCUMENT_BYTES


# ------------------------------------------------------------------------------------------------
# decoded chunks (zarr_bridge/bounded_decode.py, FORMAT.md 5)
# ------------------------------------------------------------------------------------------------

#: Bytes a decompressor may produce beyond the chunk's expected size (codec headers, filters
#: that widen the data: the bound is twice the chunk's size plus this).
CODEC_OVERHEAD_BYTES = 64 * 2**10
#: Largest decoded payload of a chunk whose size the metadata cannot tell (variable-length
#: text or bytes, object arrays, a zip or HDF5 container member of unknown role).
MAX_VARIABLE_CHUNK_BYTES = 256 * 2**20
#: Largest value read from a container member (zip member, HDF5 dataset of H5NestedStore):
#: the largest legitimate value is a chunk (``read.lazy.MAX_CHUNK_BYTES``, 2 GiB) or a document.
MAX_MEMBER_BYTES = 2**31 + CODEC_OVERHEAD_BYTES


def decoded_chunk_limit(count: int, itemsize: int | None) -> int:
    """Largest number of bytes a decompressor may produce for a chunk of ``count`` elements of
    ``itemsize`` bytes (None or 0 for variable-length elements).

    Parameters
    ----------
    count : int
        Elements of the chunk (its shape's product).
    itemsize : int or None
        Bytes per element, for fixed-size data types.

    Returns
    -------
    int
        ``2 * count * itemsize + CODEC_OVERHEAD_BYTES`` for fixed-size elements (filters that
        widen the data stay within it), :data:`MAX_VARIABLE_CHUNK_BYTES` otherwise.
    """
    if not itemsize:
        return MAX_VARIABLE_CHUNK_BYTES
    return 2 * int(count) * int(itemsize) + CODEC_OVERHEAD_BYTES


# ------------------------------------------------------------------------------------------------
# nesting of nodes (read/builders.py, FORMAT.md 5)
# ------------------------------------------------------------------------------------------------

#: Deepest node accepted (levels below the root). NWB files are about 10 levels deep; the
#: reader and hdmf build the tree recursively, so a store of 1,000 nested groups would
#: otherwise end in a RecursionError.
MAX_NODE_DEPTH = 64


def check_node_depth(path: str) -> None:
    """Refuse a node path of more than :data:`MAX_NODE_DEPTH` components.

    Raises
    ------
    FormatError
        Naming the path (cut to its first levels).
    """
    depth = path.strip("/").count("/") + 1 if path.strip("/") else 0
    if depth > MAX_NODE_DEPTH:
        shown = "/" + "/".join(path.strip("/").split("/")[:8]) + "/..."
        raise FormatError(f"node nested {depth} levels deep, beyond the limit of "
                          f"{MAX_NODE_DEPTH} (hdmf_zarr.format.limits.MAX_NODE_DEPTH)", shown)


# ------------------------------------------------------------------------------------------------
# object arrays (zarr_bridge/object_array.py)
# ------------------------------------------------------------------------------------------------

#: Bytes one element of an object array costs when read (the result's pointer, the per-axis
#: index arrays and chunk bookkeeping of indexing, and a small Python object), charged against
#: :data:`MAX_READ_BYTES` instead of the 8 bytes of a pointer.
OBJECT_ELEMENT_BYTES = 64
#: JSON values (numbers, strings, lists, objects) a json2 chunk may hold per element (a 0.13
#: reference is an object of 4 strings; a compound row a list of its fields), plus this base.
JSON2_VALUES_PER_ELEMENT = 32
JSON2_VALUES_BASE = 1024


def object_read_itemsize(dtype: np.dtype) -> int:
    """Bytes charged per element when reading an object array of ``dtype`` (``object`` or a
    structured dtype with object fields): :data:`OBJECT_ELEMENT_BYTES` per object field plus
    the other fields' bytes."""
    fields = dtype.fields
    if fields is None:
        return OBJECT_ELEMENT_BYTES
    objects = len([name for name, spec in fields.items() if spec[0].hasobject])
    return dtype.itemsize + objects * OBJECT_ELEMENT_BYTES
