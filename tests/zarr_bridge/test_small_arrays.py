"""The one-chunk encoder writes exactly what zarr.create_array writes (documents and chunk
bytes), and zarr reads the values back."""

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.storage import MemoryStore

from hdmf_zarr.zarr_bridge.small_arrays import SMALL_ARRAY_BYTES, encode_small_array
from hdmf_zarr.zarr_bridge.store_io import get_json, set_many

CASES = [
    ("int32 big-endian 2-D", np.arange(12, dtype=">i4").reshape(3, 4), False),
    ("float64 scalar", np.array(2.5), False),
    ("bool", np.array([True, False, True]), False),
    ("uint8", np.arange(5, dtype="u1"), False),
    ("int64 extremes", np.array([-2**63, 2**63 - 1], dtype="i8"), False),
    ("float32 nan inf", np.array([np.nan, np.inf, -np.inf, 0.5], dtype="f4"), False),
    ("empty float64", np.zeros((0,), "f8"), False),
    ("empty 2-D", np.zeros((0, 3), "i2"), False),
    ("text", np.array(["a", "béé", "", "😀"], dtype=object), True),
    ("text scalar", np.array("scalar ☃", dtype=object), True),
    ("text 2-D", np.array([["a", "b"], ["c", "d"]], dtype=object), True),
]


def _chunks(store):
    return {k: v.to_bytes() for k, v in store._store_dict.items()
            if k.rpartition("/")[2] not in ("zarr.json", ".zarray", ".zattrs", ".zgroup")}


@pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
@pytest.mark.parametrize("label, data, text", CASES, ids=[c[0] for c in CASES])
def test_same_documents_and_chunks_as_zarr(fmt, label, data, text):
    labels = tuple(f"d{i}" for i in range(data.ndim)) or None
    encoded = encode_small_array("/g/x", data, zarr_format=fmt, text=text,
                                 attributes={"k": 1, "s": "é"}, dimension_names=labels)
    if text and fmt == 2:
        assert encoded is None  # L2 text goes through the object-array writer
        return
    items, documents = encoded
    ours = MemoryStore()
    set_many(ours, items)

    reference = MemoryStore()
    kw = {"fill_value": ""} if text else {}
    if fmt == 2 and not text:
        kw["compressors"] = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=1, blocksize=0)
    if fmt == 3:
        kw["dimension_names"] = labels
    arr = zarr.create_array(reference, name="g/x", shape=data.shape,
                            dtype=str if text else data.dtype.newbyteorder("<"),
                            chunks=tuple(max(1, s) for s in data.shape), zarr_format=fmt,
                            attributes={"k": 1, "s": "é"}, **kw)
    if data.size:
        arr[...] = data

    doc_key = "g/x/zarr.json" if fmt == 3 else "g/x/.zarray"
    assert get_json(ours, doc_key) == get_json(reference, doc_key)
    assert documents[doc_key] == get_json(reference, doc_key)
    if fmt == 2:
        assert get_json(ours, "g/x/.zattrs") == {"k": 1, "s": "é"}
    assert _chunks(ours) == _chunks(reference)

    back = zarr.open_array(ours, path="g/x", mode="r", zarr_format=fmt)[...]
    if text:
        assert np.asarray(back, dtype=object).tolist() == data.tolist()
    else:
        np.testing.assert_array_equal(back, data)


def test_large_or_unsupported_arrays_are_left_to_zarr():
    big = np.zeros(SMALL_ARRAY_BYTES // 8 + 1, dtype="f8")
    assert encode_small_array("/x", big, zarr_format=3, text=False, attributes={}) is None
    structured = np.zeros(3, dtype=[("a", "i4"), ("b", "f8")])
    assert encode_small_array("/x", structured, zarr_format=3, text=False, attributes={}) is None
    complex_ = np.zeros(3, dtype="c16")
    assert encode_small_array("/x", complex_, zarr_format=2, text=False, attributes={}) is None
