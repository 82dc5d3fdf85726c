"""``ZarrIO``: the HDMF I/O backend for Zarr stores (DESIGN.md: "backend.py ... (thin)").

Modes, open/close and the orchestration of write, read and export live here; the builder-to-store
mapping is in ``write.writer``, the store-to-builder mapping in ``read.builders``, and the
on-disk conventions in ``format``.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

from hdmf.backends.errors import UnsupportedOperation
from hdmf.backends.io import HDMFIO
from hdmf.backends.utils import NamespaceToBuilderHelper, WriteStatusTracker
from hdmf.build import Builder, BuildManager, TypeMap
from hdmf.container import Container
from hdmf.spec import NamespaceCatalog
from hdmf.utils import docval, getargs, popargs
from zarr.abc.store import Store

from .errors import (HdmfZarrError, IncompleteWriteError, IncompleteWriteWarning,
                     LinkResolutionError, NotHdmfStoreError, StoreModeError)
from .format.layout import DEFAULT_SPEC_LOC_DIR as _SPEC_DIR
from .format.layout import SPEC_LOC_ATTR as _SPEC_ATTR
from .format.layout import Layout
from .format.layout2 import L2
from .format.layout3 import L3
from .read.builders import StoreReader, construct_failure
from .read.documents import detect_layout, layout_of_root_documents
from .read.opening import UNFETCHED as _UNKNOWN
from .read.opening import OpenedStore, RootFetch, fetch_root
from .read.prefetch import prefetch_budget
from .read.specs import cached_namespaces, load_cached_namespaces
from .storage import is_url, open_store
from .storage._access import store_access
from .storage._atomic import (WRITE_MARKER_KEY, begin_write, end_write, local_root,
                              read_write_marker)
from .utils import ZarrSpecWriter
from .write.writer import BuilderWriter, WriteOptions, builder_path
from .zarr_bridge import store_io
from .zarr_bridge.consolidated import write_consolidated
from .zarr_bridge.runtime import run

__all__ = ["ZarrIO", "ROOT_NAME", "SPEC_LOC_ATTR", "DEFAULT_SPEC_LOC_DIR"]

ROOT_NAME = "root"
SPEC_LOC_ATTR = _SPEC_ATTR
DEFAULT_SPEC_LOC_DIR = _SPEC_DIR

_MODES = ("r", "r-", "r+", "a", "w", "w-", "x")

#: docval of the large-data keywords of write, write_builder and (through write_args) export
#: (docs/large-data.md)
_LARGE_DATA_ARGS = (
    {"name": "number_of_jobs", "type": int,
     "doc": "worker processes writing GenericDataChunkIterator datasets (and, in an export, "
            "large HDF5/Zarr datasets); 1 writes in this process", "default": 1},
    {"name": "max_threads_per_process", "type": int,
     "doc": "Zarr encoding threads per worker process (None: Zarr's default)", "default": None},
    {"name": "multiprocessing_context", "type": None,
     "doc": "start method ('forkserver', 'spawn', 'fork') or multiprocessing context of the "
            "workers (None: forkserver on Linux, spawn elsewhere)", "default": None},
    {"name": "progress", "type": bool,
     "doc": "show tqdm progress bars for long dataset writes", "default": False},
    {"name": "large_dataset_settings", "type": dict,
     "doc": "ZarrDataIO-style settings (chunks, shards, compressor...) for numeric datasets of "
            "at least 1 MiB that do not set them", "default": None},
)
_LARGE_DATA_NAMES = tuple(a["name"] for a in _LARGE_DATA_ARGS)
#: the parallel keywords export takes directly (hdmf-zarr 0.13/0.14), passed on to
#: write_builder; None: not given (``write_args`` or the write_builder default applies)
_EXPORT_PARALLEL_ARGS = tuple(
    {**a, "default": None, "doc": a["doc"] + " (default: write_args, else write_builder's)"}
    for a in _LARGE_DATA_ARGS
    if a["name"] in ("number_of_jobs", "max_threads_per_process", "multiprocessing_context"))
_EXPORT_PARALLEL_NAMES = tuple(a["name"] for a in _EXPORT_PARALLEL_ARGS)
_READ_ONLY = ("r", "r-")
_CREATE = ("w", "w-", "x")


class ZarrIO(HDMFIO):
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
                and self._layout.zarr_format != self.__requested_format and _has_root(store)):
            raise StoreModeError(
                f"zarr_format={self.__requested_format} was requested but the store is in "
                f"format {self._layout.zarr_format}; export to convert it", location or "<store>")

    def _new_layout(self) -> Layout:
        return L2() if self.__requested_format == 2 else L3()

    def close(self):
        """Close the store and every store opened to follow external links."""
        for other in self._external.values():
            if other is not self:
                other.close()
        self._external.clear()
        store = self._store
        if store is not None and ((self.__mode in ("r+", "a") and self._builder is not None)
                                  or self.__dict__.get("_hdmf_zarr_direct_writes")):
            # data read in this mode may have been appended to in place (hdmf's append_data):
            # keep the consolidated metadata in step with the node documents
            if _has_consolidated(store, self._layout):
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

    # ------------------------------------------------------------------ status
    def get_written(self, builder, check_on_disk: bool = False) -> bool:
        """True when ``builder`` was written to (or read from) this store by this object."""
        written = self._written_builders.get_written(builder)
        if written and check_on_disk:
            written = self.get_builder_exists_on_disk(builder)
        return written

    def _set_written(self, builder) -> None:
        self._written_builders.set_written(builder)

    def get_builder_exists_on_disk(self, builder) -> bool:
        """True when the node of ``builder`` exists in the store."""
        self._require_open()
        key = builder_path(builder).strip("/")
        names = ("zarr.json",) if self.zarr_format == 3 else (".zgroup", ".zarray")
        return any(store_io.exists(self._store, store_io.node_key(key, n)) for n in names)

    def get_builder_disk_path(self, builder, filepath: str | None = None) -> str:
        """Location of the node of ``builder``: the store location joined with its path."""
        base = filepath if filepath is not None else (self._location or "")
        return os.path.join(base, builder_path(builder).lstrip("/"))

    # ------------------------------------------------------------------ write
    @docval({"name": "container", "type": Container, "doc": "the Container object to write"},
            {"name": "cache_spec", "type": bool, "doc": "cache the specification in the file",
             "default": True},
            {"name": "link_data", "type": bool,
             "doc": "link (True) or copy (False) Zarr arrays of other stores", "default": True},
            {"name": "exhaust_dci", "type": bool,
             "doc": "drain DataChunkIterators one at a time (True) or together (False)",
             "default": True},
            {"name": "consolidate_metadata", "type": bool,
             "doc": "write consolidated metadata after the write", "default": True},
            {"name": "herd", "type": "hdmf.common.resources.HERD",
             "doc": "a HERD object to populate with references", "default": None},
            *_LARGE_DATA_ARGS)
    def write(self, **kwargs):
        """Write a container (an NWBFile, or any HDMF root container) to the store.

        ``number_of_jobs``, ``max_threads_per_process``, ``multiprocessing_context``,
        ``progress`` and ``large_dataset_settings`` control how large datasets are written
        (``hdmf_zarr.write.writer.WriteOptions``, docs/large-data.md).

        Raises
        ------
        StoreModeError
            In modes ``r`` and ``r-``.
        UnstorableValueError
            ``number_of_jobs > 1`` with a GenericDataChunkIterator that cannot be pickled.
        HdmfZarrError
            A worker process died (the message names the dataset).
        """
        self._check_writable()
        cache_spec, consolidate = popargs("cache_spec", "consolidate_metadata", kwargs)
        if cache_spec:
            self.spec_location = DEFAULT_SPEC_LOC_DIR
        with self._write_session():
            super().write(**kwargs)
            if cache_spec:
                self._cache_spec()
            if consolidate:
                self._consolidate()

    def _consolidate(self) -> None:
        """Write consolidated metadata: from the documents recorded while writing when this
        object created the store, else from a walk of the store."""
        fresh = self.__mode in _CREATE
        with self._write_session():
            self._begin_write()
            write_consolidated(self._store, self._layout, self._documents if fresh else None)

    # ------------------------------------------------------------------ write-in-progress marker
    @contextlib.contextmanager
    def _write_session(self):
        """One write as seen from outside (write, export, a write_group call...), nested calls
        included: the write-in-progress marker set by :meth:`_begin_write` is removed when the
        outermost session ends normally. A session ended by an exception after the marker was
        set leaves it (the store is incomplete) for the rest of this object's life
        (docs/format-notes.md, "Write-in-progress marker")."""
        state = self.__dict__.setdefault("_hdmf_zarr_write_state",
                                         {"depth": 0, "marked": False, "failed": False})
        state["depth"] += 1
        ok = False
        try:
            yield
            ok = True
        finally:
            state["depth"] -= 1
            if not ok and state["marked"]:
                state["failed"] = True
            if state["depth"] == 0 and state["marked"] and not state["failed"]:
                end_write(self._store, state.get("token"))
                state["marked"] = False

    def _begin_write(self) -> None:
        """Set the write-in-progress marker before the first key of the current session."""
        state = self.__dict__.setdefault("_hdmf_zarr_write_state",
                                         {"depth": 0, "marked": False, "failed": False})
        if not state["marked"]:
            state["token"] = begin_write(self._store, self.__mode)
            state["marked"] = True

    def _check_writable(self):
        self._require_open()
        if self.__mode in _READ_ONLY:
            raise StoreModeError(f"cannot write: the store was opened in mode {self.__mode!r}; "
                                 "use 'r+', 'a', 'w', 'w-' or 'x'", self.source or "<store>")

    @docval({"name": "builder", "type": Builder, "doc": "the GroupBuilder of the root"},
            {"name": "link_data", "type": bool,
             "doc": "link (True) or copy (False) Zarr arrays of other stores", "default": True},
            {"name": "exhaust_dci", "type": bool,
             "doc": "drain DataChunkIterators one at a time (True) or together (False)",
             "default": True},
            {"name": "export_source", "type": str,
             "doc": "location of the file being exported from", "default": None},
            {"name": "consolidate_metadata", "type": bool,
             "doc": "write consolidated metadata after the write", "default": True},
            *_LARGE_DATA_ARGS)
    def write_builder(self, **kwargs):
        """Write a root builder and everything below it (keywords as :meth:`write`)."""
        self._check_writable()
        builder, link_data, exhaust_dci, export_source, consolidate = getargs(
            "builder", "link_data", "exhaust_dci", "export_source", "consolidate_metadata",
            kwargs)
        options = WriteOptions(**{name: kwargs[name] for name in _LARGE_DATA_NAMES})
        if options.number_of_jobs < 1:
            raise ValueError(f"number_of_jobs must be at least 1, not {options.number_of_jobs}")
        if self.spec_location is None and self.__mode in ("r+", "a"):
            self.spec_location = self._existing_spec_location()
        writer = BuilderWriter(self, self._store, self._layout, link_data=link_data,
                               exhaust_dci=exhaust_dci, export_source=export_source,
                               options=options)
        with self._write_session():
            # the marker is set once the tree is checked: bad input leaves the store untouched
            writer.write_root(builder, before_write=self._begin_write)
            if consolidate:
                self._consolidate()

    def _existing_spec_location(self):
        if not _has_root(self._store):
            return None
        reader_attrs = self._root_attributes()
        value = reader_attrs.get(SPEC_LOC_ATTR)
        return value if isinstance(value, str) else None

    def _root_attributes(self) -> dict:
        if self.zarr_format == 3:
            doc = store_io.get_json(self._store, "zarr.json") or {}
            return doc.get("attributes") or {}
        return store_io.get_json(self._store, ".zattrs") or {}

    def _writer(self) -> BuilderWriter:
        return BuilderWriter(self, self._store, self._layout)

    def write_group(self, parent, builder=None, link_data=True, exhaust_dci=True,
                    export_source=None, path: str | None = None):
        """Write a group builder (and everything below it) at once.

        ``write_group(parent, builder)`` (the hdmf-zarr 0.13/0.14 form): ``parent`` is a
        ``zarr.Group`` of this store (``io._file`` or a group below it); the group is written
        as ``parent/builder.name`` and the new ``zarr.Group`` is returned.
        ``write_group(builder, path=None)``: write the builder at ``path`` (default: its path
        in its tree); returns None.

        Raises
        ------
        StoreModeError
            In a read-only mode.
        TypeError, ValueError
            ``parent`` is not a zarr group of this store, or ``builder`` not a GroupBuilder.
        """
        if isinstance(parent, Builder):
            return self._write_builder_at("write_group", parent, _old_form_path(parent, builder, path),
                                          link_data, exhaust_dci, export_source)
        from . import direct_write

        return direct_write.write_group(self, parent, builder, link_data, exhaust_dci,
                                        export_source)

    def _write_builder_at(self, method: str, builder, path, link_data, exhaust_dci,
                          export_source) -> None:
        """The 0.13 builder-first form of ``write_group``/``write_dataset``: write ``builder``
        at ``path`` with the writer's ``method``, in one write session."""
        self._check_writable()
        w = BuilderWriter(self, self._store, self._layout, link_data=link_data,
                          exhaust_dci=exhaust_dci, export_source=export_source)
        with self._write_session():
            self._begin_write()
            getattr(w, method)(builder, path)
            w.flush()
        return None

    def write_dataset(self, parent, builder=None, link_data=True, exhaust_dci=True,
                      force_data=None, export_source=None, path: str | None = None):
        """Write one dataset builder at once.

        ``write_dataset(parent, builder)`` (0.13/0.14): ``parent`` is a ``zarr.Group`` of this
        store; returns the new ``zarr.Array`` (None for an L2 object array zarr cannot open).
        ``write_dataset(builder, path=None)``: write at ``path`` (default: its path in its
        tree).
        """
        if isinstance(parent, Builder):
            return self._write_builder_at("write_dataset", parent, _old_form_path(parent, builder, path),
                                          link_data, exhaust_dci, export_source)
        from . import direct_write

        return direct_write.write_dataset(self, parent, builder, link_data, exhaust_dci,
                                          force_data, export_source)

    def write_attributes(self, obj, attributes=None, path: str | None = None):
        """Write attributes at once.

        ``write_attributes(obj, attributes)`` (0.13/0.14): set ``attributes`` (a dict) on the
        ``zarr.Group`` or ``zarr.Array`` ``obj`` of this store, keeping its other attributes.
        ``write_attributes(builder, path=None)``: rewrite the document of a group builder
        (links kept).
        """
        if isinstance(obj, Builder):
            self._check_writable()
            w = self._writer()
            self._written_builders.pop(str(id(obj)) + "_" + str(obj.name), None)
            with self._write_session():
                self._begin_write()
                w.write_group(obj, _old_form_path(obj, attributes, path))
                w.flush()
            return None
        from . import direct_write

        return direct_write.write_attributes(self, obj, attributes)

    def write_link(self, parent, builder=None, export_source=None, path: str | None = None):
        """Write one link at once.

        ``write_link(parent, builder)`` (0.13/0.14): add the LinkBuilder to the
        ``zarr.Group`` ``parent`` of this store. ``write_link(builder, path=None)``: rewrite
        the document of the link builder's parent group.
        """
        if isinstance(parent, Builder):
            self._check_writable()
            if parent.parent is None:
                raise LinkResolutionError("a link builder needs a parent group", parent.name)
            return self.write_group(parent.parent, _old_form_path(parent.parent, builder, path))
        from . import direct_write

        return direct_write.write_link(self, parent, builder, export_source)

    def _cache_spec(self):
        """Write every namespace of the manager's catalog under ``/specifications``
        (FORMAT.md 2.6, 3.6); namespace versions already cached are left as they are."""
        catalog = self.manager.namespace_catalog
        root = DEFAULT_SPEC_LOC_DIR
        group_docs = {}
        writer = self._writer()
        with self._write_session():
            self._begin_write()
            self._cache_spec_with(catalog, root, group_docs, writer)

    def _cache_spec_with(self, catalog, root, group_docs, writer):
        for name in catalog.namespaces:
            ns = catalog.get_namespace(name)
            version = ns.version if ns.version is not None else "unversioned"
            group = f"{root}/{name}/{version}"
            doc_name = "zarr.json" if self.zarr_format == 3 else ".zgroup"
            if store_io.exists(self._store, f"{group}/{doc_name}"):
                continue
            for p in (root, f"{root}/{name}", group):
                group_docs[p] = self._layout.group_documents({})
            ns_builder = NamespaceToBuilderHelper.convert_namespace(catalog, name)
            ns_builder.export("namespace", writer=ZarrSpecWriter(self._store, group,
                                                                 self._layout, writer=writer))
        for p, docs in group_docs.items():
            for n, d in docs.items():
                writer._put_document(store_io.node_key(p, n), d)
        writer.flush()

    # ------------------------------------------------------------------ export
    @docval({"name": "src_io", "type": HDMFIO, "doc": "the IO object to export from"},
            {"name": "container", "type": Container,
             "doc": "the container to export; None exports the whole file", "default": None},
            {"name": "write_args", "type": dict, "doc": "arguments to write_builder",
             "default": None},
            {"name": "clear_cache", "type": bool, "doc": "rebuild all builders",
             "default": False},
            {"name": "cache_spec", "type": bool, "doc": "cache the specification",
             "default": True},
            {"name": "consolidate_metadata", "type": bool,
             "doc": "write consolidated metadata after the export", "default": True},
            *_EXPORT_PARALLEL_ARGS)
    def export(self, **kwargs):
        """Export a file read by any HDMF backend (HDF5IO, ZarrIO...) to this store.

        Data is copied block by block; links and references are kept. ``write_args`` takes the
        keywords of :meth:`write_builder`, among them ``number_of_jobs`` (large numeric
        datasets of an HDF5 file or a Zarr store on disk are copied by worker processes),
        ``progress`` and ``large_dataset_settings``.
        """
        self._check_writable()
        src_io = getargs("src_io", kwargs)
        write_args, cache_spec, consolidate = popargs("write_args", "cache_spec",
                                                      "consolidate_metadata", kwargs)
        write_args = dict(write_args or {})
        for name in _EXPORT_PARALLEL_NAMES:  # 0.13/0.14 keywords; write_args wins
            value = kwargs.pop(name, None)
            if value is not None:
                write_args.setdefault(name, value)
        write_args["export_source"] = _source_of(src_io)
        write_args["consolidate_metadata"] = False
        if not write_args.get("link_data", True):
            kwargs["clear_cache"] = True
        if cache_spec:
            self.spec_location = DEFAULT_SPEC_LOC_DIR
        kwargs["write_args"] = write_args
        with self._write_session():
            super().export(**kwargs)
            if cache_spec:
                ours = self.manager.namespace_catalog
                theirs = src_io.manager.namespace_catalog
                for name in theirs.namespaces:
                    if name not in ours.namespaces:
                        ours.add_namespace(name, theirs.get_namespace(name))
                self._cache_spec()
            if consolidate:
                self._consolidate()

    @classmethod
    def export_io(cls, path, src_io, **kwargs):
        """Export ``src_io`` to a new store at ``path`` (mode ``w``)."""
        zarr_format = kwargs.pop("zarr_format", None)
        with cls(path=path, mode="w", zarr_format=zarr_format) as io:
            io.export(src_io=src_io, **kwargs)

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
            self._reader = StoreReader(self, self._store, self._layout,
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

    def _open_external(self, source: str, where: str) -> "ZarrIO":
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

    # ------------------------------------------------------------------ lookups
    def get_builder(self, path):
        """The builder of the object at absolute ``path`` (a string, or a ``zarr.Group`` /
        ``zarr.Array`` of this store, as hdmf-zarr 0.13/0.14 take it).

        Raises
        ------
        KeyError
            When there is no object at that path.
        """
        path = _node_path(path)
        index = self._reader_index()
        key = "/" + str(path).strip("/") if str(path).strip("/") else "/"
        if key not in index:
            raise KeyError(f"{self.source}: no object at {key}")
        return index[key]

    def get_container(self, path):
        """The container of the object at absolute ``path`` (string or zarr node, as
        :meth:`get_builder`)."""
        return self.manager.construct(self.get_builder(path))

    def resolve_ref(self, zarr_ref):
        """Resolve a stored reference (a ZarrReference dict, a ``{"source","path"}`` dict or a
        path string) to ``(name, builder)``."""
        from .format.layout import RefTarget
        from .format.names import check_target_path

        if isinstance(zarr_ref, str):
            target = RefTarget(".", check_target_path(zarr_ref, "reference"))
        else:
            target = RefTarget(zarr_ref.get("source", ".") or ".",
                               check_target_path(zarr_ref.get("path"), "reference"))
        self.read_builder()
        builder = self._reader.resolve_target(target, "reference")
        return builder.name, builder

    @staticmethod
    def get_zarr_parent_path(zarr_object) -> str:
        """Absolute path inside its store of the group holding ``zarr_object`` (a
        ``zarr.Group`` or ``zarr.Array``): ``/a`` for the node ``/a/b``, ``/`` for a child of
        the root and for the root itself."""
        import posixpath

        return posixpath.dirname(_node_path(zarr_object).rstrip("/")) or "/"

    @staticmethod
    def get_type(data):
        """The element type of ``data``: ``str``/``bytes`` for text, the NumPy scalar type for
        arrays (anything with a ``dtype``), else the type of the first element, looked up
        recursively through nested sequences; ``type(data)`` for a scalar.

        Raises
        ------
        ValueError
            For an empty sequence (no element to look at).
        """
        if isinstance(data, (str, bytes)):
            return type(data)
        dtype = getattr(data, "dtype", None)
        if dtype is not None and not isinstance(dtype, type):
            return getattr(dtype, "type", type(data))
        if not hasattr(data, "__len__") or isinstance(data, dict):
            return type(data)
        if len(data) == 0:
            raise ValueError("cannot determine the type of empty data")
        return ZarrIO.get_type(data[0])

    @staticmethod
    def generate_dataset_html(dataset):
        """An HTML summary of a dataset: shape, dtype, chunks, codecs and stored size."""
        from hdmf.utils import generate_array_html_repr, get_basic_array_info

        info = get_basic_array_info(dataset)
        import zarr

        if isinstance(dataset, zarr.Array):
            info["Chunk shape"] = dataset.chunks
            codecs = [type(c).__name__ for c in (*dataset.filters, *dataset.compressors)]
            info["Codecs"] = ", ".join(codecs) or "none"
            try:
                info["Data stored (bytes)"] = dataset.nbytes_stored()
            except Exception:  # remote stores may not report sizes
                pass
        return generate_array_html_repr(info, dataset, "Zarr array")

    # ------------------------------------------------------------------ namespaces
    @staticmethod
    def can_read(path) -> bool:
        """True when ``path`` holds a Zarr group root of either format; never raises."""
        try:
            store, _loc = open_store(path, "r")
            try:
                detect_layout(store)
            finally:
                close = getattr(store, "close", None)
                if close is not None and not isinstance(path, Store):
                    close()
            return True
        except Exception:
            return False

    @classmethod
    def load_namespaces(cls, namespace_catalog, path=None, file=None, storage_options=None,
                        namespaces=None, driver=None, aws_region=None, **kwargs):
        """Load the namespaces cached in a store into a NamespaceCatalog or TypeMap.

        Parameters
        ----------
        namespace_catalog : hdmf.spec.NamespaceCatalog or hdmf.build.TypeMap
        path : str, pathlib.Path or zarr Store, optional
            The store (or ``file``: an open store or the root ``zarr.Group`` ``io._file``, as
            ``pynwb.validate`` passes it).
        namespaces : list of str, optional
            The namespaces to load; all cached ones by default.
        driver, aws_region : ignored
            Accepted because ``pynwb.validate(path=...)`` passes them to every backend.

        Returns
        -------
        dict
            Namespace name -> {included namespace -> included types}, as hdmf returns it.
        """
        target = _group_store(file) if file is not None else path
        if target is None:
            raise ValueError("load_namespaces needs a path or an open store")
        store, _loc = open_store(target, "r", storage_options)
        try:
            check_complete(store, "r", str(_loc or target))
            return load_cached_namespaces(namespace_catalog, store, namespaces,
                                          str(_loc or target))
        finally:
            if not isinstance(target, Store):
                close = getattr(store, "close", None)
                if close is not None:
                    close()

    def load_namespaces_io(self, namespace_catalog, namespaces=None):
        """Load the namespaces cached in this open store (see :meth:`load_namespaces`)."""
        self._require_open()
        return load_cached_namespaces(namespace_catalog, self._store, namespaces,
                                      str(self.source))

    @classmethod
    def get_namespaces(cls, path=None, file=None, storage_options=None) -> dict:
        """Names and (highest) versions of the namespaces cached in a store."""
        target = _group_store(file) if file is not None else path
        store, _loc = open_store(target, "r", storage_options)
        root_docs: dict = {}
        layout = detect_layout(store, root_docs)
        return cached_namespaces(store, layout, root_docs)[1]


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


def _node_path(node):
    """``/path`` of a zarr node (Group or Array), else ``node`` unchanged."""
    import zarr

    if isinstance(node, (zarr.Group, zarr.Array)):
        return "/" + node.path.strip("/")
    return node


def _group_store(file):
    """The store of ``file`` when it is a zarr group (``io._file``), else ``file``."""
    import zarr

    return file.store if isinstance(file, zarr.Group) else file


def _expand_user(path):
    """``path`` with a leading ``~`` expanded (local paths only; URLs and stores unchanged)."""
    if isinstance(path, Path):
        return path.expanduser()
    if isinstance(path, str) and path.startswith("~"):
        return os.path.expanduser(path)
    return path


def _refuse_hdf5(path, reader: str) -> None:
    """Raise when ``path`` is an existing local HDF5 file, naming the reader to use."""
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


def _old_form_path(builder, second, path) -> str:
    """The node path of the older ``write_*(builder, path=None)`` calls (``path`` given by
    keyword or in second place; default: the builder's path in its tree)."""
    if path is None and isinstance(second, str):
        path = second
    return path or builder_path(builder)


def _describe_store(path) -> str | None:
    from .storage import store_location

    return store_location(path) if isinstance(path, Store) else None


def _has_consolidated(store, layout: Layout) -> bool:
    if layout.zarr_format == 2:
        return store_io.exists(store, ".zmetadata")
    root = store_io.get_json(store, "zarr.json") or {}
    return isinstance(root.get("consolidated_metadata"), dict)


def _check_store_replaceable(store, location) -> None:
    """Mode ``w`` on a store instance: refuse to clear a store that holds keys but no root
    document and no write-in-progress marker (not a Zarr store; ``force_overwrite`` skips)."""
    root = local_root(store)
    if root is not None and not os.path.isdir(root):
        return  # nothing there yet (asking the store would create its directory)
    if _has_root(store) or read_write_marker(store) is not None:
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


def _has_root(store) -> bool:
    docs = store_io.get_many(store, ["zarr.json", ".zgroup"])
    return any(v is not None for v in docs.values())


def _source_of(src_io) -> str | None:
    loc = getattr(src_io, "location", None)
    if isinstance(loc, str):
        return loc
    src = getattr(src_io, "source", None)
    if src is None:
        return None
    return src if is_url(str(src)) else os.path.abspath(str(src))
