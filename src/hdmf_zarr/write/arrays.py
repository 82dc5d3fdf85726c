"""Creating the Zarr arrays of datasets and writing data that does not come as one in-memory
array (docs/large-data.md).

:class:`ArrayWrites` is the part of the ``BuilderWriter`` that creates Zarr arrays (chunks and
shards from ``write.chunking``, codecs from ``write.codecs``, everything the layout decides from
the :class:`~hdmf_zarr.format.layout.Layout`) and routes lazy data: dask arrays
(``write.dask``), lazy HDF5/Zarr sources copied block by block, and the jobs left to worker
processes (``write.parallel``). Iterators are in ``write.iterators``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import zarr
from hdmf.data_utils import AbstractDataChunkIterator

from ..format.dtypes import DataKind
from ..format.layout import Layout
from .chunking import plan_storage
from .codecs import codec_kwargs
from .data import encode_block
from .options import BLOCK_BYTES, LARGE_DATASET_BYTES, WriteOptions
from .progress import progress_bar

__all__ = ["ArrayWrites"]


class ArrayWrites:
    """Base of ``BuilderWriter``: array creation and lazy data written block by block.

    The writer sets the attributes below and provides :meth:`_encode_ref_element`.
    """

    #: The store written to (a ``zarr.abc.store.Store``).
    store: Any
    #: The layout written (FORMAT.md 2 or 3).
    layout: Layout
    #: Every node document written (store key -> document; None: fetched when consolidating).
    documents: dict[str, dict | None]
    options: WriteOptions
    #: Datasets left to the worker processes (``write.parallel.ParallelJob``).
    _parallel_jobs: list[Any]
    #: ``write.dimensions.DimensionNamer`` of this write, made when first needed.
    _dimension_namer: Any = None

    def _encode_ref_element(self, value: Any) -> Any:
        """The stored element of one reference value (the writer's)."""
        raise NotImplementedError

    def _dimension_names(self, builder: Any, path: str, shape: tuple, *,
                         growing: bool = False) -> tuple | None:
        """The dimension names stored for a dataset (``write.dimensions``); an array whose
        builder has no labels that fit its rank gets placeholders too (xarray opens no Zarr 3
        array without ``dimension_names``); None for scalars."""
        if len(shape) == 0:
            return None
        labels = _labels(builder, shape) or tuple(f"dim{i}" for i in range(len(shape)))
        if self._dimension_namer is None:
            from .dimensions import DimensionNamer

            self._dimension_namer = DimensionNamer()
        return self._dimension_namer.names(path, labels, shape, growing=growing)

    def _settings_from_hdf5(self, dset: Any) -> dict:
        """Storage settings equivalent to an HDF5 dataset's chunks and filters (FORMAT.md 6);
        an uncompressed HDF5 dataset gets the layout's default compressor."""
        from .hdf5_filters import codecs_from_h5py

        mapped = codecs_from_h5py(dset, self.layout)
        settings: dict[str, Any] = {}
        if mapped.get("chunks"):
            settings["chunks"] = tuple(mapped["chunks"])
        if self.layout.uses_numcodecs:
            if mapped.get("compressor") is not None:
                settings["compressor"] = mapped["compressor"]
            if mapped.get("filters"):
                settings["filters"] = list(mapped["filters"])
        elif mapped.get("compressors"):
            settings["zarr3_compressors"] = list(mapped["compressors"])
        return settings

    def _with_large_settings(self, settings: dict, explicit: set, data: Any) -> dict:
        """``settings`` completed by ``options.large_dataset_settings`` when ``data`` is a
        numeric dataset of at least :data:`LARGE_DATASET_BYTES` (keys the data's own
        ``ZarrDataIO`` set are kept)."""
        shape, dtype = _shape_dtype(data)
        if shape is None or len(shape) == 0 or dtype is None or dtype.kind not in "biuf":
            return settings
        if None not in shape and int(np.prod(shape)) * dtype.itemsize < LARGE_DATASET_BYTES:
            return settings
        large = self.options.large_dataset_settings or {}
        out = dict(settings)
        codec_keys = ("compressor", "compressors", "filters", "serializer")
        if any(k in large for k in codec_keys) and not explicit & set(codec_keys):
            for k in (*codec_keys, "zarr3_compressors"):
                out.pop(k, None)
            out.update({k: large[k] for k in codec_keys if k in large})
        known = [s if s is not None else 0 for s in shape]
        chunks = large.get("chunks")
        if "chunks" not in explicit and isinstance(chunks, tuple) and len(chunks) == len(shape):
            out["chunks"] = tuple(min(c, s) if s else c for c, s in zip(chunks, known))
        shards = large.get("shards")
        if "shards" not in explicit and shards is not None and self.layout.supports_sharding:
            if isinstance(shards, bool):
                out["shards"] = shards
            elif len(shards) == len(shape):
                inner = out.get("chunks")
                if isinstance(inner, tuple):
                    out["shards"] = tuple(min(k, -(-s // c) * c) if s else k
                                          for k, c, s in zip(shards, inner, known))
                else:
                    out["shards"] = tuple(min(k, s) if s else k for k, s in zip(shards, known))
        return out

    def _array_kwargs(self, settings: dict, where: str, kind: DataKind,
                      dtype: Any = None) -> dict[str, Any]:
        """``zarr.create_array`` arguments from ``ZarrDataIO``-style settings: chunks, shards,
        codecs (``write.codecs``) and fill value."""
        kw: dict[str, Any] = {}
        if settings.get("chunks") not in (None, True):
            kw["chunks"] = settings["chunks"]
        if settings.get("shards") is not None:
            kw["shards"] = settings["shards"]
        if kind.kind in ("numeric", "compound"):
            kw.update(codec_kwargs(settings, self.layout,
                                   dtype if dtype is not None else kind.dtype or np.dtype("u1"),
                                   where))
        elif self.layout.uses_numcodecs or "compressor" in settings or \
                "compressors" in settings:
            # text: the compressors asked for (in L3 after Zarr's vlen-utf8 serializer)
            kw["compressors"] = codec_kwargs(
                {k: settings[k] for k in ("compressor", "compressors") if k in settings},
                self.layout, np.dtype("u1"), where)["compressors"]
        if settings.get("fillvalue") is not None:
            kw["fill_value"] = settings["fillvalue"]
        return kw

    def _create_array(self, path: str, shape: tuple, dtype: Any, attrs: dict,
                      kw: dict[str, Any], *, buffer_shape: tuple | None = None,
                      growing: bool = False) -> zarr.Array:
        """Create the array (metadata only) with the chunk and shard shape of
        ``chunking.plan_storage``."""
        try:
            itemsize = np.dtype(dtype).itemsize if dtype is not str else None
        except TypeError:
            itemsize = None
        if itemsize == 0:
            itemsize = None
        chunks, shards = plan_storage(shape, itemsize, kw.pop("chunks", None),
                                      kw.pop("shards", None), self.layout, path,
                                      buffer_shape=buffer_shape, growing_first_axis=growing)
        if shards is not None:
            kw["shards"] = shards
        for name, value in self.layout.default_codec_options.items():
            kw.setdefault(name, value)
        if self.layout.chunk_key_encoding is not None:
            kw["chunk_key_encoding"] = self.layout.chunk_key_encoding
        key = path.strip("/")
        for name in self.layout.array_documents:
            self.documents[f"{key}/{name}"] = None  # fetched from the store when consolidating
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # every chunk is stored, also one equal to the fill value (as HDF5 and the released
            # hdmf-zarr do): readers see the data that was written, not an absent key
            return zarr.create_array(self.store, name=path.strip("/"), shape=shape, dtype=dtype,
                                     chunks=chunks, attributes=attrs,
                                     zarr_format=self.layout.zarr_format, overwrite=True,
                                     config={"write_empty_chunks": True}, **kw)

    def _write_lazy(self, arr: zarr.Array, data: Any, kind: DataKind, path: str) -> None:
        """Write a lazy source: through dask for dask arrays, by worker processes for large
        numeric HDF5/Zarr datasets when ``number_of_jobs > 1``, else block by block."""
        from .dask import is_dask_array

        numeric = kind.kind == "numeric" and len(arr.shape) > 0
        if numeric and is_dask_array(data):
            from .dask import store_dask_array

            store_dask_array(data, arr, path, progress=self.options.progress)
            return
        if numeric and self.options.number_of_jobs > 1 and \
                arr.nbytes >= LARGE_DATASET_BYTES:
            from .parallel import source_for_array

            source = source_for_array(data, path)
            if source is not None:
                self._queue_parallel(arr, source, path)
                return
        self._copy_blocks(arr, data, kind, path)

    def _queue_parallel(self, arr: zarr.Array, source: Any, path: str,
                        on_progress: Callable[[int], Any] | None = None) -> None:
        from .parallel import ParallelJob

        self._parallel_jobs.append(ParallelJob(
            path=path, shape=tuple(arr.shape), dtype=np.dtype(arr.dtype),
            object_shape=tuple(arr.shards or arr.chunks), source=source,
            on_progress=on_progress))

    def _run_parallel(self) -> None:
        if not self._parallel_jobs:
            return
        from .parallel import write_jobs

        jobs, self._parallel_jobs = self._parallel_jobs, []
        o = self.options
        write_jobs(self.store, self.layout.zarr_format, jobs, number_of_jobs=o.number_of_jobs,
                   max_threads_per_process=o.max_threads_per_process,
                   multiprocessing_context=o.multiprocessing_context, progress=o.progress)

    def _copy_blocks(self, arr: zarr.Array, source: Any, kind: DataKind, path: str) -> None:
        """Copy a lazy source (or a large in-memory array) into ``arr`` in blocks of rows of
        about :data:`BLOCK_BYTES`, each a whole number of shard (or chunk) rows, so that no
        stored object is written twice."""
        shape = arr.shape
        if len(shape) == 0:
            arr[...] = encode_block(kind, source[()], self.layout, self._encode_ref_element,
                                    path)
            return
        if 0 in shape:
            return
        itemsize = getattr(arr.dtype, "itemsize", 0) or 8
        row_bytes = max(1, int(np.prod(shape[1:])) * itemsize)
        unit = (arr.shards or arr.chunks or (1,))[0]
        step = max(unit, (max(1, BLOCK_BYTES // row_bytes) // unit) * unit)
        starts = range(0, shape[0], step)
        bar = progress_bar(self.options.progress and len(starts) > 1, desc=path,
                           total=len(starts), unit="block")
        try:
            for start in starts:
                stop = min(shape[0], start + step)
                block = source[start:stop]
                arr[start:stop] = encode_block(kind, block, self.layout,
                                               self._encode_ref_element, path)
                bar.update(1)
        finally:
            bar.close()

def _shape_dtype(data: Any) -> tuple[tuple | None, np.dtype | None]:
    """``(shape, dtype)`` of array-likes and iterators (None entries for unknown lengths);
    ``(None, None)`` for anything else."""
    if isinstance(data, AbstractDataChunkIterator):
        try:
            return tuple(data.maxshape), np.dtype(data.dtype)
        except TypeError:
            return None, None
    shape, dtype = getattr(data, "shape", None), getattr(data, "dtype", None)
    if shape is None or dtype is None:
        return None, None
    try:
        return tuple(int(s) for s in shape), np.dtype(dtype)
    except TypeError:
        return None, None


def _labels(builder: Any, shape: tuple) -> tuple | None:
    """The builder's dimension labels when they fit the data's rank (FORMAT.md 2.1, 3.7)."""
    labels = getattr(builder, "dimension_labels", None)
    if not labels or len(shape) == 0 or len(labels) != len(shape):
        return None
    if not all(isinstance(v, str) for v in labels):
        return None
    return tuple(labels)
