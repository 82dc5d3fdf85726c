"""Catalogue 2 and 3: hdmf-common tables in a generic HDMF file, and a non-NWB root.

Written with the generic IO (``ZarrIO(path, "w", manager=hdmf.common.get_manager())``), no NWB.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hdmf.common import (
    AlignedDynamicTable,
    DynamicTable,
    EnumData,
    SimpleMultiContainer,
    VectorData,
    VectorIndex,
)
from hdmf.container import Data

from ._compare import assert_container_equal, assert_frames_equal, assert_values_equal, materialize

N_ROWS = 4

# every numeric and bool dtype, with the extreme values of each
NUMERIC_COLUMNS = {
    "int8": np.array([-128, -1, 0, 127], dtype="int8"),
    "int16": np.array([-32768, -1, 0, 32767], dtype="int16"),
    "int32": np.array([-(2**31), -1, 0, 2**31 - 1], dtype="int32"),
    "int64": np.array([-(2**63), -1, 0, 2**63 - 1], dtype="int64"),
    "uint8": np.array([0, 1, 200, 255], dtype="uint8"),
    "uint16": np.array([0, 1, 40000, 65535], dtype="uint16"),
    "uint32": np.array([0, 1, 3_000_000_000, 2**32 - 1], dtype="uint32"),
    "uint64": np.array([0, 1, 2**63, 2**64 - 1], dtype="uint64"),
    "float32": np.array([-1.5, np.nan, np.inf, np.finfo("float32").max], dtype="float32"),
    "float64": np.array([-np.inf, np.nan, 1e-300, np.pi], dtype="float64"),
    "bool": np.array([True, False, False, True]),
}
TEXT_VALUES = ["é", "naïve ☃", "", "漢字 \U0001f600"]
ASCII_VALUES = [b"abc", b"", b"x y", b"tab\there"]


def _other_table() -> DynamicTable:
    other = DynamicTable(name="other", description="target of the region column")
    other.add_column(name="label", description="a label")
    for i in range(3):
        other.add_row(label=f"row {i}")
    return other


def build_tables():
    """(root SimpleMultiContainer, main table, aligned table, other table)."""
    with warnings.catch_warnings():
        # "EnumData is experimental"; "the linked table ... does not share an ancestor" (it will)
        warnings.simplefilter("ignore", UserWarning)
        return _build_tables()


def _build_tables():
    other = _other_table()
    table = DynamicTable(name="columns", description="one column per kind", id=list(range(N_ROWS)))
    for dtype, values in NUMERIC_COLUMNS.items():
        table.add_column(name=f"col_{dtype}", description=f"{dtype} values", data=values)
    table.add_column(name="col_text", description="utf-8 text", data=list(TEXT_VALUES))
    table.add_column(name="col_ascii", description="ascii bytes", data=list(ASCII_VALUES))
    table.add_column(name="ragged", description="ragged ints", data=[1, 2, 3, 4, 5, 6, 7],
                     index=[1, 3, 3, 7])
    table.add_column(name="ragged_text", description="ragged text",
                     data=["a", "bé", "c", "d"], index=[2, 2, 3, 4])
    table.add_column(name="doubly_ragged", description="index of index",
                     data=[[[1.0, 2.0], [3.0]], [[4.0]], [[], [5.0, 6.0, 7.0]], [[8.0]]], index=2)
    table.add_column(name="region", description="rows of other", data=[0, 2, 1, 2], table=other)
    table.add_column(name="ragged_region", description="ragged rows of other",
                     data=[0, 1, 2, 2, 0], index=[2, 2, 4, 5], table=other)
    table.add_column(name="enum", description="categorical", data=[0, 1, 2, 1],
                     enum=["small", "médium", "large"])

    cat_a = DynamicTable(name="cat_a", description="category a", id=list(range(3)))
    cat_a.add_column(name="x", description="x", data=np.array([1.0, 2.0, 3.0]))
    cat_a.add_column(name="tags", description="ragged", data=["p", "q", "r"], index=[1, 1, 3])
    cat_b = DynamicTable(name="cat_b", description="category b", id=list(range(3)))
    cat_b.add_column(name="y", description="y", data=np.array([7, 8, 9], dtype="uint16"))
    aligned = AlignedDynamicTable(name="aligned", description="aligned with categories",
                                  category_tables=[cat_a, cat_b], id=list(range(3)))
    aligned.add_column(name="main", description="a main column", data=["m0", "m1", "m2"])

    root = SimpleMultiContainer(name="tables", containers=[table, other, aligned])
    return root, table, aligned, other


def test_hdmf_common_tables(roundtrip):
    root, table, aligned, other = build_tables()
    expected_frames = {
        "columns": table.to_dataframe(),
        "aligned": aligned.to_dataframe(),
        "other": other.to_dataframe(),
    }
    read = roundtrip(root, generic=True)

    assert isinstance(read, SimpleMultiContainer)
    assert_container_equal(root, read, check_root_name=False)

    read_table = read["columns"]
    # numeric columns keep their exact dtype (the spec leaves VectorData's dtype open)
    for dtype, values in NUMERIC_COLUMNS.items():
        stored = materialize(read_table[f"col_{dtype}"].data)
        assert np.asarray(stored).dtype == np.dtype(dtype), f"col_{dtype} read as {stored.dtype}"
        assert_values_equal(values, read_table[f"col_{dtype}"].data, strict_dtype=True,
                            label=f"col_{dtype}")
    assert_values_equal(TEXT_VALUES, read_table["col_text"].data, label="col_text")
    assert_values_equal(ASCII_VALUES, read_table["col_ascii"].data, label="col_ascii")

    # the column classes, the wiring and the values of the special columns, row by row
    assert type(read_table["ragged"]) is VectorIndex
    assert type(read_table["doubly_ragged"]) is VectorIndex
    assert type(read_table["doubly_ragged"].target) is VectorIndex
    assert isinstance(read_table["enum"], EnumData)
    assert read_table["region"].table is read["other"]
    assert read_table["ragged_region"].target.table is read["other"]
    assert_values_equal([[1], [2, 3], [], [4, 5, 6, 7]], read_table["ragged"][:], label="ragged")
    assert_values_equal([["a", "bé"], [], ["c"], ["d"]], read_table["ragged_text"][:],
                        label="ragged_text")
    assert_values_equal([[[1.0, 2.0], [3.0]], [[4.0]], [[], [5.0, 6.0, 7.0]], [[8.0]]],
                        read_table["doubly_ragged"][:], label="doubly_ragged")
    assert_values_equal(["small", "médium", "large", "médium"], read_table["enum"][:], label="enum")
    assert_values_equal([0, 2, 1, 2], read_table["region"].data, label="region")
    assert isinstance(read["aligned"], AlignedDynamicTable)
    assert tuple(read["aligned"].categories) == ("cat_a", "cat_b")

    for name, frame in expected_frames.items():
        assert_frames_equal(frame, read[name].to_dataframe(), label=name)


def test_csr_matrix(roundtrip):
    pytest.importorskip("scipy")  # hdmf's CSRMatrix needs scipy
    from hdmf.common import CSRMatrix

    dense = np.array([[0, 1.5, 0, 0], [0, 0, 0, 0], [2.0, 0, -3.0, 0]])
    csr = CSRMatrix(name="csr", data=dense)
    root = SimpleMultiContainer(name="sparse", containers=[csr])
    read = roundtrip(root, generic=True)
    assert_container_equal(root, read, check_root_name=False)
    read_csr = read["csr"]
    assert isinstance(read_csr, CSRMatrix)
    np.testing.assert_array_equal(read_csr.to_spmat().toarray(), dense)
    assert tuple(int(x) for x in read_csr.shape) == dense.shape


def test_non_nwb_root(roundtrip):
    """Catalogue 3: a root of any name that is not an NWBFile, holding data and containers."""
    inner = SimpleMultiContainer(name="inner", containers=[
        Data(name="matrix", data=np.arange(24, dtype="int32").reshape(2, 3, 4)),
        VectorData(name="vector", description="a vector", data=[0.5, 1.5, 2.5]),
    ])
    root = SimpleMultiContainer(name="my_root", containers=[
        inner,
        Data(name="int16s", data=np.arange(5, dtype="int16")),
        Data(name="float32_scalar", data=np.float32(1.25)),
        Data(name="text_scalar", data="hello é"),
        Data(name="texts", data=["a", "é", "漢"]),
        _other_table(),
    ])
    read = roundtrip(root, generic=True)
    assert isinstance(read, SimpleMultiContainer)
    assert_container_equal(root, read, check_root_name=False)
    assert read["int16s"].data.dtype == np.dtype("int16")
    assert materialize(read["float32_scalar"].data) == np.float32(1.25)
    assert isinstance(read["inner"], SimpleMultiContainer)
    assert materialize(read["inner"]["matrix"].data).shape == (2, 3, 4)
