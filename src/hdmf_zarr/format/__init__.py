"""format subpackage of hdmf_zarr (see DESIGN.md, package layout)."""
