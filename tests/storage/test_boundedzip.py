"""``BoundedZipStore``: reads, listings and byte ranges as Zarr's ``ZipStore`` gives them on the
same file, plus the guarantees it adds (corrupt files and oversized members are FormatErrors)."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
import zarr
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.storage import ZipStore

from hdmf_zarr.errors import FormatError, StoreModeError
from hdmf_zarr.format import limits
from hdmf_zarr.storage import open_store
from hdmf_zarr.storage._boundedzip import BoundedZipStore
from hdmf_zarr.zarr_bridge.runtime import default_buffer_prototype, run, to_buffer


@pytest.fixture
def zip_path(tmp_path):
    """A zip written by Zarr's ZipStore: a group with an array of several chunks, a member
    under a deeper prefix, and a deflated member."""
    path = tmp_path / "s.zip"
    store = run(ZipStore.open(path, mode="w"))
    root = zarr.open_group(store, mode="w", zarr_format=3)
    arr = root.create_array("g/a", shape=(10, 4), chunks=(3, 4), dtype="int32")
    arr[:] = np.arange(40, dtype="int32").reshape(10, 4)
    root.create_group("g/h/i")
    store.close()
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("deflated/x", b"0123456789" * 100)
    return path


async def _observe(store, keys):
    proto = default_buffer_prototype()
    out = {}
    for key in keys:
        for request in (None, RangeByteRequest(2, 7), OffsetByteRequest(3),
                        SuffixByteRequest(4)):
            value = await store.get(key, proto, request)
            out[key, repr(request)] = None if value is None else value.to_bytes()
        out[key, "exists"] = await store.exists(key)
    out["list"] = sorted([k async for k in store.list()])
    for prefix in ("", "g", "g/", "g/a", "g/h", "deflated", "nothing"):
        out["list_dir", prefix] = sorted([k async for k in store.list_dir(prefix)])
        out["list_prefix", prefix] = sorted([k async for k in store.list_prefix(prefix)])
    return out


def test_same_answers_as_zarr_zipstore(zip_path):
    zarr_store = run(ZipStore.open(zip_path, mode="r"))
    with zipfile.ZipFile(zip_path) as zf:
        keys = sorted(zf.namelist()) + ["missing", "g/a/c/9/9"]
    expected = run(_observe(zarr_store, keys))
    zarr_store.close()
    ours = run(BoundedZipStore.open(zip_path))
    assert run(_observe(ours, keys)) == expected
    assert run(ours.getsize("deflated/x")) == 1000
    with pytest.raises(FileNotFoundError):
        run(ours.getsize("missing"))


def test_zarr_reads_the_array(zip_path):
    store, location = open_store(str(zip_path), "r")
    assert isinstance(store, BoundedZipStore) and location == str(zip_path)
    arr = zarr.open_array(store, path="g/a", mode="r")
    np.testing.assert_array_equal(arr[:], np.arange(40, dtype="int32").reshape(10, 4))


def test_read_only(zip_path):
    store = run(BoundedZipStore.open(zip_path))
    assert store.read_only and not store.supports_deletes
    with pytest.raises(StoreModeError):
        run(store.set("x", to_buffer(b"1")))
    with pytest.raises(StoreModeError):
        run(store.delete("g/a/zarr.json"))
    with pytest.raises(ValueError, match="read-only"):
        store.with_read_only(False)
    assert store.with_read_only(True) == store


def test_pickle_and_reopen_after_close(zip_path):
    store = run(BoundedZipStore.open(zip_path))
    copy = pickle.loads(pickle.dumps(store))
    assert copy == store and hash(copy) == hash(store)
    store.close()
    assert store.get_sync("deflated/x").to_bytes() == b"0123456789" * 100
    assert copy.get_sync("deflated/x").to_bytes() == b"0123456789" * 100


def test_garbage_file_is_a_format_error(tmp_path):
    path = tmp_path / "garbage.zip"
    path.write_bytes(b"this is not a zip archive" * 10)
    with pytest.raises(FormatError, match="not a readable zip file") as info:
        open_store(str(path), "r")
    assert "garbage.zip" in str(info.value)


def test_member_beyond_the_limit(zip_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_MEMBER_BYTES", 999)
    store = run(BoundedZipStore.open(zip_path))
    with pytest.raises(FormatError, match="'deflated/x' of 1000 bytes exceeds the limit"):
        store.get_sync("deflated/x")
    assert store.get_sync("deflated/x", byte_range=RangeByteRequest(0, 3)).to_bytes() == b"012"


def test_corrupt_member_is_a_format_error(zip_path):
    raw = bytearray(zip_path.read_bytes())
    offset = raw.index(b"deflated/x") + len(b"deflated/x")  # local header name, then data
    raw[offset:offset + 6] = b"\xff" * 6
    zip_path.write_bytes(bytes(raw))
    store = run(BoundedZipStore.open(zip_path))
    with pytest.raises(FormatError, match="cannot read zip member 'deflated/x'"):
        store.get_sync("deflated/x")
