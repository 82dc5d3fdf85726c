"""Tests of the restricted pickle decoder (FORMAT.md 2.5 and 5)."""

from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path

import numcodecs
import numpy as np
import pytest
from numpy._core.multiarray import _reconstruct

from hdmf_zarr.errors import FormatError, UnsafePickleError
from hdmf_zarr.format.safe_pickle import (
    DecodedReference,
    check_decoded_array,
    restricted_loads,
)

LEGACY = (Path(__file__).resolve().parents[3] / "shared" / "data" / "legacy"
          / "ecephys_pickle_refs.nwb.zarr")
REF_DTYPE = np.dtype([("idx_start", "<i4"), ("count", "<i4"), ("timeseries", "O")])


def _legacy_chunk(rel: str) -> bytes:
    raw = (LEGACY / rel / "0").read_bytes()
    return bytes(numcodecs.Blosc().decode(raw))


# --------------------------------------------------------------------------------------------
# a tiny assembler for hand-made streams (protocol 2 opcodes)
# --------------------------------------------------------------------------------------------

def op_global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def op_str(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def op_int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def op_bytes(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data


MARK, TUPLE, REDUCE, BUILD, STOP, NONE, EMPTY_DICT, SETITEMS = (
    b"(", b"t", b"R", b"b", b".", b"N", b"}", b"u")
NEWTRUE, NEWFALSE, EMPTY_TUPLE, NEWOBJ, EMPTY_LIST, APPENDS = b"\x88", b"\x89", b")", b"\x81", \
    b"]", b"e"
PROTO2 = b"\x80\x02"


def put(i: int) -> bytes:
    return b"q" + bytes([i])


def get(i: int) -> bytes:
    return b"h" + bytes([i])


def tup(*items: bytes) -> bytes:
    return MARK + b"".join(items) + TUPLE


def dtype_call(code: str) -> bytes:
    return op_global("numpy", "dtype") + tup(op_str(code), NEWFALSE, NEWTRUE) + REDUCE


# --------------------------------------------------------------------------------------------
# legitimate streams
# --------------------------------------------------------------------------------------------

def test_legacy_reference_chunk_decodes_to_dicts():
    obj = restricted_loads(_legacy_chunk("units/electrode_group"),
                           array_path="/units/electrode_group")
    assert type(obj) is np.ndarray and obj.dtype == object and obj.shape == (5,)
    for ref in obj:
        assert isinstance(ref, DecodedReference) and isinstance(ref, dict)
        assert ref["source"] == "."
        assert ref["path"].startswith("/general/extracellular_ephys/shank")
        assert list(ref) == ["source", "path", "object_id", "source_object_id"]
    check_decoded_array(obj, dtype=np.dtype(object), shape=(5,), array_path="/units/x")


def test_legacy_compound_chunk_decodes_to_records():
    obj = restricted_loads(_legacy_chunk("intervals/epochs/timeseries"),
                           array_path="/intervals/epochs/timeseries")
    assert obj.dtype == REF_DTYPE and obj.shape == (3,)
    assert obj["timeseries"][0]["path"] == "/acquisition/es"
    assert obj["timeseries"][2]["path"] == "/acquisition/lick"
    assert obj["count"].tolist()[0] == 30000
    check_decoded_array(obj, dtype=REF_DTYPE, shape=(3,), array_path="/e")


def test_protocol2_arrays_need_codecs_encode_and_are_refused():
    # protocol 2 spells bytes through _codecs.encode, outside the allowed names; no hdmf-zarr
    # release wrote protocol 2 (numcodecs pickles with the highest protocol)
    arr = np.array([{"source": ".", "path": "/a"}], dtype=object)
    with pytest.raises(UnsafePickleError, match=r"_codecs\.encode"):
        restricted_loads(pickle.dumps(arr, protocol=2), array_path="/p")


@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_numpy_written_object_arrays(protocol):
    arr = np.empty((2, 2), dtype=object)
    arr[0, 0] = {"source": ".", "path": "/a"}
    arr[0, 1] = "text"
    arr[1, 0] = None
    arr[1, 1] = (1, 2.5, "x")
    out = restricted_loads(pickle.dumps(arr, protocol=protocol), array_path="/p")
    assert out.shape == (2, 2) and out.tolist() == arr.tolist()
    comp = np.array([(1, 2, {"source": ".", "path": "/b"})], dtype=REF_DTYPE)
    out = restricted_loads(pickle.dumps(comp, protocol=protocol), array_path="/p")
    assert out.dtype == REF_DTYPE and out[0]["timeseries"] == {"source": ".", "path": "/b"}


def test_various_dtypes_rebuild_exactly():
    for dtype in [np.dtype([("a", ">i4"), ("b", "O")]),
                  np.dtype([("a", "<f8", (3,)), ("b", "O"), ("c", "|b1")]),
                  np.dtype([("a", "<i2"), ("b", "O")], align=True),
                  np.dtype([("t", "<M8[ns]"), ("b", "O")]),
                  np.dtype([("u", "<U5"), ("s", "S3"), ("o", "O")])]:
        arr = np.zeros(2, dtype=dtype)
        # protocol 4: numpy 2.4 pickles some object-holding subarray layouts through
        # _frombuffer with protocol 5, which is (rightly) refused
        out = restricted_loads(pickle.dumps(arr, protocol=4), array_path="/d")
        assert out.dtype == dtype and out.dtype.hasobject
        assert out.dtype.fields == dtype.fields


def test_numpy1_spelling_of_reconstruct():
    arr = np.array([{"source": ".", "path": "/x"}], dtype=object)
    stream = pickle.dumps(arr, protocol=3)
    assert b"cnumpy._core.multiarray\n_reconstruct\n" in stream
    old = stream.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    out = restricted_loads(old, array_path="/x")
    assert out[0] == {"source": ".", "path": "/x"}


def test_zarr_reference_via_newobj_setitems():
    stream = (PROTO2 + op_global("hdmf_zarr.utils", "ZarrReference") + EMPTY_TUPLE + NEWOBJ
              + MARK + op_str("source") + op_str(".") + op_str("path") + op_str("/g")
              + SETITEMS + STOP)
    out = restricted_loads(stream, array_path="/r")
    assert type(out) is DecodedReference and out == {"source": ".", "path": "/g"}


def test_record_scalars_need_opt_in():
    rec = np.array([(1, "ab")], dtype=[("x", "<i4"), ("s", "<U4")])[0]
    arr = np.empty(1, dtype=object)
    arr[0] = rec
    stream = pickle.dumps(arr, protocol=5)
    with pytest.raises(UnsafePickleError, match=r"numpy\._core\.multiarray\.scalar") as info:
        restricted_loads(stream, array_path="/text_compound")
    assert "/text_compound" in str(info.value)
    out = restricted_loads(stream, array_path="/t", allow_record_scalars=True)
    assert out[0]["x"] == 1 and out[0]["s"] == "ab"
    check_decoded_array(out, dtype=np.dtype(object), shape=(1,), array_path="/t")


def test_top_level_dtype_and_plain_values():
    assert restricted_loads(pickle.dumps(np.dtype("<i4")), array_path="/f") == np.dtype("<i4")
    assert restricted_loads(b"\x80\x05K\x00.", array_path="/f") == 0  # 0.13 compound fill


# --------------------------------------------------------------------------------------------
# hostile streams
# --------------------------------------------------------------------------------------------

@pytest.fixture
def canary(tmp_path):
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "hostile pickle executed code"


class _System:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class _Eval:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


def test_os_system_refused(canary):
    stream = pickle.dumps(_System(f"touch {canary}"), protocol=5)
    with pytest.raises(UnsafePickleError) as info:
        restricted_loads(stream, array_path="/acquisition/evil")
    msg = str(info.value)
    assert "/acquisition/evil" in msg and f"{os.system.__module__}.system" in msg


def test_text_global_os_system_refused(canary):
    stream = op_global("os", "system") + MARK + b"V" + f"touch {canary}".encode() + b"\n" + \
        TUPLE + REDUCE + STOP
    with pytest.raises(UnsafePickleError, match=r"os\.system"):
        restricted_loads(stream, array_path="/x")


def test_posix_system_inside_an_array_refused(canary):
    arr = np.empty(2, dtype=object)
    arr[0] = {"source": ".", "path": "/a"}
    arr[1] = _System(f"touch {canary}")
    stream = pickle.dumps(arr, protocol=5)
    with pytest.raises(UnsafePickleError, match=r"posix\.system|nt\.system") as info:
        restricted_loads(stream, array_path="/units/electrode_group")
    assert "/units/electrode_group" in str(info.value)


def test_builtins_eval_refused(canary):
    stream = pickle.dumps(_Eval(f"open({str(canary)!r}, 'w')"), protocol=4)
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval"):
        restricted_loads(stream, array_path="/x")


@pytest.mark.parametrize("module,name", [("builtins", "getattr"), ("copyreg", "_reconstructor"),
                                         ("numpy", "frombuffer"), ("numpy", "load"),
                                         ("numpy._core.numeric", "_frombuffer"),
                                         ("hdmf_zarr.utils", "ZarrDataIO"), ("subprocess", "Popen"),
                                         ("numpy._core.multiarray", "scalar")])
def test_other_globals_refused(module, name):
    stream = PROTO2 + op_global(module, name) + STOP
    with pytest.raises(UnsafePickleError, match=f"{module}.{name}".replace(".", r"\.")):
        restricted_loads(stream, array_path="/x")


def test_persistent_id_refused(canary):
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return "evil" if isinstance(obj, str) and obj == "p" else None

    import io
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(["p"])
    with pytest.raises(UnsafePickleError, match="persistent id"):
        restricted_loads(buf.getvalue(), array_path="/x")
    with pytest.raises(UnsafePickleError, match="persistent id"):
        restricted_loads(b"Pevil\n.", array_path="/x")


@pytest.mark.parametrize("stream", [PROTO2 + b"\x82\xf0" + STOP,
                                    PROTO2 + b"\x83\xf0\x00" + STOP,
                                    PROTO2 + b"\x84\xf0\x00\x00\x00" + STOP])
def test_extension_codes_refused(stream):
    import copyreg
    copyreg.add_extension("os", "system", 240)
    try:
        with pytest.raises(UnsafePickleError, match="extension registry"):
            restricted_loads(stream, array_path="/x")
    finally:
        copyreg.remove_extension("os", "system", 240)


def test_inst_and_obj_refused():
    stream = b"(inumpy\ndtype\n."
    with pytest.raises(UnsafePickleError, match="INST"):
        restricted_loads(stream, array_path="/x")
    stream = PROTO2 + MARK + op_global("numpy", "dtype") + op_str("i4") + b"o" + STOP
    with pytest.raises(UnsafePickleError, match="OBJ"):
        restricted_loads(stream, array_path="/x")


class _ForgedDtype:
    """Reduces to ``numpy.dtype`` with a chosen state (what a forged stream carries)."""

    def __init__(self, code, state):
        self.code, self.state = code, state

    def __reduce__(self):
        return (np.dtype, (self.code, False, True), self.state)


class _ForgedArray:
    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        return (_reconstruct, (np.ndarray, (0,), b"b"), self.state)


def test_forged_dtype_flags_cannot_forge_pointers():
    # the object field is declared with flags 0: numpy's own __setstate__ would then accept raw
    # bytes as the payload, i.e. arbitrary object pointers
    fields = {"a": (np.dtype("<i8"), 0), "b": (np.dtype("O"), 8)}
    dtype = _ForgedDtype("V16", (3, "|", None, ("a", "b"), fields, 16, 1, 0))
    stream = pickle.dumps(_ForgedArray((1, (1,), dtype, False, b"\x41" * 16)), protocol=4)
    with pytest.raises(FormatError, match="list"):
        restricted_loads(stream, array_path="/forged")


def test_forged_overlapping_object_field_refused():
    fields = {"a": (np.dtype("<i8"), 0), "b": (np.dtype("O"), 0)}
    dtype = _ForgedDtype("V8", (3, "|", None, ("a", "b"), fields, 8, 1, 27))
    stream = pickle.dumps(_ForgedArray((1, (1,), dtype, False, [(0x4141, None)])), protocol=4)
    with pytest.raises(FormatError, match="overlap"):
        restricted_loads(stream, array_path="/forged")


def test_forged_field_outside_item_size_refused():
    fields = {"b": (np.dtype("O"), 64)}
    dtype = _ForgedDtype("V8", (3, "|", None, ("b",), fields, 8, 1, 27))
    stream = pickle.dumps(_ForgedArray((1, (1,), dtype, False, [(None,)])), protocol=4)
    with pytest.raises(FormatError):
        restricted_loads(stream, array_path="/forged")


def test_object_dtype_with_bytes_payload_refused():
    stream = pickle.dumps(_ForgedArray((1, (2,), np.dtype("O"), False, b"\x41" * 16)),
                          protocol=4)
    with pytest.raises(FormatError, match="list"):
        restricted_loads(stream, array_path="/forged")


def test_dtype_changed_after_use_refused():
    # dtype V16 (two int64) fills an array from bytes, then a second BUILD would turn the
    # shared dtype into one with an object field
    i8_state = tup(op_int(3), op_str("<"), NONE, NONE, NONE, op_int(-1), op_int(-1), op_int(0))
    i8 = dtype_call("i8") + put(1) + i8_state + BUILD
    o8 = dtype_call("O8") + put(2)
    stream = (PROTO2 + i8 + o8
              + dtype_call("V16") + put(3)
              + tup(op_int(3), op_str("|"), NONE, tup(op_str("a"), op_str("b")),
                    EMPTY_DICT + MARK + op_str("a") + tup(get(1), op_int(0))
                    + op_str("b") + tup(get(1), op_int(8)) + SETITEMS,
                    op_int(16), op_int(1), op_int(0)) + BUILD
              + op_global("numpy._core.multiarray", "_reconstruct")
              + tup(op_global("numpy", "ndarray"), tup(op_int(0)), op_bytes(b"b")) + REDUCE
              + tup(op_int(1), tup(op_int(1)), get(3), NEWFALSE, op_bytes(b"\x41" * 16))
              + BUILD + put(4)
              + get(3)
              + tup(op_int(3), op_str("|"), NONE, tup(op_str("a"), op_str("b")),
                    EMPTY_DICT + MARK + op_str("a") + tup(get(1), op_int(0))
                    + op_str("b") + tup(get(2), op_int(8)) + SETITEMS,
                    op_int(16), op_int(1), op_int(27)) + BUILD
              + b"0" + get(4) + STOP)
    with pytest.raises(UnsafePickleError, match="after the dtype was used"):
        restricted_loads(stream, array_path="/forged")


def test_build_on_allowed_classes_cannot_rewrite_them():
    for module, name in [("hdmf_zarr.utils", "ZarrReference"), ("numpy", "ndarray"),
                         ("numpy", "dtype"), ("numpy._core.multiarray", "_reconstruct")]:
        slot_state = tup(NONE, EMPTY_DICT + MARK + op_str("__setstate__") + NONE + SETITEMS)
        stream = PROTO2 + op_global(module, name) + slot_state + BUILD + STOP
        with pytest.raises(FormatError):
            restricted_loads(stream, array_path="/x")
        dict_state = EMPTY_DICT + MARK + op_str("items") + NONE + SETITEMS
        stream = PROTO2 + op_global(module, name) + dict_state + BUILD + STOP
        with pytest.raises(FormatError):
            restricted_loads(stream, array_path="/x")
    # still intact
    ref = DecodedReference(source=".", path="/p")
    assert ref["path"] == "/p" and list(ref.items()) == [("source", "."), ("path", "/p")]
    test_legacy_reference_chunk_decodes_to_dicts()


def test_direct_ndarray_construction_refused():
    stream = PROTO2 + op_global("numpy", "ndarray") + tup(tup(op_int(2**30), op_int(2**30)),
                                                          op_str("i1")) + REDUCE + STOP
    with pytest.raises(UnsafePickleError, match="ndarray"):
        restricted_loads(stream, array_path="/x")
    stream = PROTO2 + op_global("numpy", "ndarray") + tup(tup(op_int(2**30))) + NEWOBJ + STOP
    with pytest.raises(UnsafePickleError):
        restricted_loads(stream, array_path="/x")


def test_huge_shapes_refused_without_allocating():
    stream = pickle.dumps(_ForgedArray((1, (2**40,), np.dtype("O"), False, [])), protocol=4)
    with pytest.raises(FormatError, match="limit"):
        restricted_loads(stream, array_path="/x")
    stream = (PROTO2 + op_global("numpy._core.multiarray", "_reconstruct")
              + tup(op_global("numpy", "ndarray"), tup(op_int(2**30), op_int(2**30)),
                    op_bytes(b"b")) + REDUCE + STOP)
    with pytest.raises(FormatError):
        restricted_loads(stream, array_path="/x")
    big = _ForgedDtype("V1073741824", (3, "|", None, None, None, 2**30, 1, 0))
    stream = pickle.dumps(_ForgedArray((1, (4,), big, False, b"")), protocol=4)
    with pytest.raises(FormatError, match="limit"):
        restricted_loads(stream, array_path="/x")


def test_object_scalar_refused_even_when_allowed():
    state = (3, "|", None, ("b",), {"b": (np.dtype("O"), 0)}, 8, 1, 27)

    class Scalar:
        def __reduce__(self):
            from numpy._core.multiarray import scalar
            return (scalar, (_ForgedDtype("V8", state), b"\x41" * 8))

    stream = pickle.dumps(Scalar(), protocol=4)
    with pytest.raises(UnsafePickleError, match="objects"):
        restricted_loads(stream, array_path="/x", allow_record_scalars=True)


@pytest.mark.parametrize("stream", [b"", b"\x80\x05", b"\x80\x02]q\x00(K\x01", b"garbage",
                                    b"\x80\x02" + b"(" * 10000 + b".",
                                    PROTO2 + EMPTY_LIST + b"(" + b"]" * 200000 + APPENDS + STOP])
def test_malformed_streams_are_format_errors(stream):
    with pytest.raises(FormatError):
        out = restricted_loads(stream, array_path="/x")
        check_decoded_array(out, dtype=np.dtype(object), shape=(1,), array_path="/x")


@pytest.mark.parametrize("protocol", range(6))
def test_prescan_accepts_every_protocol(protocol):
    # the opcode walker must step over arguments exactly like the unpickler does
    from hdmf_zarr.format.pickle_scan import prescan as _prescan
    values = [{"a": [1, 2.5, "x\n", b"\x82\x01\n", None, True, 2**100, -3, -(2**70)]},
              ("t",) * 3, [1.5e300, "é" * 300, b"\x82" * 70000, bytearray(b"\x83\x00\x00")],
              {"source": ".", "path": "/p"}]
    for value in values:
        _prescan(pickle.dumps(value, protocol=protocol))
    arr = _obj({"source": ".", "path": "/p\x82\x01"}, "\x84" * 300)
    if protocol >= 3:
        out = restricted_loads(pickle.dumps(arr, protocol=protocol), array_path="/x")
        assert out.tolist() == arr.tolist()


@pytest.mark.parametrize("prefix", [
    op_str("x" * 300), op_bytes(b"\x82\x01" * 10), b"K\x82", b"M\x82\x01", op_int(0x0182),
    b"\x8c\x02\x82\x01", b"I12\n", b"Vabc\x82\n", op_global("a\x82", "b"),
    b"\x95" + struct.pack("<Q", 3), b"\x8a\x02\x82\x01",
])
def test_prescan_finds_forbidden_opcodes_after_any_argument(prefix):
    stream = PROTO2 + prefix + b"\x82\x01" + STOP
    with pytest.raises(UnsafePickleError, match="EXT1"):
        restricted_loads(stream, array_path="/x")


# --------------------------------------------------------------------------------------------
# post-decode checks
# --------------------------------------------------------------------------------------------

def _obj(*values):
    arr = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        arr[i] = v
    return arr


@pytest.mark.parametrize("obj,dtype,shape,match", [
    ([1, 2], object, (2,), "not an ndarray"),
    (_obj({"source": ".", "path": "/a"}), object, (2,), "shape"),
    (_obj({"source": ".", "path": "/a"}), REF_DTYPE, (1,), "dtype"),
    (np.zeros(1, dtype="<i4"), object, (1,), "dtype"),
    (_obj({"source": ".", "path": 5}), object, (1,), "path"),
    (_obj({"path": "/a"}), object, (1,), "source"),
    (_obj(np.zeros(2)), object, (1,), "unexpected type"),
    (_obj(np.dtype("i4")), object, (1,), "unexpected type"),
    (_obj(object()), object, (1,), "unexpected type"),
    (np.array([(1, 2, {"source": 1, "path": "/x"})], dtype=REF_DTYPE), REF_DTYPE, (1,), "source"),
])
def test_check_decoded_array_rejects(obj, dtype, shape, match):
    with pytest.raises(FormatError, match=match) as info:
        check_decoded_array(obj, dtype=dtype, shape=shape, array_path="/arr/path")
    assert "/arr/path" in str(info.value)


def test_check_decoded_array_accepts_plain_values():
    arr = _obj("s", b"b", 1, 2.0, None, True, (1, "a"), {"source": ".", "path": "/p",
                                                          "object_id": "x"})
    assert check_decoded_array(arr, dtype=np.dtype(object), shape=(8,), array_path="/p") is arr


# --------------------------------------------------------------------------------------------
# issue 12 item 10: 0.13's compound datasets with text fields exported from HDF5
# --------------------------------------------------------------------------------------------

def _h5py_text_records():
    """Rows as 0.13 pickles them when the compound came from h5py: an object array of
    ``np.void`` records whose text fields carry h5py's ``{"vlen": str}`` dtype metadata."""
    import h5py

    dtype = np.dtype([("x", "<i4"), ("label", h5py.string_dtype()),
                      ("raw", h5py.string_dtype("ascii")), ("w", "<f8")])
    rec = np.array([(1, "stimulus é0", b"a", 0.5), (2, "", b"bb", -1.0)], dtype=dtype)
    rows = np.empty(2, dtype=object)
    rows[0], rows[1] = rec[0], rec[1]
    return rec, rows


def test_013_text_compound_records_holding_objects_decode():
    rec, rows = _h5py_text_records()
    stream = pickle.dumps(rows, protocol=5)
    assert b"builtins" in stream and b"scalar" in stream  # what made the old decoder refuse it
    out = restricted_loads(stream, array_path="/t", allow_record_scalars=True,
                           expect=(np.dtype(object), (2,)))
    check_decoded_array(out, dtype=np.dtype(object), shape=(2,), array_path="/t")
    assert [r.tolist() for r in out] == [(1, "stimulus é0", b"a", 0.5), (2, "", b"bb", -1.0)]
    assert [type(v) for v in out[0].tolist()] == [int, str, bytes, float]
    # the same records pickled as one structured array (a compound with references exported
    # from HDF5 has such text fields too): the vlen metadata is accepted and dropped
    plain = np.dtype([("x", "<i4"), ("label", "O"), ("raw", "O"), ("w", "<f8")])
    out = restricted_loads(pickle.dumps(rec, protocol=5), array_path="/t", expect=(plain, (2,)))
    check_decoded_array(out, dtype=plain, shape=(2,), array_path="/t")
    assert out.tolist() == rec.tolist() and out.dtype == plain


def test_013_text_compound_records_need_the_opt_in():
    _rec, rows = _h5py_text_records()
    with pytest.raises(UnsafePickleError, match=r"multiarray\.scalar"):
        restricted_loads(pickle.dumps(rows, protocol=5), array_path="/t")


def test_hostile_variants_of_013_text_records_are_refused():
    _rec, rows = _h5py_text_records()
    stream = pickle.dumps(rows, protocol=5)
    # another builtin in the place of str
    evil = stream.replace(b"\x8c\x03str", b"\x8c\x04eval", 1)
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval") as info:
        restricted_loads(evil, array_path="/t", allow_record_scalars=True)
    assert "/t" in str(info.value)
    # builtins.str called instead of named: str(...) runs no code here, but it is not data
    called = PROTO2 + op_global("builtins", "str") + tup(op_str("x")) + REDUCE + STOP
    with pytest.raises(UnsafePickleError, match=r"calls builtins\.str"):
        restricted_loads(called, array_path="/t", allow_record_scalars=True)
    # str in dtype metadata under another key, or another value under "vlen"
    for meta in (op_str("vlen") + op_int(1), op_str("evil") + op_global("builtins", "str")):
        state = tup(op_int(3), op_str("|"), NONE, NONE, NONE, op_int(-1), op_int(-1),
                    op_int(63), EMPTY_DICT + meta + b"s")
        forged = PROTO2 + dtype_call("O8") + state + BUILD + STOP
        with pytest.raises(FormatError, match="metadata"):
            restricted_loads(forged, array_path="/t")
    # a record of a dtype holding objects built from raw bytes (forged pointers)
    state = (3, "|", None, ("b",), {"b": (np.dtype("O"), 0)}, 8, 1, 27)

    class Scalar:
        def __reduce__(self):
            from numpy._core.multiarray import scalar
            return (scalar, (_ForgedDtype("V8", state), b"\x41" * 8))

    with pytest.raises(UnsafePickleError, match="objects"):
        restricted_loads(pickle.dumps(Scalar(), protocol=4), array_path="/t",
                         allow_record_scalars=True)
    # a record whose text field holds something that is not plain data
    import h5py

    dtype = np.dtype([("x", "<i4"), ("label", h5py.string_dtype())])
    rec = np.array([(1, "a")], dtype=dtype)
    rec["label"][0] = ["not", "text"]
    rows = np.empty(1, dtype=object)
    rows[0] = rec[0]
    out = restricted_loads(pickle.dumps(rows, protocol=5), array_path="/t",
                           allow_record_scalars=True)
    with pytest.raises(FormatError, match="record holds a value of type list"):
        check_decoded_array(out, dtype=np.dtype(object), shape=(1,), array_path="/t")


# --------------------------------------------------------------------------------------------
# issue 14 item 8: size, work and depth of the decoder are bounded
# --------------------------------------------------------------------------------------------

def test_memo_index_far_ahead_is_refused_before_the_unpickler_runs():
    # LONG_BINPUT 2**28 would make the C unpickler grow its memo table to 2 GiB
    stream = PROTO2 + NONE + b"r" + struct.pack("<I", 2**28) + STOP
    with pytest.raises(FormatError, match="memo index") as info:
        restricted_loads(stream, array_path="/m")
    assert "/m" in str(info.value)
    for protocol in range(6):  # Python's own memo numbering is accepted
        value = [[1, "a"], [1, "a"]] * 3
        restricted_loads(pickle.dumps(value, protocol=protocol), array_path="/m")


def test_opcode_budget_follows_the_chunk_shape():
    arr = _obj(*[{"source": ".", "path": f"/p{i}", "object_id": "x" * 36,
                  "source_object_id": "y" * 36} for i in range(50)])
    stream = pickle.dumps(arr, protocol=5)
    out = restricted_loads(stream, array_path="/r", expect=(np.dtype(object), (50,)))
    assert out.tolist() == arr.tolist()
    # a 1-element chunk whose stream holds a million opcodes is refused by the prescan
    padded = stream[:-1] + b"N0" * 500_000 + STOP
    with pytest.raises(FormatError, match="opcodes"):
        restricted_loads(padded, array_path="/r", expect=(np.dtype(object), (1,)))


def test_array_bytes_budget_covers_all_arrays_of_a_stream():
    # each array is within the per-array limit; together they exceed what an (8,) chunk needs
    many = [np.zeros(2**16, dtype="<f8") for _ in range(8)]
    stream = pickle.dumps(_obj(*many), protocol=4)
    with pytest.raises(FormatError, match="exceed what its chunk shape implies"):
        restricted_loads(stream, array_path="/b", expect=(np.dtype(object), (8,)))


def test_shared_containers_do_not_make_the_check_exponential():
    nested: list = []
    for _ in range(30):  # 2**30 paths through 30 distinct lists
        nested = [nested, nested]
    arr = _obj(nested)
    stream = pickle.dumps(arr, protocol=5)
    assert len(stream) < 400
    out = restricted_loads(stream, array_path="/s", expect=(np.dtype(object), (1,)))
    with pytest.raises(FormatError, match="shares a container") as info:
        check_decoded_array(out, dtype=np.dtype(object), shape=(1,), array_path="/s")
    assert len(str(info.value)) < 300


def test_error_messages_never_repr_decoded_values():
    big = {"source": ".", "path": 7, "x": "y" * 10_000_000}
    with pytest.raises(FormatError) as info:
        check_decoded_array(_obj(big), dtype=np.dtype(object), shape=(1,), array_path="/e")
    assert len(str(info.value)) < 300 and "int" in str(info.value)


@pytest.mark.parametrize("opener,closer", [(b"]", b"a"), (b")", b"\x85"), (b"}", None)])
def test_deep_nesting_is_a_format_error(opener, closer):
    depth = 200_000
    if closer is None:  # dict in dict: {0: {0: ...}}
        body = b"}" + (op_int(0) + b"}") * depth + b"s" * depth
    else:
        body = (opener + closer * depth if closer == b"\x85"
                else opener * depth + closer * (depth - 1))
    arr = pickle.dumps(_obj("MARKER"), protocol=4)
    at = arr.index(b"MARKER") - 2  # SHORT_BINUNICODE opcode and length
    stream = arr[:at] + body + arr[at + 8:]
    with pytest.raises(FormatError) as info:
        out = restricted_loads(stream, array_path="/deep")
        check_decoded_array(out, dtype=np.dtype(object), shape=(1,), array_path="/deep")
    assert "/deep" in str(info.value)
