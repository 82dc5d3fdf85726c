"""hdmf_zarr: the Zarr storage backend for HDMF and NWB, built on Zarr-Python 3.

Public names: :class:`ZarrIO` (``hdmf_zarr.backend``), :class:`NWBZarrIO` (``hdmf_zarr.nwb``),
:class:`ZarrDataIO` and :class:`ZarrReference` (``hdmf_zarr.utils``); hdmf-zarr 0.14's
:class:`ZarrV2IO`, :class:`NWBZarrV2IO`, :func:`is_zarr_v2_file`,
:class:`IncompleteConversionError` and :class:`UnsafePickleCodecError`
(``hdmf_zarr.backend_zarrv2``).
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

# Zarr data types and codecs (registered on import). Zarr loads this package through its entry
# points in every process where it is installed, so importing the package must stay light: the
# IO classes (hdmf, pynwb, h5py) load on first use of their names (PEP 562).
from . import zarr_bridge as _zarr_bridge  # noqa: F401

_LAZY = {
    "ZarrDataIO": "utils", "ZarrReference": "utils", "ZarrIO": "backend", "NWBZarrIO": "nwb",
    "ZarrV2IO": "backend_zarrv2", "NWBZarrV2IO": "backend_zarrv2",
    "is_zarr_v2_file": "backend_zarrv2", "IncompleteConversionError": "backend_zarrv2",
    "UnsafePickleCodecError": "backend_zarrv2",
}

try:
    __version__ = _version("hdmf_zarr")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["ZarrIO", "ZarrDataIO", "NWBZarrIO", "ZarrV2IO", "NWBZarrV2IO", "is_zarr_v2_file",
           "IncompleteConversionError", "UnsafePickleCodecError", "ZarrReference",
           "__version__"]


def __getattr__(name: str):
    """Load a public class from its module on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hdmf_zarr' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
