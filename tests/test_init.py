"""The package imports light: Zarr loads it through entry points in every process."""

import subprocess
import sys

import pytest

import hdmf_zarr


def test_import_loads_no_pynwb_and_registers_data_types():
    code = ("import sys, hdmf_zarr\n"
            "from zarr.core.dtype import data_type_registry\n"
            "print('pynwb' in sys.modules, 'hdmf_zarr.backend' in sys.modules,\n"
            "      'struct' in data_type_registry.contents)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False", "True"]


def test_public_names_resolve_lazily():
    from hdmf_zarr.backend import ZarrIO
    from hdmf_zarr.nwb import NWBZarrIO

    assert hdmf_zarr.ZarrIO is ZarrIO and hdmf_zarr.NWBZarrIO is NWBZarrIO
    for name in hdmf_zarr.__all__:
        assert getattr(hdmf_zarr, name) is not None
        assert name in dir(hdmf_zarr)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        hdmf_zarr.nope  # noqa: B018
