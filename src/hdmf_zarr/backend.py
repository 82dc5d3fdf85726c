"""``ZarrIO``: the HDMF I/O backend for Zarr stores (DESIGN.md: "backend.py ... (thin)").

Modes, open/close and reading live here; writing, export, lookups and namespaces are the base
classes of ``ZarrIO`` in :mod:`hdmf_zarr.io`. The builder-to-store mapping is in
``write.writer``, the store-to-builder mapping in ``read.builders``, and the on-disk conventions
in ``format``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from hdmf.backends.errors import UnsupportedOperation
from hdmf.backends.utils import WriteStatusTracker
from hdmf.build import BuildManager, TypeMap
from hdmf.spec import NamespaceCatalog
from hdmf.utils import docval, popargs
from zarr.abc.store import Store

from .errors import (
    HdmfZarrError,
    IncompleteWriteError,
    IncompleteWriteWarning,
    LinkResolutionError,
    NotHdmfStoreError,
    StoreModeError,
)
from .format.layout import DEFAULT_SPEC_LOC_DIR as _SPEC_DIR
from .format.layout import SPEC_LOC_ATTR as _SPEC_ATTR
from .format.layout import Layout
from .format.select import layout_for
from .io.export import EXPORT_PARALLEL_ARGS as _EXPORT_PARALLEL_ARGS  # noqa: F401 (nwb.py)
from .io.export import ZarrExporting
from .io.lookups import ZarrLookups
from .io.namespaces import ZarrNamespaces
from .io.stores import check_store_replaceable as _check_store_replaceable
from .io.stores import describe_store as _describe_store
from .io.stores import expand_user as _expand_user
from .io.stores import has_consolidated as _has_consolidated
from .io.stores import has_root as _has_root
from .io.stores import refuse_hdf5 as _refuse_hdf5
from .io.write import CREATE as _CREATE
from .io.write import READ_ONLY as _READ_ONLY
from .read.builders import StoreReader, construct_failure
from .read.documents import detect_layout, layout_of_root_documents
from .read.opening import UNFETCHED as _UNKNOWN
from .read.opening import OpenedStore, RootFetch, fetch_root
from .read.prefetch import prefetch_budget
from .storage import is_url, open_store
from .storage._access import store_access
from .storage._atomic import WRITE_MARKER_KEY, read_write_marker
from .zarr_bridge import store_io
from .zarr_bridge.chunk_cache import DEFAULT_CHUNK_CACHE_BYTES, chunk_cache
from .zarr_bridge.consolidated import write_consolidated
from .zarr_bridge.prefetched import PrefetchedStore
from .zarr_bridge.runtime import run

__all__ = ["ZarrIO", "ROOT_NAME", "SPEC_LOC_ATTR", "DEFAULT_SPEC_LOC_DIR", "check_complete"]

ROOT_NAME = "root"
SPEC_LOC_ATTR = _SPEC_ATTR
DEFAULT_SPEC_LOC_DIR = _SPEC_DIR

_MODES = ("r", "r-", "r+", "a", "w", "w-", "x")


class ZarrIO(ZarrLookups, ZarrNamespaces, ZarrExporting):
    """Read and write HDMF files (NWB among them) in Zarr stores.

    Parameters
    ----------
    path : str, pathlib.Path or zarr.abc.store.Store
        A directory, a ``.zip`` file, a URL (``s3://``, ``https://``...) or any Zarr-Python 3
        store.
    mode : {'r', 'r-', 'r+', 'a', 'w', 'w-', 'x'}
        ``r`` reads (with consolidated metadata), ``r-`` reads ignoring it, ``r+`` reads and
        writes an existing store, ``a`` also creates it, ``w`` creates or truncates, ``w-``/``x``
        create and fail if the store exists.
    manager : hdmf.build.BuildManager, optional
    synchronizer : object, optional
        Accepted for compatibility and ignored with a warning (Zarr-Python 3 has none).
    object_codec_class : object, optional
        Accepted for compatibility: L2 reference datasets are always written with json2 and
        compounds with references with pickle (FORMAT.md 2.8).
    storage_options : dict, optional
        fsspec options for URLs.
    force_overwrite : bool
        Mode ``w``: also delete an existing path (or a store instance's content) that is not a
        Zarr store. Without it mode ``w`` only replaces Zarr stores, empty directories and
        empty files, and raises ``StoreModeError`` for anything else.
    zarr_format : {2, 3}, optional
        Layout to write: 3 (default, layout L3) or 2 (layout L2). Reading detects the layout.

    Raises
    ------
    NotHdmfStoreError
        When a read mode names something that is not a Zarr group store.
    StoreModeError
        On ``w-``/``x`` with an existing store, or a ``zarr_format`` that contradicts the store.
    """

    @docval({"name": "path", "type": (str, Path, Store),
             "doc": "the path to the Zarr store, a URL or a zarr Store"},
            {"name": "mode", "type": str, "doc": "the mode to open the store with",
             "default": "r"},
            {"name": "manager", "type": BuildManager, "doc": "the BuildManager to use for I/O",
             "default": None},
            {"name": "synchronizer", "type": None, "doc": "ignored (Zarr-Python 3 has none)",
             "default": None},
            {"name": "object_codec_class", "type": None,
             "doc": "ignored: each layout fixes the object codec of its text, reference and "
                    "compound datasets", "default": None},
            {"name": "storage_options", "type": dict, "doc": "fsspec storage options",
             "default": None},
            {"name": "force_overwrite", "type": bool,
             "doc": "mode w: also delete an existing path that is not a Zarr store",
             "default": False},
            {"name": "zarr_format", "type": int, "doc": "2 or 3: the layout written",
             "default": None},
            {"name": "prefetch", "type": (bool, int),
             "doc": "reading: also fetch every small dataset in the read() wave (True: up to "
                    "64 MiB in all, 1 MiB per dataset; an int: that total in bytes); see "
                    "docs/performance.md, 'Streaming'", "default": False})
    def __init__(self, **kwargs):
        (path, mode, manager, synchronizer, object_codec_class, storage_options,
         force_overwrite, zarr_format, prefetch) = popargs(
            "path", "mode", "manager", "synchronizer", "object_codec_class", "storage_options",
            "force_overwrite", "zarr_format", "prefetch", kwargs)
        if mode not in _MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(_MODES)}")
        if zarr_format not in (None, 2, 3):
            raise ValueError(f"zarr_format must be 2 or 3, not {zarr_format!r}")
        path = _expand_user(path)
        _refuse_hdf5(path, type(self)._HDF5_READER)
        if synchronizer is not None:
            warnings.warn("synchronizer is ignored: Zarr-Python 3 has no synchronizers",
                          UserWarning, stacklevel=3)
        self.__path = path
        self.__mode = mode
        self.__synchronizer = synchronizer
        self.__object_codec_class = object_codec_class
        self.__storage_options = storage_options
        self.__force_overwrite = force_overwrite
        self.__requested_format = zarr_format
        self._store = None
        self._location = None
        self._layout: Layout | None = None
        self._reader: StoreReader | None = None
        self._builder = None
        self._external: dict[str, ZarrIO] = {}
        self._written_builders = WriteStatusTracker()
        #: node documents written by this object (store key -> document; None: in the store)
        self._documents: dict = {}
        #: parsed root documents read when opening (reused by the reader in read-only modes)
        self._root_documents: dict = {}
        #: chunks fetched for read() while the cached namespaces were loaded (read.early)
        self._early_chunks: dict = {}
        self.spec_location: str | None = None
        #: NWBZarrIO's store opened to load the cached namespaces, reused by open() (it sets
        #: this before calling this constructor)
        self._opened_store: OpenedStore | None = getattr(self, "_opened_store", None)
        #: True while read_builder builds the tree (links of other stores may point back)
        self._reading = False
        #: stores opened while following links from one root, shared by location
        self._open_stores: dict[str, ZarrIO] | None = None
        self.prefetch = prefetch_budget(prefetch)
        if manager is None:
            manager = BuildManager(TypeMap(NamespaceCatalog()))
        source = None
        if isinstance(path, (str, Path)):
            source = str(path)
            if source.startswith("file://"):
                source = source[len("file://"):]
        else:
            source = _describe_store(path)  # a store instance: its location, if any
        with store_access(source):
            super().__init__(manager=manager, source=source)  # HDMFIO opens the store

    #: the reader an HDF5 file given as ``path`` is sent to
    _HDF5_READER = "hdmf.backends.hdf5.HDF5IO"

    #: Bytes of chunks (and shard indexes) kept in memory by the reader of a remote store
    #: (``is_remote()``) opened read-only, so that a chunk read again costs no round trip;
    #: least recently used first out. Set it on the object (or the class) before ``read()``;
    #: 0 keeps nothing. Local stores keep nothing (the operating system caches files).
    chunk_cache_bytes: int = DEFAULT_CHUNK_CACHE_BYTES

    def __repr__(self) -> str:
        layout = "unknown layout" if self._layout is None else \
            f"layout {self._layout.name} (Zarr format {self._layout.zarr_format})"
        where = self._location or self.__path
        state = "open" if self._store is not None else "closed"
        return (f"<{type(self).__name__} {where!s} mode={self.__mode!r} {layout}, {state}>")

    # ------------------------------------------------------------------ properties
    @property
    def path(self):
        """The path, URL or store given to the constructor."""
        return self.__path

    @property
    def abspath(self) -> str | None:
        """Absolute location of the store (path or URL); None for in-memory stores."""
        return self._location

    @property
    def location(self) -> str | None:
        """Same as :attr:`abspath`."""
        return self._location

    @property
    def mode(self) -> str:
        """The mode the store was opened in."""
        return self.__mode

    @property
    def synchronizer(self):
        """The synchronizer given (ignored)."""
        return self.__synchronizer

    @property
    def object_codec_class(self):
        """The object codec class given (ignored; see FORMAT.md 2.8)."""
        return self.__object_codec_class

    @property
    def store(self):
        """The Zarr-Python 3 store (None when closed)."""
        return self._store

    @property
    def zarr_format(self) -> int | None:
        """2 or 3: the format of the store's layout."""
        return None if self._layout is None else self._layout.zarr_format

    @property
    def file(self):
        """The root group of the store, opened with zarr (for inspection)."""
        import zarr

        return zarr.open_group(self._store, mode="r" if self.__mode in _READ_ONLY else "r+",
                               zarr_format=self.zarr_format, use_consolidated=False)

    @property
    def _file(self):
        """The root ``zarr.Group`` while the store is open, None once closed (as in hdmf-zarr
        0.13 and 0.14; pynwb's validator passes it to :meth:`load_namespaces`)."""
        from .direct_write import root_group

        return root_group(self)

    def is_remote(self) -> bool:
        """True when the store is a URL (S3, HTTP...)."""
        return self._location is not None and is_url(self._location)

    def is_open(self) -> bool:
        """True until :meth:`close`."""
        return self._store is not None

    # ------------------------------------------------------------------ open/close
    def open(self):
        """Open the store in the mode given (called by the constructor)."""
        if self._store is not None:
            return
        opened, self._opened_store = self._opened_store, None
        mode = self.__mode
        fetched: RootFetch | None = None
        if opened is not None:
            # NWBZarrIO opened the store to load the cached namespaces: use it, the marker and
            # the root documents it read, so that opening reads each of them once
            store, location, self._root_documents, fetched = opened
        else:
            store, location = open_store(self.__path, self.__mode, self.__storage_options,
                                         force_overwrite=self.__force_overwrite)
            if mode in _READ_ONLY or mode == "r+":
                # marker and root documents in one round trip (docs/performance.md)
                fetched = fetch_root(store, mode)
        self._store, self._location = store, location
        if fetched is not None and mode in _READ_ONLY:
            self._early_chunks = fetched.chunks
        if mode not in _CREATE:
            check_complete(store, mode, location or "<store>",
                           marker=fetched.marker if fetched is not None else _UNKNOWN)
        if mode in _READ_ONLY or mode == "r+":
            layout = None
            if mode in _READ_ONLY:
                layout = layout_of_root_documents(self._root_documents)
            self._layout = layout if layout is not None else detect_layout(
                store, self._root_documents, fetched.raw if fetched is not None else None)
        elif mode in ("w-", "x"):
            if _has_root(store):
                raise StoreModeError(f"mode {mode!r}: a store already exists here",
                                     location or "<store>")
            self._layout = self._new_layout()
        elif mode == "w":
            if not store.read_only:
                if not self.__force_overwrite and isinstance(self.__path, Store):
                    # (a path was checked by open_store, before anything was created)
                    _check_store_replaceable(store, location)
                # the root documents go first: a clear interrupted half-way leaves no root, never
                # an old root naming nodes that are gone
                store_io.delete_keys(store, ["zarr.json", ".zmetadata", ".zgroup", ".zattrs"])
                try:
                    run(store.clear())
                except FileNotFoundError:  # nothing there yet
                    pass
            self._layout = self._new_layout()
        else:  # "a"
            self._layout = detect_layout(store) if _has_root(store) else self._new_layout()
        if (self.__requested_format is not None and mode not in _CREATE
                and type(self._layout) is not type(self._new_layout()) and _has_root(store)):
            raise StoreModeError(
                f"zarr_format={self.__requested_format} was requested but the store is in "
                f"format {self._layout.zarr_format}; export to convert it", location or "<store>")

    def _new_layout(self) -> Layout:
        return layout_for(3 if self.__requested_format is None else self.__requested_format)

    def close(self):
        """Close the store and every store opened to follow external links."""
        for other in self._external.values():
            if other is not self:
                other.close()
        self._external.clear()
        store = self._store
        # data read in mode r+/a may have been appended to in place (hdmf's append_data), and
        # direct writes add nodes: keep the consolidated metadata in step with the documents
        changed = (self.__mode in ("r+", "a") and self._builder is not None) or self._direct_writes
        if store is not None and changed and _has_consolidated(store, self._layout):
            with self._write_session():
                self._begin_write()
                write_consolidated(store, self._layout)
        if store is not None:
            self._store = None
            staged = getattr(store, "hdmf_zarr_staged_zip", None)
            if staged is not None:
                staged.pack()
                return
            close = getattr(store, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # closing a store twice is harmless
                    pass

    def _require_open(self):
        if self._store is None:
            raise UnsupportedOperation(f"the store {self.source} is closed")

    # ------------------------------------------------------------------ read
    def read(self, **kwargs):
        """Read the file's root container (data stays in the store until sliced)."""
        self._require_open()
        if self.__mode in _CREATE:
            raise StoreModeError(f"cannot read: the store was opened in mode {self.__mode!r}",
                                 self.source or "<store>")
        self.read_builder()  # errors of the store itself are raised as they are
        try:
            return super().read(**kwargs)
        except HdmfZarrError:
            raise
        except (UnsupportedOperation, MemoryError):
            raise
        except Exception as exc:
            # hdmf wraps what failed while making containers (a corrupt chunk read, a required
            # field missing in the file) in ConstructError, or raises ValueError/TypeError for
            # a malformed builder tree: raise the documented error naming the path instead
            failure = construct_failure(exc)
        if self.__mode == "r-" and read_write_marker(self._store) is not None:
            # an interrupted write (docs/format-notes.md): say so rather than name a missing part
            raise IncompleteWriteError(
                f"the store is incomplete (a write was interrupted) and what it holds is not a "
                f"whole file ({failure}); read_builder() returns the groups and datasets it holds",
                self.source or "<store>") from failure
        raise failure

    def read_builder(self):
        """The root GroupBuilder of the store."""
        self._require_open()
        if self._builder is None:
            root = self._root_documents if self.__mode in _READ_ONLY else None
            store = self._store
            if self.__mode in _READ_ONLY and self.is_remote():
                # chunks read again after read() (a window, then data[:100]; a shard's index)
                # cost no second round trip (docs/performance.md, "Streaming")
                store = chunk_cache(store, self.chunk_cache_bytes)
            if self._early_chunks:  # set by open() in the reading modes only
                # the chunks fetched with the cached specifications are read from memory
                store = PrefetchedStore(store, self._early_chunks)
                self._early_chunks = {}
            self._reader = StoreReader(self, store, self._layout,
                                       use_consolidated=self.__mode == "r", root_documents=root,
                                       prefetch=self.prefetch if self.__mode in _READ_ONLY
                                       else None)
            self._root_documents.clear()
            self._reading = True
            try:
                self._builder = self._reader.read_root()
            finally:
                self._reading = False
        return self._builder

    def _reader_index(self) -> dict:
        if self._builder is None and self._reading and self._reader is not None:
            # a link of another store points back here while this store resolves its own
            # links (a cycle across stores): every node is indexed already, links are not
            return self._reader.by_path
        self.read_builder()
        if self._reader is None:
            raise UnsupportedOperation(f"{self.source}: no builders were read from this store")
        return self._reader.by_path

    def _open_external(self, source: str, where: str) -> ZarrIO:
        """The ZarrIO of the store a link ``source`` designates (FORMAT.md 2.4 resolution)."""
        here = self._location
        candidates = []
        if os.path.isabs(source) and not is_url(source):
            if here is not None and os.path.normpath(source) == os.path.normpath(here):
                return self
            if here is not None and os.path.basename(os.path.normpath(source)) == \
                    os.path.basename(here):
                return self
            raise LinkResolutionError(
                f"absolute link source {source!r} points outside this store", where)
        if here is None:
            raise LinkResolutionError(
                f"cannot follow link source {source!r} from a store without a location", where)
        if is_url(here):
            import posixpath

            scheme, _, rest = here.partition("://")
            candidates.append(f"{scheme}://{posixpath.normpath(posixpath.join(rest, source))}")
            candidates.append(f"{scheme}://" + posixpath.normpath(
                posixpath.join(posixpath.dirname(rest), source)))
        else:
            candidates.append(os.path.normpath(os.path.join(here, source)))
            candidates.append(os.path.normpath(os.path.join(os.path.dirname(here), source)))
        # every store opened while following links from one root is shared by location, so
        # that a cycle of links across stores reuses them instead of opening stores forever
        if self._open_stores is None:
            self._open_stores = {}
        registry = self._open_stores
        registry.setdefault(here, self)
        for cand in candidates:
            if cand == here:
                return self
            if cand in self._external:
                return self._external[cand]
            if cand in registry:
                return registry[cand]
            try:
                other = ZarrIO(cand, mode="r", manager=self.manager,
                               storage_options=self.__storage_options)
            except (NotHdmfStoreError, OSError, ValueError):
                continue  # not a store there: try the next candidate
            other._open_stores = registry
            registry[cand] = other
            self._external[cand] = other
            return other
        raise LinkResolutionError(f"the store {source!r} of this link cannot be found", where)


def check_complete(store, mode: str, where: str, marker: dict | None | object = _UNKNOWN
                   ) -> None:
    """Report a store whose last write was interrupted (it holds the write-in-progress marker).

    Parameters
    ----------
    store : zarr.abc.store.Store
    mode : str
        The mode the store is opened in: ``r-`` warns (to recover what the store holds), any
        other raises.
    where : str
        The store location, for the message.
    marker : dict or None, optional
        The marker fetched already (``read.opening.fetch_root``: None when absent); when not
        given it is read from the store.

    Raises
    ------
    IncompleteWriteError
        When the marker is present and ``mode`` is not ``r-``.
    """
    found = read_write_marker(store) if marker is _UNKNOWN else marker
    if not isinstance(found, dict):  # None: no marker
        return
    marker = found
    how = f" (mode {marker['mode']!r}" if isinstance(marker.get("mode"), str) else " ("
    how += f", started {marker['started']})" if isinstance(marker.get("started"), str) else ")"
    how = "" if how == " ()" else how
    message = (f"incomplete store: a write{how} was interrupted before it finished (the "
               f"write-in-progress marker {WRITE_MARKER_KEY!r} is present), so objects may be "
               "missing or partly written")
    if mode == "r-":
        warnings.warn(IncompleteWriteWarning(f"{where}: {message}; reading what it holds"),
                      stacklevel=4)
        return
    raise IncompleteWriteError(f"{message}; open it with mode 'r-' to read what it holds, or "
                               "write it again with mode 'w'", where)

