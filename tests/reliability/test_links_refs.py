"""Link and reference safety (FORMAT.md 2.4, 2.5, 3.5, 5): cycles, dangling targets, sources that
leave every store. The rest of the file reads, the bad object warns on read (links) or raises a
documented error naming its path when touched (references), and reading never writes."""

from __future__ import annotations

import pytest
from _reliability_common import (
    read_all,
    set_attribute,
    set_links,
    set_reference_paths,
    touch_everything,
)

from _shared import snapshot_files
from hdmf_zarr import NWBZarrIO
from hdmf_zarr.errors import HdmfZarrError, ReferenceResolutionError
from hdmf_zarr.read.builders import BrokenLinkWarning

LAYOUTS = [2, 3]


def _broken(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, BrokenLinkWarning)]


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_pristine_read_does_not_write(store_copy, fmt):
    path = store_copy(fmt)
    for mode in ("r", "r-"):
        assert not _broken(read_all(path, mode))


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_link_cycle_in_one_store(store_copy, fmt):
    path = store_copy(fmt)
    set_links(path, fmt, "general/devices", [{"name": "a", "source": ".",
                                               "path": "/general/extracellular_ephys/b"}])
    set_links(path, fmt, "general/extracellular_ephys", [{"name": "b", "source": ".",
                                                          "path": "/general/devices/a"}])
    for mode in ("r", "r-"):
        msgs = _broken(read_all(path, mode))
        assert any("/general/devices/a" in m for m in msgs)
        assert any("/general/extracellular_ephys/b" in m for m in msgs)


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_link_cycle_across_two_stores(store_copy, fmt):
    a = store_copy(fmt, "a.nwb.zarr")
    b = store_copy(fmt, "b.nwb.zarr")
    set_links(a, fmt, "acquisition", [{"name": "ext", "source": "../b.nwb.zarr",
                                       "path": "/acquisition/ext"}])
    set_links(b, fmt, "acquisition", [{"name": "ext", "source": "../a.nwb.zarr",
                                       "path": "/acquisition/ext"}])
    before_b = snapshot_files(b, mtimes=True)
    for mode in ("r", "r-"):
        msgs = _broken(read_all(a, mode))  # terminates (used to recurse without end)
        assert any("/acquisition/ext" in m for m in msgs)
    assert snapshot_files(b, mtimes=True) == before_b


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_valid_external_link_and_self_source(store_copy, fmt):
    a = store_copy(fmt, "a.nwb.zarr")
    b = store_copy(fmt, "b.nwb.zarr")
    # another file's objects have their own ids: the linked container joins a's tree (as with
    # HDF5 external links), where a copy's id would clash with a's own /acquisition/ts
    set_attribute(b, fmt, "acquisition/ts", "object_id", "6f0c1d2e-3b4a-4c5d-8e9f-a0b1c2d3e4f5")
    set_links(a, fmt, "stimulus/presentation", [
        {"name": "ts", "source": "../b.nwb.zarr", "path": "/acquisition/ts"}])
    set_links(a, fmt, "stimulus/templates", [
        {"name": "ts", "source": ".", "path": "/acquisition/ts"}])
    assert not _broken(read_all(a))
    with NWBZarrIO(str(a), "r") as io:
        nwbfile = io.read()
        assert nwbfile.stimulus["ts"].data[:].shape == (10, 2)
        assert nwbfile.stimulus_template["ts"] is nwbfile.acquisition["ts"]


@pytest.mark.parametrize("fmt", LAYOUTS)
@pytest.mark.parametrize("source,path", [
    (".", "/general/nothing"),                    # dangling
    ("../missing.nwb.zarr", "/general/devices/probe"),  # missing store
    ("../../..", "/general/devices/probe"),       # outside every store
    ("../../../../../../../../etc", "/passwd"),
    ("/etc", "/passwd"),                          # absolute foreign source
    ("/", "/general/devices/probe"),
    ("http://example.invalid/x.zarr", "/general/devices/probe"),  # URL
    ("s3://bucket/key", "/x"),
    ("a\x00b", "/general/devices/probe"),         # NUL
])
def test_bad_link_warns_and_the_rest_reads(store_copy, fmt, source, path):
    store = store_copy(fmt)
    set_links(store, fmt, "general/devices", [{"name": "bad", "source": source,
                                               "path": path}])
    for mode in ("r", "r-"):
        try:
            msgs = _broken(read_all(store, mode))
        except HdmfZarrError as exc:  # a malformed entry refuses the group, naming it
            assert "/general/devices" in str(exc)
            continue
        assert any("/general/devices/bad" in m for m in msgs), msgs
        with NWBZarrIO(str(store), mode) as io:
            nwbfile = io.read()
            assert "probe" in nwbfile.devices and "bad" not in nwbfile.devices


@pytest.mark.parametrize("fmt", LAYOUTS)
@pytest.mark.parametrize("path", ["/..", "/a/../b", "relative", "//", "/./x", "a\x00"])
def test_malformed_link_path_is_a_format_error_naming_the_group(store_copy, fmt, path):
    store = store_copy(fmt)
    set_links(store, fmt, "general/devices", [{"name": "bad", "source": ".", "path": path}])
    before = snapshot_files(store, mtimes=True)
    try:
        msgs = _broken(read_all(store))
    except HdmfZarrError as exc:
        assert "/general/devices" in str(exc)
    else:
        assert any("/general/devices/bad" in m for m in msgs)
    assert snapshot_files(store, mtimes=True) == before


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_reference_to_missing_object(store_copy, fmt):
    store = store_copy(fmt)
    set_reference_paths(store, fmt, "general/extracellular_ephys/electrodes/group",
                        ["/general/extracellular_ephys/gone"])
    before = snapshot_files(store, mtimes=True)
    for mode in ("r", "r-"):
        with NWBZarrIO(str(store), mode) as io:
            nwbfile = io.read()
            assert nwbfile.acquisition["ts"].data[:].shape == (10, 2)  # the rest reads
            with pytest.raises(ReferenceResolutionError) as exc:
                nwbfile.electrodes.to_dataframe()
            assert "/general/extracellular_ephys/electrodes/group" in str(exc.value)
            assert "/general/extracellular_ephys/gone" in str(exc.value)
    assert snapshot_files(store, mtimes=True) == before


@pytest.mark.parametrize("fmt", LAYOUTS)
@pytest.mark.parametrize("target", ["/..", "/a/../b", "/general/\x00"])
def test_reference_with_forbidden_path(store_copy, fmt, target):
    store = store_copy(fmt)
    set_reference_paths(store, fmt, "general/extracellular_ephys/electrodes/group", [target])
    with NWBZarrIO(str(store), "r") as io:
        nwbfile = io.read()
        with pytest.raises(HdmfZarrError) as exc:
            nwbfile.electrodes.to_dataframe()
        assert "/general/extracellular_ephys/electrodes/group" in str(exc.value)


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_reference_to_untyped_dataset(store_copy, fmt):
    """A reference whose target exists but is no container names the column."""
    store = store_copy(fmt)
    set_reference_paths(store, fmt, "general/extracellular_ephys/electrodes/group",
                        ["/acquisition/ts/data"])
    with NWBZarrIO(str(store), "r") as io:
        nwbfile = io.read()
        with pytest.raises(HdmfZarrError) as exc:
            touch_everything(nwbfile)
        assert "/general/extracellular_ephys/electrodes/group" in str(exc.value)


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_reference_attribute_to_missing_object_warns(store_copy, fmt):
    from _reliability_common import set_attribute

    store = store_copy(fmt)
    wrapper = ({"value": {"source": ".", "path": "/general/gone"}, "zarr_dtype": "object"}
               if fmt == 2 else {"_REFERENCE": {"source": ".", "path": "/general/gone"}})
    set_attribute(store, fmt, "acquisition/es/electrodes", "table", wrapper)
    with pytest.warns(BrokenLinkWarning, match="/acquisition/es/electrodes@table"):
        with NWBZarrIO(str(store), "r") as io:
            try:
                io.read()
            except HdmfZarrError as exc:  # the region needs its table: named error
                assert "/acquisition/es/electrodes" in str(exc)
