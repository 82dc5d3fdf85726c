"""Process-side functions of test_concurrency.py (importable by spawned worker processes)."""

from __future__ import annotations

import hashlib
import json
import os
import time

import numpy as np

STORE_KINDS = ("dir", "sqlite", "h5nested")


def open_kind(kind: str, path: str, read_only: bool = False):
    """A store of ``kind`` at ``path``: what ``open_store`` gives for a directory or SQLite
    file, or an ``H5NestedStore``."""
    from hdmf_zarr.storage import H5NestedStore, open_store

    if kind == "h5nested":
        return H5NestedStore(path, read_only=read_only)
    return open_store(path, "r" if read_only else "r+")[0]


def expected(shape) -> np.ndarray:
    """The value every element must hold: its linear index + 1 (0 is the fill value)."""
    return np.arange(1, int(np.prod(shape)) + 1, dtype=np.int64).reshape(shape)


def write_regions(kind: str, path: str, zarr_format: int, regions: list, start_at: float) -> int:
    """Open the array ``data`` of the store and write ``regions`` (lists of ``(start, stop)``
    per axis) with their expected values; all writers start at the same moment
    (``start_at``, ``time.time()``) so that they overlap. Returns the elements written."""
    import zarr

    store = open_kind(kind, path)
    arr = zarr.open_array(store, path="data", mode="r+", zarr_format=zarr_format)
    full = expected(arr.shape)
    time.sleep(max(0.0, start_at - time.time()))
    count = 0
    for bounds in regions:
        sel = tuple(slice(a, b) for a, b in bounds)
        arr[sel] = full[sel]
        count += full[sel].size
    close = getattr(store, "close", None)
    if close is not None:
        close()
    return count


def document(i: int) -> dict:
    """Version ``i`` of the rewritten document: its size varies a lot between versions and it
    carries a digest of its own payload, so that any mix of two versions is detected."""
    size = 200 if i % 2 else 300_000 + 7 * i
    pad = (f"{i:08d}" * (size // 8 + 1))[:size]
    return {"zarr_format": 3, "node_type": "group",
            "attributes": {"version": i, "pad": pad,
                           "digest": hashlib.sha256(pad.encode()).hexdigest()}}


def check_document(raw: bytes) -> int:
    """The version of a document read back; raises ValueError when it is torn."""
    doc = json.loads(raw.decode("utf-8"))
    attrs = doc["attributes"]
    if hashlib.sha256(attrs["pad"].encode()).hexdigest() != attrs["digest"]:
        raise ValueError(f"document of version {attrs['version']} is mixed with another")
    return attrs["version"]


def rewrite_document(kind: str, path: str, key: str, versions: int, naive: bool = False) -> int:
    """Rewrite ``key`` ``versions`` times through the store (or, with ``naive``, in place with
    two ``write`` calls: the control that shows the reader detects a torn document)."""
    from hdmf_zarr.zarr_bridge import store_io

    store = open_kind(kind, path)
    for i in range(1, versions + 1):
        raw = json.dumps(document(i)).encode()
        if naive:
            with open(os.path.join(path, key), "wb") as fh:
                fh.write(raw[: len(raw) // 2])
                fh.flush()
                time.sleep(0.0005)
                fh.write(raw[len(raw) // 2:])
        else:
            store_io.set_bytes(store, key, raw)
    close = getattr(store, "close", None)
    if close is not None:
        close()
    return versions


def poll_document(kind: str, path: str, key: str, last: int, timeout: float) -> dict:
    """Read ``key`` again and again until version ``last`` is seen; count the reads, the
    versions seen and the torn reads (a parse error, a digest mismatch, a missing key)."""
    from hdmf_zarr.zarr_bridge import store_io

    store = open_kind(kind, path, read_only=True)
    reads, torn, seen, examples = 0, 0, set(), []
    deadline = time.monotonic() + timeout
    version = 0
    while version != last and time.monotonic() < deadline:
        raw = store_io.get_bytes(store, key)
        reads += 1
        try:
            if raw is None:
                raise ValueError("the document is missing")
            version = check_document(raw)
            seen.add(version)
        except (ValueError, KeyError, TypeError) as exc:
            torn += 1
            if len(examples) < 3:
                examples.append(f"{type(exc).__name__}: {str(exc)[:80]}")
    close = getattr(store, "close", None)
    if close is not None:
        close()
    return {"reads": reads, "torn": torn, "versions_seen": len(seen), "last": version,
            "examples": examples}
