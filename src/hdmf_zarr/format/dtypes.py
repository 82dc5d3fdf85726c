"""Data kinds: how HDMF dtypes and data map to what is stored (FORMAT.md 2.2, 2.3, 3.2).

The writer classifies every dataset into one :class:`DataKind` before any layout-specific
encoding; the layouts then turn the kind into a Zarr dtype and reserved attributes.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DataKind", "CompoundField", "classify", "numpy_dtype_for_name", "struct_fields",
           "HDMF_TEXT",
           "HDMF_BYTES", "HDMF_DATETIME", "HDMF_REFERENCE"]

HDMF_TEXT = frozenset({"text", "utf", "utf8", "utf-8", "str"})
HDMF_BYTES = frozenset({"ascii", "bytes"})
HDMF_DATETIME = frozenset({"isodatetime", "datetime"})
HDMF_REFERENCE = frozenset({"object", "region"})

_NUMERIC_NAMES = {
    "float": "float32", "float32": "float32", "double": "float64", "float64": "float64",
    "long": "int64", "int64": "int64", "int": "int32", "int32": "int32", "short": "int16",
    "int16": "int16", "int8": "int8", "uint": "uint32", "uint32": "uint32", "uint64": "uint64",
    "uint16": "uint16", "uint8": "uint8", "bool": "bool", "bool_": "bool",
}


@dataclass
class CompoundField:
    """One field of a compound dataset: ``kind`` is ``numeric``, ``bool``, ``text``, ``bytes``,
    ``datetime`` or ``reference``; ``dtype`` the numpy dtype for numeric and bool fields."""

    name: str
    kind: str
    dtype: np.dtype | None = None


@dataclass
class DataKind:
    """What a dataset holds.

    Attributes
    ----------
    kind : str
        ``numeric`` (includes bool), ``text``, ``bytes``, ``datetime``, ``reference`` or
        ``compound``.
    dtype : numpy.dtype or None
        The numpy dtype of numeric data.
    fields : list of CompoundField
        The fields of a compound.
    name : str
        The name written to ``zarr_dtype``/``_DTYPE`` (numpy type name, ``str``, ``bytes``...).
    """

    kind: str
    dtype: np.dtype | None = None
    fields: list[CompoundField] = field(default_factory=list)
    name: str = ""

    @property
    def has_references(self) -> bool:
        """True for reference datasets and compounds with a reference field."""
        return self.kind == "reference" or any(f.kind == "reference" for f in self.fields)


def numpy_dtype_for_name(name: str) -> np.dtype | None:
    """The numpy dtype of an HDMF numeric dtype name (``float`` -> float32), or None."""
    mapped = _NUMERIC_NAMES.get(name)
    if mapped is not None:
        return np.dtype(mapped)
    try:
        dt = np.dtype(name)
    except TypeError:
        return None
    return dt if dt.kind in "biuf" else None


def _spec_name(dtype) -> str | None:
    """Name of an HDMF dtype given as a string, a RefSpec or a Python type (``str``, ``int``...)."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        return dtype
    if dtype in (str, bytes, bool, int, float):  # Python types, as hand-built builders give
        return {str: "text", bytes: "bytes"}.get(dtype) or np.dtype(dtype).name
    if type(dtype).__name__ == "RefSpec" or getattr(dtype, "reftype", None) is not None:
        return "object"
    return None


def _first_element(data):
    """First leaf element of nested lists/tuples/arrays, or None for empty data."""
    cur = data
    while True:
        if isinstance(cur, np.ndarray):
            if cur.size == 0:
                return None
            return cur.flat[0] if cur.dtype.names is None else cur.reshape(-1)[0]
        if isinstance(cur, (list, tuple)):
            if len(cur) == 0:
                return None
            cur = cur[0]
            continue
        return cur


def _is_reference_value(value) -> bool:
    from hdmf.build import Builder, ReferenceBuilder

    return isinstance(value, (Builder, ReferenceBuilder))


def _kind_of_value(value) -> tuple[str, np.dtype | None]:
    if _is_reference_value(value):
        return "reference", None
    if isinstance(value, (str, np.str_)):
        return "text", None
    if isinstance(value, (bytes, np.bytes_)):
        return "bytes", None
    if isinstance(value, (datetime.datetime, datetime.date)):
        return "datetime", None
    if isinstance(value, (bool, np.bool_)):
        return "numeric", np.dtype(bool)
    if isinstance(value, (int, float, np.number)):
        return "numeric", np.asarray(value).dtype
    return "unknown", None


def classify(builder_dtype: Any, data: Any, *,
             array_dtype: np.dtype | None = None) -> DataKind:
    """Classify a dataset from its builder dtype and its data.

    Parameters
    ----------
    builder_dtype : str, RefSpec, list of DtypeSpec/dict, numpy dtype/type or None
        ``DatasetBuilder.dtype``.
    data : object
        The data (list, ndarray, scalar...) or None when only ``array_dtype`` is known (iterators,
        lazy arrays).
    array_dtype : numpy.dtype, optional
        The dtype of the array the data comes from, when known.

    Returns
    -------
    DataKind
    """
    if isinstance(builder_dtype, (list, tuple)) and builder_dtype:
        fields = []
        for sub in builder_dtype:
            if isinstance(sub, dict):
                fname, fdtype = sub["name"], sub["dtype"]
            else:
                fname, fdtype = sub.name, sub.dtype
            fkind = classify(fdtype, None)
            if fkind.kind == "unknown_numeric":
                fkind = DataKind("numeric", np.dtype("float64"))
            fields.append(CompoundField(fname, fkind.kind, fkind.dtype))
        if array_dtype is not None and array_dtype.names:
            # numeric fields follow the stored data when its dtype is known
            for f in fields:
                if f.kind == "numeric" and f.name in array_dtype.names:
                    sub = array_dtype[f.name]
                    if sub.kind in "biuf":
                        f.dtype = sub
        return DataKind("compound", fields=fields, name="compound")

    name = _spec_name(builder_dtype)
    if name is not None:
        low = name.lower()
        if low in HDMF_REFERENCE:
            return DataKind("reference", name="object")
        if low in HDMF_TEXT:
            return DataKind("text", name="str")
        if low in HDMF_BYTES:
            return DataKind("bytes", name="bytes")
        if low in HDMF_DATETIME:
            return DataKind("datetime", name="bytes")
        nd = numpy_dtype_for_name(low)
        if nd is not None and data is None and array_dtype is None:
            return DataKind("numeric", nd, name=nd.name)
    elif isinstance(builder_dtype, np.dtype) or (isinstance(builder_dtype, type)
                                                 and issubclass(builder_dtype, np.generic)):
        bd = np.dtype(builder_dtype)
        if bd.kind in "biuf" and data is None and array_dtype is None:
            return DataKind("numeric", bd, name=bd.name)
        if bd.kind == "U":
            return DataKind("text", name="str")
        if bd.kind == "S":
            return DataKind("bytes", name="bytes")

    # decide from the data itself
    if array_dtype is None and isinstance(data, np.ndarray):
        array_dtype = data.dtype
    if array_dtype is not None:
        if array_dtype.names:
            fields = [CompoundField(n, *_field_kind(array_dtype[n])) for n in array_dtype.names]
            return DataKind("compound", fields=fields, name="compound")
        if array_dtype.kind in "biuf":
            return DataKind("numeric", array_dtype, name=array_dtype.name)
        if array_dtype.kind == "U" or array_dtype.kind == "T":
            return DataKind("text", name="str")
        if array_dtype.kind == "S":
            return DataKind("bytes", name="bytes")
        if array_dtype.kind == "M":
            return DataKind("datetime", name="bytes")
        if array_dtype.kind == "O" and data is None:
            # a lazy h5py dataset of variable-length strings (builders HDF5IO read, exported
            # without rebuilding them): its dtype carries h5py's string metadata
            metadata: Mapping[str, Any] = array_dtype.metadata or {}
            vlen = metadata.get("vlen")
            if vlen is str:
                return DataKind("text", name="str")
            if vlen is bytes:
                return DataKind("bytes", name="bytes")
    first = _first_element(data)
    kind, dt = _kind_of_value(first)
    if kind == "numeric":
        assert dt is not None  # a numeric value always has its dtype
        arr_dt = np.asarray(data).dtype if first is not None else dt
        if arr_dt.kind not in "biuf":
            arr_dt = dt
        if name is not None:
            nd = numpy_dtype_for_name(name.lower())
            if nd is not None:
                arr_dt = nd
        return DataKind("numeric", arr_dt, name=arr_dt.name)
    if kind == "text":
        return DataKind("text", name="str")
    if kind == "bytes":
        return DataKind("bytes", name="bytes")
    if kind == "datetime":
        return DataKind("datetime", name="bytes")
    if kind == "reference":
        return DataKind("reference", name="object")
    if first is None:
        # empty data: use the named dtype, else float64
        if name is not None:
            nd = numpy_dtype_for_name(name.lower())
            if nd is not None:
                return DataKind("numeric", nd, name=nd.name)
        if isinstance(builder_dtype, (np.dtype, type)):
            try:
                bd = np.dtype(builder_dtype)
                if bd.kind in "biuf":
                    return DataKind("numeric", bd, name=bd.name)
            except TypeError:
                pass
        return DataKind("numeric", np.dtype("float64"), name="float64")
    if isinstance(first, (tuple, np.void)):
        return DataKind("compound", fields=[], name="compound")
    return DataKind("unknown", name=type(first).__name__)


def _field_kind(sub: np.dtype) -> tuple[str, np.dtype | None]:
    if sub.kind in "biuf":
        return "numeric", sub
    if sub.kind == "U":
        return "text", None
    if sub.kind == "S":
        return "bytes", None
    return "text", None


def struct_fields(dtype: np.dtype) -> list[tuple[str, np.dtype]]:
    """``[(name, field dtype), ...]`` of a structured numpy dtype in field order (``[]`` for
    other dtypes)."""
    fields = dtype.fields
    if fields is None:
        return []
    return [(name, fields[name][0]) for name in dtype.names or ()]
