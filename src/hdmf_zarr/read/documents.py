"""The node documents of a store: detecting its layout and loading every node's documents
(DESIGN.md, "The reader"; FORMAT.md 4, 2.7, 3.7).

All node documents are fetched first: one request where consolidated metadata exists, a listing
walk otherwise. ``read.builders`` then makes builders from them without opening arrays.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from ..errors import FormatError, NotHdmfStoreError
from ..format.layout import Layout
from ..format.layout2 import L2
from ..format.limits import check_node_depth
from ..format.select import layout_of_document
from ..storage._keys import is_safe_key
from ..zarr_bridge import store_io

__all__ = ["NodeDocument", "detect_layout", "layout_of_root_documents", "load_documents",
           "pick_version"]


@dataclass
class NodeDocument:
    """The parsed documents of one node: ``kind`` is ``group`` or ``array``; ``meta`` the array
    metadata (``.zarray`` or ``zarr.json`` without attributes); ``attrs`` the raw attributes."""

    kind: str
    meta: dict
    attrs: dict


def detect_layout(store, root_documents: dict | None = None,
                  fetched: dict[str, bytes | None] | None = None) -> Layout:
    """The layout of the store's root (FORMAT.md section 4).

    Parameters
    ----------
    store : zarr.abc.store.Store
    root_documents : dict, optional
        Filled with the parsed root documents read on the way (``zarr.json``, ``.zattrs``,
        ``.zmetadata``), so that callers need not fetch and parse them again (the root
        ``zarr.json`` holds the consolidated metadata and can be large).
    fetched : dict, optional
        Root keys fetched already (store key -> bytes, None when absent: see
        ``read.opening.fetch_root``); only keys missing from it are asked of the store.

    Raises
    ------
    NotHdmfStoreError
        When the root holds no Zarr group of either format (or holds an array).
    """
    known = dict(fetched or {})

    def get(keys: list[str]) -> dict[str, bytes | None]:
        missing = [k for k in keys if k not in known]
        if missing:
            known.update(store_io.get_many(store, missing))
        return {k: known[k] for k in keys}

    raw = get(["zarr.json"])["zarr.json"]
    if raw is not None:
        root = store_io.loads_json(raw, "zarr.json")
        if root_documents is not None:
            root_documents["zarr.json"] = root
        layout = layout_of_document("zarr.json", root)
        if layout is not None:
            if root.get("node_type") != "group":
                raise NotHdmfStoreError("the store root is a Zarr array, not a group", "/")
            if get([".zgroup"])[".zgroup"] is not None:
                warnings.warn("the store holds both zarr.json and .zgroup at its root; reading "
                              "it as L3 (Zarr format 3)", UserWarning, stacklevel=3)
            return layout
    # L2: consolidated metadata alone identifies it (FORMAT.md 4) and holds the root documents;
    # when the caller fetched the root documents but not it (reading without it), .zgroup
    # decides without asking for .zmetadata
    skip = ".zmetadata" not in known and known.get(".zgroup") is not None
    raw = None if skip else get([".zmetadata"])[".zmetadata"]
    if raw is not None:
        try:
            zmeta = store_io.loads_json(raw, ".zmetadata")
        except FormatError:
            zmeta = None  # unreadable consolidated metadata: fall back to the root documents
        md = zmeta.get("metadata") if isinstance(zmeta, dict) else None
        if isinstance(md, dict) and isinstance(md.get(".zgroup"), dict):
            if root_documents is not None:
                root_documents[".zmetadata"] = zmeta
                root_documents[".zattrs"] = md.get(".zattrs") or {}
            return L2()
    docs = get([".zgroup", ".zattrs"])
    if root_documents is not None and docs[".zattrs"] is not None:
        root_documents[".zattrs"] = store_io.loads_json(docs[".zattrs"], ".zattrs")
    if docs[".zgroup"] is not None:
        root = store_io.loads_json(docs[".zgroup"], ".zgroup")
        layout = layout_of_document(".zgroup", root)
        if layout is not None:
            return layout
    if get([".zarray"])[".zarray"] is not None:
        raise NotHdmfStoreError("the store root is a Zarr array, not a group", "/")
    raise NotHdmfStoreError(
        "not a Zarr store: no Zarr group at the store root (no zarr.json or .zgroup)", "/")


def layout_of_root_documents(root_documents: dict) -> Layout | None:
    """The layout :func:`detect_layout` found, from the parsed root documents it left (an L3
    root ``zarr.json``, or the L2 root ``.zattrs``); None when they do not say."""
    layout = layout_of_document("zarr.json", root_documents.get("zarr.json"))
    if layout is None and ".zattrs" in root_documents:
        layout = L2()
    return layout


def _v3_node(doc: dict, key: str) -> NodeDocument:
    if not isinstance(doc, dict):
        raise FormatError("zarr.json is not a JSON object", key)
    attrs = doc.get("attributes")
    attrs = {} if attrs is None else attrs
    if not isinstance(attrs, dict):
        raise FormatError("the attributes of zarr.json are not a JSON object", key)
    if doc.get("node_type") == "array":
        meta = {k: v for k, v in doc.items() if k not in ("attributes",)}
        return NodeDocument("array", meta, attrs)
    if doc.get("node_type") == "group":
        return NodeDocument("group", {}, attrs)
    raise FormatError(f"unknown node_type {doc.get('node_type')!r}", key)


def load_documents(store, layout: Layout, use_consolidated: bool,
                   root: dict | None = None,
                   zmetadata: dict | None = None) -> dict[str, NodeDocument]:
    """Every node document of the store, keyed by node path relative to the root (``""`` root).

    Uses consolidated metadata when ``use_consolidated`` and it exists, else walks the listing.
    ``root`` (L3 root ``zarr.json``) and ``zmetadata`` (L2 ``.zmetadata``) are the parsed
    documents when the caller has them already.

    Raises
    ------
    FormatError
        When a node lies deeper than ``limits.MAX_NODE_DEPTH`` (FORMAT.md 5), among others.
    """
    nodes = _load_documents(store, layout, use_consolidated, root, zmetadata)
    for path in nodes:
        check_node_depth(path)
    return nodes


def _load_documents(store, layout: Layout, use_consolidated: bool, root: dict | None,
                    zmetadata: dict | None) -> dict[str, NodeDocument]:
    if layout.consolidated_in_root():
        if root is None:
            root = store_io.get_json(store, "zarr.json")
        nodes = {"": _v3_node(root, "zarr.json")}  # type: ignore[arg-type]  # None: FormatError
        cons = root.get("consolidated_metadata") if use_consolidated and \
            isinstance(root, dict) else None
        if isinstance(cons, dict) and isinstance(cons.get("metadata"), dict):
            for rel, doc in cons["metadata"].items():
                nodes[_consolidated_name(rel.strip("/") if isinstance(rel, str) else rel,
                                         rel, "zarr.json")] = _v3_node(doc, rel)
            return nodes
        _walk(store, "", nodes, layout)
        return nodes
    nodes = {}
    if use_consolidated:
        zmeta = zmetadata if zmetadata is not None else store_io.get_json(store, ".zmetadata")
        if isinstance(zmeta, dict) and isinstance(zmeta.get("metadata"), dict):
            md = zmeta["metadata"]
            orphans = []
            for key, doc in md.items():
                if not isinstance(key, str):
                    continue
                parent, _, leaf = key.rpartition("/")
                _consolidated_name(parent, key, ".zmetadata")
                if leaf == ".zgroup":
                    nodes[parent] = NodeDocument("group", {}, _attrs_doc(
                        md.get(_k(parent, ".zattrs")), _k(parent, ".zattrs")))
                elif leaf == ".zarray":
                    nodes[parent] = NodeDocument("array", _array_doc(doc, key), _attrs_doc(
                        md.get(_k(parent, ".zattrs")), _k(parent, ".zattrs")))
                elif leaf == ".zattrs":
                    orphans.append(parent)
            if "" in nodes:
                # FORMAT.md 2.7: fall back to the node documents for what the consolidated
                # metadata visibly misses (attributes of a node with no .zgroup/.zarray entry)
                missing = [p for p in orphans if p not in nodes]
                if missing:
                    _read_nodes(store, missing, nodes, layout)
                return nodes
            nodes = {}
    docs = store_io.get_many(store, [".zgroup", ".zattrs"])
    attrs = store_io.loads_json(docs[".zattrs"], ".zattrs") if docs[".zattrs"] else {}
    nodes[""] = NodeDocument("group", {}, attrs)
    _walk(store, "", nodes, layout)
    return nodes


def _consolidated_name(name, entry, document: str) -> str:
    """A node path named by consolidated metadata, refused (``FormatError`` naming the entry)
    when it could leave the store (``..``, ``.``, empty components: FORMAT.md 5)."""
    if not is_safe_key(name):
        raise FormatError(f"the consolidated metadata entry {entry!r} names a node path that "
                          "leaves the store ('..', '.' or empty components)", document)
    return name


def _attrs_doc(doc, key: str) -> dict:
    """An attributes document (``{}`` when absent); FormatError unless a JSON object."""
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise FormatError("attributes document is not a JSON object", key)
    return doc


def _array_doc(doc, key: str) -> dict:
    if not isinstance(doc, dict):
        raise FormatError(".zarray is not a JSON object", key)
    return doc


def _read_nodes(store, paths: list[str], nodes: dict, layout: Layout) -> None:
    """Add the L2 node documents of ``paths`` read from the store (and walk below groups)."""
    for path in paths:
        keys = [_k(path, d) for d in (".zgroup", ".zarray", ".zattrs")]
        docs = store_io.get_many(store, keys)
        zg, za, zat = (docs[k] for k in keys)
        attrs = _attrs_doc(store_io.loads_json(zat, keys[2]) if zat else {}, keys[2])
        if za is not None:
            nodes[path] = NodeDocument("array", _array_doc(store_io.loads_json(za, keys[1]),
                                                           keys[1]), attrs)
        elif zg is not None:
            nodes[path] = NodeDocument("group", {}, attrs)
            _walk(store, path, nodes, layout)


def _k(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _walk(store, path: str, nodes: dict, layout: Layout) -> None:
    """Walk the listing below ``path`` and add every node document found: one level of the
    hierarchy at a time, the listings of a level and then its documents each in one
    concurrent batch (two round trips per level on a remote store)."""
    parse = _CHILD_PARSERS[layout.node_documents]
    level = [path]
    while level:
        listings = store_io.list_dirs(store, [_k(p, "") if p else "" for p in level])
        children = []
        for parent, found in zip(level, listings):
            # an empty name (a key ``a//b``, a zip member ``/x``) is no node: following it
            # would list the same prefix again and again
            names = [n for n in found if n and "/" not in n and not n.startswith(".")
                     and n not in ("zarr.json", "c")]
            if names:
                check_node_depth(_k(parent, names[0]))
            children += [_k(parent, n) for n in names]
        docs = store_io.get_many(store, [_k(c, d) for c in children
                                         for d in layout.node_documents])
        level = []
        for child in children:
            node = parse(docs, child)
            if node is None:
                continue
            nodes[child] = node
            if node.kind == "group":
                level.append(child)


def _v3_child(docs: dict, child: str) -> NodeDocument | None:
    raw = docs[_k(child, "zarr.json")]
    if raw is None:
        return None
    return _v3_node(store_io.loads_json(raw, _k(child, "zarr.json")), child)


def _v2_child(docs: dict, child: str) -> NodeDocument | None:
    zg, za, zat = (docs[_k(child, d)] for d in (".zgroup", ".zarray", ".zattrs"))
    attrs = _attrs_doc(store_io.loads_json(zat, _k(child, ".zattrs")) if zat else {},
                       _k(child, ".zattrs"))
    if za is not None:
        return NodeDocument("array", _array_doc(
            store_io.loads_json(za, _k(child, ".zarray")), _k(child, ".zarray")), attrs)
    if zg is not None:
        return NodeDocument("group", {}, attrs)
    return None


#: How a child's documents become a node, by the documents a node of the layout has
_CHILD_PARSERS = {("zarr.json",): _v3_child, (".zgroup", ".zarray", ".zattrs"): _v2_child}


def _version_key(name: str):
    parts = []
    for p in name.split("."):
        parts.append((0, int(p), "") if p.isdigit() else (1, 0, p))
    return parts


def pick_version(names: list[str]) -> str:
    """The highest version among a namespace group's children (FORMAT.md 2.6)."""
    candidates = [n for n in names if n not in ("unversioned", "None")] or list(names)
    return max(candidates, key=_version_key)
