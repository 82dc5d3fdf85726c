"""Builder paths and link sources between stores (write/paths.py; FORMAT.md 2.4, 3.8)."""

from __future__ import annotations

import pytest
from hdmf.build import DatasetBuilder, GroupBuilder

from hdmf_zarr.errors import UnsupportedDataError
from hdmf_zarr.write.paths import builder_path, relative_source, root_of


def test_builder_path_and_root():
    root = GroupBuilder("root")
    group = GroupBuilder("g")
    root.set_group(group)
    data = DatasetBuilder("d", data=[1])
    group.set_dataset(data)
    assert builder_path(root) == "/"
    assert builder_path(data) == "/g/d"
    assert root_of(data) is root
    assert root_of(root) is root


def test_relative_source_between_directories(tmp_path):
    here = str(tmp_path / "a" / "f.zarr")
    there = str(tmp_path / "b" / "g.zarr")
    assert relative_source(there, here, "/l") == "../../b/g.zarr"


def test_relative_source_between_urls_of_one_host():
    assert relative_source("s3://bucket/b/g.zarr", "s3://bucket/a/f.zarr", "/l") == \
        "../../b/g.zarr"
    with pytest.raises(UnsupportedDataError, match="other host"):
        relative_source("s3://other/g.zarr", "s3://bucket/f.zarr", "/l")


def test_relative_source_from_a_store_without_location():
    # a store with no location (a MemoryStore): an UnsupportedDataError naming the link, not
    # the TypeError ("argument of type 'NoneType' is not iterable") of earlier versions
    with pytest.raises(UnsupportedDataError, match="relative to this store") as info:
        relative_source("/data/g.zarr", None, "/acquisition/l")
    assert info.value.path == "/acquisition/l"


def test_relative_source_refuses_hdf5_and_mixed_locations(tmp_path):
    with pytest.raises(UnsupportedDataError, match="HDF5"):
        relative_source(str(tmp_path / "x.nwb"), str(tmp_path / "f.zarr"), "/l")
    with pytest.raises(UnsupportedDataError, match="relative to this store"):
        relative_source("s3://bucket/g.zarr", str(tmp_path / "f.zarr"), "/l")
