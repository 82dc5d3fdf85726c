"""Datasets of dtype ``isodatetime`` in extensions read back as ``datetime`` objects, as with
NWBHDF5IO and hdmf-zarr 0.13 (issue 12 item 9), in both layouts."""

from datetime import UTC, datetime, timedelta, timezone

import pynwb
import pytest
from hdmf.build import BuildManager
from pynwb import NWBHDF5IO, NWBFile

from hdmf_zarr import NWBZarrIO

NAMESPACE = "ndx-isodatetime-read"
TZ = timezone(timedelta(hours=-5))
TIMES = [datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
         datetime(2024, 6, 7, 8, 9, 10, 123456, tzinfo=TZ),
         datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=9, minutes=30)))]
WHEN = datetime(2020, 2, 29, 12, 0, tzinfo=TZ)


@pytest.fixture(scope="module")
def extension(tmp_path_factory):
    from pynwb.spec import NWBDatasetSpec, NWBGroupSpec, NWBNamespaceBuilder

    outdir = tmp_path_factory.mktemp("ext")
    builder = NWBNamespaceBuilder(doc="isodatetime datasets", name=NAMESPACE, version="0.1.0",
                                  author=["hdmf_zarr tests"], contact=["t@example.org"])
    builder.include_type("LabMetaData", namespace="core")
    builder.add_spec(f"{NAMESPACE}.extensions.yaml", NWBGroupSpec(
        neurodata_type_def="EventLog", neurodata_type_inc="LabMetaData", doc="event times",
        datasets=[NWBDatasetSpec(name="times", doc="times", dtype="isodatetime",
                                 shape=(None,)),
                  NWBDatasetSpec(name="when", doc="one time", dtype="isodatetime")]))
    builder.export(f"{NAMESPACE}.namespace.yaml", outdir=str(outdir))
    type_map = pynwb.get_type_map()
    type_map.load_namespaces(str(outdir / f"{NAMESPACE}.namespace.yaml"))
    return type_map, type_map.get_dt_container_cls("EventLog", NAMESPACE)


def _nwbfile(cls):
    nwbfile = NWBFile(session_description="d", identifier="i",
                      session_start_time=datetime(2024, 1, 1, tzinfo=UTC))
    nwbfile.add_lab_meta_data(cls(name="log", times=TIMES, when=WHEN))
    return nwbfile


def _read_log(io_cls, path, type_map, **kwargs):
    with io_cls(str(path), "r", manager=BuildManager(type_map), **kwargs) as io:
        log = io.read().get_lab_meta_data("log")
        return list(log.times), log.when


@pytest.mark.parametrize("layout", [3, 2])
def test_isodatetime_datasets_read_as_datetimes(tmp_path, extension, layout):
    type_map, cls = extension
    h5 = tmp_path / "x.nwb"
    with NWBHDF5IO(str(h5), "w", manager=BuildManager(type_map)) as io:
        io.write(_nwbfile(cls))
    want_times, want_when = _read_log(NWBHDF5IO, h5, type_map)
    assert all(isinstance(t, datetime) for t in want_times)
    path = tmp_path / f"x{layout}.nwb.zarr"
    with NWBZarrIO(str(path), "w", manager=BuildManager(type_map), zarr_format=layout) as io:
        io.write(_nwbfile(cls))
    times, when = _read_log(NWBZarrIO, path, type_map)
    assert all(type(t) is datetime for t in times), times
    assert times == want_times == TIMES
    assert [t.utcoffset() for t in times] == [t.utcoffset() for t in TIMES]
    assert isinstance(when, datetime) and when == want_when == WHEN
