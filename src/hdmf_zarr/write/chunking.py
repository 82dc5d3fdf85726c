"""Chunk and shard shapes of large datasets (FORMAT.md 3.8; docs/large-data.md).

Pure functions: no store access. The writer asks :func:`plan_storage` for the chunk and shard
shape of every array that Zarr writes, and the parallel and dask writers ask
:func:`block_shape` / :func:`aligned_regions` for work units that cover whole stored objects.

The rules
---------
* **Chunks** (both layouts), when none are given: start from the whole array and halve its
  longest axis (the first of equal ones) until a chunk holds at most
  :data:`DEFAULT_CHUNK_BYTES` (4 MiB). A chunk of a large array therefore holds 2-4 MiB. An
  array whose first axis grows (an iterator of unknown length) is chunked as if that axis were
  very long.
* **Shards** (layout L3 only), when ``shards`` is None: an array of at most
  :data:`MAX_UNSHARDED_OBJECTS` (256) chunks, or of unknown final size, is not sharded. A larger
  one is sharded with shards of ``clamp(nbytes / 256, 64 MiB, 512 MiB)`` bytes: whole chunks
  along the last axes first, then along the first axis. So an array of up to 128 GiB lands in at
  most ~256 stored objects; beyond that shards stay at 512 MiB (a writer holds one shard in
  memory). When the data comes from an iterator whose buffer is a whole number of chunks and
  between 16 MiB and 512 MiB, the shard is the buffer, so that every buffer writes whole shards.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import UnsupportedDataError
from ..format.layout import Layout
from ..format.select import as_layout

__all__ = ["DEFAULT_CHUNK_BYTES", "MAX_UNSHARDED_OBJECTS", "MAX_SHARDS", "SHARD_MIN_BYTES",
           "SHARD_MAX_BYTES", "default_chunks", "default_shards", "inner_chunks",
           "check_chunks", "check_shards", "plan_storage", "block_shape", "aligned_regions",
           "region_count", "nbytes_of", "check_settings"]

#: Upper bound of a default chunk, in bytes (chunks of large arrays hold 2-4 MiB).
DEFAULT_CHUNK_BYTES = 4 * 2**20
#: Arrays of at most this many chunks are not sharded by default.
MAX_UNSHARDED_OBJECTS = 256
#: Number of shards the default shard size aims at.
MAX_SHARDS = 256
#: Smallest default shard, in bytes.
SHARD_MIN_BYTES = 64 * 2**20
#: Largest default shard, in bytes (a writer holds a shard in memory).
SHARD_MAX_BYTES = 512 * 2**20
#: An iterator buffer at least this large (and a whole number of chunks) becomes the shard.
BUFFER_SHARD_MIN_BYTES = 16 * 2**20
#: Stand-in length of an axis of unknown final size.
_GROWING = 2**40


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= int(v)
    return out


def default_chunks(shape: Sequence[int], itemsize: int, *, growing_first_axis: bool = False,
                   target_bytes: int = DEFAULT_CHUNK_BYTES) -> tuple[int, ...]:
    """The default chunk shape of an array (module docstring, "Chunks").

    Parameters
    ----------
    shape : tuple of int
        Array shape (elements per axis); entries may be 0.
    itemsize : int
        Bytes per element (``dtype.itemsize``); at least 1 is assumed.
    growing_first_axis : bool
        The first axis grows while writing (its final length is unknown).
    target_bytes : int
        Upper bound of a chunk in bytes.

    Returns
    -------
    tuple of int
        One positive entry per axis; ``()`` for a scalar.
    """
    if len(shape) == 0:
        return ()
    chunk = [max(1, int(s)) for s in shape]
    if growing_first_axis:
        chunk[0] = _GROWING
    itemsize = max(1, int(itemsize))
    while _prod(chunk) * itemsize > target_bytes:
        longest = max(chunk)
        if longest <= 1:
            break
        axis = chunk.index(longest)
        chunk[axis] = -(-chunk[axis] // 2)
    return tuple(chunk)


def _grow(shape, unit, itemsize, target_bytes) -> list[int]:
    """``unit`` multiplied by whole factors, last axis first, while at most ``target_bytes``."""
    out = list(unit)
    for axis in reversed(range(len(unit))):
        count = -(-int(shape[axis]) // unit[axis]) if shape[axis] else 1
        cur = _prod(out) * itemsize
        factor = max(1, min(count, target_bytes // max(1, cur)))
        out[axis] = unit[axis] * factor
        if factor < count:
            break
    return out


def default_shards(shape: Sequence[int], chunks: Sequence[int], itemsize: int, *,
                   buffer_shape: Sequence[int] | None = None,
                   growing: bool = False) -> tuple[int, ...] | None:
    """The default shard shape of a layout-L3 array, or None for no sharding (module docstring,
    "Shards").

    Parameters
    ----------
    shape : tuple of int
        Final array shape.
    chunks : tuple of int
        The (inner) chunk shape.
    itemsize : int
        Bytes per element.
    buffer_shape : tuple of int, optional
        Buffer shape of the iterator that feeds the array, if any.
    growing : bool
        The final shape is unknown (never sharded by default).
    """
    if growing or len(shape) == 0 or 0 in tuple(shape):
        return None
    itemsize = max(1, int(itemsize))
    n_chunks = _prod(-(-int(s) // int(c)) for s, c in zip(shape, chunks))
    if n_chunks <= MAX_UNSHARDED_OBJECTS:
        return None
    nbytes = _prod(shape) * itemsize
    if buffer_shape is not None and len(buffer_shape) == len(shape):
        cand = _buffer_shard(buffer_shape, chunks, shape)
        if cand is not None:
            cand_bytes = _prod(cand) * itemsize
            count = _prod(-(-int(s) // k) for s, k in zip(shape, cand))
            if BUFFER_SHARD_MIN_BYTES <= cand_bytes <= SHARD_MAX_BYTES and count <= MAX_SHARDS:
                return tuple(cand)
    target = min(SHARD_MAX_BYTES, max(SHARD_MIN_BYTES, -(-nbytes // MAX_SHARDS)))
    shard = _grow(shape, list(chunks), itemsize, target)
    if tuple(shard) == tuple(chunks):
        return None
    return tuple(shard)


def _buffer_shard(buffer_shape: Sequence[int], chunks: Sequence[int],
                  shape: Sequence[int]) -> list[int] | None:
    """The iterator's buffer rounded up to whole chunks, or None when a buffer edge falls
    inside a chunk (other than at the end of the data)."""
    out = []
    for b, c, s in zip(buffer_shape, chunks, shape):
        b = min(int(b), int(s))
        if b % c and b != s:
            return None
        out.append(-(-b // c) * c)
    return out


def _largest_divisor_at_most(n: int, limit: int) -> int:
    for d in range(min(n, max(1, limit)), 0, -1):
        if n % d == 0:
            return d
    return 1


def inner_chunks(shards: Sequence[int], itemsize: int,
                 target_bytes: int = DEFAULT_CHUNK_BYTES) -> tuple[int, ...]:
    """Default inner chunks for a given shard shape: every entry divides the shard's, and a
    chunk holds at most ``target_bytes`` where the shard's axes allow it."""
    chunk = [int(s) for s in shards]
    itemsize = max(1, int(itemsize))
    while _prod(chunk) * itemsize > target_bytes:
        order = sorted(range(len(chunk)), key=lambda a: -chunk[a])
        for axis in order:
            smaller = _largest_divisor_at_most(int(shards[axis]), chunk[axis] // 2)
            if smaller < chunk[axis]:
                chunk[axis] = smaller
                break
        else:
            break
    return tuple(chunk)


def _as_shape(value, ndim: int, what: str, path: str) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise UnsupportedDataError(f"{what} {value!r} is not a tuple of integers", path) from None
    if len(out) != ndim:
        raise UnsupportedDataError(
            f"{what} {out} has {len(out)} axes, the data has {ndim}", path)
    if any(v <= 0 for v in out):
        raise UnsupportedDataError(f"{what} {out} has an entry that is not positive", path)
    return out


def check_chunks(chunks: Any, shape: Sequence[int], path: str, *,
                 growing_first_axis: bool = False) -> tuple[int, ...]:
    """Validate a user chunk shape against the data shape.

    Parameters
    ----------
    chunks : sequence of int
    shape : tuple of int
        Data shape (final, or current for a growing first axis).
    path : str
        Dataset path, for messages.
    growing_first_axis : bool
        The first axis may grow past ``shape[0]``.

    Returns
    -------
    tuple of int

    Raises
    ------
    UnsupportedDataError
        Wrong number of axes, an entry that is not positive, or an entry larger than the data
        along an axis of known, non-zero length.
    """
    out = _as_shape(chunks, len(shape), "chunk shape", path)
    for axis, (c, s) in enumerate(zip(out, shape)):
        if growing_first_axis and axis == 0:
            continue
        if s and c > s:
            raise UnsupportedDataError(
                f"chunk shape {out} exceeds the data shape {tuple(shape)} along axis {axis}",
                path)
    return out


def check_shards(shards: Any, chunks: Sequence[int], shape: Sequence[int], path: str, *,
                 growing_first_axis: bool = False) -> tuple[int, ...]:
    """Validate a user shard shape (FORMAT.md 3.8: a multiple of the chunk shape on every axis).

    Raises
    ------
    UnsupportedDataError
        Wrong number of axes, an entry that is not a multiple of the chunk shape, or a shard
        that exceeds the data by a whole chunk or more along an axis of known length.
    """
    out = _as_shape(shards, len(shape), "shard shape", path)
    for axis, (k, c, s) in enumerate(zip(out, chunks, shape)):
        if k % c:
            raise UnsupportedDataError(
                f"shard shape {out} is not a multiple of the chunk shape {tuple(chunks)} along "
                f"axis {axis}", path)
        if growing_first_axis and axis == 0:
            continue
        if s and k - c >= s:
            raise UnsupportedDataError(
                f"shard shape {out} exceeds the data shape {tuple(shape)} along axis {axis}",
                path)
    return out


def plan_storage(shape: Sequence[int], itemsize: int | None, chunks: Any, shards: Any,
                 zarr_format: Layout | int, path: str, *,
                 buffer_shape: Sequence[int] | None = None,
                 growing_first_axis: bool = False) -> tuple[Any, tuple[int, ...] | None]:
    """Chunk and shard shape of an array Zarr creates.

    Parameters
    ----------
    shape : tuple of int
        Data shape (current shape when the first axis grows).
    itemsize : int or None
        Bytes per element; None for variable-size elements (text), which keep Zarr's
        ``"auto"`` chunking and are never sharded by default.
    chunks : tuple of int, True or None
        User chunk shape; True/None pick the default.
    shards : tuple of int, bool or None
        User shard shape; None/True pick the default policy (L3), False disables sharding.
    zarr_format : Layout or int
        The layout written, or its Zarr format number; shards need
        ``Layout.supports_sharding`` (FORMAT.md 3.8).
    path : str
        Dataset path, for messages.
    buffer_shape : tuple of int, optional
        Buffer of the iterator feeding the array.
    growing_first_axis : bool
        The first axis grows while writing.

    Returns
    -------
    (chunks, shards)
        ``chunks`` a tuple or ``"auto"``; ``shards`` a tuple or None.

    Raises
    ------
    UnsupportedDataError
        Invalid chunk or shard shapes (:func:`check_chunks`, :func:`check_shards`), or shards
        asked for in layout L2 or for a scalar.
    """
    ndim = len(shape)
    layout = as_layout(zarr_format)
    explicit_shards = shards not in (None, True, False)
    if explicit_shards and not layout.supports_sharding:
        raise UnsupportedDataError(
            "sharding needs layout L3 (zarr_format=3); layout L2 stores one object per chunk",
            path)
    if ndim == 0:
        if explicit_shards:
            raise UnsupportedDataError("a scalar dataset cannot be sharded", path)
        return (), None
    chunk_shape: tuple[int, ...] | str
    if chunks in (None, True):
        if explicit_shards and itemsize is not None:
            user_shards = _as_shape(shards, ndim, "shard shape", path)
            chunk_shape = inner_chunks(user_shards, itemsize)
        elif itemsize is None:
            chunk_shape = "auto" if 0 not in tuple(shape) else tuple(max(1, s) for s in shape)
        else:
            chunk_shape = default_chunks(shape, itemsize, growing_first_axis=growing_first_axis)
            # a default chunk never exceeds the data
            if not growing_first_axis:
                chunk_shape = tuple(min(c, max(1, s)) for c, s in zip(chunk_shape, shape))
    else:
        chunk_shape = check_chunks(chunks, shape, path, growing_first_axis=growing_first_axis)
    if not layout.supports_sharding or shards is False or isinstance(chunk_shape, str):
        return chunk_shape, None
    if explicit_shards:
        return chunk_shape, check_shards(shards, chunk_shape, shape, path,
                                         growing_first_axis=growing_first_axis)
    if itemsize is None:
        return chunk_shape, None
    return chunk_shape, default_shards(shape, chunk_shape, itemsize, buffer_shape=buffer_shape,
                                       growing=growing_first_axis)


def block_shape(shape: Sequence[int], object_shape: Sequence[int], itemsize: int,
                target_bytes: int, min_blocks: int = 1) -> tuple[int, ...]:
    """A work unit made of whole stored objects (shards, else chunks).

    Grows ``object_shape`` by whole factors, last axis first, up to ``target_bytes`` (at least one
    object), then shrinks the first axis that spans several objects until the array splits into
    at least ``min_blocks`` units (when it can).

    Parameters
    ----------
    shape : tuple of int
        Array shape.
    object_shape : tuple of int
        Shard shape (sharded arrays) or chunk shape.
    itemsize : int
        Bytes per element.
    target_bytes : int
        Wanted bytes per unit (e.g. the iterator's buffer size).
    min_blocks : int
        Wanted least number of units (e.g. twice the number of workers).
    """
    block = _grow(shape, [int(o) for o in object_shape], max(1, int(itemsize)),
                  max(1, int(target_bytes)))
    while region_count(shape, block) < min_blocks:
        for axis in range(len(block)):
            if block[axis] > object_shape[axis]:
                factor = block[axis] // object_shape[axis]
                block[axis] = object_shape[axis] * max(1, factor // 2)
                break
        else:
            break
    return tuple(block)


def region_count(shape: Sequence[int], block: Sequence[int]) -> int:
    """Number of blocks of shape ``block`` that tile ``shape``."""
    return _prod(-(-int(s) // int(b)) for s, b in zip(shape, block)) if len(shape) else 1


def aligned_regions(shape: Sequence[int], block: Sequence[int]) -> Iterator[tuple[slice, ...]]:
    """The regions (tuples of slices, C order) of blocks of shape ``block`` tiling ``shape``;
    edge blocks are clipped to the array."""
    ranges = [range(0, int(s), int(b)) for s, b in zip(shape, block)]
    for starts in itertools.product(*ranges):
        yield tuple(slice(a, min(a + int(b), int(s))) for a, b, s in zip(starts, block, shape))


def nbytes_of(shape: Sequence[int], itemsize: int) -> int:
    """Bytes of an array of ``shape`` (0 for an empty one)."""
    return _prod(shape) * int(itemsize) if len(shape) else int(itemsize)



def check_settings(data: Any, path: str, zarr_format: Layout | int) -> None:
    """Check the chunk and shard shapes and the codecs a ``ZarrDataIO`` asks for against its
    numeric data and the layout, before the first key of a write is stored (the writer's
    ``check_tree``), so that a refused dataset leaves the store as it was.

    Only data of a known numeric dtype and shape is checked (arrays, lazy arrays, dask arrays,
    data chunk iterators); anything else is checked when it is written.

    Parameters
    ----------
    data : object
        The dataset's data; only a wrapper with ``io_settings`` is checked.
    path : str
        Dataset path, for messages.
    zarr_format : Layout or int
        The layout written, or its Zarr format number.

    Raises
    ------
    UnsupportedDataError, UnknownCodecError
        As :func:`plan_storage` and ``write.codecs.codec_kwargs`` would when the dataset is
        written.
    """
    import numpy as np

    from ..errors import HdmfZarrError
    from .codecs import codec_kwargs

    settings = getattr(data, "io_settings", None)
    if not isinstance(settings, dict) or not settings:
        return
    inner = getattr(data, "data", None)
    if inner is None:
        return
    try:
        maxshape = getattr(inner, "maxshape", None)
        if maxshape is not None and not hasattr(inner, "shape"):  # a data chunk iterator
            shape = tuple(0 if m is None else int(m) for m in maxshape)
            growing = len(maxshape) > 0 and maxshape[0] is None
        else:
            shape = tuple(int(s) for s in inner.shape)
            growing = False
        dtype = np.dtype(inner.dtype)
    except Exception:  # no shape or dtype to check against: the write reports problems
        return
    if dtype.kind not in "biuf" or any(s != s for s in shape):
        return
    layout = as_layout(zarr_format)
    shape = layout.stored_shape(shape)
    try:
        if "chunks" in settings or "shards" in settings:
            plan_storage(shape, dtype.itemsize, settings.get("chunks"), settings.get("shards"),
                         layout, path, growing_first_axis=growing)
        if any(k in settings for k in ("compressor", "compressors", "filters", "serializer")):
            codec_kwargs(settings, layout, dtype, path, warn=False)
    except HdmfZarrError:
        raise
    except Exception:  # depends on more than the settings: the write itself reports it
        return
