"""Codec settings of a dataset for each layout (FORMAT.md 2.3, 3.8; docs/format-notes.md).

``ZarrDataIO`` accepts numcodecs codecs (the established API, native to layout L2) and
Zarr-Python 3 codecs (native to layout L3), and each is translated to the other layout where an
equivalent exists:

=====================================  ====================================================
numcodecs (L2)                         Zarr 3 (L3)
=====================================  ====================================================
``Blosc(cname, clevel, shuffle)``      ``BloscCodec`` (``typesize`` from the dtype;
                                       ``AUTOSHUFFLE`` -> byte shuffle, bit shuffle for
                                       1-byte types)
``Zstd(level, checksum)``              ``ZstdCodec``
``GZip(level)``                        ``GzipCodec``
any codec with a ``numcodecs.*``       that wrapper (``zarr.codecs.numcodecs``): ``Zlib``,
wrapper                                ``LZ4``, ``LZMA``, ``BZ2``, ``Shuffle``, ``Delta``,
                                       ``FixedScaleOffset``, ``Quantize``, ``CRC32C``...
=====================================  ====================================================

The Zarr 3 built-ins are used for Blosc and Zstd rather than the numcodecs wrappers: as a
bytes-to-bytes codec the wrapped Blosc sees item size 1, which silently disables its shuffle.
Object codecs (``Pickle``, ``JSON``, ``MsgPack``, ``VLen*``, ``Categorize``, ``Base64``) have
no Zarr 3 equivalent for numeric data; ``TransposeCodec``, ``ShardingCodec`` (use ``shards=``)
and a big-endian ``BytesCodec`` have no L2 one. Those are an :class:`UnknownCodecError`.

Roles. In L3 a codec given as compressor must be bytes-to-bytes, a serializer array-to-bytes; a
filter may be array-to-array (Zarr 3 ``filters``) or bytes-to-bytes (placed in ``compressors``
before the compressor, as shuffle is). In L2 the filters come first, then every bytes-to-bytes
codec but the last, which is the compressor. An array-to-array codec given as compressor (zarr 2
took any codec there, e.g. ``numcodecs.PackBits``) is moved to the end of the filters with a
``UserWarning`` (in L2 a numcodecs codec stays the compressor, as zarr 2 stored it); any other
codec in the wrong role is an :class:`UnsupportedDataError`. ``compressor=True`` (or
``compressors=True``) asks for the layout's default compressor, ``False`` for none.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import UnknownCodecError, UnsupportedDataError
from ..format.layout import Layout
from ..format.select import as_layout

__all__ = ["codec_kwargs", "compressors_for", "filters_for", "to_zarr3", "to_numcodecs",
           "DEFAULT_COMPRESSOR_V2"]

#: The L2 default compressor (FORMAT.md 2.3).
DEFAULT_COMPRESSOR_V2 = {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}

_NO_EQUIVALENT_V3 = {"pickle", "json2", "json", "msgpack2", "msgpack", "vlen-utf8", "vlen-bytes",
                     "vlen-array", "categorize", "base64"}


def _is_numcodecs(codec) -> bool:
    from numcodecs.abc import Codec

    return isinstance(codec, Codec)


def _is_zarr3(codec) -> bool:
    from zarr.abc.codec import BaseCodec

    return isinstance(codec, BaseCodec)


def _role(codec) -> str:
    """``"array"`` (array-to-array), ``"serializer"`` (array-to-bytes) or ``"bytes"``."""
    from zarr.abc.codec import ArrayArrayCodec, ArrayBytesCodec

    if isinstance(codec, ArrayArrayCodec):
        return "array"
    if isinstance(codec, ArrayBytesCodec):
        return "serializer"
    return "bytes"


def _describe(codec) -> str:
    return type(codec).__name__


# ------------------------------------------------------------------------ numcodecs -> Zarr 3
def to_zarr3(codec: Any, where: str, dtype: np.dtype | None = None) -> Any:
    """The Zarr 3 codec equivalent to a numcodecs codec (a Zarr 3 codec is returned as is).

    Parameters
    ----------
    codec : numcodecs.abc.Codec or zarr.abc.codec.BaseCodec
    where : str
        Dataset path, for messages.
    dtype : numpy.dtype, optional
        Element type of the array (Blosc ``typesize``, auto shuffle).

    Raises
    ------
    UnknownCodecError
        When the codec has no Zarr format 3 equivalent, or is neither kind of codec.
    """
    if _is_zarr3(codec):
        return codec
    if not _is_numcodecs(codec):
        raise UnknownCodecError(
            f"{codec!r} is neither a numcodecs codec nor a Zarr 3 codec", where)
    from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

    config = dict(codec.get_config())
    codec_id = config.pop("id")
    itemsize = np.dtype(dtype).itemsize if dtype is not None else None
    if codec_id == "blosc":
        shuffle = config.get("shuffle", 1)
        if shuffle == -1:  # AUTOSHUFFLE: byte shuffle, bit shuffle for 1-byte elements
            shuffle = 2 if itemsize == 1 else 1
        kw = {"cname": config.get("cname", "lz4"), "clevel": config.get("clevel", 5),
              "shuffle": {0: "noshuffle", 1: "shuffle", 2: "bitshuffle"}[int(shuffle)],
              "blocksize": config.get("blocksize", 0)}
        if itemsize:
            kw["typesize"] = itemsize
        return BloscCodec(**kw)
    if codec_id == "zstd":
        return ZstdCodec(level=config.get("level", 0), checksum=config.get("checksum", False))
    if codec_id == "gzip":
        return GzipCodec(level=config.get("level", 5))
    if codec_id not in _NO_EQUIVALENT_V3:
        import zarr.codecs.numcodecs as nz3

        for name in dir(nz3):
            cls = getattr(nz3, name)
            if isinstance(cls, type) and getattr(cls, "codec_name", None) == \
                    f"numcodecs.{codec_id}":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "not in the Zarr 3 specification": chosen
                    return cls(**config)
    raise UnknownCodecError(
        f"numcodecs codec {codec_id!r} has no Zarr format 3 equivalent (layout L3)", where)


# ------------------------------------------------------------------------ Zarr 3 -> numcodecs
def to_numcodecs(codec: Any, where: str, dtype: np.dtype | None = None) -> Any:
    """The numcodecs codec equivalent to a Zarr 3 codec (a numcodecs codec is returned as is).

    Parameters
    ----------
    codec : zarr.abc.codec.BaseCodec or numcodecs.abc.Codec
    where : str
        Dataset path, for messages.
    dtype : numpy.dtype, optional
        Element type of the array: a ``BloscCodec`` whose shuffle was left to Zarr gets the
        shuffle Zarr would pick (bit shuffle for 1-byte elements, byte shuffle otherwise);
        without a dtype it becomes numcodecs' ``AUTOSHUFFLE``, which decides the same per chunk.

    Raises
    ------
    UnknownCodecError
        When the codec has no Zarr format 2 equivalent (sharding, transpose, big-endian bytes,
        variable-length text codecs, third-party codecs).
    """
    if _is_numcodecs(codec):
        return codec
    if not _is_zarr3(codec):
        raise UnknownCodecError(
            f"{codec!r} is neither a numcodecs codec nor a Zarr 3 codec", where)
    import numcodecs
    from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

    if isinstance(codec, BloscCodec):
        from ..zarr_bridge.private_state import blosc_shuffle_is_automatic

        shuffle = str(getattr(codec.shuffle, "value", codec.shuffle))
        if blosc_shuffle_is_automatic(codec):
            # left to Zarr, which picks it from the item size when the array is created
            shuffle = ("autoshuffle" if dtype is None else
                       "bitshuffle" if np.dtype(dtype).itemsize == 1 else "shuffle")
        return numcodecs.Blosc(cname=getattr(codec.cname, "value", codec.cname),
                               clevel=int(codec.clevel),
                               shuffle={"noshuffle": 0, "shuffle": 1, "bitshuffle": 2,
                                        "autoshuffle": -1}[shuffle],
                               blocksize=int(codec.blocksize or 0))
    if isinstance(codec, ZstdCodec):
        return numcodecs.Zstd(level=int(codec.level), checksum=bool(codec.checksum))
    if isinstance(codec, GzipCodec):
        return numcodecs.GZip(level=int(codec.level))
    from zarr.codecs import Crc32cCodec

    if isinstance(codec, Crc32cCodec):
        return numcodecs.CRC32C()
    config = getattr(codec, "codec_config", None)
    if isinstance(config, dict) and "id" in config:  # a zarr.codecs.numcodecs wrapper
        return numcodecs.get_codec(dict(config))
    raise UnknownCodecError(
        f"Zarr 3 codec {_describe(codec)} has no Zarr format 2 equivalent (layout L2)", where)


def _is_default_serializer(codec) -> bool:
    from zarr.codecs import BytesCodec

    if not isinstance(codec, BytesCodec):
        return False
    endian = getattr(codec.endian, "value", codec.endian)
    return endian in (None, "little")


def _warn_moved(codec, where: str) -> None:
    warnings.warn(
        f"{where}: {_describe(codec)} is not a bytes-to-bytes codec and cannot be a compressor; "
        "it is applied as the last filter instead (pass it in filters= to silence this)",
        UserWarning, stacklevel=4)


# ------------------------------------------------------------------------ per dataset
def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _default_if_true(value):
    """``True`` (the established ``compressor=True``: Zarr's default compressor) -> None."""
    return None if value is True else value


def codec_kwargs(settings: dict, zarr_format: Layout | int, dtype: Any, where: str, *,
                 warn: bool = True) -> dict:
    """The codec arguments of ``zarr.create_array`` for a numeric or compound dataset.

    Parameters
    ----------
    settings : dict
        ``ZarrDataIO`` settings: ``compressor`` (one codec; ``True`` for the layout's default,
        ``False`` for none), ``compressors`` (a list, or ``True``/``False`` as above),
        ``filters`` (a list), ``serializer`` (L3), and
        ``zarr3_compressors`` (codecs mapped from an HDF5 dataset, already Zarr 3).
    zarr_format : Layout or int
        The layout written, or its Zarr format number (2: L2, 3: L3). The layout decides the
        codec convention (``Layout.uses_numcodecs``; FORMAT.md 2.3, 3.1).
    dtype : numpy.dtype
        Element type (Blosc ``typesize``).
    where : str
        Dataset path, for messages.
    warn : bool
        Warn when a codec given as compressor is moved into the filters (False for the checks
        made before a write, so that the write warns once).

    Returns
    -------
    dict
        ``compressors`` and ``filters`` (and ``serializer`` in L3).

    Raises
    ------
    UnknownCodecError
        A codec without an equivalent in the layout.
    UnsupportedDataError
        A codec in a role it cannot play, ``compressor`` and ``compressors`` both given, or a
        serializer asked for in L2.
    """
    layout = as_layout(zarr_format)
    if "zarr3_compressors" in settings and not layout.uses_numcodecs and not any(
            settings.get(k) not in (None, []) for k in ("compressor", "compressors")):
        return {"compressors": list(settings["zarr3_compressors"]), "filters": "auto"}
    compressor = _default_if_true(settings.get("compressor"))
    compressors = _default_if_true(settings.get("compressors"))
    if compressor is not None and compressors is not None:
        raise UnsupportedDataError("give compressor or compressors, not both", where)
    none = compressor is False or compressors is False or (
        isinstance(compressors, (list, tuple)) and len(compressors) == 0)
    bytes_codecs = [] if none else _as_list(compressors if compressors is not None
                                            else compressor)
    filters = _as_list(settings.get("filters"))
    serializer = settings.get("serializer")
    if layout.uses_numcodecs:
        return _v2_kwargs(filters, bytes_codecs, serializer, none, np.dtype(dtype), where, warn)
    return _v3_kwargs(filters, bytes_codecs, serializer, none, np.dtype(dtype), where, warn)


def _v2_kwargs(filters, bytes_codecs, serializer, none, dtype, where, warn=True) -> dict:
    import numcodecs

    if serializer is not None and not (_is_zarr3(serializer) and
                                       _is_default_serializer(serializer)):
        raise UnsupportedDataError(
            f"serializer {_describe(serializer)} needs layout L3 (zarr_format=3)", where)
    out_filters = []
    for f in filters:
        if _is_zarr3(f) and _role(f) == "serializer":
            raise UnsupportedDataError(f"{_describe(f)} is a serializer, not a filter", where)
        out_filters.append(to_numcodecs(f, where, dtype))
    chain = []
    for c in bytes_codecs:
        if _is_zarr3(c) and _role(c) == "array":
            if warn:
                _warn_moved(c, where)
            out_filters.append(to_numcodecs(c, where, dtype))
            continue
        if _is_zarr3(c) and _role(c) != "bytes":
            raise UnsupportedDataError(
                f"{_describe(c)} is not a bytes-to-bytes codec and cannot be a compressor", where)
        chain.append(to_numcodecs(c, where, dtype))
    if not chain and bytes_codecs:
        none = True  # every codec given as compressor was moved into the filters
    if none:
        compressor = None
    elif not chain:
        compressor = numcodecs.get_codec(dict(DEFAULT_COMPRESSOR_V2))
    else:
        compressor = chain[-1]
        out_filters += chain[:-1]
    return {"compressors": compressor, "filters": out_filters or None}


def _v3_kwargs(filters, bytes_codecs, serializer, none, dtype, where, warn=True) -> dict:
    array_codecs, leading_bytes = [], []
    for f in filters:
        codec = to_zarr3(f, where, dtype)
        role = _role(codec)
        if role == "array":
            array_codecs.append(codec)
        elif role == "bytes":
            leading_bytes.append(codec)
        else:
            raise UnsupportedDataError(
                f"{_describe(codec)} is a serializer (array-to-bytes), not a filter; pass it as "
                "serializer=", where)
    chain = []
    for c in bytes_codecs:
        codec = to_zarr3(c, where, dtype)
        if _role(codec) == "array":
            # zarr 2 took any codec as compressor (numcodecs.PackBits...): it runs before the
            # bytes codecs, so it becomes the last filter
            if warn:
                _warn_moved(c, where)
            array_codecs.append(codec)
            continue
        if _role(codec) != "bytes":
            raise UnsupportedDataError(
                f"{_describe(codec)} is not a bytes-to-bytes codec and cannot be a compressor"
                + ("; pass it as serializer=" if _role(codec) == "serializer" else
                   "; pass it in filters="), where)
        chain.append(codec)
    if not chain and bytes_codecs:
        none = True  # every codec given as compressor was moved into the filters
    from zarr.codecs import ShardingCodec

    out: dict[str, Any] = {"filters": array_codecs or "auto"}
    if serializer is not None:
        ser = to_zarr3(serializer, where, dtype)
        if isinstance(ser, ShardingCodec):
            raise UnsupportedDataError("pass shards= instead of a sharding codec", where)
        if _role(ser) != "serializer":
            raise UnsupportedDataError(
                f"{_describe(ser)} is not an array-to-bytes codec and cannot be the serializer",
                where)
        out["serializer"] = ser
    if none:
        out["compressors"] = leading_bytes or None
    elif chain:
        out["compressors"] = leading_bytes + chain
    elif leading_bytes:
        from zarr.codecs import ZstdCodec

        out["compressors"] = leading_bytes + [ZstdCodec(level=0, checksum=False)]
    else:
        out["compressors"] = "auto"
    return out


# ------------------------------------------------------------------------ earlier helpers
def compressors_for(compressor: Any, zarr_format: Layout | int, where: str,
                    dtype: Any = None) -> Any:
    """The ``compressors`` argument of ``zarr.create_array`` for one user compressor.

    ``None`` keeps the layout default, ``False`` disables compression.
    """
    kw = codec_kwargs({"compressor": compressor}, zarr_format, dtype or np.dtype("u1"), where)
    return kw["compressors"]


def filters_for(filters: Any, zarr_format: Layout | int, where: str, dtype: Any = None) -> Any:
    """The ``filters`` argument of ``zarr.create_array`` for user filters (array-to-array
    ones in L3)."""
    kw = codec_kwargs({"filters": filters}, zarr_format, dtype or np.dtype("u1"), where)
    return kw["filters"]
