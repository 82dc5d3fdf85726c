"""Turning dataset data into numpy arrays of the stored type (FORMAT.md 2.3, 3.2-3.4).

Pure functions: no store access. The writer calls them per block, so that lazy sources (h5py
datasets, Zarr arrays, reference datasets of another backend) are converted chunk by chunk.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import numpy as np

from ..errors import UnstorableValueError, UnsupportedDataError
from ..format.dtypes import DataKind
from ..format.layout3 import COMPOUND_DTYPE_MIN_STRING_LENGTH

__all__ = ["to_text", "to_bytes", "encode_block", "compound_storage_dtype", "is_lazy_array"]


def to_text(value, where: str) -> str:
    """One text element as ``str`` (bytes decoded as UTF-8, datetimes as ISO 8601)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise UnstorableValueError(
                "byte string is not valid UTF-8 and layout L3 stores text only", where) from None
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return str(value)
    if value is None:
        return ""
    return str(value)


def to_bytes(value, where: str) -> bytes:
    """One ascii/bytes element as ``bytes`` (text encoded as UTF-8)."""
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat().encode("utf-8")
    if value is None:
        return b""
    return str(value).encode("utf-8")


def is_lazy_array(data) -> bool:
    """True for array-likes read block by block (h5py, zarr, hdmf datasets, our lazy arrays)."""
    if isinstance(data, (np.ndarray, np.generic)):
        return False
    return hasattr(data, "shape") and hasattr(data, "__getitem__") and hasattr(data, "dtype")


def _map_elements(block, fn: Callable, shape: tuple) -> np.ndarray:
    arr = np.empty(shape, dtype=object)
    flat = arr.reshape(-1)
    src = np.asarray(block, dtype=object).reshape(-1) if not isinstance(block, list) else None
    if src is None:
        src = np.empty(int(np.prod(shape)), dtype=object)
        _fill_flat(block, src, [0])
    for i, v in enumerate(src):
        flat[i] = fn(v)
    return arr


def _fill_flat(nested, out, pos):
    if isinstance(nested, (list, tuple)):
        for v in nested:
            _fill_flat(v, out, pos)
    else:
        out[pos[0]] = nested
        pos[0] += 1


def compound_storage_dtype(kind: DataKind, rows, layout_format: int,
                           *, reserve: int | None = None) -> np.dtype:
    """The numpy dtype a compound is stored with.

    L3: text and reference fields become ``<U{n}`` with ``n = max(longest, 512)`` (3.4); L2: they
    become ``object`` (2.3). Numeric fields keep their dtype (float64 when unknown).
    """
    fields = []
    for i, f in enumerate(kind.fields):
        if f.kind == "numeric":
            fields.append((f.name, f.dtype if f.dtype is not None else np.dtype("float64")))
        elif layout_format == 2:
            fields.append((f.name, object))
        else:
            longest = reserve or 0
            for row in rows:
                longest = max(longest, len(row[i]))
            fields.append((f.name, f"<U{max(longest, COMPOUND_DTYPE_MIN_STRING_LENGTH)}"))
    return np.dtype(fields)


def compound_rows(kind: DataKind, block, ref_encoder, where: str, *, text_as_bytes: bool):
    """Rows of a compound block as tuples of stored values (references encoded)."""
    if isinstance(block, np.ndarray) and block.dtype.names is not None:
        block = block.reshape(-1).tolist() if block.ndim else [block[()].tolist()]
    rows = []
    for row in block:
        if isinstance(row, np.void):
            row = row.tolist()
        if len(row) != len(kind.fields):
            raise UnsupportedDataError(
                f"compound row has {len(row)} fields, the dtype has {len(kind.fields)}", where)
        out = []
        for f, v in zip(kind.fields, row):
            if f.kind == "reference":
                out.append(ref_encoder(v))
            elif f.kind == "numeric":
                out.append(v)
            elif f.kind == "bytes" and text_as_bytes:
                out.append(to_bytes(v, where))
            else:
                out.append(to_text(v, where))
        rows.append(tuple(out))
    return rows


def encode_block(kind: DataKind, block, layout_format: int, ref_encoder, where: str):
    """Convert one block of a non-compound dataset to a numpy array of the stored type.

    Parameters
    ----------
    kind : DataKind
    block : array-like or scalar
    layout_format : int
        2 or 3.
    ref_encoder : callable
        Maps a reference value (Builder/ReferenceBuilder) to its stored element.
    where : str
        Dataset path for errors.
    """
    if kind.kind == "numeric":
        arr = np.asarray(block)
        if arr.dtype != kind.dtype:
            try:
                arr = arr.astype(kind.dtype)
            except (TypeError, ValueError) as exc:
                raise UnsupportedDataError(
                    f"data of dtype {arr.dtype} cannot be stored as {kind.dtype}: {exc}",
                    where) from None
        return arr
    shape = np.shape(block) if not isinstance(block, np.ndarray) else block.shape
    if kind.kind == "reference":
        fn = ref_encoder
    elif kind.kind in ("bytes", "datetime") and layout_format == 2:
        def fn(v):
            return to_bytes(v, where)
    else:
        def fn(v):
            return to_text(v, where)
    if isinstance(block, np.ndarray) and block.ndim == 0:
        return np.array(fn(block[()]), dtype=object)
    if not isinstance(block, (list, tuple, np.ndarray)):
        return np.array(fn(block), dtype=object)
    return _map_elements(block, fn, shape)
