"""Choosing a layout from a format number or from root documents (format/select.py, FORMAT.md 4)."""

from __future__ import annotations

import pytest

from hdmf_zarr.format.layout2 import L2
from hdmf_zarr.format.layout3 import L3
from hdmf_zarr.format.select import as_layout, layout_for, layout_of_document, layout_of_documents


@pytest.mark.parametrize(("number", "cls"), [(2, L2), (3, L3)])
def test_layout_for_known_formats(number, cls):
    layout = layout_for(number)
    assert type(layout) is cls
    assert layout.zarr_format == number
    assert layout_for(number) is not layout  # a fresh object each time


@pytest.mark.parametrize("bad", [1, 4, "3", 3.0, True, None])
def test_layout_for_refuses_other_values(bad):
    with pytest.raises(ValueError, match="zarr_format must be 2 or 3"):
        layout_for(bad)


def test_as_layout_keeps_a_layout_and_maps_numbers():
    layout = L3()
    assert as_layout(layout) is layout
    assert type(as_layout(2)) is L2
    with pytest.raises(ValueError):
        as_layout(5)


@pytest.mark.parametrize(("names", "expected"), [
    (["zarr.json"], "L3"),
    ([".zgroup", ".zattrs"], "L2"),
    ([".zmetadata"], "L2"),
    ([".zarray"], "L2"),
    ([".zgroup", "zarr.json"], "L3"),  # both: L3 (FORMAT.md 4)
    (iter(["acquisition", "zarr.json"]), "L3"),
    ([".zattrs"], None),  # attributes alone do not make a node
    (["c.0", "0.0"], None),
    ([], None),
])
def test_layout_of_documents(names, expected):
    layout = layout_of_documents(names)
    assert (None if layout is None else layout.name) == expected


@pytest.mark.parametrize(("name", "doc", "expected"), [
    ("zarr.json", {"zarr_format": 3, "node_type": "group"}, "L3"),
    ("zarr.json", {"zarr_format": 2}, None),
    (".zgroup", {"zarr_format": 2}, "L2"),
    (".zarray", {"zarr_format": 2, "shape": [1]}, "L2"),
    (".zgroup", {"zarr_format": 3}, None),
    (".zgroup", {"zarr_format": 2.0}, None),
    (".zattrs", {"zarr_format": 2}, None),
    ("zarr.json", [3], None),
    ("zarr.json", None, None),
])
def test_layout_of_document(name, doc, expected):
    layout = layout_of_document(name, doc)
    assert (None if layout is None else layout.name) == expected
