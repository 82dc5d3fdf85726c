"""A ``zarr.Array`` whose metadata Zarr parses on first use, and what the reader reads off
Zarr's parsed array metadata.

Opening a metadata-heavy file must not parse thousands of array documents (DESIGN.md, "The
reader"), so the reader hands out :class:`LazyArray` objects built from the documents it has
already read; Zarr builds the ``AsyncArray`` only when the array is used.

What we rely on (checked by ``tests/zarr_bridge/test_lazy_array.py``):

* ``zarr.Array`` is a frozen dataclass whose only field is ``_async_array`` and whose methods
  reach the array through that attribute; a subclass may define ``_async_array`` as a property
  and keep its own state in the instance ``__dict__`` (the dataclass ``__init__`` is not called);
* ``zarr.core.array.AsyncArray(metadata=..., store_path=StorePath(store, path))`` opens an array
  without I/O from ``ArrayV3Metadata.from_dict`` / ``ArrayV2Metadata.from_dict`` of its document;
* parsed metadata exposes ``shape``, ``dtype.to_native_dtype()``, ``encode_chunk_key``, and
  ``codecs`` (format 3: serializer first, ``BytesCodec.endian``) or ``filters``/``compressor``
  (format 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numcodecs
import numpy as np
import zarr
from zarr.core.array import AsyncArray
from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata
from zarr.storage import StorePath

__all__ = ["LazyArray", "unparsed_document", "open_async_array", "parsed_one_element_plan",
           "NUMERIC_V3", "TEXT_V3"]

#: Zarr 3 data type names of plain numeric arrays (read without Zarr where possible).
NUMERIC_V3 = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                        "uint64", "float16", "float32", "float64"})
#: Zarr 3 data type names of text arrays.
TEXT_V3 = frozenset({"string", "variable_length_utf8"})

_METADATA: dict[int, Any] = {2: ArrayV2Metadata, 3: ArrayV3Metadata}


def open_async_array(store, path: str, document: dict, zarr_format: int) -> AsyncArray:
    """Zarr's ``AsyncArray`` of the array at ``path`` from its document (attributes included),
    without I/O.

    Parameters
    ----------
    store : zarr.abc.store.Store
    path : str
        Store path of the array (no leading ``/``).
    document : dict
        The parsed ``zarr.json`` or ``.zarray`` (plus ``attributes``).
    zarr_format : {2, 3}

    Raises
    ------
    ValueError, TypeError, KeyError
        As Zarr raises them for malformed metadata (the caller names the array).
    """
    doc = dict(document)
    cls = _METADATA[zarr_format]
    if cls is ArrayV2Metadata:
        doc["zarr_format"] = 2  # a .zarray may leave it out
    metadata = cls.from_dict(doc)
    return AsyncArray(metadata=metadata, store_path=StorePath(store, path.strip("/")))


class LazyArray(zarr.Array):
    """A ``zarr.Array`` parsed on first use.

    Parameters
    ----------
    async_array : zarr.AsyncArray, optional
        The array, when already parsed.
    factory : callable, optional
        Returns the ``AsyncArray`` on first use.
    shape : tuple of int, optional
        Known without parsing.
    dtype : numpy.dtype, optional
        Known without parsing (plain numeric types).
    document : tuple, optional
        ``(store, path, document, zarr_format)``, for readers that need only a few fields of
        the document (see :func:`unparsed_document`).
    """

    def __init__(self, async_array: AsyncArray | None = None, *,
                 factory: Callable[[], AsyncArray] | None = None,
                 shape: tuple | None = None, dtype: np.dtype | None = None,
                 document: tuple | None = None):
        # zarr.Array is a frozen dataclass whose only field is ``_async_array``; here it is a
        # lazily computed property, so the dataclass __init__ is not called
        state = self.__dict__
        state["_hdmf_zarr_async"] = async_array
        state["_hdmf_zarr_factory"] = factory
        state["_hdmf_zarr_shape"] = shape
        state["_hdmf_zarr_dtype"] = dtype
        state["_hdmf_zarr_document"] = document

    @property
    def _async_array(self) -> AsyncArray:
        aa = self.__dict__["_hdmf_zarr_async"]
        if aa is None:
            aa = self.__dict__["_hdmf_zarr_async"] = self.__dict__["_hdmf_zarr_factory"]()
        return aa

    @_async_array.setter
    def _async_array(self, value: AsyncArray) -> None:
        self.__dict__["_hdmf_zarr_async"] = value

    def is_parsed(self) -> bool:
        """True once Zarr has parsed the array's metadata."""
        return self.__dict__["_hdmf_zarr_async"] is not None

    @property  # type: ignore[misc]
    def shape(self) -> tuple:
        # once Zarr has parsed the array its metadata is authoritative (resize and append
        # change it in place)
        known = self.__dict__["_hdmf_zarr_shape"]
        if self.is_parsed() or known is None:
            return self._async_array.shape
        return known

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def known_dtype(self) -> np.dtype | None:
        """The numpy dtype read off the document (None: only Zarr knows it)."""
        return self.__dict__["_hdmf_zarr_dtype"]

    @property
    def dtype(self):
        dtype = self.known_dtype
        return dtype if dtype is not None else super().dtype

    def extra(self, name: str, default: Any = None) -> Any:
        """A value the reader attached to this array (see :meth:`set_extra`)."""
        return self.__dict__.get("_hdmf_zarr_extra_" + name, default)

    def set_extra(self, name: str, value: Any) -> None:
        """Attach ``value`` under ``name`` (the dataclass is frozen: state lives in the
        instance dictionary)."""
        self.__dict__["_hdmf_zarr_extra_" + name] = value


def unparsed_document(array: Any) -> tuple | None:
    """``(store, path, document, zarr_format)`` of a :class:`LazyArray` that Zarr has not
    parsed yet (its fields can be read without Zarr); None once Zarr has parsed it, and for
    any other array."""
    if not isinstance(array, LazyArray) or array.is_parsed():
        return None
    return array.__dict__["_hdmf_zarr_document"]


def _v3_decoders(codecs) -> list | None:
    """numcodecs decoders for the bytes-to-bytes codecs after a ``bytes`` serializer, or None
    when the codec chain is anything else."""
    from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, ZstdCodec

    if not codecs or not isinstance(codecs[0], BytesCodec):
        return None
    out: list = []
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


def parsed_one_element_plan(array: Any, v2_compressors: frozenset | set) -> tuple | None:
    """``(store, chunk key, numpy dtype, decoders)`` of a parsed one-element numeric
    ``zarr.Array`` whose one chunk numcodecs ``decoders`` decode (a ``bytes`` serializer and
    zstd, Blosc or gzip in format 3; no filters and a compressor in ``v2_compressors`` in
    format 2); None for anything else."""
    inner = getattr(array, "_async_array", None)
    if inner is None:
        return None
    meta = inner.metadata
    shape = tuple(meta.shape)
    if shape not in ((), (1,)):
        return None
    try:
        dtype = np.dtype(meta.dtype.to_native_dtype())
    except Exception:  # a data type numpy cannot hold: Zarr reads it
        return None
    if dtype.kind not in "biufc":
        return None
    if isinstance(meta, ArrayV3Metadata):
        if tuple(meta.chunk_grid.chunk_shape) != shape:  # type: ignore[attr-defined]
            return None
        decoders = _v3_decoders(meta.codecs)
        # the bytes serializer, not the data type, fixes the byte order in Zarr 3
        endian = getattr(meta.codecs[0], "endian", None)
        endian = getattr(endian, "value", endian)  # an Endian enum (3.1) or a str (>= 3.2)
        if endian in ("little", "big") and dtype.itemsize > 1:
            dtype = dtype.newbyteorder("<" if endian == "little" else ">")
    elif isinstance(meta, ArrayV2Metadata):
        if meta.filters or tuple(meta.chunks) != shape:
            return None
        compressor = meta.compressor
        if compressor is None:
            decoders = []
        elif compressor.codec_id in v2_compressors:
            decoders = [compressor]
        else:
            return None
    else:
        return None
    if decoders is None:
        return None
    prefix = inner.store_path.path
    key = meta.encode_chunk_key(tuple(0 for _ in shape))
    return inner.store_path.store, (f"{prefix}/{key}" if prefix else key), dtype, decoders
