"""Plain functions about the store a :class:`~hdmf_zarr.backend.ZarrIO` opens: expanding and
checking the path given, finding a root document or consolidated metadata, and the paths of
zarr nodes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hdmf.build import Builder
from zarr.abc.store import Store

from ..errors import NotHdmfStoreError, StoreModeError
from ..format.layout import Layout
from ..storage import is_url
from ..storage._atomic import local_root, read_write_marker
from ..write.writer import builder_path
from ..zarr_bridge import store_io

__all__ = ["expand_user", "refuse_hdf5", "describe_store", "has_root", "has_consolidated",
           "check_store_replaceable", "node_path", "group_store", "old_form_path",
           "source_of"]


def expand_user(path: Any) -> Any:
    """``path`` with a leading ``~`` expanded (local paths only; URLs and stores unchanged)."""
    if isinstance(path, Path):
        return path.expanduser()
    if isinstance(path, str) and path.startswith("~"):
        return os.path.expanduser(path)
    return path


def refuse_hdf5(path: Any, reader: str) -> None:
    """Raise when ``path`` is an existing local HDF5 file, naming the reader to use.

    Raises
    ------
    NotHdmfStoreError
        When the file at ``path`` starts with the HDF5 signature.
    """
    if not isinstance(path, (str, Path)) or "://" in str(path):
        return
    try:
        with open(path, "rb") as fh:
            header = fh.read(8)
    except OSError:  # a directory, or nothing there yet
        return
    if header == b"\x89HDF\r\n\x1a\n":
        raise NotHdmfStoreError(f"this is an HDF5 file, not a Zarr store: open it with "
                                f"{reader}", os.path.abspath(path))


def describe_store(path: Any) -> str | None:
    """The location of a store instance (None for a path, or a store without a location)."""
    from ..storage import store_location

    return store_location(path) if isinstance(path, Store) else None


def has_root(store: Store) -> bool:
    """True when ``store`` holds a root group document of either format."""
    docs = store_io.get_many(store, ["zarr.json", ".zgroup"])
    return any(v is not None for v in docs.values())


def has_consolidated(store: Store, layout: Layout) -> bool:
    """True when ``store`` holds consolidated metadata of ``layout`` (FORMAT.md 2.7, 3.7)."""
    return layout.holds_consolidated(store_io.get_bytes(store, layout.consolidated_key))


def check_store_replaceable(store: Store, location: str | None) -> None:
    """Mode ``w`` on a store instance: refuse to clear a store that holds keys but no root
    document and no write-in-progress marker (not a Zarr store; ``force_overwrite`` skips).

    Raises
    ------
    StoreModeError
        When the store holds keys but is not a Zarr store.
    """
    root = local_root(store)
    if root is not None and not os.path.isdir(root):
        return  # nothing there yet (asking the store would create its directory)
    if has_root(store) or read_write_marker(store) is not None:
        return
    try:
        names = sorted(store_io.list_dir(store, ""))
    except (FileNotFoundError, NotADirectoryError):
        return
    if names:
        first = names[0]
        raise StoreModeError(f"mode 'w': refusing to delete a store that is not a Zarr store "
                             f"(it holds {first!r}); pass force_overwrite=True to replace it",
                             location or "<store>")


def node_path(node: Any) -> Any:
    """``/path`` of a zarr node (Group or Array), else ``node`` unchanged."""
    import zarr

    if isinstance(node, (zarr.Group, zarr.Array)):
        return "/" + node.path.strip("/")
    return node


def group_store(file: Any) -> Any:
    """The store of ``file`` when it is a zarr group (``io._file``), else ``file``."""
    import zarr

    return file.store if isinstance(file, zarr.Group) else file


def old_form_path(builder: Builder, second: Any, path: str | None) -> str:
    """The node path of the older ``write_*(builder, path=None)`` calls (``path`` given by
    keyword or in second place; default: the builder's path in its tree)."""
    if path is None and isinstance(second, str):
        path = second
    return path or builder_path(builder)


def source_of(src_io: Any) -> str | None:
    """The location (absolute path or URL) of the file an IO object reads, if it has one."""
    loc = getattr(src_io, "location", None)
    if isinstance(loc, str):
        return loc
    src = getattr(src_io, "source", None)
    if src is None:
        return None
    return src if is_url(str(src)) else os.path.abspath(str(src))
