"""Catalogue 9 and 10: appending to a written file, and iterative (chunk iterator) writes."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hdmf.data_utils import DataChunkIterator
from pynwb import NWBFile, TimeSeries
from pynwb.ecephys import ElectricalSeries

from _shared import ArrayIterator

from . import _helpers as h
from ._compare import assert_container_equal, assert_values_equal, materialize


def _nwbfile(identifier: str) -> NWBFile:
    return NWBFile(session_description="append and iterate", identifier=identifier,
                   session_start_time=datetime(2022, 2, 3, 4, 5, 6, tzinfo=UTC))


# -- 9. append ------------------------------------------------------------------------------

def _original_file() -> NWBFile:
    nwbfile = _nwbfile("append")
    device = nwbfile.create_device(name="probe")
    group = nwbfile.create_electrode_group(name="shank", description="d", location="CA1",
                                           device=device)
    for i in range(3):
        nwbfile.add_electrode(group=group, location=f"l{i}")
    es = ElectricalSeries(name="es", data=np.arange(30, dtype="int16").reshape(10, 3), rate=100.0,
                          electrodes=nwbfile.create_electrode_table_region([0, 1, 2], "all"))
    nwbfile.add_acquisition(es)
    old = TimeSeries(name="old", data=np.linspace(0, 1, 50), timestamps=np.arange(50) / 50.0,
                     unit="m")
    nwbfile.add_acquisition(old)
    nwbfile.add_acquisition(TimeSeries(name="old_link", data=np.ones(50), timestamps=old, unit="m"))
    module = nwbfile.create_processing_module(name="behavior", description="old module")
    module.add(TimeSeries(name="speed", data=np.arange(5.0), rate=1.0, unit="m/s"))
    nwbfile.add_epoch(start_time=0.0, stop_time=0.5, timeseries=[old])
    return nwbfile


def test_append(roundtrip):
    original = _original_file()
    path = roundtrip.write(original)
    before = h.raw_snapshot(path)
    assert before, "nothing to compare: the snapshot of the written file is empty"

    io = roundtrip.io(path, "a")
    appended = io.read()
    new_ts = TimeSeries(name="new", data=np.arange(7, dtype="uint8"), rate=3.0, unit="u")
    appended.add_acquisition(new_ts)
    new_module = appended.create_processing_module(name="new_module", description="added")
    in_module = TimeSeries(name="in_module", data=np.array([[1.5, 2.5], [3.5, 4.5]]),
                           timestamps=[0.0, 1.0], unit="u")
    new_module.add(in_module)
    io.write(appended)
    io.close()

    after = h.raw_snapshot(path)
    changed = sorted(k for k, v in before.items() if after.get(k) != v)
    assert not changed, f"appending changed or removed stored data of old objects: {changed[:20]}"
    assert len(after) > len(before), "the appended objects stored no data"

    read = roundtrip.read(path)
    assert set(read.acquisition) == {"es", "old", "old_link", "new"}
    assert set(read.processing) == {"behavior", "new_module"}
    for name in ("es", "old", "old_link"):
        assert_container_equal(original.acquisition[name], read.acquisition[name])
    assert_container_equal(original.processing["behavior"], read.processing["behavior"])
    assert_container_equal(original.electrodes, read.electrodes)
    assert_container_equal(original.epochs, read.epochs)
    assert read.acquisition["old_link"].fields["timestamps"] is read.acquisition["old"]
    assert read.epochs["timeseries"][0][0].timeseries is read.acquisition["old"]

    assert_container_equal(new_ts, read.acquisition["new"])
    assert_container_equal(new_module, read.processing["new_module"])
    assert_values_equal(np.arange(7, dtype="uint8"), read.acquisition["new"].data,
                        strict_dtype=True)


# -- 10. iterative writes -------------------------------------------------------------------

N_ROWS, N_COLS = 97, 3
EXPECTED_2D = np.arange(N_ROWS * N_COLS, dtype="float32").reshape(N_ROWS, N_COLS) / 7
EXPECTED_1D = np.arange(41, dtype="int64") * -3


def _rows():
    yield from EXPECTED_2D


def _iterators():
    """name -> (iterator factory, expected array)."""
    return {
        # known final shape: the iterator wraps an array, or is told its maxshape
        "known_array": (lambda: DataChunkIterator(data=EXPECTED_2D, buffer_size=8), EXPECTED_2D),
        "known_rows": (lambda: DataChunkIterator(data=_rows(), maxshape=(N_ROWS, N_COLS),
                                                 dtype=np.dtype("float32"), buffer_size=13),
                       EXPECTED_2D),
        # unknown final shape: only the trailing axes are known
        "unknown_rows": (lambda: DataChunkIterator(data=_rows(), maxshape=(None, N_COLS),
                                                   dtype=np.dtype("float32"), buffer_size=10),
                         EXPECTED_2D),
        "unknown_1d": (lambda: DataChunkIterator(data=iter(EXPECTED_1D.tolist()), maxshape=(None,),
                                                 dtype=np.dtype("int64"), buffer_size=6),
                       EXPECTED_1D),
        "generic": (lambda: ArrayIterator(EXPECTED_2D, buffer_shape=(20, N_COLS),
                                           chunk_shape=(10, N_COLS), display_progress=False),
                    EXPECTED_2D),
    }


@pytest.mark.parametrize("exhaust_dci", [True, False], ids=["exhaust", "no_exhaust"])
def test_iterative_write(roundtrip, exhaust_dci):
    nwbfile = _nwbfile(f"iterative-{exhaust_dci}")
    iterators = _iterators()
    for name, (make, _) in iterators.items():
        nwbfile.add_acquisition(TimeSeries(name=name, data=make(), rate=100.0, unit="u"))
    # unbuffered rows of unknown count, with timestamps from an iterator too
    blocks = DataChunkIterator(data=_rows(), maxshape=(None, N_COLS), dtype=np.dtype("float32"),
                               buffer_size=1)
    stamps = DataChunkIterator(data=iter((np.arange(N_ROWS) / 100.0).tolist()), maxshape=(None,),
                               dtype=np.dtype("float64"), buffer_size=17)
    nwbfile.add_acquisition(TimeSeries(name="blocks", data=blocks, timestamps=stamps, unit="u"))
    nwbfile.add_acquisition(TimeSeries(name="plain", data=EXPECTED_1D, rate=1.0, unit="u"))

    read = roundtrip(nwbfile, write_kwargs={"exhaust_dci": exhaust_dci})
    expected = {name: array for name, (_, array) in iterators.items()}
    expected["blocks"] = EXPECTED_2D
    expected["plain"] = EXPECTED_1D
    assert set(read.acquisition) == set(expected)
    for name, array in expected.items():
        got = np.asarray(materialize(read.acquisition[name].data))
        assert got.shape == array.shape, (name, got.shape)
        assert got.dtype == array.dtype, (name, got.dtype)
        assert_values_equal(array, got, strict_dtype=True, label=name)
    assert_values_equal(np.arange(N_ROWS) / 100.0, read.acquisition["blocks"].timestamps,
                        strict_dtype=True, label="blocks.timestamps")
    assert read.acquisition["known_rows"].rate == 100.0
