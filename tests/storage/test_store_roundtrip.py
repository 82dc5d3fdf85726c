"""A compact NWB catalogue written and read through every store of ours and through Zarr's own
(memory, directory, a ``.zip`` path), in both layouts, compared value by value.

The catalogue: a TimeSeries; a TimeSeries whose timestamps link to the first; an electrodes table
(object references to an electrode group) and an ElectricalSeries with a region of it; epochs
(a compound column of references to the TimeSeries); a DynamicTable with a ragged column.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from hdmf.common import DynamicTable
from hdmf.testing import TestCase
from obstore.store import LocalStore as ObstoreLocal
from obstore.store import MemoryStore as ObstoreMemory
from zarr.storage import LocalStore, MemoryStore, ObjectStore

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.storage import H5NestedStore, SQLiteStore, ZipNestedStore


def catalogue():
    from pynwb import NWBFile, TimeSeries
    from pynwb.ecephys import ElectricalSeries

    start = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    nwbfile = NWBFile(session_description="store catalogue", identifier="catalogue-1",
                      session_start_time=start, file_create_date=start)
    ts = TimeSeries(name="ts", data=np.arange(100, dtype="float32").reshape(50, 2), unit="V",
                    timestamps=np.linspace(0.0, 4.9, 50))
    nwbfile.add_acquisition(ts)
    nwbfile.add_acquisition(TimeSeries(name="linked", data=np.arange(50, dtype="int32"),
                                       unit="a.u.", timestamps=ts))  # a link to ts.timestamps
    device = nwbfile.create_device(name="probe")
    group = nwbfile.create_electrode_group(name="shank0", description="shank", location="CA1",
                                           device=device)
    for i in range(4):
        nwbfile.add_electrode(x=float(i), y=0.5, z=-1.0, location="CA1", group=group)
    region = nwbfile.create_electrode_table_region([0, 2], "two electrodes")
    nwbfile.add_acquisition(ElectricalSeries(
        name="es", data=np.arange(60, dtype="int16").reshape(30, 2), electrodes=region, rate=30.0))
    nwbfile.add_epoch(0.0, 1.0, tags=["a", "b"], timeseries=[ts])
    nwbfile.add_epoch(1.0, 2.5, tags=["c"], timeseries=[ts, nwbfile.acquisition["linked"]])
    table = DynamicTable(name="ragged_table", description="a table with a ragged column")
    table.add_column("words", "ragged text", index=True)
    table.add_column("score", "a number")
    table.add_row(words=["x", "yy"], score=1.5)
    table.add_row(words=[], score=2.5)
    table.add_row(words=["zzz", "w", "v"], score=3.5)
    nwbfile.add_acquisition(table)
    return nwbfile


def _ours(factory):
    """(store to write, store to read back): a fresh instance on the same location."""
    def make(tmp_path):
        return factory(tmp_path), factory(tmp_path)
    return make


def _memory(tmp_path):
    store = MemoryStore()
    return store, store


STORES = {
    "sqlite": _ours(lambda p: SQLiteStore(p / "catalogue.nwb.sqlite")),
    "h5nested-d0": _ours(lambda p: H5NestedStore(p / "catalogue.nwb.zarr", consolidate_depth=0)),
    "h5nested-d1-loose": _ours(lambda p: H5NestedStore(p / "catalogue.nwb.zarr",
                                                       write_direct=False)),
    "zipnested": _ours(lambda p: ZipNestedStore(p / "catalogue.nwb.zarr")),
    "memory": _memory,
    # Zarr's ObjectStore over obstore's stores (issue "Every store")
    "obstore-local": _ours(lambda p: ObjectStore(ObstoreLocal(prefix=str(p / "cat.nwb.zarr"),
                                                              mkdir=True))),
    "obstore-memory": lambda p: (lambda s: (s, s))(ObjectStore(ObstoreMemory())),
    "local": _ours(lambda p: LocalStore(p / "catalogue.nwb.zarr")),
    "zip-path": lambda p: (str(p / "catalogue.nwb.zip"), str(p / "catalogue.nwb.zip")),
    "directory-path": lambda p: (str(p / "catalogue.nwb.zarr"), str(p / "catalogue.nwb.zarr")),
}


@pytest.mark.parametrize("layout", [2, 3], ids=["L2", "L3"])
@pytest.mark.parametrize("store", STORES)
def test_catalogue_roundtrip(tmp_path, store, layout):
    target, source = STORES[store](tmp_path)
    written = catalogue()
    with NWBZarrIO(target, mode="w", zarr_format=layout) as io:
        io.write(written)
    with NWBZarrIO(source, mode="r") as io:
        read = io.read()
        assert read.name == written.name == "root"
        TestCase().assertContainerEqual(written, read, ignore_hdmf_attrs=True)
        # links and references resolve to the very objects read
        ts = read.acquisition["ts"]
        assert read.acquisition["linked"].fields["timestamps"] is ts
        assert read.acquisition["es"].electrodes.table is read.electrodes
        assert read.electrodes["group"][0] is read.electrode_groups["shank0"]
        assert read.epochs["timeseries"][1][1][2] is read.acquisition["linked"]
        assert list(read.acquisition["ragged_table"]["words"][2]) == ["zzz", "w", "v"]
    for s in (target, source):
        close = getattr(s, "close", None)
        if close is not None:
            close()


@pytest.mark.parametrize("layout", [2, 3], ids=["L2", "L3"])
def test_object_store_external_link(tmp_path, layout):
    """A file in Zarr's ObjectStore (over obstore's local store) links to a dataset of a
    directory store beside it: the link is stored relative and resolves when read back."""
    from pynwb import TimeSeries

    from hdmf_zarr import ZarrDataIO
    from hdmf_zarr.storage import store_location

    values = np.arange(80, dtype="int16").reshape(40, 2)
    file_a = catalogue()
    file_a.add_acquisition(TimeSeries(name="source", data=values, rate=5.0, unit="V"))
    path_a = tmp_path / "a.nwb.zarr"
    with NWBZarrIO(str(path_a), mode="w", zarr_format=layout) as io:
        io.write(file_a)

    store_b = ObjectStore(ObstoreLocal(prefix=str(tmp_path / "b.nwb.zarr"), mkdir=True))
    assert store_location(store_b) == str(tmp_path / "b.nwb.zarr")
    with NWBZarrIO(str(path_a), mode="r") as io_a:
        source = io_a.read().acquisition["source"].data
        file_b = catalogue()
        file_b.add_acquisition(TimeSeries(name="external", data=ZarrDataIO(source, link_data=True),
                                          rate=5.0, unit="V"))
        with NWBZarrIO(store_b, mode="w", zarr_format=layout) as io:
            io.write(file_b)
    # nothing of a's data was copied into b: the dataset is a link
    assert not (tmp_path / "b.nwb.zarr" / "acquisition" / "external" / "data").exists()
    reader = ObjectStore(ObstoreLocal(prefix=str(tmp_path / "b.nwb.zarr")), read_only=True)
    with NWBZarrIO(reader, mode="r") as io:
        linked = io.read().acquisition["external"]
        np.testing.assert_array_equal(linked.data[:], values)
        assert linked.data.dtype == values.dtype
