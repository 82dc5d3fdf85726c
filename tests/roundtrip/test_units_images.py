"""What pynwb's integration round trips assert about Units waveform columns and
``ImageSeries.num_samples`` (issue 12, write 6), through our IO in both layouts:

* the waveform columns carry ``sampling_rate``, ``unit`` (default ``volts``) and, when set,
  ``time_before_peak_in_ms`` as stored attributes, and the Units table reads them back;
* an explicit ``num_samples`` is stored as a uint32 scalar and read back; one derived from the
  data is not stored at all.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
from pynwb import NWBFile
from pynwb.device import Device
from pynwb.image import ImageSeries
from pynwb.misc import Units

from . import _helpers as h
from ._compare import assert_container_equal

WAVEFORMS = [[[1, 2, 3], [1, 2, 3], [1, 2, 3]], [[1, 2, 3], [4, 5, 6], [1, 2, 3]]]


def _nwbfile() -> NWBFile:
    return NWBFile(session_description="units and images", identifier="units-images",
                   session_start_time=datetime(1971, 1, 1, 12, tzinfo=UTC))


def _scalar_dtype(store, node: str, layout: int) -> str:
    base = store / node.strip("/")
    if layout == 3:
        return json.loads((base / "zarr.json").read_text())["data_type"]
    return np.dtype(json.loads((base / ".zarray").read_text())["dtype"]).name


def test_waveforms_only(roundtrip):
    nwbfile = _nwbfile()
    ut = Units(name="wave_only", description="waveforms only")
    ut.add_unit(spike_times=[0.0, 1.0, 2.0], waveforms=WAVEFORMS)
    ut.add_unit(spike_times=[3.0, 4.0, 5.0], waveforms=np.array(WAVEFORMS))
    ut.waveform_rate = 40000.0
    nwbfile.add_acquisition(ut)

    read = roundtrip(nwbfile)
    assert_container_equal(nwbfile, read)
    rut = read.acquisition["wave_only"]
    assert rut.waveform_rate == 40000.0
    assert rut.waveform_unit == "volts"
    assert rut.waveform_time_before_peak_in_ms is None
    np.testing.assert_array_equal(rut["waveforms"][1], np.array(WAVEFORMS))
    if not h.IS_HDF5:
        attrs = h.raw_attributes(roundtrip.last_path, "/acquisition/wave_only/waveforms")
        assert attrs["sampling_rate"] == 40000.0
        assert attrs["unit"] == "volts"
        assert "time_before_peak_in_ms" not in attrs


def test_custom_unit_and_time_before_peak(roundtrip):
    nwbfile = _nwbfile()
    ut = Units(name="custom", description="custom waveform unit", waveform_rate=40000.0,
               waveform_unit="microvolts", waveform_time_before_peak_in_ms=1.5)
    ut.add_unit(spike_times=[0.0, 1.0, 2.0], waveform_mean=[1.0, 2.0, 3.0],
                waveform_sd=[4.0, 5.0, 6.0], waveforms=[[[1, 2, 3], [1, 2, 3]],
                                                        [[1, 2, 3], [1, 2, 3]]])
    nwbfile.add_acquisition(ut)

    read = roundtrip(nwbfile)
    assert_container_equal(nwbfile, read)
    rut = read.acquisition["custom"]
    assert rut.waveform_unit == "microvolts"
    assert rut.waveform_time_before_peak_in_ms == 1.5
    assert rut.waveform_rate == 40000.0
    if not h.IS_HDF5:
        for column in ("waveform_mean", "waveform_sd", "waveforms"):
            attrs = h.raw_attributes(roundtrip.last_path, f"/acquisition/custom/{column}")
            assert attrs["unit"] == "microvolts", column
            assert attrs["time_before_peak_in_ms"] == 1.5, column
            assert attrs["sampling_rate"] == 40000.0, column


def test_num_samples_explicit_is_uint32(roundtrip):
    nwbfile = _nwbfile()
    device = Device(name="dev1")
    nwbfile.add_device(device)
    nwbfile.add_acquisition(ImageSeries(
        name="external", unit="Frames", external_file=["external_file"], starting_frame=[0],
        format="external", rate=30.0, num_samples=900, device=device))

    read = roundtrip(nwbfile)
    assert_container_equal(nwbfile, read)
    assert read.acquisition["external"].num_samples == 900
    if not h.IS_HDF5:
        assert _scalar_dtype(roundtrip.last_path, "/acquisition/external/num_samples",
                             roundtrip.layout) == "uint32"


def test_num_samples_derived_not_stored(roundtrip):
    nwbfile = _nwbfile()
    series = ImageSeries(name="internal", data=np.zeros((10, 5, 5), dtype=np.uint8),
                         unit="n.a.", rate=1.0)
    nwbfile.add_acquisition(series)
    assert series._num_samples is None

    read = roundtrip(nwbfile)
    assert_container_equal(nwbfile, read)
    if not h.IS_HDF5:
        assert not h.raw_node_exists(roundtrip.last_path, "/acquisition/internal/num_samples")
    rs = read.acquisition["internal"]
    assert rs._num_samples is None
    assert rs.num_samples == 10
