"""``storage._files``: the local-file primitives the directory stores share."""

from __future__ import annotations

import io
import os

import pytest
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest

from hdmf_zarr.storage._files import (
    file_size,
    prune_empty_dirs,
    read_file,
    read_range,
    replace_file,
    write_replace,
    write_through_temporary,
)

DATA = bytes(range(100))


@pytest.mark.parametrize("request_, expected", [
    (None, DATA),
    (RangeByteRequest(10, 20), DATA[10:20]),
    (RangeByteRequest(90, 500), DATA[90:]),
    (RangeByteRequest(500, 600), b""),
    (OffsetByteRequest(95), DATA[95:]),
    (SuffixByteRequest(3), DATA[-3:]),
    (SuffixByteRequest(500), DATA),
])
def test_read_range_and_read_file(tmp_path, request_, expected):
    assert read_range(io.BytesIO(DATA), request_) == expected
    path = tmp_path / "f"
    path.write_bytes(DATA)
    assert read_file(str(path), request_) == expected


def test_read_file_and_size_of_what_is_not_a_file(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_bytes(b"abc")
    for missing in ("nothing", "d", "f/below"):
        assert read_file(str(tmp_path / missing), None) is None
        assert file_size(str(tmp_path / missing)) is None
    assert file_size(str(tmp_path / "f")) == 3
    with pytest.raises(TypeError, match="Unexpected byte_range"):
        read_file(str(tmp_path / "f"), (0, 1))


def test_write_replace_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "a" / "zarr.json"
    replace_file(path, b"old", durable=False)
    write_replace(str(path), memoryview(b"new"), durable=True)
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path / "a") == ["zarr.json"]


def test_write_replace_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "zarr.json"
    path.write_bytes(b"old")

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_replace(str(path), b"new", durable=False)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["zarr.json"]


def test_write_through_temporary(tmp_path):
    path, tmp = tmp_path / "x" / "y" / "k", tmp_path / "x" / "y" / "k.tmp"
    assert write_through_temporary(str(path), str(tmp), b"1")  # makes the directories
    assert not write_through_temporary(str(path), str(tmp), b"2", exclusive=True)
    assert path.read_bytes() == b"1"
    assert write_through_temporary(str(path), str(tmp), b"3")
    assert path.read_bytes() == b"3" and sorted(os.listdir(path.parent)) == ["k"]


def test_prune_empty_dirs_stops_at_the_root_and_at_content(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "a" / "keep").write_bytes(b"")
    prune_empty_dirs(str(root / "a" / "b" / "c"), str(root))
    assert sorted(os.listdir(root / "a")) == ["keep"]
    (root / "a" / "keep").unlink()
    prune_empty_dirs(str(root / "a"), str(root))
    assert root.is_dir() and os.listdir(root) == []
    prune_empty_dirs(str(root), str(root))
    assert root.is_dir()
