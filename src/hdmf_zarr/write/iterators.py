"""Datasets written piece by piece, and the layout of the arrays Zarr creates
(docs/large-data.md).

:class:`ChunkWriter` writes data chunk iterators buffer by buffer (below);
:class:`StreamingWrites` is the part of the ``BuilderWriter`` that creates Zarr arrays (chunks and
shards from ``write.chunking``, codecs from ``write.codecs``) and routes data that does not come
as one in-memory array: iterators (here), dask arrays (``write.dask``), lazy HDF5/Zarr sources
copied block by block, and the jobs left to worker processes (``write.parallel``).


A ``DataChunkIterator`` (known or unknown final shape, growing along its first axis) or a
``GenericDataChunkIterator`` is written one buffer at a time: the buffer the iterator yields is
checked (dtype, shape, bounds) and assigned to its selection of the Zarr array, so memory stays
bounded by the iterator's buffer plus what Zarr needs to encode the chunks it covers. The writer
creates the array during its walk and keeps one :class:`ChunkWriter` per iterator in a queue,
drained once the metadata of the whole file is stored: each iterator to its end in turn
(``exhaust_dci=True``), or one buffer of each in turn (``exhaust_dci=False``). Parallel writes of ``GenericDataChunkIterator`` data are in
``write.parallel``.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from dataclasses import dataclass

import numpy as np
import zarr
from hdmf.data_utils import AbstractDataChunkIterator

from ..errors import UnsupportedDataError
from ..format.dtypes import DataKind, classify
from .chunking import plan_storage
from .codecs import codec_kwargs
from .data import encode_block

__all__ = ["ChunkWriter", "StreamingWrites", "WriteOptions", "progress_bar",
           "iterator_buffer_shape", "iterator_total", "check_block", "BLOCK_BYTES",
           "LARGE_DATASET_BYTES"]

#: Size of the blocks lazy sources are copied in (rounded up to whole shard or chunk rows).
#: 8 MiB keeps an export's peak memory near 290 MB (issue 4) and copies faster than 64 MiB
#: blocks, since smaller blocks stay in the CPU caches and Zarr's encode overlaps the reads.
BLOCK_BYTES = 8 * 2**20
#: Datasets at least this large get ``WriteOptions.large_dataset_settings`` and, with
#: ``number_of_jobs > 1``, are copied from HDF5/Zarr sources by worker processes.
LARGE_DATASET_BYTES = 2**20


@dataclass
class WriteOptions:
    """How large datasets are written (docs/large-data.md).

    Parameters
    ----------
    number_of_jobs : int
        Worker processes for ``GenericDataChunkIterator`` data and, in an export, for numeric
        datasets of at least :data:`LARGE_DATASET_BYTES` read from an HDF5 file or a Zarr store
        (``write.parallel``); 1 writes everything in this process.
    max_threads_per_process : int, optional
        Zarr encoding threads in each worker process (None: Zarr's default).
    multiprocessing_context : str or multiprocessing context, optional
        Start method of the workers (None: ``forkserver`` on Linux, ``spawn`` elsewhere).
    progress : bool
        Show tqdm progress bars for iterators, parallel writes, dask stores and block copies.
    large_dataset_settings : dict, optional
        ``ZarrDataIO``-style settings (``chunks``, ``shards``, ``compressor``...) applied to
        numeric datasets of at least :data:`LARGE_DATASET_BYTES` where the data does not set
        them itself (``hdmf-zarr convert --chunks/--shards/--compressor``). A ``chunks`` or
        ``shards`` tuple applies to datasets of the same rank, clipped to their shape.
    """

    number_of_jobs: int = 1
    max_threads_per_process: int | None = None
    multiprocessing_context: object = None
    progress: bool = False
    large_dataset_settings: dict | None = None


class _NoBar:
    """Stands in for a tqdm bar when progress is off."""

    total = None

    def update(self, n=1):
        pass

    def close(self):
        pass

    def set_postfix_str(self, *args, **kwargs):
        pass


def progress_bar(enabled: bool, *, desc: str, total=None, unit: str = "block"):
    """A tqdm progress bar on stderr, or an object with the same ``update``/``close`` methods
    that shows nothing.

    Parameters
    ----------
    enabled : bool
        Show a bar.
    desc : str
        Label (the dataset path).
    total : int, optional
        Number of steps, when known.
    unit : str
        Name of a step.
    """
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                dynamic_ncols=True, mininterval=0.5)


def iterator_buffer_shape(dci) -> tuple | None:
    """The buffer shape of a ``GenericDataChunkIterator`` (None for other iterators)."""
    shape = getattr(dci, "buffer_shape", None)
    if shape is None:
        return None
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        return None


def iterator_total(dci) -> int | None:
    """Number of buffers an iterator will yield, when it can be known in advance."""
    n = getattr(dci, "num_buffers", None)
    if isinstance(n, int):
        return n
    size = getattr(dci, "buffer_size", None)
    maxshape = getattr(dci, "maxshape", None)
    axis = getattr(dci, "iter_axis", 0) or 0
    if isinstance(size, int) and size > 0 and maxshape and maxshape[axis] is not None:
        return -(-int(maxshape[axis]) // size)
    return None


def _selection_shape(selection, shape: tuple) -> tuple | None:
    """Shape of ``array[selection]`` for an int/slice/tuple selection (None when the selection
    has another form, which Zarr then checks)."""
    sel = selection if isinstance(selection, tuple) else (selection,)
    if any(s is Ellipsis for s in sel):
        i = next(i for i, s in enumerate(sel) if s is Ellipsis)
        sel = sel[:i] + (slice(None),) * (len(shape) - len(sel) + 1) + sel[i + 1:]
    if len(sel) > len(shape):
        return None
    sel = sel + (slice(None),) * (len(shape) - len(sel))
    out = []
    for s, n in zip(sel, shape):
        if isinstance(s, slice):
            out.append(len(range(*s.indices(n))))
        elif isinstance(s, (int, np.integer)):
            continue
        else:
            return None
    return tuple(out)


def check_block(data, dtype: np.dtype, expected_shape: tuple | None, path: str, where: str,
                *, casting: str = "same_kind") -> np.ndarray:
    """A block yielded by an iterator (or read by a worker) as an array of the dataset's dtype.

    Parameters
    ----------
    data : array-like
    dtype : numpy.dtype
        The dataset's element type.
    expected_shape : tuple of int or None
        Shape of the selection the block is written to (None: not checked here).
    path : str
        Dataset path.
    where : str
        Description of the selection, for messages.
    casting : str
        numpy casting rule for a block of another dtype (``same_kind``: int64 -> int16 is
        accepted, float -> int is not).

    Raises
    ------
    UnsupportedDataError
        A dtype that cannot be cast, or a shape other than the selection's.
    """
    arr = np.asarray(data)
    if arr.dtype != dtype:
        if not np.can_cast(arr.dtype, dtype, casting=casting):
            raise UnsupportedDataError(
                f"the iterator yielded data of dtype {arr.dtype} for {where}; the dataset is "
                f"{dtype} (casting {casting!r} not possible)", path)
        arr = arr.astype(dtype)
    if expected_shape is not None and arr.shape != tuple(expected_shape):
        raise UnsupportedDataError(
            f"the iterator yielded data of shape {arr.shape} for {where}, which has shape "
            f"{tuple(expected_shape)}", path)
    return arr


class ChunkWriter:
    """Writes one iterator into one Zarr array, a buffer per :meth:`step`.

    Parameters
    ----------
    arr : zarr.Array
        The target, created with the iterator's known shape (0 along axes of unknown length).
    dci : hdmf.data_utils.AbstractDataChunkIterator
    path : str
        Dataset path, for messages and the progress bar.
    progress : bool
        Show a tqdm bar (unless the iterator shows its own: ``display_progress``).
    """

    def __init__(self, arr, dci, path: str, *, progress: bool = False):
        self.arr = arr
        self.dci = dci
        self.path = path
        self.maxshape = tuple(dci.maxshape) if dci.maxshape is not None else \
            (None,) * len(arr.shape)
        self.dtype = np.dtype(arr.dtype)
        self.shape = tuple(arr.shape)
        self._show = progress and not bool(getattr(dci, "display_progress", False))
        self._bar = None
        self.written = 0

    @property
    def bar(self):
        """The progress bar, shown from the first buffer on (not while queued)."""
        if self._bar is None:
            self._bar = progress_bar(self._show, desc=self.path,
                                     total=iterator_total(self.dci), unit="buffer")
        return self._bar

    def step(self) -> bool:
        """Write the next buffer; False (and the bar closed) once the iterator is exhausted.

        Raises
        ------
        UnsupportedDataError
            A buffer of the wrong dtype or shape, or beyond a fixed axis of the dataset.
        """
        try:
            chunk = next(self.dci)
        except StopIteration:
            self.finish()
            return False
        if chunk is None or chunk.data is None:
            self.finish()
            return False
        selection = chunk.selection
        try:
            bounds = chunk.get_min_bounds()
        except TypeError as exc:
            raise UnsupportedDataError(f"iterator selection {selection!r}: {exc}",
                                       self.path) from None
        self._grow(bounds, selection)
        expected = _selection_shape(selection, self.shape)
        block = check_block(chunk.data, self.dtype, expected, self.path,
                            f"selection {_fmt(selection)}")
        self.arr[selection] = block
        self.written += 1
        self.bar.update(1)
        return True

    def run(self) -> None:
        """Write every remaining buffer."""
        while self.step():
            pass

    def finish(self) -> None:
        """Close the progress bar."""
        if self._bar is not None:
            with contextlib.suppress(Exception):
                self._bar.close()

    def _grow(self, bounds, selection) -> None:
        new = list(self.shape)
        for axis, b in enumerate(bounds[:len(new)]):
            b = int(b)
            if b <= new[axis]:
                continue
            limit = self.maxshape[axis] if axis < len(self.maxshape) else None
            if limit is not None and b > int(limit):
                raise UnsupportedDataError(
                    f"the iterator yielded selection {_fmt(selection)}, which ends at {b} "
                    f"along axis {axis}, beyond the dataset's maximum shape "
                    f"{tuple(self.maxshape)}", self.path)
            new[axis] = b
        if tuple(new) != self.shape:
            self.arr.resize(tuple(new))
            self.shape = tuple(new)


def _fmt(selection) -> str:
    sel = selection if isinstance(selection, tuple) else (selection,)
    parts = []
    for s in sel:
        if isinstance(s, slice):
            parts.append(f"{'' if s.start is None else s.start}:{'' if s.stop is None else s.stop}")
        else:
            parts.append(repr(s))
    return "[" + ", ".join(parts) + "]"


class StreamingWrites:
    """Mixin of ``BuilderWriter``: array creation and the data written piece by piece.

    Expects the attributes ``store``, ``layout``, ``documents``, ``options``
    (:class:`WriteOptions`), ``exhaust_dci``, ``_dci_queue`` and ``_parallel_jobs``, and the
    methods ``_write_data``, ``_dataset_attrs`` and ``_encode_ref_element`` of the writer.
    """

    def _dimension_names(self, builder, path: str, shape: tuple, *,
                         growing: bool = False) -> tuple | None:
        """The dimension names stored for a dataset (``write.dimensions``); an array whose
        builder has no labels that fit its rank gets placeholders too (xarray opens no Zarr 3
        array without ``dimension_names``); None for scalars."""
        if len(shape) == 0:
            return None
        labels = _labels(builder, shape) or tuple(f"dim{i}" for i in range(len(shape)))
        namer = self.__dict__.get("_dimension_namer")
        if namer is None:
            from .dimensions import DimensionNamer

            namer = self._dimension_namer = DimensionNamer()
        return namer.names(path, labels, shape, growing=growing)

    def _settings_from_hdf5(self, dset) -> dict:
        """Storage settings equivalent to an HDF5 dataset's chunks and filters (FORMAT.md 6);
        an uncompressed HDF5 dataset gets the layout's default compressor."""
        from .hdf5_filters import codecs_from_h5py  # noqa: I001

        mapped = codecs_from_h5py(dset, self.layout.zarr_format)
        settings = {}
        if mapped.get("chunks"):
            settings["chunks"] = tuple(mapped["chunks"])
        if self.layout.zarr_format == 2:
            if mapped.get("compressor") is not None:
                settings["compressor"] = mapped["compressor"]
            if mapped.get("filters"):
                settings["filters"] = list(mapped["filters"])
        elif mapped.get("compressors"):
            settings["zarr3_compressors"] = list(mapped["compressors"])
        return settings

    def _with_large_settings(self, settings: dict, explicit: set, data) -> dict:
        """``settings`` completed by ``options.large_dataset_settings`` when ``data`` is a
        numeric dataset of at least :data:`LARGE_DATASET_BYTES` (keys the data's own
        ``ZarrDataIO`` set are kept)."""
        shape, dtype = _shape_dtype(data)
        if shape is None or len(shape) == 0 or dtype is None or dtype.kind not in "biuf":
            return settings
        if None not in shape and int(np.prod(shape)) * dtype.itemsize < LARGE_DATASET_BYTES:
            return settings
        large = self.options.large_dataset_settings
        out = dict(settings)
        codec_keys = ("compressor", "compressors", "filters", "serializer")
        if any(k in large for k in codec_keys) and not explicit & set(codec_keys):
            for k in (*codec_keys, "zarr3_compressors"):
                out.pop(k, None)
            out.update({k: large[k] for k in codec_keys if k in large})
        known = [s if s is not None else 0 for s in shape]
        chunks = large.get("chunks")
        if "chunks" not in explicit and isinstance(chunks, tuple):
            if len(chunks) == len(shape):
                out["chunks"] = tuple(min(c, s) if s else c for c, s in zip(chunks, known))
        shards = large.get("shards")
        if "shards" not in explicit and shards is not None and self.layout.zarr_format == 3:
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

    def _array_kwargs(self, settings: dict, where: str, kind: DataKind, dtype=None) -> dict:
        kw = {}
        if settings.get("chunks") not in (None, True):
            kw["chunks"] = settings["chunks"]
        if settings.get("shards") is not None:
            kw["shards"] = settings["shards"]
        if kind.kind in ("numeric", "compound"):
            kw.update(codec_kwargs(settings, self.layout.zarr_format,
                                   dtype if dtype is not None else kind.dtype or np.dtype("u1"),
                                   where))
        elif self.layout.zarr_format == 2:
            kw["compressors"] = codec_kwargs({k: settings[k] for k in ("compressor",
                                                                       "compressors")
                                              if k in settings}, 2, np.dtype("u1"),
                                             where)["compressors"]
        elif "compressor" in settings or "compressors" in settings:
            # text in L3: Zarr's vlen-utf8 serializer, then the compressors asked for
            kw["compressors"] = codec_kwargs(
                {k: settings[k] for k in ("compressor", "compressors") if k in settings}, 3,
                np.dtype("u1"), where)["compressors"]
        if settings.get("fillvalue") is not None:
            kw["fill_value"] = settings["fillvalue"]
        return kw

    def _create_array(self, path, shape, dtype, attrs, kw, *, buffer_shape=None,
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
                                      kw.pop("shards", None), self.layout.zarr_format, path,
                                      buffer_shape=buffer_shape, growing_first_axis=growing)
        if shards is not None:
            kw["shards"] = shards
        if self.layout.zarr_format == 3:
            kw.setdefault("compressors", "auto")
            kw.setdefault("filters", "auto")
        if self.layout.chunk_key_encoding is not None:
            kw["chunk_key_encoding"] = self.layout.chunk_key_encoding
        key = path.strip("/")
        for name in ("zarr.json",) if self.layout.zarr_format == 3 else (".zarray", ".zattrs"):
            self.documents[f"{key}/{name}"] = None  # fetched from the store when consolidating
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # every chunk is stored, also one equal to the fill value (as HDF5 and the released
            # hdmf-zarr do): readers see the data that was written, not an absent key
            return zarr.create_array(self.store, name=path.strip("/"), shape=shape, dtype=dtype,
                                     chunks=chunks, attributes=attrs,
                                     zarr_format=self.layout.zarr_format, overwrite=True,
                                     config={"write_empty_chunks": True}, **kw)

    def _write_lazy(self, arr, data, kind: DataKind, path: str) -> None:
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

    def _queue_parallel(self, arr, source, path: str, on_progress=None) -> None:
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

    def _copy_blocks(self, arr: zarr.Array, source, kind: DataKind, path: str) -> None:
        """Copy a lazy source (or a large in-memory array) into ``arr`` in blocks of rows of
        about :data:`BLOCK_BYTES`, each a whole number of shard (or chunk) rows, so that no
        stored object is written twice."""
        shape = arr.shape
        if len(shape) == 0:
            arr[...] = encode_block(kind, source[()], self.layout.zarr_format,
                                    self._encode_ref_element, path)
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
                arr[start:stop] = encode_block(kind, block, self.layout.zarr_format,
                                               self._encode_ref_element, path)
                bar.update(1)
        finally:
            bar.close()

    # ------------------------------------------------------------------ iterators
    def _write_iterator(self, builder, dci: AbstractDataChunkIterator, path, attrs,
                        settings) -> None:
        """Create the array of an iterator and write it (``write.iterators``), queue it
        (``exhaust_dci=False``) or leave it to the worker processes (``number_of_jobs > 1``
        and a ``GenericDataChunkIterator``, ``write.parallel``)."""
        from hdmf.data_utils import GenericDataChunkIterator

        dtype = np.dtype(dci.dtype)
        kind = classify(builder.dtype, None, array_dtype=dtype)
        if kind.kind != "numeric":
            # non-numeric iterators are rare: gather them and write as plain data
            data = [chunk.data for chunk in dci]
            block = np.concatenate([np.asarray(d) for d in data]) if data else []
            self._write_data(builder, block, path, attrs, settings)
            return
        maxshape = tuple(dci.maxshape)
        shape = tuple(0 if m is None else int(m) for m in maxshape)
        growing = len(maxshape) > 0 and maxshape[0] is None
        kw = self._array_kwargs(settings, path, kind, dtype)
        if "chunks" not in kw:
            rec = dci.recommended_chunk_shape()
            if rec is not None and len(rec) == len(shape):
                rec = tuple(int(c) for c in rec)
                # an iterator's recommendation never exceeds the data
                kw["chunks"] = tuple(min(c, s) if s else c for c, s in zip(rec, shape))
        parallel = (self.options.number_of_jobs > 1 and
                    isinstance(dci, GenericDataChunkIterator) and 0 not in shape)
        source = None
        if parallel:
            from .parallel import IteratorSource

            source = IteratorSource(dci, path)  # refuses unpicklable iterators before writing
        labels = self._dimension_names(builder, path, shape, growing=growing)
        full_attrs = self._dataset_attrs(attrs, kind, False, labels)
        if labels and self.layout.zarr_format == 3:
            kw["dimension_names"] = labels
        arr = self._create_array(path, shape, dtype, full_attrs, kw,
                                 buffer_shape=iterator_buffer_shape(dci), growing=growing)
        if parallel:
            self._queue_parallel(arr, source, path, on_progress=_iterator_bar(dci))
            return
        # the data is written once the metadata of the whole file is stored (``flush``), so
        # that an iterator failing half-way leaves a store that opens and reads back
        self._dci_queue.append(ChunkWriter(arr, dci, path, progress=self.options.progress))

    def _drain_queue(self) -> None:
        """Write the queued iterators: each one to its end in turn (``exhaust_dci=True``), or
        one buffer of each in turn until all are exhausted (``exhaust_dci=False``)."""
        while self._dci_queue:
            writer = self._dci_queue.popleft()
            if self.exhaust_dci:
                writer.run()
            elif writer.step():
                self._dci_queue.append(writer)


def _iterator_bar(dci):
    """The ``update`` of the iterator's own progress bar (``display_progress=True``), reused
    to count the regions written by the workers; None when it shows none."""
    bar = getattr(dci, "progress_bar", None)
    if not getattr(dci, "display_progress", False) or bar is None:
        return None
    return bar.update


def _shape_dtype(data):
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


def _labels(builder, shape: tuple) -> tuple | None:
    """The builder's dimension labels when they fit the data's rank (FORMAT.md 2.1, 3.7)."""
    labels = getattr(builder, "dimension_labels", None)
    if not labels or len(shape) == 0 or len(labels) != len(shape):
        return None
    if not all(isinstance(v, str) for v in labels):
        return None
    return tuple(labels)
