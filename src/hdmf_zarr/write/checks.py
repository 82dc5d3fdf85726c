"""Checks of a builder tree made before the first key of a write, so that bad input leaves the
store as it was (docs/reliability.md, "Bad input on the write side").

hdmf's ObjectMapper already refuses values it cannot convert to a spec's dtype (a complex array
for a ``float`` dataset is a ``BuildError``), but it turns text into ``utf8`` data whatever the
spec says and never looks at shapes, and HDF5IO stores what it is given. These checks compare a
dataset with its specification where both are known:

* the number of dimensions and the fixed dimension lengths of the data against the spec's
  ``shape`` (any of its alternatives);
* text where the spec asks for numbers;
* elements of a text dataset that are not text (``str(obj)`` would store a repr);
* the codecs a ``ZarrDataIO`` asks for (an unknown codec id).

Data whose shape is not known without reading it is not checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UnstorableValueError, UnsupportedDataError
from ..format.layout import Layout

__all__ = ["spec_of", "sub_spec", "check_dataset", "check_codecs"]

_TEXT = {"text", "utf", "utf8", "utf-8", "str", "ascii", "bytes", "isodatetime", "datetime"}
_NUMERIC_PREFIXES = ("numeric", "float", "int", "uint", "double", "long", "short")


def spec_of(type_map: Any, attributes: dict, cache: dict | None = None) -> Any:
    """The specification of a typed builder (from its ``namespace`` and
    ``neurodata_type``/``data_type`` attributes), or None when it is untyped or unknown.

    ``cache``, a dict kept by the caller for one pass over a tree, memoises the lookups
    (hdmf's ``get_spec`` goes through docval: 0.1 ms a call, once per typed builder)."""
    ns = attributes.get("namespace")
    dt = attributes.get("neurodata_type", attributes.get("data_type"))
    if not isinstance(ns, str) or not isinstance(dt, str) or type_map is None:
        return None
    if cache is not None and (ns, dt) in cache:
        return cache[(ns, dt)]
    try:
        spec = type_map.namespace_catalog.get_spec(ns, dt)
    except Exception:  # an unknown namespace or type: nothing to check against
        spec = None
    if cache is not None:
        cache[(ns, dt)] = spec
    return spec


def sub_spec(parent_spec: Any, name: str, kind: str, cache: dict | None = None) -> Any:
    """The spec of the child ``name`` (``kind``: ``group`` or ``dataset``) of a group spec.

    ``cache`` as in :func:`spec_of` (hdmf's ``get_group``/``get_dataset`` go through docval;
    1000 TimeSeries ask the same parent spec the same names)."""
    if parent_spec is None:
        return None
    key = (id(parent_spec), name, kind)
    if cache is not None and key in cache:
        return cache[key][1]
    getter = getattr(parent_spec, f"get_{kind}", None)
    try:
        found = getter(name) if getter is not None else None
    except Exception:
        found = None
    if cache is not None:
        cache[key] = (parent_spec, found)  # keeps parent_spec alive, so its id stays unique
    return found


def _dtype_name(dtype) -> str | None:
    name = getattr(dtype, "name", dtype) if not isinstance(dtype, str) else dtype
    return name.lower() if isinstance(name, str) else None


def _data_shape(data):
    from hdmf.data_utils import AbstractDataChunkIterator, DataIO
    from hdmf.utils import get_data_shape

    if isinstance(data, DataIO):
        data = data.data
    if isinstance(data, AbstractDataChunkIterator):
        return getattr(data, "maxshape", None)
    if isinstance(data, (str, bytes)) or np.isscalar(data) or data is None:
        return ()
    if isinstance(data, (list, tuple)):
        # hdmf's ReferenceBuilder is a dict: get_data_shape would count each reference as a
        # sequence of one key and report a 1-D list of references as (n, 1)
        return _sequence_shape(data)
    try:
        shape = get_data_shape(data, strict_no_data_load=True)
    except Exception:
        return None
    return None if shape is None else tuple(shape)


def _is_element(value) -> bool:
    """A value that is one element of a dataset, not a sequence of elements."""
    from hdmf.build import Builder, ReferenceBuilder
    from hdmf.container import AbstractContainer

    return isinstance(value, (str, bytes, dict, Builder, ReferenceBuilder, AbstractContainer)) \
        or np.isscalar(value) or value is None or not hasattr(value, "__len__")


def _sequence_shape(data):
    """Shape of nested lists/tuples whose elements may be references (None when unknown)."""
    from hdmf.utils import get_data_shape

    shape = []
    cur = data
    while isinstance(cur, (list, tuple)):
        shape.append(len(cur))
        if not cur:
            return tuple(shape)
        cur = cur[0]
    if _is_element(cur):
        return tuple(shape)
    try:
        inner = get_data_shape(cur, strict_no_data_load=True)
    except Exception:
        return None
    return None if inner is None else tuple(shape) + tuple(inner)


def _allowed(spec_shape) -> list:
    if not spec_shape:
        return []
    return [list(s) for s in spec_shape] if isinstance(spec_shape[0], (list, tuple)) \
        else [list(spec_shape)]


def check_codecs(data: Any, path: str, zarr_format: Layout | int) -> None:
    """Translate the codecs a ``ZarrDataIO`` asks for, so that an unknown codec id is an error
    before the first key is stored.

    Raises
    ------
    UnknownCodecError
        When a codec is neither a numcodecs nor a Zarr 3 codec, or has no equivalent in the
        layout.
    """
    from ..errors import UnknownCodecError
    from .codecs import codec_kwargs

    settings = getattr(data, "io_settings", None)
    if not isinstance(settings, dict):
        return
    keys = ("compressor", "compressors", "filters", "serializer")
    asked = {k: settings[k] for k in keys if k in settings}
    if not asked:
        return
    dtype = getattr(getattr(data, "data", None), "dtype", None)
    try:
        codec_kwargs(asked, zarr_format, np.dtype(dtype) if dtype is not None else
                     np.dtype("u1"), path, warn=False)
    except UnknownCodecError:
        raise
    except Exception:  # anything else depends on the data: the write itself reports it
        pass


def check_dataset(builder: Any, path: str, spec: Any, *, strict: bool = True) -> None:
    """Check one dataset builder against its spec (see the module docstring).

    ``strict=False`` (an export: existing files are copied as they are, as HDF5IO does) turns
    a contradiction with the spec into a warning.

    Raises
    ------
    UnsupportedDataError
        When the data's shape or kind contradicts the spec.
    UnstorableValueError
        When a text dataset holds elements that are not text.
    """
    from hdmf.build import Builder, ReferenceBuilder
    from hdmf.data_utils import DataIO

    data = builder.data
    if isinstance(data, DataIO):
        data = data.data
    builder_dtype = _dtype_name(builder.dtype)
    if builder_dtype in _TEXT and isinstance(data, (list, tuple, np.ndarray)):
        arr = data if isinstance(data, np.ndarray) else None
        if arr is None or arr.dtype.kind == "O":
            for item in _flat(data):
                if not isinstance(item, (str, bytes, np.str_, np.bytes_, Builder,
                                         ReferenceBuilder)) and item is not None \
                        and not hasattr(item, "isoformat"):
                    raise UnstorableValueError(
                        f"text dataset holds an element of type {type(item).__name__} "
                        f"({str(item)[:40]!r}); only str and bytes can be stored as text", path)
    if spec is None or isinstance(getattr(spec, "dtype", None), (list, tuple)):
        return  # no spec, or a compound (rows are not a dimension)
    spec_dtype = _dtype_name(getattr(spec, "dtype", None))
    if spec_dtype is not None and spec_dtype.startswith(_NUMERIC_PREFIXES) and \
            builder_dtype in _TEXT - {"isodatetime", "datetime"}:
        _contradiction(f"text data for a dataset whose specification asks for {spec_dtype} "
                       "numbers", path, strict)
        return
    allowed = _allowed(getattr(spec, "shape", None))
    shape = _data_shape(data)
    if not allowed or not shape:
        return  # a scalar spec, or scalar/unknown data: hdmf's own rules apply
    for option in allowed:
        if len(option) == len(shape) and all(
                want is None or have is None or int(want) == int(have)
                for want, have in zip(option, shape)):
            return
    shown = " or ".join("[" + ", ".join("None" if d is None else str(d) for d in o) + "]"
                        for o in allowed)
    _contradiction(f"data of shape {list(shape)} contradicts the specification, which allows "
                   f"{shown}", path, strict)


def _contradiction(message: str, path: str, strict: bool) -> None:
    if strict:
        raise UnsupportedDataError(message, path)
    import warnings

    warnings.warn(f"{path}: {message} (copied as it is)", UserWarning, stacklevel=5)


def _flat(data):
    if isinstance(data, np.ndarray):
        yield from data.ravel().tolist() if data.dtype.kind != "O" else data.ravel()
        return
    for item in data:
        if isinstance(item, (list, tuple, np.ndarray)):
            yield from _flat(item)
        else:
            yield item
