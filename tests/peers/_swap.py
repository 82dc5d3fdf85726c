"""Our IO in place of the HDF5 IO that the peers' tests call.

The peers' round-trip code calls ``NWBHDF5IO`` (pynwb: ``pynwb.testing.testh5io`` and the test
modules) and ``HDF5IO`` (hdmf: ``hdmf.testing.testcase`` and the test modules) through module
globals. :func:`swap_targets` lists those globals; the peers' conftest fixture sets them, for the
duration of one test, to :class:`PeerNWBIO` / :class:`PeerZarrIO` (``NWBZarrIO`` / ``ZarrIO``
writing the layout of the test) and to file helpers that know a store is a directory.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

from hdmf_zarr.backend import ZarrIO
from hdmf_zarr.nwb import NWBZarrIO

__all__ = ["PeerNWBIO", "PeerZarrIO", "current", "swap_targets"]

#: the layout (2 or 3) and the temporary directory of the running peer test
current: dict = {"layout": None, "tmp_path": None}

_CREATING = ("w", "w-", "x", "a")


def _check_not_hdf5_only(kwargs: dict) -> None:
    """Refuse, naming the argument, what only the HDF5 IO takes (an open h5py.File, MPI)."""
    for name in ("file", "comm"):
        if kwargs.get(name) is not None:
            raise TypeError(f"{name}={type(kwargs[name]).__name__}: an HDF5-only argument of the "
                            f"HDF5 IO, which the Zarr IO has no counterpart for")
        kwargs.pop(name, None)


def _layout_kwargs(args: tuple, kwargs: dict) -> None:
    """Write the running test's layout: ``zarr_format=2`` for L2, the default for L3."""
    mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
    if mode in _CREATING and current["layout"] == 2 and kwargs.get("zarr_format") is None:
        kwargs["zarr_format"] = 2


def _check_layout(io: ZarrIO, mode: str) -> None:
    if mode in ("w", "w-", "x") and io.zarr_format != current["layout"]:
        raise AssertionError(f"{io.source}: written in Zarr format {io.zarr_format}, "
                             f"the test runs layout L{current['layout']}")


class PeerNWBIO(NWBZarrIO):
    """``NWBZarrIO`` called the way the peers call ``NWBHDF5IO``, writing the test's layout."""

    def __init__(self, *args, **kwargs):
        _check_not_hdf5_only(kwargs)
        _layout_kwargs(args, kwargs)
        super().__init__(*args, **kwargs)
        _check_layout(self, self.mode)


class PeerZarrIO(ZarrIO):
    """``ZarrIO`` called the way the peers call ``HDF5IO``, writing the test's layout."""

    def __init__(self, *args, **kwargs):
        _check_not_hdf5_only(kwargs)
        _layout_kwargs(args, kwargs)
        super().__init__(*args, **kwargs)
        _check_layout(self, self.mode)


def remove_test_file(path) -> None:
    """The peers' ``remove_test_file``, for stores that are directories as well as files."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


_temp_names = itertools.count()


def get_temp_filepath() -> str:
    """hdmf's ``get_temp_filepath``: a new path (nothing created) in the test's directory."""
    return str(Path(current["tmp_path"]) / f"temp_{next(_temp_names)}")


#: global name in the peers' modules -> its replacement
REPLACEMENTS = {
    "NWBHDF5IO": PeerNWBIO,
    "HDF5IO": PeerZarrIO,
    "remove_test_file": remove_test_file,
    "get_temp_filepath": get_temp_filepath,
}


def swap_targets(modules) -> list[tuple[object, str, object]]:
    """``(module, global name, replacement)`` for every replaced name the modules hold.

    ``modules`` are the fetched test modules; the mixin modules of pynwb and hdmf (and the
    helpers they import from) are always included.
    """
    import hdmf.testing.testcase
    import hdmf.testing.utils
    import pynwb.testing.testh5io
    import pynwb.testing.utils

    targets = []
    for module in (pynwb.testing.testh5io, hdmf.testing.testcase, pynwb.testing.utils,
                   hdmf.testing.utils, *modules):
        for name, replacement in REPLACEMENTS.items():
            if name in vars(module):
                targets.append((module, name, replacement))
    return targets
