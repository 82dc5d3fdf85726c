"""Dask arrays as dataset data (DESIGN.md "Distributed scale-out is dask's job";
docs/large-data.md "Dask").

A numeric dask array given as dataset data (directly or inside ``ZarrDataIO``) is stored chunk
parallel by dask itself, with ``dask.array.store`` into the Zarr array the writer created:

* The dask array is first **rechunked to the stored-object grid**: every dask block is a whole
  number of shards (sharded L3 arrays) or chunks, about 128 MiB (dask's ``array.chunk-size``),
  so that no two dask tasks ever write the same stored object.
* The write runs on whatever dask would compute with: the ``distributed.Client`` that is
  active (its cluster's workers write straight into the store, which must therefore be one they
  can open: a directory, a URL...), else dask's configured scheduler (threads by default).
* ``progress=True`` shows a tqdm bar: dask tasks for local schedulers, stored blocks on a
  cluster.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import numpy as np

from ..errors import UnsupportedDataError
from .chunking import block_shape
from .progress import progress_bar

__all__ = ["is_dask_array", "store_dask_array", "active_client"]


def is_dask_array(data: Any) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    if "dask" not in sys.modules:
        return False
    mod = type(data).__module__ or ""
    return mod.startswith("dask.array") and hasattr(data, "dask") and hasattr(data, "chunks")


def active_client() -> Any:
    """The ``distributed.Client`` dask would compute with now, or None."""
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import default_client

        return default_client()
    except (ValueError, ImportError):
        return None


def _scheduler_needs_pickling() -> bool:
    import dask

    return dask.config.get("scheduler", None) in ("processes", "multiprocessing")


def _dask_block_bytes() -> int:
    import dask
    from dask.utils import parse_bytes

    value = dask.config.get("array.chunk-size", "128MiB")
    try:
        return int(parse_bytes(value))
    except Exception:  # pragma: no cover - a malformed config
        return 128 * 2**20


def store_dask_array(darr: Any, arr: Any, path: str, *, progress: bool = False) -> None:
    """Store a dask array into a Zarr array through dask.

    Parameters
    ----------
    darr : dask.array.Array
        Numeric data of the array's shape (cast to the array's dtype when it differs).
    arr : zarr.Array
        The target, already created (chunks, shards, codecs chosen by the writer).
    path : str
        Dataset path, for messages and the progress bar.
    progress : bool
        Show a tqdm progress bar.

    Raises
    ------
    UnsupportedDataError
        When the dask array's shape differs from the array's, its chunk sizes are unknown
        (``nan``), or the computation runs in other processes (a ``distributed`` cluster, the
        ``processes`` scheduler) and the store cannot be opened there (in memory).
    """
    import dask
    import dask.array as da

    from .parallel import store_is_shareable

    if any(not isinstance(c, (int, np.integer)) or c != c for dim in darr.chunks for c in dim):
        raise UnsupportedDataError(
            "the dask array has unknown chunk sizes (nan); call compute_chunk_sizes() first",
            path)
    shape = tuple(int(s) for s in darr.shape)
    if shape != tuple(arr.shape):
        raise UnsupportedDataError(
            f"the dask array has shape {shape}, the dataset {tuple(arr.shape)}", path)
    if 0 in shape:
        return
    dtype = np.dtype(arr.dtype)
    if darr.dtype != dtype:
        if not np.can_cast(darr.dtype, dtype, casting="same_kind"):
            raise UnsupportedDataError(
                f"the dask array has dtype {darr.dtype}; the dataset is {dtype}", path)
        darr = darr.astype(dtype)
    client = active_client()
    if (client is not None or _scheduler_needs_pickling()) and not store_is_shareable(arr.store):
        raise UnsupportedDataError(
            "dask computes this array in other processes (a distributed cluster or the "
            "processes scheduler), which cannot open this store (in memory or not picklable); "
            "write to a directory or URL, or compute with threads", path)
    object_shape = tuple(arr.shards or arr.chunks)
    workers = _worker_count(client)
    block = block_shape(shape, object_shape, dtype.itemsize, _dask_block_bytes(),
                        min_blocks=2 * workers)
    darr = darr.rechunk(block)
    if client is None:
        stored = da.store(darr, arr, lock=False, compute=False)
        if progress:
            from tqdm.dask import TqdmCallback

            with TqdmCallback(desc=path, file=sys.stderr, leave=False):
                dask.compute(stored)
        else:
            dask.compute(stored)
        return
    _store_on_cluster(client, darr, arr, block, path, progress)


def _worker_count(client) -> int:
    import os

    if client is not None:
        with contextlib.suppress(Exception):
            return max(1, len(client.scheduler_info().get("workers", {})))
    return os.cpu_count() or 1


def _store_on_cluster(client, darr, arr, block, path, progress) -> None:
    """``dask.array.store`` per band of blocks along the first axis, so that the bar can count
    bands as the cluster finishes them."""
    import dask.array as da
    from distributed import as_completed

    n0 = darr.numblocks[0]
    per_band = max(1, -(-n0 // 64))
    delayed = []
    for first in range(0, n0, per_band):
        start = first * block[0]
        stop = min(darr.shape[0], (first + per_band) * block[0])
        region = (slice(start, stop),) + tuple(slice(0, s) for s in darr.shape[1:])
        delayed.append(da.store(darr[region], arr, regions=region, lock=False, compute=False))
    futures = client.compute(delayed)
    bar = progress_bar(progress, desc=path, total=len(futures), unit="band")
    try:
        for fut in as_completed(futures):
            fut.result()
            bar.update(1)
    finally:
        bar.close()
