"""Decoding of the object codecs of L2 object arrays: vlen-utf8, vlen-bytes and json2
(FORMAT.md 2.3, 2.5 and 5), for ``object_array``. Pickled chunks are decoded by
``format.safe_pickle``."""

from __future__ import annotations

import codecs
import json
import math
import re
import struct
from collections.abc import Mapping

import numpy as np

from ..errors import FormatError
from ..format import limits
from ..format.safe_pickle import check_decoded_array

_U32 = struct.Struct("<I")


def _parse_json2_config(config: Mapping, path: str) -> tuple[str, bool]:
    encoding = config.get("encoding", "utf-8")
    strict = config.get("strict", True)
    if not isinstance(encoding, str) or not isinstance(strict, bool):
        raise FormatError(f"invalid json2 configuration {dict(config)!r}", path)
    try:
        codecs.lookup(encoding)
        # a LookupError for codecs that are not text encodings (rot13, hex, base64); an empty
        # input would not be checked
        "a".encode(encoding).decode(encoding)
    except (LookupError, UnicodeError):
        raise FormatError(f"json2 configuration names {encoding!r}, which is not a known text "
                          "encoding", path) from None
    return encoding, strict


# ----------------------------------------------------------------------------------------------
# object codecs: decoding
# ----------------------------------------------------------------------------------------------

def _decode_vlen(buf: bytes, count: int, text: bool, path: str) -> np.ndarray:
    """Flat object array of the ``count`` items of a vlen-utf8/vlen-bytes payload."""
    end = len(buf)
    if end < 4:
        raise FormatError("vlen chunk shorter than its item count", path)
    (items,) = _U32.unpack_from(buf, 0)
    if items != count:
        raise FormatError(f"vlen chunk holds {items} items, the chunk has {count} elements",
                          path)
    if 4 + 4 * count > end:
        raise FormatError("vlen chunk too short for its item count", path)
    out = np.empty(count, dtype=object)
    pos = 4
    try:
        for i in range(count):
            if pos + 4 > end:
                raise FormatError(f"vlen chunk truncated at item {i}", path)
            (length,) = _U32.unpack_from(buf, pos)
            pos += 4
            stop = pos + length
            if stop > end:
                raise FormatError(f"vlen item {i} of {length} bytes overruns the chunk", path)
            out[i] = buf[pos:stop].decode("utf-8") if text else buf[pos:stop]
            pos = stop
    except UnicodeDecodeError as exc:
        raise FormatError(f"vlen-utf8 item is not valid UTF-8 ({exc})", path) from None
    if pos != end:
        raise FormatError(f"vlen chunk has {end - pos} bytes after its last item", path)
    return out


def _flatten_nested(data: list, shape: tuple[int, ...], path: str) -> list:
    """Leaves of a nested list whose lengths must follow ``shape`` (row-major order)."""
    if len(data) != shape[0]:
        raise FormatError(f"json2 chunk has {len(data)} rows, the chunk has {shape[0]}", path)
    level = data
    for extent in shape[1:]:
        nxt: list = []
        for row in level:
            if type(row) is not list or len(row) != extent:
                raise FormatError("json2 chunk rows do not follow the chunk shape", path)
            nxt.extend(row)
        level = nxt
    return level


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def _check_json2_size(text: str, count: int, path: str) -> None:
    """Refuse a json2 chunk holding more JSON values than ``count`` elements can need, before
    ``json.loads`` makes a Python object of each (``[[],[],...]`` expands 20-fold)."""
    bare = _JSON_STRING.sub('""', text)
    values = bare.count(",") + bare.count("[") + bare.count("{") + 1
    allowed = limits.JSON2_VALUES_BASE + limits.JSON2_VALUES_PER_ELEMENT * count
    if values > allowed:
        raise FormatError(f"json2 chunk holds about {values} JSON values, beyond the limit of "
                          f"{allowed} for a chunk of {count} elements", path)


def _decode_json2(buf: bytes, dtype: np.dtype, shape: tuple[int, ...], encoding: str,
                  strict: bool, path: str) -> np.ndarray:
    try:
        text = buf.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FormatError(f"json2 chunk is not valid JSON ({exc})", path) from None
    _check_json2_size(text, math.prod(shape), path)
    try:
        items = json.loads(text, strict=strict)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FormatError(f"json2 chunk is not valid JSON ({exc})", path) from None
    if type(items) is not list or len(items) < 2:
        raise FormatError("json2 chunk is not a list ending with dtype and shape", path)
    stored_shape, stored_dtype = items[-1], items[-2]
    if type(stored_shape) is not list or stored_shape != list(shape):
        raise FormatError(f"json2 chunk shape {stored_shape!r} is not the chunk shape "
                          f"{list(shape)}", path)
    # numcodecs writes ``dtype.str``: "|O" for object arrays, "|V<itemsize>" for structured ones
    accepted = ("|O",) if dtype.fields is None else ("|O", dtype.str)
    if stored_dtype not in accepted:
        raise FormatError(f"json2 chunk dtype {stored_dtype!r} is not {accepted[-1]!r}", path)
    data = items[:-2]
    if not shape:
        if len(data) != 1:
            raise FormatError("json2 chunk of a 0-d array must hold one element", path)
        leaves = data
    else:
        leaves = _flatten_nested(data, shape, path)
    out = np.empty(len(leaves), dtype=dtype)
    try:
        if dtype.fields is None:
            for i, value in enumerate(leaves):
                out[i] = value
        else:
            width = len(dtype.fields)
            for i, value in enumerate(leaves):
                if type(value) is not list or len(value) != width:
                    raise FormatError(f"json2 record {i} is not a list of {width} fields", path)
                out[i] = tuple(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise FormatError(f"json2 element does not fit the array dtype ({exc})", path) from None
    out = out.reshape(shape)
    return check_decoded_array(out, dtype=dtype, shape=shape, array_path=path)
