"""The comparison helper itself: it must accept equal content in its many spellings and report
every kind of difference the round-trip tests rely on it to find. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData
from pynwb import TimeSeries

from ._compare import assert_container_equal, assert_frames_equal, assert_values_equal, materialize


class SliceOnly:
    """An array-like that only accepts slices (like some lazy arrays)."""

    def __init__(self, array):
        self._array = np.asarray(array)
        self.shape = self._array.shape
        self.dtype = self._array.dtype
        self.reads = 0

    def __getitem__(self, key):
        if key == ():
            raise TypeError("no empty-tuple indexing")
        self.reads += 1
        return self._array[key]


def _fails(func, *args, match: str, **kwargs):
    with pytest.raises(AssertionError, match=match):
        func(*args, **kwargs)


# -- values -----------------------------------------------------------------------------------

def test_equal_spellings():
    assert_values_equal([1, 2, 3], np.array([1, 2, 3], dtype="int8"))
    assert_values_equal(np.array([1.0, np.nan]), np.array([1.0, np.nan]))
    assert_values_equal(b"caf\xc3\xa9", "café")
    assert_values_equal(["a", "é"], np.array([b"a", "é".encode()], dtype=object))
    assert_values_equal(np.array(["x", "ÿ"], dtype=np.dtypes.StringDType()),
                        np.array(["x", "ÿ"], dtype=object))
    assert_values_equal(np.array(["x", "y"], dtype="U1"), np.array([b"x", b"y"], dtype="S1"))
    assert_values_equal(SliceOnly([[1, 2], [3, 4]]), np.array([[1, 2], [3, 4]]))
    assert_values_equal(np.float64(2.5), np.array(2.5))
    when = datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert_values_equal(when, when.isoformat())
    assert_values_equal([when], [when.isoformat().encode()])
    assert_values_equal([(1, 2.0, "a")], np.array([(1, 2.0, "a")],
                                                  dtype=[("i", "i4"), ("f", "f8"), ("s", "O")]))
    assert_values_equal([[1, 2], [], [3]], [np.array([1, 2]), np.array([]), np.array([3])])


def test_differences_are_found():
    _fails(assert_values_equal, [1, 2, 3], [1, 2, 4], match="1 of 3 elements differ")
    _fails(assert_values_equal, np.array([1.0, np.nan]), np.array([1.0, 0.0]), match="differ")
    _fails(assert_values_equal, "café", b"cafe", match="text")
    _fails(assert_values_equal, [True, False], [1, 0], match="bool")
    _fails(assert_values_equal, True, 1, match="bool")
    _fails(assert_values_equal, 5.0, np.array([5.0]), match="expected")
    _fails(assert_values_equal, np.zeros((2, 3)), np.zeros((3, 2)), match="shape")
    _fails(assert_values_equal, np.array([1], "int16"), SliceOnly(np.array([1], "int32")),
           strict_dtype=True, match="dtype")  # a stored dataset keeps its dtype
    assert_values_equal(np.array([1], "int16"), np.array([1], "int32"), strict_dtype=True)
    _fails(assert_values_equal, np.array([1], "int16"), np.array([1.0]), strict_dtype=True,
           match="kind")  # an attribute array keeps at least its kind
    _fails(assert_values_equal, np.int16(1), np.float32(1), strict_dtype=True, match="kind")
    assert_values_equal(np.int16(1), np.int64(1), strict_dtype=True)  # scalars: kind only
    _fails(assert_values_equal, np.float64(0.1), np.float32(0.1), match="!=")  # precision lost
    _fails(assert_values_equal, "1", 1, match="expected")
    _fails(assert_values_equal, None, [], match="expected")
    when = datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    _fails(assert_values_equal, when, when.astimezone(UTC), match="UTC offset")
    _fails(assert_values_equal, when, when.replace(tzinfo=None), match="time zone")
    _fails(assert_values_equal, [(1, "a")], [(1, "b")], match=r"\[0\]\[1\]")
    _fails(assert_values_equal, {"a": 1}, {"a": 1, "b": 2}, match="unexpected")


def test_materialize_reads_lazy_arrays():
    lazy = SliceOnly(np.arange(4))
    assert np.array_equal(materialize(lazy), np.arange(4))
    assert lazy.reads == 1


def test_frames():
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "é"]}, index=pd.Index([0, 1], name="id"))
    same = pd.DataFrame({"a": np.array([1, 2], "int8"), "b": [b"x", "é".encode()]},
                        index=pd.Index([0, 1], name="id"))
    assert_frames_equal(df, same)
    other = df.copy()
    other.loc[1, "b"] = "e"
    _fails(assert_frames_equal, df, other, match=r"\['b'\]\[1\]")
    _fails(assert_frames_equal, df, df.rename(columns={"a": "c"}), match="columns")


# -- containers -------------------------------------------------------------------------------

def _series_pair():
    ts1 = TimeSeries(name="ts1", data=np.arange(3.0), timestamps=np.arange(3.0), unit="m")
    ts2 = TimeSeries(name="ts2", data=np.arange(3.0), timestamps=ts1, unit="m")
    return ts1, ts2


def test_link_resolving_elsewhere_is_found():
    exp1, exp2 = _series_pair()
    act1, act2 = _series_pair()
    # same object ids as the expected side, so only the link target differs
    for exp, act in ((exp1, act1), (exp2, act2)):
        act._AbstractContainer__object_id = exp.object_id
    assert_container_equal(exp2, act2)  # act2's timestamps link to act1, like exp2 to exp1

    copy = TimeSeries(name="ts1", data=np.arange(3.0), timestamps=np.arange(3.0), unit="m")
    copy._AbstractContainer__object_id = exp1.object_id
    # compare ts1 first (pairs exp1 with act1), then ts2 whose link resolves to a copy
    from ._compare import Comparer
    cmp = Comparer()
    cmp.container(exp1, act1, "ts1")
    act2b = TimeSeries(name="ts2", data=np.arange(3.0), timestamps=copy, unit="m")
    act2b._AbstractContainer__object_id = exp2.object_id
    cmp.container(exp2, act2b, "ts2")
    assert any("resolves to a different object" in e for e in cmp.errors), cmp.errors


def test_container_field_and_object_id_differences():
    ts1, _ = _series_pair()
    other = TimeSeries(name="ts1", data=np.arange(3.0), timestamps=np.arange(3.0), unit="s")
    _fails(assert_container_equal, ts1, other, match="unit")
    _fails(assert_container_equal, ts1, other, match="object_id")
    assert_container_equal(ts1, ts1)


def _cyclic_tables():
    a = DynamicTable(name="a", description="a", id=[0, 1])
    b = DynamicTable(name="b", description="b", id=[0, 1])
    a.add_column(name="to_b", description="", data=[1, 0], table=b)
    b.add_column(name="to_a", description="", data=[0, 1], table=a)
    return a, b


def test_reference_cycles_terminate():
    a, b = _cyclic_tables()
    assert_container_equal(a, a)
    a2, b2 = _cyclic_tables()
    for exp, act in ((a, a2), (b, b2)):
        act._AbstractContainer__object_id = exp.object_id
        for ce, ca in zip(exp.columns + (exp.id,), act.columns + (act.id,)):
            ca._AbstractContainer__object_id = ce.object_id
    assert_container_equal(a, a2)
    b2["to_a"].data[1] = 0
    _fails(assert_container_equal, a, a2, match=r"to_a.*differ|differ.*")


def test_missing_and_extra_children():
    t1 = DynamicTable(name="t", description="d", id=[0])
    t1.add_column(name="x", description="", data=[1])
    t2 = DynamicTable(name="t", description="d", id=[0])
    t2.add_column(name="x", description="", data=[1])
    t2.add_column(name="y", description="", data=[2])
    _fails(assert_container_equal, t1, t2, match="children|colnames|length")


def test_data_container_values():
    v1 = VectorData(name="v", description="d", data=np.array([1.0, np.nan]))
    v2 = VectorData(name="v", description="d", data=[0.0])
    v2._Data__data = SliceOnly([1.0, np.nan])  # as a backend's lazy array (docval would refuse it)
    v2._AbstractContainer__object_id = v1.object_id
    assert_container_equal(v1, v2)
    v3 = VectorData(name="v", description="d", data=[1.0, 2.0])
    v3._AbstractContainer__object_id = v1.object_id
    _fails(assert_container_equal, v1, v3, match=r"\.data")
    region = DynamicTableRegion(name="r", description="d", data=[0], table=DynamicTable(
        name="t", description="d", id=[0]))
    assert_container_equal(region, region)
