"""Writing L2 object arrays directly through the store (FORMAT.md 2.3, 2.5, 2.6, 2.8).

Zarr-Python 3.1 cannot create Zarr format 2 arrays of dtype ``|O`` with the json2 or pickle
object codecs, nor structured dtypes with ``|O`` fields; :func:`write_object_array_v2` writes
their ``.zarray``/``.zattrs`` documents and every encoded chunk in one batch. Every pickled chunk
is decoded again by the restricted decoder before it is stored, so the writer never produces a
stream the reader would refuse. Reading is in ``object_array``.
"""

from __future__ import annotations

import itertools
import math
import pickle
from collections.abc import Mapping
from typing import Any

import numcodecs
import numpy as np
from zarr.abc.store import Store

from ..errors import UnstorableValueError
from ..format.dtypes import struct_fields
from ..format.safe_pickle import check_decoded_array, restricted_loads
from .object_array import (
    _MAX_NDIM,
    _U32,
    _UNSUPPORTED_OBJECT_CODECS,
    JSON2_FILTER,
    MAX_CHUNK_ELEMENTS,
    MAX_ENCODED_CHUNK_BYTES,
    OBJECT_CODECS,
    PICKLE_FILTER,
    _filled,
    _get_codec,
    _is_int,
    _node_path,
)
from .store_io import dumps_json, set_many

__all__ = ["write_object_array_v2", "encode_object_array_v2"]


def _plain(value: Any, path: str, depth: int = 0) -> Any:
    """A value as plain Python objects, which pickle without globals and encode as JSON."""
    if value is None or type(value) in (str, bytes, int, float, bool):
        return value
    if depth > 32:
        raise UnstorableValueError("value nested too deeply", path)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, path, depth + 1) for k, v in value.items()}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, np.void):
        return tuple(_plain(value[name], path, depth + 1)
                     for name, _ in struct_fields(value.dtype))
    if isinstance(value, np.generic):
        item = value.item()
        if isinstance(item, np.generic) or type(item) is type(value):
            raise UnstorableValueError(f"cannot store a {type(value).__name__} value", path)
        return _plain(item, path, depth + 1)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, tuple):
        return tuple(_plain(v, path, depth + 1) for v in value)
    if isinstance(value, list):
        return [_plain(v, path, depth + 1) for v in value]
    raise UnstorableValueError(f"cannot store a value of type {type(value).__name__} in an "
                               "object array", path)


def _vlen_payload(items: np.ndarray, text: bool, path: str) -> bytes:
    parts = [_U32.pack(items.size)]
    for value in items.ravel(order="C"):
        if text:
            if isinstance(value, str):
                data = str(value).encode("utf-8")
            elif isinstance(value, (bytes, bytearray)):
                try:
                    data = bytes(value).decode("utf-8").encode("utf-8")
                except UnicodeDecodeError:
                    raise UnstorableValueError("bytes element is not UTF-8 text", path) from None
            else:
                raise UnstorableValueError(f"vlen-utf8 element {value!r} is not a str", path)
        else:
            if isinstance(value, (bytes, bytearray)):
                data = bytes(value)
            elif isinstance(value, str):
                data = value.encode("utf-8")
            else:
                raise UnstorableValueError(f"vlen-bytes element {value!r} is not bytes", path)
        parts.append(_U32.pack(len(data)))
        parts.append(data)
    return b"".join(parts)


def _default_chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    chunks = [max(1, s) for s in shape]
    for axis in range(len(chunks)):
        if math.prod(chunks) <= MAX_CHUNK_ELEMENTS:
            break
        rest = math.prod(chunks[axis + 1:])
        chunks[axis] = max(1, MAX_CHUNK_ELEMENTS // rest)
    return tuple(chunks)


def _packed_dtype(dtype: np.dtype, path: str) -> tuple[np.dtype, list]:
    """Packed copy of a structured dtype (object fields ``O``) and its ``.zarray`` list form."""
    fields, spec = [], []
    for name, field in struct_fields(dtype):
        base, sub = field.subdtype if field.subdtype is not None else (field, ())
        if base.fields is not None:
            raise UnstorableValueError("nested compound fields are not supported", path)
        base = np.dtype(object) if base.hasobject else base
        fields.append((name, base, sub) if sub else (name, base))
        spec.append([name, base.str, list(sub)] if sub else [name, base.str])
    return np.dtype(fields), spec


def _prepare(data: Any, object_codec: str, path: str) -> tuple[np.ndarray, Any]:
    """(array to store, ``.zarray`` dtype) from the caller's data."""
    if not isinstance(data, np.ndarray):
        if isinstance(data, (list, tuple)):
            arr = np.empty(len(data), dtype=object)
            for i, value in enumerate(data):
                arr[i] = value
            data = arr
        else:
            raise UnstorableValueError(f"cannot store {type(data).__name__} as an object array",
                                       path)
    if data.dtype.fields is not None:
        if object_codec != "pickle":
            raise UnstorableValueError(f"compound data needs the pickle codec, not "
                                       f"{object_codec}", path)
        return _prepare_compound(data, path)
    if data.dtype.kind in "US" or data.dtype.hasobject:
        arr = data.astype(object) if data.dtype.kind in "US" else data
    else:
        raise UnstorableValueError(f"data of dtype {data.dtype} is not object data", path)
    if object_codec in ("json2", "pickle"):
        out = np.empty(arr.shape, dtype=object)
        flat_out, flat_in = out.reshape(-1), arr.reshape(-1)
        for i, value in enumerate(flat_in):
            flat_out[i] = _plain(value, path)
        arr = out
    return arr, "|O"


def _prepare_compound(data: np.ndarray, path: str) -> tuple[np.ndarray, Any]:
    dtype = data.dtype
    object_names = [n for n, field in struct_fields(dtype) if field.hasobject]
    has_refs = data.size == 0 or any(
        isinstance(v, Mapping) for n in object_names for v in data[n].reshape(-1))
    if has_refs:
        packed, spec = _packed_dtype(dtype, path)
        out = np.empty(data.shape, dtype=packed)
        for name, _ in struct_fields(dtype):
            if name in object_names:
                src, dst = data[name], out[name]
                for idx in np.ndindex(src.shape):
                    dst[idx] = _plain(src[idx], path)
            else:
                out[name] = data[name]
        return out, spec
    # no references: plain |O array of records as Python tuples (FORMAT.md 2.8)
    out = np.empty(data.shape, dtype=object)
    flat_out, flat_in = out.reshape(-1), data.reshape(-1)
    for i in range(flat_in.size):
        flat_out[i] = _plain(flat_in[i], path)
    return out, "|O"


def _encode_object_chunk(chunk: np.ndarray, object_codec: str, json_codec, path: str) -> bytes:
    if object_codec == "vlen-utf8":
        return _vlen_payload(chunk, True, path)
    if object_codec == "vlen-bytes":
        return _vlen_payload(chunk, False, path)
    if object_codec == "json2":
        try:
            return bytes(json_codec.encode(chunk))
        except (TypeError, ValueError) as exc:
            raise UnstorableValueError(f"cannot encode element as JSON ({exc})", path) from None
    # Protocol 4 gives the same opcodes as the protocol 5 of the filter configuration for these
    # arrays, but never numpy's out-of-band ``_frombuffer`` path, which numpy 2.4 takes with
    # protocol 5 for some object-holding layouts (subarray fields) and which would pickle raw
    # object pointers.
    payload = pickle.dumps(chunk, protocol=4)
    # our own reader must accept what we write: only the allowed globals, no surprises
    check_decoded_array(restricted_loads(payload, array_path=path), dtype=chunk.dtype,
                        shape=chunk.shape, array_path=path)
    return payload


def write_object_array_v2(store: Store, path: str, data: Any, *, object_codec: str,
                          compressor: dict | None, chunks: tuple | None = None,
                          attributes: dict | None = None,
                          dimension_separator: str = ".") -> dict[str, dict]:
    """Write a Zarr format 2 object array into the store (see :func:`encode_object_array_v2`
    for the parameters); returns ``{".zarray": doc, ".zattrs": attributes}``."""
    written, items = encode_object_array_v2(path, data, object_codec=object_codec,
                                            compressor=compressor, chunks=chunks,
                                            attributes=attributes,
                                            dimension_separator=dimension_separator)
    set_many(store, items)
    return written


def encode_object_array_v2(path: str, data: Any, *, object_codec: str,
                           compressor: dict | None, chunks: tuple | None = None,
                           attributes: dict | None = None,
                           dimension_separator: str = ".") -> tuple[dict[str, dict],
                                                                    dict[str, bytes]]:
    """Encode a Zarr format 2 object array: its ``.zarray``, ``.zattrs`` and every chunk as the
    store items to write (the caller writes them, possibly batched with others).

    Parameters
    ----------
    path : str
        Node path of the array (leading ``/`` optional).
    data : numpy.ndarray
        Object array (``str`` elements for vlen-utf8, ``bytes`` for vlen-bytes, reference dicts or
        ``str`` for json2, reference dicts or record tuples for pickle), a ``U``/``S`` array for
        the vlen codecs, or a structured array whose object fields hold reference dicts or
        ``str`` (pickle only). A 1-D list is accepted too. A structured array whose object fields
        hold no dict (and that is not empty) is stored as a plain ``|O`` array of record tuples
        (FORMAT.md 2.8); otherwise the structured dtype is kept.
    object_codec : str
        ``"vlen-utf8"``, ``"vlen-bytes"``, ``"json2"`` or ``"pickle"``.
    compressor : dict or None
        numcodecs configuration of the compressor (stored as the codec's full configuration),
        or None.
    chunks : tuple of int, optional
        Chunk shape; default the whole shape (at least 1 per axis, reduced along the first
        axes when above :data:`MAX_CHUNK_ELEMENTS`).
    attributes : dict, optional
        Written as ``.zattrs`` when not None.
    dimension_separator : str, optional
        ``"."`` (default) or ``"/"``; written into ``.zarray`` only when ``"/"``.

    Returns
    -------
    (dict, dict)
        ``{".zarray": <document>, ".zattrs": <attributes>}`` (``.zattrs`` only when
        ``attributes`` is not None), for the caller's consolidated metadata, and the store items
        (key -> bytes) to write.

    Raises
    ------
    UnstorableValueError
        When an element does not suit the codec, or a chunk exceeds the limits of FORMAT.md 5.
    ValueError
        For an unknown ``object_codec``, ``dimension_separator`` or bad ``chunks``.
    """
    prefix, where = _node_path(path)
    if object_codec not in OBJECT_CODECS:
        raise ValueError(f"object_codec must be one of {OBJECT_CODECS}, not {object_codec!r}")
    if dimension_separator not in (".", "/"):
        raise ValueError("dimension_separator must be '.' or '/'")
    arr, zdtype = _prepare(data, object_codec, where)
    shape = tuple(int(s) for s in arr.shape)
    if len(shape) > _MAX_NDIM:
        raise UnstorableValueError(f"arrays of more than {_MAX_NDIM} dimensions", where)
    if chunks is None:
        chunk_shape = _default_chunks(shape)
    else:
        chunk_shape = tuple(chunks)
        if len(chunk_shape) != len(shape) or not all(_is_int(c) and c > 0 for c in chunk_shape):
            raise ValueError(f"chunks {chunks!r} must hold one positive integer per axis")
        chunk_shape = tuple(int(c) for c in chunk_shape)
    if math.prod(chunk_shape) > MAX_CHUNK_ELEMENTS:
        raise UnstorableValueError(f"chunks of more than {MAX_CHUNK_ELEMENTS} elements cannot "
                                   "be read back", where)

    codec = None
    compressor_doc = None
    if compressor is not None:
        cid = compressor.get("id") if isinstance(compressor, Mapping) else None
        if cid in OBJECT_CODECS or cid in _UNSUPPORTED_OBJECT_CODECS:
            raise ValueError(f"{cid!r} cannot be a compressor")
        codec = _get_codec(compressor, where, "compressor")
        config = codec.get_config()
        compressor_doc = {k: (list(v) if isinstance(v, tuple) else v)
                          for k, v in sorted(config.items())}
    if object_codec == "json2":
        filter_doc = dict(JSON2_FILTER)
        json_codec = numcodecs.JSON(**{k: v for k, v in JSON2_FILTER.items() if k != "id"})
    elif object_codec == "pickle":
        filter_doc, json_codec = dict(PICKLE_FILTER), None
    else:
        filter_doc, json_codec = {"id": object_codec}, None

    doc: dict[str, Any] = {"chunks": list(chunk_shape), "compressor": compressor_doc}
    if dimension_separator == "/":
        doc["dimension_separator"] = "/"
    doc.update({"dtype": zdtype, "fill_value": "" if object_codec == "vlen-utf8" else None,
                "filters": [filter_doc], "order": "C", "shape": list(shape), "zarr_format": 2})

    items: dict[str, bytes] = {}
    key = (lambda name: f"{prefix}/{name}") if prefix else (lambda name: name)
    if arr.size:
        fill = "" if object_codec == "vlen-utf8" else (b"" if object_codec == "vlen-bytes"
                                                        else None)
        grid = [range(-(-s // c)) for s, c in zip(shape, chunk_shape)]
        for coords in itertools.product(*grid):
            region = tuple(slice(i * c, min((i + 1) * c, s))
                           for i, c, s in zip(coords, chunk_shape, shape))
            part = arr[region + (Ellipsis,)]  # an array even for 0-d data
            if part.shape != chunk_shape:
                full = _filled(chunk_shape, arr.dtype, fill)
                full[tuple(slice(0, n) for n in part.shape)] = part
                part = full
            elif not part.flags.c_contiguous:
                part = part.copy(order="C")
            payload = _encode_object_chunk(part, object_codec, json_codec, where)
            if codec is not None:
                payload = bytes(numcodecs.compat.ensure_bytes(codec.encode(payload)))
            if len(payload) > MAX_ENCODED_CHUNK_BYTES:
                raise UnstorableValueError(f"encoded chunk of {len(payload)} bytes exceeds the "
                                           "limit; use smaller chunks", where)
            name = dimension_separator.join(str(i) for i in coords) if coords else "0"
            items[key(name)] = payload
    items[key(".zarray")] = dumps_json(doc)
    written: dict[str, dict] = {".zarray": doc}
    if attributes is not None:
        items[key(".zattrs")] = dumps_json(attributes)
        written[".zattrs"] = attributes
    return written, items
