"""Writes by worker processes (write/parallel.py; docs/large-data.md "Parallel writes").

``number_of_jobs=2`` writes GenericDataChunkIterator datasets (and large datasets of an export)
in tasks made of whole stored objects: every element must land whatever the iterator's buffer
shape. A worker that dies or a task that fails gives an error naming the dataset, and the store
keeps everything written before.
"""

import os
import re
import threading

import numpy as np
import pytest
from _large import (
    LAYOUT,
    array_doc,
    nwbfile_with,
    read_after_failure,
    read_values,
    stored_objects,
    write_nwb,
)
from hdmf.common import DynamicTable, VectorData, get_manager

from _shared import ArrayIterator
from hdmf_zarr.backend import ZarrIO
from hdmf_zarr.errors import HdmfZarrError, UnstorableValueError, UnsupportedDataError
from hdmf_zarr.utils import ZarrDataIO
from hdmf_zarr.write.parallel import ParallelJob

NODE = "acquisition/ts/data"
# values unique per element, so that a misplaced block cannot go unnoticed
DATA = np.arange(1200 * 10, dtype="<i4").reshape(1200, 10)


class DyingIterator(ArrayIterator):
    """Kills the worker process that reads the rows from 600 on."""

    def _get_data(self, selection):
        if selection[0].start >= 600 and os.getpid() != self.parent_pid:
            os._exit(1)
        return super()._get_data(selection)


class FailingIterator(ArrayIterator):
    """Raises in the worker for the rows from 600 on."""

    def _get_data(self, selection):
        if selection[0].start >= 600:
            raise OSError("the acquisition board went away")
        return super()._get_data(selection)


class WrongDtypeIterator(ArrayIterator):
    def _get_data(self, selection):
        return super()._get_data(selection).astype("f8") + 0.25


@LAYOUT
def test_two_jobs_unaligned_buffers_every_element_lands(tmp_path, layout):
    # buffer (170, 7) crosses chunk (40, 4) and shard (160, 8) boundaries on both axes
    dci = ArrayIterator(DATA, buffer_shape=(170, 7), chunk_shape=(10, 7))
    settings = {"shards": (160, 8)} if layout == 3 else {}
    nwbfile = nwbfile_with(ZarrDataIO(dci, chunks=(40, 4), **settings))
    path = write_nwb(tmp_path / "p.nwb.zarr", nwbfile, layout, number_of_jobs=2)
    values = read_values(path)
    assert values.shape == DATA.shape
    assert (values != DATA).sum() == 0, np.argwhere(values != DATA)[:5]
    objects = stored_objects(path, NODE)
    assert len(objects) == (8 * 2 if layout == 3 else 30 * 3)
    if layout == 3:
        assert array_doc(path, NODE)["codecs"][0]["name"] == "sharding_indexed"


def test_two_jobs_several_datasets_share_one_pool(tmp_path):
    columns = [VectorData(name=f"c{i}", description="column",
                          data=ArrayIterator(DATA[:, i] * (i + 1), buffer_shape=(77,),
                                             chunk_shape=(7,)))
               for i in range(3)]
    table = DynamicTable(name="t", description="parallel columns", id=list(range(1200)),
                         columns=columns)
    path = tmp_path / "t.zarr"
    with ZarrIO(str(path), mode="w", zarr_format=3, manager=get_manager()) as io:
        io.write(table, number_of_jobs=2, max_threads_per_process=1,
                 multiprocessing_context="spawn")
    with ZarrIO(str(path), mode="r", manager=get_manager()) as io:
        back = io.read()
        for i in range(3):
            np.testing.assert_array_equal(back[f"c{i}"].data[()], DATA[:, i] * (i + 1))


def test_tasks_cover_whole_objects_exactly_once():
    job = ParallelJob(path="/x", shape=(1000, 30), dtype=np.dtype("i2"), object_shape=(64, 16),
                      source=type("S", (), {"target_bytes": 100 * 30 * 2})())
    tasks = job.plan(workers=2)
    assert len(tasks) >= 4
    seen = np.zeros((1000, 30), dtype=int)
    for bounds in tasks:
        assert all(a % o == 0 for (a, _), o in zip(bounds, (64, 16)))
        seen[tuple(slice(a, b) for a, b in bounds)] += 1
    assert (seen == 1).all()


@LAYOUT
def test_worker_process_dies(tmp_path, layout):
    dci = DyingIterator(DATA, buffer_shape=(100, 10), chunk_shape=(100, 10))
    dci.parent_pid = os.getpid()
    nwbfile = nwbfile_with(dci)
    first = nwbfile_with(DATA[:4] * 3, name="first")  # written in this process before
    nwbfile.add_acquisition(first.acquisition.pop("first"))
    path = tmp_path / "d.nwb.zarr"
    with pytest.raises(HdmfZarrError, match="a worker process ended abruptly") as info:
        write_nwb(path, nwbfile, layout, number_of_jobs=2)
    assert info.value.path == "/acquisition/ts/data"
    names, values = read_after_failure(path, "first")
    assert names == {"first", "ts"}
    np.testing.assert_array_equal(values, DATA[:4] * 3)
    _, written = read_after_failure(path, "ts")
    assert written.shape == DATA.shape
    # rows below 600 were written by tasks that no dying worker touched; the regions a worker
    # had started when the pool broke may hold the fill value, never other data
    rows = [r for r in range(0, 1200, 100) if (written[r:r + 100] == DATA[r:r + 100]).all()]
    assert all(((written[r:r + 100] == 0).all() or r in rows) for r in range(0, 1200, 100))
    assert all(r < 600 for r in rows)


@LAYOUT
def test_task_exception_names_the_dataset(tmp_path, layout):
    dci = FailingIterator(DATA, buffer_shape=(100, 10), chunk_shape=(100, 10))
    path = tmp_path / "f.nwb.zarr"
    with pytest.raises(UnsupportedDataError, match="OSError: the acquisition board went away"
                       ) as info:
        write_nwb(path, nwbfile_with(dci), layout, number_of_jobs=2)
    assert info.value.path == "/acquisition/ts/data"
    start = int(re.search(r"writing region \[(\d+):", str(info.value)).group(1))
    assert start >= 600
    names, written = read_after_failure(path, "ts")
    assert names == {"ts"}
    for r in range(0, 600, 100):  # whatever landed is the right data or the fill value
        block = written[r:r + 100]
        assert (block == DATA[r:r + 100]).all() or (block == 0).all()


def test_worker_wrong_dtype(tmp_path):
    dci = WrongDtypeIterator(DATA, buffer_shape=(600, 10), chunk_shape=(100, 10))
    with pytest.raises(UnsupportedDataError, match="dtype float64") as info:
        write_nwb(tmp_path / "w.nwb.zarr", nwbfile_with(dci), 3, number_of_jobs=2)
    assert info.value.path == "/acquisition/ts/data"


def test_unpicklable_iterator_refused_before_writing(tmp_path):
    class Local(ArrayIterator):  # travels by value (test_parallel_by_value); its lock cannot
        pass

    dci = Local(DATA, buffer_shape=(100, 10), chunk_shape=(100, 10))
    dci.hook = threading.Lock()
    path = tmp_path / "u.nwb.zarr"
    with pytest.raises(UnstorableValueError, match="not picklable") as info:
        write_nwb(path, nwbfile_with(dci), 2, number_of_jobs=2)
    assert info.value.path == "/acquisition/ts/data"
    assert not (path / NODE).exists()


def test_in_memory_store_is_written_here(tmp_path):
    import zarr

    store = zarr.storage.MemoryStore()
    dci = ArrayIterator(DATA, buffer_shape=(130, 10), chunk_shape=(10, 10))
    from hdmf_zarr.nwb import NWBZarrIO

    with pytest.warns(UserWarning, match="cannot be opened by worker processes"), \
            NWBZarrIO(store, mode="w", zarr_format=3) as io:
        io.write(nwbfile_with(dci), number_of_jobs=2)
    with NWBZarrIO(store, mode="r") as io:
        np.testing.assert_array_equal(io.read().acquisition["ts"].data[()], DATA)


def test_number_of_jobs_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="number_of_jobs must be at least 1"):
        write_nwb(tmp_path / "z.nwb.zarr", nwbfile_with(DATA), 3, number_of_jobs=0)


@LAYOUT
def test_export_from_hdf5_with_two_jobs(tmp_path, layout):
    """A large dataset of an HDF5 file is copied by the workers, region by region."""
    from pynwb import NWBHDF5IO

    from hdmf_zarr.nwb import NWBZarrIO

    big = np.arange(300_000, dtype="<i4").reshape(30_000, 10)  # 1.2 MB >= 1 MiB
    src = tmp_path / "src.nwb"
    with NWBHDF5IO(str(src), mode="w") as io:
        io.write(nwbfile_with(big))
    dst = tmp_path / "dst.nwb.zarr"
    with NWBHDF5IO(str(src), mode="r") as read_io, \
            NWBZarrIO(str(dst), mode="w", zarr_format=layout) as io:
        io.export(src_io=read_io, write_args={
            "number_of_jobs": 2, "large_dataset_settings": {"chunks": (1000, 10)}})
    np.testing.assert_array_equal(read_values(dst), big)
    doc = array_doc(dst, NODE)
    chunks = doc["chunks"] if layout == 2 else doc["codecs"][0]["configuration"].get(
        "chunk_shape", doc["chunk_grid"]["configuration"]["chunk_shape"])
    assert list(chunks) == [1000, 10]


@LAYOUT
def test_chunks_equal_to_the_fill_value_are_stored_as_in_a_serial_write(tmp_path, layout):
    """Workers store every chunk, also all-zero ones, as the serial writer does."""
    data = np.zeros((1000, 6), dtype="<i4")
    data[:100] = 5
    counts = []
    for jobs in (1, 2):
        dci = ArrayIterator(data, buffer_shape=(200, 6), chunk_shape=(100, 6))
        path = write_nwb(tmp_path / f"z{jobs}.nwb.zarr", nwbfile_with(dci), layout,
                         number_of_jobs=jobs)
        counts.append(len(stored_objects(path, NODE)))
        np.testing.assert_array_equal(read_values(path), data)
    assert counts == [10, 10]
