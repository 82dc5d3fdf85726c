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

from collections.abc import Sequence

import numcodecs
import numpy as np

from ..zarr_bridge import store_io

__all__ = ["MISSING", "read_scalar_chunks"]

#: Marker of a value this module leaves to Zarr.
MISSING = object()

_V2_COMPRESSORS = {"zstd", "blosc", "gzip", "zlib", "lz4"}


def _v3_decoder(codecs) -> list | None:
    """numcodecs decoders for the bytes-to-bytes codecs after a ``bytes`` serializer, or None
    when the codec chain is anything else."""
    from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, ZstdCodec

    if not codecs or not isinstance(codecs[0], BytesCodec):
        return None
    out = []
    for codec in codecs[1:]:
        if isinstance(codec, ZstdCodec):
            out.append(numcodecs.Zstd(level=codec.level))
        elif isinstance(codec, BloscCodec):
            out.append(numcodecs.Blosc())  # Blosc frames describe themselves
        elif isinstance(codec, GzipCodec):
            out.append(numcodecs.GZip(level=codec.level))
        else:
            return None
    return out


def _plan(array) -> tuple | None:
    """``(store, chunk key, numpy dtype, decoders)`` of a one-element numeric array, or
    None."""
    from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata

    inner = getattr(array, "_async_array", None)
    if inner is None:
        return None
    meta = inner.metadata
    shape = tuple(meta.shape)
    if shape not in ((), (1,)):
        return None
    try:
        dtype = np.dtype(meta.dtype.to_native_dtype())
    except Exception:  # noqa: BLE001 - a data type numpy cannot hold: Zarr reads it
        return None
    if dtype.kind not in "biufc":
        return None
    if isinstance(meta, ArrayV3Metadata):
        if tuple(meta.chunk_grid.chunk_shape) != shape:
            return None
        decoders = _v3_decoder(meta.codecs)
        # the bytes serializer, not the data type, fixes the byte order in Zarr 3
        endian = getattr(getattr(meta.codecs[0], "endian", None), "value", None)
        if endian in ("little", "big") and dtype.itemsize > 1:
            dtype = dtype.newbyteorder("<" if endian == "little" else ">")
    elif isinstance(meta, ArrayV2Metadata):
        if meta.filters or tuple(meta.chunks) != shape:
            return None
        compressor = meta.compressor
        if compressor is None:
            decoders = []
        elif compressor.codec_id in _V2_COMPRESSORS:
            decoders = [compressor]
        else:
            return None
    else:
        return None
    if decoders is None:
        return None
    coords = tuple(0 for _ in shape)
    prefix = inner.store_path.path
    key = meta.encode_chunk_key(coords)
    return inner.store_path.store, (f"{prefix}/{key}" if prefix else key), dtype, decoders


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
    plans = [_plan(a) for a in arrays]
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
            for decoder in reversed(decoders):
                data = decoder.decode(data)
            buf = memoryview(data).cast("B") if not isinstance(data, bytes) else data
            if len(buf) != dtype.itemsize:
                out.append(MISSING)
                continue
            out.append(np.frombuffer(buf, dtype=dtype)[0])
        except Exception:  # noqa: BLE001 - a chunk that does not decode: Zarr reports it
            out.append(MISSING)
    return out
