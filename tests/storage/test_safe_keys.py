"""Nothing outside a store is read or written (issue 14 items 1, 5 and 15): keys that leave the
store (``../x``, ``/abs/x``, empty components) are refused wherever a key becomes a path
(``unpack``, ``pack``, ``copy_store``, the directory store); symbolic links leading out of a
directory store, FIFOs and devices are refused instead of read; pack and unpack never delete an
existing ``DST.partial``."""

import os
import signal
import sqlite3
import zipfile
from contextlib import contextmanager

import numpy as np
import pytest
from click.testing import CliRunner
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import MemoryStore

from _shared import snapshot_files
from hdmf_zarr import NWBZarrIO
from hdmf_zarr.cli import main
from hdmf_zarr.errors import FormatError, HdmfZarrError
from hdmf_zarr.storage import AtomicLocalStore, SQLiteStore, copy_store, pack, unpack
from hdmf_zarr.storage._keys import check_key, is_safe_key

BAD_KEYS = ["../x", "../../x", "a/../../x", "/abs/x", "a//b", "a/./b", ".", "..", "a/", "a\\..\\b",
            "a\x00b"]
GOOD_KEYS = ["", "zarr.json", "a/b/c/0", ".zattrs", "a/.zarray", "x..y/..z"]
PROTO = default_buffer_prototype()


def test_key_rule():
    for key in BAD_KEYS:
        assert not is_safe_key(key), key
        with pytest.raises(FormatError, match="not a relative key"):
            check_key(key, "somewhere")
    for key in GOOD_KEYS:
        assert is_safe_key(key), key


@contextmanager
def deadline(seconds=20):
    """Fail (instead of hanging) when the body takes longer than ``seconds``."""
    def expire(_sig, _frame):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --- item 1: keys that leave the store --------------------------------------------------------

def _hostile_zip(path, outside):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("zarr.json", b'{"zarr_format": 3, "node_type": "group", "attributes": {}}')
        zf.writestr("../escaped.txt", b"written outside")
        zf.writestr(str(outside), b"written at an absolute path")


def _hostile_sqlite(path, outside):
    store = SQLiteStore(str(path))
    sync(store.set("zarr.json", PROTO.buffer.from_bytes(b'{"zarr_format": 3, "node_type": '
                                                         b'"group", "attributes": {}}')))
    store.close()
    con = sqlite3.connect(path)  # keys our store would never write, put in by hand
    con.executemany("INSERT INTO zarr_kv VALUES (?, ?)",
                    [("../escaped.txt", b"written outside"), (str(outside), b"absolute")])
    con.commit()
    con.close()


@pytest.mark.parametrize("kind", ["zip", "sqlite"])
@pytest.mark.parametrize("how", ["api", "cli"])
def test_unpack_refuses_keys_leaving_dst(tmp_path, kind, how):
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "abs_target.txt"
    src = work / ("in.zip" if kind == "zip" else "in.sqlite")
    (_hostile_zip if kind == "zip" else _hostile_sqlite)(src, outside)
    dst = work / "out"
    if how == "api":
        with pytest.raises(FormatError, match="not a relative key"):
            unpack(str(src), str(dst))
    else:
        result = CliRunner().invoke(main, ["unpack", str(src), str(dst)])
        assert result.exit_code == 1 and "not a relative key" in result.stderr
    assert not (work / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert not outside.exists()
    assert sorted(p.name for p in work.iterdir()) == [src.name]  # no DST, no staging left


def test_copy_store_refuses_hostile_keys_before_copying(tmp_path):
    source = MemoryStore()
    sync(source.set("zarr.json", PROTO.buffer.from_bytes(b"{}")))
    sync(source.set("../x", PROTO.buffer.from_bytes(b"bad")))
    target = AtomicLocalStore(str(tmp_path / "t"))
    with pytest.raises(FormatError, match="'../x'"):
        copy_store(source, target)
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "t" / "zarr.json").exists()  # checked before anything is copied


@pytest.mark.parametrize("key", ["../x", "/abs/x", "a//b", "a/../../x"])
def test_directory_store_refuses_hostile_keys(tmp_path, key):
    root = tmp_path / "store"
    store = AtomicLocalStore(str(root))
    (tmp_path / "x").write_bytes(b"secret")
    with pytest.raises(FormatError, match="not a relative key"):
        sync(store.get(key, PROTO))
    with pytest.raises(FormatError):
        store.get_sync(key)
    with pytest.raises(FormatError):
        sync(store.exists(key))
    with pytest.raises(FormatError):
        sync(store.set(key, PROTO.buffer.from_bytes(b"overwritten")))
    with pytest.raises(FormatError):
        sync(store.delete(key))
    assert (tmp_path / "x").read_bytes() == b"secret"


# --- item 5: links leading out, FIFOs, devices ------------------------------------------------

def _store(tmp_path, fmt, name="f.nwb.zarr"):
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=np.arange(5.0), rate=1.0, unit="m"))
    path = tmp_path / name
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(nwb)
    return path


def _chunk_file(path, fmt):
    """The one chunk file of ``/acquisition/ts/data``."""
    base = path / "acquisition" / "ts" / "data"
    chunk = base / "c.0" if fmt == 3 else base / "0"  # L3 keys use the "." separator
    assert chunk.is_file(), chunk
    return chunk


def _read_data(path, mode):
    with NWBZarrIO(str(path), mode) as io:
        return io.read().acquisition["ts"].data[:]


@pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
@pytest.mark.parametrize("planted", ["link-outside", "dir-link-outside", "fifo", "dev-zero"])
def test_reader_refuses_what_leaves_the_store_or_is_not_a_file(tmp_path, fmt, planted):
    path = _store(tmp_path, fmt)
    chunk = _chunk_file(path, fmt)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(chunk.read_bytes())  # a valid chunk: read silently before the fix
    if planted == "link-outside":
        chunk.unlink()
        chunk.symlink_to(secret)
    elif planted == "dir-link-outside":
        outside_dir = tmp_path / "outside_dir"
        chunk.parent.rename(outside_dir)
        chunk.parent.symlink_to(outside_dir, target_is_directory=True)
    elif planted == "fifo":
        chunk.unlink()
        os.mkfifo(chunk)
    else:
        chunk.unlink()
        chunk.symlink_to("/dev/zero")
    for mode in ("r", "r-"):
        with deadline(), pytest.raises(HdmfZarrError, match="outside the store|not a regular"):
            _read_data(path, mode)


@pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
def test_links_inside_the_store_still_read(tmp_path, fmt):
    path = _store(tmp_path, fmt)
    chunk = _chunk_file(path, fmt)
    kept = path / "kept_chunk"
    chunk.rename(kept)
    chunk.symlink_to(kept)
    assert list(_read_data(path, "r")) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_pack_refuses_a_link_leading_out_of_the_source(tmp_path):
    path = _store(tmp_path, 3)
    chunk = _chunk_file(path, 3)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"private bytes")
    chunk.unlink()
    chunk.symlink_to(secret)
    with pytest.raises(FormatError, match="outside the store"):
        pack(str(path), "sqlite", str(tmp_path / "p.sqlite"))
    assert not (tmp_path / "p.sqlite").exists()


def test_writes_refuse_a_directory_link_leading_out(tmp_path):
    root = tmp_path / "store"
    (root / "a").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "a" / "b").symlink_to(outside, target_is_directory=True)
    store = AtomicLocalStore(str(root))
    for key in ("a/b/c/0", "a/b/zarr.json"):
        with pytest.raises(FormatError, match="outside the store"):
            sync(store.set(key, PROTO.buffer.from_bytes(b"x")))
    assert list(outside.iterdir()) == []


# --- item 15: an existing DST.partial is not ours to delete ---------------------------------

@pytest.mark.parametrize("partial", ["file", "dir"])
def test_pack_and_unpack_keep_an_unrelated_partial(tmp_path, partial):
    path = _store(tmp_path, 3)
    for op in ("pack", "unpack"):
        dst = tmp_path / (f"{op}.sqlite" if op == "pack" else f"{op}.zarr")
        bystander = tmp_path / (dst.name + ".partial")
        if partial == "file":
            bystander.write_bytes(b"user file")
        else:
            (bystander / "sub").mkdir(parents=True)
            (bystander / "sub" / "keep.txt").write_bytes(b"user dir")
        before = snapshot_files(bystander) if partial == "dir" else bystander.read_bytes()
        if op == "pack":
            pack(str(path), "sqlite", str(dst))
        else:
            unpack(str(tmp_path / "pack.sqlite"), str(dst))
        after = snapshot_files(bystander) if partial == "dir" else bystander.read_bytes()
        assert after == before
        assert list(_read_data(dst, "r")) == [0.0, 1.0, 2.0, 3.0, 4.0]
