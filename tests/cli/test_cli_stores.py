"""The hdmf-zarr command line with store kinds: convert --store, pack, unpack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from pynwb import NWBHDF5IO
from tests.roundtrip._compare import assert_container_equal

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.cli import main
from hdmf_zarr.storage import H5NestedStore, SQLiteStore, nested_store_kind, open_store
from hdmf_zarr.zarr_bridge import store_io

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
SOURCE = REAL / "neuroconv" / "ecephys_tutorial_v2.5.0.nwb"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _values(path) -> dict[str, bytes]:
    store, _ = open_store(str(path), "r")
    try:
        return store_io.get_many(store, store_io.list_prefix(store, ""))
    finally:
        store.close()


def _assert_equal_to_source(path):
    with NWBHDF5IO(str(SOURCE), "r") as src, NWBZarrIO(str(path), "r") as dst:
        assert_container_equal(src.read(), dst.read())


@pytest.mark.parametrize("kind, name, cls", [("h5", "out.nwb.zarr", H5NestedStore),
                                             ("sqlite", "out.nwb.db", SQLiteStore),
                                             ("sqlite", "out.nwb.anything", SQLiteStore),
                                             ("zip", "out.nwb.zip", None),
                                             ("dir", "out.nwb.zarr", None)])
def test_convert_store(tmp_path, kind, name, cls):
    dst = tmp_path / name
    result = run("convert", SOURCE, dst, "--store", kind, "--no-progress")
    assert result.exit_code == 0, result.output
    store, _ = open_store(str(dst), "r")
    try:
        if cls is not None:
            assert isinstance(store, cls)
    finally:
        store.close()
    if kind == "h5":
        assert nested_store_kind(str(dst)) == "H5NestedStore"
    if kind in ("sqlite", "zip"):
        assert dst.is_file()
    _assert_equal_to_source(dst)
    # info reads the store by its path
    info = run("info", dst)
    assert info.exit_code == 0, info.output
    assert info.stdout.splitlines()[0] == "/  [core:NWBFile]"


def test_convert_store_overwrite_sqlite(tmp_path):
    dst = tmp_path / "out.sqlite"
    assert run("convert", SOURCE, dst, "--no-progress").exit_code == 0
    again = run("convert", SOURCE, dst, "--no-progress")
    assert again.exit_code == 1 and "--overwrite" in again.output
    result = run("convert", SOURCE, dst, "--no-progress", "--overwrite")
    assert result.exit_code == 0, result.output
    _assert_equal_to_source(dst)


@pytest.mark.parametrize("args, message", [
    (("--store", "zip"), "DST must end in .zip"),
    (("--store", "h5", "--consolidate-depth", "-1"), "-1"),
])
def test_convert_store_usage_errors(tmp_path, args, message):
    result = run("convert", SOURCE, tmp_path / "out.nwb.zarr", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out.nwb.zarr").exists()


def test_convert_store_to_hdf5_is_refused(tmp_path):
    result = run("convert", SOURCE, tmp_path / "x.nwb", "--store", "sqlite")
    assert result.exit_code == 2 and "Zarr destination only" in result.output


def test_pack_unpack_commands(tmp_path):
    plain = tmp_path / "plain.nwb.zarr"
    assert run("convert", SOURCE, plain, "--no-progress").exit_code == 0
    expected = _values(plain)

    for kind, name in (("sqlite", "p.sqlite"), ("zip", "p.zip"), ("h5", "p.h5dir")):
        result = run("pack", plain, tmp_path / name, "--store", kind)
        assert result.exit_code == 0, result.output
        assert f"{len(expected)} keys" in result.stdout
        assert _values(tmp_path / name) == expected
        back = tmp_path / f"back-{kind}"
        result = run("unpack", tmp_path / name, back)
        assert result.exit_code == 0, result.output
        assert nested_store_kind(str(back)) is None
        assert _values(back) == expected

    # in place: loose chunks move into containers, the keys and bytes stay
    result = run("pack", plain)
    assert result.exit_code == 0, result.output
    assert "containers" in result.stdout
    assert nested_store_kind(str(plain)) == "H5NestedStore"
    assert _values(plain) == expected
    _assert_equal_to_source(plain)
    again = run("pack", plain)
    assert again.exit_code == 1 and "already packed" in again.output


def test_pack_errors(tmp_path):
    plain = tmp_path / "plain.nwb.zarr"
    assert run("convert", SOURCE, plain, "--no-progress").exit_code == 0
    result = run("pack", plain, "--store", "sqlite")
    assert result.exit_code == 2 and "needs DST" in result.output
    (tmp_path / "taken.sqlite").write_bytes(b"keep me")
    result = run("pack", plain, tmp_path / "taken.sqlite", "--store", "sqlite")
    assert result.exit_code == 1 and "exists" in result.output
    assert (tmp_path / "taken.sqlite").read_bytes() == b"keep me"
    not_store = tmp_path / "notastore"
    not_store.mkdir()
    result = run("pack", not_store)
    assert result.exit_code == 1 and "not a Zarr store" in result.output
    result = run("unpack", tmp_path / "taken.sqlite", tmp_path / "u")
    assert result.exit_code == 1 and "not an SQLiteStore" in result.output
    assert not (tmp_path / "u").exists()
    assert sorted(os.listdir(tmp_path)) == ["notastore", "plain.nwb.zarr", "taken.sqlite"]
