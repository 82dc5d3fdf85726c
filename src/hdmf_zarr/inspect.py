"""What a store holds, node by node, for ``hdmf-zarr info``.

:func:`walk_store` reads the node documents of a store of either layout (FORMAT.md section 4:
root ``zarr.json`` with ``zarr_format`` 3 is L3, root ``.zgroup``/``.zmetadata`` is L2) straight
from the store, never through ``zarr.open_array``: Zarr-Python 3 cannot open the ``|O`` arrays
(pickle, json2) of legacy L2 stores, and reading documents is all this needs. Consolidated
metadata (``.zmetadata`` in L2, ``consolidated_metadata`` of the root ``zarr.json`` in L3) is
used when present; otherwise the store is listed. One listing of the store gives every chunk
key, whose sizes make the stored bytes of each array.

:func:`format_tree` renders the result as an indented tree with a summary line.
"""

from __future__ import annotations

import asyncio
import json
import math
import posixpath
from dataclasses import dataclass, field
from typing import Any

from zarr.abc.store import Store

from .format.documents import check_node_document
from .format.layout import Layout
from .format.select import layout_for
from .zarr_bridge.runtime import run
from .zarr_bridge.store_io import get_json, get_many, list_prefix, loads_json
from .zarr_bridge.store_state import ensure_open

__all__ = ["NodeInfo", "detect_layout", "walk_store", "format_tree"]

_SIZE_BATCH = 512

# Zarr 3 data types of fixed size (bytes per element).
_V3_ITEMSIZE = {
    "bool": 1,
    "int8": 1, "uint8": 1,
    "int16": 2, "uint16": 2, "float16": 2,
    "int32": 4, "uint32": 4, "float32": 4,
    "int64": 8, "uint64": 8, "float64": 8, "complex64": 8,
    "complex128": 16,
    "numpy.datetime64": 8, "numpy.timedelta64": 8,
}
_V3_SIZED_BY_LENGTH = ("fixed_length_utf32", "fixed_length_ascii", "null_terminated_bytes",
                       "fixed_length_bytes")


@dataclass
class NodeInfo:
    """One group or array of a store, as ``hdmf-zarr info`` reports it.

    Attributes
    ----------
    path : str
        Absolute node path (``/`` is the root, ``/acquisition/es/data`` an array).
    kind : str
        ``"group"`` or ``"array"``.
    zarr_format : int
        2 (layout L2) or 3 (layout L3).
    attributes : dict
        The node's JSON attributes as stored.
    neurodata_type : str or None
        The ``neurodata_type`` attribute, else the ``data_type`` attribute (generic HDMF).
    namespace : str or None
        The ``namespace`` attribute.
    links : int
        Number of links stored on a group (``zarr_link`` in L2, ``_LINKS`` in L3).
    implicit : bool
        True for a group that has no document of its own (a parent implied by its children).
    shape, chunks, inner_chunks : tuple of int or None
        Array shape, chunk shape (the shard shape of a sharded L3 array) and, for a sharded
        array, the inner chunk shape.
    dtype : str, list or dict or None
        The data type as stored: the ``.zarray`` ``dtype`` (L2) or the ``data_type`` (L3).
    hdmf_dtype : str, list or None
        The HDMF dtype attribute when present: ``zarr_dtype`` (L2) or ``_DTYPE`` (L3).
    codecs : list of str
        Codec ids (L2: filters then compressor, e.g. ``["delta", "blosc"]``) or names (L3, e.g.
        ``["bytes", "zstd"]`` or ``["sharding_indexed(bytes,zstd)"]``).
    nchunks : int
        Number of stored chunk (or shard) objects.
    stored_bytes : int or None
        Sum of the sizes of the array's chunk objects.
    uncompressed_bytes : int or None
        Item size times number of elements, for fixed-size data types; None for object, text
        and variable-length data.
    """

    path: str
    kind: str
    zarr_format: int
    attributes: dict = field(default_factory=dict)
    neurodata_type: str | None = None
    namespace: str | None = None
    links: int = 0
    implicit: bool = False
    shape: tuple | None = None
    dtype: Any = None
    hdmf_dtype: Any = None
    chunks: tuple | None = None
    inner_chunks: tuple | None = None
    codecs: list = field(default_factory=list)
    nchunks: int = 0
    stored_bytes: int | None = None
    uncompressed_bytes: int | None = None

    @property
    def name(self) -> str:
        """Last component of the path (``/`` for the root)."""
        return posixpath.basename(self.path) or "/"

    @property
    def depth(self) -> int:
        """0 for the root, 1 for its children ..."""
        return 0 if self.path == "/" else self.path.count("/")

    @property
    def ratio(self) -> float | None:
        """``uncompressed_bytes / stored_bytes``, or None when either is unknown or zero."""
        if not self.uncompressed_bytes or not self.stored_bytes:
            return None
        return self.uncompressed_bytes / self.stored_bytes


# --- detection ------------------------------------------------------------------------------

def _store_layout(store: Store) -> Layout:
    """The layout of the store's root (``read.builders.detect_layout``); a lazily opened store
    (ZipStore) is opened first, since listing needs it."""
    from .read.documents import detect_layout as _detect

    ensure_open(store)
    return _detect(store)


def detect_layout(store: Store) -> str:
    """``"L3"`` or ``"L2"``, by FORMAT.md section 4 (see ``read.builders.detect_layout``).

    Raises
    ------
    NotHdmfStoreError
        When the store root holds no Zarr group (no documents, or an array root).
    """
    return _store_layout(store).name


# --- gathering the documents ----------------------------------------------------------------

def _abs(key_dir: str) -> str:
    return "/" + key_dir.strip("/") if key_dir.strip("/") else "/"


def _split_key(key: str) -> tuple[str, str]:
    parent, _, name = key.rpartition("/")
    return parent, name


def _l2_documents(store: Store, keys: list[str], use_consolidated: bool,
                  layout: Layout) -> dict:
    """``{key: parsed document}`` for every ``.zgroup``/``.zarray``/``.zattrs`` of an L2 store."""
    names = layout.node_documents
    if use_consolidated:
        consolidated = get_json(store, layout.consolidated_key)
        if isinstance(consolidated, dict) and isinstance(consolidated.get("metadata"), dict):
            return {k: v for k, v in consolidated["metadata"].items()
                    if _split_key(k)[1] in names}
    wanted = [k for k in keys if _split_key(k)[1] in names]
    raw = get_many(store, wanted)
    return {k: loads_json(v, k) for k, v in raw.items() if v is not None}


def _flatten_v3(metadata: dict, prefix: str, out: dict) -> None:
    for rel, doc in metadata.items():
        key = f"{prefix}{rel}".strip("/")
        out[key] = doc
        nested = doc.get("consolidated_metadata") if isinstance(doc, dict) else None
        if isinstance(nested, dict) and isinstance(nested.get("metadata"), dict):
            _flatten_v3(nested["metadata"], key + "/", out)


def _l3_documents(store: Store, keys: list[str], use_consolidated: bool,
                  layout: Layout) -> dict:
    """``{node key ('' for the root): zarr.json document}`` of an L3 store."""
    root = get_json(store, layout.consolidated_key)
    consolidated = root.get("consolidated_metadata") if isinstance(root, dict) else None
    if (use_consolidated and isinstance(consolidated, dict)
            and consolidated.get("kind", "inline") == "inline"
            and isinstance(consolidated.get("metadata"), dict)):
        docs = {"": root}
        _flatten_v3(consolidated["metadata"], "", docs)
        return docs
    wanted = [k for k in keys if _split_key(k)[1] in layout.node_documents]
    raw = get_many(store, wanted)
    return {_split_key(k)[0]: loads_json(v, k) for k, v in raw.items() if v is not None}


# --- per-node decoding ----------------------------------------------------------------------

def _type_fields(node: NodeInfo, attrs: dict) -> None:
    node.attributes = attrs
    kind = attrs.get("neurodata_type", attrs.get("data_type"))
    node.neurodata_type = kind if isinstance(kind, str) else None
    namespace = attrs.get("namespace")
    node.namespace = namespace if isinstance(namespace, str) else None
    links = attrs.get(layout_for(node.zarr_format).links_attr)
    node.links = len(links) if isinstance(links, list) else 0


def _tuple(value) -> tuple | None:
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        return tuple(value)
    return None


def _numpy_dtype_v2(dtype) -> Any:
    import numpy as np

    def convert(spec):
        if isinstance(spec, list):
            return [tuple(convert(part) if i == 1 else part for i, part in enumerate(field))
                    for field in spec]
        return spec

    try:
        return np.dtype(convert(dtype))
    except (TypeError, ValueError):
        return None


def _itemsize_v2(dtype) -> int | None:
    dt = _numpy_dtype_v2(dtype)
    if dt is None or dt.hasobject:
        return None
    return int(dt.itemsize)


def _itemsize_v3(data_type) -> int | None:
    if isinstance(data_type, str):
        if data_type in _V3_ITEMSIZE:
            return _V3_ITEMSIZE[data_type]
        if data_type.startswith("r") and data_type[1:].isdigit() and int(data_type[1:]) % 8 == 0:
            return int(data_type[1:]) // 8
        return None
    if not isinstance(data_type, dict):
        return None
    name = data_type.get("name")
    config = data_type.get("configuration") or {}
    if name in _V3_SIZED_BY_LENGTH:
        length = config.get("length_bytes")
        return length if isinstance(length, int) else None
    if name in ("structured", "struct"):
        total = 0
        for entry in config.get("fields") or []:
            if isinstance(entry, dict):
                sub = entry.get("data_type")
            elif isinstance(entry, (list, tuple)) and len(entry) >= 2:
                sub = entry[1]
            else:
                return None
            size = _itemsize_v3(sub)
            if size is None:
                return None
            total += size
        return total
    if isinstance(name, str) and not config:
        return _itemsize_v3(name)
    return None


def _codec_name(codec) -> str:
    if isinstance(codec, str):
        return codec
    if not isinstance(codec, dict):
        return "?"
    name = str(codec.get("name", "?"))
    if name == "sharding_indexed":
        inner = (codec.get("configuration") or {}).get("codecs") or []
        return f"sharding_indexed({','.join(_codec_name(c) for c in inner)})"
    return name


def _array_fields_v2(node: NodeInfo, zarray: dict) -> None:
    node.shape = _tuple(zarray.get("shape"))
    node.chunks = _tuple(zarray.get("chunks"))
    node.dtype = zarray.get("dtype")
    node.hdmf_dtype = node.attributes.get("zarr_dtype")
    codecs = [f.get("id", "?") for f in (zarray.get("filters") or []) if isinstance(f, dict)]
    compressor = zarray.get("compressor")
    if isinstance(compressor, dict):
        codecs.append(compressor.get("id", "?"))
    node.codecs = codecs
    size = _itemsize_v2(node.dtype)
    if size is not None and node.shape is not None:
        node.uncompressed_bytes = size * math.prod(node.shape)


def _array_fields_v3(node: NodeInfo, doc: dict) -> None:
    node.shape = _tuple(doc.get("shape"))
    grid = doc.get("chunk_grid") or {}
    node.chunks = _tuple((grid.get("configuration") or {}).get("chunk_shape"))
    node.dtype = doc.get("data_type")
    node.hdmf_dtype = node.attributes.get("_DTYPE")
    codecs = doc.get("codecs") or []
    node.codecs = [_codec_name(c) for c in codecs]
    for codec in codecs:
        if isinstance(codec, dict) and codec.get("name") == "sharding_indexed":
            node.inner_chunks = _tuple((codec.get("configuration") or {}).get("chunk_shape"))
    size = _itemsize_v3(node.dtype)
    if size is not None and node.shape is not None:
        node.uncompressed_bytes = size * math.prod(node.shape)


def _nodes_l2(docs: dict) -> dict[str, NodeInfo]:
    nodes: dict[str, NodeInfo] = {}
    for key, doc in docs.items():
        parent, name = _split_key(key)
        check_node_document(doc, name, key)  # the reader's checks (FORMAT.md 5)
        if name == ".zattrs":
            continue
        path = _abs(parent)
        node = NodeInfo(path=path, kind="group" if name == ".zgroup" else "array", zarr_format=2)
        attrs = docs.get(f"{parent}/.zattrs" if parent else ".zattrs")
        _type_fields(node, attrs if isinstance(attrs, dict) else {})
        if node.kind == "array":
            _array_fields_v2(node, doc)
        if path not in nodes or node.kind == "array":
            nodes[path] = node
    return nodes


def _nodes_l3(docs: dict) -> dict[str, NodeInfo]:
    nodes: dict[str, NodeInfo] = {}
    for key, doc in docs.items():
        path = _abs(key)
        check_node_document(doc, "zarr.json", path)  # the reader's checks (FORMAT.md 5)
        kind = doc.get("node_type")
        node = NodeInfo(path=path, kind=kind, zarr_format=3)
        attrs = doc.get("attributes")
        _type_fields(node, attrs if isinstance(attrs, dict) else {})
        if kind == "array":
            _array_fields_v3(node, doc)
        nodes[path] = node
    return nodes


# --- chunk sizes ----------------------------------------------------------------------------

def _chunk_owner(key: str, arrays: dict[str, str]) -> str | None:
    """Path of the array owning chunk ``key`` (searching up its parent prefixes)."""
    parent = _split_key(key)[0]
    while True:
        owner = arrays.get(parent)
        if owner is not None:
            return owner
        if not parent:
            return None
        parent = _split_key(parent)[0]


def _sizes(store: Store, keys: list[str]) -> dict[str, int]:
    async def one(key: str) -> int:
        return await store.getsize(key)

    async def all_sizes() -> list[int]:
        out: list[int] = []
        for start in range(0, len(keys), _SIZE_BATCH):
            batch = keys[start:start + _SIZE_BATCH]
            out.extend(await asyncio.gather(*(one(k) for k in batch)))
        return out

    return dict(zip(keys, run(all_sizes()), strict=True))


def _fill_chunk_sizes(store: Store, nodes: dict[str, NodeInfo], keys: list[str],
                      layout: Layout) -> None:
    arrays = {n.path.strip("/"): n.path for n in nodes.values() if n.kind == "array"}
    owned: dict[str, list[str]] = {path: [] for path in arrays.values()}
    for key in keys:
        if layout.is_metadata_name(_split_key(key)[1]):
            continue
        owner = _chunk_owner(key, arrays)
        if owner is not None:
            owned[owner].append(key)
    all_chunks = [k for ks in owned.values() for k in ks]
    sizes = _sizes(store, all_chunks) if all_chunks else {}
    for path, chunk_keys in owned.items():
        node = nodes[path]
        node.nchunks = len(chunk_keys)
        node.stored_bytes = sum(sizes[k] for k in chunk_keys)


def _add_implicit_parents(nodes: dict[str, NodeInfo], zarr_format: int) -> None:
    for path in list(nodes):
        parent = posixpath.dirname(path)
        while path != "/" and parent not in nodes:
            nodes[parent] = NodeInfo(path=parent, kind="group", zarr_format=zarr_format,
                                     implicit=True)
            path, parent = parent, posixpath.dirname(parent)


def _sort_key(node: NodeInfo) -> list[str]:
    return [] if node.path == "/" else node.path.strip("/").split("/")


def walk_store(store: Store, *, use_consolidated: bool = True) -> list[NodeInfo]:
    """Describe every group and array of an hdmf_zarr store (or any Zarr hierarchy).

    Parameters
    ----------
    store : zarr.abc.store.Store
        A Zarr-Python 3 store whose root is a group of Zarr format 2 or 3; it is only read.
    use_consolidated : bool, default True
        Read the node documents from the consolidated metadata when the store has it; False
        lists the store and reads each node's own documents.

    Returns
    -------
    list of NodeInfo
        Root first, then depth first with children sorted by name.

    Raises
    ------
    NotHdmfStoreError
        When the store root is not a Zarr group.
    FormatError
        When a document is not valid JSON or a node type is unknown.
    """
    if not isinstance(store, Store):
        raise TypeError(f"walk_store needs a zarr Store, not {type(store).__name__}")
    layout = _store_layout(store)
    zarr_format = layout.zarr_format
    # zip archives made by other tools may list their directories as keys ending in "/"
    keys = [k for k in list_prefix(store, "") if k and not k.endswith("/")]
    if layout.attributes_document is not None:
        # node documents plus a separate attributes document (L2, FORMAT.md 2.1)
        nodes = _nodes_l2(_l2_documents(store, keys, use_consolidated, layout))
    else:
        # one zarr.json per node, attributes inside (L3, FORMAT.md 3.1)
        nodes = _nodes_l3(_l3_documents(store, keys, use_consolidated, layout))
    if "/" not in nodes:
        nodes["/"] = NodeInfo(path="/", kind="group", zarr_format=zarr_format, implicit=True)
    _add_implicit_parents(nodes, zarr_format)
    _fill_chunk_sizes(store, nodes, keys, layout)
    return sorted(nodes.values(), key=_sort_key)


# --- rendering ------------------------------------------------------------------------------

def _human(n: int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _compact(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) <= {"name", "configuration"} and not value.get(
            "configuration"):
        return str(value.get("name"))
    return json.dumps(value, separators=(",", ":"))


def _shape_text(shape: tuple | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _array_line(node: NodeInfo) -> str:
    dtype = _compact(node.dtype)
    if node.hdmf_dtype is not None and _compact(node.hdmf_dtype) != dtype:
        dtype = f"{dtype} ({_compact(node.hdmf_dtype)})"
    parts = [f"{node.name}  {dtype}  shape {_shape_text(node.shape)}"]
    chunks = f"chunks {_shape_text(node.chunks)}"
    if node.inner_chunks is not None:
        chunks += f" inner {_shape_text(node.inner_chunks)}"
    parts.append(chunks)
    if node.codecs:
        parts.append("codecs " + ",".join(node.codecs))
    parts.append(f"stored {_human(node.stored_bytes)} in {node.nchunks} "
                 f"object{'s' if node.nchunks != 1 else ''}")
    if node.ratio is not None:
        parts.append(f"ratio {node.ratio:.2f}")
    if node.neurodata_type:
        parts.append(f"[{node.neurodata_type}]")
    return "  ".join(parts)


def _group_line(node: NodeInfo) -> str:
    text = "/" if node.path == "/" else node.name + "/"
    if node.neurodata_type:
        ns = f"{node.namespace}:" if node.namespace else ""
        text += f"  [{ns}{node.neurodata_type}]"
    if node.links:
        text += f"  links {node.links}"
    if node.implicit:
        text += "  (implicit)"
    return text


def format_tree(nodes: list[NodeInfo], *, max_depth: int | None = None) -> str:
    """Render nodes from :func:`walk_store` as an indented tree with a summary line.

    Parameters
    ----------
    nodes : list of NodeInfo
        As returned by :func:`walk_store` (root first, depth first).
    max_depth : int, optional
        Hide nodes deeper than this (0 shows the root only); the summary always counts all.

    Returns
    -------
    str
        One line per node, indented two spaces per level, then a summary: number of groups and
        arrays, total stored bytes of all chunks, and the overall ratio (uncompressed over
        stored bytes, over the arrays of fixed-size data types).
    """
    lines = []
    for node in nodes:
        if max_depth is not None and node.depth > max_depth:
            continue
        text = _group_line(node) if node.kind == "group" else _array_line(node)
        lines.append("  " * node.depth + text)
    groups = sum(1 for n in nodes if n.kind == "group")
    arrays = [n for n in nodes if n.kind == "array"]
    stored = sum(n.stored_bytes or 0 for n in arrays)
    sized = [n for n in arrays if n.uncompressed_bytes is not None and n.stored_bytes]
    raw = sum(n.uncompressed_bytes or 0 for n in sized)
    raw_stored = sum(n.stored_bytes or 0 for n in sized)
    layout = ""
    if nodes:
        layout = f"layout L{nodes[0].zarr_format} (Zarr format {nodes[0].zarr_format}): "
    summary = (f"{layout}{groups} group{'s' if groups != 1 else ''}, {len(arrays)} "
               f"array{'s' if len(arrays) != 1 else ''}, {stored} bytes stored "
               f"({_human(stored)})")
    if raw_stored:
        summary += f", ratio {raw / raw_stored:.2f} ({_human(raw)} of fixed-size data " \
                   f"in {_human(raw_stored)})"
    lines.append(summary)
    return "\n".join(lines)
