"""Moving a store between store kinds: copy, pack and unpack (issue "Every store", the
``hdmf-zarr pack`` / ``unpack`` commands; DESIGN.md "Stores").

A store is a set of keys with bytes, so a store of one kind becomes a store of another by copying
every key. Metadata documents are copied before chunk keys because the nested container stores
decide where a chunk goes from its array's document. :func:`pack` also converts a plain directory
store into an :class:`~hdmf_zarr.storage.H5NestedStore` or
:class:`~hdmf_zarr.storage.ZipNestedStore` *in place* (their ``consolidate``), which needs about
one container of extra disk instead of a second copy.

:func:`nested_store_kind` tells whether a directory holds containers of a nested store, so that
``open_store`` opens such a directory with the right store class.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from zarr.abc.store import Store

from ..errors import NotHdmfStoreError, StoreModeError
from ..zarr_bridge import store_io
from ..zarr_bridge.runtime import run
from ._chunkkeys import CONTAINER_SUFFIXES, METADATA_NAMES
from ._keys import check_key

__all__ = ["STORE_KINDS", "copy_store", "nested_store_kind", "pack", "unpack", "open_kind"]

#: Store kinds a store can be packed into or unpacked from, by command-line name.
STORE_KINDS = ("dir", "zip", "h5", "sqlite")

#: File at the root of a directory store while :func:`pack` moves its chunks into containers in
#: place (JSON: ``{"store": "H5NestedStore", "consolidate_depth": n}``). A pack killed half-way
#: leaves it: the directory then opens as the nested store (which reads containers and loose
#: chunks alike), never as a plain directory store reading moved arrays as fill values, and
#: packing it again resumes.
PACK_MARKER = ".hdmf_zarr_pack_in_progress"

#: Entries looked at before :func:`nested_store_kind` decides a directory is a plain store.
_SCAN_BUDGET = 20000

#: Bytes of values gathered before they are written as one batch by :func:`copy_store`.
_BATCH_BYTES = 64 * 2**20


def nested_store_kind(location: str, budget: int = _SCAN_BUDGET) -> str | None:
    """The nested store class whose containers a directory holds.

    A store written by a nested store with ``write_direct=True`` (or consolidated) keeps its
    chunks in containers and a plain directory store keeps them as loose files, so the first
    array met with chunks decides. The directory is walked breadth-first (sorted) until the first
    container file (``*.h5shard`` or ``*.zipshard``), the first loose chunk of an array with at
    least one axis (0-d chunks stay loose in both kinds), or ``budget`` entries.

    Parameters
    ----------
    location : str
        A directory.
    budget : int
        Directory entries to look at, at most.

    Returns
    -------
    str or None
        ``"H5NestedStore"``, ``"ZipNestedStore"``, or None for a plain directory store (or a
        path that is not a directory).
    """
    if not os.path.isdir(location):
        return None
    if os.path.isfile(os.path.join(location, PACK_MARKER)):
        return "H5NestedStore"  # an in-place pack was interrupted (see PACK_MARKER)
    # (directory, True when it is inside an array's chunk tree: an L3 "c" directory, or an L2
    # array directory whose array has at least one axis)
    pending: list[tuple[str, bool]] = [(location, False)]
    seen = 0
    while pending and seen < budget:
        directory, in_chunks = pending.pop(0)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        names = {e.name for e in entries}
        if names & METADATA_NAMES:  # a node's directory, never inside a chunk tree
            in_chunks = ".zarray" in names and _v2_has_axes(os.path.join(directory, ".zarray"))
        l3_array = "zarr.json" in names
        for entry in entries:
            seen += 1
            for suffix, owner in CONTAINER_SUFFIXES.items():
                if entry.name.endswith(suffix):
                    return owner
            if entry.is_dir(follow_symlinks=False):
                pending.append((entry.path, in_chunks or (l3_array and entry.name == "c")))
            elif in_chunks and _CHUNK_NAME.fullmatch(entry.name):
                return None  # a loose chunk: a plain directory store
            elif l3_array and _L3_DOT_CHUNK.fullmatch(entry.name):
                return None  # a loose L3 chunk with the "." separator (c.0.1)
            if seen >= budget:
                break
    return None


_CHUNK_NAME = re.compile(r"[0-9]+(?:\.[0-9]+)*")
#: a chunk of an array with axes under the default encoding with the "." separator
_L3_DOT_CHUNK = re.compile(r"c(?:\.[0-9]+)+")


def _v2_has_axes(path: str) -> bool:
    """True when the ``.zarray`` at ``path`` declares at least one axis."""
    try:
        with open(path, "rb") as fh:
            shape = json.loads(fh.read()).get("shape")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(shape, list) and len(shape) > 0


def open_kind(location: str, kind: str, *, read_only: bool, consolidate_depth: int = 1) -> Store:
    """Open (or create) the store of ``kind`` at ``location``.

    Parameters
    ----------
    location : str
        Directory (``dir``, ``h5``), zip file (``zip``) or SQLite file (``sqlite``).
    kind : {'dir', 'zip', 'h5', 'sqlite'}
        The store kind; ``h5`` is :class:`~hdmf_zarr.storage.H5NestedStore`.
    read_only : bool
        Open for reading only.
    consolidate_depth : int
        Leading chunk indices that pick a container (``h5`` only).

    Raises
    ------
    ValueError
        On an unknown kind.
    """
    from zarr.storage import ZipStore

    from ._h5nested import H5NestedStore
    from ._sqlite import SQLiteStore

    if kind == "dir":
        from ._atomic import AtomicLocalStore

        return AtomicLocalStore(location, read_only=read_only)
    if kind == "h5":
        return H5NestedStore(location, consolidate_depth=consolidate_depth, read_only=read_only)
    if kind == "sqlite":
        return SQLiteStore(location, read_only=read_only)
    if kind == "zip":
        return run(ZipStore.open(location, mode="r" if read_only else "w"))
    raise ValueError(f"unknown store kind {kind!r}; expected one of {', '.join(STORE_KINDS)}")


def _is_metadata(key: str) -> bool:
    return key.rsplit("/", 1)[-1] in METADATA_NAMES


def copy_store(source: Store, target: Store, *,
               on_key: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every key of ``source`` into ``target``: metadata documents first, then the rest
    in batches of about 64 MiB.

    Parameters
    ----------
    source : zarr.abc.store.Store
        Any readable store that supports listing.
    target : zarr.abc.store.Store
        A writable store (keys present in both are replaced).
    on_key : callable, optional
        Called as ``on_key(key, nbytes)`` after each key is written (progress bars).

    Returns
    -------
    dict
        ``{"keys": number of keys copied, "bytes": bytes copied}``.

    Raises
    ------
    StoreModeError
        When ``target`` is read-only.
    FormatError
        When a key of ``source`` could leave a store (``../x``, ``/abs/x``, empty components:
        ``storage._keys.check_key``); checked for every key before anything is copied.
    """
    if target.read_only:
        raise StoreModeError("cannot copy into a read-only store", str(target))
    keys = sorted(k for k in store_io.list_prefix(source, "") if k != PACK_MARKER)
    for key in keys:
        check_key(key, str(source))
    documents = [k for k in keys if _is_metadata(k)]
    others = [k for k in keys if not _is_metadata(k)]
    copied = total = 0
    # every metadata document is written before any chunk (the nested container stores place a
    # chunk by its array's document)
    for group in (documents, others):
        batch: list[str] = []
        pending = 0
        for key, size in zip(group, _sizes(source, group)):
            batch.append(key)
            pending += size
            if pending >= _BATCH_BYTES:
                total += _copy_batch(source, target, batch, on_key)
                copied += len(batch)
                batch, pending = [], 0
        if batch:
            total += _copy_batch(source, target, batch, on_key)
            copied += len(batch)
    return {"keys": copied, "bytes": total}


def _copy_batch(source: Store, target: Store, names: list[str],
                on_key: Callable[[str, int], None] | None) -> int:
    values = store_io.get_many(source, names)
    items = {k: v for k, v in values.items() if v is not None}
    store_io.set_many(target, items)
    if on_key is not None:
        for k, v in items.items():
            on_key(k, len(v))
    return sum(len(v) for v in items.values())


def _sizes(store: Store, keys: list[str], group: int = 1024) -> Iterator[int]:
    """Sizes of ``keys`` (0 where unknown), asked concurrently ``group`` keys at a time."""
    import asyncio

    async def size(key: str) -> int:
        try:
            return int(await store.getsize(key))
        except (FileNotFoundError, OSError, NotImplementedError):
            return 0

    async def sizes(part: list[str]) -> list[int]:
        return await asyncio.gather(*(size(k) for k in part))

    for start in range(0, len(keys), group):
        yield from run(sizes(keys[start:start + group]))


def pack(source: str, kind: str, target: str | None = None, *, consolidate_depth: int = 1,
         on_key: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    """Pack the plain directory store at ``source`` into a store of ``kind``.

    Parameters
    ----------
    source : str
        A plain Zarr directory store (every key a loose file).
    kind : {'h5', 'zip', 'sqlite'}
        ``h5``: :class:`~hdmf_zarr.storage.H5NestedStore`; ``zip``: a ``.zip`` file;
        ``sqlite``: :class:`~hdmf_zarr.storage.SQLiteStore`.
    target : str, optional
        Where to write the packed store. None packs ``h5`` in place (``consolidate()``: the
        loose chunk files move into containers one container at a time, with
        :data:`PACK_MARKER` at the root until the last one; packing a directory whose pack was
        interrupted resumes it); ``zip`` and ``sqlite`` need a target.
    consolidate_depth : int
        Leading chunk indices that pick a container (``h5``).
    on_key : callable, optional
        Progress callback of :func:`copy_store`.

    Returns
    -------
    dict
        What was done: ``{"keys": ..., "bytes": ...}`` for a copy, ``{"containers": ...,
        "chunks": ...}`` for an in-place pack, plus ``"target"``.

    Raises
    ------
    NotHdmfStoreError
        When ``source`` is not a directory holding a Zarr store, or already holds containers.
    StoreModeError
        When ``target`` exists.
    ValueError
        On a kind that cannot be packed into, or a missing target.
    """
    _check_directory_store(source)
    marker = os.path.join(source, PACK_MARKER)
    resuming = target is None and kind == "h5" and os.path.isfile(marker)
    found = None if resuming else nested_store_kind(source)
    if found is not None:
        raise NotHdmfStoreError(f"already packed: the directory holds {found} containers",
                                source)
    if kind not in ("h5", "zip", "sqlite"):
        raise ValueError(f"cannot pack into {kind!r}; expected h5, zip or sqlite")
    if target is None:
        if kind != "h5":
            raise ValueError(f"packing into {kind!r} needs a target path")
        from ._files import fsync_path, replace_file
        from ._h5nested import H5NestedStore

        if resuming:  # the depth the interrupted pack used
            consolidate_depth = _marker_depth(marker, consolidate_depth)
        else:
            doc = {"store": "H5NestedStore", "consolidate_depth": consolidate_depth}
            replace_file(Path(marker), json.dumps(doc).encode("utf-8"), durable=True)
            fsync_path(source)
        result = H5NestedStore(source, consolidate_depth=consolidate_depth).consolidate()
        os.remove(marker)
        fsync_path(source)
        return {**result, "target": os.path.abspath(source)}
    from ._atomic import AtomicLocalStore

    return _copy_to_new(AtomicLocalStore(source, read_only=True), target, kind, consolidate_depth,
                        on_key)


def _marker_depth(marker: str, default: int) -> int:
    """The ``consolidate_depth`` recorded in a pack marker (``default`` when unreadable)."""
    try:
        with open(marker, "rb") as fh:
            depth = json.loads(fh.read(4096)).get("consolidate_depth")
    except (OSError, ValueError, AttributeError):
        return default
    return depth if isinstance(depth, int) and not isinstance(depth, bool) and depth >= 0 \
        else default


def unpack(source: str, target: str, *,
           on_key: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    """Copy any store this package opens by path (zip, SQLite, nested container directory) into
    a new plain directory store at ``target``.

    Parameters
    ----------
    source : str
        Path of the store.
    target : str
        Directory to create.
    on_key : callable, optional
        Progress callback of :func:`copy_store`.

    Returns
    -------
    dict
        ``{"keys": ..., "bytes": ..., "target": ...}``.

    Raises
    ------
    NotHdmfStoreError
        When ``source`` is missing or not a store.
    StoreModeError
        When ``target`` exists.
    """
    from . import open_store

    store, _location = open_store(source, "r")
    try:
        return _copy_to_new(store, target, "dir", 1, on_key)
    finally:
        store.close()


def _check_directory_store(location: str) -> None:
    if not os.path.isdir(location):
        raise NotHdmfStoreError("not a directory store", location)
    if not any(os.path.exists(os.path.join(location, m))
               for m in ("zarr.json", ".zgroup", ".zarray")):
        raise NotHdmfStoreError("not a Zarr store: no zarr.json or .zgroup at its root", location)


def _copy_to_new(source: Store, target: str, kind: str, consolidate_depth: int,
                 on_key: Callable[[str, int], None] | None) -> dict[str, Any]:
    target = os.path.abspath(target)
    if os.path.lexists(target):
        raise StoreModeError("the target exists; remove it first", target)
    # a new hidden sibling of our own: nothing that exists (an unrelated TARGET.partial) is
    # ever removed
    staging = _new_sibling(target)
    store = open_kind(staging, kind, read_only=False, consolidate_depth=consolidate_depth)
    try:
        result = copy_store(source, store, on_key=on_key)
    except BaseException:
        store.close()
        if os.path.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)
        elif os.path.exists(staging):
            os.remove(staging)
        raise
    store.close()
    # the packed store appears under its name only when complete
    if os.path.lexists(target):
        raise StoreModeError("the target appeared while copying; the copy is left at "
                             f"{staging}", target)
    os.replace(staging, target)
    return {**result, "target": target}


def _new_sibling(target: str) -> str:
    """A path beside ``target`` that does not exist yet (hidden, unique)."""
    import uuid

    head, name = os.path.split(target)
    while True:
        path = os.path.join(head, f".{name}.{uuid.uuid4().hex[:12]}.partial")
        if not os.path.lexists(path):
            return path
