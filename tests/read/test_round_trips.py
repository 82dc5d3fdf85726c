"""Sequential round trips of opening and reading (issue 16), counted with a delaying store
wrapper (``_delay_store.RoundTripStore``): requests started together share one round trip.
Counts only, never times."""

import warnings
from datetime import UTC, datetime

import numpy as np
import pytest
from _delay_store import RoundTripStore
from pynwb import TimeSeries
from pynwb.testing.mock.ecephys import mock_ElectricalSeries
from pynwb.testing.mock.file import mock_NWBFile
from zarr.storage import LocalStore

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.storage._atomic import WRITE_MARKER_KEY

N_SERIES = 20
N_UNITS = 30


def _nwbfile():
    nwb = mock_NWBFile(experimenter=["Ada", "Grace"], keywords=["a", "b"],
                       file_create_date=[datetime(2020, 1, 1, tzinfo=UTC)],
                       institution="somewhere", lab="lab")
    mock_ElectricalSeries(nwbfile=nwb)
    for i in range(N_SERIES):
        nwb.add_acquisition(TimeSeries(name=f"ts{i}", data=np.arange(10.0) + i, rate=1.0,
                                       unit="m", description=f"series {i}"))
    nwb.add_unit_column("quality", "a float column")
    nwb.add_unit_column("label", "a text column")
    for i in range(N_UNITS):
        nwb.add_unit(spike_times=np.arange(i) * 0.1, quality=float(i), label=f"u{i}")
    nwb.add_epoch(start_time=0.0, stop_time=1.0, timeseries=[nwb.acquisition["ts0"]])
    return nwb


@pytest.fixture(scope="module", params=[2, 3], ids=["L2", "L3"])
def written(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=request.param) as io:
        io.write(_nwbfile())
    return str(path), request.param


def _open(path, mode="r", **kwargs):
    store = RoundTripStore(LocalStore(path, read_only=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        io = NWBZarrIO(store, mode, **kwargs)
    return store, io


def test_open_takes_two_round_trips_and_one_marker_lookup(written):
    path, fmt = written
    store, io = _open(path)
    with io:
        # 1: marker + root documents (+ consolidated metadata); 2: the cached namespaces,
        # with the chunks read() will need (read.early)
        assert store.round_trips == 2, store.rounds()
        assert store.gets[WRITE_MARKER_KEY] == 1, store.rounds()
        first = set(store.rounds()[1])
        assert WRITE_MARKER_KEY in first and ("zarr.json" in first)
        second = store.rounds()[2]
        assert any(k.startswith("specifications/") for k in second), second
        # chunks only: every document came with the consolidated metadata
        assert not [k for k in second if k.rpartition("/")[2] in
                    ("zarr.json", ".zarray", ".zattrs", ".zgroup")], second
        assert store.listings == 0


@pytest.mark.parametrize("mode", ["r", "r-"])
def test_zarrio_open_looks_the_marker_up_once(written, mode):
    from hdmf_zarr import ZarrIO

    path, _fmt = written
    store = RoundTripStore(LocalStore(path, read_only=True))
    with ZarrIO(store, mode):
        assert store.gets[WRITE_MARKER_KEY] == 1
        assert store.round_trips == 1, store.rounds()


def test_open_and_read_take_two_round_trips(written):
    path, fmt = written
    store, io = _open(path)
    with io:
        nwbfile = io.read()
        # 2: the cached namespaces with every scalar (text scalars of both layouts included),
        # table ids, the series' electrodes region, file_create_date and experimenter
        assert store.round_trips == 2, store.rounds()
        assert list(nwbfile.experimenter) == ["Ada", "Grace"]
        assert nwbfile.institution == "somewhere"
        assert len(nwbfile.units.id[:]) == N_UNITS
        assert nwbfile.file_create_date[0].year == 2020
        assert store.round_trips == 2, store.rounds()
        read_keys = store.rounds()[2]
        assert "general/institution/" + ("c" if fmt == 3 else "0") in read_keys
        assert "units/id/" + ("c.0" if fmt == 3 else "0") in read_keys


def test_without_consolidated_metadata_read_takes_its_own_round_trip(written):
    path, fmt = written
    store, io = _open(path, mode="r-")
    with io:
        opened = store.round_trips
        nwbfile = io.read()
        assert nwbfile.institution == "somewhere"
        assert not any(k.startswith("general/institution/") for r in range(1, opened + 1)
                       for k in store.rounds()[r]), store.rounds()


def test_read_fetches_no_chunk_twice(written):
    path, _fmt = written
    store, io = _open(path)
    with io:
        io.read()
        twice = {k: n for k, n in store.gets.items() if n > 1}
        assert not twice, twice


@pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
def test_a_region_column_is_read_in_the_read_wave_with_its_table(tmp_path, fmt):
    # hdmf's DynamicTableRegion reads all its data while it is constructed (to check the
    # indices against the table): a units table with an electrodes column used to fetch every
    # one of its columns then, spike times included, in an extra round trip of read()
    nwb = mock_NWBFile()
    series = mock_ElectricalSeries(nwbfile=nwb)
    n_electrodes = len(series.electrodes.table)
    big = 50_000
    for i in range(4):
        nwb.add_unit(spike_times=np.arange(big, dtype=float) + i,
                     electrodes=[i % n_electrodes])
    path = str(tmp_path / "f.nwb.zarr")
    with NWBZarrIO(path, "w", zarr_format=fmt) as io:
        io.write(nwb)
    store, io = _open(path)
    with io:
        nwbfile = io.read()
        assert store.round_trips == 2, store.rounds()
        assert not [k for k in store.gets if k.startswith("units/spike_times/")], store.rounds()
        store.reset()
        # the region resolves into rows of the electrodes table: its columns come in the
        # same batch as the units' own
        df = nwbfile.units.to_dataframe()
        assert store.round_trips == 1, store.rounds()
        assert any(k.startswith("general/extracellular_ephys/electrodes/location/")
                   for k in store.rounds()[1]), store.rounds()
        electrodes = nwbfile.electrodes.to_dataframe()
        assert store.round_trips == 1, store.rounds()
        assert list(df["electrodes"].iloc[3]["location"]) == \
            [electrodes["location"].iloc[3 % n_electrodes]]
        assert list(nwbfile.units.electrodes.data[:]) == [i % n_electrodes for i in range(4)]
        assert nwbfile.units["spike_times"][2][-1] == big - 1 + 2


def test_table_columns_are_read_together(written):
    path, _fmt = written
    store, io = _open(path)
    with io:
        nwbfile = io.read()
        store.reset()
        df = nwbfile.units.to_dataframe()
        assert list(df["label"]) == [f"u{i}" for i in range(N_UNITS)]
        assert len(df["spike_times"].iloc[5]) == 5
        # quality, label, spike_times and its index: one round trip
        assert store.round_trips == 1, store.rounds()
        assert store.requests == 4, store.rounds()
        store.reset()
        nwbfile.units.to_dataframe()
        assert store.requests == 0


def test_a_row_reads_the_table_in_one_round_trip(written):
    path, _fmt = written
    store, io = _open(path)
    with io:
        nwbfile = io.read()
        store.reset()
        row = nwbfile.units[3]
        assert row["label"].iloc[0] == "u3"
        assert store.round_trips == 1, store.rounds()


def test_without_prefetch_each_series_costs_a_round_trip(written):
    path, _fmt = written
    store, io = _open(path)
    with io:
        nwbfile = io.read()
        store.reset()
        for i in range(N_SERIES):
            nwbfile.acquisition[f"ts{i}"].data[:5]
        assert store.round_trips == N_SERIES


def test_prefetch_reads_small_datasets_while_opening(written):
    path, _fmt = written
    store, io = _open(path, prefetch=True)
    with io:
        nwbfile = io.read()
        # the small datasets come with the cached specifications (read.early)
        assert store.round_trips == 2, store.rounds()
        store.reset()
        for i in range(N_SERIES):
            assert list(nwbfile.acquisition[f"ts{i}"].data[:3]) == [i, i + 1.0, i + 2.0]
        nwbfile.units.to_dataframe()
        assert store.requests == 0, store.rounds()


def test_prefetch_budget_bounds_the_bytes(written):
    path, _fmt = written
    store, io = _open(path, prefetch=3 * 80)  # room for three of the 80-byte series
    with io:
        nwbfile = io.read()
        store.reset()
        for i in range(N_SERIES):
            nwbfile.acquisition[f"ts{i}"].data[:5]
        assert store.round_trips == N_SERIES - 3, store.rounds()


def test_prefetch_refuses_a_negative_budget(written):
    path, _fmt = written
    with pytest.raises(ValueError, match="prefetch"):
        _open(path, prefetch=-1)


@pytest.mark.parametrize("shards", [None, (40,)], ids=["chunks", "shards"])
def test_a_slice_over_many_chunks_is_fetched_concurrently(tmp_path, shards):
    """The chunks (or shards) a selection spans are fetched concurrently, in one round trip
    (Zarr keeps at most 10 requests in flight by default: 19 chunks took 2 round trips)."""
    from hdmf_zarr import ZarrDataIO

    nwb = mock_NWBFile()
    data = ZarrDataIO(np.arange(200.0), chunks=(10,), **({"shards": shards} if shards else {}))
    nwb.add_acquisition(TimeSeries(name="long", data=data, rate=1.0, unit="m"))
    path = str(tmp_path / "f.nwb.zarr")
    with NWBZarrIO(path, "w", zarr_format=3) as io:
        io.write(nwb)
    store, io = _open(path)
    with io:
        series = io.read().acquisition["long"]
        store.reset()
        np.testing.assert_array_equal(series.data[5:195], np.arange(5.0, 195.0))
        assert store.round_trips == 1, store.rounds()
        # a small array is read whole, once (the reader's array cache): every chunk or shard
        assert store.requests == (20 if shards is None else 5)
