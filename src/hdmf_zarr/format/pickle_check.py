"""Post-decode checks of pickled chunks (FORMAT.md 2.5 and 5): what the restricted decoder
returned must be an array of the declared dtype and chunk shape whose elements are plain data."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FormatError
from . import limits
from ._pickle_base import DecodedReference

__all__ = ["check_decoded_array"]

#: Deepest nesting of dtypes, and of containers inside decoded elements.
_MAX_DEPTH = 32


_PLAIN_SCALARS = (str, bytes, int, float, bool, type(None))


class _ElementCheck:
    """The post-decode walk of decoded elements: every container is visited once (a stream can
    share one list many times over, which a naive walk would visit exponentially often), at
    most ``limit`` containers in all, at most ``_MAX_DEPTH`` deep; messages name types, never
    ``repr`` the values."""

    def __init__(self, array_path: str, limit: int):
        self.path = array_path
        self.limit = limit
        self.seen: set[int] = set()

    def fail(self, what: str):
        raise FormatError(what, self.path)

    def enter(self, value: Any, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.fail("decoded element nested too deeply")
        if id(value) in self.seen:
            self.fail("decoded element shares a container with another (not data 0.13 writes)")
        self.seen.add(id(value))
        if len(self.seen) > self.limit:
            self.fail("decoded elements hold more containers than the chunk can need")

    def check(self, value: Any, depth: int = 0) -> None:
        if type(value) in _PLAIN_SCALARS:
            return
        if isinstance(value, dict):
            if type(value) not in (dict, DecodedReference):
                self.fail(f"decoded element of type {type(value).__name__}")
            self.enter(value, depth)
            for key in value:
                if type(key) is not str:
                    self.fail("decoded reference has a non-string key")
            for key in ("source", "path"):
                if type(value.get(key)) is not str:
                    self.fail(f"decoded reference without a string {key!r} (found "
                              f"{type(value.get(key)).__name__})")
            for item in value.values():
                self.check(item, depth + 1)
            return
        if type(value) in (tuple, list):
            self.enter(value, depth)
            for item in value:
                self.check(item, depth + 1)
            return
        if isinstance(value, np.void) and value.dtype.hasobject:
            # a record of a compound with text fields (0.13): its values must be plain data
            for item in value.tolist():
                if type(item) not in _PLAIN_SCALARS and not (
                        isinstance(item, np.generic) and not isinstance(item, np.object_)):
                    self.fail(f"decoded record holds a value of type {type(item).__name__}")
            return
        if isinstance(value, np.generic) and not isinstance(value, np.object_):
            return
        self.fail(f"decoded element of unexpected type {type(value).__name__}")


def _check_element(value: Any, array_path: str, depth: int = 0) -> None:
    _ElementCheck(array_path, limits.PICKLE_CONTAINERS_PER_ELEMENT).check(value, depth)


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
        ``None``, tuples/lists of those, record scalars (their object fields holding plain
        values), or a reference dict with string ``source`` and ``path``; or when the elements
        share containers, nest deeper than 32 levels or hold more containers than the chunk
        can need.
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
    walk = _ElementCheck(array_path, limits.PICKLE_CONTAINERS_PER_ELEMENT * max(obj.size, 1))
    try:
        if dtype.fields is None:
            if dtype.hasobject:
                for value in obj.ravel(order="K"):
                    walk.check(value)
        else:
            for name in dtype.names or ():
                if dtype.fields[name][0].hasobject:
                    for value in obj[name].ravel(order="K"):
                        walk.check(value)
    except RecursionError:
        raise FormatError("decoded element nested too deeply", array_path) from None
    return obj
