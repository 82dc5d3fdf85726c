"""hdmf_zarr.inspect: walking real L2 stores and small L3 stores."""

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr

from hdmf_zarr.errors import NotHdmfStoreError
from hdmf_zarr.inspect import NodeInfo, _itemsize_v3, detect_layout, format_tree, walk_store

LEGACY = Path(__file__).resolve().parents[2] / "shared" / "data" / "legacy"
PICKLE = LEGACY / "ecephys_pickle_refs.nwb.zarr"
JSON = LEGACY / "ecephys_json_refs.nwb.zarr"


def _read_only(path):
    return zarr.storage.LocalStore(path, read_only=True)


def _by_path(nodes):
    return {n.path: n for n in nodes}


def _disk_l2(root: Path):
    """Per array path: (number of chunk files, their total size), from the file system."""
    arrays = {}
    groups = set()
    for dirpath, _dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        path = "/" if rel == "." else "/" + rel.replace(os.sep, "/")
        if ".zgroup" in files:
            groups.add(path)
        if ".zarray" in files:
            chunk_files = []
            for sub, _d, fs in os.walk(dirpath):
                chunk_files += [os.path.join(sub, f) for f in fs if not f.startswith(".z")]
            arrays[path] = (len(chunk_files), sum(os.path.getsize(f) for f in chunk_files))
    return groups, arrays


@pytest.fixture(scope="module")
def pickle_nodes():
    return walk_store(_read_only(PICKLE))


@pytest.fixture(scope="module")
def json_nodes():
    return walk_store(_read_only(JSON))


def test_detect_layout_of_legacy_stores():
    assert detect_layout(_read_only(PICKLE)) == "L2"
    assert detect_layout(_read_only(JSON)) == "L2"


def test_electrical_series_data(pickle_nodes):
    data = _by_path(pickle_nodes)["/acquisition/es/data"]
    assert data.kind == "array"
    assert data.zarr_format == 2
    assert data.shape == (3000, 8)
    assert data.dtype == "<i2"
    assert data.hdmf_dtype == "int16"
    assert data.chunks == (1000, 8)
    assert data.inner_chunks is None
    assert data.codecs == ["delta", "blosc"]
    sizes = [os.path.getsize(PICKLE / "acquisition" / "es" / "data" / k)
             for k in ("0.0", "1.0", "2.0")]
    assert data.nchunks == 3
    assert data.stored_bytes == sum(sizes)
    assert data.uncompressed_bytes == 3000 * 8 * 2
    assert data.ratio == pytest.approx(48000 / sum(sizes))
    assert data.attributes["unit"] == "volts"


def test_every_array_and_group_matches_the_disk(pickle_nodes, json_nodes):
    for root, nodes in ((PICKLE, pickle_nodes), (JSON, json_nodes)):
        groups, arrays = _disk_l2(root)
        found = _by_path(nodes)
        assert {p for p, n in found.items() if n.kind == "group"} == groups
        assert {p for p, n in found.items() if n.kind == "array"} == set(arrays)
        for path, (count, size) in arrays.items():
            assert (found[path].nchunks, found[path].stored_bytes) == (count, size), path
        assert len(groups) == 30 and len(arrays) == 68


def test_groups_types_and_links(pickle_nodes):
    nodes = _by_path(pickle_nodes)
    root = nodes["/"]
    assert pickle_nodes[0] is root
    assert (root.kind, root.neurodata_type, root.namespace) == ("group", "NWBFile", "core")
    assert root.attributes[".specloc"] == "specifications"
    assert nodes["/general/extracellular_ephys/shank0"].neurodata_type == "ElectrodeGroup"
    assert nodes["/general/extracellular_ephys/shank0"].links == 1
    assert nodes["/acquisition/lick_copy"].links == 1
    assert nodes["/acquisition/lick"].links == 0
    assert nodes["/acquisition"].neurodata_type is None
    assert nodes["/units"].neurodata_type == "Units"
    assert nodes["/units/spike_times_index"].neurodata_type == "VectorIndex"
    assert sum(n.links for n in pickle_nodes) == 3


def test_object_arrays_are_described_without_opening_them(pickle_nodes, json_nodes):
    p = _by_path(pickle_nodes)
    j = _by_path(json_nodes)
    path = "/general/extracellular_ephys/electrodes/group"
    assert p[path].codecs == ["pickle", "blosc"]
    assert j[path].codecs == ["json2", "blosc"]
    assert p[path].dtype == "|O" and p[path].hdmf_dtype == "object"
    assert p[path].uncompressed_bytes is None and p[path].ratio is None
    ts = p["/intervals/epochs/timeseries"]
    assert ts.dtype == [["idx_start", "<i4"], ["count", "<i4"], ["timeseries", "|O"]]
    assert ts.uncompressed_bytes is None
    assert p["/intervals/trials/stim"].codecs == ["vlen-utf8", "blosc"]
    assert p["/session_start_time"].codecs == ["vlen-bytes", "blosc"]
    assert p["/session_start_time"].hdmf_dtype == "scalar"
    assert p["/intervals/trials/correct"].dtype == "|b1"
    assert p["/intervals/trials/correct"].uncompressed_bytes == 4
    assert p["/specifications/core/2.11.0/namespace"].codecs == ["json2"]
    # iterator-written data uses the numpy dtype string as zarr_dtype
    assert p["/acquisition/iterated/data"].hdmf_dtype == "<f8"
    assert p["/acquisition/iterated/data"].nchunks == 5


def test_listing_walk_equals_consolidated_walk(pickle_nodes):
    listed = walk_store(_read_only(PICKLE), use_consolidated=False)
    assert [n.path for n in listed] == [n.path for n in pickle_nodes]
    for a, b in zip(listed, pickle_nodes, strict=True):
        assert (a.kind, a.shape, a.dtype, a.chunks, a.codecs, a.stored_bytes, a.links,
                a.neurodata_type) == (b.kind, b.shape, b.dtype, b.chunks, b.codecs,
                                      b.stored_bytes, b.links, b.neurodata_type)


def test_order_is_depth_first_sorted(pickle_nodes):
    keys = [[] if n.path == "/" else n.path.strip("/").split("/") for n in pickle_nodes]
    assert keys == sorted(keys)


def test_format_tree_of_a_legacy_store(pickle_nodes):
    text = format_tree(pickle_nodes)
    lines = text.splitlines()
    assert lines[0].startswith("/  [core:NWBFile]")
    data_line = next(line for line in lines if line.strip().startswith("data  <i2"))
    assert data_line.startswith("      data  <i2 (int16)  shape (3000, 8)  chunks (1000, 8)")
    assert "codecs delta,blosc" in data_line
    stored = _by_path(pickle_nodes)["/acquisition/es/data"].stored_bytes
    assert "in 3 objects" in data_line
    assert any("lick_copy/" in line and "links 1" in line for line in lines)
    total = sum(n.stored_bytes for n in pickle_nodes if n.kind == "array")
    assert lines[-1].startswith("layout L2 (Zarr format 2): 30 groups, 68 arrays, "
                                f"{total} bytes stored")
    assert "ratio" in lines[-1]
    assert stored > 0
    short = format_tree(pickle_nodes, max_depth=1).splitlines()
    assert "    es/  [core:ElectricalSeries]" not in short
    assert "  acquisition/" in short
    assert short[-1] == lines[-1]


def test_legacy_store_is_not_modified():
    before = sorted((p, p.stat().st_mtime_ns) for p in PICKLE.rglob("*"))
    walk_store(_read_only(PICKLE))
    walk_store(_read_only(PICKLE), use_consolidated=False)
    assert sorted((p, p.stat().st_mtime_ns) for p in PICKLE.rglob("*")) == before


# --- L3 stores ------------------------------------------------------------------------------

def _make_l3(path, consolidate=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # structured dtype and consolidated metadata notices
        return _build_l3(path, consolidate)


def _build_l3(path, consolidate):
    root = zarr.open_group(zarr.storage.LocalStore(path), mode="w", zarr_format=3)
    root.attrs.update({"namespace": "core", "neurodata_type": "NWBFile",
                       ".specloc": "specifications"})
    es = root.create_group("acquisition").create_group("es")
    es.attrs.update({"namespace": "core", "neurodata_type": "ElectricalSeries",
                     "_LINKS": [{"name": "timestamps", "source": ".", "path": "/t"},
                                {"name": "electrodes", "source": ".", "path": "/e"}]})
    data = es.create_array("data", shape=(100, 8), dtype="int16", chunks=(10, 8),
                           shards=(50, 8), attributes={"_DTYPE": "int16", "unit": "volts"})
    data[...] = np.arange(800, dtype="int16").reshape(100, 8)
    start = es.create_array("starting_time", shape=(), dtype="float64",
                            attributes={"_DTYPE": "float64", "rate": 30000.0})
    start[...] = 1.5
    text = root.create_array("names", shape=(3,), dtype=str, chunks=(2,))
    text[...] = np.array(["a", "bb", "ccc"])
    root.create_array("empty", shape=(0,), dtype="float32", chunks=(1,))
    compound = np.dtype([("x", "<u4"), ("y", "<f4")])
    comp = root.create_array("pixel_mask", shape=(4,), dtype=compound, chunks=(4,))
    comp[...] = np.ones(4, dtype=compound)
    if consolidate:
        zarr.consolidate_metadata(zarr.storage.LocalStore(path))
    return path


def _disk_l3(root: Path, array_path: str):
    base = root / array_path.strip("/")
    files = [p for p in base.rglob("*") if p.is_file() and p.name != "zarr.json"]
    return len(files), sum(p.stat().st_size for p in files)


@pytest.mark.parametrize("consolidate", [True, False])
def test_l3_store(tmp_path, consolidate):
    path = _make_l3(tmp_path / "s.zarr", consolidate)
    store = _read_only(path)
    assert detect_layout(store) == "L3"
    with_root_cm = json.loads((path / "zarr.json").read_text())
    assert ("consolidated_metadata" in with_root_cm and
            with_root_cm["consolidated_metadata"] is not None) == consolidate
    nodes = _by_path(walk_store(store))
    assert set(nodes) == {"/", "/acquisition", "/acquisition/es", "/acquisition/es/data",
                          "/acquisition/es/starting_time", "/names", "/empty", "/pixel_mask"}
    assert nodes["/"].neurodata_type == "NWBFile" and nodes["/"].zarr_format == 3
    es = nodes["/acquisition/es"]
    assert (es.kind, es.neurodata_type, es.links) == ("group", "ElectricalSeries", 2)

    data = nodes["/acquisition/es/data"]
    assert data.shape == (100, 8)
    assert data.dtype == "int16" and data.hdmf_dtype == "int16"
    assert data.chunks == (50, 8)
    assert data.inner_chunks == (10, 8)
    assert data.codecs == ["sharding_indexed(bytes,zstd)"]
    assert (data.nchunks, data.stored_bytes) == _disk_l3(path, "/acquisition/es/data")
    assert data.nchunks == 2
    assert data.uncompressed_bytes == 1600

    start = nodes["/acquisition/es/starting_time"]
    assert start.shape == () and start.chunks == ()
    assert start.codecs == ["bytes", "zstd"]
    assert (start.nchunks, start.stored_bytes) == _disk_l3(path, "/acquisition/es/starting_time")
    assert start.uncompressed_bytes == 8

    names = nodes["/names"]
    assert names.dtype == "string" and names.codecs == ["vlen-utf8", "zstd"]
    assert names.uncompressed_bytes is None and names.ratio is None
    assert (names.nchunks, names.stored_bytes) == _disk_l3(path, "/names")
    assert names.nchunks == 2

    empty = nodes["/empty"]
    assert (empty.nchunks, empty.stored_bytes, empty.uncompressed_bytes) == (0, 0, 0)
    assert empty.ratio is None

    mask = nodes["/pixel_mask"]
    assert mask.uncompressed_bytes == 4 * 8

    text = format_tree(list(nodes.values()))
    assert "data  int16  shape (100, 8)  chunks (50, 8) inner (10, 8)  " \
           "codecs sharding_indexed(bytes,zstd)" in text
    assert "starting_time  float64  shape ()" in text
    assert text.splitlines()[-1].startswith("layout L3 (Zarr format 3): 3 groups, 5 arrays")


def test_l3_numcodecs_and_v2_chunk_keys(tmp_path):
    import numcodecs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arr = zarr.create_array(
            zarr.storage.LocalStore(tmp_path / "n.zarr"), name="x", shape=(40,), dtype="<f8",
            chunks=(10,), compressors=[zarr.codecs.numcodecs.Shuffle(elementsize=8),
                                       zarr.codecs.numcodecs.Zlib(level=4)],
            chunk_key_encoding={"name": "v2", "separator": "."}, zarr_format=3)
    arr[...] = np.linspace(0, 1, 40)
    nodes = _by_path(walk_store(_read_only(tmp_path / "n.zarr")))
    x = nodes["/x"]
    assert x.codecs == ["bytes", "numcodecs.shuffle", "numcodecs.zlib"]
    assert x.nchunks == 4
    assert x.stored_bytes == sum(os.path.getsize(tmp_path / "n.zarr" / "x" / f"{i}")
                                 for i in range(4))
    assert nodes["/"].implicit is False
    assert numcodecs  # imported for the side effect of registering codecs


def test_implicit_parent_groups(tmp_path):
    store = zarr.storage.LocalStore(tmp_path / "i.zarr")
    root = zarr.open_group(store, mode="w", zarr_format=3)
    root.create_array("a/b/c", shape=(2,), dtype="int8")[...] = [1, 2]
    os.remove(tmp_path / "i.zarr" / "a" / "b" / "zarr.json")
    nodes = _by_path(walk_store(_read_only(tmp_path / "i.zarr")))
    assert nodes["/a/b"].implicit and nodes["/a/b"].kind == "group"
    assert not nodes["/a"].implicit
    assert nodes["/a/b/c"].stored_bytes == os.path.getsize(
        tmp_path / "i.zarr" / "a" / "b" / "c" / "c" / "0")
    assert "b/  (implicit)" in format_tree(list(nodes.values()))


def test_zip_store(tmp_path):
    path = _make_l3(tmp_path / "s.zarr")
    zipped = zarr.storage.ZipStore(tmp_path / "s.zip", mode="w")
    src = _read_only(path)
    from hdmf_zarr.zarr_bridge.store_io import get_bytes, list_prefix, set_many
    set_many(zipped, {k: get_bytes(src, k) for k in list_prefix(src, "")})
    zipped.close()
    from_dir = walk_store(src)
    from_zip = walk_store(zarr.storage.ZipStore(tmp_path / "s.zip", mode="r"))
    assert [(n.path, n.stored_bytes, n.nchunks) for n in from_zip] == \
        [(n.path, n.stored_bytes, n.nchunks) for n in from_dir]


def test_not_a_group(tmp_path):
    with pytest.raises(NotHdmfStoreError, match="no Zarr group"):
        walk_store(zarr.storage.MemoryStore())
    store = zarr.storage.LocalStore(tmp_path / "arr.zarr")
    zarr.create_array(store, shape=(2,), dtype="i1")
    with pytest.raises(NotHdmfStoreError, match="array"):
        walk_store(store)
    store2 = zarr.storage.LocalStore(tmp_path / "arr2.zarr")
    zarr.create_array(store2, shape=(2,), dtype="i1", zarr_format=2)
    with pytest.raises(NotHdmfStoreError, match="array"):
        detect_layout(store2)
    with pytest.raises(TypeError):
        walk_store(str(tmp_path))


def test_both_markers_read_as_l3_with_a_warning(tmp_path):
    store = zarr.storage.LocalStore(tmp_path / "both.zarr")
    zarr.open_group(store, mode="w", zarr_format=3)
    (tmp_path / "both.zarr" / ".zgroup").write_text('{"zarr_format": 2}')
    with pytest.warns(UserWarning, match="L3"):
        assert detect_layout(store) == "L3"


def test_v3_itemsizes():
    assert _itemsize_v3("float32") == 4
    assert _itemsize_v3("r16") == 2
    assert _itemsize_v3("string") is None
    assert _itemsize_v3({"name": "fixed_length_utf32",
                         "configuration": {"length_bytes": 2048}}) == 2048
    structured = {"name": "structured", "configuration": {"fields": [
        ["idx_start", "int32"], ["count", "int32"],
        ["timeseries", {"name": "fixed_length_utf32", "configuration": {"length_bytes": 2048}}]]}}
    assert _itemsize_v3(structured) == 2056
    struct = {"name": "struct", "configuration": {"fields": [
        {"name": "x", "data_type": "uint32"}, {"name": "s", "data_type": "string"}]}}
    assert _itemsize_v3(struct) is None


def test_nodeinfo_ratio_and_names():
    node = NodeInfo(path="/a/b", kind="array", zarr_format=3, stored_bytes=10,
                    uncompressed_bytes=25)
    assert (node.name, node.depth, node.ratio) == ("b", 2, 2.5)
    assert NodeInfo(path="/", kind="group", zarr_format=2).name == "/"
    assert NodeInfo(path="/x", kind="array", zarr_format=2, stored_bytes=0,
                    uncompressed_bytes=8).ratio is None
