"""The ``struct`` data type of Zarr-Python >= 3.2 (FORMAT.md 3.4, issue 12 item 8), read from
stores written by hand in that form, in this process and in one that never imports hdmf_zarr."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr

import hdmf_zarr  # noqa: F401  (registers the data types in this process)
from hdmf_zarr.zarr_bridge.data_types import STRUCT_TYPE
from hdmf_zarr.zarr_bridge.struct_dtype import Struct

DTYPE = np.dtype([("x", "<f4"), ("y", "<i2"), ("name", "<U4")])
ROWS = np.array([(1.5, -3, "ab"), (-2.25, 7, "wxyz"), (0.0, 0, "")], dtype=DTYPE)
FIELDS_OBJECT = [{"name": "x", "data_type": "float32"}, {"name": "y", "data_type": "int16"},
                 {"name": "name", "data_type": {"name": "fixed_length_utf32",
                                                "configuration": {"length_bytes": 16}}}]
FIELDS_PAIRS = [[f["name"], f["data_type"]] for f in FIELDS_OBJECT]


def _write_store(root: Path, *, fields=FIELDS_OBJECT, fill=None, chunks=(2,), shape=(3,),
                 rows=ROWS, write_chunks=True) -> Path:
    """A Zarr 3 store holding array ``a`` in the form Zarr >= 3.2 writes (bytes little-endian,
    no compressor), its chunk bytes the raw little-endian records."""
    root.mkdir()
    (root / "zarr.json").write_text(json.dumps(
        {"zarr_format": 3, "node_type": "group", "attributes": {}}))
    arr = root / "a"
    arr.mkdir()
    doc = {"zarr_format": 3, "node_type": "array", "shape": list(shape),
           "data_type": {"name": "struct", "configuration": {"fields": fields}},
           "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
           "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
           "fill_value": {"x": 0.0, "y": 0, "name": ""} if fill is None else fill,
           "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
           "attributes": {}, "storage_transformers": []}
    (arr / "zarr.json").write_text(json.dumps(doc))
    if write_chunks:
        if shape == ():
            (arr / "c").write_bytes(rows.reshape(()).tobytes())
        else:
            (arr / "c").mkdir()
            for i in range(0, shape[0], chunks[0]):
                block = np.zeros(chunks, dtype=DTYPE)
                part = rows[i:i + chunks[0]]
                block[:len(part)] = part
                (arr / "c" / str(i // chunks[0])).write_bytes(block.tobytes())
    return root


@pytest.mark.parametrize("fields", [FIELDS_OBJECT, FIELDS_PAIRS], ids=["objects", "pairs"])
def test_hand_written_struct_reads(tmp_path, fields):
    store = _write_store(tmp_path / "s.zarr", fields=fields)
    a = zarr.open_array(store / "a", mode="r")
    assert a.dtype == DTYPE
    got = a[...]
    assert got.dtype == DTYPE
    assert got.tolist() == ROWS.tolist()


def test_missing_chunks_read_the_per_field_fill(tmp_path):
    store = _write_store(tmp_path / "s.zarr", fill={"x": 2.5, "y": -1, "name": "zz"},
                         write_chunks=False)
    got = zarr.open_array(store / "a", mode="r")[...]
    assert got.tolist() == [(2.5, -1, "zz")] * 3


def test_base64_fill_is_accepted(tmp_path):
    fill = np.array([(4.0, 9, "q")], dtype=DTYPE).tobytes()
    store = _write_store(tmp_path / "s.zarr", fill=base64.b64encode(fill).decode(),
                         write_chunks=False)
    assert zarr.open_array(store / "a", mode="r")[...].tolist() == [(4.0, 9, "q")] * 3


def test_scalar_struct(tmp_path):
    store = _write_store(tmp_path / "s.zarr", shape=(), chunks=(), rows=ROWS[1])
    got = zarr.open_array(store / "a", mode="r")[()]
    assert got.tolist() == ROWS[1].tolist()


@pytest.mark.skipif(STRUCT_TYPE is not Struct,
                    reason="Zarr >= 3.2 reads struct with its own type (FORMAT.md 3.4), which "
                           "fills unknown and missing fields; the refusal is our 3.1 alias's")
def test_bad_fill_field_is_refused(tmp_path):
    store = _write_store(tmp_path / "s.zarr", fill={"x": 0.0, "nope": 1})
    with pytest.raises(Exception, match="unknown fields"):
        zarr.open_array(store / "a", mode="r")


def test_numpy_structured_arrays_keep_zarrs_structured_type(tmp_path):
    """Creating from a numpy dtype never picks ``struct`` (Zarr 3.1 writes ``structured``)."""
    a = zarr.create_array(tmp_path / "n.zarr", shape=(2,), dtype=DTYPE, zarr_format=3)
    a[...] = ROWS[:2]
    doc = json.loads((tmp_path / "n.zarr" / "zarr.json").read_text())
    assert doc["data_type"]["name"] == zarr.open_array(tmp_path / "n.zarr").metadata.to_dict()[
        "data_type"]["name"]
    assert doc["data_type"]["name"] in ("structured", "struct")
    if zarr.__version__.startswith("3.1."):
        assert doc["data_type"]["name"] == "structured"


_SUBPROCESS = r"""
import json, sys
import zarr
assert "hdmf_zarr" not in sys.modules
out = {}
for name, (root, path) in json.loads(sys.argv[1]).items():
    a = zarr.open_group(root, mode="r")[path]
    out[name] = [list(r) for r in a[...].tolist()]
print(json.dumps(out))
"""


def test_entry_point_reads_struct_without_importing_hdmf_zarr(tmp_path):
    """Plain ``zarr.open_group`` in a process that never imports hdmf_zarr (the package's entry
    points register the type)."""
    store = _write_store(tmp_path / "s.zarr")
    root = (Path(__file__).resolve().parents[3] / "shared" / "data" / "upstream014" /
            "test_PlaneSegmentation.nwb.zarr")
    node = "processing/plane_seg_test_module/ImageSegmentation/test_plane_seg_name/pixel_mask"
    up = root / node
    assert (up / "zarr.json").is_file()
    paths = {"hand": [str(store), "a"], "upstream": [str(root), node]}
    run = subprocess.run([sys.executable, "-c", _SUBPROCESS, json.dumps(paths)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["hand"] == [list(r) for r in ROWS.tolist()]
    want = zarr.open_array(up, mode="r")[...]
    assert want.dtype.names == ("x", "y", "weight")
    assert got["upstream"] == [list(r) for r in want.tolist()]
