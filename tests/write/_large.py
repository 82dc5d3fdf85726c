"""Shared helpers of the large-data tests: NWB files holding one series, written in a layout
and read back, and the raw view of a stored array (its metadata document and stored objects).
The in-memory ``ArrayIterator`` of these tests is in ``tests/_shared.py``.

Whole files read back are compared with ``roundtrip._compare`` (``tests/`` is on ``sys.path``
through the suite's ``conftest.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pynwb.testing.mock.base import mock_TimeSeries
from pynwb.testing.mock.ecephys import mock_ElectricalSeries
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr.nwb import NWBZarrIO
from roundtrip._compare import assert_container_equal

LAYOUT = pytest.mark.parametrize("layout", [2, 3], ids=["L2", "L3"])
METADATA_NAMES = {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"}

__all__ = ["LAYOUT", "nwbfile_with", "write_nwb", "read_values",
           "check_roundtrip", "array_doc", "stored_objects", "read_after_failure"]


def nwbfile_with(data, *, name: str = "ts", electrical: bool = False, **series_kwargs):
    """An NWBFile holding one TimeSeries (or ElectricalSeries) in acquisition with ``data``."""
    nwbfile = mock_NWBFile()
    if electrical:
        mock_ElectricalSeries(name=name, data=data, rate=30000.0, nwbfile=nwbfile,
                              **series_kwargs)
    else:
        mock_TimeSeries(name=name, data=data, rate=10.0, nwbfile=nwbfile, **series_kwargs)
    return nwbfile


def write_nwb(path, nwbfile, layout: int, **write_kwargs) -> Path:
    """Write ``nwbfile`` to a new store at ``path`` in layout ``layout``."""
    with NWBZarrIO(str(path), mode="w", zarr_format=layout) as io:
        io.write(nwbfile, **write_kwargs)
    return Path(path)


def read_values(path, name: str = "ts") -> np.ndarray:
    """The whole ``data`` of ``/acquisition/<name>`` read back as a numpy array."""
    with NWBZarrIO(str(path), mode="r") as io:
        return np.asarray(io.read().acquisition[name].data[()])


def check_roundtrip(path, expected_file, name: str = "ts") -> None:
    """Read the store back and compare the whole file with the one written (every value of
    every dataset, ``ZarrDataIO`` wrappers unwrapped)."""
    with NWBZarrIO(str(path), mode="r") as io:
        assert_container_equal(expected_file, io.read())


def array_doc(path, node: str) -> dict:
    """The stored metadata document of the array at ``node`` (``.zarray`` or ``zarr.json``)."""
    d = Path(path) / node.strip("/")
    for name in ("zarr.json", ".zarray"):
        if (d / name).is_file():
            return json.loads((d / name).read_text())
    raise AssertionError(f"no array document under {d}")


def stored_objects(path, node: str) -> list[str]:
    """The stored chunk (or shard) objects of the array at ``node``, relative to its directory."""
    d = Path(path) / node.strip("/")
    return sorted(p.relative_to(d).as_posix() for p in d.rglob("*")
                  if p.is_file() and p.name not in METADATA_NAMES)


def read_after_failure(path, name: str | None = None):
    """Open a store whose write failed (mode ``r-``: the store may carry a write-in-progress
    marker) and return the names of the acquisition objects and, when ``name`` is given, every
    value of ``/acquisition/<name>/data``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the incomplete-write warning is expected here
        with NWBZarrIO(str(path), mode="r-") as io:
            nwbfile = io.read()
            names = set(nwbfile.acquisition)
            values = None if name is None else np.asarray(nwbfile.acquisition[name].data[()])
    return names, values
