"""``compressor`` and ``filters`` of read datasets, answered as Zarr-Python 2 did (issue 13).

Tools written for Zarr 2 (nwbinspector's compression checks, neuroconv) read
``dataset.compressor``; Zarr-Python 3 raises ``TypeError: compressor is not available for Zarr
format 3 arrays``. :func:`zarr2_compressor` gives the answer Zarr 2 would have given for the same
data: the array's bytes-to-bytes codec as a numcodecs codec (the last one when there are several,
as Zarr 2's ``compressor`` followed its ``filters``; the inner codecs of a sharded array), or None.
:func:`object_array_codecs` gives ``compressor`` and ``filters`` of an L2 object array read
outside Zarr (``ObjectArrayV2``), as plain Zarr reports them for the same array.
"""

from __future__ import annotations

__all__ = ["zarr2_compressor", "object_array_codecs"]


def zarr2_compressor(array):
    """The compressor Zarr 2 would report for a Zarr array of either format.

    Parameters
    ----------
    array : zarr.Array

    Returns
    -------
    numcodecs.abc.Codec or None
        Format 2: the array's own compressor. Format 3: the (last) bytes-to-bytes codec, inside
        the sharding codec when sharded, mapped to numcodecs (``write.codecs.to_numcodecs``);
        None without one. A codec without a numcodecs equivalent is returned as the Zarr 3 codec.
    """
    from zarr.abc.codec import BytesBytesCodec
    from zarr.codecs import ShardingCodec
    from zarr.core.metadata import ArrayV2Metadata

    from ..errors import UnknownCodecError
    from ..write.codecs import to_numcodecs

    metadata = array.metadata
    if isinstance(metadata, ArrayV2Metadata):
        return metadata.compressor
    codecs = list(metadata.codecs)
    while len(codecs) == 1 and isinstance(codecs[0], ShardingCodec):
        codecs = list(codecs[0].codecs)
    compressors = [c for c in codecs if isinstance(c, BytesBytesCodec)]
    if not compressors:
        return None
    codec = compressors[-1]
    try:
        return to_numcodecs(codec, "/" + str(array.path), dtype=None)
    except UnknownCodecError:
        return codec


def object_array_codecs(raw) -> tuple:
    """``(compressor, filters)`` of an L2 object array, as plain Zarr reports them.

    Parameters
    ----------
    raw : hdmf_zarr.zarr_bridge.object_array.ObjectArrayV2

    Returns
    -------
    tuple
        The numcodecs compressor (or None) and the list of numcodecs filters, object codec first
        (None when there are none), read from the array's ``.zarray``.
    """
    import numcodecs

    from . import store_io

    meta = store_io.get_json(raw._store, store_io.node_key(raw.path, ".zarray")) or {}
    compressor = meta.get("compressor")
    filters = meta.get("filters")
    return (numcodecs.get_codec(compressor) if compressor else None,
            [numcodecs.get_codec(f) for f in filters] if filters else None)
