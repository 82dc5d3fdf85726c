"""Catalogue 8: scalars of every dtype, empty and 3-D datasets, bool data, datetimes.

NWB covers the shapes and the datetimes pynwb handles itself (session_start_time with a time
zone, the file_create_date list, timestamps_reference_time, Subject.date_of_birth). Scalars of
every dtype, attributes of every dtype and isodatetime columns need a spec that declares them, so
a tiny generic HDMF namespace (no NWB) is built for them and written with the generic IO.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hdmf.build import BuildManager
from hdmf.common import SimpleMultiContainer
from pynwb import NWBFile, TimeSeries
from pynwb.file import Subject

from ._compare import assert_container_equal, assert_values_equal, materialize

# -- NWB: shapes and datetimes ------------------------------------------------------------------

TZ_MINUS7 = timezone(timedelta(hours=-7))
TZ_PLUS0530 = timezone(timedelta(hours=5, minutes=30))


def _odd_nwbfile() -> NWBFile:
    nwbfile = NWBFile(
        session_description="odd shapes",
        identifier="odd-shapes",
        session_start_time=datetime(2021, 3, 4, 5, 6, 7, 123456, tzinfo=TZ_MINUS7),
        file_create_date=[datetime(2021, 3, 5, 1, 2, 3, tzinfo=TZ_PLUS0530),
                          datetime(2022, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)],
        timestamps_reference_time=datetime(2021, 3, 4, 5, 0, 0, tzinfo=TZ_MINUS7),
    )
    nwbfile.subject = Subject(subject_id="mouse-1", species="Mus musculus", sex="F",
                              date_of_birth=datetime(2020, 11, 12, 0, 0, tzinfo=UTC))
    nwbfile.add_acquisition(TimeSeries(name="empty", data=np.zeros((0,), dtype="float32"),
                                       timestamps=np.zeros((0,), dtype="float64"), unit="u"))
    nwbfile.add_acquisition(TimeSeries(name="empty_2d", data=np.zeros((0, 3), dtype="int16"),
                                       rate=10.0, unit="u"))
    nwbfile.add_acquisition(TimeSeries(name="cube", rate=2.0, unit="u",
                                       data=np.arange(60, dtype="uint16").reshape(5, 4, 3)))
    nwbfile.add_acquisition(TimeSeries(name="hyper", rate=2.0, unit="u",
                                       data=np.linspace(0, 1, 2 * 3 * 4 * 5).reshape(2, 3, 4, 5)))
    nwbfile.add_acquisition(TimeSeries(name="flags", data=np.array([True, False, True, True]),
                                       rate=1.0, unit="n/a"))
    nwbfile.add_acquisition(TimeSeries(name="single", data=np.array([42.0]), timestamps=[0.5],
                                       unit="u"))
    return nwbfile


def test_nwb_shapes_and_datetimes(roundtrip):
    nwbfile = _odd_nwbfile()
    read = roundtrip(nwbfile)
    assert_container_equal(nwbfile, read)

    acq = read.acquisition
    shapes = {"empty": ((0,), "float32"), "empty_2d": ((0, 3), "int16"),
              "cube": ((5, 4, 3), "uint16"), "hyper": ((2, 3, 4, 5), "float64"),
              "flags": ((4,), "bool"), "single": ((1,), "float64")}
    for name, (shape, dtype) in shapes.items():
        data = np.asarray(materialize(acq[name].data))
        assert data.shape == shape, (name, data.shape)
        assert data.dtype == np.dtype(dtype), (name, data.dtype)
    assert np.asarray(materialize(acq["empty"].timestamps)).shape == (0,)
    assert_values_equal(nwbfile.acquisition["cube"].data, acq["cube"].data, strict_dtype=True)

    assert read.session_start_time == nwbfile.session_start_time
    assert read.session_start_time.utcoffset() == timedelta(hours=-7)
    assert read.timestamps_reference_time.utcoffset() == timedelta(hours=-7)
    created = list(materialize(read.file_create_date))
    assert len(created) == 2
    assert [c.utcoffset() for c in created] == [timedelta(hours=5, minutes=30), timedelta(0)]
    assert created == list(nwbfile.file_create_date)
    assert read.subject.date_of_birth == nwbfile.subject.date_of_birth
    # rate and starting_time: a scalar attribute and a scalar dataset
    assert float(materialize(acq["cube"].starting_time)) == 0.0
    assert acq["cube"].rate == 2.0


# -- generic: scalars, attributes and isodatetime columns of every dtype ----------------------

NAMESPACE = "rt-scalars"
WHEN = datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
SCALARS = {
    "int8": np.int8(-128), "int16": np.int16(-32768), "int32": np.int32(-(2**31)),
    "int64": np.int64(-(2**63)), "uint8": np.uint8(255), "uint16": np.uint16(65535),
    "uint32": np.uint32(2**32 - 1), "uint64": np.uint64(2**64 - 1),
    "float32": np.float32(3.4e38), "float64": np.float64(-1e-308), "bool": np.bool_(True),
    "text": "héllo ☃ \U0001f600",
}
SPECIAL_FLOATS = {"nan": np.float64(np.nan), "inf": np.float64(np.inf), "ninf": np.float64(-np.inf)}


@pytest.fixture(scope="module")
def scalar_types(tmp_path_factory):
    """(type map, ScalarHolder class, EventTable class) of a generic namespace made for this
    test."""
    from hdmf.common import get_type_map
    from hdmf.spec import AttributeSpec, DatasetSpec, GroupSpec, NamespaceBuilder

    outdir = tmp_path_factory.mktemp("rt_scalars")
    builder = NamespaceBuilder(doc="scalars of every dtype", name=NAMESPACE, version="0.1.0")
    builder.include_namespace("hdmf-common")
    datasets = [DatasetSpec(doc=f"scalar {d}", name=f"d_{d}", dtype=d) for d in SCALARS]
    datasets += [DatasetSpec(doc=f"scalar {k}", name=f"d_{k}", dtype="float64")
                 for k in SPECIAL_FLOATS]
    datasets += [
        DatasetSpec(doc="scalar isodatetime", name="d_isodatetime", dtype="isodatetime"),
        DatasetSpec(doc="isodatetime array", name="times", dtype="isodatetime", shape=(None,)),
        DatasetSpec(doc="ascii array", name="ascii_values", dtype="ascii", shape=(None,)),
        DatasetSpec(doc="empty float array", name="empty_floats", dtype="float64", shape=(None,)),
        DatasetSpec(doc="empty text array", name="empty_texts", dtype="text", shape=(None,)),
        DatasetSpec(doc="2-D text", name="text_grid", dtype="text", shape=(None, None)),
    ]
    attributes = [AttributeSpec(name=f"a_{d}", doc=f"attribute {d}", dtype=d) for d in SCALARS]
    attributes += [AttributeSpec(name=f"a_{k}", doc=k, dtype="float64") for k in SPECIAL_FLOATS]
    attributes += [
        AttributeSpec(name="a_floats", doc="float array", dtype="float64", shape=(None,)),
        AttributeSpec(name="a_ints", doc="int array", dtype="int64", shape=(None,)),
        AttributeSpec(name="a_texts", doc="text array", dtype="text", shape=(None,)),
    ]
    holder = GroupSpec(doc="holds scalars", data_type_def="ScalarHolder", data_type_inc="Container",
                       datasets=datasets, attributes=attributes)
    events = GroupSpec(doc="a table with an isodatetime column", data_type_def="EventTable",
                       data_type_inc="DynamicTable",
                       datasets=[DatasetSpec(doc="when", name="when", data_type_inc="VectorData",
                                             dtype="isodatetime", shape=(None,))])
    builder.add_spec(f"{NAMESPACE}.extensions.yaml", holder)
    builder.add_spec(f"{NAMESPACE}.extensions.yaml", events)
    builder.export(f"{NAMESPACE}.namespace.yaml", outdir=str(outdir))
    type_map = get_type_map()  # a copy: hdmf-common's global type map stays untouched
    type_map.load_namespaces(str(outdir / f"{NAMESPACE}.namespace.yaml"))
    return (type_map, type_map.get_dt_container_cls("ScalarHolder", NAMESPACE),
            type_map.get_dt_container_cls("EventTable", NAMESPACE))


def _scalar_root(holder_cls, table_cls):
    kwargs = {f"d_{d}": v for d, v in SCALARS.items()}
    kwargs.update({f"a_{d}": v for d, v in SCALARS.items()})
    kwargs.update({f"d_{k}": v for k, v in SPECIAL_FLOATS.items()})
    kwargs.update({f"a_{k}": v for k, v in SPECIAL_FLOATS.items()})
    holder = holder_cls(
        name="scalars",
        d_isodatetime=WHEN,
        times=[WHEN, WHEN + timedelta(days=1, microseconds=1)],
        ascii_values=[b"abc", b"", b"z"],
        empty_floats=np.zeros((0,), dtype="float64"),
        empty_texts=[],
        text_grid=[["a", "b"], ["é", "☃"], ["", "x"]],
        a_floats=np.array([np.nan, np.inf, -np.inf, 0.1]),
        a_ints=np.array([-(2**63), 0, 2**63 - 1]),
        a_texts=["α", "", "ω"],
        **kwargs,
    )
    events = table_cls(name="events", description="isodatetime column")
    for i in range(3):
        events.add_row(when=WHEN + timedelta(hours=i))
    return SimpleMultiContainer(name="scalar_root", containers=[holder, events])


def test_scalars_of_every_dtype(roundtrip, scalar_types):
    type_map, holder_cls, table_cls = scalar_types
    root = _scalar_root(holder_cls, table_cls)
    path = roundtrip.write(root, roundtrip.path("scalars", generic=True), generic=True,
                           manager=BuildManager(type_map))
    read = roundtrip.read(path, generic=True, manager=BuildManager(type_map))
    assert_container_equal(root, read, check_root_name=False, strict_dtype=True)

    holder = read["scalars"]
    for dtype, value in SCALARS.items():
        for prefix in ("d_", "a_"):
            got = materialize(getattr(holder, prefix + dtype))
            assert np.ndim(got) == 0, f"{prefix}{dtype} read with shape {np.shape(got)}"
            if dtype == "text":
                assert (got.decode() if isinstance(got, bytes) else got) == value
                continue
            if prefix == "d_":  # a dataset keeps its dtype
                assert np.asarray(got).dtype == np.asarray(value).dtype, (prefix + dtype, got)
            else:  # an attribute (JSON in Zarr) keeps at least its kind and its value
                assert np.asarray(got).dtype.kind in ("iu" if np.asarray(value).dtype.kind in "iu"
                                                      else np.asarray(value).dtype.kind), got
            assert got == value, (prefix + dtype, got)
    for key in SPECIAL_FLOATS:
        for prefix in ("d_", "a_"):
            got = materialize(getattr(holder, prefix + key))
            assert np.ndim(got) == 0
            assert_values_equal(SPECIAL_FLOATS[key], got, label=prefix + key)
    assert np.asarray(materialize(holder.empty_floats)).shape == (0,)
    assert len(materialize(holder.empty_texts)) == 0
    assert_values_equal([[b"a", "b"], ["é", "☃"], ["", "x"]], holder.text_grid)
    assert_values_equal([WHEN + timedelta(hours=i) for i in range(3)], read["events"]["when"].data)
