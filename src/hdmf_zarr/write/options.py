"""How large datasets are written: the write options and the size thresholds they use
(docs/large-data.md)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WriteOptions", "BLOCK_BYTES", "LARGE_DATASET_BYTES"]

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
