"""``NWBZarrIO``: the PyNWB front of the Zarr backend, used like ``pynwb.NWBHDF5IO``."""

from __future__ import annotations

import os

from hdmf.build import BuildManager
from hdmf.utils import docval, get_docval, popargs
from pynwb import get_type_map

from .backend import _EXPORT_PARALLEL_ARGS, ZarrIO, check_complete
from .errors import NotHdmfStoreError, StoreModeError
from .read.opening import fetch_root
from .read.prefetch import prefetch_budget
from .read.specs import load_cached_namespaces

__all__ = ["NWBZarrIO", "default_storage_options"]


def default_storage_options(path, storage_options: dict | None) -> dict | None:
    """The fsspec options to read ``path`` with: ``{"anon": True}`` for an ``s3://`` URL given
    without options (public buckets such as the DANDI archive need no credentials, as in
    hdmf-zarr 0.14), else ``storage_options`` unchanged.

    Parameters
    ----------
    path : str, pathlib.Path or zarr.abc.store.Store
    storage_options : dict or None

    Returns
    -------
    dict or None
    """
    if storage_options is None and isinstance(path, str) and path.lower().startswith("s3://"):
        return {"anon": True}
    return storage_options


class NWBZarrIO(ZarrIO):
    """Read and write NWB files in Zarr stores.

    Takes the arguments of :class:`~hdmf_zarr.backend.ZarrIO` plus ``load_namespaces`` (read the
    namespaces cached in the file, so extensions need not be installed; default True) and
    ``extensions`` (paths of extension namespace files, or a TypeMap, to load).

    On a remote store (S3, HTTP) opening takes two sequential round trips and ``read()`` one;
    ``prefetch=True`` also fetches every small dataset (at most 1 MiB each, 64 MiB in all; an
    int sets the total in bytes) in ``read()``'s round trip, for loops over many series
    (docs/performance.md, "Streaming"). Chunks read again after ``read()`` are served from a
    bounded cache (:attr:`~hdmf_zarr.backend.ZarrIO.chunk_cache_bytes`, 64 MiB).
    """

    #: the reader an HDF5 file given as ``path`` is sent to
    _HDF5_READER = "pynwb.NWBHDF5IO"

    @docval(*get_docval(ZarrIO.__init__, "path", "mode", "manager", "synchronizer",
                        "object_codec_class", "storage_options", "force_overwrite",
                        "zarr_format", "prefetch"),
            {"name": "load_namespaces", "type": bool,
             "doc": "load the namespaces cached in the file (reading modes only)",
             "default": True},
            {"name": "extensions", "type": (str, list, "TypeMap"),
             "doc": "extension namespace paths or a TypeMap to load", "default": None},
            {"name": "driver", "type": str,
             "doc": "ignored: pynwb.validate passes it to every backend", "default": None},
            {"name": "aws_region", "type": str,
             "doc": "ignored: pynwb.validate passes it to every backend", "default": None})
    def __init__(self, **kwargs):
        popargs("driver", "aws_region", kwargs)
        load_namespaces, extensions, manager, mode, path = popargs(
            "load_namespaces", "extensions", "manager", "mode", "path", kwargs)
        reading = mode in ("r", "r-", "r+", "a")
        # checked before anything is opened (a negative budget is refused)
        budget = prefetch_budget(kwargs.get("prefetch", False))
        if manager is None:
            type_map = _type_map(extensions)
            if load_namespaces and reading:
                from .storage._access import store_access

                where = str(path) if isinstance(path, (str, os.PathLike)) else None
                with store_access(where):
                    self._load_cached_namespaces(type_map, path, mode,
                                                 kwargs.get("storage_options"), budget)
            manager = BuildManager(type_map)
        if not kwargs.get("prefetch", True):
            # passed on only when asked for (readers built on ZarrIO's subclasses that do not
            # take it, such as NWBZarrV2IO, keep working)
            kwargs.pop("prefetch")
        super().__init__(path=path, mode=mode, manager=manager, **kwargs)

    def _load_cached_namespaces(self, type_map, path, mode, storage_options,
                                prefetch: int = 0) -> None:
        """Open the store, load its cached namespaces into ``type_map`` and keep the open store
        and its parsed root documents for :meth:`ZarrIO.open` (one read of the root document)."""
        from .storage import open_store

        try:
            store, location = open_store(path, mode, storage_options)
        except (NotHdmfStoreError, StoreModeError):
            return  # opening below raises the same error
        root_docs: dict = {}
        # the marker and the root documents in one round trip, for this and ZarrIO.open
        fetched = fetch_root(store, mode)
        if mode != "r-":  # r- warns about an incomplete store when ZarrIO opens it
            check_complete(store, mode, str(location or path), marker=fetched.marker)
        elif fetched.marker is not None:
            # an interrupted write may have left the cached specifications incomplete: read
            # what the store holds with the namespaces of the type map
            self._opened_store = (store, location, {}, fetched)
            return
        try:
            load_cached_namespaces(type_map, store, None, str(location or path), root_docs,
                                   use_consolidated=mode == "r", fetched=fetched.raw,
                                   early=fetched.chunks if mode == "r" else None,
                                   prefetch=prefetch)
        except NotHdmfStoreError:
            if mode == "a":  # an empty store to create: nothing cached yet
                self._opened_store = (store, location, {}, fetched)
                return
            raise
        self._opened_store = (store, location, root_docs, fetched)

    @property
    def nwb_version(self):
        """``(version string, parsed tuple)`` of the file's ``nwb_version`` attribute, or
        ``(None, None)`` when absent."""
        value = self._root_attributes().get("nwb_version")
        if value is None:
            return None, None
        parts = []
        for p in str(value).replace("-", ".").split("."):
            parts.append(int(p) if p.isdigit() else p)
        return str(value), tuple(parts)

    @docval({"name": "src_io", "type": "hdmf.backends.io.HDMFIO",
             "doc": "the IO object to export from"},
            {"name": "nwbfile", "type": "NWBFile",
             "doc": "the NWBFile to export; None exports the whole file", "default": None},
            {"name": "write_args", "type": dict, "doc": "arguments to write_builder",
             "default": None},
            {"name": "cache_spec", "type": bool, "doc": "cache the specification",
             "default": True},
            {"name": "consolidate_metadata", "type": bool,
             "doc": "write consolidated metadata after the export", "default": True},
            {"name": "clear_cache", "type": bool, "doc": "rebuild all builders",
             "default": False},
            *_EXPORT_PARALLEL_ARGS)
    def export(self, **kwargs):
        """Export an NWB file read by any backend (``NWBHDF5IO``, ``NWBZarrIO``) to this store.

        Every keyword of :meth:`ZarrIO.export` is honoured.
        """
        nwbfile = popargs("nwbfile", kwargs)
        kwargs["container"] = nwbfile
        super().export(**kwargs)

    @staticmethod
    def read_nwb(path, storage_options: dict | None = None):
        """Open ``path`` and return its NWBFile; the IO stays open with the file
        (``nwbfile.read_io``) and closes when the file object is collected or closed.

        An ``s3://`` URL given without ``storage_options`` is read anonymously
        (``{"anon": True}``), as hdmf-zarr 0.14 does; pass options to use credentials.
        """
        io = NWBZarrIO(path, mode="r", load_namespaces=True,
                       storage_options=default_storage_options(path, storage_options))
        return io.read()


def _type_map(extensions):
    """PyNWB's type map with ``extensions`` (namespace file paths or a TypeMap) loaded."""
    from hdmf.build import TypeMap

    type_map = get_type_map()
    if extensions is None:
        return type_map
    if isinstance(extensions, TypeMap):
        type_map.merge(extensions)
        return type_map
    for path in [extensions] if isinstance(extensions, str) else extensions:
        type_map.load_namespaces(path)
    return type_map
