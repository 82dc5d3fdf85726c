"""Restricted decoding of the pickled chunks of legacy L2 object arrays (FORMAT.md 2.5 and 5).

Files written by the released hdmf-zarr pickle reference datasets and compound datasets with
reference fields. A general unpickler would run whatever code a forged chunk asks for, so this
module decodes pickle streams with an unpickler that resolves exactly these globals:

- ``numpy._core.multiarray._reconstruct`` / ``numpy.core.multiarray._reconstruct``,
- ``numpy.ndarray`` and ``numpy.dtype``,
- ``hdmf_zarr.utils.ZarrReference`` (decoded as :class:`DecodedReference`, a plain ``dict``
  subclass of this module; ``hdmf_zarr.utils`` is never imported for it),
- on request only, ``numpy._core.multiarray.scalar`` / ``numpy.core.multiarray.scalar`` (records
  of compound datasets without reference fields).

Everything else, persistent ids and the extension-registry opcodes raise
:class:`~hdmf_zarr.errors.UnsafePickleError`.

Limiting the globals is not enough on its own: numpy's ``dtype.__setstate__`` trusts the flags
of the pickled state, so a stream could build a dtype whose object fields are not flagged as
such and then fill an array of it from raw bytes, forging object pointers. The names above are
therefore bound to stand-ins: ``numpy.dtype`` to a recipe object that records the constructor
arguments and the state and builds the real dtype through numpy's public constructors (never
through ``__setstate__``); ``numpy.ndarray`` to an ndarray subclass whose ``__setstate__``
checks the shape, the dtype and the payload (a list for dtypes holding objects, bytes of the
exact size otherwise) before handing over to numpy. The stand-in classes refuse attribute
assignment so that a stream cannot rewrite them through ``BUILD``.
"""

from __future__ import annotations

import contextvars
import io
import math
import pickle
from typing import Any

import numpy as np
from numpy._core.multiarray import _reconstruct as _np_reconstruct
from numpy._core.multiarray import scalar as _np_scalar

from ..errors import FormatError, HdmfZarrError, UnsafePickleError
from . import limits
from ._pickle_base import DecodedReference, _Frozen, _Malformed, _Refused
from .pickle_check import _MAX_DEPTH, check_decoded_array
from .pickle_scan import ScanMalformed, ScanRefused, prescan

__all__ = [
    "DecodedReference",
    "restricted_loads",
    "check_decoded_array",
    "MAX_PICKLE_ELEMENTS",
    "MAX_PICKLE_BYTES",
]

#: Largest number of elements of an array built from a pickle stream (FORMAT.md 5); the value
#: in force is ``hdmf_zarr.format.limits.MAX_PICKLE_ELEMENTS``.
MAX_PICKLE_ELEMENTS = limits.MAX_PICKLE_ELEMENTS
#: Largest memory size (bytes) of the arrays built from one pickle stream, all together; the
#: value in force is ``hdmf_zarr.format.limits.MAX_PICKLE_BYTES``.
MAX_PICKLE_BYTES = limits.MAX_PICKLE_BYTES
#: Largest ``ndim`` accepted (FORMAT.md 5).
_MAX_NDIM = 32

def _check_shape(shape: Any, what: str) -> tuple[int, ...]:
    if not isinstance(shape, tuple) or len(shape) > _MAX_NDIM:
        raise _Malformed(f"{what} shape must be a tuple of at most {_MAX_NDIM} integers")
    for n in shape:
        if type(n) is not int or n < 0:
            raise _Malformed(f"{what} shape has an entry that is not a non-negative int")
    size = math.prod(shape)
    if size > limits.MAX_PICKLE_ELEMENTS:
        raise _Malformed(f"{what} of {size} elements exceeds the limit of "
                         f"{limits.MAX_PICKLE_ELEMENTS}")
    return shape


#: Bytes the arrays of the stream being decoded may still take (set by ``restricted_loads``).
_BUDGET: contextvars.ContextVar[list] = contextvars.ContextVar("hdmf_zarr_pickle_budget")


def _charge(nbytes: int) -> None:
    budget = _BUDGET.get(None)
    if budget is None:
        budget = [limits.MAX_PICKLE_BYTES]
        _BUDGET.set(budget)
    budget[0] -= nbytes
    if budget[0] < 0:
        raise _Malformed("the arrays of the pickled chunk exceed what its chunk shape implies")


class _VlenType(metaclass=_Frozen):
    """Stand-in for ``builtins.str`` / ``builtins.bytes``, admitted only as the value of the
    ``{"vlen": str}`` metadata that h5py puts on variable-length text dtypes (and that 0.13
    pickled with records exported from HDF5). It cannot be called or altered."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        object.__setattr__(self, "name", name)

    def __setattr__(self, name, value):
        raise _Refused(f"attempt to set attribute {name!r} on builtins.{self.name}")

    def __setstate__(self, state):
        raise _Refused(f"BUILD applied to builtins.{self.name}")

    def __call__(self, *args, **kwargs):
        raise _Refused(f"pickled chunk calls builtins.{self.name}; it may only name the type "
                       "of a text dtype's metadata")

    def __reduce__(self):  # pragma: no cover - never pickled
        raise TypeError("not picklable")


_VLEN_STR = _VlenType("str")
_VLEN_BYTES = _VlenType("bytes")


def _check_dtype_metadata(meta: Any) -> None:
    """Metadata of a pickled dtype: None or h5py's ``{"vlen": str | bytes}`` (dropped)."""
    if meta is None:
        return
    if type(meta) is not dict or len(meta) > 2 or \
            not all(type(k) is str for k in meta) or \
            set(meta) - {"vlen", "h5py_encoding"} or \
            (meta.get("vlen", _VLEN_STR) is not _VLEN_STR
             and meta.get("vlen") is not _VLEN_BYTES) or \
            type(meta.get("h5py_encoding", "")) is not str:
        raise _Malformed("dtype metadata other than h5py's variable-length text marker")


def _as_dtype(obj: Any, depth: int = 0) -> np.dtype:
    """The real dtype of a dtype recipe met in the stream (anything else is refused)."""
    if isinstance(obj, _DtypeRecipe):
        return obj.materialize(depth)
    raise _Malformed(f"expected a numpy dtype, found {type(obj).__name__}")


_DATETIME_UNITS = {"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "μs", "ns", "ps", "fs", "as",
                   "generic"}


class _DtypeRecipe(metaclass=_Frozen):
    """Stand-in for ``numpy.dtype`` inside a stream: records ``dtype(obj, align, copy)`` and the
    ``BUILD`` state, and builds the dtype through numpy's constructors when first used. Once
    used it is sealed: a later ``BUILD`` is refused (numpy would mutate a dtype in use)."""

    __slots__ = ("_args", "_state", "_built", "_sealed", "_busy")
    _args: tuple
    _state: tuple | None
    _built: np.dtype | None
    _sealed: bool
    _busy: bool

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        object.__setattr__(self, "_args", args)
        object.__setattr__(self, "_state", None)
        object.__setattr__(self, "_built", None)
        object.__setattr__(self, "_sealed", False)
        object.__setattr__(self, "_busy", False)
        if kwargs:
            raise _Malformed("numpy.dtype called with keyword arguments")
        return self

    def __setattr__(self, name, value):
        raise _Refused(f"attempt to set attribute {name!r} on a dtype")

    def __setstate__(self, state):
        if not isinstance(self, _DtypeRecipe):  # BUILD applied to the class object
            raise _Refused("BUILD applied to numpy.dtype itself")
        if self._sealed or self._state is not None:
            raise _Refused("dtype state set twice or after the dtype was used")
        if not isinstance(state, tuple):
            raise _Malformed("dtype state is not a tuple")
        object.__setattr__(self, "_state", state)

    def materialize(self, depth: int = 0) -> np.dtype:
        """Build (once) and return the real dtype; seals the recipe."""
        if self._built is not None:
            return self._built
        if depth > _MAX_DEPTH:
            raise _Malformed("dtypes nested too deeply")
        if self._busy:
            raise _Malformed("dtype refers to itself")
        object.__setattr__(self, "_busy", True)
        try:
            built = self._build(depth)
        except (TypeError, ValueError, OverflowError, KeyError, IndexError) as exc:
            raise _Malformed(f"cannot build pickled dtype: {exc}") from None
        finally:
            object.__setattr__(self, "_busy", False)
        object.__setattr__(self, "_built", built)
        object.__setattr__(self, "_sealed", True)
        return built

    def _build(self, depth: int) -> np.dtype:
        args = self._args
        if not args or len(args) > 3:
            raise _Malformed("numpy.dtype called with an unexpected number of arguments")
        code = args[0]
        if isinstance(code, bytes):
            code = code.decode("ascii")
        if not isinstance(code, str) or len(code) > 32:
            raise _Malformed("numpy.dtype called with something other than a type code")
        for flag in args[1:]:
            if type(flag) not in (bool, int):
                raise _Malformed("numpy.dtype flags are not booleans")
        align = bool(args[1]) if len(args) > 1 else False
        base = np.dtype(code)
        if base.fields is not None or base.subdtype is not None:
            raise _Malformed("numpy.dtype type code describes a structured or subarray type")
        state = self._state
        if state is None:
            return base
        if len(state) not in (8, 9) or state[0] not in (3, 4):
            raise _Malformed("unsupported dtype state version")
        endian, subarray, names, fields, elsize = state[1:6]
        if endian not in ("<", ">", "|", "="):
            raise _Malformed(f"bad byte order {endian!r} in dtype state")
        if type(elsize) is not int:
            raise _Malformed("dtype item size is not an int")
        if base.kind in "mM":
            return self._build_datetime(code, endian, state)
        if len(state) == 9:
            _check_dtype_metadata(state[8])
        if subarray is not None:
            if names is not None or base.kind != "V":
                raise _Malformed("bad subarray dtype state")
            if not (isinstance(subarray, tuple) and len(subarray) == 2):
                raise _Malformed("bad subarray dtype state")
            sub_shape = subarray[1]
            if type(sub_shape) is int:
                sub_shape = (sub_shape,)
            _check_shape(sub_shape, "subarray")
            built = np.dtype((_as_dtype(subarray[0], depth + 1), sub_shape))
        elif names is not None:
            if base.kind != "V":
                raise _Malformed("fields on a non-void dtype")
            built = self._build_struct(names, fields, elsize, align, depth)
        else:
            built = base
            if endian in "<>" and base.kind not in "OV" and base.itemsize > 1:
                built = base.newbyteorder(endian)
        if elsize not in (-1, 0) and built.itemsize != elsize:
            raise _Malformed(f"dtype state item size {elsize} disagrees with {built}")
        return built

    @staticmethod
    def _build_struct(names, fields, elsize, align, depth) -> np.dtype:
        if not isinstance(names, tuple) or not isinstance(fields, dict):
            raise _Malformed("structured dtype state without names tuple and fields dict")
        if len(names) != len(fields) or len(names) > 4096:
            raise _Malformed("structured dtype names and fields disagree")
        formats, offsets = [], []
        for name in names:
            if not isinstance(name, str) or name not in fields:
                raise _Malformed(f"structured dtype field {name!r} is missing")
            entry = fields[name]
            if not isinstance(entry, tuple) or len(entry) not in (2, 3):
                raise _Malformed(f"structured dtype field {name!r} is malformed")
            if len(entry) == 3 and entry[2] is not None:
                raise _Malformed("structured dtype field titles are not supported")
            offset = entry[1]
            if type(offset) is not int or offset < 0:
                raise _Malformed(f"structured dtype field {name!r} has a bad offset")
            formats.append(_as_dtype(entry[0], depth + 1))
            offsets.append(offset)
        if elsize < 0:
            raise _Malformed("structured dtype without an item size")
        # numpy's dict constructor checks offsets against the item size and refuses
        # overlapping object fields; flags are recomputed, never taken from the stream.
        return np.dtype({"names": list(names), "formats": formats, "offsets": offsets,
                         "itemsize": elsize}, align=align)

    @staticmethod
    def _build_datetime(code, endian, state) -> np.dtype:
        meta = state[8] if len(state) == 9 else None
        if not (isinstance(meta, tuple) and len(meta) == 2 and isinstance(meta[1], tuple)):
            raise _Malformed("datetime dtype state without unit metadata")
        unit, num = meta[1][0], meta[1][1]
        if isinstance(unit, bytes):
            unit = unit.decode("ascii")
        if unit not in _DATETIME_UNITS or type(num) is not int or not 0 < num < 2**31:
            raise _Malformed("bad datetime unit in dtype state")
        order = endian if endian in "<>" else ""
        if unit == "generic":
            return np.dtype(f"{order}{code}")
        return np.dtype(f"{order}{code}[{num if num != 1 else ''}{unit}]")


class _CheckedArray(np.ndarray, metaclass=_Frozen):
    """Stand-in for ``numpy.ndarray`` inside a stream. It cannot be constructed directly (only
    through ``_reconstruct`` as an empty array), and its ``__setstate__`` validates the state."""

    def __new__(cls, *args, **kwargs):
        raise _Refused("direct construction of numpy.ndarray")

    def __setstate__(self, state):
        if not isinstance(self, _CheckedArray):  # BUILD applied to the class object
            raise _Refused("BUILD applied to numpy.ndarray itself")
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise _Malformed("ndarray state is not a tuple of 4 or 5 items")
        if len(state) == 5:
            if state[0] != 1:
                raise _Malformed("unsupported ndarray state version")
            state = state[1:]
        shape, recipe, fortran, payload = state
        shape = _check_shape(shape, "array")
        dtype = _as_dtype(recipe)
        if type(fortran) not in (bool, int):
            raise _Malformed("ndarray order flag is not a boolean")
        size = math.prod(shape)
        if size * dtype.itemsize > limits.MAX_PICKLE_BYTES:
            raise _Malformed(f"array of {size * dtype.itemsize} bytes exceeds the limit")
        _charge(size * max(dtype.itemsize, 1))
        if dtype.hasobject:
            if type(payload) is not list or len(payload) != size:
                raise _Malformed("object array payload is not a list of one item per element")
        else:
            if isinstance(payload, (bytearray, pickle.PickleBuffer)):
                payload = bytes(payload)
            if type(payload) is not bytes or len(payload) != size * dtype.itemsize:
                raise _Malformed("array payload does not hold exactly the array's bytes")
        try:
            np.ndarray.__setstate__(self, (1, shape, dtype, bool(fortran), payload))
        except (TypeError, ValueError, OverflowError) as exc:
            raise _Malformed(f"cannot fill pickled array: {exc}") from None


class _Callable(metaclass=_Frozen):
    """A frozen, attribute-less callable (``BUILD`` on it can neither set ``__dict__`` entries
    nor slots)."""

    __slots__ = ()


class _Reconstruct(_Callable):
    """Stand-in for ``numpy._core.multiarray._reconstruct``: only ``(ndarray, <empty shape>,
    <type code>)``, as numpy's own ``__reduce__`` emits."""

    __slots__ = ()

    def __call__(self, subtype, shape, typecode, *rest):
        if rest or subtype is not _CheckedArray:
            raise _Malformed("_reconstruct called with unexpected arguments")
        if type(shape) is int:
            shape = (shape,)
        shape = _check_shape(shape, "_reconstruct")
        if math.prod(shape) != 0:
            raise _Malformed("_reconstruct called with a non-empty shape")
        if isinstance(typecode, _DtypeRecipe):
            typecode = typecode.materialize()
        elif not (isinstance(typecode, (bytes, str)) and len(typecode) <= 8):
            raise _Malformed("_reconstruct called with an unexpected type code")
        try:
            return _np_reconstruct(_CheckedArray, shape, typecode)
        except (TypeError, ValueError) as exc:
            raise _Malformed(f"_reconstruct failed: {exc}") from None


class _Scalar(_Callable):
    """Stand-in for ``numpy._core.multiarray.scalar``: builds record/numeric scalars from raw
    bytes only for dtypes that hold no objects."""

    __slots__ = ()

    def __call__(self, recipe, data=None, *rest):
        if rest:
            raise _Malformed("scalar called with unexpected arguments")
        dtype = _as_dtype(recipe)
        if dtype.hasobject:
            # numpy pickles a record holding objects as ``scalar(dtype, <0-d array>)``; the
            # array was filled from a list by the checked ``__setstate__`` (never from bytes,
            # which could forge object pointers), and its values are checked after decoding
            if not (isinstance(data, _CheckedArray) and data.shape == ()
                    and data.dtype == dtype and dtype.fields is not None):
                raise _Refused("numpy scalar of a dtype holding objects not built from a "
                               "checked record array")
            return data.view(np.ndarray)[()]
        if isinstance(data, (bytearray, pickle.PickleBuffer)):
            data = bytes(data)
        if type(data) is not bytes or len(data) != dtype.itemsize:
            raise _Malformed("numpy scalar payload does not match its dtype size")
        return _np_scalar(dtype, data)


_RECONSTRUCT = _Reconstruct()
_SCALAR = _Scalar()

_ALLOWED_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): _CheckedArray,
    ("numpy", "dtype"): _DtypeRecipe,
    ("hdmf_zarr.utils", "ZarrReference"): DecodedReference,
    # only as h5py's ``{"vlen": str}`` dtype metadata (checked where a dtype is built)
    ("builtins", "str"): _VLEN_STR,
    ("builtins", "bytes"): _VLEN_BYTES,
}
_RECORD_SCALAR_GLOBALS = {
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """The C unpickler with global lookup limited to the names of FORMAT.md 2.5."""

    def __init__(self, file, *, allow_record_scalars: bool):
        super().__init__(file, fix_imports=False)
        self._allow_record_scalars = allow_record_scalars

    def find_class(self, module, name):
        key = (module, name)
        found = _ALLOWED_GLOBALS.get(key)
        if found is None and self._allow_record_scalars:
            found = _RECORD_SCALAR_GLOBALS.get(key)
        if found is None:
            raise _Refused(f"pickled chunk names the forbidden global {module}.{name}")
        return found

    def persistent_load(self, pid):
        raise _Refused("pickled chunk uses a persistent id")


def _opcode_budget(expect) -> int | None:
    if expect is None:
        return None
    dtype, shape = np.dtype(expect[0]), tuple(expect[1])
    fields = len(dtype.names) if dtype.names else 1
    per = limits.PICKLE_OPCODES_PER_ELEMENT + limits.PICKLE_OPCODES_PER_FIELD * fields
    return limits.PICKLE_OPCODES_BASE + math.prod(shape) * per


def _array_budget(expect) -> int:
    if expect is None:
        return limits.MAX_PICKLE_BYTES
    dtype, shape = np.dtype(expect[0]), tuple(expect[1])
    # the chunk array, plus a 0-d array per record (records holding objects), plus slack
    return min(limits.MAX_PICKLE_BYTES,
               3 * math.prod(shape) * max(dtype.itemsize, 8) + 2**20)


def restricted_loads(data: bytes, *, array_path: str, allow_record_scalars: bool = False,
                     expect: tuple | None = None) -> object:
    """Decode a pickle stream with the restricted unpickler of FORMAT.md 2.5.

    Parameters
    ----------
    data : bytes
        The pickle stream (a chunk after decompression and the non-object filters).
    array_path : str
        Path of the array the chunk belongs to, named in every error.
    allow_record_scalars : bool, optional
        Also resolve ``numpy._core.multiarray.scalar`` (and its numpy-1 spelling), for compound
        datasets without reference fields whose records 0.13 pickled as ``np.void`` scalars.
        Records of dtypes holding objects are built only from a checked 0-d record array (as
        numpy pickles them), never from raw bytes.
    expect : (numpy.dtype, tuple of int), optional
        The dtype and chunk shape the stream should decode to. When given, the number of
        opcodes (``limits.PICKLE_OPCODES_*``) and the bytes of all the arrays the stream builds
        are bounded by what such a chunk needs (FORMAT.md 5); otherwise by
        ``limits.MAX_PICKLE_BYTES``.

    Returns
    -------
    object
        The decoded object; a top-level array is a plain ``numpy.ndarray``, a top-level dtype a
        real ``numpy.dtype``. Pickled ``ZarrReference`` values come back as
        :class:`DecodedReference` dicts.

    Raises
    ------
    UnsafePickleError
        When the stream names a global outside the allowed list (the message names the array
        path and ``module.name``), uses persistent ids, extension codes or instantiation opcodes,
        or tries to alter the stand-ins.
    FormatError
        When the stream is invalid or describes data this decoder does not accept (limits of
        FORMAT.md 5, inconsistent array states, more opcodes or array bytes than ``expect``
        allows, nesting too deep).
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError("restricted_loads expects bytes")
    token = _BUDGET.set([_array_budget(expect)])
    try:
        prescan(data, _opcode_budget(expect))
        obj = _RestrictedUnpickler(io.BytesIO(data),
                                   allow_record_scalars=allow_record_scalars).load()
        if isinstance(obj, _CheckedArray):
            obj = obj.view(np.ndarray)
        elif isinstance(obj, _DtypeRecipe):
            obj = obj.materialize()
        return obj
    except (_Refused, ScanRefused) as exc:
        raise UnsafePickleError(str(exc), array_path) from None
    except (_Malformed, ScanMalformed) as exc:
        raise FormatError(f"pickled chunk rejected: {exc}", array_path) from None
    except HdmfZarrError:
        raise
    except RecursionError:
        raise FormatError("pickled chunk nested too deeply", array_path) from None
    except MemoryError:
        raise FormatError("pickled chunk needs more memory than is available", array_path) \
            from None
    except Exception as exc:  # any failure of the stream itself (truncation, bad opcodes...)
        raise FormatError(f"cannot decode pickled chunk ({type(exc).__name__}: "
                          f"{_short(str(exc))})", array_path) from None
    finally:
        _BUDGET.reset(token)


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
