"""Reading the values of many numeric scalar datasets in one batch (issue "Speed on
metadata-heavy files": a file with one TimeSeries per ROI holds thousands of ``starting_time``
and similar scalars).

Going through ``zarr.AsyncArray.getitem`` costs about 0.4 ms per scalar (indexers, codec
pipeline, one task per chunk); the values themselves are a few bytes. For the common case, a
numeric array of one element stored in one chunk whose codecs are a bytes serializer followed
by zstd, Blosc or gzip (L3), or one of those as the compressor without filters (L2), the chunks
are fetched with one concurrent ``get`` of all keys and decoded with numcodecs. Anything else, and
any chunk that is absent or does not decode to exactly one element, is left to Zarr: the caller
reads it the ordinary way, so errors and fill values are Zarr's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache

import numcodecs
import numpy as np

from ..format.limits import decoded_chunk_limit
from ..format.select import layout_for
from ..zarr_bridge import store_io
from ..zarr_bridge.bounded_decode import decompress
from ..zarr_bridge.codec_cache import numcodecs_codec
from ..zarr_bridge.lazy_array import NUMERIC_V3, parsed_one_element_plan, unparsed_document

__all__ = ["MISSING", "read_scalar_chunks", "read_single_chunk", "single_chunk_plan",
           "decode_chunk", "scalar_plan"]

#: Marker of a value this module leaves to Zarr.
MISSING = object()

_V2_COMPRESSORS = frozenset({"zstd", "blosc", "gzip", "zlib", "lz4"})


@lru_cache(maxsize=256)
def _v3_decoders(codecs: str) -> tuple | None:
    """numcodecs decoders and the byte order for a Zarr 3 codec chain given as JSON: a
    ``bytes`` serializer followed by zstd, blosc or gzip; None for anything else."""
    chain = json.loads(codecs)
    if not chain or not isinstance(chain[0], dict) or chain[0].get("name") != "bytes":
        return None
    endian = (chain[0].get("configuration") or {}).get("endian", "little")
    out = []
    for codec in chain[1:]:
        if not isinstance(codec, dict):
            return None
        name, cfg = codec.get("name"), codec.get("configuration") or {}
        if name == "zstd":
            out.append(numcodecs.Zstd(level=cfg.get("level", 0)))
        elif name == "blosc":
            out.append(numcodecs.Blosc())  # Blosc frames describe themselves
        elif name == "gzip":
            out.append(numcodecs.GZip(level=cfg.get("level", 1)))
        else:
            return None
    return endian, out


def single_chunk_plan(store, path: str, meta: dict, zarr_format: int) -> tuple | None:
    """``(store, chunk key, numpy dtype, decoders)`` of a numeric array held in exactly one
    chunk, read off its parsed document (FORMAT.md 2.2, 3.2 and 3.3) without having Zarr parse
    it; None for anything but the plain cases (other codecs, several chunks, sharding, a
    non-default chunk key encoding, Fortran order), which are left to Zarr.

    Parameters
    ----------
    store : zarr.abc.store.Store
    path : str
        Store path of the array, without leading or trailing ``/``.
    meta : dict
        The array document (``zarr.json`` or ``.zarray``).
    zarr_format : {2, 3}
    """
    shape = meta.get("shape")
    if not isinstance(shape, list):
        return None
    found = _PLANS[layout_for(zarr_format).array_document](meta, shape)
    if found is None:
        return None
    key, dtype, decoders = found
    return store, (f"{path}/{key}" if path else key), dtype, decoders


def _v3_plan(meta: dict, shape: list) -> tuple | None:
    """(chunk key, dtype, decoders) of a one-chunk Zarr 3 array (FORMAT.md 3.2, 3.3)."""
    name = meta.get("data_type")
    grid = meta.get("chunk_grid") or {}
    encoding = meta.get("chunk_key_encoding") or {}
    if not isinstance(name, str) or name not in NUMERIC_V3 or \
            grid.get("name") != "regular" or \
            (grid.get("configuration") or {}).get("chunk_shape") != shape or \
            encoding.get("name") != "default" or meta.get("storage_transformers"):
        return None
    sep = (encoding.get("configuration") or {}).get("separator", "/")
    try:
        found = _v3_decoders(json.dumps(meta.get("codecs")))
    except TypeError:
        return None
    if found is None or sep not in ("/", "."):
        return None
    endian, decoders = found
    dtype = np.dtype(name)
    if dtype.itemsize > 1 and endian in ("little", "big"):
        dtype = dtype.newbyteorder("<" if endian == "little" else ">")
    key = "c" + "".join(sep + "0" for _ in shape)
    return key, dtype, decoders


def _v2_plan(meta: dict, shape: list) -> tuple | None:
    """(chunk key, dtype, decoders) of a one-chunk Zarr 2 array (FORMAT.md 2.2)."""
    spec = meta.get("dtype")
    if not isinstance(spec, str) or spec[1:2] not in ("b", "i", "u", "f") or \
            meta.get("chunks") != shape or meta.get("filters") or \
            meta.get("order", "C") != "C":
        return None
    try:
        dtype = np.dtype(spec)
    except TypeError:
        return None
    compressor = meta.get("compressor")
    if compressor is None:
        decoders = []
    elif isinstance(compressor, dict) and compressor.get("id") in _V2_COMPRESSORS:
        try:
            decoders = [numcodecs_codec(compressor)]
        except Exception:  # a configuration numcodecs refuses: Zarr reports
            return None
    else:
        return None
    sep = meta.get("dimension_separator") or "."
    key = sep.join("0" for _ in shape) if shape else "0"
    return key, dtype, decoders


#: the plan of an array, by the name of its document (the layout's array document)
_PLANS = {"zarr.json": _v3_plan, ".zarray": _v2_plan}


def decode_chunk(data: bytes, dtype: np.dtype, decoders: Sequence, count: int):
    """The ``count`` elements of ``dtype`` in a chunk encoded by ``decoders``, as a read-only
    1-d numpy array, or None when the decoded chunk is not exactly that size.

    Raises
    ------
    DecodedSizeError
        When a decoder would produce more than the chunk's size allows (FORMAT.md 5).
    """
    limit = decoded_chunk_limit(count, dtype.itemsize)
    for decoder in reversed(decoders):
        data = decompress(decoder, data, limit)
    buf = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    if len(buf) != count * dtype.itemsize:
        return None
    return np.frombuffer(buf, dtype=dtype)


def read_single_chunk(array):
    """The whole of a one-chunk numeric array not yet parsed by Zarr, read with one store get
    and decoded with numcodecs (0.05 ms, against 0.5 ms through Zarr's first ``getitem``), in
    the stored byte order; None when the array is not such an array or its chunk is absent or
    does not decode to its shape (the caller then reads it through Zarr)."""
    document = unparsed_document(array)
    if document is None:
        return None
    plan = single_chunk_plan(*document)
    if plan is None:
        return None
    store, key, dtype, decoders = plan
    shape = tuple(document[2]["shape"])
    raw = store_io.get_bytes(store, key)
    if raw is None:
        return None
    try:
        flat = decode_chunk(raw, dtype, decoders, math.prod(shape))
    except Exception:  # a chunk that does not decode: Zarr reports it
        return None
    return None if flat is None else flat.reshape(shape)


def scalar_plan(array) -> tuple | None:
    """``(store, chunk key, numpy dtype, decoders)`` of a one-element numeric array whose
    chunk numcodecs can decode, or None (Zarr then reads it)."""
    document = unparsed_document(array)
    if document is not None and document[2].get("shape") in ([], [1]):
        plan = single_chunk_plan(*document)
        if plan is not None:
            return plan
    return parsed_one_element_plan(array, _V2_COMPRESSORS)


def read_scalar_chunks(arrays: Sequence) -> list:
    """Values of one-element numeric arrays, read in one batch per store.

    Parameters
    ----------
    arrays : sequence of zarr.Array
        Arrays of shape ``()`` or ``(1,)``.

    Returns
    -------
    list
        For each array its one value as a numpy scalar, or :data:`MISSING` where the caller
        must read it through Zarr (another codec chain, an absent chunk, a chunk that does not
        decode to one element).
    """
    plans = [scalar_plan(a) for a in arrays]
    stores: dict[int, tuple] = {}
    for plan in plans:
        if plan is not None:
            stores.setdefault(id(plan[0]), (plan[0], []))[1].append(plan[1])
    raw = {sid: store_io.get_many(store, keys) for sid, (store, keys) in stores.items()}
    out = []
    for plan in plans:
        if plan is None:
            out.append(MISSING)
            continue
        store, key, dtype, decoders = plan
        data = raw[id(store)].get(key)
        if data is None:
            out.append(MISSING)  # never written: Zarr gives the fill value
            continue
        try:
            flat = decode_chunk(data, dtype, decoders, 1)
        except Exception:  # a chunk that does not decode: Zarr reports it
            flat = None
        out.append(MISSING if flat is None else flat[0])
    return out
