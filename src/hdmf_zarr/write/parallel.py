"""Parallel writes of large datasets by worker processes (DESIGN.md "Parallel writes own whole
stored objects"; FORMAT.md 3.8; docs/large-data.md "Parallel writes").

``ZarrIO.write(number_of_jobs=N)`` hands every ``GenericDataChunkIterator`` dataset (and, in an
export, every large numeric dataset read from an HDF5 file or a Zarr store) to N worker
processes of a ``concurrent.futures.ProcessPoolExecutor``:

* The main process creates the Zarr arrays (metadata only). The work is then cut into **tasks
  made of whole stored objects**: whole shards of a sharded L3 array, whole chunks otherwise
  (``chunking.block_shape``), each about the size of the iterator's buffer. No two tasks, hence
  no two workers, ever write the same stored object, whatever the iterator's buffer shape.
* A worker reads exactly the region of its task from the source (``_get_data(selection)`` of
  the iterator, a slice of the HDF5/Zarr dataset), checks its dtype and shape, and assigns it to
  the array. The iterator is sent to the workers pickled with cloudpickle: by reference when its
  class can be imported in a fresh process, by value when it cannot (a class defined in a
  notebook, in a ``__main__`` script, inside a function or created with ``type(...)``, which
  the workers, started by ``forkserver`` or ``spawn``, would not find). One that cannot be
  pickled at all is an :class:`~hdmf_zarr.errors.UnstorableValueError` before anything is
  written.
* All datasets queued by one write share one pool. The first failure (an exception in a task or
  a worker process that dies) cancels the tasks not yet started and raises an error naming the
  dataset; everything written before stays in the store.
* Stores that other processes cannot open (a ``MemoryStore``, any store that does not pickle or
  has no location) are written by the same tasks in this process, with a warning.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import HdmfZarrError, UnstorableValueError, UnsupportedDataError
from .chunking import aligned_regions, block_shape, region_count
from .data import check_block
from .progress import progress_bar

__all__ = ["ParallelJob", "IteratorSource", "HDF5Source", "ZarrSource", "source_for_array",
           "store_is_shareable", "write_jobs", "resolve_context"]

#: Size of a task when the source gives no buffer size (bytes).
DEFAULT_TASK_BYTES = 64 * 2**20


# ------------------------------------------------------------------------------ sources
class IteratorSource:
    """A ``GenericDataChunkIterator`` made readable by region in worker processes.

    Parameters
    ----------
    dci : hdmf.data_utils.GenericDataChunkIterator
        The iterator. Its ``_get_data(selection)`` must accept any tuple of slices within its
        ``maxshape`` (the contract of ``GenericDataChunkIterator``).
    path : str
        Dataset path, for messages.

    Raises
    ------
    UnstorableValueError
        When the iterator cannot be pickled (it holds an open file, a lock...). A subclass
        that implements ``_to_dict``/``_from_dict`` is pickled through them; any other is
        pickled as its class and instance attributes (minus its buffer generator and progress
        bar). Both go through cloudpickle, so classes that the workers cannot import travel by
        value.
    """

    casting = "same_kind"

    def __init__(self, dci: Any, path: str) -> None:
        self._dci = dci
        self.path = path
        self.payload = _pickle_iterator(dci, path)
        buffer_shape = getattr(dci, "buffer_shape", None)
        itemsize = np.dtype(dci.dtype).itemsize
        self.target_bytes = int(np.prod(buffer_shape)) * itemsize if buffer_shape else \
            DEFAULT_TASK_BYTES

    def __getstate__(self):
        return {"payload": self.payload, "path": self.path, "target_bytes": self.target_bytes}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._dci = None

    def read(self, selection: tuple[slice, ...]) -> np.ndarray:
        """The data of ``selection`` (tuple of slices) as returned by ``_get_data``."""
        if self._dci is None:
            try:
                self._dci = _unpickle_iterator(self.payload)
            except Exception as exc:
                raise UnstorableValueError(
                    f"the data chunk iterator could not be rebuilt in a worker process "
                    f"({type(exc).__name__}: {exc}); the modules it uses must be importable "
                    "by the worker processes", self.path) from None
        return self._dci._get_data(selection=selection)


def _pickle_iterator(dci, path: str) -> bytes:
    """The iterator as bytes for the workers (read back by :func:`_unpickle_iterator`).

    cloudpickle pickles by reference whatever a fresh process can import, and by value the
    classes and functions it cannot (``__main__``, notebooks, local or run-time classes): with
    ``forkserver`` and ``spawn`` the workers' ``__main__`` is not the caller's.
    """
    import cloudpickle
    from hdmf.data_utils import GenericDataChunkIterator

    cls = type(dci)
    try:
        if getattr(cls, "_to_dict", None) is not GenericDataChunkIterator._to_dict:
            return cloudpickle.dumps(("reduce", dci), protocol=pickle.HIGHEST_PROTOCOL)
        state = {k: v for k, v in vars(dci).items()
                 if k not in ("buffer_selection_generator", "progress_bar")}
        state["display_progress"] = False
        return cloudpickle.dumps(("state", cls, state), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise UnstorableValueError(
            f"the data chunk iterator {cls.__module__}.{cls.__qualname__} cannot be sent to "
            f"worker processes because it is not picklable ({type(exc).__name__}: {exc}); "
            "implement _to_dict/_from_dict on it, keep only picklable attributes (file paths "
            "rather than open files), or write with number_of_jobs=1", path) from None


def _unpickle_iterator(payload: bytes):
    # the payload was made by _pickle_iterator in the parent process of this write, never
    # read from a file: unpickling it runs only the caller's own iterator code
    kind, *rest = pickle.loads(payload)
    if kind == "reduce":
        return rest[0]
    cls, state = rest
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


class HDF5Source:
    """A dataset of an HDF5 file, opened read-only by each worker process.

    Parameters
    ----------
    filename : str
        Path of the HDF5 file.
    name : str
        Path of the dataset inside the file.
    path : str
        Destination dataset path, for messages.
    """

    casting = "unsafe"
    target_bytes = DEFAULT_TASK_BYTES
    _files: dict = {}

    def __init__(self, filename: str, name: str, path: str) -> None:
        self.filename, self.name, self.path = filename, name, path

    def read(self, selection: tuple) -> Any:
        """The data of ``selection`` (tuple of slices)."""
        import h5py

        f = HDF5Source._files.get(self.filename)
        if f is None or not f.id.valid:
            f = HDF5Source._files[self.filename] = h5py.File(self.filename, "r")
        return f[self.name][selection]


class ZarrSource:
    """An array of a Zarr store that other processes can open (local directory, URL...).

    Parameters
    ----------
    store : zarr.abc.store.Store
        A store that pickles (:func:`store_is_shareable`).
    array_path : str
        Path of the array in the store.
    zarr_format : int
    path : str
        Destination dataset path, for messages.
    """

    casting = "unsafe"
    target_bytes = DEFAULT_TASK_BYTES

    def __init__(self, store: Any, array_path: str, zarr_format: Literal[2, 3],
                 path: str) -> None:
        self.store, self.array_path, self.zarr_format, self.path = (store, array_path,
                                                                    zarr_format, path)
        self._array: Any = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_array"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._array = None

    def read(self, selection: tuple) -> Any:
        """The data of ``selection`` (tuple of slices)."""
        if self._array is None:
            import zarr

            self._array = zarr.open_array(self.store, path=self.array_path, mode="r",
                                          zarr_format=self.zarr_format)
        return self._array[selection]


def source_for_array(data: Any, path: str) -> HDF5Source | ZarrSource | None:
    """A worker-readable source for a lazy array (h5py dataset or Zarr array), or None when
    worker processes could not open it (in-memory files and stores, remote HDF5 files)."""
    try:
        import h5py
    except ImportError:  # pragma: no cover
        h5py = None
    if h5py is not None and isinstance(data, h5py.Dataset):
        f = data.file
        if f.driver in ("sec2", "stdio") and os.path.isfile(f.filename):
            return HDF5Source(os.path.abspath(f.filename), data.name, path)
        return None
    import zarr

    if isinstance(data, zarr.Array):
        store = data.store_path.store
        if store_is_shareable(store):
            return ZarrSource(store, data.path, data.metadata.zarr_format, path)
    return None


def store_is_shareable(store: Any) -> bool:
    """True when worker processes can open ``store`` themselves: it has a location (not a
    ``MemoryStore``) and pickles."""
    from zarr.storage import MemoryStore

    from ..storage import store_location

    if isinstance(store, MemoryStore) or store_location(store) is None:
        return False
    try:
        pickle.dumps(store)
    except Exception:
        return False
    return True


# ------------------------------------------------------------------------------ jobs
@dataclass
class ParallelJob:
    """One dataset to be written by region.

    Parameters
    ----------
    path : str
        Dataset path (the Zarr array's path is the same without the leading ``/``).
    shape : tuple of int
        Array shape.
    dtype : numpy.dtype
        Array element type.
    object_shape : tuple of int
        Shard shape of a sharded array, else chunk shape: the unit no two tasks share.
    source : IteratorSource, HDF5Source or ZarrSource
        Reads a region (picklable).
    on_progress : callable, optional
        Called in the main process with the number of tasks completed (not pickled).
    """

    path: str
    shape: tuple
    dtype: np.dtype
    object_shape: tuple
    source: Any
    on_progress: Any = field(default=None, repr=False)
    block: tuple = ()

    def plan(self, workers: int) -> list:
        """The tasks of this job: regions of whole stored objects, as ``((start, stop), ...)``."""
        self.block = block_shape(self.shape, self.object_shape, np.dtype(self.dtype).itemsize,
                                 getattr(self.source, "target_bytes", DEFAULT_TASK_BYTES),
                                 min_blocks=2 * workers)
        return [tuple((s.start, s.stop) for s in region)
                for region in aligned_regions(self.shape, self.block)]


def resolve_context(context: Any) -> Any:
    """The multiprocessing context to start workers with.

    ``None`` picks ``"forkserver"`` on Linux (workers start from a clean process: no threads or
    locks inherited from the caller, which holds Zarr's I/O thread) and ``"spawn"`` elsewhere.
    A string is a start method name; a context object is used as is. As with any non-``fork``
    start method, a script that writes in parallel must guard its entry point with
    ``if __name__ == "__main__":``.
    """
    if context is None:
        if sys.platform.startswith("linux") and \
                "forkserver" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("forkserver")
            with contextlib.suppress(Exception):
                ctx.set_forkserver_preload(["hdmf_zarr.write.parallel"])
            return ctx
        return multiprocessing.get_context("spawn")
    if isinstance(context, str):
        return multiprocessing.get_context(context)
    return context


# ------------------------------------------------------------------------------ workers
_WORKER: dict = {}
#: as in the serial writer: every chunk is stored, also one equal to the fill value (the
#: setting is not kept in the array's metadata, so every process that writes must pass it)
_ARRAY_CONFIG: Any = {"write_empty_chunks": True}


def _init_worker(payload: bytes, max_threads: int | None) -> None:
    """Worker initializer: receive the store and job sources, bound Zarr's threads."""
    if max_threads is not None:
        import zarr

        zarr.config.set({"threading.max_workers": int(max_threads)})
    store, zarr_format, jobs = pickle.loads(payload)
    _WORKER.clear()
    _WORKER.update(store=store, zarr_format=zarr_format, jobs=jobs, arrays={})
    close = getattr(store, "close", None)
    if close is not None:
        from multiprocessing import util

        util.Finalize(store, close, exitpriority=10)


def _open_target(index: int):
    arr = _WORKER["arrays"].get(index)
    if arr is None:
        import zarr

        path = _WORKER["jobs"][index][0]
        arr = zarr.open_array(_WORKER["store"], path=path.strip("/"), mode="r+",
                              zarr_format=_WORKER["zarr_format"]).with_config(_ARRAY_CONFIG)
        _WORKER["arrays"][index] = arr
    return arr


def _write_region(arr, source, path: str, dtype, bounds) -> int:
    selection = tuple(slice(a, b) for a, b in bounds)
    expected = tuple(b - a for a, b in bounds)
    data = source.read(selection)
    block = check_block(data, np.dtype(dtype), expected, path,
                        f"region {_fmt_bounds(bounds)}", casting=source.casting)
    arr[selection] = block
    return block.nbytes


def _run_task(index: int, bounds) -> tuple[int, int]:
    """Worker side of one task: read the region from the source, write it to the array."""
    path, dtype, source = _WORKER["jobs"][index]
    arr = _open_target(index)
    return index, _write_region(arr, source, path, dtype, bounds)


def _fmt_bounds(bounds) -> str:
    return "[" + ", ".join(f"{a}:{b}" for a, b in bounds) + "]"


# ------------------------------------------------------------------------------ main side
def write_jobs(store: Any, zarr_format: int, jobs: list[ParallelJob], *, number_of_jobs: int,
               max_threads_per_process: int | None = None, multiprocessing_context: Any = None,
               progress: bool = False) -> None:
    """Write ``jobs`` with ``number_of_jobs`` worker processes.

    Parameters
    ----------
    store : zarr.abc.store.Store
        The store holding the (already created) arrays.
    zarr_format : int
        2 or 3.
    jobs : list of ParallelJob
    number_of_jobs : int
        Worker processes (at least 1).
    max_threads_per_process : int, optional
        Zarr's ``threading.max_workers`` in each worker (threads encoding chunks); None keeps
        Zarr's default.
    multiprocessing_context : str or multiprocessing context, optional
        See :func:`resolve_context`.
    progress : bool
        Show one tqdm bar per dataset (tasks completed).

    Raises
    ------
    HdmfZarrError
        When a worker process dies (the message names the dataset and how many of its regions
        were written). Errors raised by a task (a wrong dtype or shape from the iterator, an
        unreadable source) are re-raised naming the dataset.
    """
    if not jobs:
        return
    workers = max(1, int(number_of_jobs))
    tasks = []
    for index, job in enumerate(jobs):
        tasks += [(index, bounds) for bounds in job.plan(workers)]
    bars = [progress_bar(progress and job.on_progress is None, desc=job.path,
                         total=region_count(job.shape, job.block), unit="region")
            for job in jobs]
    totals = [region_count(job.shape, job.block) for job in jobs]
    for job, total in zip(jobs, totals):
        # an iterator's own bar counts its buffers; the workers report regions
        bar = getattr(job.on_progress, "__self__", None)
        if bar is not None and hasattr(bar, "total"):
            with contextlib.suppress(Exception):
                bar.total = total
                bar.refresh()
    done = [0] * len(jobs)

    def advance(index):
        done[index] += 1
        bars[index].update(1)
        if jobs[index].on_progress is not None:
            jobs[index].on_progress(1)

    try:
        if not store_is_shareable(store):
            warnings.warn("the store cannot be opened by worker processes (in memory, or not "
                          "picklable); writing the parallel datasets in this process",
                          UserWarning, stacklevel=4)
            _write_here(store, zarr_format, jobs, tasks, advance)
        else:
            _write_in_pool(store, zarr_format, jobs, tasks, workers, max_threads_per_process,
                           multiprocessing_context, advance, done, totals)
    finally:
        for bar in bars:
            with contextlib.suppress(Exception):
                bar.close()


def _write_here(store, zarr_format, jobs, tasks, advance) -> None:
    import zarr

    arrays: dict[int, Any] = {}
    for index, bounds in tasks:
        job = jobs[index]
        arr = arrays.get(index)
        if arr is None:
            arr = arrays[index] = zarr.open_array(
                store, path=job.path.strip("/"), mode="r+",
                zarr_format=zarr_format).with_config(_ARRAY_CONFIG)
        _write_region(arr, job.source, job.path, job.dtype, bounds)
        advance(index)


def _write_in_pool(store, zarr_format, jobs, tasks, workers, max_threads, context, advance,
                   done, totals) -> None:
    payload = pickle.dumps(
        (store, zarr_format, [(job.path, np.dtype(job.dtype), job.source) for job in jobs]),
        protocol=pickle.HIGHEST_PROTOCOL)
    ctx = resolve_context(context)
    before = set(multiprocessing.active_children())
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                   initializer=_init_worker, initargs=(payload, max_threads))
    # every task is submitted at once: the executor then never starts a worker after one died
    # (it replaces dead workers on submit, which races with its own clean-up)
    futures = {}
    current = tasks[0]
    try:
        for task in tasks:
            current = task
            futures[executor.submit(_run_task, *task)] = task
        for fut in as_completed(futures):
            current = futures[fut]
            fut.result()
            advance(current[0])
    except BrokenProcessPool:
        _stop_children(before)
        index = current[0]
        job = jobs[index]
        others = sorted({jobs[i].path for i, _ in futures.values()
                         if done[i] < totals[i]} - {job.path})
        also = f"; unfinished as well: {', '.join(others)}" if others else ""
        raise HdmfZarrError(
            f"a worker process ended abruptly (killed, out of memory, or it exited) while "
            f"this dataset was being written; {done[index]} of {totals[index]} regions were "
            f"confirmed written, the others may hold the fill value{also}",
            job.path) from None
    except HdmfZarrError:
        raise
    except Exception as exc:
        index, bounds = current
        raise UnsupportedDataError(
            f"writing region {_fmt_bounds(bounds)} failed in a worker process: "
            f"{type(exc).__name__}: {exc}", jobs[index].path) from exc
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _stop_children(before: set) -> None:
    """Terminate worker processes of a broken pool that the executor did not stop itself."""
    for proc in set(multiprocessing.active_children()) - before:
        with contextlib.suppress(Exception):
            proc.terminate()
