"""zarr_bridge subpackage of hdmf_zarr (see DESIGN.md, package layout)."""

from .bounded_decode import install as _install_bounded_decode

# every decode of Zarr's codecs in this process is bounded by the chunk's size (FORMAT.md 5)
_install_bounded_decode()
