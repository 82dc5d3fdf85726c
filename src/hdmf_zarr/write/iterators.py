"""Datasets written from data chunk iterators, buffer by buffer (docs/large-data.md).

A ``DataChunkIterator`` (known or unknown final shape, growing along its first axis) or a
``GenericDataChunkIterator`` is written one buffer at a time: the buffer the iterator yields is
checked (dtype, shape, bounds) and assigned to its selection of the Zarr array, so memory stays
bounded by the iterator's buffer plus what Zarr needs to encode the chunks it covers. The writer
creates the array during its walk and keeps one :class:`ChunkWriter` per iterator in a queue,
drained once the metadata of the whole file is stored: each iterator to its end in turn
(``exhaust_dci=True``), or one buffer of each in turn (``exhaust_dci=False``). Parallel writes
of ``GenericDataChunkIterator`` data are in ``write.parallel``; :class:`IteratorWrites` is the
part of the ``BuilderWriter`` that makes these choices.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from hdmf.data_utils import AbstractDataChunkIterator

from ..errors import UnsupportedDataError
from ..format.dtypes import classify
from .arrays import ArrayWrites
from .data import check_block
from .progress import progress_bar

__all__ = ["ChunkWriter", "IteratorWrites", "iterator_buffer_shape", "iterator_total"]

def iterator_buffer_shape(dci: Any) -> tuple | None:
    """The buffer shape of a ``GenericDataChunkIterator`` (None for other iterators)."""
    shape = getattr(dci, "buffer_shape", None)
    if shape is None:
        return None
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        return None


def iterator_total(dci: Any) -> int | None:
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

    def __init__(self, arr: Any, dci: AbstractDataChunkIterator, path: str, *,
                 progress: bool = False) -> None:
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
    def bar(self) -> Any:
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


class IteratorWrites(ArrayWrites):
    """Base of ``BuilderWriter``: the datasets whose data is a data chunk iterator.

    The writer sets the attributes below and provides :meth:`_write_data` and
    :meth:`_dataset_attrs`.
    """

    #: Drain each iterator at once (True) or all together, a buffer of each in turn (False).
    exhaust_dci: bool
    #: The iterators waiting to be written, once the metadata of the whole file is stored.
    _dci_queue: deque[ChunkWriter]

    def _write_data(self, builder: Any, data: Any, path: str, attrs: dict,
                    settings: dict) -> None:
        """Write in-memory or lazy data (the writer's)."""
        raise NotImplementedError

    def _dataset_attrs(self, attrs: dict, kind: Any, scalar: bool,
                       labels: tuple | None = None) -> dict:
        """A dataset's stored attributes (the writer's)."""
        raise NotImplementedError

    def _write_iterator(self, builder: Any, dci: AbstractDataChunkIterator, path: str,
                        attrs: dict, settings: dict) -> None:
        """Create the array of an iterator and write it (``write.iterators``), queue it
        (``exhaust_dci=False``) or leave it to the worker processes (``number_of_jobs > 1``
        and a ``GenericDataChunkIterator``, ``write.parallel``)."""
        from hdmf.data_utils import GenericDataChunkIterator

        dtype = np.dtype(dci.dtype)
        kind = classify(builder.dtype, None, array_dtype=dtype)
        if kind.kind != "numeric":
            # non-numeric iterators are rare: gather them and write as plain data
            data = [chunk.data for chunk in dci]
            block: Any = np.concatenate([np.asarray(d) for d in data]) if data else []
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
        if labels and self.layout.stores_dimension_names:
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


def _iterator_bar(dci: Any) -> Callable[[int], Any] | None:
    """The ``update`` of the iterator's own progress bar (``display_progress=True``), reused
    to count the regions written by the workers; None when it shows none."""
    bar = getattr(dci, "progress_bar", None)
    if not getattr(dci, "display_progress", False) or bar is None:
        return None
    return bar.update
