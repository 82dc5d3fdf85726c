"""Writing with :class:`~hdmf_zarr.backend.ZarrIO`: ``write``, ``write_builder``, the
one-node ``write_group``/``write_dataset``/``write_attributes``/``write_link`` calls of the
hdmf-zarr 0.13/0.14 API, consolidation after a write, and the write-in-progress session that
brackets every write (docs/format-notes.md, "Write-in-progress marker").

The builder-to-store mapping itself is :class:`~hdmf_zarr.write.writer.BuilderWriter`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hdmf.backends.io import HDMFIO
from hdmf.build import Builder
from hdmf.container import Container
from hdmf.utils import docval, getargs, popargs

from ..errors import LinkResolutionError, StoreModeError
from ..format.layout import DEFAULT_SPEC_LOC_DIR, SPEC_LOC_ATTR
from ..storage._atomic import begin_write, end_write
from ..write.writer import BuilderWriter, WriteOptions
from ..zarr_bridge import store_io
from ..zarr_bridge.consolidated import write_consolidated
from .stores import has_root, old_form_path

__all__ = ["ZarrWriting", "WriteState", "LARGE_DATA_ARGS", "LARGE_DATA_NAMES", "READ_ONLY",
           "CREATE"]

#: modes that only read, and modes that create the store
READ_ONLY = ("r", "r-")
CREATE = ("w", "w-", "x")

#: docval of the large-data keywords of write, write_builder and (through write_args) export
#: (docs/large-data.md)
LARGE_DATA_ARGS = (
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
LARGE_DATA_NAMES = tuple(a["name"] for a in LARGE_DATA_ARGS)


@dataclass
class WriteState:
    """The write-in-progress session of one IO object (:meth:`ZarrWriting._write_session`).

    Attributes
    ----------
    depth : int
        Number of sessions open (nested calls).
    marked : bool
        True once the write-in-progress marker is in the store.
    failed : bool
        True once a session ended by an exception after the marker was set: the marker stays.
    token : object
        What :func:`~hdmf_zarr.storage._atomic.begin_write` returned, for ``end_write``.
    """

    depth: int = 0
    marked: bool = False
    failed: bool = False
    token: Any = None


class ZarrWriting(HDMFIO):
    """The writing part of :class:`~hdmf_zarr.backend.ZarrIO` (a base class of it, never used
    alone). It relies on ZarrIO's ``mode``, ``_store``, ``_layout``, ``_documents``,
    ``_written_builders``, ``spec_location`` and ``_require_open``."""

    #: the session state, created by the first write of this object
    _write_state: WriteState | None = None
    #: True once a direct write (``write_group(parent, builder)``...) changed the store: the
    #: consolidated metadata is refreshed on close (set by :mod:`hdmf_zarr.direct_write`)
    _direct_writes: bool = False

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
            *LARGE_DATA_ARGS)
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
        fresh = self.mode in CREATE
        with self._write_session():
            self._begin_write()
            write_consolidated(self._store, self._layout, self._documents if fresh else None)

    # ------------------------------------------------------------------ write-in-progress marker
    @contextlib.contextmanager
    def _write_session(self) -> Iterator[None]:
        """One write as seen from outside (write, export, a write_group call...), nested calls
        included: the write-in-progress marker set by :meth:`_begin_write` is removed when the
        outermost session ends normally. A session ended by an exception after the marker was
        set leaves it (the store is incomplete) for the rest of this object's life
        (docs/format-notes.md, "Write-in-progress marker")."""
        state = self._session_state()
        state.depth += 1
        ok = False
        try:
            yield
            ok = True
        finally:
            state.depth -= 1
            if not ok and state.marked:
                state.failed = True
            if state.depth == 0 and state.marked and not state.failed:
                end_write(self._store, state.token)
                state.marked = False

    def _session_state(self) -> WriteState:
        if self._write_state is None:
            self._write_state = WriteState()
        return self._write_state

    def _begin_write(self) -> None:
        """Set the write-in-progress marker before the first key of the current session."""
        state = self._session_state()
        if not state.marked:
            state.token = begin_write(self._store, self.mode)
            state.marked = True

    def _check_writable(self) -> None:
        self._require_open()
        if self.mode in READ_ONLY:
            raise StoreModeError(f"cannot write: the store was opened in mode {self.mode!r}; "
                                 "use 'r+', 'a', 'w', 'w-' or 'x'", self.source or "<store>")

    # ------------------------------------------------------------------ builders
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
            *LARGE_DATA_ARGS)
    def write_builder(self, **kwargs):
        """Write a root builder and everything below it (keywords as :meth:`write`)."""
        self._check_writable()
        builder, link_data, exhaust_dci, export_source, consolidate = getargs(
            "builder", "link_data", "exhaust_dci", "export_source", "consolidate_metadata",
            kwargs)
        options = WriteOptions(**{name: kwargs[name] for name in LARGE_DATA_NAMES})
        if options.number_of_jobs < 1:
            raise ValueError(f"number_of_jobs must be at least 1, not {options.number_of_jobs}")
        if self.spec_location is None and self.mode in ("r+", "a"):
            self.spec_location = self._existing_spec_location()
        writer = BuilderWriter(self, self._store, self._layout, link_data=link_data,
                               exhaust_dci=exhaust_dci, export_source=export_source,
                               options=options)
        with self._write_session():
            # the marker is set once the tree is checked: bad input leaves the store untouched
            writer.write_root(builder, before_write=self._begin_write)
            if consolidate:
                self._consolidate()

    def _existing_spec_location(self) -> str | None:
        if not has_root(self._store):
            return None
        value = self._root_attributes().get(SPEC_LOC_ATTR)
        return value if isinstance(value, str) else None

    def _root_attributes(self) -> dict:
        layout = self._layout
        return layout.attributes_in(
            store_io.get_json(self._store, layout.document_holding_attributes())) or {}

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
            return self._write_builder_at("write_group", parent,
                                          old_form_path(parent, builder, path),
                                          link_data, exhaust_dci, export_source)
        from .. import direct_write

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
            return self._write_builder_at("write_dataset", parent,
                                          old_form_path(parent, builder, path),
                                          link_data, exhaust_dci, export_source)
        from .. import direct_write

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
                w.write_group(obj, old_form_path(obj, attributes, path))
                w.flush()
            return None
        from .. import direct_write

        return direct_write.write_attributes(self, obj, attributes)

    def write_link(self, parent, builder=None, export_source=None, path: str | None = None):
        """Write one link at once.

        ``write_link(parent, builder)`` (0.13/0.14): add the LinkBuilder to the
        ``zarr.Group`` ``parent`` of this store. ``write_link(builder, path=None)``: rewrite
        the document of the link builder's parent group.

        Raises
        ------
        LinkResolutionError
            When the link builder has no parent group.
        """
        if isinstance(parent, Builder):
            self._check_writable()
            if parent.parent is None:
                raise LinkResolutionError("a link builder needs a parent group", parent.name)
            return self.write_group(parent.parent, old_form_path(parent.parent, builder, path))
        from .. import direct_write

        return direct_write.write_link(self, parent, builder, export_source)
