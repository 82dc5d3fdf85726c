"""Compound dtypes whose field dtypes are Python types (issue 12, write 4).

Hand-built builders (``DatasetBuilder(dtype=[{"name": "x", "dtype": str}, ...])``) name field
types with ``str``, ``bytes``, ``int``, ``float`` and ``bool``; a ``str`` field used to be taken
for a float ("could not convert string to float"). Written with ZarrIO in both layouts and every
value read back.
"""

import numpy as np
import pytest
from _large import LAYOUT
from hdmf.build import DatasetBuilder, GroupBuilder
from hdmf.common import get_manager

from hdmf_zarr.backend import ZarrIO
from hdmf_zarr.format.dtypes import classify

ROWS = [("alpha", b"raw-1", 3, 1.5, True), ("β-two", b"raw-2", -4, -0.25, False),
        ("", b"", 0, 2.0e10, True)]
DTYPE = [{"name": "label", "dtype": str, "doc": "text"},
         {"name": "blob", "dtype": bytes, "doc": "bytes"},
         {"name": "count", "dtype": int, "doc": "an int"},
         {"name": "value", "dtype": float, "doc": "a float"},
         {"name": "flag", "dtype": bool, "doc": "a bool"}]


def test_classify_python_types():
    kind = classify(DTYPE, ROWS)
    assert [(f.name, f.kind) for f in kind.fields] == [
        ("label", "text"), ("blob", "bytes"), ("count", "numeric"), ("value", "numeric"),
        ("flag", "numeric")]
    assert [f.dtype for f in kind.fields[2:]] == [np.dtype(int), np.dtype(float),
                                                  np.dtype(bool)]


@LAYOUT
@pytest.mark.parametrize("fields", [slice(None), slice(0, 1), slice(0, 4, 3)],
                         ids=["all", "str-only", "str-float"])
def test_hand_built_compound_with_python_types(tmp_path, layout, fields):
    dtype = DTYPE[fields]
    rows = [tuple(r[fields]) for r in ROWS]
    root = GroupBuilder("root", datasets={"c": DatasetBuilder("c", data=rows, dtype=dtype)})
    path = tmp_path / f"c{layout}.zarr"
    with ZarrIO(str(path), "w", manager=get_manager(), zarr_format=layout) as io:
        io.write_builder(root)
    with ZarrIO(str(path), "r", manager=get_manager()) as io:
        got = io.read_builder()["c"].data[:]
    assert len(got) == len(rows)
    for have, want in zip(got, rows):
        assert len(have) == len(want)
        for h, w, spec in zip(have, want, dtype):
            if spec["dtype"] is str:
                assert (h.decode() if isinstance(h, bytes) else str(h)) == w
            elif spec["dtype"] is bytes:
                assert (h if isinstance(h, bytes) else str(h).encode()) == w
            else:
                assert h == w and np.asarray(h).dtype.kind == np.dtype(spec["dtype"]).kind
