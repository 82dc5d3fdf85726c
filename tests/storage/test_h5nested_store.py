"""H5NestedStore, and the behaviour both nested stores share (run here over both classes).

* Zarr's store test harness in several configurations (the zip store's is in
  test_zipnested_store.py);
* logical equivalence with a MemoryStore for arrays of every chunk key encoding, and the
  container layout that results;
* an NWB file's layout with real numbers; ``consolidate()`` against write-direct, with the disk
  space it needs;
* concurrent writers (processes and threads), bad input.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import zipfile
from typing import ClassVar

import h5py
import numpy as np
import pytest
import zarr
from _harness import NestedStoreHarness, listing, run_coroutine_tests
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import cpu, default_buffer_prototype
from zarr.storage import LocalStore, MemoryStore

from hdmf_zarr import NWBZarrIO, ZarrDataIO
from hdmf_zarr.errors import FormatError, NotHdmfStoreError, StoreModeError
from hdmf_zarr.storage import H5NestedStore, ZipNestedStore, open_store, store_location

NESTED = [pytest.param(H5NestedStore, id="h5"), pytest.param(ZipNestedStore, id="zip")]
METADATA = ("zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata")


# ---------------------------------------------------------------------------------- harness
@run_coroutine_tests
class _H5Harness(NestedStoreHarness):
    store_cls = H5NestedStore


class TestH5HarnessDirectDepth0(_H5Harness):
    config: ClassVar[dict] = {"consolidate_depth": 0, "write_direct": True}


class TestH5HarnessDirectDepth2(_H5Harness):
    config: ClassVar[dict] = {"consolidate_depth": 2, "write_direct": True}


class TestH5HarnessLoose(_H5Harness):
    config: ClassVar[dict] = {"consolidate_depth": 1, "write_direct": False}


# ---------------------------------------------------------------------------------- layout helpers
def disk_layout(root: str, suffix: str) -> tuple[dict[str, list[str]], list[str]]:
    """``({container path: sorted member names}, sorted other files)``, read with h5py/zipfile."""
    containers, others = {}, []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if name.endswith(suffix):
                if suffix == ".h5shard":
                    with h5py.File(full, "r") as f:
                        names = _datasets(f)
                else:
                    with zipfile.ZipFile(full) as zf:
                        names = zf.namelist()
                containers[rel] = sorted(names)
            else:
                others.append(rel)
    return containers, sorted(others)


def _datasets(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    return names


def expected_containers(keys, arrays: dict[str, tuple[int, bool, str]], depth: int, suffix: str):
    """Containers (path -> member names) that grouping ``keys`` by ``depth`` must give; computed
    here independently of the store. ``arrays``: prefix -> (ndim, default encoding, separator)."""
    out: dict[str, list[str]] = {}
    for key in keys:
        for prefix, (ndim, default, sep) in arrays.items():
            if ndim == 0 or not key.startswith(prefix + "/"):
                continue
            rel = key[len(prefix) + 1:]
            if default:
                rel = rel[2:]
            idx = rel.split(sep)
            d = min(depth, ndim - 1)
            name = prefix + "/c" + "".join("/" + i for i in idx[:d]) + suffix
            out.setdefault(name, []).append(sep.join(idx[d:]))
    return {k: sorted(v) for k, v in out.items()}


# ---------------------------------------------------------------------------------- equivalence
ENCODINGS = {
    "v3-default-slash": (3, {"name": "default", "separator": "/"}),
    "v3-default-dot": (3, {"name": "default", "separator": "."}),
    "v3-v2-dot": (3, {"name": "v2", "separator": "."}),
    "v2-dot": (2, {"name": "v2", "separator": "."}),
    "v2-slash": (2, {"name": "v2", "separator": "/"}),
}
CONFIGS = {
    "direct-d0": {"consolidate_depth": 0, "write_direct": True},
    "direct-d1": {"consolidate_depth": 1, "write_direct": True},
    "direct-d2": {"consolidate_depth": 2, "write_direct": True},
    "loose": {"consolidate_depth": 1, "write_direct": False},
}
SHAPES = {"g/a1": ((10,), (3,)), "g/sub/a2": ((7, 5), (2, 2)), "g/a3": ((5, 4, 6), (2, 3, 2)),
          "g/s": ((), ())}


def _populate(store, fmt, encoding, rng):
    zarr.open_group(store, path="g", mode="w", zarr_format=fmt)
    data = {}
    for name, (shape, chunks) in SHAPES.items():
        arr = zarr.create_array(store, name=name, shape=shape, chunks=chunks, dtype="i4",
                                zarr_format=fmt, chunk_key_encoding=encoding, fill_value=0)
        values = rng.integers(1, 1000, size=shape, dtype="i4")
        if len(shape) == 3:
            values[:2, :3, :2] = 0  # one chunk equal to the fill value: not stored
        arr[...] = values
        data[name] = values
    return data


def _assert_same_keys(ours, reference):
    asyncio.run(_compare_stores(ours, reference))


async def _compare_stores(ours, reference):
    async def keys_of(aiter):
        return sorted([k async for k in aiter])

    keys = await keys_of(reference.list())
    assert await keys_of(ours.list()) == keys
    prefixes = {""} | {k[: i + 1] for k in keys for i, ch in enumerate(k) if ch == "/"}
    for prefix in sorted(prefixes) + ["g/a", "g/a3/c", "nothing/"]:
        for method in ("list_prefix", "list_dir"):
            assert (await keys_of(getattr(ours, method)(prefix))
                    == await keys_of(getattr(reference, method)(prefix))), (method, prefix)
    proto = default_buffer_prototype()

    async def values(store):
        out = {}
        for k in keys:
            out[k] = (await store.get(k, proto)).to_bytes()
            for r in (RangeByteRequest(1, 3), SuffixByteRequest(2), OffsetByteRequest(2)):
                out[k, r] = (await store.get(k, proto, r)).to_bytes()
            out[k, "size"] = await store.getsize(k)
            out[k, "exists"] = await store.exists(k)
        out["missing"] = await store.get("g/a3/c/9/9/9", proto), await store.exists("g/a1/c/99")
        return out

    assert await values(ours) == await values(reference)


EQUIVALENCE_CASES = (
    [(H5NestedStore, "direct-d1", e) for e in ENCODINGS]
    + [(H5NestedStore, "direct-d0", e) for e in ("v3-default-slash", "v2-dot", "v2-slash")]
    + [(H5NestedStore, "direct-d2", e) for e in ("v3-default-slash", "v3-v2-dot")]
    + [(H5NestedStore, "loose", e) for e in ("v3-default-slash", "v2-dot")]
    + [(ZipNestedStore, "direct-d1", e) for e in ("v3-default-slash", "v3-default-dot", "v2-dot")]
    + [(ZipNestedStore, "direct-d0", e) for e in ("v2-slash", "v3-v2-dot")]
    + [(ZipNestedStore, "loose", "v3-default-slash")]
)


@pytest.mark.parametrize(("cls", "config", "encoding"), [
    pytest.param(*case, id=f"{'h5' if case[0] is H5NestedStore else 'zip'}-{case[1]}-{case[2]}")
    for case in EQUIVALENCE_CASES])
def test_logical_keys_match_memory_store(tmp_path, cls, config, encoding):
    """Whatever the containers, the store lists and returns exactly what a MemoryStore does,
    through writes, rewrites, chunk deletions and directory deletions."""
    fmt, enc = ENCODINGS[encoding]
    ours, mem = cls(tmp_path / "s", **CONFIGS[config]), MemoryStore()
    data = _populate(ours, fmt, enc, np.random.default_rng(1))
    _populate(mem, fmt, enc, np.random.default_rng(1))
    _assert_same_keys(ours, mem)
    for name, values in data.items():
        np.testing.assert_array_equal(zarr.open_array(ours, path=name, mode="r")[...], values)

    # the files on disk: containers as computed from the depth, or a plain directory store
    suffix = cls.suffix
    containers, others = disk_layout(str(tmp_path / "s"), suffix)
    chunk_keys = [k for k in listing(mem.list()) if k.rsplit("/", 1)[-1] not in METADATA]
    arrays = {n: (len(shape), fmt == 3 and enc["name"] == "default", enc["separator"])
              for n, (shape, _c) in SHAPES.items()}
    scalar_chunks = [k for k in chunk_keys if k.startswith("g/s/")]
    if CONFIGS[config]["write_direct"]:
        assert containers == expected_containers(chunk_keys, arrays,
                                                 CONFIGS[config]["consolidate_depth"], suffix)
        assert others == sorted(k for k in listing(mem.list())
                                if k.rsplit("/", 1)[-1] in METADATA or k in scalar_chunks)
    else:
        assert containers == {} and others == listing(mem.list())

    # rewrite chunks (some to the fill value: zarr deletes those keys), then delete directories
    for s in (ours, mem):
        arr = zarr.open_array(s, path="g/a3", mode="r+")
        arr[1:4, :, 3:] = 5
        arr[4:, :, :] = 0
        zarr.open_array(s, path="g/a1", mode="r+")[:6] = 0
    _assert_same_keys(ours, mem)
    nested_default = fmt == 3 and enc["name"] == "default" and enc["separator"] == "/"
    inner = "g/a3/c/1" if nested_default else None
    for s in (ours, mem):
        if inner:
            asyncio.run(s.delete_dir(inner))
        asyncio.run(s.delete_dir("g/sub"))
        asyncio.run(s.delete_dir("g/a1"))
    _assert_same_keys(ours, mem)
    asyncio.run(ours.clear())
    assert listing(ours.list()) == [] and os.listdir(tmp_path / "s") == []


@pytest.mark.parametrize("cls", NESTED)
def test_containers_belong_to_their_array(tmp_path, cls):
    """Without its array's metadata document a container is an orphan: its chunks are neither
    listed nor read (zarr never deletes the document alone: it deletes the whole node); they
    come back with the document."""
    store = cls(tmp_path / "s", consolidate_depth=0)
    arr = zarr.create_array(store, name="a", shape=(4,), chunks=(2,), dtype="i1")
    arr[:] = 7
    doc = store.get_sync("a/zarr.json")
    store.delete_sync("a/zarr.json")
    assert listing(store.list()) == ["zarr.json"] and store.get_sync("a/c/0") is None
    assert os.path.exists(tmp_path / "s" / "a" / f"c{cls.suffix}")
    store.set_sync("a/zarr.json", doc)
    assert listing(store.list()) == ["a/c/0", "a/c/1", "a/zarr.json", "zarr.json"]
    np.testing.assert_array_equal(zarr.open_array(store, path="a")[:], 7)


@pytest.mark.parametrize("cls", NESTED)
def test_chunks_written_before_their_array_document_join_containers(tmp_path, cls):
    """A batch holding an array document and its chunks (as the writer sends small arrays)
    places the chunks in containers whatever order the concurrent sets run in."""
    reference = MemoryStore()
    arr = zarr.create_array(reference, name="x/a", shape=(6, 4), chunks=(2, 2), dtype="u1")
    arr[:] = 3
    items = [(k, v) for k, v in reference._store_dict.items()]
    store = cls(tmp_path / "s", consolidate_depth=0)

    async def put_chunks_first():
        chunks = [store.set(k, v) for k, v in items if not k.endswith("zarr.json")]
        docs = [store.set(k, v) for k, v in items if k.endswith("zarr.json")]
        await asyncio.gather(*chunks)
        await asyncio.gather(*docs)

    asyncio.run(put_chunks_first())
    containers, others = disk_layout(str(tmp_path / "s"), cls.suffix)
    assert list(containers) == ["x/a/c" + cls.suffix] and len(containers["x/a/c" + cls.suffix]) == 6
    assert others == ["x/a/zarr.json", "x/zarr.json", "zarr.json"]
    np.testing.assert_array_equal(zarr.open_array(store, path="x/a")[:], 3)


# ---------------------------------------------------------------------------------- NWB layout
def es_data() -> np.ndarray:
    values = (np.arange(60000 * 32, dtype=np.int64) * 7919) % 65521 - 32760
    return values.astype(np.int16).reshape(60000, 32)


def es_nwbfile(data):
    """An NWB file with an int16 (60000, 32) ElectricalSeries in (1000, 32) chunks; every name
    fixed, so that two writes give the same keys."""
    import datetime

    from pynwb import NWBFile
    from pynwb.ecephys import ElectricalSeries

    start = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    nwbfile = NWBFile(session_description="layout", identifier="layout-1", session_start_time=start,
                      file_create_date=start)
    device = nwbfile.create_device(name="probe")
    group = nwbfile.create_electrode_group(name="shank", description="d", location="CA1",
                                           device=device)
    for i in range(32):
        nwbfile.add_electrode(location="CA1", group=group, x=float(i), y=1.0, z=2.0)
    region = nwbfile.create_electrode_table_region(list(range(32)), "all electrodes")
    nwbfile.add_acquisition(ElectricalSeries(name="es", data=ZarrDataIO(data, chunks=(1000, 32)),
                                             electrodes=region, rate=30000.0))
    return nwbfile


def write_nwb(store, layout, data):
    with NWBZarrIO(store, mode="w", zarr_format=layout) as io:
        io.write(es_nwbfile(data))


def read_es(store):
    with NWBZarrIO(store, "r") as io:
        return io.read().acquisition["es"].data[:]


def reference_chunk_keys(tmp_path, layout, data):
    """Chunk keys and array encodings of the same NWB file in a plain directory store."""
    root = tmp_path / f"reference-L{layout}"
    write_nwb(LocalStore(root), layout, data)
    keys, arrays = [], {}
    for dirpath, _dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        for name in files:
            if name == "zarr.json" or name == ".zarray":
                doc = zarr.core.sync.sync(LocalStore(root).get(
                    f"{rel}/{name}" if rel != "." else name, default_buffer_prototype()))
                import json

                meta = json.loads(doc.to_bytes())
                if meta.get("node_type", "array") == "array" and "shape" in meta:
                    default = layout == 3 and meta["chunk_key_encoding"]["name"] == "default"
                    sep = (meta["chunk_key_encoding"].get("configuration", {}).get("separator", "/")
                           if layout == 3 else meta.get("dimension_separator") or ".")
                    arrays[rel] = (len(meta["shape"]), default, sep)
            elif name not in METADATA:
                keys.append(f"{rel}/{name}")
    return keys, arrays


@pytest.mark.parametrize("depth", [0, 1])
@pytest.mark.parametrize("layout", [2, 3], ids=["L2", "L3"])
def test_nwb_layout_and_file_count(tmp_path, layout, depth):
    data = es_data()
    root = tmp_path / "session.nwb.zarr"
    write_nwb(H5NestedStore(root, consolidate_depth=depth), layout, data)
    containers, others = disk_layout(str(root), ".h5shard")
    es_containers = [c for c in containers if c.startswith("acquisition/es/data/")]
    # (60000, 32) in (1000, 32) chunks: 60 chunks, one container per row at depth 1, one in all
    assert len(es_containers) == (60 if depth == 1 else 1)
    assert sum(len(containers[c]) for c in es_containers) == 60
    keys, arrays = reference_chunk_keys(tmp_path, layout, data)
    assert containers == expected_containers(keys, arrays, depth, ".h5shard")
    assert not [f for f in others if f.rsplit("/", 1)[-1] not in METADATA
                and arrays.get(f.rsplit("/", 1)[0], (1,))[0] != 0]  # only 0-d chunks are loose
    np.testing.assert_array_equal(read_es(H5NestedStore(root, read_only=True)), data)
    # another depth reads the same store
    np.testing.assert_array_equal(read_es(H5NestedStore(root, consolidate_depth=1 - depth)), data)


# ---------------------------------------------------------------------------------- consolidate
def _dir_size(root) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _s, fs in os.walk(root) for f in fs)


@pytest.mark.parametrize("layout", [2, 3], ids=["L2", "L3"])
@pytest.mark.parametrize("cls", NESTED)
def test_consolidate_matches_write_direct(tmp_path, cls, layout):
    data = es_data()
    direct, converted = tmp_path / "direct", tmp_path / "converted"
    write_nwb(cls(direct, consolidate_depth=1), layout, data)
    write_nwb(LocalStore(converted), layout, data)
    loose_files = sum(len(fs) for _d, _s, fs in os.walk(converted))
    baseline = _dir_size(converted)
    peaks = []

    def sample(path, n_chunks):  # when a container is complete but the loose chunks remain
        peaks.append((_dir_size(converted), os.path.getsize(path + ".partial")))

    stats = cls(converted, consolidate_depth=1).consolidate(on_container=sample)
    final = _dir_size(converted)
    assert disk_layout(str(converted), cls.suffix) == disk_layout(str(direct), cls.suffix)
    containers, _others = disk_layout(str(converted), cls.suffix)
    assert stats["containers"] == len(containers) == len(peaks)
    assert stats["chunks"] == sum(len(m) for m in containers.values())
    assert loose_files - sum(len(fs) for _d, _s, fs in os.walk(converted)) == (
        stats["chunks"] - len(containers))
    # the most disk used at any moment: the larger of the start and end states plus one
    # container (the one being built), plus a small margin
    peak = max(size for size, _c in peaks)
    largest = max(c for _s, c in peaks)
    assert peak <= max(baseline, final) + largest + 4096
    np.testing.assert_array_equal(read_es(cls(converted, read_only=True)), data)
    # nothing left to do the second time
    assert cls(converted, consolidate_depth=1).consolidate() == {"containers": 0, "chunks": 0}


def test_consolidate_to_depth_zero_extra_disk(tmp_path):
    """One container per array: the ES container (60 chunks, 3.8 MB) is the largest; the disk
    never holds more than the start or end state plus that container."""
    data = es_data()
    root = tmp_path / "loose"
    write_nwb(LocalStore(root), 3, data)
    baseline = _dir_size(root)
    seen = []
    H5NestedStore(root, consolidate_depth=0).consolidate(
        on_container=lambda p, n: seen.append((_dir_size(root), os.path.getsize(p + ".partial"),
                                               n)))
    final = _dir_size(root)
    peak = max(s for s, _c, _n in seen)
    largest, n = max((c, n) for _s, c, n in seen)
    assert n == 60 and largest >= data.nbytes // 2  # the ES container
    assert peak <= max(baseline, final) + largest + 4096
    np.testing.assert_array_equal(read_es(H5NestedStore(root)), data)


# ---------------------------------------------------------------------------------- concurrency
_PROCESS_WRITER = """
import zarr, numpy as np
from hdmf_zarr.storage import H5NestedStore, ZipNestedStore
store = {"H5NestedStore": H5NestedStore, "ZipNestedStore": ZipNestedStore}[cls](
    root, consolidate_depth=0)
arr = zarr.open_array(store, path="a", mode="r+")
barrier.wait()
for i in rows:
    arr[i] = np.full(arr.shape[1:], i * 10 + 1, dtype=arr.dtype)
    arr[0] = np.full(arr.shape[1:], shared, dtype=arr.dtype)  # both processes write this chunk
"""


@pytest.mark.parametrize("cls", NESTED)
def test_two_processes_write_one_container(tmp_path, cls):
    """Two processes write disjoint chunks of one container (depth 0) and both keep rewriting
    one same chunk: every disjoint element lands, the shared chunk holds one writer's whole
    value (writes serialise on the container lock, the last one wins), nothing is corrupt."""
    root = str(tmp_path / "s")
    zarr.create_array(cls(root), name="a", shape=(81, 64), chunks=(1, 64), dtype="i4")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=exec, args=(_PROCESS_WRITER, {
        "cls": cls.__name__, "root": root, "rows": list(range(1 + k, 81, 2)), "shared": -1 - k,
        "barrier": barrier})) for k in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    containers, _others = disk_layout(root, cls.suffix)
    assert list(containers) == ["a/c" + cls.suffix] and len(containers["a/c" + cls.suffix]) == 81
    arr = zarr.open_array(cls(root, read_only=True), path="a")
    expected = np.repeat(np.arange(81)[:, None] * 10 + 1, 64, axis=1)
    np.testing.assert_array_equal(arr[1:], expected[1:])
    assert arr[0, 0] in (-1, -2) and (arr[0] == arr[0, 0]).all()


@pytest.mark.parametrize("cls", NESTED)
def test_threads_write_one_container(tmp_path, cls):
    from concurrent.futures import ThreadPoolExecutor

    store = cls(tmp_path / "s", consolidate_depth=1)
    arr = zarr.create_array(store, name="a", shape=(4, 40), chunks=(1, 2), dtype="f8")
    with ThreadPoolExecutor(8) as pool:  # 20 chunks per container, 8 threads at once
        list(pool.map(lambda j: arr.__setitem__((slice(None), slice(2 * j, 2 * j + 2)),
                                                np.full((4, 2), j + 0.5)), range(20)))
    np.testing.assert_array_equal(arr[:], np.repeat(np.arange(20) + 0.5, 2)[None, :].repeat(4, 0))
    containers, _ = disk_layout(str(tmp_path / "s"), cls.suffix)
    assert sorted(containers) == [f"a/c/{i}{cls.suffix}" for i in range(4)]
    assert all(len(m) == 20 for m in containers.values())


# ---------------------------------------------------------------------------------- bad input
def _two_container_array(cls, root):
    store = cls(root, consolidate_depth=1)
    arr = zarr.create_array(store, name="g/a", shape=(2, 10), chunks=(1, 5), dtype="i2")
    arr[:] = np.arange(20).reshape(2, 10)
    return store


@pytest.mark.parametrize("damage", ["truncated", "text"])
@pytest.mark.parametrize("cls", NESTED)
def test_damaged_container(tmp_path, cls, damage):
    root = tmp_path / "s"
    _two_container_array(cls, root)
    bad = root / "g" / "a" / "c" / f"0{cls.suffix}"
    if damage == "truncated":
        size = os.path.getsize(bad)
        with open(bad, "r+b") as fh:
            fh.truncate(size // 2)
    else:
        bad.write_text("not a container, just text\n" * 20)
    store = cls(root, read_only=True)
    arr = zarr.open_array(store, path="g/a")
    np.testing.assert_array_equal(arr[1], np.arange(10, 20))  # the other container reads
    with pytest.raises(FormatError) as info:
        arr[0]
    assert str(bad) in str(info.value)
    with pytest.raises(FormatError, match=str(bad)):
        listing(store.list())
    writer = cls(root)
    with pytest.raises(FormatError, match=str(bad)):
        zarr.open_array(writer, path="g/a", mode="r+")[0] = 1
    np.testing.assert_array_equal(zarr.open_array(store, path="g/a")[1], np.arange(10, 20))


@pytest.mark.parametrize("cls", NESTED)
def test_regular_file_and_missing_root(tmp_path, cls):
    path = tmp_path / "file.nwb"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(NotHdmfStoreError, match="regular file") as info:
        cls(path)
    assert str(path) in str(info.value)
    with pytest.raises(NotHdmfStoreError, match="no such directory"):
        cls(tmp_path / "missing", read_only=True).get_sync("zarr.json")
    assert not (tmp_path / "missing").exists()


def test_store_of_the_other_kind(tmp_path):
    root = tmp_path / "s"
    _two_container_array(ZipNestedStore, root)
    with pytest.raises(NotHdmfStoreError, match="ZipNestedStore") as info:
        zarr.open_array(H5NestedStore(root), path="g/a")[:]
    assert str(root) in str(info.value)
    with pytest.raises(NotHdmfStoreError, match="ZipNestedStore"):
        listing(H5NestedStore(root).list())
    root2 = tmp_path / "s2"
    _two_container_array(H5NestedStore, root2)
    with pytest.raises(NotHdmfStoreError, match="H5NestedStore"):
        ZipNestedStore(root2).consolidate()


@pytest.mark.parametrize("cls", NESTED)
def test_read_only_and_reserved_names(tmp_path, cls):
    store = cls(tmp_path / "s")
    store.set_sync("a", cpu.Buffer.from_bytes(b"1"))
    reader = store.with_read_only(True)
    for action in (lambda: reader.set_sync("a", cpu.Buffer.from_bytes(b"2")),
                   lambda: reader.delete_sync("a"), reader.consolidate,
                   lambda: asyncio.run(reader.clear())):
        with pytest.raises(StoreModeError, match="read-only") as info:
            action()
        assert store.root in str(info.value)
    for key in ("x/c" + cls.suffix, "x/c/1" + cls.suffix + ".partial", "../escape", "a//b"):
        with pytest.raises(ValueError):
            store.set_sync(key, cpu.Buffer.from_bytes(b"1"))
    assert store.get_sync("../a") is None


def test_lock_timeout_names_the_container(tmp_path):
    from hdmf_zarr.storage._locks import file_lock

    path = str(tmp_path / "c.h5shard")
    with (file_lock(path, exclusive=True, create=True),
          pytest.raises(StoreModeError, match="timed out") as info,
          file_lock(path, exclusive=False, create=False, timeout=0.05)):
        pass
    assert path in str(info.value)
    with file_lock(path, exclusive=False, create=False) as fd:  # free again
        assert fd is not None


# ---------------------------------------------------------------------------------- misc
@pytest.mark.parametrize("cls", NESTED)
def test_identity_pickle_and_open_store(tmp_path, cls):
    store = cls(tmp_path / "s", consolidate_depth=2, write_direct=False)
    clone = pickle.loads(pickle.dumps(store))
    assert clone == store and clone.consolidate_depth == 2 and not clone.write_direct
    assert store != cls(tmp_path / "s", consolidate_depth=1)
    assert store_location(store) == str(tmp_path / "s")
    ro, location = open_store(store, "r")
    assert ro.read_only and isinstance(ro, cls) and location == str(tmp_path / "s")


@pytest.mark.parametrize("cls", NESTED)
def test_switching_write_direct_moves_chunks(tmp_path, cls):
    """A chunk has one stored copy: rewriting it through a store with the other setting (or
    another depth) removes the old copy, and emptied containers disappear."""
    root = tmp_path / "s"
    arr = zarr.create_array(cls(root, consolidate_depth=0), name="a", shape=(4, 4),
                            chunks=(2, 2), dtype="i4")
    arr[:] = 1
    assert disk_layout(str(root), cls.suffix)[0] == {"a/c" + cls.suffix: ["0/0", "0/1", "1/0",
                                                                          "1/1"]}
    zarr.open_array(cls(root, write_direct=False), path="a", mode="r+")[:2, :] = 2
    containers, others = disk_layout(str(root), cls.suffix)
    assert containers == {"a/c" + cls.suffix: ["1/0", "1/1"]}
    assert others == ["a/c/0/0", "a/c/0/1", "a/zarr.json", "zarr.json"]
    zarr.open_array(cls(root, consolidate_depth=1), path="a", mode="r+")[:] = 3
    containers, others = disk_layout(str(root), cls.suffix)
    assert containers == {f"a/c/0{cls.suffix}": ["0", "1"], f"a/c/1{cls.suffix}": ["0", "1"]}
    assert others == ["a/zarr.json", "zarr.json"]
    np.testing.assert_array_equal(zarr.open_array(cls(root), path="a")[:], 3)
    zarr.open_array(cls(root), path="a", mode="r+")[:] = 0  # fill value: zarr deletes chunks
    assert disk_layout(str(root), cls.suffix) == ({}, ["a/zarr.json", "zarr.json"])


def test_rewritten_chunks_reuse_hdf5_space(tmp_path):
    store = H5NestedStore(tmp_path / "s", consolidate_depth=0)
    for i in range(50):
        store.set_sync("zarr.json", cpu.Buffer.from_bytes(
            b'{"zarr_format": 3, "node_type": "array", "shape": [4]}'))
        store.set_sync("c/0", cpu.Buffer.from_bytes(bytes([i % 256]) * (5000 + i)))
    assert os.path.getsize(tmp_path / "s" / "c.h5shard") < 5 * 5100
    assert store.get_sync("c/0").to_bytes() == bytes([49]) * 5049
