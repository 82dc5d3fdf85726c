"""Chunks fetched while opening, in the batch of the cached specifications (docs/performance.md,
"Streaming").

With consolidated metadata the reader knows, before it builds a single builder, most of what
``read()`` will fetch in its wave (``read.prefetch.ReadWave``): the value of every scalar
dataset, table ``id`` columns, region references (hdmf reads them whole while constructing) and
untyped text arrays (``experimenter``, ``file_create_date``). Their chunks are fetched in the
same concurrent batch as the cached specifications, so that open + ``read()`` costs two
sequential round trips on a remote store instead of three. The bytes reach the reader through a
``zarr_bridge.prefetched.PrefetchedStore``; whatever the reader asks beyond them goes to the
store as before.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..errors import FormatError
from ..format.layout import Layout
from ..storage._keys import check_key
from ..zarr_bridge import store_io
from .prefetch import PREFETCH_DATASET_BYTES, READ_WHEN_CONSTRUCTED_TYPES

__all__ = ["early_chunk_keys", "consolidated_arrays", "EARLY_DATASET_BYTES", "EARLY_TOTAL_BYTES"]

#: Largest array (estimated decoded bytes) whose chunk is fetched while opening.
EARLY_DATASET_BYTES = 64 * 2**10
#: Most bytes (estimated, decoded) fetched while opening beyond the specifications.
EARLY_TOTAL_BYTES = 16 * 2**20
#: Bytes counted per element when the data type is not a plain number (text, references).
_OTHER_ELEMENT_BYTES = 32


def consolidated_arrays(documents: dict, layout: Layout) -> Iterator[tuple[str, dict]]:
    """``(store path, array metadata)`` of every array the consolidated metadata ``documents``
    describe (FORMAT.md 2.7, 3.7); documents without a list ``shape`` are left out."""
    suffix = layout.consolidated_array_key("x")[1:]  # L2 "/.zarray", L3 ""
    for key, doc in documents.items():
        if not isinstance(key, str) or not isinstance(doc, dict):
            continue
        path = key[:-len(suffix)] if suffix and key.endswith(suffix) else key
        if not path or layout.consolidated_array_key(path) != key:
            continue
        meta = layout.array_metadata(doc)
        if isinstance(meta, dict) and isinstance(meta.get("shape"), list):
            yield path, meta


def early_chunk_keys(documents: dict, layout: Layout, skip: str | None = None,
                     prefetch: int = 0) -> list[str]:
    """Store keys of the chunks ``read()`` will fetch, known from consolidated metadata.

    An array qualifies when its first chunk holds all of it and is read whole
    (:meth:`Layout.whole_in_first_chunk`, so no sharded array), it is at most
    :data:`EARLY_DATASET_BYTES`, and it holds at most one element (a scalar dataset), or it is
    an ``ElementIdentifiers``/``DynamicTableRegion``, or it is untyped text. At most
    :data:`EARLY_TOTAL_BYTES` in all. With a ``prefetch`` budget, any other such array of at
    most ``read.prefetch.PREFETCH_DATASET_BYTES`` qualifies too, until the budget is spent
    (what ``read()`` would prefetch; the wave's own choice follows the order of the tree, so
    under a tight budget the two may differ by a few datasets: the rest is fetched then).

    Parameters
    ----------
    documents : dict
        The consolidated metadata (``read.specs.consolidated_documents``).
    layout : Layout
    skip : str, optional
        A store path whose arrays are left out (the cached specifications, fetched anyway).
    prefetch : int, optional
        The reader's prefetch budget in bytes (0: none).

    Returns
    -------
    list of str
        Store keys (no leading ``/``), in the order of the documents.
    """
    keys: list[str] = []
    total = 0
    for path, meta in consolidated_arrays(documents, layout):
        if skip and (path == skip or path.startswith(skip.rstrip("/") + "/")):
            continue
        attrs = layout.attributes_in(
            documents.get(layout.consolidated_attributes_key(path))) or {}
        shape = meta["shape"]
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            continue
        count = math.prod(shape)
        if count == 0:  # an empty array has no chunk to read
            continue
        kind = attrs.get("neurodata_type", attrs.get("data_type"))
        dtype = layout.plain_numeric_dtype(meta)
        size = count * (dtype.itemsize if dtype is not None else _OTHER_ELEMENT_BYTES)
        needed = count <= 1 or kind in READ_WHEN_CONSTRUCTED_TYPES or \
            (kind is None and layout.is_text_array(meta))
        if needed:
            if size > EARLY_DATASET_BYTES or total + size > EARLY_TOTAL_BYTES:
                continue
        elif size > PREFETCH_DATASET_BYTES or size > prefetch:
            continue
        if not layout.whole_in_first_chunk(meta):
            continue
        chunk = layout.first_chunk_key(meta)
        if chunk is None:
            continue
        key = store_io.node_key(path, chunk)
        try:
            check_key(key)  # a path that would leave the store is the reader's to report
        except FormatError:
            continue
        keys.append(key)
        if needed:
            total += size
        else:
            prefetch -= size
    return keys
