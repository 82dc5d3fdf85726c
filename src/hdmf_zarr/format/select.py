"""Choosing a layout: from a Zarr format number, or from the documents at a store's root.

Code that holds a :class:`~hdmf_zarr.format.layout.Layout` asks it; code that holds only a Zarr
format number given by a user (``ZarrIO(zarr_format=2)``, ``hdmf-zarr convert --zarr-format``,
``ZarrDataIO.from_h5py_dataset(zarr_format=...)``) gets the layout from :func:`layout_for`, and
code that looks at an existing store gets it from :func:`layout_of_documents` (names of the keys
present) or :func:`layout_of_document` (one parsed document), the detection rules of FORMAT.md
section 4. These are the only places that turn a format number or a document name into a layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .layout import Layout
from .layout2 import L2
from .layout3 import L3

__all__ = ["LAYOUTS", "layout_for", "as_layout", "layout_of_documents", "layout_of_document"]

#: Every layout, newest first (the order in which detection prefers them: FORMAT.md 4 reads a
#: root holding both ``zarr.json`` and ``.zgroup`` as L3).
LAYOUTS: tuple[Layout, ...] = (L3(), L2())


def layout_for(zarr_format: int) -> Layout:
    """The layout written with Zarr format ``zarr_format`` (FORMAT.md 2 and 3).

    Parameters
    ----------
    zarr_format : int
        2 (layout L2) or 3 (layout L3).

    Returns
    -------
    Layout
        A new ``L2`` or ``L3`` object.

    Raises
    ------
    ValueError
        For any other value (also ``True``, ``2.0`` or ``"3"``), naming it.
    """
    if type(zarr_format) is int:
        for layout in LAYOUTS:
            if layout.zarr_format == zarr_format:
                return type(layout)()
    raise ValueError(f"zarr_format must be 2 or 3, not {zarr_format!r}")


def as_layout(layout: Layout | int) -> Layout:
    """``layout`` itself, or the layout of a Zarr format number (:func:`layout_for`).

    For functions that accept either, such as ``write.codecs.codec_kwargs``.

    Raises
    ------
    ValueError
        A number other than 2 or 3.
    """
    return layout if isinstance(layout, Layout) else layout_for(layout)


def layout_of_documents(names: Iterable[str]) -> Layout | None:
    """The layout of a node from the names of the documents stored for it (FORMAT.md 4).

    Only names are looked at, so a caller that has listed a store (or a directory of a zip)
    can decide without reading any document; read the document and call
    :func:`layout_of_document` to also check its ``zarr_format``.

    Parameters
    ----------
    names : iterable of str
        Key names relative to the node (``"zarr.json"``, ``".zgroup"``, ``".zarray"``,
        ``".zattrs"``, ``".zmetadata"``, chunk names...). Other names are ignored.

    Returns
    -------
    Layout or None
        L3 when ``zarr.json`` is among them (also when L2 documents are present too), L2 when
        ``.zgroup``, ``.zarray`` or ``.zmetadata`` is, None otherwise.
    """
    present = set(names)
    for layout in LAYOUTS:
        if present.intersection(layout.identifying_documents):
            return type(layout)()
    return None


def layout_of_document(name: str, document: Any) -> Layout | None:
    """The layout of a parsed node document when its name and ``zarr_format`` agree.

    Parameters
    ----------
    name : str
        The document's name (last key component): ``"zarr.json"``, ``".zgroup"`` or
        ``".zarray"``.
    document : object
        The parsed JSON document (anything: a non-dict gives None).

    Returns
    -------
    Layout or None
        L3 for a ``zarr.json`` whose ``zarr_format`` is 3, L2 for a ``.zgroup``/``.zarray``
        whose ``zarr_format`` is 2 (FORMAT.md 4), None otherwise (other names, other numbers,
        a document that is not a JSON object).
    """
    if not isinstance(document, dict):
        return None
    for layout in LAYOUTS:
        if name in layout.node_documents and name != layout.attributes_document and \
                document.get("zarr_format") == layout.zarr_format and \
                type(document.get("zarr_format")) is int:
            return type(layout)()
    return None
