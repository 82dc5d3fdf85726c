"""zarr_bridge subpackage of hdmf_zarr (see DESIGN.md, package layout)."""

# Zarr data types and object codecs for L2 object arrays and Zarr >= 3.2's ``struct``
from . import data_types as _data_types  # noqa: F401  (registers on import)
from .bounded_codecs import install as _install_bounded_pipeline

# every decode of Zarr's codecs in this process is bounded by the chunk's size (FORMAT.md 5),
# through the codec pipeline selected in zarr.config (see bounded_codecs)
_install_bounded_pipeline()
