"""Encode small arrays (one chunk) without going through ``zarr.create_array``.

Creating an array through Zarr-Python 3's public API costs several store round trips (parent
checks, parent documents, metadata, then the chunk), 3-7 ms each time; an NWB file with thousands
of small datasets must not pay that (DESIGN.md, "Metadata in batches"). For an array that fits in
one chunk we produce the same metadata document Zarr would write and the encoded chunk, as store
items that the writer stores in batches.

The documents come from templates made once per (format, data type, codecs) by Zarr itself in a
``MemoryStore``, with shape, chunk shape, attributes and dimension names filled in, so they are
exactly what ``zarr.create_array`` writes. The chunk is encoded with the same numcodecs codecs
Zarr uses for those documents (``bytes`` + ``zstd``, ``vlen-utf8`` + ``zstd`` in format 3;
Blosc in format 2). Anything else (other codecs, large arrays, compounds) is left to Zarr.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from typing import Any

import numcodecs
import numpy as np

from ..format.layout import Layout
from ..format.select import layout_for
from .codec_cache import numcodecs_codec
from .store_io import dumps_json

__all__ = ["encode_small_array", "SMALL_ARRAY_BYTES"]

#: Largest array (uncompressed bytes) encoded here as a single chunk.
SMALL_ARRAY_BYTES = 4 * 2**20


def _template(zarr_format: int, dtype_key: str, ndim: int, separator: str | None) -> dict:
    """A fresh copy of Zarr's own document for an array of that type and rank (parsing the
    cached JSON is several times faster than ``copy.deepcopy`` of a cached dict)."""
    return json.loads(_template_json(zarr_format, dtype_key, ndim, separator))


@cache
def _template_json(zarr_format: int, dtype_key: str, ndim: int, separator: str | None) -> str:
    """Zarr's own document for an array of that type and rank, made in a MemoryStore (JSON);
    ``separator`` of the format-3 ``default`` chunk key encoding (None: Zarr's default)."""
    import zarr
    from zarr.storage import MemoryStore

    from .store_io import get_json

    store = MemoryStore()
    dtype = str if dtype_key == "text" else np.dtype(dtype_key)
    shape = (1,) * ndim
    kw: dict[str, Any] = {"fill_value": ""} if dtype_key == "text" else {}
    if separator is not None:
        kw["chunk_key_encoding"] = {"name": "default", "separator": separator}
    if layout_for(zarr_format).uses_numcodecs and dtype_key != "text":
        # the numcodecs compressor of L2 numeric arrays (FORMAT.md 2.3)
        kw["compressors"] = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE,
                                            blocksize=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.create_array(store, name="a", shape=shape, dtype=dtype, chunks=shape,
                          zarr_format=zarr_format, **kw)  # type: ignore[arg-type]
    return json.dumps(get_json(store, "a/" + layout_for(zarr_format).array_document))


@cache
def _zstd(level: int, checksum: bool) -> numcodecs.Zstd:
    return numcodecs.Zstd(level=level, checksum=checksum)


def _chunk_name(doc: dict, layout: Layout) -> str:
    """Key of chunk ``(0, ..., 0)`` under the encoding the array's document names."""
    name = layout.first_chunk_key(doc)
    if name is None:
        raise ValueError(f"unknown chunk key encoding in {doc!r}")
    return name


def encode_small_array(path: str, data: np.ndarray, *, zarr_format: int, text: bool,
                       attributes: dict, dimension_names: tuple | None = None,
                       chunk_key_encoding: dict | None = None
                       ) -> tuple[dict[str, bytes], dict[str, dict]] | None:
    """The store items of a one-chunk array with Zarr's default codecs, or None when the array
    is not eligible (too large, unsupported dtype, format-2 text).

    Parameters
    ----------
    path : str
        Absolute node path of the array.
    data : numpy.ndarray
        Numeric/bool data (native byte order is converted to little-endian), or an object array
        of ``str`` when ``text`` is True (format 3 only). Any shape, 0-d included.
    zarr_format : {2, 3}
    text : bool
        The data is text (Zarr 3 ``string`` with ``vlen-utf8``).
    attributes : dict
        The node's attributes (JSON-ready).
    dimension_names : tuple of str, optional
        Format 3 ``dimension_names``.
    chunk_key_encoding : dict, optional
        Format 3: ``{"name": "default", "separator": "/" or "."}`` (the layout's
        ``chunk_key_encoding``); None keeps Zarr's default (``/``).

    Returns
    -------
    (items, documents) or None
        ``items`` maps store keys to bytes; ``documents`` maps the document keys to the parsed
        documents (for consolidated metadata).
    """
    layout = layout_for(zarr_format)
    if text:
        if layout.has_object_arrays():  # L2 text is an object array (FORMAT.md 2.3)
            return None
        dtype_key = "text"
    else:
        if data.dtype.kind not in "biuf":
            return None
        dtype_key = data.dtype.newbyteorder("<").str if data.dtype.itemsize > 1 \
            else data.dtype.str
        if data.nbytes > SMALL_ARRAY_BYTES:
            return None
    if data.ndim > 32 or (text and data.size > 100_000):
        return None
    shape = tuple(int(s) for s in data.shape)
    chunks = tuple(max(1, s) for s in shape)
    separator = None
    if chunk_key_encoding is not None:  # the layout's (None in L2)
        if chunk_key_encoding.get("name") != "default":
            return None
        separator = chunk_key_encoding.get("separator", "/")
    doc = _template(zarr_format, dtype_key, len(shape), separator)
    fill = _FILLERS[layout.array_document]
    return fill(doc, layout, path.strip("/"), data, dtype_key, text, shape, chunks, attributes,
                dimension_names)


def _fill_zarr_json(doc: dict, layout: Layout, key: str, data: np.ndarray, dtype_key: str,
                    text: bool, shape: tuple, chunks: tuple, attributes: dict,
                    dimension_names: tuple | None
                    ) -> tuple[dict[str, bytes], dict[str, dict]] | None:
    """Items of an array described by a ``zarr.json`` (FORMAT.md 3.1)."""
    items: dict[str, bytes] = {}
    documents: dict[str, dict] = {}
    doc["shape"] = list(shape)
    doc["chunk_grid"]["configuration"]["chunk_shape"] = list(chunks)
    doc["attributes"] = attributes
    if dimension_names:
        doc["dimension_names"] = list(dimension_names)
    else:
        doc.pop("dimension_names", None)
    if data.size:
        if text:
            raw = numcodecs.VLenUTF8().encode(np.asarray(data, dtype=object).reshape(-1))
        else:
            raw = np.ascontiguousarray(data, dtype=np.dtype(dtype_key)).tobytes()
        zstd = [c for c in doc["codecs"] if c["name"] == "zstd"]
        if [c["name"] for c in doc["codecs"]] not in (["bytes", "zstd"],
                                                       ["vlen-utf8", "zstd"]):
            return None  # Zarr's defaults changed: let Zarr write it
        cfg = zstd[0].get("configuration", {})
        payload = _zstd(cfg.get("level", 0), cfg.get("checksum", False)).encode(raw)
        items[f"{key}/{_chunk_name(doc, layout)}"] = bytes(payload)
    items[f"{key}/zarr.json"] = dumps_json(doc)
    documents[f"{key}/zarr.json"] = doc
    return items, documents


def _fill_zarray(doc: dict, layout: Layout, key: str, data: np.ndarray, dtype_key: str,
                 text: bool, shape: tuple, chunks: tuple, attributes: dict,
                 dimension_names: tuple | None) -> tuple[dict[str, bytes], dict[str, dict]] | None:
    """Items of an array described by a ``.zarray`` and a ``.zattrs`` (FORMAT.md 2.1, 2.3)."""
    items: dict[str, bytes] = {}
    documents: dict[str, dict] = {}
    doc["shape"] = list(shape)
    doc["chunks"] = list(chunks)
    if doc.get("filters") or not isinstance(doc.get("compressor"), dict):
        return None
    if data.size:
        chunk = np.ascontiguousarray(data, dtype=np.dtype(dtype_key))
        codec = numcodecs_codec(doc["compressor"])
        items[f"{key}/{_chunk_name(doc, layout)}"] = bytes(codec.encode(chunk))
    items[f"{key}/.zarray"] = dumps_json(doc)
    items[f"{key}/.zattrs"] = dumps_json(attributes)
    documents[f"{key}/.zarray"] = doc
    documents[f"{key}/.zattrs"] = attributes
    return items, documents


#: How the array document of each layout is filled in, by the layout's array document name
_FILLERS = {"zarr.json": _fill_zarr_json, ".zarray": _fill_zarray}
