"""Chunk and shard shapes (write/chunking.py; docs/large-data.md "Chunks and shards").

The pure functions are checked against the documented rules; the written stores are checked for
the chunk grid, the sharding codec and the number of stored objects, and every value is read
back.
"""

import math

import numpy as np
import pytest
from _large import (
    LAYOUT,
    array_doc,
    check_roundtrip,
    nwbfile_with,
    read_values,
    stored_objects,
    write_nwb,
)

from _shared import ArrayIterator
from hdmf_zarr.errors import UnsupportedDataError
from hdmf_zarr.nwb import NWBZarrIO
from hdmf_zarr.utils import ZarrDataIO
from hdmf_zarr.write import chunking as ch

NODE = "acquisition/ts/data"
MiB = 2**20


# rules ------------------------------------------------------------------------------------
def test_default_chunks_halve_the_longest_axis_until_4_mib():
    shape = (1_320_000, 384)
    chunks = ch.default_chunks(shape, 2)
    nbytes = math.prod(chunks) * 2
    assert 2 * MiB < nbytes <= 4 * MiB
    # the same chunk computed by hand: halve the longest axis (the first of equal ones)
    expect = list(shape)
    while math.prod(expect) * 2 > 4 * MiB:
        axis = expect.index(max(expect))
        expect[axis] = -(-expect[axis] // 2)
    assert chunks == tuple(expect)
    assert ch.default_chunks((10, 3), 8) == (10, 3)  # small arrays: one chunk
    assert ch.default_chunks((), 8) == ()
    grown = ch.default_chunks((5, 100), 4, growing_first_axis=True)
    assert math.prod(grown) * 4 <= 4 * MiB and grown[1] == 100 and grown[0] > 5


def test_default_shards_policy():
    chunks = (1000, 64)
    # 256 chunks or fewer: no shards
    assert ch.default_shards((16_000, 1024), chunks, 2) is None
    # unknown final size: no shards
    assert ch.default_shards((10**7, 1024), chunks, 2, growing=True) is None
    # 1 GB int16: shards of clamp(nbytes / 256, 64 MiB, 512 MiB), whole chunks
    shape = (1_320_000, 384)
    shards = ch.default_shards(shape, (30000, 64), 2)
    assert all(s % c == 0 for s, c in zip(shards, (30000, 64)))
    nbytes = math.prod(shards) * 2
    assert nbytes <= 64 * MiB
    assert ch.region_count(shape, shards) <= 256
    # a huge array: shards stay at most 512 MiB
    huge = ch.default_shards((10**8, 1024), (1000, 1024), 2)
    assert math.prod(huge) * 2 <= 512 * MiB
    # an iterator buffer of whole chunks between 16 and 512 MiB becomes the shard
    assert ch.default_shards(shape, (30000, 64), 2, buffer_shape=(60000, 384)) == (60000, 384)


def test_plan_storage_explicit_and_default():
    assert ch.plan_storage((100, 8), 4, (10, 8), None, 2, "/d") == ((10, 8), None)
    assert ch.plan_storage((100, 8), 4, (10, 8), (50, 8), 3, "/d") == ((10, 8), (50, 8))
    assert ch.plan_storage((100, 8), 4, None, False, 3, "/d") == ((100, 8), None)
    # shards given without chunks: inner chunks that divide the shard
    chunks, shards = ch.plan_storage((10**6, 64), 8, None, (100_000, 64), 3, "/d")
    assert shards == (100_000, 64)
    assert all(s % c == 0 for s, c in zip(shards, chunks)) and math.prod(chunks) * 8 <= 4 * MiB
    assert ch.plan_storage((), 8, None, None, 3, "/d") == ((), None)
    assert ch.plan_storage((5,), None, None, None, 3, "/d") == ("auto", None)


@pytest.mark.parametrize("chunks, shards, zarr_format, match", [
    ((200, 4), None, 3, r"chunk shape \(200, 4\) exceeds the data shape \(100, 4\) along axis 0"),
    ((10,), None, 2, "chunk shape \\(10,\\) has 1 axes, the data has 2"),
    ((0, 4), None, 3, "not positive"),
    ((10, 4), (15, 4), 3, "not a multiple of the chunk shape"),
    ((10, 4), (120, 4), 3, r"shard shape \(120, 4\) exceeds the data shape"),
    ((10, 4), (20, 4), 2, "sharding needs layout L3"),
])
def test_plan_storage_errors(chunks, shards, zarr_format, match):
    with pytest.raises(UnsupportedDataError, match=match) as info:
        ch.plan_storage((100, 4), 2, chunks, shards, zarr_format, "/acq/x/data")
    assert info.value.path == "/acq/x/data"


def test_block_shape_and_regions_tile_whole_objects():
    shape, shard = (1000, 30), (64, 16)
    block = ch.block_shape(shape, shard, 4, 200 * 64 * 4, min_blocks=4)
    assert all(b % s == 0 for b, s in zip(block, shard))
    assert ch.region_count(shape, block) >= 4
    covered = np.zeros(shape, dtype=int)
    for region in ch.aligned_regions(shape, block):
        # every region starts on a stored-object boundary
        assert all(r.start % s == 0 for r, s in zip(region, shard))
        covered[region] += 1
    assert (covered == 1).all()


# written stores ---------------------------------------------------------------------------
DATA = np.arange(2000 * 6, dtype="<i4").reshape(2000, 6)


def test_sharded_l3_round_trip(tmp_path):
    nwbfile = nwbfile_with(ZarrDataIO(DATA, chunks=(50, 3), shards=(500, 6)))
    path = write_nwb(tmp_path / "s.nwb.zarr", nwbfile, 3)
    doc = array_doc(path, NODE)
    assert doc["chunk_grid"]["configuration"]["chunk_shape"] == [500, 6]
    (codec,) = doc["codecs"]
    assert codec["name"] == "sharding_indexed"
    assert codec["configuration"]["chunk_shape"] == [50, 3]
    assert stored_objects(path, NODE) == ["c.0.0", "c.1.0", "c.2.0", "c.3.0"]
    check_roundtrip(path, nwbfile)
    np.testing.assert_array_equal(read_values(path), DATA)
    with NWBZarrIO(str(path), mode="r") as io:
        window = io.read().acquisition["ts"].data[480:530, 1:5]
        np.testing.assert_array_equal(window, DATA[480:530, 1:5])


def test_default_shard_policy_on_write(tmp_path):
    """400 chunks (> 256) and no shards given: one shard holds them all (64 MiB minimum)."""
    nwbfile = nwbfile_with(ZarrDataIO(DATA, chunks=(5, 6)))
    path = write_nwb(tmp_path / "p.nwb.zarr", nwbfile, 3)
    doc = array_doc(path, NODE)
    assert doc["chunk_grid"]["configuration"]["chunk_shape"] == [2000, 6]
    assert doc["codecs"][0]["configuration"]["chunk_shape"] == [5, 6]
    assert stored_objects(path, NODE) == ["c.0.0"]
    np.testing.assert_array_equal(read_values(path), DATA)
    # shards=False keeps one object per chunk
    nwbfile = nwbfile_with(ZarrDataIO(DATA, chunks=(5, 6), shards=False))
    path = write_nwb(tmp_path / "n.nwb.zarr", nwbfile, 3)
    assert len(stored_objects(path, NODE)) == 400
    assert array_doc(path, NODE)["codecs"][0]["name"] == "bytes"
    np.testing.assert_array_equal(read_values(path), DATA)


@LAYOUT
def test_default_chunks_on_write(tmp_path, layout):
    data = np.arange(600_000, dtype="<f8").reshape(100_000, 6)  # 4.6 MB: two chunks
    nwbfile = nwbfile_with(ZarrDataIO(data, compressor=False))
    path = write_nwb(tmp_path / "d.nwb.zarr", nwbfile, layout)
    doc = array_doc(path, NODE)
    chunks = doc["chunks"] if layout == 2 else doc["chunk_grid"]["configuration"]["chunk_shape"]
    assert tuple(chunks) == ch.default_chunks(data.shape, 8) == (50_000, 6)
    assert len(stored_objects(path, NODE)) == 2
    np.testing.assert_array_equal(read_values(path), data)


@LAYOUT
def test_sharded_iterator_write(tmp_path, layout):
    """A GenericDataChunkIterator into shards (L3) or chunks (L2); buffers not aligned."""
    dci = ArrayIterator(DATA, buffer_shape=(333, 6), chunk_shape=(111, 6))
    settings = {"shards": (400, 6)} if layout == 3 else {}
    nwbfile = nwbfile_with(ZarrDataIO(dci, chunks=(50, 3), **settings))
    path = write_nwb(tmp_path / "i.nwb.zarr", nwbfile, layout)
    expected = 5 if layout == 3 else 80
    assert len(stored_objects(path, NODE)) == expected
    np.testing.assert_array_equal(read_values(path), DATA)


@pytest.mark.parametrize("layout, kwargs, match", [
    (2, {"chunks": (2001, 6)}, "exceeds the data shape"),
    (3, {"chunks": (100, 7)}, "exceeds the data shape"),
    (3, {"chunks": (100, 6), "shards": (150, 6)}, "not a multiple of the chunk shape"),
    (3, {"chunks": (100, 6), "shards": (2100, 6)}, "exceeds the data shape"),
    (2, {"chunks": (100, 6), "shards": (200, 6)}, "sharding needs layout L3"),
    (3, {"chunks": (100, 6, 1)}, "has 3 axes, the data has 2"),
], ids=["L2-chunk-too-long", "L3-chunk-too-wide", "L3-shard-not-multiple",
        "L3-shard-too-long", "L2-shards", "L3-chunk-rank"])
def test_bad_shapes_name_the_dataset(tmp_path, layout, kwargs, match):
    nwbfile = nwbfile_with(ZarrDataIO(DATA, **kwargs))
    path = tmp_path / "bad.nwb.zarr"
    with pytest.raises(UnsupportedDataError, match=match) as info:
        write_nwb(path, nwbfile, layout)
    assert info.value.path == "/acquisition/ts/data"
    # refused before the first key of the write is stored: no store was created
    assert not path.exists()


def test_bad_shapes_leave_an_existing_store_as_it_was(tmp_path):
    path = write_nwb(tmp_path / "a.nwb.zarr", nwbfile_with(DATA), 3)
    before = {p.relative_to(path).as_posix(): p.read_bytes()
              for p in sorted(path.rglob("*")) if p.is_file()}
    with NWBZarrIO(str(path), mode="a") as io:
        nwbfile = io.read()
        extra = nwbfile_with(ZarrDataIO(DATA * 2, chunks=(100, 6), shards=(150, 6)),
                             name="extra").acquisition.pop("extra")
        nwbfile.add_acquisition(extra)
        with pytest.raises(UnsupportedDataError, match="not a multiple") as info:
            io.write(nwbfile)
    assert info.value.path == "/acquisition/extra/data"
    after = {p.relative_to(path).as_posix(): p.read_bytes()
             for p in sorted(path.rglob("*")) if p.is_file()}
    assert after == before
    np.testing.assert_array_equal(read_values(path), DATA)


def test_zarrdataio_refuses_non_positive_shapes():
    for kwargs in ({"chunks": (0, 4)}, {"shards": (10, -1)}, {"chunks": (1.5, 4)}):
        with pytest.raises(UnsupportedDataError, match="must be positive integers"):
            ZarrDataIO(DATA, **kwargs)
