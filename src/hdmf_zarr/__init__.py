"""hdmf_zarr: the Zarr storage backend for HDMF and NWB, built on Zarr-Python 3.

Public names: :class:`ZarrIO` (``hdmf_zarr.backend``), :class:`NWBZarrIO` (``hdmf_zarr.nwb``),
:class:`ZarrDataIO` and :class:`ZarrReference` (``hdmf_zarr.utils``); hdmf-zarr 0.14's
:class:`ZarrV2IO`, :class:`NWBZarrV2IO`, :func:`is_zarr_v2_file`,
:class:`IncompleteConversionError` and :class:`UnsafePickleCodecError`
(``hdmf_zarr.backend_zarrv2``).
"""

from importlib.metadata import PackageNotFoundError, version as _version

from .utils import ZarrDataIO, ZarrReference
from .backend import ZarrIO
from .nwb import NWBZarrIO
from .backend_zarrv2 import (IncompleteConversionError, NWBZarrV2IO, UnsafePickleCodecError,
                             ZarrV2IO, is_zarr_v2_file)

try:
    __version__ = _version("hdmf_zarr")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["ZarrIO", "ZarrDataIO", "NWBZarrIO", "ZarrV2IO", "NWBZarrV2IO", "is_zarr_v2_file",
           "IncompleteConversionError", "UnsafePickleCodecError", "ZarrReference",
           "__version__"]
