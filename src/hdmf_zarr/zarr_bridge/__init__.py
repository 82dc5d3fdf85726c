"""zarr_bridge subpackage of hdmf_zarr (see DESIGN.md, package layout)."""

# Zarr data types and object codecs for L2 object arrays and Zarr >= 3.2's ``struct``
from . import data_types as _data_types  # noqa: E402,F401  (registers on import)
from .bounded_decode import install as _install_bounded_decode

# every decode of Zarr's codecs in this process is bounded by the chunk's size (FORMAT.md 5)
_install_bounded_decode()
