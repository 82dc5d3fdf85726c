"""SQLiteStore: Zarr's store test harness, one-file layout with an NWB file, crash safety,
concurrent writers and bad input."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import zarr
from _harness import collect, run_coroutine_tests
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import cpu, default_buffer_prototype
from zarr.testing.store import StoreTests

from _shared import snapshot_files
from hdmf_zarr import NWBZarrIO, ZarrDataIO
from hdmf_zarr.errors import FormatError, NotHdmfStoreError, StoreModeError
from hdmf_zarr.storage import SQLiteStore, open_store, store_location


# ---------------------------------------------------------------------------------- harness
@run_coroutine_tests
class TestSQLiteStoreHarness(StoreTests[SQLiteStore, cpu.Buffer]):
    store_cls = SQLiteStore
    buffer_cls = cpu.Buffer

    @pytest.fixture
    def store_kwargs(self, tmp_path):
        path = str(tmp_path / "store.sqlite")
        created = SQLiteStore(path)
        asyncio.run(created._open())  # the database exists, so that read-only opens work
        created.close()
        return {"path": path}

    @pytest.fixture
    def store(self, open_kwargs):
        store = self.store_cls(**open_kwargs)
        asyncio.run(store._open())
        yield store
        store.close()

    @pytest.fixture
    def store_not_open(self, store_kwargs):
        store = self.store_cls(**store_kwargs)
        yield store
        store.close()

    async def set(self, store, key, value):
        con = sqlite3.connect(store.path, timeout=30)
        with con:
            con.execute("INSERT OR REPLACE INTO zarr_kv (key, value) VALUES (?, ?)",
                        (key, value.to_bytes()))
        con.close()

    async def get(self, store, key):
        con = sqlite3.connect(store.path, timeout=30)
        row = con.execute("SELECT value FROM zarr_kv WHERE key = ?", (key,)).fetchone()
        con.close()
        assert row is not None, key
        return self.buffer_cls.from_bytes(bytes(row[0]))

    def test_store_repr(self, store):
        assert repr(store) == f"SQLiteStore({store.path!r}, read_only=False)"

    def test_store_supports_writes(self, store):
        assert store.supports_writes

    def test_store_supports_listing(self, store):
        assert store.supports_listing


# ---------------------------------------------------------------------------------- basics
def test_location_pickle_and_read_only_copy(tmp_path):
    path = str(tmp_path / "a.sqlite")
    store = SQLiteStore(path)
    store.set_sync("k", cpu.Buffer.from_bytes(b"v"))
    assert store_location(store) == path
    clone = pickle.loads(pickle.dumps(store))
    assert clone == store and clone.get_sync("k").to_bytes() == b"v"
    reader = store.with_read_only(True)
    assert reader.read_only and reader == store
    with pytest.raises(StoreModeError, match="read-only") as info:
        reader.set_sync("k", cpu.Buffer.from_bytes(b"w"))
    assert path in str(info.value)
    ro, _loc = open_store(store, "r")
    assert ro.read_only and ro.get_sync("k").to_bytes() == b"v"
    for s in (store, clone, reader, ro):
        s.close()


def test_byte_ranges_use_blob_reads(tmp_path):
    store = SQLiteStore(tmp_path / "b.sqlite")
    data = bytes(range(256)) * 4
    store.set_sync("x/c/0", cpu.Buffer.from_bytes(data))

    async def ranges():
        proto = default_buffer_prototype()
        return [(await store.get("x/c/0", proto, r)).to_bytes() for r in
                (RangeByteRequest(10, 20), OffsetByteRequest(1000), SuffixByteRequest(5),
                 SuffixByteRequest(5000), RangeByteRequest(1020, 5000),
                 RangeByteRequest(3000, 3010))]

    assert asyncio.run(ranges()) == [data[10:20], data[1000:], data[-5:], data, data[1020:], b""]
    store.close()


def test_list_dir_skips_subtrees(tmp_path):
    store = SQLiteStore(tmp_path / "d.sqlite")
    keys = ["a/zarr.json", "a/c/0/0", "a/c/0/1", "a/c/1/0", "a-b/zarr.json", "a/b", "a0", "z"]
    for k in keys:
        store.set_sync(k, cpu.Buffer.from_bytes(k.encode()))

    async def listing(prefix):
        return [k async for k in store.list_dir(prefix)]

    assert sorted(asyncio.run(listing(""))) == ["a", "a-b", "a0", "z"]
    assert sorted(asyncio.run(listing("a"))) == ["b", "c", "zarr.json"]
    assert sorted(asyncio.run(listing("a/c/"))) == ["0", "1"]
    assert asyncio.run(listing("nothing")) == []
    store.close()


def test_one_transaction_per_batch(tmp_path):
    """``_set_many`` is one transaction; a gather of single sets is group-committed (every key
    lands, in no more transactions than sets)."""
    path = str(tmp_path / "g.sqlite")
    store = SQLiteStore(path)
    commits = []
    original = store._q_write

    def counting(conn, items):
        commits.append(len(items))
        return original(conn, items)

    store._q_write = counting
    asyncio.run(store._set_many([(f"m/{i}", cpu.Buffer.from_bytes(b"x")) for i in range(50)]))
    assert commits == [50]

    async def many():
        await asyncio.gather(*(store.set(f"k/{i}", cpu.Buffer.from_bytes(b"%d" % i))
                               for i in range(300)))

    asyncio.run(many())
    store.close()
    assert sum(commits) == 350 and len(commits) <= 301
    assert len(snapshot_files(path)) == 350


# ---------------------------------------------------------------------------------- NWB layout
def _es_data() -> np.ndarray:
    values = (np.arange(60000 * 32, dtype=np.int64) * 7919) % 65521 - 32760
    return values.astype(np.int16).reshape(60000, 32)


@pytest.mark.parametrize("layout", [2, 3], ids=["L2", "L3"])
def test_nwb_file_is_one_sqlite_file(tmp_path, layout):
    from pynwb.testing.mock.ecephys import mock_ElectricalSeries
    from pynwb.testing.mock.file import mock_NWBFile

    data = _es_data()
    nwbfile = mock_NWBFile()
    mock_ElectricalSeries(name="es", data=ZarrDataIO(data, chunks=(1000, 32)), nwbfile=nwbfile)
    path = tmp_path / "session.nwb.sqlite"
    store = SQLiteStore(path)
    with NWBZarrIO(store, mode="w", zarr_format=layout) as io:
        io.write(nwbfile)
    store.close()
    assert sorted(os.listdir(tmp_path)) == ["session.nwb.sqlite"]  # no -wal/-shm once closed
    stored = snapshot_files(path)
    prefix = "acquisition/es/data/"
    chunk_keys = [k for k in stored if k.startswith(prefix) and not k.endswith(
        ("zarr.json", ".zarray", ".zattrs"))]
    assert len(chunk_keys) == 60  # (60000, 32) in (1000, 32) chunks
    reopened = SQLiteStore(path, read_only=True)
    with NWBZarrIO(reopened, "r") as io:
        read = io.read()
        np.testing.assert_array_equal(read.acquisition["es"].data[:], data)
    reopened.close()
    assert sorted(os.listdir(tmp_path)) == ["session.nwb.sqlite"]


def test_update_in_place(tmp_path):
    """A store is updated in place: a second write session adds to the same single file."""
    path = tmp_path / "u.sqlite"
    store = SQLiteStore(path)
    arr = zarr.create_array(store, name="a", shape=(100,), chunks=(10,), dtype="i4")
    arr[:] = np.arange(100)
    store.close()
    inode = os.stat(path).st_ino
    store = SQLiteStore(path)
    arr = zarr.open_array(store, path="a", mode="r+")
    arr[5:15] = -1
    store.close()
    assert os.stat(path).st_ino == inode and os.listdir(tmp_path) == ["u.sqlite"]
    expected = np.arange(100)
    expected[5:15] = -1
    np.testing.assert_array_equal(zarr.open_array(SQLiteStore(path, read_only=True), path="a")[:],
                                  expected)


# ---------------------------------------------------------------------------------- crash safety
_CRASH_WRITER = textwrap.dedent("""
    import sys
    from zarr.core.buffer import cpu
    from zarr.core.sync import sync
    from hdmf_zarr.storage import SQLiteStore

    store = SQLiteStore(sys.argv[1])
    blob = bytes(range(256)) * 1024  # 256 KiB
    batch = 0
    while True:
        print("begin", batch, flush=True)
        items = [(f"b{batch}/k{j}", cpu.Buffer.from_bytes(blob[j:] + blob[:j])) for j in range(32)]
        items.append(("last", cpu.Buffer.from_bytes(str(batch).encode())))
        sync(store._set_many(items))
        print("commit", batch, flush=True)
        batch += 1
""")


def test_killed_writer_leaves_last_committed_state(tmp_path):
    path = str(tmp_path / "crash.sqlite")
    proc = subprocess.Popen([sys.executable, "-c", _CRASH_WRITER, path], stdout=subprocess.PIPE,
                            text=True)
    committed = -1
    try:
        for line in proc.stdout:
            word, number = line.split()
            if word == "commit":
                committed = int(number)
            elif word == "begin" and committed >= 2:
                time.sleep(0.01)  # inside the transaction of this batch
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert committed >= 2
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    store = SQLiteStore(path, read_only=True)
    last = int(store.get_sync("last").to_bytes())
    assert last >= committed
    blob = bytes(range(256)) * 1024
    keys = set(asyncio.run(collect(store.list())))
    for batch in range(last + 2):
        present = {k for k in keys if k.startswith(f"b{batch}/")}
        if batch <= last:  # every committed batch whole, values intact
            assert len(present) == 32
            value = store.get_sync(f"b{batch}/k7").to_bytes()
            assert value == blob[7:] + blob[:7]
        else:  # the batch killed mid-way left nothing behind
            assert not present
    store.close()


# ---------------------------------------------------------------------------------- concurrency
_PROCESS_WRITER = """
import zarr, numpy as np
from hdmf_zarr.storage import SQLiteStore
barrier.wait()
arr = zarr.open_array(SQLiteStore(path), path="a", mode="r+")
for i in rows:
    arr[i] = np.full(arr.shape[1:], i * 10 + 1, dtype=arr.dtype)
    arr[0] = np.full(arr.shape[1:], shared, dtype=arr.dtype)  # both processes write this chunk
"""


def test_two_processes_write_concurrently(tmp_path):
    """Two processes write disjoint chunks, and both keep rewriting one same chunk: every
    disjoint element lands; the shared chunk holds one writer's whole value (writes serialise,
    the last one wins) and nothing is corrupt."""
    path = str(tmp_path / "p.sqlite")
    store = SQLiteStore(path)
    zarr.create_array(store, name="a", shape=(121, 300), chunks=(1, 300), dtype="i4")
    store.close()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=exec, args=(_PROCESS_WRITER, {
        "path": path, "rows": list(range(1 + k, 121, 2)), "shared": -1 - k, "barrier": barrier}))
        for k in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    arr = zarr.open_array(SQLiteStore(path, read_only=True), path="a")
    expected = np.repeat(np.arange(121)[:, None] * 10 + 1, 300, axis=1)
    np.testing.assert_array_equal(arr[1:], expected[1:])
    assert arr[0, 0] in (-1, -2) and (arr[0] == arr[0, 0]).all()


def test_threads_write_disjoint_chunks(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    store = SQLiteStore(tmp_path / "t.sqlite")
    arr = zarr.create_array(store, name="a", shape=(64, 8), chunks=(1, 8), dtype="f8")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: arr.__setitem__(i, np.full(8, i + 0.5)), range(64)))
    np.testing.assert_array_equal(arr[:], np.repeat(np.arange(64)[:, None] + 0.5, 8, axis=1))
    store.close()


# ---------------------------------------------------------------------------------- bad input
def test_not_a_database(tmp_path):
    path = tmp_path / "text.sqlite"
    path.write_text("this is not a database, just some text that is long enough\n")
    with pytest.raises(NotHdmfStoreError, match="not an SQLite database") as info:
        SQLiteStore(path).get_sync("zarr.json")
    assert str(path) in str(info.value)
    assert path.read_text().startswith("this is not")  # untouched


def test_other_sqlite_database(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE people (name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(NotHdmfStoreError, match="another application") as info:
        SQLiteStore(path).get_sync("zarr.json")
    assert str(path) in str(info.value)


def test_directory_and_missing_path(tmp_path):
    with pytest.raises(NotHdmfStoreError, match="directory") as info:
        SQLiteStore(tmp_path).get_sync("zarr.json")
    assert str(tmp_path) in str(info.value)
    missing = tmp_path / "missing.sqlite"
    with pytest.raises(NotHdmfStoreError, match="no such"):
        SQLiteStore(missing, read_only=True).get_sync("zarr.json")
    assert not missing.exists()


def test_read_only_media(tmp_path, monkeypatch):
    """Where nothing may be written beside the database (read-only media), a read-only store
    opens it without -wal/-shm files."""
    path = tmp_path / "ro #1%.sqlite"
    store = SQLiteStore(path)
    zarr.create_array(store, name="a", shape=(10,), chunks=(5,), dtype="i4")[:] = 3
    store.close()
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    reader = SQLiteStore(path, read_only=True)
    np.testing.assert_array_equal(zarr.open_array(reader, path="a")[:], 3)
    assert sorted(os.listdir(tmp_path)) == ["ro #1%.sqlite"]
    reader.close()


def test_truncated_database(tmp_path):
    path = tmp_path / "t.sqlite"
    store = SQLiteStore(path)
    for i in range(40):
        store.set_sync(f"k{i}", cpu.Buffer.from_bytes(os.urandom(8000)))
    store.close()
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 2)
    with pytest.raises(FormatError, match="malformed") as info:
        SQLiteStore(path).get_sync("k0")
    assert str(path) in str(info.value)
