"""Tests of the L2 object-array reader and writer (FORMAT.md 2.3, 2.5, 2.6, 2.8, 5, 7.1)."""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr

from hdmf_zarr.errors import FormatError, UnknownCodecError, UnsafePickleError, UnstorableValueError
from hdmf_zarr.zarr_bridge import object_array as oa
from hdmf_zarr.zarr_bridge.object_array import (
    JSON2_FILTER,
    ObjectArrayV2,
    is_object_array_v2,
)
from hdmf_zarr.zarr_bridge.object_array_write import write_object_array_v2
from hdmf_zarr.zarr_bridge.store_io import (
    dumps_json,
    get_bytes,
    get_json,
    list_prefix,
    node_key,
    set_many,
)

LEGACY = Path(__file__).resolve().parents[3] / "shared" / "data" / "legacy"
PICKLE_STORE = "ecephys_pickle_refs.nwb.zarr"
JSON_STORE = "ecephys_json_refs.nwb.zarr"
BLOSC = {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}
REF_DTYPE = np.dtype([("idx_start", "<i4"), ("count", "<i4"), ("timeseries", "O")])

# the json2 filter exactly as FORMAT.md 2.5 prints it
FORMAT_JSON2 = json.loads('{"id":"json2","allow_nan":true,"check_circular":true,"encoding":'
                          '"utf-8","ensure_ascii":true,"indent":null,"separators":[",",":"],'
                          '"skipkeys":false,"sort_keys":true,"strict":true}')


def open_array(store, path, **kwargs) -> ObjectArrayV2:
    return ObjectArrayV2(store, path, get_json(store, node_key(path, ".zarray")), **kwargs)


def ref(path, source="."):
    return {"source": source, "path": path, "object_id": f"id-{path}", "source_object_id": "root"}


def obj_array(values, shape=None):
    arr = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        arr[i] = v
    return arr.reshape(shape) if shape is not None else arr


def canon(value):
    """Comparable form of a decoded element: references by (source, path)."""
    if isinstance(value, dict):
        return ("ref", value["source"], value["path"])
    if isinstance(value, (tuple, np.void)):
        return tuple(canon(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------------------------
# legacy stores written by hdmf-zarr 0.13
# --------------------------------------------------------------------------------------------

def _legacy_object_arrays(name: str) -> dict[str, ObjectArrayV2]:
    store = zarr.storage.LocalStore(LEGACY / name, read_only=True)
    found = {}
    for key in list_prefix(store, ""):
        if key.endswith(".zarray"):
            path = "/" + key[: -len("/.zarray")]
            meta = get_json(store, key)
            if is_object_array_v2(meta):
                found[path] = ObjectArrayV2(store, path, meta)
    return found


@pytest.fixture(scope="module")
def legacy():
    return {name: _legacy_object_arrays(name) for name in (PICKLE_STORE, JSON_STORE)}


@pytest.mark.parametrize("name", [PICKLE_STORE, JSON_STORE])
def test_every_legacy_object_array_reads(legacy, name):
    arrays = legacy[name]
    assert len(arrays) >= 40
    codecs_seen = set()
    for path, arr in arrays.items():
        data = arr[...]
        assert data.shape == arr.shape and data.dtype == arr.dtype
        codecs_seen.add(arr.object_codec)
        for value in data.reshape(-1):
            if arr.object_codec == "vlen-utf8":
                assert type(value) is str
            elif arr.object_codec == "vlen-bytes":
                assert type(value) is bytes
            elif path.startswith("/specifications/"):
                assert type(value) is str
            elif arr.dtype.fields is None:
                assert isinstance(value, dict)
            else:
                assert isinstance(value["timeseries"], dict)
    expected = {"vlen-utf8", "vlen-bytes", "json2"} | ({"pickle"} if name == PICKLE_STORE
                                                       else set())
    assert codecs_seen == expected


@pytest.mark.parametrize("name", [PICKLE_STORE, JSON_STORE])
def test_legacy_reference_values(legacy, name):
    arrays = legacy[name]
    for path in ("/units/electrode_group", "/general/extracellular_ephys/electrodes/group"):
        refs = arrays[path][:]
        assert refs.dtype == object and refs.size > 0
        for r in refs:
            assert isinstance(r, dict)
            assert r["source"] == "."
            assert r["path"].startswith("/general/extracellular_ephys/")
            assert set(r) == {"source", "path", "object_id", "source_object_id"}
    groups = [r["path"] for r in arrays["/units/electrode_group"][:]]
    assert groups == ["/general/extracellular_ephys/shank0", "/general/extracellular_ephys/shank1",
                      "/general/extracellular_ephys/shank0", "/general/extracellular_ephys/shank1",
                      "/general/extracellular_ephys/shank0"]


@pytest.mark.parametrize("name", [PICKLE_STORE, JSON_STORE])
def test_legacy_compound_rows(legacy, name):
    arr = legacy[name]["/intervals/epochs/timeseries"]
    assert arr.dtype == REF_DTYPE and arr.shape == (3,)
    rows = arr[:]
    for row in rows:
        idx_start, count, target = row.item() if isinstance(row, np.void) else row
        assert isinstance(idx_start, int) and isinstance(count, int)
        assert isinstance(target, dict) and target["source"] == "."
        assert target["path"].startswith("/acquisition/")
    assert [r["timeseries"]["path"] for r in rows] == ["/acquisition/es", "/acquisition/es",
                                                       "/acquisition/lick"]
    assert tuple(rows[0])[:2] == (-15000, 30000)
    single = arr[1]
    assert isinstance(single, np.void) and single["timeseries"]["path"] == "/acquisition/es"


def test_json_and_pickle_stores_agree(legacy):
    a, b = legacy[PICKLE_STORE], legacy[JSON_STORE]
    assert set(a) == set(b)
    for path in a:
        if path == "/file_create_date":  # the two stores were written at different times
            continue
        va, vb = a[path][...], b[path][...]
        assert va.shape == vb.shape and va.dtype == vb.dtype, path
        if va.dtype.fields is not None:
            # the fixtures agree on the reference column; their third (idx_start, count) row
            # differs ((4, 4) in the pickle store, (10, 6) in the json store)
            assert [canon(x) for x in va["timeseries"]] == [canon(x) for x in vb["timeseries"]]
            assert va[:2].tolist()[0][:2] == vb[:2].tolist()[0][:2]
        else:
            assert [canon(x) for x in va.reshape(-1)] == [canon(x) for x in vb.reshape(-1)], path


@pytest.mark.parametrize("name", [PICKLE_STORE, JSON_STORE])
def test_legacy_text_and_datetimes(legacy, name):
    arrays = legacy[name]
    assert arrays["/intervals/trials/stim"][:].tolist() == [f"stimulus é{i}" for i in range(4)]
    assert arrays["/session_start_time"][0] == b"2021-03-04T05:06:07+00:00"
    assert arrays["/general/subject/species"][0] == "Mus musculus"


@pytest.mark.parametrize("name", [PICKLE_STORE, JSON_STORE])
def test_legacy_cached_specs_parse(legacy, name):
    specs = {p: a for p, a in legacy[name].items() if p.startswith("/specifications/")}
    assert len(specs) >= 20
    for path, arr in specs.items():
        assert arr.shape == (1,) and arr.object_codec == "json2"
        text = arr[0]
        assert isinstance(text, str)
        doc = json.loads(text)
        if path.endswith("/namespace"):
            assert "namespaces" in doc
    core = json.loads(legacy[name]["/specifications/core/2.11.0/namespace"][0])
    assert core["namespaces"][0]["name"] == "core"


def test_legacy_compound_fill_value_is_not_unpickled():
    store = zarr.storage.LocalStore(LEGACY / PICKLE_STORE, read_only=True)
    meta = get_json(store, "intervals/epochs/timeseries/.zarray")
    assert meta["fill_value"] == "gAVLAC4="
    arr = ObjectArrayV2(store, "intervals/epochs/timeseries", meta)
    assert arr.fill_value is None


# --------------------------------------------------------------------------------------------
# round trips through write_object_array_v2 and ObjectArrayV2
# --------------------------------------------------------------------------------------------

def _compound(rows):
    arr = np.empty(len(rows), dtype=REF_DTYPE)
    for i, row in enumerate(rows):
        arr[i] = row
    return arr


TEXT = obj_array(["", "a", "é€𝄞", "x" * 1000, "line\nbreak", "", "z"])
BYTES = obj_array([b"", b"\x00\xff", b"2021-03-04T05:06:07+00:00", b"abc", b""])
REFS = obj_array([ref(f"/g/{i}") for i in range(7)])
TEXT_2D = obj_array([f"r{i}c{j}" for i in range(5) for j in range(3)], (5, 3))
REFS_2D = obj_array([ref(f"/t/{i}") for i in range(12)], (4, 3))
COMPOUND = _compound([(0, 10, ref("/acquisition/es")), (10, 5, ref("/acquisition/lick")),
                      (15, 1, ref("/acquisition/es"))])
TEXT_COMPOUND = np.array([(1, "first é"), (2, ""), (3, "third")],
                         dtype=[("id", "<i8"), ("label", "O")])
RECORDS = obj_array([(1, "a", 2.5), (2, "b", None)])

ROUND_TRIPS = {
    "vlen-utf8": ("vlen-utf8", TEXT, None, "."),
    "vlen-utf8-edge": ("vlen-utf8", TEXT, (3,), "."),
    "vlen-utf8-2d-edge-nested": ("vlen-utf8", TEXT_2D, (2, 2), "/"),
    "vlen-bytes": ("vlen-bytes", BYTES, None, "."),
    "vlen-bytes-edge": ("vlen-bytes", BYTES, (2,), "/"),
    "json2-refs": ("json2", REFS, None, "."),
    "json2-refs-edge": ("json2", REFS, (3,), "."),
    "json2-refs-2d-edge": ("json2", REFS_2D, (3, 2), "/"),
    "json2-text": ("json2", TEXT, (4,), "."),
    "pickle-refs": ("pickle", REFS, (3,), "."),
    "pickle-refs-2d": ("pickle", REFS_2D, (3, 2), "."),
    "pickle-compound-refs": ("pickle", COMPOUND, None, "."),
    "pickle-compound-refs-edge": ("pickle", COMPOUND, (2,), "/"),
    "pickle-records": ("pickle", RECORDS, None, "."),
}


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("case", sorted(ROUND_TRIPS))
def test_round_trip(case, compressed):
    codec, data, chunks, sep = ROUND_TRIPS[case]
    store = zarr.storage.MemoryStore()
    docs = write_object_array_v2(store, "/grp/data", data, object_codec=codec,
                                 compressor=BLOSC if compressed else None, chunks=chunks,
                                 attributes={"zarr_dtype": "object"}, dimension_separator=sep)
    assert docs[".zattrs"] == {"zarr_dtype": "object"}
    assert get_json(store, "grp/data/.zarray") == docs[".zarray"]
    assert get_json(store, "grp/data/.zattrs") == {"zarr_dtype": "object"}
    arr = open_array(store, "grp/data")
    assert arr.shape == data.shape and arr.object_codec == codec
    assert arr.chunks == (chunks or data.shape)
    out = arr[...]
    assert out.dtype == data.dtype and out.shape == data.shape
    assert [canon(x) for x in out.reshape(-1)] == [canon(x) for x in data.reshape(-1)]
    if data.dtype.fields is None:
        # references come back whole (all keys), not only source/path
        assert out.tolist() == data.tolist()
    else:
        assert [dict(x) for x in out["timeseries"]] == list(data["timeseries"])
    # chunk keys follow the grid and the separator
    keys = sorted(k for k in list_prefix(store, "grp/data/")
                  if not k.split("/")[-1].startswith("."))
    grid = [-(-s // c) for s, c in zip(arr.shape, arr.chunks)]
    assert len(keys) == int(np.prod(grid))
    if len(grid) == 2:
        assert f"grp/data/1{sep}1" in keys


def test_round_trip_text_compound_becomes_tuples():
    store = zarr.storage.MemoryStore()
    docs = write_object_array_v2(store, "tc", TEXT_COMPOUND, object_codec="pickle",
                                 compressor=BLOSC)
    assert docs[".zarray"]["dtype"] == "|O" and docs[".zarray"]["fill_value"] is None
    raw = bytes(numcodecs.Blosc().decode(get_bytes(store, "tc/0")))
    assert b"scalar" not in raw  # records are tuples, no numpy scalar global needed
    out = open_array(store, "tc")[:]
    assert out.dtype == object
    assert out.tolist() == [(1, "first é"), (2, ""), (3, "third")]
    assert all(type(x) is tuple and type(x[0]) is int for x in out)


def test_compound_refs_document_matches_format_example():
    store = zarr.storage.MemoryStore()
    docs = write_object_array_v2(store, "intervals/epochs/timeseries", COMPOUND[:1],
                                 object_codec="pickle", compressor=BLOSC)
    doc = docs[".zarray"]
    # FORMAT.md 7.1: intervals/epochs/timeseries/.zarray
    assert doc["chunks"] == [1] and doc["shape"] == [1]
    assert doc["dtype"] == [["idx_start", "<i4"], ["count", "<i4"], ["timeseries", "|O"]]
    assert doc["fill_value"] is None
    assert doc["filters"] == [{"id": "pickle", "protocol": 5}]
    assert doc["compressor"] == BLOSC and doc["order"] == "C" and doc["zarr_format"] == 2
    assert "dimension_separator" not in doc
    raw = bytes(numcodecs.Blosc().decode(get_bytes(store, "intervals/epochs/timeseries/0")))
    globals_used = {arg for op, arg, _ in __import__("pickletools").genops(raw)
                    if op.name in ("SHORT_BINUNICODE", "BINUNICODE")}
    assert "hdmf_zarr.utils" not in globals_used and "scalar" not in globals_used
    row = open_array(store, "intervals/epochs/timeseries")[0]
    assert (int(row["idx_start"]), int(row["count"])) == (0, 10)
    assert row["timeseries"] == ref("/acquisition/es")


def test_reference_document_matches_format_example():
    store = zarr.storage.MemoryStore()
    docs = write_object_array_v2(store, "/general/extracellular_ephys/electrodes/group",
                                 REFS[:4], object_codec="json2", compressor=BLOSC,
                                 attributes={"zarr_dtype": "object"})
    doc = docs[".zarray"]
    assert doc == {"chunks": [4], "compressor": BLOSC, "dtype": "|O", "fill_value": None,
                   "filters": [FORMAT_JSON2], "order": "C", "shape": [4], "zarr_format": 2}
    assert JSON2_FILTER == FORMAT_JSON2
    chunk = bytes(numcodecs.Blosc().decode(
        get_bytes(store, "general/extracellular_ephys/electrodes/group/0")))
    assert chunk.startswith(b'[{"object_id":"id-/g/0","path":"/g/0","source":".",'
                            b'"source_object_id":"root"},')
    assert chunk.endswith(b'},"|O",[4]]')
    # byte-identical to numcodecs' own JSON codec with the FORMAT.md configuration
    cfg = {k: v for k, v in FORMAT_JSON2.items() if k != "id"}
    assert chunk == numcodecs.JSON(**cfg).encode(REFS[:4])
    assert numcodecs.get_codec(dict(FORMAT_JSON2)).decode(chunk).tolist() == REFS[:4].tolist()


def test_cached_spec_chunk_is_plain_json():
    text = json.dumps({"namespaces": [{"doc": "NWB namespace é", "name": "core"}]},
                      separators=(",", ":"))
    store = zarr.storage.MemoryStore()
    docs = write_object_array_v2(store, "specifications/core/2.11.0/namespace",
                                 np.array([text], dtype=object), object_codec="json2",
                                 compressor=None, attributes={"zarr_dtype": "scalar"})
    assert docs[".zarray"] == {"chunks": [1], "compressor": None, "dtype": "|O",
                               "fill_value": None, "filters": [FORMAT_JSON2], "order": "C",
                               "shape": [1], "zarr_format": 2}
    assert docs[".zattrs"] == {"zarr_dtype": "scalar"}
    chunk = get_bytes(store, "specifications/core/2.11.0/namespace/0")
    assert chunk == json.dumps([text, "|O", [1]], separators=(",", ":")).encode()
    assert json.loads(chunk) == [text, "|O", [1]]
    assert open_array(store, "specifications/core/2.11.0/namespace")[0] == text


def test_vlen_documents_and_payload():
    store = zarr.storage.MemoryStore()
    docs = write_object_array_v2(store, "t", obj_array(["ab", "é"]), object_codec="vlen-utf8",
                                 compressor=None)
    assert docs[".zarray"]["fill_value"] == "" and docs[".zarray"]["filters"] == [
        {"id": "vlen-utf8"}]
    assert ".zattrs" not in docs and get_bytes(store, "t/.zattrs") is None
    assert get_bytes(store, "t/0") == b"\x02\x00\x00\x00\x02\x00\x00\x00ab\x02\x00\x00\x00\xc3\xa9"
    assert get_bytes(store, "t/0") == numcodecs.VLenUTF8().encode(obj_array(["ab", "é"]))
    docs = write_object_array_v2(store, "b", obj_array([b"x"]), object_codec="vlen-bytes",
                                 compressor=None, dimension_separator="/")
    assert docs[".zarray"]["fill_value"] is None
    assert docs[".zarray"]["dimension_separator"] == "/"
    assert get_bytes(store, "b/0") == numcodecs.VLenBytes().encode(obj_array([b"x"]))


@pytest.mark.parametrize("codec,data,chunks", [
    ("vlen-utf8", TEXT, (3,)),
    ("vlen-utf8", TEXT_2D, (2, 2)),
    ("vlen-bytes", BYTES, (2,)),
    ("vlen-bytes", BYTES, None),
])
@pytest.mark.parametrize("sep", [".", "/"])
def test_zarr_reads_our_vlen_arrays(codec, data, chunks, sep):
    store = zarr.storage.MemoryStore()
    write_object_array_v2(store, "x/y", data, object_codec=codec, compressor=BLOSC,
                          chunks=chunks, dimension_separator=sep)
    z = zarr.open_array(store, path="x/y", mode="r", zarr_format=2)
    assert z.shape == data.shape
    assert np.asarray(z[...]).tolist() == data.tolist()
    assert open_array(store, "x/y")[...].tolist() == data.tolist()


def test_we_read_zarr_written_vlen_arrays():
    store = zarr.storage.MemoryStore()
    from zarr.core.dtype import VariableLengthBytes, VariableLengthUTF8
    z = zarr.create_array(store, name="s", shape=(5,), chunks=(2,), zarr_format=2,
                          dtype=VariableLengthUTF8())
    z[:] = obj_array(["a", "é", "", "d", "e"])
    z = zarr.create_array(store, name="b", shape=(3,), chunks=(2,), zarr_format=2,
                          dtype=VariableLengthBytes())
    z[:2] = obj_array([b"x", b"y"])  # last chunk never written
    assert open_array(store, "s")[:].tolist() == ["a", "é", "", "d", "e"]
    b = open_array(store, "b")
    assert b[:].tolist() == [b"x", b"y", b""]


@pytest.mark.parametrize("compressor", [{"id": "zlib", "level": 1}, {"id": "gzip", "level": 1},
                                        {"id": "zstd", "level": 1}, {"id": "lz4"},
                                        {"id": "blosc", "cname": "zstd", "clevel": 3,
                                         "shuffle": 2, "blocksize": 0}])
def test_compressors(compressor):
    store = zarr.storage.MemoryStore()
    docs = write_object_array_v2(store, "c", REFS, object_codec="json2", compressor=compressor,
                                 chunks=(3,))
    assert docs[".zarray"]["compressor"]["id"] == compressor["id"]
    assert open_array(store, "c")[:].tolist() == REFS.tolist()


def test_empty_arrays():
    store = zarr.storage.MemoryStore()
    for codec, data in [("vlen-utf8", np.array([], dtype=object)),
                        ("json2", np.array([], dtype=object)),
                        ("pickle", np.empty(0, dtype=REF_DTYPE))]:
        docs = write_object_array_v2(store, f"e_{codec}", data, object_codec=codec,
                                     compressor=BLOSC)
        assert docs[".zarray"]["shape"] == [0] and docs[".zarray"]["chunks"] == [1]
        assert list_prefix(store, f"e_{codec}/") == [f"e_{codec}/.zarray"]
        arr = open_array(store, f"e_{codec}")
        out = arr[:]
        assert out.shape == (0,) and out.dtype == data.dtype and len(arr) == 0
        assert list(arr) == []
    docs = write_object_array_v2(store, "e2", np.empty((0, 3), dtype=object),
                                 object_codec="json2", compressor=None)
    assert docs[".zarray"]["chunks"] == [1, 3]
    assert open_array(store, "e2")[:, 1:].shape == (0, 2)


def test_zero_dimensional_arrays():
    store = zarr.storage.MemoryStore()
    data = np.empty((), dtype=object)
    data[()] = ref("/x")
    docs = write_object_array_v2(store, "s", data, object_codec="json2", compressor=None)
    assert docs[".zarray"]["shape"] == [] and docs[".zarray"]["chunks"] == []
    assert get_bytes(store, "s/0") == json.dumps(
        [{"object_id": "id-/x", "path": "/x", "source": ".", "source_object_id": "root"}, "|O",
         []], separators=(",", ":")).encode()
    arr = open_array(store, "s")
    assert arr[()] == ref("/x")
    zero = arr[...]
    assert zero.shape == () and zero[()] == ref("/x")
    assert np.asarray(arr).shape == ()
    with pytest.raises(TypeError):
        len(arr)
    with pytest.raises(TypeError):
        iter(arr)
    assert arr.read_chunk(()).shape == ()
    write_object_array_v2(store, "t", np.array("text", dtype=object), object_codec="vlen-utf8",
                          compressor=BLOSC)
    assert open_array(store, "t")[()] == "text"


def test_root_array_path():
    store = zarr.storage.MemoryStore()
    write_object_array_v2(store, "/", TEXT, object_codec="vlen-utf8", compressor=None,
                          chunks=(4,))
    assert get_bytes(store, ".zarray") is not None and get_bytes(store, "1") is not None
    for path in ("", "/"):
        arr = open_array(store, path)
        assert arr.path == "/" and arr[:].tolist() == TEXT.tolist()


def test_missing_chunks_give_fill_values():
    store = zarr.storage.MemoryStore()
    cases = [("vlen-utf8", TEXT, ""), ("vlen-bytes", BYTES, b""), ("json2", REFS, None),
             ("pickle", REFS, None)]
    for codec, data, fill in cases:
        write_object_array_v2(store, codec, data, object_codec=codec, compressor=None,
                              chunks=(2,))
        sync_delete(store, f"{codec}/0")
        arr = open_array(store, codec)
        assert arr.fill_value == fill
        out = arr[:]
        assert out[:2].tolist() == [fill, fill] and out[2:].tolist() == data[2:].tolist()
    write_object_array_v2(store, "cmp", COMPOUND, object_codec="pickle", compressor=None,
                          chunks=(2,))
    sync_delete(store, "cmp/1")
    out = open_array(store, "cmp")[:]
    assert out[2].tolist() == (0, 0, None)
    assert out[0]["timeseries"] == ref("/acquisition/es")


def sync_delete(store, key):
    from zarr.core.sync import sync
    sync(store.delete(key))


def test_read_chunk_crops_edges():
    store = zarr.storage.MemoryStore()
    write_object_array_v2(store, "t", TEXT_2D, object_codec="vlen-utf8", compressor=None,
                          chunks=(2, 2))
    arr = open_array(store, "t")
    assert arr.read_chunk((0, 0)).tolist() == TEXT_2D[:2, :2].tolist()
    assert arr.read_chunk((2, 1)).tolist() == TEXT_2D[4:, 2:].tolist()
    assert arr.read_chunk((2, 1)).shape == (1, 1)
    with pytest.raises(IndexError):
        arr.read_chunk((3, 0))
    with pytest.raises(IndexError):
        arr.read_chunk((0,))


def test_reading_is_lazy_and_fetches_only_needed_chunks(monkeypatch):
    store = zarr.storage.MemoryStore()
    write_object_array_v2(store, "t", TEXT_2D, object_codec="vlen-utf8", compressor=None,
                          chunks=(2, 2))
    calls = []
    real = oa.get_many

    def counting(store_, keys):
        keys = list(keys)
        calls.append(keys)
        return real(store_, keys)

    monkeypatch.setattr(oa, "get_many", counting)
    arr = open_array(store, "t")
    assert calls == []
    assert arr[3, 2] == "r3c2"
    assert calls == [["t/1.1"]]
    calls.clear()
    arr[:, 0]
    assert calls == [["t/0.0", "t/1.0", "t/2.0"]]


# --------------------------------------------------------------------------------------------
# indexing semantics (compared with numpy on the same data)
# --------------------------------------------------------------------------------------------

CUBE = obj_array([f"{i}-{j}-{k}" for i in range(5) for j in range(4) for k in range(3)],
                 (5, 4, 3))


@pytest.fixture(scope="module")
def cube():
    store = zarr.storage.MemoryStore()
    write_object_array_v2(store, "cube", CUBE, object_codec="vlen-utf8", compressor=None,
                          chunks=(2, 3, 2))
    return open_array(store, "cube")


KEYS = [
    0, -1, 4, (1, 2), (1, 2, 0), (-1, -1, -1), slice(None), slice(1, 4), slice(None, None, 2),
    slice(None, None, -1), slice(4, 0, -2), slice(10, 20), (slice(1, 3), 2), (Ellipsis, 1),
    (0, Ellipsis), (0, Ellipsis, 2), (Ellipsis,), (slice(None), slice(None), slice(None)),
    [3, 0, 3], ([4, 1],), (slice(None), [3, 0]), (Ellipsis, [2, 0, 1]), (1, [0, 3]),
    ([0, 4], 2), (0, slice(None), [1, 2]), ([1, 2], slice(None), 0), (0, [1, 2], 1),
    np.array([1, 3]), (slice(None), np.array([], dtype=int)), (slice(None), [-1]),
    np.array([True, False, True, False, True]), (2, np.array([False, True, True, False])),
    (slice(0, 0),), (np.int64(2), np.int32(1)),
]


@pytest.mark.parametrize("key", KEYS, ids=[repr(k) for k in KEYS])
def test_indexing_matches_numpy(cube, key):
    expected = CUBE[key]
    got = cube[key]
    if isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == object
        assert got.shape == expected.shape
        assert got.tolist() == expected.tolist()
    else:
        assert got == expected


@pytest.mark.parametrize("key", [5, -6, (0, 4), (0, 0, 0, 0), [5], (Ellipsis, Ellipsis),
                                 ([0, 1], [0, 1]), "a", None, 1.5, np.array([[0]]),
                                 np.array([True, False])])
def test_bad_indices(cube, key):
    with pytest.raises(IndexError):
        cube[key]


def test_array_protocol_len_iter(cube):
    assert len(cube) == 5 and cube.ndim == 3 and cube.size == 60 and cube.nchunks == 3 * 2 * 2
    assert np.asarray(cube).tolist() == CUBE.tolist()
    assert [x.tolist() for x in cube] == [x.tolist() for x in CUBE]
    with pytest.raises(ValueError):
        cube.__array__(copy=False)
    assert cube.__array__(dtype=object).shape == (5, 4, 3)


def test_structured_indexing():
    store = zarr.storage.MemoryStore()
    write_object_array_v2(store, "c", COMPOUND, object_codec="pickle", compressor=None,
                          chunks=(2,))
    arr = open_array(store, "c")
    assert arr[::-1]["idx_start"].tolist() == [15, 10, 0]
    assert [canon(x) for x in arr[[2, 0]]] == [canon(COMPOUND[2]), canon(COMPOUND[0])]
    assert [canon(x) for x in arr] == [canon(x) for x in COMPOUND]


def test_fortran_order_vlen_chunks():
    store = zarr.storage.MemoryStore()
    values = obj_array(["a", "b", "c", "d", "e", "f"], (2, 3))
    meta = {"chunks": [2, 3], "compressor": None, "dtype": "|O", "fill_value": 0,
            "filters": [{"id": "vlen-utf8"}], "order": "F", "shape": [2, 3], "zarr_format": 2}
    payload = numcodecs.VLenUTF8().encode(values.reshape(-1, order="F"))
    set_many(store, {"f/.zarray": dumps_json(meta), "f/0.0": bytes(payload)})
    assert open_array(store, "f")[...].tolist() == values.tolist()


# --------------------------------------------------------------------------------------------
# legacy variants written by hand
# --------------------------------------------------------------------------------------------

def _put(store, path, meta, chunks):
    items = {node_key(path, ".zarray"): dumps_json(meta)}
    items.update({node_key(path, k): v for k, v in chunks.items()})
    set_many(store, items)


def _meta(**overrides):
    meta = {"chunks": [2], "compressor": None, "dtype": "|O", "fill_value": 0,
            "filters": [{"id": "pickle", "protocol": 5}], "order": "C", "shape": [2],
            "zarr_format": 2}
    meta.update(overrides)
    return meta


def test_record_scalars_of_013_text_compounds():
    # 0.13 pickles records of a text compound without references as np.void scalars
    rec = np.array([(1, "ab"), (2, "cd")], dtype=[("x", "<i4"), ("s", "<U4")])
    data = np.empty(2, dtype=object)
    data[0], data[1] = rec[0], rec[1]
    store = zarr.storage.MemoryStore()
    _put(store, "tc", _meta(), {"0": pickle.dumps(data, protocol=5)})
    with pytest.raises(UnsafePickleError, match=r"numpy\._core\.multiarray\.scalar") as info:
        open_array(store, "tc")[:]
    assert "/tc" in str(info.value)
    out = open_array(store, "tc", allow_record_scalars=True)[:]
    assert [(int(r["x"]), str(r["s"])) for r in out] == [(1, "ab"), (2, "cd")]


def test_record_scalars_of_013_text_compounds_exported_from_hdf5():
    # issue 12 item 10: records holding objects (text fields with h5py's vlen metadata),
    # pickled by 0.13 as ``scalar(dtype, <0-d record array>)`` naming ``builtins.str``
    import h5py

    dtype = np.dtype([("x", "<i4"), ("s", h5py.string_dtype())])
    rec = np.array([(1, "stimulus é0"), (2, "b")], dtype=dtype)
    data = np.empty(2, dtype=object)
    data[0], data[1] = rec[0], rec[1]
    store = zarr.storage.MemoryStore()
    _put(store, "tc", _meta(compressor={"id": "zlib", "level": 1}),
         {"0": numcodecs.Zlib(1).encode(pickle.dumps(data, protocol=5))})
    out = open_array(store, "tc", allow_record_scalars=True)[:]
    assert [r.tolist() for r in out] == [(1, "stimulus é0"), (2, "b")]
    evil = pickle.dumps(data, protocol=5).replace(b"\x8c\x03str", b"\x8c\x04eval", 1)
    _put(store, "ev", _meta(), {"0": evil})
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval") as info:
        open_array(store, "ev", allow_record_scalars=True)[:]
    assert "/ev" in str(info.value)


def test_json2_compound_with_void_dtype_string():
    # what numcodecs JSON writes for a structured chunk (the 0.13 json store holds one)
    store = zarr.storage.MemoryStore()
    rows = [[1, 2, {"source": ".", "path": "/a"}], [3, 4, {"source": ".", "path": "/b"}]]
    chunk = json.dumps(rows + ["|V16", [2]]).encode()
    meta = _meta(dtype=[["idx_start", "<i4"], ["count", "<i4"], ["timeseries", "|O"]],
                 filters=[FORMAT_JSON2], fill_value="WzAsIjxpOCIsW11d")
    _put(store, "c", meta, {"0": chunk})
    out = open_array(store, "c")[:]
    assert out.tolist() == [(1, 2, {"source": ".", "path": "/a"}),
                            (3, 4, {"source": ".", "path": "/b"})]


# --------------------------------------------------------------------------------------------
# hostile chunks
# --------------------------------------------------------------------------------------------

class _Reduce:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def _hostile_streams(canary: Path) -> dict[str, tuple[bytes, str]]:
    cmd = f"touch {canary}"
    in_array = np.empty(2, dtype=object)
    in_array[0] = ref("/ok")
    in_array[1] = _Reduce(os.system, cmd)
    return {
        "os.system": (pickle.dumps(_Reduce(os.system, cmd), protocol=5),
                      f"{os.system.__module__}.system"),
        "os.system-text": (b"cos\nsystem\n(V" + cmd.encode() + b"\ntR.", "os.system"),
        "eval": (pickle.dumps(_Reduce(eval, f"open({str(canary)!r}, 'w')"), protocol=5),
                 "builtins.eval"),
        "posix.system-in-array": (pickle.dumps(in_array, protocol=5),
                                  f"{os.system.__module__}.system"),
        "exec": (pickle.dumps(_Reduce(exec, f"open({str(canary)!r}, 'w')"), protocol=4),
                 "builtins.exec"),
        "persistent-id": (b"\x80\x02Pcanary\n.", "persistent id"),
        "ext1": (b"\x80\x02\x82\x01.", "extension registry"),
    }


@pytest.mark.parametrize("which", ["os.system", "os.system-text", "eval",
                                   "posix.system-in-array", "exec", "persistent-id", "ext1"])
@pytest.mark.parametrize("compressed", [False, True])
def test_hostile_pickle_chunks(tmp_path, which, compressed):
    canary = tmp_path / "canary"
    stream, named = _hostile_streams(canary)[which]
    if compressed:
        stream = numcodecs.Blosc().encode(stream)
    store = zarr.storage.MemoryStore()
    meta = _meta(compressor=BLOSC if compressed else None)
    _put(store, "/units/electrode_group", meta, {"0": bytes(stream)})
    arr = open_array(store, "/units/electrode_group")
    with pytest.raises(UnsafePickleError) as info:
        arr[:]
    message = str(info.value)
    assert "/units/electrode_group" in message and named in message
    assert not canary.exists()
    # a compound reads the same way
    meta = _meta(dtype=[["a", "<i4"], ["b", "|O"]], fill_value="gAVLAC4=",
                 compressor=BLOSC if compressed else None)
    _put(store, "cmp", meta, {"0": bytes(stream)})
    with pytest.raises(UnsafePickleError, match=named):
        open_array(store, "cmp")[0]
    assert not canary.exists()


def test_pickled_chunk_with_wrong_dtype_or_shape():
    store = zarr.storage.MemoryStore()
    _put(store, "a", _meta(), {"0": pickle.dumps(obj_array([ref("/a")]), protocol=5)})
    with pytest.raises(FormatError, match="shape"):
        open_array(store, "a")[:]
    _put(store, "b", _meta(), {"0": pickle.dumps(np.zeros(2, "<i8"), protocol=4)})
    with pytest.raises(FormatError, match="dtype"):
        open_array(store, "b")[:]
    _put(store, "c", _meta(), {"0": pickle.dumps(obj_array([{"path": "/x"}, ref("/y")]))})
    with pytest.raises(FormatError, match="source"):
        open_array(store, "c")[:]


# --------------------------------------------------------------------------------------------
# forged metadata and chunks
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides,error,match", [
    ({"shape": [-1]}, FormatError, "non-negative"),
    ({"shape": [1] * 40, "chunks": [1] * 40}, FormatError, "at most 32"),
    ({"shape": [2**63], "chunks": [1]}, FormatError, "2\\*\\*63"),
    ({"shape": [2.0]}, FormatError, "shape"),
    ({"shape": [True]}, FormatError, "shape"),
    ({"shape": "2"}, FormatError, "shape"),
    ({"chunks": [0]}, FormatError, "positive"),
    ({"chunks": [2, 2]}, FormatError, "one entry per axis"),
    ({"chunks": None}, FormatError, "chunks"),
    ({"filters": [{"id": "no-such-codec"}]}, UnknownCodecError, "no-such-codec"),
    ({"filters": [{"id": "pickle"}, {"id": "no-such-codec"}]}, UnknownCodecError,
     "no-such-codec"),
    ({"filters": [{"id": "msgpack2"}]}, UnknownCodecError, "msgpack2"),
    ({"compressor": {"id": "no-such-compressor"}}, UnknownCodecError, "no-such-compressor"),
    ({"compressor": {"id": "pickle"}}, FormatError, "pickle"),
    ({"compressor": {"id": "blosc", "bogus": 1}}, FormatError, "compressor"),
    ({"compressor": "blosc"}, FormatError, "compressor"),
    ({"filters": None}, FormatError, "object codec"),
    ({"filters": [{"id": "json2"}, {"id": "pickle"}]}, FormatError, "more than one"),
    ({"filters": [{"id": "zlib"}, {"id": "pickle"}]}, FormatError, "before the object codec"),
    ({"filters": [{"no": "id"}]}, FormatError, "codec configuration"),
    ({"filters": [{"id": "json2", "encoding": "no-such-encoding"}]}, FormatError, "encoding"),
    ({"dtype": "<i4"}, FormatError, "not an object dtype"),
    ({"dtype": [["a", "<i4"]]}, FormatError, "without object fields"),
    ({"dtype": [["a", "<x9"], ["b", "|O"]]}, UnknownCodecError, "<x9"),
    ({"dtype": [["a", "|O"], ["a", "|O"]]}, FormatError, "structured"),
    ({"dtype": [["a"]]}, FormatError, "malformed"),
    ({"dtype": [["a", "|O"]], "filters": [{"id": "vlen-utf8"}]}, FormatError, "structured"),
    ({"dimension_separator": "\\"}, FormatError, "dimension_separator"),
    ({"order": "X"}, FormatError, "order"),
    ({"zarr_format": 3}, FormatError, "zarr_format"),
])
def test_forged_metadata(overrides, error, match):
    store = zarr.storage.MemoryStore()
    with pytest.raises(error, match=match) as info:
        ObjectArrayV2(store, "/forged/array", _meta(**overrides))
    assert "/forged/array" in str(info.value)


def test_forged_metadata_not_a_dict():
    with pytest.raises(FormatError):
        ObjectArrayV2(zarr.storage.MemoryStore(), "x", ["not", "a", "dict"])


def _vlen(*items: bytes, count: int | None = None) -> bytes:
    out = struct.pack("<I", len(items) if count is None else count)
    for item in items:
        out += struct.pack("<I", len(item)) + item
    return out


@pytest.mark.parametrize("chunk,match", [
    (_vlen(b"a"), "holds 1 items"),
    (_vlen(b"a", b"b", b"c"), "holds 3 items"),
    (_vlen(count=2**32 - 1), "items"),
    (_vlen(b"a", count=2), "too short|truncated"),
    (struct.pack("<II", 2, 2**31) + b"x" * 8, "overruns"),
    (_vlen(b"a", b"b") + b"junk", "after its last item"),
    (b"\x02\x00", "shorter"),
    (_vlen(b"\xff\xfe", b"ok"), "UTF-8"),
])
def test_forged_vlen_chunks(chunk, match):
    store = zarr.storage.MemoryStore()
    _put(store, "v", _meta(filters=[{"id": "vlen-utf8"}]), {"0": chunk})
    with pytest.raises(FormatError, match=match) as info:
        open_array(store, "v")[:]
    assert "/v" in str(info.value)


@pytest.mark.parametrize("chunk,match", [
    (b'[{"source":".","path":"/a"},"|O",[1]]', "shape"),
    (b'["a","b","<U1",[2]]', "dtype"),
    (b'["a","b","|O",[3]]', "shape"),
    (b'["a","|O",[2]]', "rows"),
    (b'{"a":1}', "list"),
    (b'not json', "JSON"),
    (b'[' * 100000 + b']' * 100000, "JSON|list|shape"),
    (b'[{"source":".","path":7},"b","|O",[2]]', "path"),
    (b'[[1],[2],"|O",[2]]', "."),
])
def test_forged_json2_chunks(chunk, match):
    store = zarr.storage.MemoryStore()
    _put(store, "j", _meta(filters=[FORMAT_JSON2]), {"0": chunk})
    arr = open_array(store, "j")
    if chunk == b'[[1],[2],"|O",[2]]':  # legal: list elements
        assert arr[:].tolist() == [[1], [2]]
        return
    with pytest.raises(FormatError, match=match):
        arr[:]


def test_forged_json2_compound_rows():
    store = zarr.storage.MemoryStore()
    meta = _meta(dtype=[["a", "<i4"], ["b", "|O"]], filters=[FORMAT_JSON2])
    _put(store, "c1", meta, {"0": b'[[1,"x"],[2],"|V12",[2]]'})
    with pytest.raises(FormatError, match="record"):
        open_array(store, "c1")[:]
    _put(store, "c2", meta, {"0": b'[[1,"x"],[{"a":1},"y"],"|V12",[2]]'})
    with pytest.raises(FormatError, match="dtype"):
        open_array(store, "c2")[:]
    _put(store, "c3", meta, {"0": b'[[1,"x"],[2,"y"],"|V99",[2]]'})
    with pytest.raises(FormatError, match="dtype"):
        open_array(store, "c3")[:]


def test_huge_chunks_are_refused_before_allocating():
    store = zarr.storage.MemoryStore()
    _put(store, "h", _meta(shape=[2**40], chunks=[2**40]), {})
    arr = open_array(store, "h")
    assert arr.shape == (2**40,)
    with pytest.raises(FormatError, match="limit"):
        arr[0]
    _put(store, "w", _meta(dtype=[["a", "V1000000000"], ["b", "|O"]], shape=[4], chunks=[4]),
         {})
    with pytest.raises(FormatError, match="limit"):
        open_array(store, "w")[0]


def test_decompression_bombs_are_refused(monkeypatch):
    monkeypatch.setattr(oa, "MAX_DECODED_CHUNK_BYTES", 2**20)  # keep the test fast
    store = zarr.storage.MemoryStore()
    chunk = bytearray(numcodecs.Blosc().encode(_vlen(b"a", b"b")))
    chunk[4:8] = struct.pack("<I", 2**31)  # header claims 2 GiB
    _put(store, "b", _meta(filters=[{"id": "vlen-utf8"}], compressor=BLOSC), {"0": bytes(chunk)})
    with pytest.raises(FormatError, match="limit"):
        open_array(store, "b")[:]
    for cid, codec in [("zlib", numcodecs.Zlib(level=9)), ("gzip", numcodecs.GZip(level=9)),
                       ("zstd", numcodecs.Zstd(level=3)), ("lz4", numcodecs.LZ4())]:
        bomb = codec.encode(b"\x00" * (2**20 + 10))
        _put(store, cid, _meta(filters=[{"id": "vlen-utf8"}], compressor=codec.get_config()),
             {"0": bytes(bomb)})
        with pytest.raises(FormatError, match="limit"):
            open_array(store, cid)[:]
    _put(store, "t", _meta(filters=[{"id": "vlen-utf8"}], compressor=BLOSC), {"0": b"\x02\x01"})
    with pytest.raises(FormatError):
        open_array(store, "t")[:]


# --------------------------------------------------------------------------------------------
# detection and writer errors
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("meta,expected", [
    ({"dtype": "|O", "filters": [{"id": "vlen-utf8"}]}, True),
    ({"dtype": "|O", "filters": [{"id": "json2"}]}, True),
    ({"dtype": [["a", "<i4"], ["b", "|O"]]}, True),
    ({"dtype": [["a", "<i4"], ["b", "<f8"]]}, False),
    ({"dtype": "<i8"}, False),
    ({"dtype": "|b1"}, False),
    ({}, False),
    ("|O", False),
])
def test_is_object_array_v2(meta, expected):
    assert is_object_array_v2(meta) is expected


def test_is_object_array_v2_on_legacy_documents():
    store = zarr.storage.LocalStore(LEGACY / PICKLE_STORE, read_only=True)
    assert is_object_array_v2(get_json(store, "intervals/trials/stim/.zarray"))
    assert is_object_array_v2(get_json(store, "intervals/epochs/timeseries/.zarray"))
    assert not is_object_array_v2(get_json(store, "intervals/trials/start_time/.zarray"))


def test_writer_errors():
    store = zarr.storage.MemoryStore()
    with pytest.raises(ValueError, match="object_codec"):
        write_object_array_v2(store, "x", TEXT, object_codec="msgpack2", compressor=None)
    with pytest.raises(UnstorableValueError):
        write_object_array_v2(store, "x", obj_array([1]), object_codec="vlen-utf8",
                              compressor=None)
    with pytest.raises(UnstorableValueError):
        write_object_array_v2(store, "x", obj_array([1]), object_codec="vlen-bytes",
                              compressor=None)
    with pytest.raises(UnstorableValueError, match="pickle"):
        write_object_array_v2(store, "x", COMPOUND, object_codec="json2", compressor=None)
    with pytest.raises(UnstorableValueError):
        write_object_array_v2(store, "x", obj_array([object()]), object_codec="pickle",
                              compressor=None)
    with pytest.raises(UnstorableValueError):
        write_object_array_v2(store, "x", np.zeros(3), object_codec="json2", compressor=None)
    with pytest.raises(ValueError):
        write_object_array_v2(store, "x", TEXT, object_codec="vlen-utf8", compressor=None,
                              chunks=(0,))
    with pytest.raises(ValueError):
        write_object_array_v2(store, "x", TEXT, object_codec="vlen-utf8",
                              compressor={"id": "pickle"})
    with pytest.raises(ValueError):
        write_object_array_v2(store, "x", TEXT, object_codec="vlen-utf8", compressor=None,
                              dimension_separator="-")
    assert list_prefix(store, "x") == []


def test_writer_normalises_values():
    from hdmf_zarr.utils import ZarrReference
    store = zarr.storage.MemoryStore()
    data = obj_array([ZarrReference(".", "/a", "oid", "root"),
                      {"source": np.str_("."), "path": np.str_("/b")}])
    write_object_array_v2(store, "p", data, object_codec="pickle", compressor=None)
    raw = get_bytes(store, "p/0")
    assert b"ZarrReference" not in raw and b"scalar" not in raw
    out = open_array(store, "p")[:]
    assert [type(x) for x in out] == [dict, dict]
    assert out[0] == {"source": ".", "path": "/a", "object_id": "oid", "source_object_id": "root"}
    write_object_array_v2(store, "u", np.array(["a", "é"]), object_codec="vlen-utf8",
                          compressor=None)
    assert open_array(store, "u")[:].tolist() == ["a", "é"]
    write_object_array_v2(store, "l", ["x", "y"], object_codec="json2", compressor=None)
    assert open_array(store, "l")[:].tolist() == ["x", "y"]
    recs = obj_array([(np.int32(1), np.str_("a"), np.float64(0.5))])
    write_object_array_v2(store, "r", recs, object_codec="pickle", compressor=None)
    assert b"scalar" not in get_bytes(store, "r/0")
    assert open_array(store, "r")[0] == (1, "a", 0.5)
