"""Disk used while ``H5NestedStore.consolidate()`` converts a directory store in place (issue
"Every store": extra disk <= one container + 64 MB for a 1 GB store).

A plain Zarr directory store of about 1 GB (an int16 array, 1,320,000 x 384, chunks (30000, 64),
stored uncompressed so that the bytes on disk are the data's) is written with zarr, then
converted in place. At the moment of largest use (each container's temporary file complete, its
loose chunks not yet removed: the ``on_container`` callback) the store directory's allocated
size is measured and compared with the size before.

Usage::

    python benchmarks/bench_consolidate.py [--tmp DIR] [--rows 1320000] [--depth 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np
import zarr

from hdmf_zarr.storage import H5NestedStore


def disk_bytes(root: str) -> int:
    """Bytes allocated to every file below ``root`` (st_blocks, as ``du`` counts)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tmp", default=None, help="directory for the store")
    ap.add_argument("--rows", type=int, default=1_320_000)
    ap.add_argument("--depth", type=int, default=1, help="consolidate_depth")
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix="bench_consolidate-", dir=args.tmp)
    root = os.path.join(base, "store.zarr")
    try:
        arr = zarr.create_array(root, name="data", shape=(args.rows, 384), dtype="int16",
                                chunks=(30000, 64), compressors=None, zarr_format=3)
        rng = np.random.default_rng(0)
        block = rng.integers(-2000, 2000, size=(120000, 384), dtype=np.int16)
        for start in range(0, args.rows, 120000):
            stop = min(args.rows, start + 120000)
            arr[start:stop] = block[: stop - start]
        before = disk_bytes(root)
        peaks: list[tuple[int, int]] = []

        def on_container(path: str, n_chunks: int) -> None:
            partial = path + ".partial"
            size = os.lstat(partial).st_blocks * 512 if os.path.exists(partial) else 0
            peaks.append((disk_bytes(root) - before, size))

        started = time.perf_counter()
        result = H5NestedStore(root, consolidate_depth=args.depth).consolidate(
            on_container=on_container)
        seconds = time.perf_counter() - started
        after = disk_bytes(root)
        extra, container = max(peaks) if peaks else (0, 0)
        largest = max(size for _extra, size in peaks) if peaks else 0
        budget = largest + 64 * 2**20
        files = sum(len(f) for _r, _d, f in os.walk(root))
        print(f"{'measure':42s} {'value':>14s}")
        print(f"{'store before (bytes on disk)':42s} {before:14,d}")
        print(f"{'store after':42s} {after:14,d}")
        print(f"{'containers / chunks moved':42s} "
              f"{result['containers']:>6d} / {result['chunks']:<6d}")
        print(f"{'files after':42s} {files:14,d}")
        print(f"{'largest container':42s} {largest:14,d}")
        print(f"{'peak extra disk during consolidate':42s} {extra:14,d}")
        print(f"{'target: largest container + 64 MiB':42s} {budget:14,d}  "
              f"{'met' if extra <= budget else 'NOT met'}")
        print(f"{'consolidate time (s)':42s} {seconds:14.2f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
