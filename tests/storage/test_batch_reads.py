"""Batch reads (``Store._get_many`` and ``store_io.get_many``) give what ``get`` gives, on
every store: present, absent and directory-like keys, and byte ranges."""

from __future__ import annotations

import asyncio

import pytest
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import cpu
from zarr.storage import MemoryStore

from hdmf_zarr.storage import AtomicLocalStore, H5NestedStore, SQLiteStore
from hdmf_zarr.zarr_bridge.store_io import _batch_reads, get_many

STORES = {
    "atomic-local": lambda tmp: AtomicLocalStore(str(tmp / "d")),
    "sqlite": lambda tmp: SQLiteStore(str(tmp / "s.sqlite")),
    "memory": lambda tmp: MemoryStore(),
    "h5nested": lambda tmp: H5NestedStore(str(tmp / "h"), consolidate_depth=0),
}


@pytest.mark.parametrize("kind", STORES)
def test_get_many_matches_get(tmp_path, kind):
    store = STORES[kind](tmp_path)
    # array-like keys (the nested stores pack chunks) and documents
    for i in range(40):
        store.set_sync(f"d{i % 3}/a{i}/zarr.json", cpu.Buffer.from_bytes(b'{"i": %d}' % i))
        store.set_sync(f"d{i % 3}/a{i}/c/0", cpu.Buffer.from_bytes(bytes(range(i, i + 40))))
    proto = cpu.buffer_prototype
    keys = [f"d{i % 3}/a{i}/{name}" for i in range(40) for name in ("zarr.json", "c/0")]
    requests = [(k, proto, None) for k in keys]
    requests += [("missing", proto, None), ("d0", proto, None), ("d0/a0/c/0/deeper", proto, None),
                 ("d0/a0/c/0", proto, RangeByteRequest(3, 9)),
                 ("d1/a1/c/0", proto, OffsetByteRequest(30)),
                 ("d2/a2/c/0", proto, SuffixByteRequest(4)),
                 ("nope", proto, RangeByteRequest(0, 1)),
                 (keys[0], proto, None)]  # asked twice

    async def collect():
        return [item async for item in store._get_many(requests)]

    got = asyncio.run(collect())
    assert len(got) == len(requests)
    assert sorted(k for k, _v in got) == sorted(k for k, _p, _r in requests)
    by_key: dict = {}
    for key, buf in got:
        by_key.setdefault(key, []).append(None if buf is None else buf.to_bytes())
    for key, _p, byte_range in requests:
        expected = store.get_sync(key, byte_range=byte_range) if hasattr(store, "get_sync") \
            else None
        expected = None if expected is None else expected.to_bytes()
        assert expected in by_key[key], key
    assert by_key["missing"] == [None] and by_key["d0"] == [None]
    assert by_key["d0/a0/c/0"].count(bytes(range(3, 9))) == 1

    # store_io.get_many: every key asked, in order, absent ones None
    wanted = keys + ["missing"]
    assert list(get_many(store, wanted)) == wanted
    assert get_many(store, wanted) == {
        k: None if k == "missing" else store.get_sync(k).to_bytes() for k in wanted}


def test_batch_reads_only_where_the_store_has_its_own():
    """zarr's default ``_get_many`` awaits the keys one after another: get_many uses it only
    for stores that override it, looking through zarr's wrapper stores."""
    from zarr.storage import LoggingStore

    assert _batch_reads(AtomicLocalStore("/nonexistent-root"))
    assert _batch_reads(SQLiteStore("/nonexistent-dir/x.sqlite", read_only=False))
    assert not _batch_reads(MemoryStore())
    assert not _batch_reads(LoggingStore(MemoryStore()))
    assert _batch_reads(LoggingStore(AtomicLocalStore("/nonexistent-root")))
