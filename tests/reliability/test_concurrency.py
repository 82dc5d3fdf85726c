"""Concurrent writers and readers (issue 6, docs/reliability.md "Concurrency").

* N processes write disjoint regions of one array, each region a set of whole stored objects
  (whole chunks in L2, whole shards in L3, DESIGN.md "Parallel writes own whole stored
  objects"), started at the same moment and interleaved; afterwards every element is checked.
  On a directory store, a ``SQLiteStore`` and an ``H5NestedStore``.
* A reader polling a metadata document while another process rewrites it again and again
  (versions of very different sizes) never sees a torn document: only whole versions. A
  control rewrites the document in place, the way a non-atomic store would, and the same
  reader must then see torn documents (the check can fail).

``HDMF_ZARR_CONCURRENCY_ROUNDS`` sets the rounds per store and layout (default 2).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import zarr

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _concurrency_worker as cw  # noqa: E402

ROUNDS = int(os.environ.get("HDMF_ZARR_CONCURRENCY_ROUNDS", "2"))
WRITERS = 4
SHAPE = (1200, 24)
CHUNKS = (50, 12)        # L2: every chunk a stored object
SHARDS = (100, 24)       # L3: every shard (of 2 x 2 inner chunks of CHUNKS) a stored object
REWRITES = 150


@pytest.fixture(scope="module")
def pool():
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=WRITERS, mp_context=ctx) as executor:
        # warm the workers up (imports) so that the writers of a round really overlap
        list(executor.map(time.sleep, [0.0] * WRITERS))
        yield executor


def _path(tmp_path: Path, kind: str) -> str:
    return str(tmp_path / ("a.sqlite" if kind == "sqlite" else "a.zarr"))


def _objects(shape, unit):
    """The regions of the stored objects of an array: ``[((a, b), (c, d)), ...]``."""
    grid = [range(0, n, u) for n, u in zip(shape, unit)]
    return [tuple((s, min(s + u, n)) for s, u, n in zip(corner, unit, shape))
            for corner in np.array(np.meshgrid(*grid, indexing="ij")).reshape(len(shape), -1).T]


@pytest.mark.parametrize("zarr_format", [2, 3], ids=["L2-chunks", "L3-shards"])
@pytest.mark.parametrize("kind", cw.STORE_KINDS)
def test_disjoint_writers_land_every_element(pool, tmp_path, kind, zarr_format):
    checked = 0
    for round_ in range(ROUNDS):
        path = _path(tmp_path / f"round{round_}", kind)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        store = cw.open_kind(kind, path) if kind != "dir" else path
        if zarr_format == 2:
            zarr.create_array(store, name="data", shape=SHAPE, chunks=CHUNKS, dtype="int64",
                              fill_value=0, zarr_format=2)
            unit = CHUNKS
        else:
            zarr.create_array(store, name="data", shape=SHAPE, shards=SHARDS, chunks=CHUNKS,
                              dtype="int64", fill_value=0, zarr_format=3)
            unit = SHARDS
        if hasattr(store, "close"):
            store.close()
        objects = _objects(SHAPE, unit)
        rng = np.random.default_rng(round_)
        order = rng.permutation(len(objects))
        # writer w owns every WRITERS-th object of a shuffled order: interleaved, disjoint
        parts = [[objects[i] for i in order[w::WRITERS]] for w in range(WRITERS)]
        start_at = time.time() + 0.3
        written = list(pool.map(cw.write_regions, [kind] * WRITERS, [path] * WRITERS,
                                [zarr_format] * WRITERS, parts, [start_at] * WRITERS))
        assert sum(written) == int(np.prod(SHAPE))
        reader = cw.open_kind(kind, path, read_only=True)
        data = zarr.open_array(reader, path="data", mode="r", zarr_format=zarr_format)[...]
        if hasattr(reader, "close"):
            reader.close()
        want = cw.expected(SHAPE)
        missing = np.argwhere(data != want)
        assert missing.size == 0, f"{kind} L{zarr_format} round {round_}: " \
                                  f"{len(missing)} elements wrong, first at {missing[:3].tolist()}"
        checked += data.size
    print(f"{kind} L{zarr_format}: {ROUNDS} rounds x {WRITERS} writers, {checked} elements "
          f"checked")


def _run_reader_against_writer(pool, kind, path, key, naive=False):
    from hdmf_zarr.zarr_bridge import store_io

    store = cw.open_kind(kind, path)
    import json

    store_io.set_bytes(store, key, json.dumps(cw.document(0)).encode())
    if hasattr(store, "close"):
        store.close()
    reader = pool.submit(cw.poll_document, kind, path, key, REWRITES, 120.0)
    time.sleep(0.2)  # the reader is polling before the first rewrite
    writer = pool.submit(cw.rewrite_document, kind, path, key, REWRITES, naive)
    assert writer.result(timeout=180) == REWRITES
    return reader.result(timeout=180)


@pytest.mark.parametrize("key", ["zarr.json", "g/.zattrs", ".zmetadata"])
@pytest.mark.parametrize("kind", cw.STORE_KINDS)
def test_reader_never_sees_a_torn_document(pool, tmp_path, kind, key):
    result = _run_reader_against_writer(pool, kind, _path(tmp_path, kind), key)
    assert result["last"] == REWRITES, result
    assert result["torn"] == 0, result
    assert result["reads"] > 10, result  # the reader really ran during the rewrites
    print(f"{kind} {key}: {result}")


def test_control_in_place_rewrites_are_seen_torn(pool, tmp_path):
    """Without temporary name and rename, the same reader sees torn documents."""
    path = _path(tmp_path, "dir")
    result = _run_reader_against_writer(pool, "dir", path, "zarr.json", naive=True)
    assert result["torn"] > 0, result
