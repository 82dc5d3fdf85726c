"""hdmf_zarr: the Zarr storage backend for HDMF and NWB, built on Zarr-Python 3.

Public names: :class:`ZarrIO` (``hdmf_zarr.backend``), :class:`NWBZarrIO` (``hdmf_zarr.nwb``),
:class:`ZarrDataIO` and :class:`ZarrReference` (``hdmf_zarr.utils``).
"""

from importlib.metadata import PackageNotFoundError, version as _version

from .utils import ZarrDataIO, ZarrReference
from .backend import ZarrIO
from .nwb import NWBZarrIO

try:
    __version__ = _version("hdmf_zarr")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["ZarrIO", "NWBZarrIO", "ZarrDataIO", "ZarrReference", "__version__"]
