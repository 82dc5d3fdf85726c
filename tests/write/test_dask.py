"""Dask arrays as dataset data (write/dask.py; docs/large-data.md "Dask").

Stored through dask with the local (threads) scheduler and on a ``distributed.LocalCluster`` of
two worker processes on 127.0.0.1; every value is read back.
"""

import dask
import dask.array as da
import numpy as np
import pytest
import zarr
from _large import LAYOUT, array_doc, nwbfile_with, read_values, stored_objects, write_nwb
from distributed import get_task_stream

from hdmf_zarr.errors import UnsupportedDataError
from hdmf_zarr.nwb import NWBZarrIO
from hdmf_zarr.utils import ZarrDataIO
from hdmf_zarr.write.dask import active_client, is_dask_array

NODE = "acquisition/ts/data"
DATA = np.arange(3000 * 8, dtype="<i4").reshape(3000, 8) - 5000


def _darr(chunks=(333, 5)):
    # dask chunks that match neither the stored chunks nor the shards
    return da.from_array(DATA, chunks=chunks)


@pytest.fixture(scope="module")
def cluster_client():
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_is_dask_array():
    assert is_dask_array(_darr())
    assert not is_dask_array(DATA)
    assert active_client() is None


def test_containers_refuse_bare_dask_arrays():
    """pynwb's and hdmf's type checks refuse a bare dask array: ZarrDataIO carries it."""
    with pytest.raises(TypeError, match="incorrect type for 'data'"):
        nwbfile_with(_darr())


@LAYOUT
def test_local_scheduler_default_settings(tmp_path, layout):
    path = write_nwb(tmp_path / "d.nwb.zarr", nwbfile_with(ZarrDataIO(_darr())), layout)
    np.testing.assert_array_equal(read_values(path), DATA)
    # the default chunking of the writer, not the dask chunks: one 96 kB chunk
    assert len(stored_objects(path, NODE)) == 1


@LAYOUT
def test_local_scheduler_in_zarrdataio(tmp_path, layout):
    settings = {"shards": (1000, 8)} if layout == 3 else {}
    dataio = ZarrDataIO(_darr(), chunks=(100, 4), compressor=zarr.codecs.ZstdCodec(level=3),
                        **settings)
    path = write_nwb(tmp_path / "z.nwb.zarr", nwbfile_with(dataio), layout, progress=True)
    np.testing.assert_array_equal(read_values(path), DATA)
    assert len(stored_objects(path, NODE)) == (3 if layout == 3 else 60)
    doc = array_doc(path, NODE)
    if layout == 2:
        assert doc["compressor"] == {"id": "zstd", "level": 3, "checksum": False} or \
            doc["compressor"] == {"id": "zstd", "level": 3}


def test_dtype_cast_and_errors(tmp_path):
    path = write_nwb(tmp_path / "c.nwb.zarr",
                     nwbfile_with(ZarrDataIO(_darr().astype("i8"), chunks=(100, 8))), 3)
    values = read_values(path)
    np.testing.assert_array_equal(values, DATA)
    unknown = _darr()[_darr()[:, 0] > 0]  # unknown chunk sizes
    with pytest.raises(UnsupportedDataError, match="unknown chunk sizes .*compute_chunk_sizes"):
        ZarrDataIO(unknown)
    with pytest.raises(UnsupportedDataError, match=r"the dask array has shape \(3000, 4\), the "
                       r"dataset \(3000, 8\)") as info:
        from hdmf_zarr.write.dask import store_dask_array

        target = zarr.create_array(zarr.storage.MemoryStore(), shape=(3000, 8), dtype="i4")
        store_dask_array(_darr()[:, :4], target, "/acquisition/ts/data")
    assert info.value.path == "/acquisition/ts/data"
    with pytest.raises(UnsupportedDataError, match="the dask array has dtype float64"):
        store_dask_array(_darr().astype("f8"), target, "/acquisition/ts/data")


def test_processes_scheduler_refuses_memory_store():
    store = zarr.storage.MemoryStore()
    with dask.config.set(scheduler="processes"), \
            pytest.raises(UnsupportedDataError, match="cannot open this store") as info, \
            NWBZarrIO(store, mode="w", zarr_format=3) as io:
        io.write(nwbfile_with(ZarrDataIO(_darr())))
    assert info.value.path == "/acquisition/ts/data"


@LAYOUT
def test_distributed_local_cluster(tmp_path, layout, cluster_client):
    assert active_client() is cluster_client
    settings = {"shards": (600, 8)} if layout == 3 else {}
    nwbfile = nwbfile_with(ZarrDataIO(_darr((250, 8)), chunks=(150, 8), **settings),
                           electrical=False)
    with get_task_stream(cluster_client) as stream:
        path = write_nwb(tmp_path / "c.nwb.zarr", nwbfile, layout, progress=True)
    np.testing.assert_array_equal(read_values(path), DATA)
    assert len(stored_objects(path, NODE)) == (5 if layout == 3 else 20)
    # the store tasks ran on the cluster's worker processes
    workers = set(cluster_client.scheduler_info()["workers"])
    stores = [t for t in stream.data if "store" in str(t["key"])]
    assert stores and {t["worker"] for t in stores} <= workers


def test_distributed_refuses_memory_store(cluster_client):
    store = zarr.storage.MemoryStore()
    with pytest.raises(UnsupportedDataError, match="cannot open this store") as info, \
            NWBZarrIO(store, mode="w", zarr_format=3) as io:
        io.write(nwbfile_with(ZarrDataIO(_darr())))
    assert info.value.path == "/acquisition/ts/data"


def test_zero_blocks_are_stored_on_the_cluster(tmp_path, cluster_client):
    data = np.zeros((1000, 8), dtype="<i4")
    data[-1] = 1
    dataio = ZarrDataIO(da.from_array(data, chunks=(250, 8)), chunks=(100, 8))
    path = write_nwb(tmp_path / "zeros.nwb.zarr", nwbfile_with(dataio), 3)
    assert len(stored_objects(path, NODE)) == 10
    np.testing.assert_array_equal(read_values(path), data)
