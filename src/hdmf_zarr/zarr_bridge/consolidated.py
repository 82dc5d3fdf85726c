"""Consolidated metadata that Zarr-Python 3 cannot write for our stores.

``zarr.consolidate_metadata`` parses every array, which fails on the L2 object arrays (pickle,
json2) that Zarr 3 does not know (FORMAT.md 2.8). We build the consolidated document from the
node documents themselves: ``.zmetadata`` in L2 (2.7), the ``consolidated_metadata`` block of the
root ``zarr.json`` in L3 (3.7).
"""

from __future__ import annotations

from ..format.layout import Layout
from . import store_io

__all__ = ["write_consolidated"]

def _document_keys(store, layout: Layout) -> list[str]:
    names = layout.node_documents
    return [k for k in store_io.list_prefix(store, "") if k.rpartition("/")[2] in names]


def write_consolidated(store, layout: Layout, documents: dict | None = None) -> int:
    """Write the consolidated document of the store.

    Parameters
    ----------
    store : zarr.abc.store.Store
    layout : Layout
    documents : dict, optional
        Every node document of the store (store key -> document, or None for a document to
        fetch from the store), as the writer recorded them for a store it created; without it
        the store is listed and every document read.

    Returns
    -------
    int
        The number of node documents consolidated.
    """
    if documents is None:
        keys = _document_keys(store, layout)
        docs = {}
    else:
        keys = [k for k, v in documents.items() if v is None]
        docs = {k: v for k, v in documents.items() if v is not None}
    raw = store_io.get_many(store, keys)
    docs.update({k: store_io.loads_json(v, k) for k, v in raw.items() if v is not None})
    if not layout.consolidated_in_root():  # .zmetadata (FORMAT.md 2.7)
        doc = {"metadata": dict(sorted(docs.items())), "zarr_consolidated_format": 1}
        store_io.set_bytes(store, ".zmetadata", store_io.dumps_json(doc))
        return len(docs)
    root = docs.pop("zarr.json", None) or {"zarr_format": 3, "node_type": "group",
                                            "attributes": {}}
    metadata = {}
    for key, node in sorted(docs.items()):
        node = dict(node)
        if node.get("node_type") == "group":
            node["consolidated_metadata"] = {"kind": "inline", "must_understand": False,
                                             "metadata": {}}
        metadata[key.rpartition("/")[0]] = node
    root = dict(root)
    root["consolidated_metadata"] = {"kind": "inline", "must_understand": False,
                                     "metadata": metadata}
    store_io.set_bytes(store, "zarr.json", store_io.dumps_json(root))
    return len(metadata) + 1
