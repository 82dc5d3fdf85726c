"""Reading L2 object arrays directly through the store (FORMAT.md 2.3, 2.5, 2.6, 5).

Zarr-Python 3.1 neither opens nor creates Zarr format 2 arrays of dtype ``|O`` with the json2 or
pickle object codecs, nor structured dtypes with ``|O`` fields. Legacy hdmf-zarr files hold many
of them (reference datasets, compound datasets with references, cached specifications), so this
module reads them: :class:`ObjectArrayV2` reads them chunk by chunk (vlen-utf8 and vlen-bytes
too, so that text comes back as Python ``str``). Writing is in ``object_array_write``.

Pickled chunks are decoded only by :func:`hdmf_zarr.format.safe_pickle.restricted_loads`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numcodecs
import numpy as np
from zarr.abc.store import Store

from ..errors import FormatError, UnknownCodecError
from ..format import limits
from ..format.dtypes import struct_fields
from ..format.limits import check_read_size
from ..format.safe_pickle import check_decoded_array, restricted_loads
from .bounded_decode import DecodedSizeError, decompress
from .object_codecs import (
    _U32,  # noqa: F401 - object_array_write imports it from here
    _decode_json2,
    _decode_vlen,
    _parse_json2_config,
)
from .store_io import get_many

__all__ = [
    "is_object_array_v2",
    "ObjectArrayV2",
    "OBJECT_CODECS",
    "JSON2_FILTER",
    "PICKLE_FILTER",
    "MAX_CHUNK_ELEMENTS",
    "MAX_ENCODED_CHUNK_BYTES",
    "MAX_DECODED_CHUNK_BYTES",
]

#: The object codecs this module reads and writes.
OBJECT_CODECS = ("vlen-utf8", "vlen-bytes", "json2", "pickle")
#: Object codecs numcodecs knows but this project does not accept.
_UNSUPPORTED_OBJECT_CODECS = frozenset({"msgpack2", "vlen-array", "categorize", "json",
                                        "msgpack"})
#: The json2 filter configuration of FORMAT.md 2.5 (keys in the order 0.13 writes them).
JSON2_FILTER = {"allow_nan": True, "check_circular": True, "encoding": "utf-8",
                "ensure_ascii": True, "id": "json2", "indent": None, "separators": [",", ":"],
                "skipkeys": False, "sort_keys": True, "strict": True}
#: The pickle filter configuration of FORMAT.md 2.5.
PICKLE_FILTER = {"id": "pickle", "protocol": 5}

#: Largest number of elements of one object chunk decoded at once (FORMAT.md 5).
MAX_CHUNK_ELEMENTS = 2**26
#: Largest encoded (stored) object chunk (FORMAT.md 5).
MAX_ENCODED_CHUNK_BYTES = 256 * 2**20
#: Largest object chunk payload after decompression (``limits.MAX_VARIABLE_CHUNK_BYTES``).
MAX_DECODED_CHUNK_BYTES = limits.MAX_VARIABLE_CHUNK_BYTES
_MAX_NDIM = 32
_MAX_SHAPE = 2**63
_FETCH_BATCH = 64


def _node_path(path: str) -> tuple[str, str]:
    """(store key prefix, absolute node path) of a node path."""
    prefix = path.strip("/")
    return prefix, "/" + prefix


def _filled(shape: tuple[int, ...], dtype: np.dtype, fill: Any) -> np.ndarray:
    """Array of ``shape`` holding ``fill`` (object dtype) or zeros with ``None`` in the object
    fields (structured dtype)."""
    if dtype.fields is None:
        out = np.empty(shape, dtype=object)
        out.fill(fill)
        return out
    out = np.zeros(shape, dtype=dtype)
    for name, field in struct_fields(dtype):
        if field.hasobject:
            out[name][...] = None
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


# ----------------------------------------------------------------------------------------------
# metadata
# ----------------------------------------------------------------------------------------------

def _parse_dtype(spec: Any, path: str) -> np.dtype:
    """The numpy dtype of a ``.zarray`` ``dtype`` that holds objects (``|O`` or a list)."""
    if spec == "|O":
        return np.dtype(object)
    if not isinstance(spec, list) or not spec or len(spec) > 4096:
        raise FormatError(f".zarray dtype {spec!r} is not an object dtype", path)
    fields: list[tuple] = []
    for entry in spec:
        # a field is [name, dtype] or [name, dtype, shape]
        if not isinstance(entry, list) or not 2 <= len(entry) <= 3 \
                or not isinstance(entry[0], str) or not isinstance(entry[1], str):
            raise FormatError(f"malformed structured dtype field {entry!r}", path)
        name, code = entry[0], entry[1]
        if code == "|O":
            field = np.dtype(object)
        else:
            try:
                field = np.dtype(code)
            except (TypeError, ValueError) as exc:
                raise UnknownCodecError(f"unknown field data type {code!r} ({exc})",
                                        path) from None
            if field.hasobject or field.fields is not None or field.subdtype is not None:
                raise FormatError(f"unsupported field data type {code!r}", path)
        if len(entry) == 3:
            sub = entry[2]
            if not isinstance(sub, list) or len(sub) > _MAX_NDIM \
                    or not all(_is_int(n) and 0 < n < 2**31 for n in sub):
                raise FormatError(f"malformed subarray shape in field {entry!r}", path)
            fields.append((name, field, tuple(int(n) for n in sub)))
        else:
            fields.append((name, field))
    try:
        dtype = np.dtype(fields)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"invalid structured dtype ({exc})", path) from None
    if not dtype.hasobject:
        raise FormatError("structured dtype without object fields is not an object dtype", path)
    return dtype


def is_object_array_v2(meta: dict) -> bool:
    """True when a parsed ``.zarray`` describes an object array this module must handle.

    Parameters
    ----------
    meta : dict
        The parsed ``.zarray`` document.

    Returns
    -------
    bool
        True for dtype ``"|O"`` (whatever its object codec, vlen-utf8 included) and for a
        structured (list form) dtype with at least one ``"|O"`` field (at any depth).
    """
    if not isinstance(meta, Mapping):
        return False
    dtype = meta.get("dtype")
    if dtype == "|O":
        return True
    return isinstance(dtype, list) and _has_object_field(dtype, 0)


def _has_object_field(spec: list, depth: int) -> bool:
    if depth > 8:
        return False
    for entry in spec:
        if isinstance(entry, list) and len(entry) >= 2:
            if entry[1] == "|O":
                return True
            if isinstance(entry[1], list) and _has_object_field(entry[1], depth + 1):
                return True
    return False


def _get_codec(config: Any, path: str, role: str):
    if not isinstance(config, Mapping) or not isinstance(config.get("id"), str):
        raise FormatError(f"{role} {config!r} is not a codec configuration", path)
    try:
        return numcodecs.get_codec(dict(config))
    except (ValueError, KeyError) as exc:
        raise UnknownCodecError(f"unknown {role} codec {config['id']!r} ({exc})", path) from None
    except TypeError as exc:
        raise FormatError(f"invalid {role} configuration {config!r} ({exc})", path) from None


# ----------------------------------------------------------------------------------------------
# decompression with size checks
# ----------------------------------------------------------------------------------------------

def _decompress(codec, raw: bytes, path: str) -> bytes:
    """The chunk's payload, decompressed without ever producing more than
    :data:`MAX_DECODED_CHUNK_BYTES` (``bounded_decode``)."""
    try:
        return decompress(codec, raw, MAX_DECODED_CHUNK_BYTES)
    except DecodedSizeError as exc:
        raise FormatError(str(exc), path) from None
    except MemoryError:
        raise FormatError("not enough memory to decompress the chunk", path) from None
    except Exception as exc:  # codec libraries raise assorted types on corrupt input
        raise FormatError(f"cannot decompress chunk with {codec.codec_id} ({exc})",
                          path) from None


# ----------------------------------------------------------------------------------------------
# the array
# ----------------------------------------------------------------------------------------------

class ObjectArrayV2:
    """A Zarr format 2 object array (``|O`` or structured with ``|O`` fields) read straight
    from the store.

    Nothing is read when the object is created; chunks are fetched (concurrently) and decoded
    on indexing.

    Parameters
    ----------
    store : zarr.abc.store.Store
        The store holding the array.
    path : str
        Node path of the array (leading ``/`` optional; ``""`` or ``"/"`` is the root).
    meta : dict
        The parsed ``.zarray`` document.
    allow_record_scalars : bool, optional
        Let the restricted pickle decoder build ``np.void`` record scalars (compound datasets
        without reference fields written by hdmf-zarr 0.13; FORMAT.md 2.5).

    Raises
    ------
    FormatError
        When ``meta`` breaks FORMAT.md (shape, chunks, dtype, separator, order, filter chain).
    UnknownCodecError
        When a compressor or filter id, or a field data type, is unknown.
    """

    def __init__(self, store: Store, path: str, meta: dict, *,
                 allow_record_scalars: bool = False) -> None:
        self._store = store
        self._prefix, self._path = _node_path(path)
        self._allow_record_scalars = bool(allow_record_scalars)
        where = self._path
        if not isinstance(meta, Mapping):
            raise FormatError(".zarray is not a JSON object", where)
        if meta.get("zarr_format", 2) != 2:
            raise FormatError(f"zarr_format {meta.get('zarr_format')!r} is not 2", where)
        shape, chunks = meta.get("shape"), meta.get("chunks")
        if not isinstance(shape, list) or len(shape) > _MAX_NDIM:
            raise FormatError(f"shape must be a list of at most {_MAX_NDIM} integers", where)
        if not all(_is_int(n) and 0 <= n < _MAX_SHAPE for n in shape):
            raise FormatError(f"shape {shape!r} has an entry that is not a non-negative "
                              "integer below 2**63", where)
        if not isinstance(chunks, list) or len(chunks) != len(shape):
            raise FormatError(f"chunks {chunks!r} must be a list with one entry per axis", where)
        if not all(_is_int(n) and 0 < n < _MAX_SHAPE for n in chunks):
            raise FormatError(f"chunks {chunks!r} has an entry that is not a positive integer",
                              where)
        self._shape = tuple(int(n) for n in shape)
        self._chunks = tuple(int(n) for n in chunks)
        self._dtype = _parse_dtype(meta.get("dtype"), where)
        order = meta.get("order", "C")
        if order not in ("C", "F"):
            raise FormatError(f"order {order!r} is not 'C' or 'F'", where)
        self._order = order
        sep = meta.get("dimension_separator")
        if sep is None:
            sep = "."
        if sep not in (".", "/"):
            raise FormatError(f"dimension_separator {sep!r} is not '.' or '/'", where)
        self._sep = sep
        # ``fill_value`` (0, "", null, or 0.13's base64 pickle "gAVLAC4=") is never decoded

        compressor = meta.get("compressor")
        self._compressor = None
        if compressor is not None:
            cid = compressor.get("id") if isinstance(compressor, Mapping) else None
            if cid in OBJECT_CODECS or cid in _UNSUPPORTED_OBJECT_CODECS:
                raise FormatError(f"object codec {cid!r} cannot be the compressor", where)
            self._compressor = _get_codec(compressor, where, "compressor")

        filters = meta.get("filters") or []
        if not isinstance(filters, list):
            raise FormatError("filters must be a list or null", where)
        object_at = None
        for i, config in enumerate(filters):
            if not isinstance(config, Mapping) or not isinstance(config.get("id"), str):
                raise FormatError(f"filter {config!r} is not a codec configuration", where)
            fid = config["id"]
            if fid in _UNSUPPORTED_OBJECT_CODECS:
                raise UnknownCodecError(f"unsupported object codec {fid!r}", where)
            if fid in OBJECT_CODECS:
                if object_at is not None:
                    raise FormatError("more than one object codec in filters", where)
                object_at = i
            else:
                _get_codec(config, where, "filter")  # unknown ids fail here
        if object_at is None:
            raise FormatError("object array without an object codec (vlen-utf8, vlen-bytes, "
                              "json2 or pickle) in filters", where)
        if object_at != 0:
            raise FormatError("filters before the object codec are not supported", where)
        self._object_config = dict(filters[0])
        self._object_codec = filters[0]["id"]
        self._byte_filters = [_get_codec(c, where, "filter") for c in filters[1:]]
        if self._object_codec in ("vlen-utf8", "vlen-bytes") and self._dtype.fields is not None:
            raise FormatError(f"{self._object_codec} cannot encode a structured dtype", where)
        if self._object_codec == "json2":
            self._json_encoding, self._json_strict = _parse_json2_config(self._object_config,
                                                                         where)
        self._fill: str | bytes | None
        if self._object_codec == "vlen-utf8":
            self._fill = ""
        elif self._object_codec == "vlen-bytes":
            self._fill = b""
        else:
            self._fill = None

    # -- properties ----------------------------------------------------------------------------
    @property
    def path(self) -> str:
        """Absolute node path of the array (``/`` for the root)."""
        return self._path

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape."""
        return self._shape

    @property
    def chunks(self) -> tuple[int, ...]:
        """Chunk shape."""
        return self._chunks

    @property
    def dtype(self) -> np.dtype:
        """``numpy.dtype(object)`` or the structured dtype with object fields."""
        return self._dtype

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self._shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self._shape)

    @property
    def object_codec(self) -> str:
        """Id of the object codec: ``vlen-utf8``, ``vlen-bytes``, ``json2`` or ``pickle``."""
        return self._object_codec

    @property
    def fill_value(self) -> Any:
        """Value of elements whose chunk is absent: ``""`` (vlen-utf8), ``b""`` (vlen-bytes),
        ``None`` otherwise (object fields of structured arrays; numeric fields are 0). The
        ``fill_value`` of ``.zarray`` (``0``, ``""``, ``null`` or a pickled base64 string) is
        never decoded."""
        return self._fill

    @property
    def order(self) -> str:
        """Memory order of the stored chunks (``C`` or ``F``)."""
        return self._order

    @property
    def dimension_separator(self) -> str:
        """Separator of chunk key indices (``.`` or ``/``)."""
        return self._sep

    @property
    def nchunks(self) -> int:
        """Number of chunks of the grid (present or not)."""
        return math.prod(self._grid())

    def __repr__(self) -> str:
        return (f"<ObjectArrayV2 {self._path} shape={self._shape} dtype={self._dtype} "
                f"codec={self._object_codec}>")

    # -- chunk plumbing ------------------------------------------------------------------------
    def _grid(self) -> tuple[int, ...]:
        return tuple(-(-s // c) for s, c in zip(self._shape, self._chunks))

    def _chunk_key(self, coords: tuple[int, ...]) -> str:
        name = self._sep.join(str(i) for i in coords) if coords else "0"
        return f"{self._prefix}/{name}" if self._prefix else name

    def _check_chunk_limits(self) -> None:
        count = math.prod(self._chunks)
        if count > MAX_CHUNK_ELEMENTS:
            raise FormatError(f"chunk of {count} elements exceeds the limit of "
                              f"{MAX_CHUNK_ELEMENTS}", self._path)
        if count * self._dtype.itemsize > MAX_DECODED_CHUNK_BYTES:
            raise FormatError("chunk memory size exceeds the limit", self._path)

    def _decode_chunk(self, raw: bytes | None) -> np.ndarray:
        """Full (uncropped) chunk array from its stored bytes (fill when absent)."""
        shape = self._chunks
        if raw is None:
            return self._fill_value_chunk(shape)
        path = self._path
        if len(raw) > MAX_ENCODED_CHUNK_BYTES:
            raise FormatError(f"stored chunk of {len(raw)} bytes exceeds the limit", path)
        buf = raw
        if self._compressor is not None:
            buf = _decompress(self._compressor, buf, path)
        for codec in reversed(self._byte_filters):
            try:
                buf = numcodecs.compat.ensure_bytes(codec.decode(buf))
            except Exception as exc:  # codec libraries raise assorted types
                raise FormatError(f"filter {codec.codec_id} failed ({exc})", path) from None
            if len(buf) > MAX_DECODED_CHUNK_BYTES:
                raise FormatError("decoded chunk exceeds the size limit", path)
        count = math.prod(shape)
        codec = self._object_codec
        if codec in ("vlen-utf8", "vlen-bytes"):
            flat = _decode_vlen(buf, count, codec == "vlen-utf8", path)
            return flat.reshape(shape, order=self._order)
        if codec == "json2":
            return _decode_json2(buf, self._dtype, shape, self._json_encoding,
                                 self._json_strict, path)
        obj = restricted_loads(buf, array_path=path,
                               allow_record_scalars=self._allow_record_scalars,
                               expect=(self._dtype, shape))
        return check_decoded_array(obj, dtype=self._dtype, shape=shape, array_path=path)

    def _fill_value_chunk(self, shape: tuple[int, ...]) -> np.ndarray:
        return _filled(shape, self._dtype, self._fill)

    def _fetch(self, coords_list: list[tuple[int, ...]]):
        """Yield ``(coords, decoded full chunk)`` for the given chunk coordinates."""
        self._check_chunk_limits()
        for start in range(0, len(coords_list), _FETCH_BATCH):
            batch = coords_list[start:start + _FETCH_BATCH]
            keys = [self._chunk_key(c) for c in batch]
            raws = get_many(self._store, keys)
            for coords, key in zip(batch, keys):
                yield coords, self._decode_chunk(raws[key])

    def read_chunk(self, coords: tuple[int, ...]) -> np.ndarray:
        """Decode one chunk.

        Parameters
        ----------
        coords : tuple of int
            Chunk grid coordinates, one per axis (``()`` for a 0-d array).

        Returns
        -------
        numpy.ndarray
            The chunk, cropped to the array bounds for edge chunks; filled with
            :attr:`fill_value` when the chunk key is absent.
        """
        coords = tuple(coords)
        grid = self._grid()
        if len(coords) != len(grid) or not all(_is_int(c) and 0 <= c < g
                                                for c, g in zip(coords, grid)):
            raise IndexError(f"chunk coordinates {coords!r} outside the chunk grid {grid}")
        coords = tuple(int(c) for c in coords)
        ((_, chunk),) = list(self._fetch([coords]))
        crop = tuple(slice(0, min(c, s - i * c))
                     for i, c, s in zip(coords, self._chunks, self._shape))
        return chunk[crop + (Ellipsis,)]

    # -- indexing ------------------------------------------------------------------------------
    def _parse_key(self, key):
        """Per-axis index arrays, which axes an integer drops, and the fancy-axis move."""
        if not isinstance(key, tuple):
            key = (key,)
        n_ellipsis = sum(1 for k in key if k is Ellipsis)
        if n_ellipsis > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        ndim = self.ndim
        if n_ellipsis:
            at = next(i for i, k in enumerate(key) if k is Ellipsis)
            fill = ndim - (len(key) - 1)
            if fill < 0:
                raise IndexError(f"too many indices for array: array is {ndim}-dimensional")
            key = key[:at] + (slice(None),) * fill + key[at + 1:]
        if len(key) > ndim:
            raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but "
                             f"{len(key)} were indexed")
        key = key + (slice(None),) * (ndim - len(key))
        axes, drop, fancy_axis = [], [], None
        for axis, (k, n) in enumerate(zip(key, self._shape)):
            if _is_int(k):
                i = int(k)
                if i < 0:
                    i += n
                if not 0 <= i < n:
                    raise IndexError(f"index {int(k)} is out of bounds for axis {axis} with "
                                     f"size {n}")
                axes.append(np.array([i], dtype=np.intp))
                drop.append(True)
            elif isinstance(k, slice):
                axes.append(np.arange(*k.indices(n), dtype=np.intp))
                drop.append(False)
            elif isinstance(k, (list, np.ndarray)):
                if fancy_axis is not None:
                    raise IndexError("integer array indices are supported on one axis only")
                arr = np.asarray(k)
                if arr.dtype == bool:
                    if arr.shape != (n,):
                        raise IndexError(f"boolean index of shape {arr.shape} does not match "
                                         f"axis {axis} of size {n}")
                    arr = np.flatnonzero(arr)
                elif arr.size == 0:
                    arr = arr.astype(np.intp).reshape(-1)
                elif arr.dtype.kind not in "iu":
                    raise IndexError("arrays used as indices must be of integer or boolean type")
                if arr.ndim != 1:
                    raise IndexError("only 1-D integer array indices are supported")
                arr = arr.astype(np.intp)
                arr = np.where(arr < 0, arr + n, arr)
                if arr.size and (arr.min() < 0 or arr.max() >= n):
                    raise IndexError(f"index out of bounds for axis {axis} with size {n}")
                axes.append(arr)
                drop.append(False)
                fancy_axis = axis
            else:
                raise IndexError(f"unsupported index {k!r}; use integers, slices, Ellipsis or "
                                 "1-D integer arrays")
        move_front = False
        if fancy_axis is not None:
            # numpy: with integers beside the array index, the advanced indices are broadcast
            # together; when they are not adjacent the result axis goes first.
            adv = sorted([fancy_axis] + [a for a, d in enumerate(drop) if d])
            move_front = adv[-1] - adv[0] + 1 != len(adv)
        return axes, drop, fancy_axis, move_front, n_ellipsis > 0

    def _read_selection(self, axes: list[np.ndarray]) -> np.ndarray:
        out = np.empty(tuple(len(a) for a in axes), dtype=self._dtype)
        if out.size == 0 and self.ndim:
            return out
        groups = []
        for idx, c in zip(axes, self._chunks):
            cidx = idx // c
            order = np.argsort(cidx, kind="stable")
            sorted_c = cidx[order]
            cuts = np.flatnonzero(np.diff(sorted_c)) + 1
            per = {}
            for part in np.split(order, cuts):
                chunk_i = int(cidx[part[0]])
                per[chunk_i] = (part, idx[part] - chunk_i * c)
            groups.append(per)
        coords_list = list(itertools.product(*(sorted(g) for g in groups)))
        for coords, chunk in self._fetch(coords_list):
            if not coords:
                out[...] = chunk[...]
                continue
            dst = np.ix_(*(groups[a][ci][0] for a, ci in enumerate(coords)))
            src = np.ix_(*(groups[a][ci][1] for a, ci in enumerate(coords)))
            out[dst] = chunk[src]
        return out

    def __getitem__(self, key):
        check_read_size(self._shape, key, limits.object_read_itemsize(self._dtype), self._path)
        axes, drop, fancy_axis, move_front, has_ellipsis = self._parse_key(key)
        try:
            out = self._read_selection(axes)
        except MemoryError:
            raise FormatError(f"not enough memory to read this selection (shape "
                              f"{self._shape})", self._path) from None
        if all(drop) and not has_ellipsis:
            return out[(0,) * self.ndim]
        result = out[tuple(0 if d else slice(None) for d in drop) + (Ellipsis,)]
        if move_front:
            position = fancy_axis - sum(1 for a in range(fancy_axis) if drop[a])
            result = np.moveaxis(result, position, 0)
        return result

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("ObjectArrayV2 always reads into a new array; copy=False is not "
                             "possible")
        data = self[...]
        if dtype is not None and np.dtype(dtype) != data.dtype:
            data = data.astype(dtype)
        return data

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of unsized object")
        return self._shape[0]

    def __iter__(self):
        if not self._shape:
            raise TypeError("iteration over a 0-d array")
        return self._iter_rows()

    def _iter_rows(self):
        step = self._chunks[0]
        for start in range(0, self._shape[0], step):
            yield from self[start:start + step]
