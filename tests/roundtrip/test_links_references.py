"""Catalogue 4, 5 and 6: soft links, external links, and object references.

References are checked in the three places HDMF stores them: a dataset of references (the
electrodes table's ``group`` column, the Units ``electrode_group`` column), an attribute (a
DynamicTableRegion's ``table``) and a compound field (the ``timeseries`` column of epochs/trials).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pynwb import NWBFile, TimeSeries
from pynwb.ecephys import ElectricalSeries

from . import _helpers as h
from ._compare import assert_container_equal, assert_values_equal, materialize


def _nwbfile(identifier: str) -> NWBFile:
    return NWBFile(session_description="links and references", identifier=identifier,
                   session_start_time=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))


def _same_target(read_obj, read_expected, original):
    """The reference resolved to the read counterpart of ``original``."""
    assert read_obj is read_expected, f"resolved to {read_obj!r}, not the object read at its path"
    assert read_obj.name == original.name
    assert read_obj.object_id == original.object_id
    assert type(read_obj) is type(original)


def _link_entry(store, group_path: str, name: str) -> dict:
    entries = [e for e in h.raw_links(store, group_path) if e.get("name") == name]
    assert len(entries) == 1, (
        f"{group_path}: link {name!r} not stored once: {h.raw_links(store, group_path)}")
    return entries[0]


# -- 4. soft links ----------------------------------------------------------------------------

def test_soft_links(roundtrip):
    nwbfile = _nwbfile("soft-links")
    times = np.linspace(0.0, 1.0, 11)
    ts1 = TimeSeries(name="ts1", data=np.arange(11, dtype="int32"), timestamps=times, unit="m")
    ts2 = TimeSeries(name="ts2", data=np.arange(11, dtype="float32") * 2, timestamps=ts1, unit="s")
    nwbfile.add_acquisition(ts1)
    nwbfile.add_acquisition(ts2)
    device = nwbfile.create_device(name="probe", description="a probe")
    nwbfile.create_electrode_group(name="shank0", description="sh", location="CA1",
                                           device=device)

    read = roundtrip(nwbfile)
    path = roundtrip.last_path
    assert_container_equal(nwbfile, read)

    r1, r2 = read.acquisition["ts1"], read.acquisition["ts2"]
    # pynwb maps a linked timestamps dataset back to the TimeSeries that owns it
    assert r2.fields["timestamps"] is r1
    assert_values_equal(times, r2.timestamps, label="ts2.timestamps")
    assert_values_equal(materialize(r1.timestamps), r2.timestamps, label="ts1 vs ts2 timestamps")
    for lazy in (r1.timestamps, r2.timestamps):
        where = h.stored_path(lazy)
        if where is not None:
            assert where == "/acquisition/ts1/timestamps", where

    entry = _link_entry(path, "/acquisition/ts2", "timestamps")
    assert entry["source"] == "."
    assert entry["path"] == "/acquisition/ts1/timestamps"
    assert not h.raw_node_exists(path, "/acquisition/ts2/timestamps")
    assert h.raw_node_exists(path, "/acquisition/ts1/timestamps")

    rgroup = read.electrode_groups["shank0"]
    _same_target(rgroup.device, read.devices["probe"], device)
    entry = _link_entry(path, "/general/extracellular_ephys/shank0", "device")
    assert entry["source"] == "."
    assert entry["path"] == "/general/devices/probe"
    assert not h.raw_node_exists(path, "/general/extracellular_ephys/shank0/device")


# -- 5. external links ------------------------------------------------------------------------

def test_external_link(roundtrip):
    data = np.arange(120, dtype="int16").reshape(60, 2)
    file_a = _nwbfile("file-a")
    file_a.add_acquisition(TimeSeries(name="source", data=data, rate=10.0, unit="V"))
    path_a = roundtrip.write(file_a, roundtrip.path("file_a"))

    read_a = roundtrip.read(path_a)
    a_data = read_a.acquisition["source"].data

    file_b = _nwbfile("file-b")
    linked = TimeSeries(name="linked", data=h.data_io(a_data, link_data=True), rate=10.0, unit="V")
    file_b.add_acquisition(linked)
    path_b = roundtrip.write(file_b, roundtrip.path("file_b"))

    read_b = roundtrip.read(path_b)
    read_linked = read_b.acquisition["linked"]
    assert_container_equal(file_b, read_b)
    assert_values_equal(data, read_linked.data, strict_dtype=True, label="linked data")
    assert read_linked.rate == 10.0
    assert read_linked.object_id == linked.object_id

    entry = _link_entry(path_b, "/acquisition/linked", "data")
    source = entry["source"]
    assert source not in (".", "", None), f"external link stored as internal: {entry}"
    assert not os.path.isabs(source), f"external link source is absolute: {source!r}"
    assert "://" not in source
    # Zarr: relative to the linking store's own location (FORMAT.md 3.8, 2.4);
    # HDF5: relative to the directory holding the file
    base = Path(path_b).parent if h.IS_HDF5 else Path(path_b)
    assert Path(os.path.normpath(base / source)) == Path(path_a), (source, path_a)
    assert entry["path"] == "/acquisition/source/data"
    assert not h.raw_node_exists(path_b, "/acquisition/linked/data"), "data was copied, not linked"
    assert h.raw_node_exists(path_a, "/acquisition/source/data")


# -- 6. references ----------------------------------------------------------------------------

def _reference_file():
    nwbfile = _nwbfile("references")
    device = nwbfile.create_device(name="probe")
    groups = [nwbfile.create_electrode_group(name=f"shank{i}", description=f"shank {i}",
                                             location="CA1", device=device) for i in range(2)]
    for i in range(4):
        nwbfile.add_electrode(group=groups[i % 2], location=f"loc{i}")
    region = nwbfile.create_electrode_table_region(region=[0, 2, 3], description="three")
    es = ElectricalSeries(name="es", data=np.arange(30, dtype="int16").reshape(10, 3),
                          electrodes=region, rate=1000.0)
    nwbfile.add_acquisition(es)
    ts = TimeSeries(name="ts", data=np.arange(20.0), timestamps=np.arange(20.0) / 10, unit="a.u.")
    nwbfile.add_acquisition(ts)

    nwbfile.add_unit(spike_times=[0.1, 0.2], electrode_group=groups[0], electrodes=[0, 2])
    nwbfile.add_unit(spike_times=[0.3], electrode_group=groups[1], electrodes=[1])
    nwbfile.add_unit(spike_times=[], electrode_group=groups[0], electrodes=[3])

    nwbfile.add_epoch(start_time=0.0, stop_time=0.5, tags=["a"], timeseries=[ts, es])
    nwbfile.add_epoch(start_time=0.5, stop_time=1.0, tags=["b", "c"], timeseries=[es])
    nwbfile.add_trial_column(name="stim", description="stimulus")
    nwbfile.add_trial(start_time=0.0, stop_time=0.2, stim="é", timeseries=[ts])
    nwbfile.add_trial(start_time=0.2, stop_time=0.4, stim="ü", timeseries=[ts, es])
    return nwbfile, device, groups, es, ts


def test_references_in_datasets_attributes_and_compounds(roundtrip):
    nwbfile, device, groups, es, ts = _reference_file()
    read = roundtrip(nwbfile)
    assert_container_equal(nwbfile, read)

    rgroups = [read.electrode_groups[g.name] for g in groups]
    # dataset of references: electrodes.group
    read_group_col = read.electrodes["group"]
    for i in range(4):
        _same_target(read_group_col[i], rgroups[i % 2], groups[i % 2])
    assert_values_equal(["shank0", "shank1", "shank0", "shank1"],
                        read.electrodes["group_name"].data)
    # dataset of references: units.electrode_group
    for i, g in enumerate([0, 1, 0]):
        _same_target(read.units["electrode_group"][i], rgroups[g], groups[g])
    # attribute reference: DynamicTableRegion.table (series electrodes, units electrodes)
    _same_target(read.acquisition["es"].electrodes.table, read.electrodes, nwbfile.electrodes)
    _same_target(read.units["electrodes"].target.table, read.electrodes, nwbfile.electrodes)
    assert_values_equal([0, 2, 3], read.acquisition["es"].electrodes.data)
    # compound with a reference field: epochs/trials timeseries (TimeSeriesReferenceVectorData)
    rts, res = read.acquisition["ts"], read.acquisition["es"]
    read_of = {id(ts): rts, id(es): res}
    n_refs = {"epochs": [2, 1], "trials": [1, 2]}
    all_rows = []
    for table_name, counts in n_refs.items():
        written, table = getattr(nwbfile, table_name), getattr(read, table_name)
        for row, count in enumerate(counts):
            refs, got = written["timeseries"][row], table["timeseries"][row]
            assert len(refs) == len(got) == count, (table_name, row, got)
            for ref, read_ref in zip(refs, got):
                assert (int(read_ref.idx_start), int(read_ref.count)) == (ref.idx_start, ref.count)
                _same_target(read_ref.timeseries, read_of[id(ref.timeseries)], ref.timeseries)
                if table_name == "epochs":
                    all_rows.append(ref)
    # the raw compound rows of epochs, every field
    raw = [tuple(r) for r in materialize(read.epochs["timeseries"].target.data)]
    assert len(raw) == len(all_rows) == 3
    for (start, count, target), ref in zip(raw, all_rows):
        assert (int(start), int(count)) == (ref.idx_start, ref.count)
        _same_target(target, read_of[id(ref.timeseries)], ref.timeseries)
