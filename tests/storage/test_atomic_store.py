"""``AtomicLocalStore``: Zarr's store tests, and metadata documents replaced atomically."""

from __future__ import annotations

import asyncio
import os
import pickle

import pytest
from _harness import run_coroutine_tests
from zarr.core.buffer import cpu
from zarr.testing.store import StoreTests

from hdmf_zarr.storage import AtomicLocalStore, open_store
from hdmf_zarr.storage._atomic import METADATA_DOCUMENTS


@run_coroutine_tests
class TestAtomicLocalStoreHarness(StoreTests[AtomicLocalStore, cpu.Buffer]):
    store_cls = AtomicLocalStore
    buffer_cls = cpu.Buffer

    @pytest.fixture
    def store_kwargs(self, tmp_path):
        root = tmp_path / "store"
        root.mkdir()  # read-only opens need the directory
        return {"root": str(root)}

    @pytest.fixture
    def store(self, open_kwargs):
        os.makedirs(open_kwargs["root"], exist_ok=True)
        store = self.store_cls(**open_kwargs)
        asyncio.run(store._open())
        return store

    @pytest.fixture
    def store_not_open(self, store_kwargs):
        os.makedirs(store_kwargs["root"], exist_ok=True)
        return self.store_cls(**store_kwargs)

    async def set(self, store, key, value):
        path = os.path.join(str(store.root), key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(value.to_bytes())

    async def get(self, store, key):
        with open(os.path.join(str(store.root), key), "rb") as fh:
            return self.buffer_cls.from_bytes(fh.read())

    def test_store_repr(self, store):
        assert repr(store) == f"AtomicLocalStore('{store.root}')"

    def test_store_supports_writes(self, store):
        assert store.supports_writes

    def test_store_supports_listing(self, store):
        assert store.supports_listing


def test_open_store_gives_atomic_store_for_directories(tmp_path):
    store, location = open_store(str(tmp_path / "d.zarr"), "w")
    assert isinstance(store, AtomicLocalStore) and location == str(tmp_path / "d.zarr")
    assert pickle.loads(pickle.dumps(store)) == store


@pytest.mark.parametrize("name", sorted(METADATA_DOCUMENTS))
def test_documents_are_replaced_through_a_temporary_name(tmp_path, monkeypatch, name):
    """A document is never opened for writing under its own name: it appears by os.replace."""
    store = AtomicLocalStore(str(tmp_path / "s"))
    opened, replaced = [], []
    real_open, real_replace = open, os.replace

    real_os_open = os.open

    def spy_open(path, mode="r", *args, **kwargs):
        if "w" in mode:
            opened.append(os.path.basename(str(path)))
        return real_open(path, mode, *args, **kwargs)

    def spy_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR):
            opened.append(os.path.basename(str(path)))
        return real_os_open(path, flags, *args, **kwargs)

    def spy_replace(src, dst, *args, **kwargs):
        replaced.append((os.path.basename(str(src)), os.path.basename(str(dst))))
        return real_replace(src, dst, *args, **kwargs)

    import hdmf_zarr.storage._atomic as atomic
    import hdmf_zarr.storage._files as files

    # the store's module and the file primitives it writes through
    monkeypatch.setattr(atomic, "open", spy_open, raising=False)
    monkeypatch.setattr(files, "open", spy_open, raising=False)
    monkeypatch.setattr(atomic.os, "replace", spy_replace)
    monkeypatch.setattr(atomic.os, "open", spy_os_open)
    for round_ in range(2):  # a new document, then one replacing it
        store.set_sync(f"g/{name}", cpu.Buffer.from_bytes(b'{"v": %d}' % round_))
        assert store.get_sync(f"g/{name}").to_bytes() == b'{"v": %d}' % round_
    assert name not in opened and len(opened) == 2  # the two temporary files
    assert [dst for _src, dst in replaced] == [name, name]
    assert all(src.startswith(f".{name}.") and src.endswith(".partial") for src, _ in replaced), \
        replaced
    # no temporary file is left behind
    assert sorted(os.listdir(tmp_path / "s" / "g")) == [name]


def test_failed_document_write_leaves_old_document(tmp_path, monkeypatch):
    store = AtomicLocalStore(str(tmp_path / "s"))
    store.set_sync("zarr.json", cpu.Buffer.from_bytes(b'{"old": true}'))
    import hdmf_zarr.storage._atomic as atomic

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.set_sync("zarr.json", cpu.Buffer.from_bytes(b'{"new": true}'))
    assert store.get_sync("zarr.json").to_bytes() == b'{"old": true}'
    assert os.listdir(tmp_path / "s") == ["zarr.json"]


def _buf(data: bytes):
    return cpu.Buffer.from_bytes(data)


def test_set_many_writes_every_key_through_a_temporary_name(tmp_path, monkeypatch):
    """The batch write (one thread for the whole batch) stores every key, makes the nested
    directories, replaces existing documents durably (fsync) and new keys without fsync, and
    leaves no temporary file."""
    import hdmf_zarr.storage._atomic as atomic

    store = AtomicLocalStore(str(tmp_path / "s"))
    store.set_sync("g0/zarr.json", _buf(b'{"old": 0}'))
    fsynced, real_fsync = [], os.fsync

    def spy_fsync(fd):
        fsynced.append(fd)
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", spy_fsync)
    items = {f"g{i % 7}/a{i}/zarr.json": b'{"i": %d}' % i for i in range(300)}
    items.update({f"g{i % 7}/a{i}/c/0/0": bytes([i % 256]) * (i + 1) for i in range(300)})
    items["g0/zarr.json"] = b'{"new": 0}'
    asyncio.run(store._set_many((k, _buf(v)) for k, v in items.items()))
    for key, value in items.items():
        assert store.get_sync(key).to_bytes() == value, key
    # the one replaced document: its temporary file and its directory
    assert len(fsynced) == 2
    left = [f for _r, _d, files in os.walk(tmp_path / "s") for f in files if ".partial" in f]
    assert left == []


def test_set_many_failure_keeps_what_was_stored(tmp_path, monkeypatch):
    """A failing key ends the batch with the error; keys stored before it read back, the
    document it was replacing is intact, and no temporary file is left."""
    import hdmf_zarr.storage._atomic as atomic

    store = AtomicLocalStore(str(tmp_path / "s"))
    store.set_sync("b/zarr.json", _buf(b'{"old": true}'))
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith(os.path.join("b", "zarr.json")):
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError, match="disk full"):
        asyncio.run(store._set_many([("a/zarr.json", _buf(b"{}")),
                                     ("b/zarr.json", _buf(b'{"new": true}')),
                                     ("c/zarr.json", _buf(b"{}"))]))
    assert store.get_sync("a/zarr.json").to_bytes() == b"{}"
    assert store.get_sync("b/zarr.json").to_bytes() == b'{"old": true}'
    assert sorted(os.listdir(tmp_path / "s" / "b")) == ["zarr.json"]
