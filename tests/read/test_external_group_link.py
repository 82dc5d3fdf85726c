"""The target of an external link to a *group* appears where the link is, as a child of the
linking group, as NWBHDF5IO reads HDF5 external links (issue 12 item 11)."""

from datetime import UTC, datetime

import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile, TimeSeries

from hdmf_zarr import NWBZarrIO

DATA = np.arange(7, dtype=np.float64) * 1.5


def _nwbfile(ident):
    return NWBFile(session_description="d", identifier=ident,
                   session_start_time=datetime(2024, 1, 1, tzinfo=UTC))


def _linked_pair(io_cls, tmp_path, suffix, **kwargs):
    """File ``a`` holds TimeSeries ``ts`` and module ``mod`` (with TimeSeries ``inner``); file
    ``b`` adds both, read from ``a``: the writer stores external links."""
    a = _nwbfile("A")
    a.add_acquisition(TimeSeries(name="ts", data=DATA, unit="u", rate=1.0))
    mod = a.create_processing_module("mod", "a module")
    mod.add(TimeSeries(name="inner", data=DATA[::-1].copy(), unit="v", rate=2.0))
    pa, pb = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    with io_cls(str(pa), "w", **kwargs) as io:
        io.write(a)
    with io_cls(str(pa), "r") as ioa:
        fa = ioa.read()
        b = _nwbfile("B")
        b.add_acquisition(fa.acquisition["ts"])
        b.add_processing_module(fa.processing["mod"])
        with io_cls(str(pb), "w", manager=ioa.manager, **kwargs) as io:
            io.write(b)
    return pb


def _check(fb):
    ts = fb.acquisition["ts"]
    assert ts.parent is fb
    assert np.array_equal(ts.data[:], DATA)
    mod = fb.processing["mod"]
    assert mod.parent is fb
    inner = mod["inner"]
    assert inner.parent is mod
    assert np.array_equal(inner.data[:], DATA[::-1])
    assert inner.rate == 2.0


def test_hdf5_reference_behaviour(tmp_path):
    pb = _linked_pair(NWBHDF5IO, tmp_path, ".nwb")
    with NWBHDF5IO(str(pb), "r") as io:
        _check(io.read())


@pytest.mark.parametrize("layout", [3, 2])
def test_external_group_link_is_parented_here(tmp_path, layout):
    pb = _linked_pair(NWBZarrIO, tmp_path, ".nwb.zarr", zarr_format=layout)
    from roundtrip._helpers import raw_links

    assert {e["name"]: e["source"] for e in raw_links(pb, "/acquisition")} == {
        "ts": "../a.nwb.zarr"}
    with NWBZarrIO(str(pb), "r") as io:
        _check(io.read())
