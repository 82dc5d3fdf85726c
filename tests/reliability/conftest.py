"""Fixtures shared by the reliability tests: one small NWB store per layout, and fresh copies
of it to damage."""

from __future__ import annotations

import shutil

import pytest
from _reliability_common import write_store

LAYOUTS = [2, 3]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """``{zarr_format: path}`` of the small NWB store of ``_reliability_common.make_nwbfile``,
    written once per test module and never modified."""
    base = tmp_path_factory.mktemp("pristine")
    out = {}
    for fmt in LAYOUTS:
        out[fmt] = base / f"src{fmt}.nwb.zarr"
        write_store(out[fmt], fmt)
    return out


@pytest.fixture
def store_copy(pristine, tmp_path):
    """``make(fmt, name="a.nwb.zarr")``: a fresh copy of the pristine store in ``tmp_path``."""
    def make(fmt, name="a.nwb.zarr"):
        dst = tmp_path / name
        shutil.copytree(pristine[fmt], dst)
        return dst
    return make
