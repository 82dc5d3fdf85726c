"""Memory and time stay bounded on hostile input (issue 14 items 7-11): crafted stores read in
a child process with a capped address space (``_bounded.bounded_read``), so that a regression
fails here instead of swapping."""

from __future__ import annotations

import gzip
import json
import os
import zipfile

import numcodecs.zstd
import pytest
from _bounded import bounded_read
from _reliability_common import edit_array_meta, read_all, touch_everything

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.errors import FormatError
from hdmf_zarr.format import limits

GIB = 2**30




def _zstd_frames_without_size(total: int, frame: int = 2**24) -> bytes:
    """Concatenated zstd frames that state no content size, ``total`` bytes of zeros in all
    (what a streaming compressor writes; a few hundred bytes per 16 MiB)."""
    c = numcodecs.zstd.compress(b"\0" * frame, 3)
    fhd = c[4]
    fcs = (1 if (fhd >> 5) & 1 else 0, 2, 4, 8)[fhd >> 6]
    assert not fhd & 3 and fcs  # no dictionary, a content size
    if (fhd >> 5) & 1:  # single segment: the window is the content size
        wlog = frame.bit_length() - 1
        window, body = bytes([(wlog - 10) << 3]), c[5 + fcs:]
    else:
        window, body = c[5:6], c[6 + fcs:]
    header = c[:4] + bytes([fhd & 0b100]) + window
    return (header + body) * (total // frame)


def _gzip_members(total: int, member: int = 2**24) -> bytes:
    """A multi-member gzip stream of ``total`` bytes of zeros (about 16 kB per member)."""
    return gzip.compress(b"\0" * member, 9) * (total // member)


def _assert_bounded(result: dict, path_part: str):
    assert result["outcome"] == "documented", result
    assert result["cls"] == "FormatError" and path_part in result["msg"], result
    assert "limit" in result["msg"] and "not enough memory" not in result["msg"], result


# ------------------------------------------------------------------------------------------
# item 7: decompression bombs
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,kind", [(2, "gzip"), (3, "zstd"), (2, "zstd")])
def test_numeric_chunk_bomb_is_refused_within_the_chunk_size(store_copy, fmt, kind):
    store = store_copy(fmt)
    node = "acquisition/ts/data"
    if fmt == 2:
        codec = {"id": "gzip", "level": 1} if kind == "gzip" else {"id": "zstd", "level": 3}
        edit_array_meta(store, 2, node, lambda m: m.update(compressor=codec))
        chunk = os.path.join(store, node, "0.0")
    else:
        chunk = os.path.join(store, node, "c.0.0")  # L3 keys use the "." separator
    bomb = _gzip_members(4 * GIB) if kind == "gzip" else _zstd_frames_without_size(4 * GIB)
    assert len(bomb) < 5 * 2**20
    with open(chunk, "wb") as fh:
        fh.write(bomb)
    for mode in ("r", "r-"):
        _assert_bounded(bounded_read(store, mode), "/acquisition/ts/data")


def test_object_array_chunk_bomb_is_refused(store_copy):
    store = store_copy(2)
    node = "general/extracellular_ephys/electrodes/location"
    edit_array_meta(store, 2, node, lambda m: m.update(compressor={"id": "zstd", "level": 1}))
    with open(os.path.join(store, node, "0"), "wb") as fh:
        fh.write(_zstd_frames_without_size(4 * GIB))
    _assert_bounded(bounded_read(store, "r"), "/" + node)


def test_deflated_zip_member_beyond_the_member_limit(store_copy, tmp_path, monkeypatch):
    src = store_copy(2)
    out = tmp_path / "bomb.nwb.zarr.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for root, _dirs, files in os.walk(src):
            for name in files:
                full = os.path.join(root, name)
                rel = os.path.relpath(full, src)
                if rel == os.path.join("acquisition", "ts", "data", "0.0"):
                    zf.writestr(rel, b"\0" * (4 * 2**20))  # deflates to 4 kB
                else:
                    zf.write(full, rel)
    out = out.rename(tmp_path / "bomb.zip")
    monkeypatch.setattr(limits, "MAX_MEMBER_BYTES", 2**20)
    with pytest.raises(FormatError, match="exceeds the limit") as info:
        with NWBZarrIO(str(out), "r") as io:
            touch_everything(io.read())
    assert "data/0.0" in str(info.value) and "bomb.zip" in str(info.value)


# ------------------------------------------------------------------------------------------
# item 9: document limits
# ------------------------------------------------------------------------------------------

def test_node_document_named_zarr_json_has_the_node_limit(store_copy):
    store = store_copy(3)
    doc = os.path.join(store, "acquisition", "ts", "zarr.json")
    with open(doc, "rb") as fh:
        raw = fh.read()
    with open(doc, "wb") as fh:  # valid JSON of 17 MiB (the node limit is 16 MiB)
        fh.write(raw + b" " * (17 * 2**20))
    # mode r- walks the node documents (mode r reads the consolidated copy)
    with pytest.raises(FormatError, match="exceeds the limit of 16777216") as info:
        read_all(store, "r-")
    assert "acquisition/ts/zarr.json" in str(info.value)


@pytest.mark.parametrize("fmt", [2, 3])
def test_consolidated_document_limit_is_enforced(store_copy, fmt, monkeypatch):
    store = store_copy(fmt)
    name = "zarr.json" if fmt == 3 else ".zmetadata"
    size = os.path.getsize(os.path.join(store, name))
    monkeypatch.setattr(limits, "MAX_CONSOLIDATED_BYTES", size - 1)
    with pytest.raises(FormatError, match="exceeds the limit") as info:
        read_all(store, "r")
    assert name in str(info.value)
    monkeypatch.setattr(limits, "MAX_CONSOLIDATED_BYTES", size)
    read_all(store, "r")


# ------------------------------------------------------------------------------------------
# item 10: object arrays
# ------------------------------------------------------------------------------------------

LEGACY_JSON = os.path.join(os.path.dirname(__file__), *[os.pardir] * 3, "shared", "data",
                           "legacy", "ecephys_json_refs.nwb.zarr")
if not os.path.isdir(LEGACY_JSON):
    LEGACY_JSON = "/work/shared/data/legacy/ecephys_json_refs.nwb.zarr"


def test_object_array_shape_edit_is_refused_by_the_read_limit(store_copy):
    # 2**29 elements: 4 GiB of pointers passed the old 8-bytes-per-element check, then indexing
    # and the result took several times that (a raw MemoryError)
    store = store_copy(2)
    node = "intervals/epochs/tags"  # vlen-utf8
    edit_array_meta(store, 2, node, lambda m: m.update(shape=[2**29]))
    result = bounded_read(store, "r")
    assert result["outcome"] == "documented" and "/" + node in result["msg"], result
    assert "read limit" in result["msg"], result


def test_json2_chunk_that_expands_twentyfold_is_refused(tmp_path):
    import shutil

    import numcodecs

    store = tmp_path / "json.nwb.zarr"
    shutil.copytree(LEGACY_JSON, store)
    node = "units/electrode_group"
    meta = json.loads((store / node / ".zarray").read_text())
    payload = b"[" + b"[]," * (70 * 2**20) + b'[],"|O",[5]]'  # 210 MiB of JSON
    chunk = numcodecs.get_codec(meta["compressor"]).encode(payload)
    assert len(chunk) < 3 * 2**20
    (store / node / "0").write_bytes(bytes(chunk))
    del payload
    result = bounded_read(store, "r")
    assert result["outcome"] == "documented" and "/" + node in result["msg"], result
    assert "JSON values" in result["msg"], result


# ------------------------------------------------------------------------------------------
# item 11: nesting and empty path components
# ------------------------------------------------------------------------------------------

_GROUP = {"zarr_format": 3, "node_type": "group", "attributes": {}}


@pytest.mark.parametrize("mode", ["r", "r-"])
def test_thousand_nested_groups_are_a_format_error(store_copy, tmp_path, mode):
    # in a zip (flat member names): 1,000 nested directories would make os.walk and
    # shutil.rmtree of Python 3.11 (pytest's temporary directory cleanup) recurse themselves
    src = store_copy(3)
    out = tmp_path / "deep.zip"
    path, consolidated = "deep", {}
    for _ in range(1000):
        consolidated[path] = _GROUP
        path += "/g"
    with zipfile.ZipFile(out, "w") as zf:
        for root, _dirs, files in os.walk(src):
            for name in files:
                full = os.path.join(root, name)
                rel = os.path.relpath(full, src)
                if rel == "zarr.json":
                    with open(full) as fh:
                        doc = json.load(fh)
                    doc["consolidated_metadata"]["metadata"].update(consolidated)
                    zf.writestr(rel, json.dumps(doc))
                else:
                    zf.write(full, rel)
        for node in consolidated:
            zf.writestr(f"{node}/zarr.json", json.dumps(_GROUP))
    with pytest.raises(FormatError, match="levels deep") as info:
        with NWBZarrIO(str(out), mode) as io:
            touch_everything(io.read())
    assert "/deep/g/g" in str(info.value)


def test_empty_path_components_do_not_make_the_walk_recurse(store_copy, tmp_path):
    src = store_copy(3)
    out = tmp_path / "odd.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for root, _dirs, files in os.walk(src):
            for name in files:
                full = os.path.join(root, name)
                zf.write(full, os.path.relpath(full, src))
        zf.writestr("acquisition//x/zarr.json", json.dumps(_GROUP))
        zf.writestr("/zarr.json", json.dumps(_GROUP))
    with NWBZarrIO(str(out), "r-") as io:
        nwbfile = io.read()
        touch_everything(nwbfile)
        assert sorted(nwbfile.acquisition) == ["es", "ts"]


def test_hdf5_container_member_of_5_gb_is_refused_before_reading(tmp_path):
    # a container member (a 1-D uint8 dataset) declared 5 GiB long: chunked and never written,
    # the file stays small, and h5py would allocate all of it on read
    import subprocess
    import sys

    import h5py
    import numpy as np
    import zarr

    from hdmf_zarr.storage import H5NestedStore

    root = tmp_path / "s"
    store = H5NestedStore(root, consolidate_depth=1)
    arr = zarr.create_array(store, name="g/a", shape=(2, 10), chunks=(1, 5), dtype="i2")
    arr[:] = np.arange(20).reshape(2, 10)
    container = next((root / "g" / "a" / "c").glob("0*.h5shard"))
    with h5py.File(container, "r+") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        member = names[0]
        del f[member]
        f.create_dataset(member, shape=(5 * GIB,), dtype="u1", chunks=(2**20,))
    assert container.stat().st_size < 2**20
    code = (f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({3 * GIB}, {3 * GIB}))\n"
            "import zarr\nfrom hdmf_zarr.storage import H5NestedStore\n"
            "from hdmf_zarr.errors import FormatError\n"
            f"arr = zarr.open_array(H5NestedStore({str(root)!r}, read_only=True), path='g/a')\n"
            "try:\n    arr[...]\nexcept FormatError as exc:\n    print('DOCUMENTED', exc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=240)
    assert "DOCUMENTED" in proc.stdout and "exceeds the limit" in proc.stdout, \
        proc.stdout + proc.stderr[-2000:]
    assert container.name in proc.stdout
