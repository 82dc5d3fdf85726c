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

import io
import math
import pickle
import pickletools
from typing import Any

import numpy as np
from numpy._core.multiarray import _reconstruct as _np_reconstruct
from numpy._core.multiarray import scalar as _np_scalar

from ..errors import FormatError, HdmfZarrError, UnsafePickleError

__all__ = [
    "DecodedReference",
    "restricted_loads",
    "check_decoded_array",
    "MAX_PICKLE_ELEMENTS",
    "MAX_PICKLE_BYTES",
]

#: Largest number of elements of an array built from a pickle stream (FORMAT.md 5).
MAX_PICKLE_ELEMENTS = 2**26
#: Largest memory size (bytes) of an array built from a pickle stream.
MAX_PICKLE_BYTES = 2**30
#: Deepest nesting of dtypes, and of containers inside decoded elements.
_MAX_DEPTH = 32
#: Largest ``ndim`` accepted (FORMAT.md 5).
_MAX_NDIM = 32

# Opcodes refused before the stream is run: persistent ids, the extension registry (whose cache
# could bypass ``find_class``) and the old-style instantiation opcodes no numpy stream uses.
_FORBIDDEN_OPCODES = {
    "PERSID": "persistent id",
    "BINPERSID": "persistent id",
    "EXT1": "extension registry code",
    "EXT2": "extension registry code",
    "EXT4": "extension registry code",
    "INST": "INST instantiation",
    "OBJ": "OBJ instantiation",
    "NEWOBJ_EX": "NEWOBJ_EX instantiation",
}


class _Refused(Exception):
    """Internal: the stream tried something unsafe (becomes UnsafePickleError)."""


class _Malformed(Exception):
    """Internal: the stream is well-behaved but does not describe what we accept."""


class _Frozen(type):
    """Metaclass of the stand-in classes: class attributes cannot be set or deleted, so a
    ``BUILD`` opcode applied to the class object itself cannot rewrite its methods."""

    def __setattr__(cls, name, value):
        raise _Refused(f"attempt to set attribute {name!r} on {cls.__name__}")

    def __delattr__(cls, name):
        raise _Refused(f"attempt to delete attribute {name!r} of {cls.__name__}")


class DecodedReference(dict, metaclass=_Frozen):
    """A decoded ``hdmf_zarr.utils.ZarrReference``: a plain ``dict`` with the keys ``source``,
    ``path`` and usually ``object_id`` and ``source_object_id``.

    Pickle streams build it with ``NEWOBJ`` (no arguments) followed by ``SETITEMS``. It carries no
    behaviour of its own, and has no instance ``__dict__``, so ``BUILD`` cannot attach state.
    """

    __slots__ = ()


def _check_shape(shape: Any, what: str) -> tuple[int, ...]:
    if not isinstance(shape, tuple) or len(shape) > _MAX_NDIM:
        raise _Malformed(f"{what} shape must be a tuple of at most {_MAX_NDIM} integers")
    for n in shape:
        if type(n) is not int or n < 0:
            raise _Malformed(f"{what} shape {shape!r} has an entry that is not a non-negative int")
    size = math.prod(shape)
    if size > MAX_PICKLE_ELEMENTS:
        raise _Malformed(f"{what} of {size} elements exceeds the limit of {MAX_PICKLE_ELEMENTS}")
    return shape


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
        if size * dtype.itemsize > MAX_PICKLE_BYTES:
            raise _Malformed(f"array of {size * dtype.itemsize} bytes exceeds the limit")
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
            raise _Refused("numpy scalar of a dtype holding objects")
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


# How to step over each opcode's argument, from pickletools' own opcode table:
# (name, kind, size); kind 0 = fixed size, 1 = up to a newline, 2 = two newline-terminated lines,
# 3 = little-endian length of ``size`` bytes then that many bytes (4: signed length).
_FIXED, _LINE, _PAIR, _ULEN, _SLEN = range(5)


def _opcode_table() -> dict[int, tuple[str, int, int]]:
    table = {}
    for op in pickletools.opcodes:
        arg = op.arg
        if arg is None:
            entry = (op.name, _FIXED, 0)
        elif arg.name == "stringnl_noescape_pair":
            entry = (op.name, _PAIR, 0)
        elif arg.n == pickletools.UP_TO_NEWLINE:
            entry = (op.name, _LINE, 0)
        elif arg.n >= 0:
            entry = (op.name, _FIXED, arg.n)
        elif arg.n == pickletools.TAKEN_FROM_ARGUMENT1:
            entry = (op.name, _ULEN, 1)
        elif arg.n == pickletools.TAKEN_FROM_ARGUMENT4:
            entry = (op.name, _SLEN, 4)
        elif arg.n == pickletools.TAKEN_FROM_ARGUMENT4U:
            entry = (op.name, _ULEN, 4)
        elif arg.n == pickletools.TAKEN_FROM_ARGUMENT8U:
            entry = (op.name, _ULEN, 8)
        else:  # pragma: no cover - a future opcode kind: refuse streams using it
            continue
        table[op.code.encode("latin-1")[0]] = entry
    return table


_OPCODES = _opcode_table()
_STOP = ord(pickle.STOP)


def _prescan(data: bytes) -> None:
    """Step over the opcodes without running them (the same way the unpickler reads them);
    refuse the forbidden ones and unknown or truncated streams."""
    end = len(data)
    pos = 0
    table, find = _OPCODES, data.find
    while pos < end:
        code = data[pos]
        pos += 1
        entry = table.get(code)
        if entry is None:
            raise _Malformed(f"invalid pickle opcode {code:#04x} at byte {pos - 1}")
        name, kind, size = entry
        if name in _FORBIDDEN_OPCODES:
            raise _Refused(f"pickled chunk uses a {_FORBIDDEN_OPCODES[name]} (opcode {name})")
        if kind == _FIXED:
            pos += size
        elif kind == _LINE or kind == _PAIR:
            for _ in range(1 if kind == _LINE else 2):
                newline = find(b"\n", pos)
                if newline < 0:
                    raise _Malformed(f"pickle opcode {name} without its line argument")
                pos = newline + 1
        else:
            length = int.from_bytes(data[pos:pos + size], "little", signed=kind == _SLEN)
            if length < 0:
                raise _Malformed("negative length in pickle stream")
            pos += size + length
        if code == _STOP:
            return
    raise _Malformed("pickle stream truncated (no STOP opcode)")


def restricted_loads(data: bytes, *, array_path: str, allow_record_scalars: bool = False) -> object:
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
        Scalars of dtypes holding objects are refused even then.

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
        FORMAT.md 5, inconsistent array states).
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError("restricted_loads expects bytes")
    try:
        _prescan(data)
        obj = _RestrictedUnpickler(io.BytesIO(data),
                                   allow_record_scalars=allow_record_scalars).load()
        if isinstance(obj, _CheckedArray):
            obj = obj.view(np.ndarray)
        elif isinstance(obj, _DtypeRecipe):
            obj = obj.materialize()
        return obj
    except _Refused as exc:
        raise UnsafePickleError(str(exc), array_path) from None
    except _Malformed as exc:
        raise FormatError(f"pickled chunk rejected: {exc}", array_path) from None
    except HdmfZarrError:
        raise
    except Exception as exc:  # any failure of the stream itself (truncation, bad opcodes...)
        raise FormatError(f"cannot decode pickled chunk ({type(exc).__name__}: {exc})",
                          array_path) from None


_PLAIN_SCALARS = (str, bytes, int, float, bool, type(None))


def _check_element(value: Any, array_path: str, depth: int = 0) -> None:
    if type(value) in _PLAIN_SCALARS:
        return
    if depth > _MAX_DEPTH:
        raise FormatError("decoded element nested too deeply", array_path)
    if isinstance(value, dict):
        if type(value) not in (dict, DecodedReference):
            raise FormatError(f"decoded element of type {type(value).__name__}", array_path)
        for key in value:
            if type(key) is not str:
                raise FormatError("decoded reference has a non-string key", array_path)
        for key in ("source", "path"):
            if type(value.get(key)) is not str:
                raise FormatError(f"decoded reference without a string {key!r}: {value!r}",
                                  array_path)
        for item in value.values():
            _check_element(item, array_path, depth + 1)
        return
    if type(value) in (tuple, list):
        for item in value:
            _check_element(item, array_path, depth + 1)
        return
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        if isinstance(value, np.void) and value.dtype.hasobject:
            raise FormatError("decoded record scalar holds objects", array_path)
        return
    raise FormatError(f"decoded element of unexpected type {type(value).__name__}", array_path)


def check_decoded_array(obj: object, *, dtype: np.dtype, shape: tuple[int, ...],
                        array_path: str) -> np.ndarray:
    """Enforce the post-decode checks of FORMAT.md 2.5 on a decoded pickled chunk.

    Parameters
    ----------
    obj : object
        What :func:`restricted_loads` returned for one chunk.
    dtype : numpy.dtype
        The dtype of the ``.zarray`` (``object`` or a structured dtype with object fields).
    shape : tuple of int
        The chunk shape of the ``.zarray``.
    array_path : str
        Path of the array, named in errors.

    Returns
    -------
    numpy.ndarray
        ``obj`` itself, once checked.

    Raises
    ------
    FormatError
        When ``obj`` is not an ndarray, its dtype or shape differ from the expected ones, or an
        element (an object field value) is not a plain value: ``str``, ``bytes``, numbers,
        ``None``, tuples/lists of those, record scalars without objects, or a reference dict
        with string ``source`` and ``path``.
    """
    if type(obj) is not np.ndarray:
        raise FormatError(f"pickled chunk decodes to {type(obj).__name__}, not an ndarray",
                          array_path)
    dtype = np.dtype(dtype)
    if obj.dtype != dtype or obj.dtype.hasobject != dtype.hasobject:
        raise FormatError(f"pickled chunk has dtype {obj.dtype}, the array declares {dtype}",
                          array_path)
    if tuple(obj.shape) != tuple(shape):
        raise FormatError(f"pickled chunk has shape {obj.shape}, the chunk shape is "
                          f"{tuple(shape)}", array_path)
    if dtype.fields is None:
        if dtype.hasobject:
            for value in obj.ravel(order="K"):
                _check_element(value, array_path)
    else:
        for name in dtype.names:
            if dtype.fields[name][0].hasobject:
                for value in obj[name].ravel(order="K"):
                    _check_element(value, array_path)
    return obj
