"""Where builders are: their paths inside a file, and link sources between stores
(FORMAT.md 2.4, 3.5, 3.8)."""

from __future__ import annotations

import os
import posixpath
from urllib.parse import urlsplit

from hdmf.build import Builder

from ..errors import UnsupportedDataError

__all__ = ["builder_path", "root_of", "relative_source"]


def builder_path(builder: Builder) -> str:
    """Absolute path of a builder inside its file (``/`` for the root).

    Uses the parent chain; a detached builder with a ``location`` (read from a file) uses it.
    """
    names = []
    cur = builder
    while cur.parent is not None:
        names.append(cur.name)
        cur = cur.parent
    if not names and builder.location is not None:
        loc = builder.location.rstrip("/")
        return f"{loc}/{builder.name}" if loc else f"/{builder.name}"
    return "/" + "/".join(reversed(names))


def root_of(builder: Builder) -> Builder:
    """The root of the builder tree ``builder`` belongs to (itself when it has no parent)."""
    cur = builder
    while cur.parent is not None:
        cur = cur.parent
    return cur


def relative_source(location: str, here: str | None, where: str) -> str:
    """The ``source`` of a link from the store at ``here`` to the store at ``location``: the
    relative path between them (FORMAT.md 2.4, 3.8).

    Parameters
    ----------
    location : str
        Location of the target store (a directory path or a URL).
    here : str or None
        Location of the linking store (None: unknown).
    where : str
        Link or dataset path, for messages.

    Raises
    ------
    UnsupportedDataError
        The target is an HDF5 file, or the two locations have no relative path (one of them
        unknown, a path and a URL, URLs of different hosts).
    """
    from ..storage import is_hdf5_path

    if is_hdf5_path(location):
        raise UnsupportedDataError(
            f"cannot link to the HDF5 file {location}: a link source must be a Zarr store "
            "(write with link_data=False to copy the data)", where)
    if here is None or "://" in here or "://" in location:
        if here is not None and "://" in here and "://" in location:
            return _url_relpath(location, here)
        raise UnsupportedDataError(
            f"cannot express the location {location} relative to this store", where)
    return os.path.relpath(location, here).replace(os.sep, "/")


def _url_relpath(target: str, here: str) -> str:
    """Relative path between two URLs of the same scheme and host."""
    t, h = urlsplit(target), urlsplit(here)
    if (t.scheme, t.netloc) != (h.scheme, h.netloc):
        raise UnsupportedDataError(f"cannot link from {here} to {target}: other host", target)
    return posixpath.relpath(t.path, h.path)
