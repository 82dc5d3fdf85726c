"""Export into a :class:`~hdmf_zarr.backend.ZarrIO` store (``export``, ``export_io``) and the
caching of the namespaces (specs) a write or an export stores under ``/specifications``
(FORMAT.md 2.6, 3.6)."""

from __future__ import annotations

from hdmf.backends.io import HDMFIO
from hdmf.backends.utils import NamespaceToBuilderHelper
from hdmf.container import Container
from hdmf.utils import docval, getargs, popargs

from ..format.layout import DEFAULT_SPEC_LOC_DIR
from ..utils import ZarrSpecWriter
from ..write.writer import BuilderWriter
from ..zarr_bridge import store_io
from .stores import source_of
from .write import LARGE_DATA_ARGS, ZarrWriting

__all__ = ["ZarrExporting", "EXPORT_PARALLEL_ARGS", "EXPORT_PARALLEL_NAMES"]

#: the parallel keywords export takes directly (hdmf-zarr 0.13/0.14), passed on to
#: write_builder; None: not given (``write_args`` or the write_builder default applies)
EXPORT_PARALLEL_ARGS = tuple(
    {**a, "default": None, "doc": f"{a['doc']} (default: write_args, else write_builder's)"}
    for a in LARGE_DATA_ARGS
    if a["name"] in ("number_of_jobs", "max_threads_per_process", "multiprocessing_context"))
EXPORT_PARALLEL_NAMES = tuple(a["name"] for a in EXPORT_PARALLEL_ARGS)


class ZarrExporting(ZarrWriting):
    """Export and spec caching of :class:`~hdmf_zarr.backend.ZarrIO` (a base class of it,
    never used alone)."""

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
            *EXPORT_PARALLEL_ARGS)
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
        for name in EXPORT_PARALLEL_NAMES:  # 0.13/0.14 keywords; write_args wins
            value = kwargs.pop(name, None)
            if value is not None:
                write_args.setdefault(name, value)
        write_args["export_source"] = source_of(src_io)
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

    # ------------------------------------------------------------------ spec caching
    def _cache_spec(self) -> None:
        """Write every namespace of the manager's catalog under ``/specifications``
        (FORMAT.md 2.6, 3.6); namespace versions already cached are left as they are."""
        catalog = self.manager.namespace_catalog
        root = DEFAULT_SPEC_LOC_DIR
        group_docs: dict = {}
        writer = self._writer()
        with self._write_session():
            self._begin_write()
            self._cache_spec_with(catalog, root, group_docs, writer)

    def _cache_spec_with(self, catalog, root: str, group_docs: dict,
                         writer: BuilderWriter) -> None:
        layout = self._layout
        for name in catalog.namespaces:
            ns = catalog.get_namespace(name)
            version = ns.version if ns.version is not None else "unversioned"
            group = f"{root}/{name}/{version}"
            if store_io.exists(self._store, f"{group}/{layout.group_document}"):
                continue
            for p in (root, f"{root}/{name}", group):
                group_docs[p] = layout.group_documents({})
            ns_builder = NamespaceToBuilderHelper.convert_namespace(catalog, name)
            ns_builder.export("namespace", writer=ZarrSpecWriter(self._store, group,
                                                                 layout, writer=writer))
        for p, docs in group_docs.items():
            for n, d in docs.items():
                writer._put_document(store_io.node_key(p, n), d)
        writer.flush()
