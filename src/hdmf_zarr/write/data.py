"""Turning dataset data into numpy arrays of the stored type (FORMAT.md 2.3, 3.2-3.4).

Pure functions: no store access. The writer calls them per block, so that lazy sources (h5py
datasets, Zarr arrays, reference datasets of another backend) are converted chunk by chunk.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from ..errors import UnstorableValueError, UnsupportedDataError
from ..format.dtypes import DataKind
from ..format.layout import Layout

__all__ = ["to_text", "to_bytes", "encode_block", "compound_rows", "is_lazy_array",
           "check_block", "data_shape"]


def to_text(value: Any, where: str) -> str:
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


def to_bytes(value: Any, where: str) -> bytes:
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


def is_lazy_array(data: Any) -> bool:
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


def compound_rows(kind: DataKind, block: Any, ref_encoder: Callable[[Any], Any], where: str, *,
                  text_as_bytes: bool) -> list[tuple]:
    """Rows of a compound block as tuples of stored values (references encoded).

    Parameters
    ----------
    kind : DataKind
        A compound kind; each row has one value per field.
    block : numpy structured array, np.void, or sequence of rows
    ref_encoder : callable
        Maps a reference value to its stored element.
    where : str
        Dataset path for errors.
    text_as_bytes : bool
        ``bytes`` fields are stored as bytes (``Layout.stores_bytes``, FORMAT.md 2.3), else as
        text.

    Raises
    ------
    UnsupportedDataError
        A row with another number of fields than the dtype.
    UnstorableValueError
        A byte string that is not UTF-8 where text is stored.
    """
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


def encode_block(kind: DataKind, block: Any, layout: Layout,
                 ref_encoder: Callable[[Any], Any], where: str) -> np.ndarray:
    """Convert one block of a non-compound dataset to a numpy array of the stored type.

    Numeric data keeps (is cast to) the kind's dtype; text, bytes, datetimes and references
    become an object array of ``str``, ``bytes`` (where ``layout.stores_bytes``, FORMAT.md 2.3)
    or encoded references.

    Parameters
    ----------
    kind : DataKind
    block : array-like or scalar
    layout : Layout
        The layout written.
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
    elif kind.kind in ("bytes", "datetime") and layout.stores_bytes:
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


def check_block(data: Any, dtype: np.dtype, expected_shape: tuple | None, path: str, where: str,
                *, casting: Literal["no", "equiv", "safe", "same_kind", "unsafe"] = "same_kind"
                ) -> np.ndarray:
    """A block yielded by an iterator (or read by a worker) as an array of the dataset's dtype.

    Parameters
    ----------
    data : array-like
    dtype : numpy.dtype
        The dataset's element type.
    expected_shape : tuple of int or None
        Shape of the selection the block is written to (None: not checked here).
    path : str
        Dataset path.
    where : str
        Description of the selection, for messages.
    casting : str
        numpy casting rule for a block of another dtype (``same_kind``: int64 -> int16 is
        accepted, float -> int is not).

    Raises
    ------
    UnsupportedDataError
        A dtype that cannot be cast, or a shape other than the selection's.
    """
    arr = np.asarray(data)
    if arr.dtype != dtype:
        if not np.can_cast(arr.dtype, dtype, casting=casting):
            raise UnsupportedDataError(
                f"the iterator yielded data of dtype {arr.dtype} for {where}; the dataset is "
                f"{dtype} (casting {casting!r} not possible)", path)
        arr = arr.astype(dtype)
    if expected_shape is not None and arr.shape != tuple(expected_shape):
        raise UnsupportedDataError(
            f"the iterator yielded data of shape {arr.shape} for {where}, which has shape "
            f"{tuple(expected_shape)}", path)
    return arr


def data_shape(data: Any, kind: DataKind) -> tuple[int, ...]:
    """Shape of in-memory dataset data: nested lists (compound rows count as elements), numpy
    arrays, or a scalar (``()``).

    Raises
    ------
    UnsupportedDataError
        Ragged nested lists.
    """
    if isinstance(data, np.ndarray):
        return tuple(data.shape)
    if not isinstance(data, (list, tuple)):
        return ()
    if kind.kind != "compound":
        try:
            return tuple(np.shape(data)) if kind.kind == "numeric" else _object_shape(data)
        except ValueError:
            raise UnsupportedDataError("ragged nested lists cannot be stored as one array; use "
                                       "a VectorIndex (ragged column)", "") from None
    return (len(data),)


def _object_shape(data: Any) -> tuple[int, ...]:
    """Shape of nested lists of text, bytes or references (numpy would split strings)."""
    shape: list[int] = []
    cur = data
    while isinstance(cur, (list, tuple, np.ndarray)):
        if isinstance(cur, np.ndarray):
            return tuple(shape) + cur.shape
        shape.append(len(cur))
        if not cur:
            break
        first = cur[0]
        if isinstance(first, (list, tuple, np.ndarray)):
            lengths = {len(c) if not isinstance(c, np.ndarray) else c.shape[0] for c in cur}
            if len(lengths) != 1:
                raise ValueError("ragged")
        cur = first
    return tuple(shape)
