"""Reading cached specifications (FORMAT.md 2.6, 3.6): the one-text arrays that hold them, and the
namespaces a store caches."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FormatError, HdmfZarrError
from ..format.layout import SPEC_LOC_ATTR, Layout
from ..zarr_bridge import store_io
from ..zarr_bridge.prefetched import PrefetchedStore
from .documents import detect_layout, pick_version
from .early import consolidated_arrays, early_chunk_keys

__all__ = ["read_text_scalar", "load_cached_namespaces", "cached_namespaces",
           "consolidated_documents"]


def read_text_scalar(store, path: str, layout, document: dict | None = None) -> str:
    """The text of a scalar text dataset: 0-d or shape ``[1]``, either layout.

    ``document`` is the array's ``zarr.json`` (L3) or ``.zarray`` (L2) when the caller has it
    already.

    Raises
    ------
    FormatError
        When the node is missing or does not hold exactly one text value.
    """
    from ..zarr_bridge.object_array import ObjectArrayV2, is_object_array_v2
    from .lazy import array_from_metadata

    key = path.strip("/")
    name = layout.array_document
    doc = document if document is not None else \
        store_io.get_json(store, store_io.node_key(key, name))
    if doc is not None and not isinstance(doc, dict):
        raise FormatError(f"{name} of the cached specification is not a JSON object", path)
    meta = None if doc is None else layout.array_metadata(doc)
    if meta is None:
        raise FormatError("cached specification is missing", path)
    arr: Any
    if layout.has_object_arrays() and is_object_array_v2(meta):
        arr = ObjectArrayV2(store, key, meta)
    else:
        arr = array_from_metadata(store, key, meta, {}, layout.zarr_format)
    shape = tuple(arr.shape)
    if shape not in ((), (1,)):
        raise FormatError(f"cached specification has shape {shape}, expected () or (1,)", path)
    value = arr[()] if shape == () else arr[0]
    if isinstance(value, np.ndarray):
        value = value[()]
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise FormatError("cached specification is not text", path)
    return str(value)


def load_cached_namespaces(namespace_catalog, store, namespaces, source: str,
                           root_docs: dict | None = None, use_consolidated: bool = True,
                           fetched: dict | None = None, early: dict | None = None,
                           prefetch: int = 0) -> dict:
    """Load the namespaces cached in an open store (FORMAT.md 2.6, 3.6) into a catalog.

    Parameters
    ----------
    namespace_catalog : hdmf.spec.NamespaceCatalog or hdmf.build.TypeMap
    store : zarr.abc.store.Store
    namespaces : list of str or None
        The namespaces to load; None loads every cached one.
    source : str
        The store location, for messages.
    root_docs : dict, optional
        Receives the parsed root documents (for reuse by the caller).
    use_consolidated : bool, optional
        False (mode ``r-``) reads the spec documents themselves, not the consolidated copy.
    fetched : dict, optional
        Root keys fetched already (``read.opening.fetch_root``), for ``detect_layout``.
    early : dict, optional
        Receives store key -> bytes (None: absent) of the chunks ``read()`` will need, fetched
        in the batch of the specifications (``read.early``; only with consolidated metadata).
    prefetch : int, optional
        The reader's prefetch budget in bytes (``read.prefetch.prefetch_budget``): the small
        datasets it will prefetch come in the same batch.

    Returns
    -------
    dict
        Namespace name -> {included namespace -> included types}, as hdmf returns it; empty
        when the store caches no specifications.

    Raises
    ------
    KeyError
        When a requested namespace is not cached.
    FormatError
        When the cached specifications cannot be loaded.
    """
    from ..utils import ZarrSpecReader

    root_docs = {} if root_docs is None else root_docs
    layout = detect_layout(store, root_docs, fetched)
    if not use_consolidated:
        root_docs = {k: v for k, v in root_docs.items() if k != ".zmetadata"}
        if "zarr.json" in root_docs:
            root_docs["zarr.json"] = {k: v for k, v in root_docs["zarr.json"].items()
                                      if k != "consolidated_metadata"}
    specloc, versions = cached_namespaces(store, layout, root_docs)
    if specloc is None:
        return {}
    if namespaces is None:
        namespaces = list(versions)
    for name in namespaces:
        if name not in versions:
            raise KeyError(f"{source}: namespace {name!r} is not cached in this store")
    groups = {name: f"{specloc}/{name}/{versions[name]}" for name in namespaces}
    documents = consolidated_documents(root_docs)
    # every spec array hdmf will read, in one concurrent batch (one round trip)
    extra = early_chunk_keys(documents, layout, specloc, prefetch) \
        if early is not None and documents is not None else []
    reads = _prefetch_specs(store, layout, groups, documents, _loaded(namespace_catalog),
                            extra, early)
    readers = {name: ZarrSpecReader(reads, group, layout, source=f"{source}:/{group}",
                                    documents=documents) for name, group in groups.items()}
    try:
        return namespace_catalog.load_namespaces("namespace", reader=readers)
    except HdmfZarrError:
        raise
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        # hdmf's spec loader fails with these on malformed cached specifications
        raise FormatError(f"the cached specifications cannot be loaded "
                          f"({type(exc).__name__}: {exc})", f"{source}:/{specloc}") from exc


def _loaded(namespace_catalog) -> frozenset:
    """Names of the namespaces a catalog (or a TypeMap's) holds already: hdmf ignores cached
    namespaces of those names and reads only their namespace documents."""
    catalog = getattr(namespace_catalog, "namespace_catalog", namespace_catalog)
    try:
        return frozenset(catalog.namespaces)
    except Exception:  # a catalog without the attribute: fetch every spec array
        return frozenset()


def _prefetch_specs(store, layout: Layout, groups: dict[str, str], documents: dict | None,
                    loaded: frozenset, extra: list[str] | None = None,
                    early: dict | None = None):
    """A view of ``store`` holding the chunks of the cached spec arrays hdmf will read, fetched
    in one concurrent batch: the ``namespace`` document of every namespace, and every spec
    source of the namespaces ``loaded`` does not name. The ``extra`` keys come in the same
    batch and land in ``early``. Without consolidated metadata the store itself is returned
    (the arrays are read one by one)."""
    if documents is None:
        return store
    keys = []
    for name, group in groups.items():
        prefix = group.strip("/") + "/"
        for path in _spec_arrays(documents, layout, prefix):
            if name in loaded and path != prefix + "namespace":
                continue
            doc = documents.get(layout.consolidated_array_key(path))
            chunk = layout.first_chunk_key(doc) if isinstance(doc, dict) else None
            if chunk is not None:
                keys.append(store_io.node_key(path, chunk))
    if not keys and not extra:
        return store
    found = store_io.get_many(store, keys + [k for k in extra or () if k not in keys])
    if early is not None:
        early.update((k, found.get(k)) for k in extra or ())
    return PrefetchedStore(store, {k: found.get(k) for k in keys}) if keys else store


def _spec_arrays(documents: dict, layout: Layout, prefix: str) -> list[str]:
    """Node paths of the arrays directly below the group ``prefix`` (``a/b/``) named by the
    consolidated metadata ``documents``."""
    return [path for path, _meta in consolidated_arrays(documents, layout)
            if path.startswith(prefix) and "/" not in path[len(prefix):]]


def consolidated_documents(root_docs: dict) -> dict | None:
    """Consolidated documents of the parsed root documents: ``{node path: zarr.json}`` (L3) or
    ``{"path/.zarray": document, ...}`` (L2); None without consolidated metadata."""
    cons = (root_docs.get("zarr.json") or {}).get("consolidated_metadata")
    if isinstance(cons, dict) and isinstance(cons.get("metadata"), dict):
        return cons["metadata"]
    md = (root_docs.get(".zmetadata") or {}).get("metadata")
    return md if isinstance(md, dict) else None


def cached_namespaces(store, layout: Layout, root_docs: dict) -> tuple[str | None, dict]:
    """``(spec location, {namespace: highest version})`` of a store; the consolidated metadata
    of the parsed root document is used when present, else the spec group is listed."""
    if layout.consolidated_in_root():
        root = root_docs.get("zarr.json") or {}
        attrs = root.get("attributes") or {}
        cons = root.get("consolidated_metadata")
        keys = list(cons["metadata"]) if isinstance(cons, dict) and isinstance(
            cons.get("metadata"), dict) else None
    else:
        attrs = root_docs.get(".zattrs") or {}
        md = (root_docs.get(".zmetadata") or {}).get("metadata")
        keys = None
        if isinstance(md, dict):
            keys = [k.rpartition("/")[0] for k in md if k.endswith("/.zarray")]
            keys += [k.rpartition("/")[0] for k in md if k.endswith("/.zgroup")]
    value = attrs.get(SPEC_LOC_ATTR)
    if value is None:
        return None, {}
    specloc = Layout._decode_specloc(value, "/")
    found: dict[str, list[str]] = {}
    if keys is not None:
        prefix = specloc + "/"
        for key in keys:
            parts = key[len(prefix):].split("/") if key.startswith(prefix) else []
            if len(parts) == 2:
                found.setdefault(parts[0], []).append(parts[1])
    else:
        for name in store_io.list_dir(store, specloc):
            if name.startswith(".") or name == "zarr.json":
                continue
            found[name] = [v for v in store_io.list_dir(store, f"{specloc}/{name}")
                           if not v.startswith(".") and v != "zarr.json"]
    return specloc, {name: pick_version(v) for name, v in found.items() if v}
