"""Where a store keeps its data: the local path or URL of a store, or of a Zarr array.

These name stores in messages and decide whether two stores are the same file (external links,
``ZarrIO.is_remote``). Re-exported by :mod:`hdmf_zarr.storage`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zarr.abc.store import Store
from zarr.storage import LocalStore, MemoryStore, ZipStore

from ..zarr_bridge.wrapped_store import inner_store

__all__ = ["array_location", "store_location"]


def store_location(store: Store) -> str | None:
    """Absolute path or URL of a store; None for stores without one (memory)."""
    if isinstance(store, LocalStore):
        return os.path.abspath(str(store.root))
    if isinstance(store, ZipStore):
        return os.path.abspath(str(store.path))
    if isinstance(store, MemoryStore):
        return None
    if type(store).__name__ == "ObjectStore" and hasattr(store, "store"):
        return _object_store_location(store.store)
    for attr in ("path", "url", "root"):
        value = getattr(store, attr, None)
        if isinstance(value, (str, Path)):
            fs = getattr(store, "fs", None)
            protocol = getattr(fs, "protocol", None)
            if isinstance(protocol, (tuple, list)):
                protocol = protocol[0]
            if protocol and protocol not in ("file", "local") and "://" not in str(value):
                return f"{protocol}://{value}"
            return str(value)
    wrapped = inner_store(store)
    if wrapped is not None:
        return store_location(wrapped)
    return None


def _object_store_location(inner: Any) -> str | None:
    """Location of an obstore store (inside Zarr's ``ObjectStore``): a local path or a URL;
    None for memory stores and kinds without one."""
    kind = type(inner).__name__
    prefix = getattr(inner, "prefix", None)
    if kind == "LocalStore":
        return os.path.abspath(str(prefix)) if prefix is not None else None
    config = getattr(inner, "config", None) or {}
    scheme = {"S3Store": "s3", "GCSStore": "gs"}.get(kind)
    if scheme and config.get("bucket"):
        tail = str(prefix).strip("/") if prefix else ""
        return f"{scheme}://{config['bucket']}" + (f"/{tail}" if tail else "")
    url = getattr(inner, "url", None)
    if kind == "HTTPStore" and url:
        return str(url).rstrip("/")
    return None


def array_location(data: Any) -> tuple[str, str] | None:
    """``(store location, absolute array path)`` of a Zarr array (or one of our lazy arrays);
    None for anything else or for arrays of in-memory stores."""
    import zarr

    if isinstance(data, zarr.Array):
        loc = store_location(data.store)
        if loc is None:
            return None
        return loc, "/" + data.path.strip("/")
    getter = getattr(data, "hdmf_zarr_location", None)
    if getter is not None:
        return getter
    return None
