"""Opening a file with consolidated metadata reads the metadata once: counted with a wrapper
store (a request count is stable, a time is not)."""

import warnings
from collections import Counter

import numpy as np
import pytest
from pynwb import TimeSeries
from pynwb.testing.mock.ecephys import mock_ElectricalSeries
from pynwb.testing.mock.file import mock_NWBFile
from zarr.storage import LocalStore, WrapperStore

from hdmf_zarr import NWBZarrIO

METADATA_NAMES = ("zarr.json", ".zgroup", ".zattrs", ".zarray", ".zmetadata")


class CountingStore(WrapperStore):
    """Counts ``get`` requests per key and every listing call."""

    def __init__(self, store):
        super().__init__(store)
        self.gets: Counter = Counter()
        self.found: Counter = Counter()
        self.listings = 0

    def _with_store(self, store):
        return type(self)(store)

    def with_read_only(self, read_only=False):
        out = type(self)(self._store.with_read_only(read_only))
        out.gets, out.found = self.gets, self.found
        return out

    async def get(self, key, prototype, byte_range=None):
        value = await self._store.get(key, prototype, byte_range)
        self.gets[key] += 1
        if value is not None:
            self.found[key] += 1
        return value

    async def exists(self, key):
        self.gets[key] += 1
        return await self._store.exists(key)

    def list(self):
        self.listings += 1
        return self._store.list()

    def list_prefix(self, prefix):
        self.listings += 1
        return self._store.list_prefix(prefix)

    def list_dir(self, prefix):
        self.listings += 1
        return self._store.list_dir(prefix)

    def metadata_reads(self):
        return {k: n for k, n in self.found.items() if k.rpartition("/")[2] in METADATA_NAMES}

    def metadata_requests(self):
        return {k: n for k, n in self.gets.items() if k.rpartition("/")[2] in METADATA_NAMES}


def _file():
    nwb = mock_NWBFile()
    mock_ElectricalSeries(nwbfile=nwb)
    for i in range(20):
        nwb.add_acquisition(TimeSeries(name=f"ts{i}", data=np.arange(10.0) + i, rate=1.0,
                                       unit="m"))
    nwb.add_epoch(start_time=0.0, stop_time=1.0, timeseries=[nwb.acquisition["ts0"]])
    return nwb


@pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
def test_open_and_read_reads_metadata_once(tmp_path, fmt):
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(_file())
    store = CountingStore(LocalStore(str(path), read_only=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(store, "r") as io:
            nwbfile = io.read()
            assert len(nwbfile.acquisition) == 21
            reads = store.metadata_reads()
            requests = store.metadata_requests()
            listings = store.listings
            # data is lazy: touching it reads chunks, never metadata again
            assert list(nwbfile.acquisition["ts3"].data[:3]) == [3.0, 4.0, 5.0]
            assert store.metadata_reads() == reads
    root = "zarr.json" if fmt == 3 else ".zmetadata"
    # the root documents of both layouts are asked for in one concurrent batch (one round
    # trip, tests/read/test_round_trips.py): L2's .zgroup is found there, and read once
    assert reads == ({root: 1} if fmt == 3 else {root: 1, ".zgroup": 1}), reads
    assert listings == 0
    # besides the one read, only probes of absent root documents (zarr.json and .zmetadata
    # for L3, .zgroup too: FORMAT.md 4 warns when both exist), each once
    probes = {k: n for k, n in requests.items() if k != root}
    assert set(probes) <= {"zarr.json", ".zgroup", ".zmetadata"} and \
        all(n == 1 for n in probes.values()), requests


@pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
def test_r_minus_ignores_consolidated_metadata(tmp_path, fmt):
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(_file())
    store = CountingStore(LocalStore(str(path), read_only=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(store, "r-") as io:
            assert len(io.read().acquisition) == 21
    assert store.listings > 0  # walked the hierarchy instead
    assert store.found.get("acquisition/ts3/data/" + ("zarr.json" if fmt == 3 else ".zarray")) == 1
