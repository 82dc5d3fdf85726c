"""The public API of hdmf-zarr 0.14 (and 0.13) as /work/shared/API-0.14.md lists it: names,
argument order and defaults of every method in its table, and user code written in the 0.14
style run unchanged on real files."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr
from hdmf.utils import get_docval
from pynwb import NWBHDF5IO, TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr import NWBZarrIO, NWBZarrV2IO, ZarrIO, ZarrV2IO
from roundtrip._compare import assert_container_equal

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL_H5 = SHARED / "real" / "dandi_nwb_test_data_v2.0.1" / "test_TimeSeries.nwb"
LEGACY = SHARED / "legacy" / "ecephys_pickle_refs.nwb.zarr"
_NO_DEFAULT = object()


def _arguments(func) -> list[tuple[str, object]]:
    """(name, default) of each argument, in order (docval'd or plain functions)."""
    dv = get_docval(func)
    if dv:
        return [(a["name"], a.get("default", _NO_DEFAULT)) for a in dv]
    params = list(inspect.signature(func).parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    return [(p.name, _NO_DEFAULT if p.default is inspect.Parameter.empty else p.default)
            for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def _assert_leading(func, expected: list[tuple]) -> None:
    """``func`` takes the arguments of ``expected`` first, in that order, with those defaults
    (a 1-tuple: no default required)."""
    got = _arguments(func)
    assert [n for n, _ in got[:len(expected)]] == [e[0] for e in expected], func.__qualname__
    for (name, default), exp in zip(got, expected):
        if len(exp) == 2:
            assert default == exp[1], f"{func.__qualname__}: {name} defaults to {default!r}"


# the rows of API-0.14.md's table (defaults of write_args: ours is None, meaning {})
SIGNATURES = {
    "write": [("container",), ("cache_spec", True), ("link_data", True), ("exhaust_dci", True)],
    "write_builder": [("builder",), ("link_data", True), ("exhaust_dci", True),
                      ("export_source", None), ("consolidate_metadata", True)],
    "write_group": [("parent",), ("builder",), ("link_data", True), ("exhaust_dci", True),
                    ("export_source", None)],
    "write_dataset": [("parent",), ("builder",), ("link_data", True), ("exhaust_dci", True),
                      ("force_data", None), ("export_source", None)],
    "write_link": [("parent",), ("builder",), ("export_source", None)],
    "write_attributes": [("obj",), ("attributes",)],
    "get_written": [("builder",), ("check_on_disk", False)],
    "get_builder_exists_on_disk": [("builder",)],
    "get_builder_disk_path": [("builder",), ("filepath", None)],
    "get_zarr_parent_path": [("zarr_object",)],
    "resolve_ref": [("zarr_ref",)],
    "get_type": [("data",)],
    "get_builder": [("path",)],
    "get_container": [("path",)],
    "generate_dataset_html": [("dataset",)],
    "can_read": [("path",)],
    "load_namespaces": [("namespace_catalog",), ("path", None), ("file", None),
                        ("storage_options", None), ("namespaces", None)],
    "load_namespaces_io": [("namespace_catalog",), ("namespaces", None)],
    "open": [],
    "close": [],
    "is_remote": [],
}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_zarrio_method_signatures(name):
    _assert_leading(getattr(ZarrIO, name), SIGNATURES[name])


def test_write_and_export_keywords():
    names = dict(_arguments(ZarrIO.write))
    for key, default in (("number_of_jobs", 1), ("max_threads_per_process", None),
                         ("multiprocessing_context", None), ("consolidate_metadata", True)):
        assert names[key] == default
    _assert_leading(ZarrIO.export, [("src_io",), ("container", None), ("write_args",),
                                    ("clear_cache", False), ("cache_spec", True)])
    export = dict(_arguments(ZarrIO.export))
    for key in ("number_of_jobs", "max_threads_per_process", "multiprocessing_context",
                "consolidate_metadata"):
        assert key in export
    _assert_leading(NWBZarrIO.export, [("src_io",), ("nwbfile", None), ("write_args",)])
    for prop in ("path", "abspath", "mode"):
        assert isinstance(inspect.getattr_static(ZarrIO, prop), property)
    for static in ("get_zarr_parent_path", "get_type", "generate_dataset_html", "can_read"):
        assert isinstance(inspect.getattr_static(ZarrIO, static), staticmethod)
    assert isinstance(inspect.getattr_static(ZarrIO, "load_namespaces"), classmethod)


def test_constructor_signatures():
    _assert_leading(ZarrIO.__init__, [("path",), ("mode",), ("manager", None)])
    _assert_leading(NWBZarrIO.__init__, [("path",), ("mode",), ("manager", None)])
    assert dict(_arguments(NWBZarrIO.__init__))["load_namespaces"] is True
    _assert_leading(ZarrV2IO.__init__, [("path",), ("mode",), ("manager", None),
                                        ("storage_options", None), ("force_overwrite", False),
                                        ("allow_pickle", False)])
    _assert_leading(NWBZarrV2IO.__init__, [("path",), ("mode",), ("manager", None),
                                           ("storage_options", None),
                                           ("force_overwrite", False), ("allow_pickle", False),
                                           ("load_namespaces", True)])
    _assert_leading(NWBZarrV2IO.convert_to_v3, [("source_path",), ("dest_path",),
                                                ("write_args", None),
                                                ("storage_options", None),
                                                ("allow_pickle", False)])
    _assert_leading(NWBZarrV2IO.export_to_v3, [("path",), ("nwbfile", None),
                                               ("write_args", None), ("storage_options", None)])
    _assert_leading(NWBZarrV2IO.read_nwb, [("path",), ("allow_pickle", False)])
    from hdmf_zarr import is_zarr_v2_file

    _assert_leading(is_zarr_v2_file, [("path",), ("storage_options", None)])


# -------------------------------------------------------------------------- behaviour
def test_helpers_on_zarr_nodes(tmp_path):
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w") as io:
        io.write(_nwbfile())
    with NWBZarrIO(str(path), "r") as io:
        nwbfile = io.read()
        node = io._file["acquisition/ts/data"]
        assert ZarrIO.get_zarr_parent_path(node) == "/acquisition/ts"
        assert ZarrIO.get_zarr_parent_path(io._file["acquisition"]) == "/"
        assert io.get_builder(io._file["acquisition/ts"]) is io.get_builder("/acquisition/ts")
        assert io.get_container(io._file["acquisition/ts"]) is nwbfile.acquisition["ts"]
        assert ZarrIO.get_type(node) is np.float64
    assert ZarrIO.get_type("text") is str
    assert ZarrIO.get_type([[b"a"]]) is bytes
    assert ZarrIO.get_type([1, 2]) is int
    assert ZarrIO.get_type(np.zeros((2, 2), dtype="i2")) is np.int16
    with pytest.raises(ValueError, match="empty"):
        ZarrIO.get_type([])


def test_load_namespaces_in_014_order(tmp_path):
    from hdmf.spec import NamespaceCatalog
    from pynwb.spec import NWBDatasetSpec, NWBGroupSpec, NWBNamespace

    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w") as io:
        io.write(_nwbfile())
    catalog = NamespaceCatalog(NWBGroupSpec, NWBDatasetSpec, NWBNamespace)
    with NWBZarrIO(str(path), "r") as io:
        deps = ZarrIO.load_namespaces(catalog, None, io._file)  # (catalog, path, file)
    assert "core" in deps and "core" in catalog.namespaces


def _nwbfile():
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=np.arange(30.0), rate=10.0, unit="m"))
    return nwb


def test_user_code_014_style(tmp_path):
    """A script written for hdmf-zarr 0.14: HDF5 -> Zarr export with the parallel keywords of
    export, read back with read_nwb, a legacy v2 store checked and converted in one call."""
    from hdmf_zarr import IncompleteConversionError, is_zarr_v2_file  # noqa: F401
    from hdmf_zarr.backend_zarrv2 import UnsafePickleCodecError  # noqa: F401

    out = tmp_path / "from_h5.nwb.zarr"
    with NWBHDF5IO(str(REAL_H5), "r") as read_io, NWBZarrIO(str(out), mode="w") as export_io:
        export_io.export(src_io=read_io, write_args={"link_data": False},
                         number_of_jobs=2, max_threads_per_process=1,
                         multiprocessing_context="spawn")
    with NWBHDF5IO(str(REAL_H5), "r") as read_io:
        source = read_io.read()
        nwbfile = NWBZarrIO.read_nwb(str(out))
        try:
            # (this NWB 2.0 file stores no object ids: hdmf makes new ones at every read)
            assert_container_equal(source, nwbfile, strict_dtype=True, check_object_id=False)
        finally:
            nwbfile.read_io.close()

    legacy = tmp_path / "legacy.nwb.zarr"
    shutil.copytree(LEGACY, legacy)
    converted = tmp_path / "converted.nwb.zarr"
    if is_zarr_v2_file(str(legacy)):
        NWBZarrV2IO.convert_to_v3(str(legacy), str(converted))
    assert not is_zarr_v2_file(str(converted))
    with NWBZarrIO(str(converted), mode="r") as io:
        nwbfile = io.read()
        assert len(nwbfile.units) == 5
        assert isinstance(io._file, zarr.Group)
