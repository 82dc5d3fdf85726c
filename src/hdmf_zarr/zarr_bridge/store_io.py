"""Blocking helpers over the asynchronous Zarr-Python 3 store API.

The writer and reader move metadata documents and encoded chunks straight through the store
(DESIGN.md, "Metadata in batches"); these helpers run the store's coroutines on zarr's own event
loop (``zarr_bridge.runtime.run``) and gather batches concurrently.

Keys are store keys: ``/``-separated, no leading ``/`` (the root group's document is ``zarr.json``
or ``.zgroup``).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from zarr.abc.store import Store

from ..errors import FormatError
from ..format import limits
from ..storage._keys import check_key
from .runtime import default_buffer_prototype
from .runtime import run as sync

__all__ = [
    "get_bytes",
    "get_many",
    "get_many_async",
    "set_bytes",
    "set_many",
    "get_json",
    "dumps_json",
    "loads_json",
    "list_prefix",
    "list_dir",
    "list_dirs",
    "delete_keys",
    "delete_prefix",
    "exists",
    "node_key",
    "MAX_DOCUMENT_BYTES",
]

#: Largest node document accepted (FORMAT.md section 5); the value in force is
#: ``hdmf_zarr.format.limits.MAX_DOCUMENT_BYTES``.
MAX_DOCUMENT_BYTES = limits.MAX_DOCUMENT_BYTES


def node_key(path: str, name: str) -> str:
    """Store key of document ``name`` (``zarr.json``, ``.zattrs``...) of the node at ``path``.

    Parameters
    ----------
    path : str
        Node path, absolute (``/a/b``) or relative (``a/b``); ``/`` or ``""`` is the root.
    name : str
        Document or chunk key relative to the node.
    """
    path = path.strip("/")
    return f"{path}/{name}" if path else name


async def _get(store: Store, key: str) -> bytes | None:
    check_key(key)
    buf = await store.get(key, prototype=default_buffer_prototype())
    return None if buf is None else buf.to_bytes()


def get_bytes(store: Store, key: str) -> bytes | None:
    """Return the bytes stored at ``key``, or None when the key is absent.

    ``get_bytes`` and :func:`get_many` are how the reader reads keys: both refuse a key that
    could leave the store (``storage._keys.check_key``: ``..``, empty components, absolute)
    with ``FormatError`` naming it.
    """
    return sync(_get(store, key))


def _batch_reads(store: Store) -> bool:
    """Whether the store (below any zarr ``WrapperStore``, which forwards ``_get_many``) reads
    a batch of keys in its own ``_get_many``."""
    from zarr.storage import WrapperStore

    for _ in range(8):
        if not isinstance(store, WrapperStore):
            break
        store = store._store
    return type(store)._get_many is not Store._get_many


def get_many(store: Store, keys: Iterable[str]) -> dict[str, bytes | None]:
    """Fetch several keys; absent keys map to None.

    A store with its own batch read (``Store._get_many`` overridden, as in
    ``storage.AtomicLocalStore``) is asked once for the batch; others get one concurrent
    ``get`` per key (zarr's default ``_get_many`` awaits the keys one after another).
    """
    return sync(get_many_async(store, keys))


async def get_many_async(store: Store, keys: Iterable[str]) -> dict[str, bytes | None]:
    """The coroutine of :func:`get_many`, to gather with other reads in one wave.

    Raises
    ------
    FormatError
        When a key could leave the store (``storage._keys.check_key``).
    """
    keys = list(keys)
    for key in keys:  # every key the reader forms stays inside the store (FORMAT.md 5)
        check_key(key)
    if not keys:
        return {}
    if _batch_reads(store):
        proto = default_buffer_prototype()
        found = {}
        async for key, buf in store._get_many((k, proto, None) for k in keys):
            found[key] = None if buf is None else buf.to_bytes()
        return {k: found.get(k) for k in keys}
    return dict(zip(keys, await asyncio.gather(*(_get(store, k) for k in keys))))


def set_bytes(store: Store, key: str, value: bytes) -> None:
    """Store ``value`` at ``key`` (replacing what was there)."""
    set_many(store, {key: value})


def set_many(store: Store, items: Mapping[str, bytes]) -> None:
    """Store a batch of key/value pairs with the store's batch write (``Store._set_many``)."""
    if not items:
        return
    proto = default_buffer_prototype()

    # Store._set_many is zarr's batch write: concurrent sets by default, one transaction in
    # SQLiteStore, one write per container in the nested container stores
    sync(store._set_many((k, proto.buffer.from_bytes(v)) for k, v in items.items()))


def _json_default(obj: Any):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, bytes):
        return obj.decode("utf-8")
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serializable")


def dumps_json(doc: Any) -> bytes:
    """Encode a metadata document as UTF-8 JSON; non-finite floats become bare ``NaN``/``Infinity``
    tokens, as FORMAT.md 2.1 and 3.1 require. Compact (no indentation): Python's C encoder
    handles only that, and thousands of documents are written per file."""
    return json.dumps(doc, allow_nan=True, default=_json_default, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def loads_json(raw: bytes, key: str = "") -> Any:
    """Decode a metadata document, accepting bare ``NaN``/``Infinity`` tokens.

    Parameters
    ----------
    raw : bytes
        The stored document.
    key : str
        Its store key: the root ``zarr.json`` and ``.zmetadata`` documents hold the consolidated
        metadata and may reach ``limits.MAX_CONSOLIDATED_BYTES`` (256 MiB); every other
        document ``limits.MAX_DOCUMENT_BYTES`` (16 MiB) (FORMAT.md 5).

    Raises
    ------
    FormatError
        When the document is larger than its limit or is not valid JSON.
    """
    limit = limits.document_limit(key)
    if len(raw) > limit:
        raise FormatError(f"metadata document of {len(raw)} bytes exceeds the limit of "
                          f"{limit} bytes (hdmf_zarr.format.limits)", key)
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_parse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"metadata document is not valid JSON ({exc})", key) from None


def _parse_constant(token: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[token]


def get_json(store: Store, key: str) -> Any | None:
    """Return the parsed JSON document at ``key``, or None when the key is absent."""
    raw = get_bytes(store, key)
    return None if raw is None else loads_json(raw, key)


def list_prefix(store: Store, prefix: str) -> list[str]:
    """Every key below ``prefix`` (recursive)."""
    check_key(prefix.rstrip("/"))

    async def run():
        return [k async for k in store.list_prefix(prefix)]

    return sync(run())


def list_dir(store: Store, prefix: str) -> list[str]:
    """Immediate children (keys and sub-prefixes, without trailing ``/``) of ``prefix``."""
    check_key(prefix.rstrip("/"))

    async def run():
        return [k async for k in store.list_dir(prefix)]

    return sync(run())


def list_dirs(store: Store, prefixes: Iterable[str]) -> list[list[str]]:
    """:func:`list_dir` of several prefixes, listed concurrently (one round trip)."""
    prefixes = list(prefixes)
    for prefix in prefixes:
        check_key(prefix.rstrip("/"))

    async def one(prefix: str) -> list[str]:
        return [k async for k in store.list_dir(prefix)]

    async def run() -> list[list[str]]:
        return list(await asyncio.gather(*(one(p) for p in prefixes)))

    return sync(run())


def exists(store: Store, key: str) -> bool:
    """True when ``key`` is present in the store."""
    return sync(store.exists(key))


def delete_keys(store: Store, keys: Iterable[str]) -> None:
    """Delete the given keys (absent keys are ignored; nothing happens on stores that cannot
    delete, such as zip)."""
    keys = list(keys)
    if not keys or not getattr(store, "supports_deletes", True):
        return

    async def run():
        await asyncio.gather(*(store.delete(k) for k in keys))

    sync(run())


def delete_prefix(store: Store, prefix: str) -> None:
    """Delete every key below ``prefix`` (a node and its chunks)."""
    prefix = prefix.strip("/")
    if not prefix:
        raise ValueError("refusing to delete the whole store")

    async def run():
        await store.delete_dir(prefix)

    sync(run())
